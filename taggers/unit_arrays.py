"""Per-unit spans of a long document (a span per paragraph, line, sentence or match) held as arrays.

A document of hundreds of MB has millions of lines; a :class:`~dolma.core.data_types.Span` and a ``[start, end,
score]`` list per line cost several times the text. Here the units' bounds are found a chunk of lines at a time
into arrays of offsets (:func:`paragraph_arrays`, :func:`line_chunks`), their scores into an array beside them,
and :class:`ScoredSpanArray` (a :class:`~dolma.taggers.span_arrays.SpanArray` with a score per span) lets the tag
stage write them a chunk at a time as the same JSON bytes the list gives.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, List, Tuple, Union

import numpy as np

from dolma.taggers import span_arrays
from dolma.taggers.long_text import pieces
from dolma.taggers.span_arrays import SpanArray, offsets_dtype

__all__ = [
    "ScoredSpanArray", "SpanCollector", "is_long", "iter_bounds", "line_chunks", "paragraph_arrays",
    "scored_span_values",
]

# a text longer than this has its units' spans found and written as arrays (shorter ones: the plain way is faster)
LONG_TEXT_CHARS = 1 << 20
# characters of whole lines looked at a time: what is held per unit of a chunk stays this small
CHUNK_CHARS = 1 << 20
# spans turned into Python lists at a time (to encode them, or to look at their units): a few MB at most
CHUNK_SPANS = 1 << 13
# a paragraph (dolma.taggers.length.paragraph_bounds): a line holding a non-whitespace character, with its newline
PARAGRAPH = re.compile(r"^[^\S\n]*\S[^\n]*\n?", re.MULTILINE)
_NEWLINE = re.compile("\n")


class ScoredSpanArray(SpanArray):
    """Spans ``[starts[i], ends[i], scores[i]]``; the scores (of any numeric type: counts may be held as 4-byte
    integers) read as floats, as a :class:`~dolma.core.data_types.Span` holds them."""

    __slots__ = ("scores",)

    def __init__(self, starts: "np.ndarray", ends: "np.ndarray", scores: "np.ndarray") -> None:
        if len(scores) != len(starts):
            raise ValueError("starts, ends and scores must have the same length")
        super().__init__(starts, ends, 0.0)
        self.scores = scores

    def chunks(self) -> Iterator[List[List[Any]]]:
        step = CHUNK_SPANS
        for a in range(0, len(self.starts), step):
            b = a + step
            scores = self.scores[a:b].astype(np.float64).tolist()
            yield list(map(list, zip(self.starts[a:b].tolist(), self.ends[a:b].tolist(), scores)))

    def __repr__(self) -> str:
        return f"ScoredSpanArray({len(self)} spans)"


def is_long(text: str) -> bool:
    """Whether a text's units are worth arrays (read at each call, so tests can lower the threshold)."""
    return len(text) > LONG_TEXT_CHARS


def iter_bounds(starts: "np.ndarray", ends: "np.ndarray") -> Iterator[Tuple[int, int]]:
    """``(start, end)`` as Python ints, turned into them a chunk of units at a time."""
    step = CHUNK_SPANS
    for a in range(0, len(starts), step):
        yield from zip(starts[a : a + step].tolist(), ends[a : a + step].tolist())


def scored_span_values(
    starts: "np.ndarray", ends: "np.ndarray", scores: "np.ndarray"
) -> Union[ScoredSpanArray, List[List[Any]]]:
    """The attribute value for these spans: a ScoredSpanArray when there are many, else the plain list."""
    spans = ScoredSpanArray(starts, ends, scores)
    return spans if len(spans) >= span_arrays.MIN_SPAN_ARRAY else spans.tolist()


def line_chunks(text: str) -> Iterator[Tuple[int, int]]:
    """``(start, end)`` of consecutive pieces of about ``CHUNK_CHARS`` characters, each but the last ending
    just after a newline: whole lines, newlines included."""
    return pieces(text, 0, len(text), _NEWLINE, max(CHUNK_CHARS, 1) - 1)


def paragraph_arrays(text: str) -> Tuple["np.ndarray", "np.ndarray"]:
    """``paragraph_bounds(text)`` as two arrays of offsets (starts, ends), found a chunk of lines at a time."""
    dtype = offsets_dtype(len(text) + 1)
    bounds = np.empty((text.count("\n") + 1, 2), dtype=dtype)  # at most a paragraph per line
    count = 0
    for start, end in line_chunks(text):
        found = np.array([m.span() for m in PARAGRAPH.finditer(text, start, end)], dtype=dtype).reshape(-1, 2)
        bounds[count : count + len(found)] = found
        count += len(found)
    return bounds[:count, 0], bounds[:count, 1]


class SpanCollector:
    """Spans appended one at a time (a count not known beforehand), kept as arrays a batch at a time."""

    BATCH = 1 << 13

    def __init__(self, text_length: int, score_dtype: Any) -> None:
        # signed: a span may start before the text (paragraph_tokenizer_repetitions_v1's at -1)
        self._dtype = np.dtype(np.int32 if text_length < 1 << 31 else np.int64)
        self._score_dtype = np.dtype(score_dtype)
        self._parts: Tuple[List["np.ndarray"], List["np.ndarray"], List["np.ndarray"]] = ([], [], [])
        self._starts: List[int] = []
        self._ends: List[int] = []
        self._scores: List[Any] = []

    def add(self, start: int, end: int, score: Any) -> None:
        self._starts.append(start)
        self._ends.append(end)
        self._scores.append(score)
        if len(self._starts) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._starts:
            self._parts[0].append(np.array(self._starts, dtype=self._dtype))
            self._parts[1].append(np.array(self._ends, dtype=self._dtype))
            self._parts[2].append(np.array(self._scores, dtype=self._score_dtype))
            self._starts, self._ends, self._scores = [], [], []

    def arrays(self) -> Tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
        """(starts, ends, scores) of every span added, in order (joined one of the three at a time, each freeing
        its parts, so the peak is the spans and one array more)."""
        self._flush()
        out = []
        for k, dtype in enumerate((self._dtype, self._dtype, self._score_dtype)):
            parts = self._parts[k]
            out.append(np.concatenate(parts) if parts else np.zeros(0, dtype=dtype))
            parts.clear()
        return out[0], out[1], out[2]
