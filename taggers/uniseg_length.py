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

uniseg holds about 50 bytes per character of the text it segments, so a long text (``LONG_TEXT_CHARS``) is
segmented a piece of about ``CHUNK_CHARS`` characters at a time, cut where UAX #29 always breaks and no rule
looks across (after a line feed, WB3a; between a space and an ASCII letter or digit, which no rule joins): the
counts are the whole text's. Its paragraphs' counts are kept in arrays (``unit_arrays.ScoredSpanArray``).
"""

from __future__ import annotations

import re
from typing import Any, List, Sequence, Tuple

import numpy as np

from dolma.core.data_types import DocResult, Document, Span, TaggerOutput
from dolma.core.longlines import strip_bounds
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger
from dolma.taggers.length import paragraph_bounds
from dolma.taggers.long_text import pieces
from dolma.taggers.models import require
from dolma.taggers.repetitions import lines
from dolma.taggers.span_arrays import offsets_dtype
from dolma.taggers.unit_arrays import ScoredSpanArray

__all__ = [
    "UnisegLengthV1",
    "UnisegParagraphsV1",
    "UnisegParagraphsWithEmptyV1",
    "UnisegParagraphsWithDocLengthV1",
]


LONG_TEXT_CHARS = 1 << 17  # (pieces cost no time: only memory is saved)
CHUNK_CHARS = 1 << 14  # (uniseg holds about 50 bytes a character of a piece)
_WORD_CUT = re.compile(r"\n| (?=[A-Za-z0-9])")  # a piece ends after the line feed or the space
_LINE_CUT = re.compile(r"\n")


class _Uniseg(BaseTagger):
    NAME = ""

    def __init__(self) -> None:
        self.wordbreak: Any = require("uniseg.wordbreak", "uniseg", self.NAME)


@add_tagger("uniseg_length_v1")
class UnisegLengthV1(_Uniseg):
    NAME = "uniseg_length_v1"

    def predict(self, doc: Document) -> DocResult:
        text = doc.text
        if len(text) < LONG_TEXT_CHARS:
            stripped = text.strip()
            score = sum(1 for _ in self.wordbreak.words(stripped)) if stripped else 0
        else:
            start, end = strip_bounds(text)
            words = self.wordbreak.words
            score = sum(sum(1 for _ in words(text[a:b])) for a, b in pieces(text, start, end, _WORD_CUT, CHUNK_CHARS))
        return DocResult(doc=doc, spans=[Span(0, len(text), "length", score)])


@add_tagger("uniseg_length_paragraphs_v1")
class UnisegParagraphsV1(_Uniseg):
    NAME = "uniseg_length_paragraphs_v1"

    def paragraphs(self, text: str) -> List[Tuple[int, int]]:
        return paragraph_bounds(text)

    def words(self, paragraph: str) -> int:
        return sum(1 for w in self.wordbreak.words(paragraph.strip()) if w.strip())

    def predict(self, doc: Document) -> DocResult:
        spans: List[Span] = []
        for start, end in self.paragraphs(doc.text):
            words = self.words(doc.text[start:end])
            spans.append(Span(start, end, "paragraph", words))
            spans.append(Span(start, end, "negative_paragraph", -words))
        return DocResult(doc=doc, spans=spans)

    def tag_batch(self, docs: Sequence[Document]) -> List[TaggerOutput]:
        return [self.long_text(doc.text) if len(doc.text) >= LONG_TEXT_CHARS else self.tag(doc) for doc in docs]

    def long_text(self, text: str) -> TaggerOutput:
        """``tag`` of a long text: its paragraphs a chunk of lines at a time, their counts into arrays."""
        capacity = text.count("\n") + 1
        starts = np.empty(capacity, dtype=offsets_dtype(len(text)))
        ends = np.empty_like(starts)
        counts = np.empty(capacity, dtype=np.int32)
        n = 0
        for a, b in pieces(text, 0, len(text), _LINE_CUT, CHUNK_CHARS):
            piece = text[a:b]
            bounds = self.paragraphs(piece)
            k = len(bounds)
            if k:
                table = np.array(bounds, dtype=np.int64).reshape(k, 2) + a
                starts[n : n + k], ends[n : n + k] = table[:, 0], table[:, 1]
                counts[n : n + k] = [self.words(piece[s:e]) for s, e in bounds]
                n += k
        if not n:
            return {}
        starts, ends, counts = starts[:n], ends[:n], counts[:n]
        negative = -counts  # (an int: 0, never -0.0)
        return {"paragraph": ScoredSpanArray(starts, ends, counts), "negative_paragraph": ScoredSpanArray(starts, ends, negative)}


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

    def long_text(self, text: str) -> TaggerOutput:
        output = super().long_text(text)
        paragraphs = output.get("paragraph")
        total = int(paragraphs.scores.astype(np.int64).sum()) if isinstance(paragraphs, ScoredSpanArray) else 0
        n = len(text)
        output.update({"document": [[0, n, float(total)]], "negative_document": [[0, n, float(-total)]]})
        return output
