"""Word counts by Unicode word segmentation (UAX #29, the ``uniseg`` package) under Dolma's ``uniseg_length_*``
names. ``uniseg`` is an optional extra (``pip install 'dolma-toolkit[uniseg]'``), imported when a tagger is built;
it is pinned to the release Dolma 1.2.1 was tested with, as another release may segment differently.

- ``uniseg_length_v1``: ``length``, the number of segments of the stripped text, *spaces and punctuation
  segments included* (``"Hello, world"`` is 4: ``Hello`` ``,`` `` `` ``world``); 0 for a blank text. As in Dolma.
- ``uniseg_length_paragraphs_v1``: per paragraph (a line holding a non-whitespace character, newline included)
  ``paragraph``, the segments of the stripped line that are not whitespace, then ``negative_paragraph``, the same
  negated (so a mixer filter can keep paragraphs *shorter* than n with ``>=``).
- ``uniseg_length_paragraphs_with_empty_v1``: the same over every line, blank ones included (scored 0).
- ``uniseg_length_paragraphs_with_doc_length_v1``: ``uniseg_length_paragraphs_v1`` plus ``document`` and
  ``negative_document``, the sums of the paragraphs' scores.
"""

from __future__ import annotations

from typing import Any, List, Tuple

from dolma.core.data_types import DocResult, Document, Span
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger
from dolma.taggers.length import paragraph_bounds
from dolma.taggers.models import require
from dolma.taggers.repetitions import lines

__all__ = [
    "UnisegLengthV1",
    "UnisegParagraphsV1",
    "UnisegParagraphsWithEmptyV1",
    "UnisegParagraphsWithDocLengthV1",
]


class _Uniseg(BaseTagger):
    NAME = ""

    def __init__(self) -> None:
        self.wordbreak: Any = require("uniseg.wordbreak", "uniseg", self.NAME)


@add_tagger("uniseg_length_v1")
class UnisegLengthV1(_Uniseg):
    NAME = "uniseg_length_v1"

    def predict(self, doc: Document) -> DocResult:
        text = doc.text.strip()
        score = sum(1 for _ in self.wordbreak.words(text)) if text else 0
        return DocResult(doc=doc, spans=[Span(0, len(doc.text), "length", score)])


@add_tagger("uniseg_length_paragraphs_v1")
class UnisegParagraphsV1(_Uniseg):
    NAME = "uniseg_length_paragraphs_v1"

    def paragraphs(self, text: str) -> List[Tuple[int, int]]:
        return paragraph_bounds(text)

    def predict(self, doc: Document) -> DocResult:
        spans: List[Span] = []
        for start, end in self.paragraphs(doc.text):
            words = sum(1 for w in self.wordbreak.words(doc.text[start:end].strip()) if w.strip())
            spans.append(Span(start, end, "paragraph", words))
            spans.append(Span(start, end, "negative_paragraph", -words))
        return DocResult(doc=doc, spans=spans)


@add_tagger("uniseg_length_paragraphs_with_empty_v1")
class UnisegParagraphsWithEmptyV1(UnisegParagraphsV1):
    NAME = "uniseg_length_paragraphs_with_empty_v1"

    def paragraphs(self, text: str) -> List[Tuple[int, int]]:
        return lines(text)


@add_tagger("uniseg_length_paragraphs_with_doc_length_v1")
class UnisegParagraphsWithDocLengthV1(UnisegParagraphsV1):
    NAME = "uniseg_length_paragraphs_with_doc_length_v1"

    def predict(self, doc: Document) -> DocResult:
        result = super().predict(doc)
        n = len(doc.text)
        positive = sum(span.score for span in result.spans if span.type == "paragraph")
        negative = sum(span.score for span in result.spans if span.type == "negative_paragraph")
        result.spans += [Span(0, n, "document", positive), Span(0, n, "negative_document", negative)]
        return result
