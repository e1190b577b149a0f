"""English ID with Google's CLD3 under Dolma's names: ``cld3_en_doc_v2``, ``cld3_en_paragraph_v2`` and
``cld3_en_paragraph_with_doc_score_v2`` (the ``cld3`` extra: ``cld3-py``, prebuilt wheels of Google's own
``gcld3`` binding).

Dolma calls ``cld3.get_language(text)`` of the ``pycld3`` binding, which has no wheel for current Pythons; both
bindings run CLD3's network on the first 1,024 bytes of the text (``NNetLanguageIdentifier(0, 1024)``, pycld3's
defaults). Types as in Dolma: ``en`` (CLD3's probability when it answers English, else 0.0) and ``not_en``
(1 minus it) per document or paragraph, plus ``doc_en``/``doc_not_en`` (paragraph scores weighted by length).
Blank text scores 0.0 without asking CLD3 (Dolma's binding returns nothing for an empty text, and Dolma then
raises); text that is not valid UTF-8 once encoded (lone surrogates) is sent with those characters replaced.
"""

from __future__ import annotations

from typing import Any, List

from dolma.core.registry import add_tagger
from dolma.taggers.language import LanguageTagger, Prediction
from dolma.taggers.models import require

__all__ = ["Cld3EnglishDoc", "Cld3EnglishParagraph", "Cld3EnglishParagraphWithDocScore"]

MAX_BYTES = 1024


@add_tagger("cld3_en_doc_v2")
class Cld3EnglishDoc(LanguageTagger):
    ENGLISH = True
    NEGATIVE = True

    def __init__(self) -> None:
        gcld3: Any = require("gcld3", "cld3", "the cld3_* taggers")
        self._identifier = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=MAX_BYTES)

    def detect(self, texts: List[str]) -> List[Prediction]:
        answers = []
        for text in texts:
            try:
                result = self._identifier.FindLanguage(text=text)
            except UnicodeEncodeError:
                result = self._identifier.FindLanguage(text=text.encode("utf-8", "replace").decode("utf-8"))
            answers.append([(result.language, float(result.probability))])
        return answers


@add_tagger("cld3_en_paragraph_v2")
class Cld3EnglishParagraph(Cld3EnglishDoc):
    PARAGRAPHS = True


@add_tagger("cld3_en_paragraph_with_doc_score_v2")
class Cld3EnglishParagraphWithDocScore(Cld3EnglishParagraph):
    DOC_SCORE = True
