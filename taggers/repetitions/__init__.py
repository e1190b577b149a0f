"""Repeated text under Dolma's names: ``repetitions_v1``, ``paragraph_repetitions_v1`` (characters) and
``tokenizer_repetitions_v1``, ``paragraph_tokenizer_repetitions_v1``, ``tokenizer_repetitions_v2r2`` (tokens of
OLMo's GPT-NeoX tokenizer, from the file shipped in ``dolma/tokens/data/``; see ``utils.find_periodic_sequences``).

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
from typing import Dict, Iterator, List, Sequence, Set, Tuple

import numpy as np

from dolma.core.data_types import DocResult, Document, Span, TaggerOutput
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger
from dolma.core.token_pieces import piece_bounds
from dolma.taggers.repetitions.utils import find_periodic_sequences
from dolma.taggers.token_counts import pieces_proven, shipped_tokenizer
from dolma.taggers.unit_arrays import SpanCollector, is_long, line_chunks, scored_span_values

__all__ = [
    "RepetitionsTagger",
    "ParagraphRepetitionsTagger",
    "TokenizerRepetitionsTagger",
    "ParagraphTokenizerRepetitionsTagger",
    "TokenizerRepetitionsSkipEmptyTagger",
]

# a text longer than this is tokenized a piece of about PIECE_CHARS characters at a time (tokenizer_repetitions_v1)
LONG_TEXT_CHARS = 1 << 22
PIECE_CHARS = 1 << 16
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
    for start, end, times in repetition_matches(text, offset):
        yield Span(start, end, "repetition", times)


def repetition_matches(text: str, offset: int = 0) -> Iterator[Tuple[int, int, int]]:
    """``(start, end, times)`` of each repetition in ``text``, offsets shifted by ``offset``."""
    for m in _REPEATED.finditer(text):
        yield offset + m.start(), offset + m.end(), m.group(0).count(m.group(1))


@add_tagger("repetitions_v1")
class RepetitionsTagger(BaseTagger):
    def matches(self, text: str) -> Iterator[Tuple[int, int, int]]:
        """``(start, end, score)`` of each repetition span, in the order they are tagged."""
        return repetition_matches(text)

    def spans(self, text: str) -> List[Span]:
        return [Span(start, end, "repetition", score) for start, end, score in self.matches(text)]

    def predict(self, doc: Document) -> DocResult:
        spans = self.spans(doc.text)
        return DocResult(doc=doc, spans=spans + document_stats(spans, len(doc.text)))

    def tag_batch(self, docs: Sequence[Document]) -> List[TaggerOutput]:
        """As ``tag``; a long text's spans are kept and written as arrays (``dolma.taggers.unit_arrays``)."""
        return [self._long_values(doc.text) if is_long(doc.text) else self.tag(doc) for doc in docs]

    def _long_values(self, text: str) -> TaggerOutput:
        n = len(text)
        found = SpanCollector(n, np.int32)  # scores are counts
        for start, end, score in self.matches(text):
            found.add(start, end, score)
        starts, ends, scores = found.arrays()
        del found
        out: TaggerOutput = {}
        if len(starts):
            lengths = ends.astype(np.int64) - starts.astype(np.int64)
            out["repetition"] = scored_span_values(starts, ends, scores)
            stats = (float(scores.max()), float(lengths.max()), float(int(lengths.sum()) / n))
        else:
            stats = (0.0, 0.0, 0.0)
        for kind, value in zip(("doc_max_score_repetition", "doc_max_length_repetition", "doc_frac_repetition"), stats):
            out[kind] = [[0, n, value]]
        return out


def lines(text: str) -> List[Tuple[int, int]]:
    return [m.span() for m in _LINE.finditer(text)]


def line_bounds(text: str) -> Iterator[Tuple[int, int]]:
    """``lines(text)``, one at a time (a chunk of lines searched at a time)."""
    for a, b in line_chunks(text):
        for m in _LINE.finditer(text, a, b):
            yield m.span()


@add_tagger("paragraph_repetitions_v1")
class ParagraphRepetitionsTagger(RepetitionsTagger):
    def matches(self, text: str) -> Iterator[Tuple[int, int, int]]:
        for start, end in line_bounds(text):
            yield from repetition_matches(text[start:end], start)


# ---- repeated token sequences ---------------------------------------------------------------------------------


@add_tagger("tokenizer_repetitions_v1")
class TokenizerRepetitionsTagger(RepetitionsTagger):
    """Token sequences of 1 to 13 tokens repeated 3 or more times, under OLMo's GPT-NeoX (PII) tokenizer, no
    special tokens added. A span runs from its first token's start to its last token's end, scored by the times
    the sequence occurs. Every period reports its own runs, so spans may overlap or nest."""

    MIN_PERIOD = 1
    MAX_PERIOD = 13

    def __init__(self) -> None:
        # OLMo's GPT-NeoX tokenizer with PII special tokens, shipped in dolma/tokens/data/ (read as data)
        self.tokenizer = shipped_tokenizer("allenai_eleuther-ai-gpt-neox-20b-pii-special.json")
        self._piecewise = pieces_proven(self.tokenizer)

    def token_spans(self, text: str, shift: int = 0) -> List[Span]:
        return [Span(start, end, "repetition", times) for start, end, times in self.token_matches(text, shift)]

    def token_matches(self, text: str, shift: int = 0) -> Iterator[Tuple[int, int, int]]:
        """``(start, end, times)`` of each repeated token sequence, offsets shifted by ``shift``."""
        if self._piecewise and len(text) > LONG_TEXT_CHARS:
            yield from self._long_token_matches(text, shift)
            return
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        offsets = encoding.offsets
        for run in find_periodic_sequences(encoding.ids, self.MAX_PERIOD, self.MIN_PERIOD):
            yield offsets[run.start][0] + shift, offsets[run.end - 1][1] + shift, run.times

    def _long_token_matches(self, text: str, shift: int) -> Iterator[Tuple[int, int, int]]:
        """:meth:`token_matches` of a long text, encoded a piece at a time (the same tokens: see
        ``dolma.core.token_pieces``) into one array of ids, not one encoding of tens of bytes a token. Offsets are
        only needed where runs start and end: the pieces holding those tokens are encoded again for them."""
        pieces = list(piece_bounds(text, 0, len(text), PIECE_CHARS))
        firsts = np.zeros(len(pieces) + 1, dtype=np.int64)  # each piece's first token
        ids = np.empty(len(text) // 3 + 1024, dtype=np.int32)  # grown when a text has more tokens
        for k, (a, b) in enumerate(pieces):
            piece_ids = self.tokenizer.encode(text[a:b], add_special_tokens=False).ids
            count = int(firsts[k]) + len(piece_ids)
            if count > len(ids):
                grown = np.empty(max(count, len(ids) * 5 // 4), dtype=np.int32)
                grown[: firsts[k]] = ids[: firsts[k]]
                ids = grown
            ids[firsts[k] : count] = piece_ids
            firsts[k + 1] = count
        ids = ids[: firsts[-1]]
        found = find_periodic_sequences(ids, self.MAX_PERIOD, self.MIN_PERIOD)
        runs = [(run.start, run.end - 1, run.times) for run in found]
        del ids
        offsets = self._offsets_of(text, pieces, firsts, {token for run in runs for token in run[:2]})
        for first, last, times in runs:
            yield offsets[first][0] + shift, offsets[last][1] + shift, times

    def _offsets_of(
        self, text: str, pieces: List[Tuple[int, int]], firsts: np.ndarray, tokens: Set[int]
    ) -> Dict[int, Tuple[int, int]]:
        """The text offsets of these tokens, from the pieces (encoded again) that hold them."""
        wanted = np.array(sorted(tokens), dtype=np.int64)
        out: Dict[int, Tuple[int, int]] = {}
        holders = np.searchsorted(firsts, wanted, side="right") - 1
        for k in np.unique(holders).tolist():
            a, b = pieces[k]
            piece_offsets = self.tokenizer.encode(text[a:b], add_special_tokens=False).offsets
            for token in wanted[holders == k].tolist():
                start, end = piece_offsets[token - int(firsts[k])]
                out[token] = (start + a, end + a)
        return out

    def matches(self, text: str) -> Iterator[Tuple[int, int, int]]:
        return self.token_matches(text)


@add_tagger("paragraph_tokenizer_repetitions_v1")
class ParagraphTokenizerRepetitionsTagger(TokenizerRepetitionsTagger):
    """The same, line by line (blank lines included); each line is tokenized with a space in front, as in Dolma,
    so its first word gets the same token as elsewhere. A span starting at that first word starts at its space,
    one character before the line (the previous line's newline, or -1 on the first line), as in Dolma."""

    def matches(self, text: str) -> Iterator[Tuple[int, int, int]]:
        for start, end in line_bounds(text):
            yield from self.token_matches(" " + text[start:end], start - 1)


@add_tagger("tokenizer_repetitions_v2r2")
class TokenizerRepetitionsSkipEmptyTagger(TokenizerRepetitionsTagger):
    """``tokenizer_repetitions_v1`` on chunks of 100,000 characters, dropping a span that lies inside the one kept
    before it (spans ordered by start, longer first, higher score first), and with no document spans at all when
    nothing repeats."""

    CHUNK = 100_000

    def spans(self, text: str) -> List[Span]:
        kept: List[Span] = []
        for offset in range(0, len(text), self.CHUNK):
            found = self.token_spans(text[offset : offset + self.CHUNK], offset)
            found.sort(key=lambda span: (span.start, -span.end, -span.score))
            last_start = last_end = -1
            for span in found:
                if span.start >= last_start and span.end <= last_end:
                    continue
                last_start, last_end = span.start, span.end
                kept.append(span)
        return kept

    def predict(self, doc: Document) -> DocResult:
        spans = self.spans(doc.text)
        return DocResult(doc=doc, spans=spans + document_stats(spans, len(doc.text)) if spans else [])

    def tag_batch(self, docs: Sequence[Document]) -> List[TaggerOutput]:
        """The plain path: a text's spans are kept one chunk of 100,000 characters at a time, and few survive."""
        return BaseTagger.tag_batch(self, docs)
