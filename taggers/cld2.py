"""Language ID with CLD2 (``pycld2``, the ``lang`` extra), under Dolma's tagger names and attribute types.

Scores are CLD2's percentages of the text (/100) for the languages it reports, only when it calls its answer
reliable, as in Dolma. Differences from Dolma 1.2.1: types are CLD2's ISO codes (Dolma took the first two
letters of the language *name*, so German came out as ``ge`` and Chinese as ``ch``), with old codes mapped to
fastText's (``iw`` → ``he``, ``zh-Hant`` → ``zh``). Text CLD2 refuses (C0/C1 control characters, anything
that is not valid UTF-8 once encoded) is cleaned and retried; text it still refuses gets no languages.
"""

from __future__ import annotations

import re
from typing import Any, List, Tuple

from dolma.taggers.language import CANONICAL_CODES, LanguageTagger, Prediction
from dolma.taggers.models import require
from dolma.core.registry import add_tagger

__all__ = ["Cld2Detector", "Cld2LangId"]

# control characters other than tab/newline/carriage return, and lone surrogates
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]+")


class Cld2Detector:
    """CLD2 on one text at a time (it has no batch API); never raises on odd input."""

    def __init__(self, user: str) -> None:
        self._cld2: Any = require("pycld2", "lang", user)

    def detect(self, text: str) -> Tuple[bool, Prediction]:
        """(reliable, [(code, share of the text)])."""
        cld2 = self._cld2
        try:
            reliable, _, details = cld2.detect(text)
        except (cld2.error, ValueError):
            try:
                reliable, _, details = cld2.detect(_REFUSED.sub(" ", text).encode("utf-8", "replace").decode("utf-8"))
            except (cld2.error, ValueError):
                return False, []
        out = [(CANONICAL_CODES.get(code, code), percent / 100.0) for _, code, percent, _ in details if code != "un"]
        return bool(reliable), out


@add_tagger("cld2_doc_v2")
class Cld2LangId(LanguageTagger):
    def __init__(self) -> None:
        self._detector = Cld2Detector("the cld2_* taggers")

    def detect(self, texts: List[str]) -> List[Prediction]:
        answers = []
        for text in texts:
            reliable, prediction = self._detector.detect(text)
            answers.append(prediction if reliable else [])
        return answers


@add_tagger("cld2_paragraph_v2")
class Cld2LangIdParagraph(Cld2LangId):
    PARAGRAPHS = True


@add_tagger("cld2_en_doc_v2")
class Cld2EnglishDoc(Cld2LangId):
    ENGLISH = True
    NEGATIVE = True


@add_tagger("cld2_en_paragraph_v2")
class Cld2EnglishParagraph(Cld2EnglishDoc):
    PARAGRAPHS = True


@add_tagger("cld2_en_paragraph_with_doc_score_v2")
class Cld2EnglishParagraphWithDocScore(Cld2EnglishParagraph):
    DOC_SCORE = True
