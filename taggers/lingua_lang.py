"""Language identification with Lingua (``lingua-language-detector``) under Dolma's ``lingua_*`` names.

Lingua is an optional extra (``pip install 'dolma-toolkit[lingua]'``), imported when a tagger is built; one
detector over all of Lingua's languages is built per process and shared by these taggers (its language models
load as they are first needed, a few seconds). A text gets Lingua's confidence for every language (most are 0),
each typed by the lower-case ISO 639-1 code (``en``, ``fr``, ...), in Lingua's order (most likely first). Blank
text is scored too, as in Dolma. The span layouts are ``LanguageTagger``'s:

- ``lingua_doc_v1``: every language, over the whole text; ``lingua_par_v1``: the same per paragraph (a line
  holding a non-whitespace character, newline included).
- ``lingua_1e2``: the languages above 0.01, rounded to 2 decimals.
- ``lingua_en_only_v1``: only ``en``; ``lingua_doc_en_v1`` and ``lingua_en_par_v1`` (per paragraph) add
  ``not_en`` = 1 - ``en`` on the same spans, after all the ``en`` ones.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, List

from dolma.core.registry import add_tagger
from dolma.taggers.language import LanguageTagger, Prediction
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
def _detector() -> Any:
    lingua: Any = require("lingua", "lingua", "the lingua_* taggers")
    return lingua.LanguageDetectorBuilder.from_languages(*lingua.Language.all()).build()


@add_tagger("lingua_doc_v1")
class LinguaTagger(LanguageTagger):
    # measured: 10x a 2 and 4 MB document of source code (Lingua's own, on the whole text)
    memory_per_document_byte = 11.0
    DETECT_BLANK = True

    def __init__(self) -> None:
        self.detector = _detector()

    def detect(self, texts: List[str]) -> List[Prediction]:
        # one text at a time: Lingua's parallel call starts a thread per core in every worker process
        confidences = self.detector.compute_language_confidence_values
        return [[(v.language.iso_code_639_1.name.lower(), float(v.value)) for v in confidences(text) or []] for text in texts]


@add_tagger("lingua_1e2")
class LinguaMinScoreTagger(LinguaTagger):
    def detect(self, texts: List[str]) -> List[Prediction]:
        return [[(lang, round(p, 2)) for lang, p in found if p > 0.01] for found in super().detect(texts)]


@add_tagger("lingua_doc_en_v1")
class LinguaEnglishTagger(LinguaTagger):
    ENGLISH = NEGATIVE = True


@add_tagger("lingua_en_only_v1")
class LinguaEnglishOnlyTagger(LinguaTagger):
    ENGLISH = True


@add_tagger("lingua_par_v1")
class LinguaTaggerParagraph(LinguaTagger):
    # measured: 15x a 1 MB document of source code, in process (75 scores a line of 35 characters, in arrays)
    memory_per_document_byte = 17.0
    PARAGRAPHS = True


@add_tagger("lingua_en_par_v1")
class LinguaEnglishTaggerParagraph(LinguaTagger):
    # measured: 7.5x a 4 MB document of source code (a score a line, in arrays; mostly Lingua's models, loaded as
    # lines need them)
    memory_per_document_byte = 8.0
    PARAGRAPHS = ENGLISH = NEGATIVE = True
