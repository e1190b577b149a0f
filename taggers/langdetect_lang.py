"""Language identification with ``langdetect`` (Google's language-detection, ported) under Dolma's names.

``langdetect`` is an optional extra (``pip install 'dolma-toolkit[langdetect]'``), imported when a tagger is built.
One detector is made from the bundled profiles with seed 0 and reused; its sampling is reseeded on every text,
so a text's scores do not depend on the texts before it. A text gets one span per language langdetect reports
(those with a probability above 0.1), typed by the language code (``en``, ``zh-cn``, ...) and scored by the
probability; a text langdetect cannot read (no letters) gets none. The span layouts are ``LanguageTagger``'s:

- ``langdetect_doc_v1``: every reported language, over the whole text.
- ``langdetect_paragraph_v1``: the same per paragraph (a line holding a non-whitespace character, newline
  included).
- ``langdetect_doc_en_v1``, ``langdetect_en_paragraph_v1``: only ``en`` (0 when it is not reported), then, after all
  of them, ``not_en`` = 1 - that score on the same spans.

langdetect reads only the first 10,000 characters of a text once it has replaced its URLs and e-mail addresses by
spaces (and joined Vietnamese letters with their marks), but does those replacements on the whole text first; a
long text is therefore given only the shortest prefix, ending at a whitespace character, that still holds those
10,000 characters (no replacement crosses whitespace, so the prefix's come out the same): the same scores.
"""

from __future__ import annotations

import re
from typing import Any, List

from dolma.core.registry import add_tagger
from dolma.taggers.language import LanguageTagger, Prediction
from dolma.taggers.models import require

__all__ = ["LangdetectTagger", "LangdetectEnglishTagger", "LangdetectTaggerParagraph", "LangdetectEnglishTaggerParagraph"]


# a text this long or longer is given to langdetect as a prefix of at least PREFIX_CHARS characters
LONG_TEXT_CHARS = 1 << 16
PREFIX_CHARS = 1 << 15
_SPACE = re.compile(r"\s")


@add_tagger("langdetect_doc_v1")
class LangdetectTagger(LanguageTagger):
    def __init__(self) -> None:
        langdetect: Any = require("langdetect", "langdetect", "the langdetect_* taggers")
        factory = langdetect.DetectorFactory()
        factory.load_profile(langdetect.PROFILES_DIRECTORY)
        factory.set_seed(0)
        self.detector = factory.create()
        self.error = langdetect.LangDetectException
        self._normalize_vi = langdetect.utils.ngram.NGram.normalize_vi

    def detect(self, texts: List[str]) -> List[Prediction]:
        return [self._languages(text) for text in texts]

    def _languages(self, text: str) -> Prediction:
        detector = self.detector
        try:
            detector.append(self._prefix(text) if len(text) >= LONG_TEXT_CHARS else text)
            return [(str(r.lang.strip().lower()), float(r.prob)) for r in detector.get_probabilities()]
        except self.error:
            return []
        finally:
            detector.text = ""
            detector.langprob = None

    def _prefix(self, text: str) -> str:
        """The shortest prefix of ``text`` ending just after a whitespace character from which langdetect reads what
        it reads of the whole text (``text`` itself when none is)."""
        detector = self.detector
        size = PREFIX_CHARS
        while size < len(text):
            cut = _SPACE.search(text, size)
            if cut is None:
                break
            prefix = text[: cut.end()]
            cleaned = self._normalize_vi(detector.MAIL_RE.sub(" ", detector.URL_RE.sub(" ", prefix)))
            if len(cleaned) >= detector.max_text_length:
                return prefix
            size *= 4
        return text


@add_tagger("langdetect_doc_en_v1")
class LangdetectEnglishTagger(LangdetectTagger):
    ENGLISH = NEGATIVE = True


@add_tagger("langdetect_paragraph_v1")
class LangdetectTaggerParagraph(LangdetectTagger):
    PARAGRAPHS = True


@add_tagger("langdetect_en_paragraph_v1")
class LangdetectEnglishTaggerParagraph(LangdetectTagger):
    PARAGRAPHS = ENGLISH = NEGATIVE = True
