"""Attribute values of one span type held as arrays: a document of hundreds of MB can have millions of spans.

As Python lists (``[[start, end, score], ...]``, what the tag stage writes) each span costs about 140 bytes, a
span per line of text several times the text's own size; as two arrays of offsets it costs eight bytes, and
spans picked from a table of offsets shared by several span types one byte (a mask). A
tagger's ``tag_batch`` may return a :class:`SpanArray` where it would return such a list (:func:`span_values`
does so for long lists only); it reads as the list would (length, iteration, equality, ``+``), and the tag stage
writes it a chunk of spans at a time, as the same JSON bytes the list gives.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, List, Optional, Union

import numpy as np

__all__ = ["SpanArray", "span_values", "offsets_dtype", "MIN_SPAN_ARRAY", "CHUNK_SPANS"]

# a list of values this long or longer is kept as a SpanArray; shorter ones stay lists (cheaper to write)
MIN_SPAN_ARRAY = 1 << 14
# spans turned into lists and encoded at a time when written
CHUNK_SPANS = 1 << 16


def offsets_dtype(text_length: int) -> "np.dtype":
    """The smallest array type holding every offset of a text this long."""
    return np.dtype(np.uint32 if text_length < 1 << 32 else np.int64)


class SpanArray:
    """Spans ``[starts[i], ends[i], score]`` with one score for all, in the list form the attributes hold; with
    ``selected``, only those ``i`` where it is True (so spans picked from one shared table cost no copy)."""

    __slots__ = ("starts", "ends", "score", "selected", "_count")

    def __init__(
        self, starts: "np.ndarray", ends: "np.ndarray", score: float, selected: Optional["np.ndarray"] = None
    ) -> None:
        if len(starts) != len(ends) or (selected is not None and len(selected) != len(starts)):
            raise ValueError("starts, ends and selected must have the same length")
        self.starts = starts
        self.ends = ends
        self.score = score
        self.selected = selected
        self._count = len(starts) if selected is None else int(np.count_nonzero(selected))

    def __len__(self) -> int:
        return self._count

    def chunks(self) -> Iterator[List[List[Any]]]:
        """The spans as lists of ``[start, end, score]`` (Python ints and the score), at most ``CHUNK_SPANS`` at a
        time (no empty list)."""
        score = self.score
        for a in range(0, len(self.starts), CHUNK_SPANS):
            starts, ends = self.starts[a : a + CHUNK_SPANS], self.ends[a : a + CHUNK_SPANS]
            if self.selected is not None:
                keep = self.selected[a : a + CHUNK_SPANS]
                starts, ends = starts[keep], ends[keep]
            if len(starts):
                yield [[start, end, score] for start, end in zip(starts.tolist(), ends.tolist())]

    def __iter__(self) -> Iterator[List[Any]]:
        for chunk in self.chunks():
            yield from chunk

    def tolist(self) -> List[List[Any]]:
        return list(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (SpanArray, list)):
            return self.tolist() == list(other)
        return NotImplemented

    def __add__(self, other: Any) -> List[List[Any]]:
        return self.tolist() + list(other)

    def __radd__(self, other: Any) -> List[List[Any]]:
        return list(other) + self.tolist()

    def json_pieces(self, encode: Callable[[Any], bytes]) -> Iterator[bytes]:
        """The JSON of the list of spans, in pieces: what ``encode(self.tolist())`` gives, joined."""
        yield b"["
        for i, chunk in enumerate(self.chunks()):
            if i:
                yield b","
            yield encode(chunk)[1:-1]
        yield b"]"

    def __repr__(self) -> str:
        return f"SpanArray({len(self)} spans, score={self.score!r})"


def span_values(
    starts: "np.ndarray", ends: "np.ndarray", score: float, selected: Optional["np.ndarray"] = None
) -> Union[SpanArray, List[List[Any]]]:
    """The attribute value for these spans: a SpanArray when there are many, else the plain list."""
    spans = SpanArray(starts, ends, score, selected)
    return spans if len(spans) >= MIN_SPAN_ARRAY else spans.tolist()
