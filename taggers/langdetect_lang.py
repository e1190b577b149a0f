"""Language identification with ``langdetect`` (Google's language-detection, ported) under Dolma's names.

``langdetect`` is an optional extra (``pip install 'dolma-toolkit[langdetect]'``), imported when a tagger is built.
One detector is made from the bundled profiles with seed 0 and reused; its sampling is reseeded on every text,
so a text's scores do not depend on the texts before it. A text gets one span per language langdetect reports
(those with a probability above 0.1), typed by the language code (``en``, ``zh-cn``, ...) and scored by the
probability; a text langdetect cannot read (no letters) gets none.

- ``langdetect_doc_v1``: every reported language, over the whole text.
- ``langdetect_paragraph_v1``: the same per paragraph (a line holding a non-whitespace character, newline
  included).
- ``langdetect_doc_en_v1``, ``langdetect_en_paragraph_v1``: only ``en`` (0 when it is not reported), then, after all
  of them, ``not_en`` = 1 - that score on the same spans.
"""

from __future__ import annotations

from typing import Any, List, Tuple

from dolma.core.data_types import DocResult, Document, Span
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger
from dolma.taggers.length import paragraph_bounds
from dolma.taggers.models import require

__all__ = ["LangdetectTagger", "LangdetectEnglishTagger", "LangdetectTaggerParagraph", "LangdetectEnglishTaggerParagraph"]


@add_tagger("langdetect_doc_v1")
class LangdetectTagger(BaseTagger):
    NAME = "langdetect_doc_v1"
    PER_PARAGRAPH = False
    ENGLISH_ONLY = False

    def __init__(self) -> None:
        langdetect: Any = require("langdetect", "langdetect", self.NAME)
        factory = langdetect.DetectorFactory()
        factory.load_profile(langdetect.PROFILES_DIRECTORY)
        factory.set_seed(0)
        self.detector = factory.create()
        self.error = langdetect.LangDetectException

    def languages(self, text: str) -> List[Tuple[str, float]]:
        detector = self.detector
        try:
            detector.append(text)
            found = [(str(r.lang.strip().lower()), float(r.prob)) for r in detector.get_probabilities()]
        except self.error:
            found = []
        finally:
            detector.text = ""
            detector.langprob = None
        if self.ENGLISH_ONLY:
            found = [(lang, p) for lang, p in found if lang == "en"] or [("en", 0.0)]
        return found

    def predict(self, doc: Document) -> DocResult:
        text = doc.text
        bounds = paragraph_bounds(text) if self.PER_PARAGRAPH else [(0, len(text))]
        spans = [Span(s, e, lang, p) for s, e in bounds for lang, p in self.languages(text[s:e])]
        if self.ENGLISH_ONLY:
            spans += [Span(span.start, span.end, f"not_{span.type}", 1.0 - span.score) for span in spans]
        return DocResult(doc=doc, spans=spans)


@add_tagger("langdetect_doc_en_v1")
class LangdetectEnglishTagger(LangdetectTagger):
    NAME = "langdetect_doc_en_v1"
    ENGLISH_ONLY = True


@add_tagger("langdetect_paragraph_v1")
class LangdetectTaggerParagraph(LangdetectTagger):
    NAME = "langdetect_paragraph_v1"
    PER_PARAGRAPH = True


@add_tagger("langdetect_en_paragraph_v1")
class LangdetectEnglishTaggerParagraph(LangdetectTagger):
    NAME = "langdetect_en_paragraph_v1"
    PER_PARAGRAPH = True
    ENGLISH_ONLY = True
