"""Repeated text under Dolma's names: ``repetitions_v1`` and ``paragraph_repetitions_v1``.

A repetition is a run of text (at least one character, no newline) followed by three or more copies of itself,
each copy optionally preceded by one whitespace character: the leftmost shortest unit wins, as the pattern
``(.+?)(\\s?\\1){3,}`` finds it, scanning on after each match. Its span is tagged ``repetition`` with the number of
times the unit occurs in the matched text (``str.count``, non-overlapping). Every document also gets three
document spans: ``doc_max_score_repetition`` (the largest such count, 0 when none), ``doc_max_length_repetition``
(the longest span's length in characters, 0 when none) and ``doc_frac_repetition`` (the spans' total length over
the text's length, 0 when none; overlapping spans are counted twice, as in Dolma).

``paragraph_repetitions_v1`` searches each line on its own (a line with its newline; blank lines included, as in
Dolma), so a repetition never crosses a newline except the line's own final one.
"""

from __future__ import annotations

import re
from typing import Iterator, List, Tuple

from dolma.core.data_types import DocResult, Document, Span
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger

__all__ = ["RepetitionsTagger", "ParagraphRepetitionsTagger"]

_REPEATED = re.compile(r"(.+?)(\s?\1){3,}")
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def document_stats(spans: List[Span], n_chars: int) -> List[Span]:
    lengths = [span.end - span.start for span in spans]
    return [
        Span(0, n_chars, "doc_max_score_repetition", max(span.score for span in spans) if spans else 0.0),
        Span(0, n_chars, "doc_max_length_repetition", max(lengths) if spans else 0),
        Span(0, n_chars, "doc_frac_repetition", float(sum(lengths) / n_chars) if spans else 0),
    ]


def repetitions(text: str, offset: int = 0) -> Iterator[Span]:
    for m in _REPEATED.finditer(text):
        yield Span(offset + m.start(), offset + m.end(), "repetition", m.group(0).count(m.group(1)))


@add_tagger("repetitions_v1")
class RepetitionsTagger(BaseTagger):
    def spans(self, text: str) -> List[Span]:
        return list(repetitions(text))

    def predict(self, doc: Document) -> DocResult:
        spans = self.spans(doc.text)
        return DocResult(doc=doc, spans=spans + document_stats(spans, len(doc.text)))


def lines(text: str) -> List[Tuple[int, int]]:
    return [m.span() for m in _LINE.finditer(text)]


@add_tagger("paragraph_repetitions_v1")
class ParagraphRepetitionsTagger(RepetitionsTagger):
    def spans(self, text: str) -> List[Span]:
        return [span for start, end in lines(text) for span in repetitions(text[start:end], start)]
