"""Attribute values of one span type held as arrays: a document of hundreds of MB can have millions of spans.

As Python lists (``[[start, end, score], ...]``, what the tag stage writes) each span costs about 140 bytes, a
span per line of text several times the text's own size; as two arrays of offsets it costs eight bytes. A
tagger's ``tag_batch`` may return a :class:`SpanArray` where it would return such a list (:func:`span_values`
does so for long lists only); it reads as the list would (length, iteration, equality, ``+``), and the tag stage
writes it a chunk of spans at a time, as the same JSON bytes the list gives.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, List, Union

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
    """Spans ``[starts[i], ends[i], score]`` with one score for all, in the list form the attributes hold."""

    __slots__ = ("starts", "ends", "score")

    def __init__(self, starts: "np.ndarray", ends: "np.ndarray", score: float) -> None:
        if len(starts) != len(ends):
            raise ValueError(f"{len(starts)} starts for {len(ends)} ends")
        self.starts = starts
        self.ends = ends
        self.score = score

    def __len__(self) -> int:
        return len(self.starts)

    def chunks(self, size: int = CHUNK_SPANS) -> Iterator[List[List[Any]]]:
        """The spans as lists of ``[start, end, score]`` (Python ints and the score), ``size`` spans at a time."""
        score = self.score
        for a in range(0, len(self), size):
            starts, ends = self.starts[a : a + size].tolist(), self.ends[a : a + size].tolist()
            yield [[start, end, score] for start, end in zip(starts, ends)]

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


def span_values(starts: "np.ndarray", ends: "np.ndarray", score: float) -> Union[SpanArray, List[List[Any]]]:
    """The attribute value for these spans: a SpanArray when there are many, else the plain list."""
    spans = SpanArray(starts, ends, score)
    return spans if len(spans) >= MIN_SPAN_ARRAY else spans.tolist()
