"""A long document's per-unit scores (a score per paragraph and language) held as arrays, not as span lists.

A language tagger's paragraph layout writes ``[start, end, score]`` for every line and language: as Python lists
about 160 bytes a span, many times the text. :class:`UnitScores` keeps the units' offsets once (eight bytes a
unit) and each language's scores as the detector gave them, a group of units at a time: an index within the group
only where the language was not given for every unit of it (two bytes), and the score as a 32-bit float when that
holds it exactly (fastText's and CLD3's are 32-bit floats), else a 64-bit one. :class:`ScoredSpans` reads such a
language's spans as the list would, and the tag stage writes it a group at a time as the same JSON bytes (it is a
:class:`~dolma.taggers.span_arrays.SpanArray`).
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from dolma.taggers.span_arrays import SpanArray, offsets_dtype

__all__ = ["ScoredSpans", "UnitScores", "compact_scores"]

# (first unit of the group, units of the group it holds or None for all of them from the first, scores)
Piece = Tuple[int, Optional["np.ndarray"], "np.ndarray"]


def compact_scores(scores: Sequence[float]) -> "np.ndarray":
    """The scores as 32-bit floats when that changes none of them, else as 64-bit ones; scores that are all the
    same (bit for bit: ``-0.0`` is not ``0.0`` in JSON) as one value read as many (Lingua gives most languages
    0.0 on every line)."""
    wide = np.array(scores, dtype=np.float64)
    narrow = wide.astype(np.float32)
    held = narrow if np.array_equal(narrow.astype(np.float64), wide) else wide
    bits = held.view(np.uint32 if held.dtype == np.float32 else np.uint64)
    if len(bits) > 1 and bool((bits == bits[0]).all()):
        return np.broadcast_to(held[:1].copy(), held.shape)
    return held


class ScoredSpans(SpanArray):
    """One span type's spans ``[starts[u], ends[u], score]`` over the units its pieces name, in unit order; with
    ``negate``, scored ``1 - score`` (Dolma's ``not_`` types)."""

    __slots__ = ("pieces", "negate")

    def __init__(self, starts: "np.ndarray", ends: "np.ndarray", pieces: List[Piece], negate: bool = False) -> None:
        super().__init__(starts, ends, 0.0)
        self.pieces = pieces
        self.negate = negate
        self._count = sum(len(scores) for _, _, scores in pieces)

    def _arrays(self) -> Iterator[Tuple["np.ndarray", "np.ndarray", "np.ndarray"]]:
        """Per piece: its spans' starts, ends and (64-bit) scores."""
        for first, units, scores in self.pieces:
            if units is None:
                starts, ends = self.starts[first : first + len(scores)], self.ends[first : first + len(scores)]
            else:
                at = first + units.astype(np.int64)
                starts, ends = self.starts[at], self.ends[at]
            values = scores.astype(np.float64)  # (1.0 - a 32-bit array would stay 32-bit)
            yield starts, ends, (1.0 - values if self.negate else values)

    def chunks(self) -> Iterator[List[List[Any]]]:
        """A list of ``[start, end, score]`` (Python ints and floats) per piece."""
        for starts, ends, values in self._arrays():
            if len(values):
                yield [[s, e, v] for s, e, v in zip(starts.tolist(), ends.tolist(), values.tolist())]

    def weighted_sum(self) -> float:
        """The sum of ``(end - start) * score`` in unit order, added one by one as Python's ``sum`` would."""
        total = 0.0
        for starts, ends, values in self._arrays():
            products = (ends.astype(np.int64) - starts.astype(np.int64)) * values
            total = float(np.cumsum(np.concatenate(([total], products)))[-1])
        return total

    def __repr__(self) -> str:
        return f"ScoredSpans({len(self)} spans{', negated' if self.negate else ''})"


class UnitScores:
    """The units of a text (up to ``capacity`` of them) and each language's scores, added a group at a time."""

    def __init__(self, text_length: int, capacity: int) -> None:
        dtype = offsets_dtype(text_length)
        self._starts = np.empty(capacity, dtype=dtype)
        self._ends = np.empty(capacity, dtype=dtype)
        self.count = 0
        self._pieces: Dict[str, List[Piece]] = {}  # in the order languages were first given

    def add_group(self, bounds: Sequence[Tuple[int, int]], predictions: Sequence[Sequence[Tuple[str, float]]]) -> None:
        """A group's units (in text order, at most 65,536) and each unit's (language, score) pairs."""
        first, k = self.count, len(bounds)
        if k:
            table = np.array(bounds, dtype=np.int64).reshape(k, 2)
            self._starts[first : first + k] = table[:, 0]
            self._ends[first : first + k] = table[:, 1]
        found: Dict[str, Tuple[List[int], List[float]]] = {}
        for unit, prediction in enumerate(predictions):
            for lang, score in prediction:
                entry = found.get(lang)
                if entry is None:
                    entry = found[lang] = ([], [])
                entry[0].append(unit)
                entry[1].append(score)
        for lang, (units, scores) in found.items():
            held = None if units == list(range(k)) else np.array(units, dtype=np.uint16)
            self._pieces.setdefault(lang, []).append((first, held, compact_scores(scores)))
        self.count += k

    def spans(self, negate: bool = False) -> Dict[str, ScoredSpans]:
        """Each language's spans, typed by its code (``not_<code>`` with ``negate``), first given first."""
        starts, ends = self._starts[: self.count], self._ends[: self.count]
        prefix = "not_" if negate else ""
        return {prefix + lang: ScoredSpans(starts, ends, pieces, negate) for lang, pieces in self._pieces.items()}

