"""Language identification with Lingua (``lingua-language-detector``) under Dolma's ``lingua_*`` names.

Lingua is an optional extra (``pip install 'dolma-toolkit[lingua]'``), imported when a tagger is built; one
detector over all of Lingua's languages is built per process and shared by these taggers (its language models
load as they are first needed, a few seconds). A text gets Lingua's confidence for every language (most are 0),
each typed by the lower-case ISO 639-1 code (``en``, ``fr``, ...), in Lingua's order (most likely first).

- ``lingua_doc_v1``: every language, over the whole text; ``lingua_par_v1``: the same per paragraph (a line
  holding a non-whitespace character, newline included).
- ``lingua_1e2``: the languages above 0.01, rounded to 2 decimals.
- ``lingua_en_only_v1``: only ``en``; ``lingua_doc_en_v1`` and ``lingua_en_par_v1`` (per paragraph) add
  ``not_en`` = 1 - ``en`` on the same spans, after all the ``en`` ones.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, List, Tuple

from dolma.core.data_types import DocResult, Document, Span
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger
from dolma.taggers.length import paragraph_bounds
from dolma.taggers.models import require

__all__ = [
    "LinguaTagger",
    "LinguaMinScoreTagger",
    "LinguaEnglishTagger",
    "LinguaEnglishOnlyTagger",
    "LinguaTaggerParagraph",
    "LinguaEnglishTaggerParagraph",
]


@lru_cache(maxsize=1)
def _detector(user: str) -> Any:
    lingua: Any = require("lingua", "lingua", user)
    return lingua.LanguageDetectorBuilder.from_languages(*lingua.Language.all()).build()


@add_tagger("lingua_doc_v1")
class LinguaTagger(BaseTagger):
    NAME = "lingua_doc_v1"
    PER_PARAGRAPH = False
    ENGLISH = False  # keep only `en`
    NEGATIVE = False  # add `not_en`

    def __init__(self) -> None:
        self.detector = _detector(self.NAME)

    def languages(self, text: str) -> List[Tuple[str, float]]:
        values = self.detector.compute_language_confidence_values(text) or []
        found = [(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in values]
        if self.ENGLISH:
            found = [(lang, p) for lang, p in found if lang == "en"] or [("en", 0.0)]
        return found

    def predict(self, doc: Document) -> DocResult:
        text = doc.text
        bounds = paragraph_bounds(text) if self.PER_PARAGRAPH else [(0, len(text))]
        spans = [Span(s, e, lang, p) for s, e in bounds for lang, p in self.languages(text[s:e])]
        if self.NEGATIVE:
            spans += [Span(span.start, span.end, f"not_{span.type}", 1.0 - span.score) for span in spans]
        return DocResult(doc=doc, spans=spans)


@add_tagger("lingua_1e2")
class LinguaMinScoreTagger(LinguaTagger):
    NAME = "lingua_1e2"

    def languages(self, text: str) -> List[Tuple[str, float]]:
        return [(lang, round(p, 2)) for lang, p in super().languages(text) if p > 0.01]


@add_tagger("lingua_doc_en_v1")
class LinguaEnglishTagger(LinguaTagger):
    NAME = "lingua_doc_en_v1"
    ENGLISH = NEGATIVE = True


@add_tagger("lingua_en_only_v1")
class LinguaEnglishOnlyTagger(LinguaTagger):
    NAME = "lingua_en_only_v1"
    ENGLISH = True


@add_tagger("lingua_par_v1")
class LinguaTaggerParagraph(LinguaTagger):
    NAME = "lingua_par_v1"
    PER_PARAGRAPH = True


@add_tagger("lingua_en_par_v1")
class LinguaEnglishTaggerParagraph(LinguaTagger):
    NAME = "lingua_en_par_v1"
    PER_PARAGRAPH = ENGLISH = NEGATIVE = True
