"""A long sequence's words as exact 32-bit ids, and the 64-bit hash of any run of ``n`` consecutive words.

Each word's id is the low half of its 64-bit hash (:func:`dolma.taggers.repeats.word_hashes`), unless another
distinct word has the same low half: with a million distinct words a hundred pairs or so do, so those words get
fresh ids that no other word has (the hashes of the pieces of text holding such words are computed again). Equal
words get equal ids and different words different ones, as exactly as their 64-bit hashes tell them apart: four
bytes a word instead of the eight of 64-bit prefix sums, and the distinct words' hashes (eight bytes each) only
while the ids are made.

The hash of words ``i..i+n-1`` is ``sum(id[i+k] * Q**k)`` modulo 2**64, computed a chunk of positions at a time
from prefix sums over the chunk alone (:meth:`WordIds.runs`): the same for every occurrence of the same words,
and a few array operations per chunk whatever ``n``.
"""

from __future__ import annotations

from typing import Callable, Iterator, List, Tuple

import numpy as np

from dolma.core.longlines import release_free_memory

__all__ = ["WordIds"]

_U64 = np.uint64
_U32 = np.uint32
# an odd multiplier (the golden ratio's 64-bit fraction), invertible modulo 2**64
_Q = 0x9E3779B97F4A7C15
_Q_INVERSE = pow(_Q, -1, 1 << 64)
# the distinct hashes seen are merged into one sorted array once this many (or a quarter of what it holds) are new
_MIN_PENDING = 1 << 16
# the longest run :meth:`WordIds.runs` gives (gopher's longest n-gram)
MAX_RUN = 10


def _powers(base: int, count: int) -> "np.ndarray":
    """``base**0 .. base**(count-1)`` modulo 2**64."""
    out = np.full(count, base, dtype=_U64)
    out[:1] = 1
    return np.cumprod(out, dtype=_U64)


class WordIds:
    """The ids of ``count`` words, filled a chunk of 64-bit word hashes at a time (:meth:`extend`), then made
    exact (:meth:`finish`); ``chunk`` is how many n-gram hashes :meth:`runs` gives at a time."""

    def __init__(self, count: int, chunk: int) -> None:
        if count >= 1 << 31:
            raise ValueError(f"{count} words: more than 32-bit ids can tell apart")
        self.ids = np.empty(count, dtype=_U32)
        self.filled = 0
        self.chunk = chunk
        self._pieces: List[int] = []  # where each piece given to extend() starts
        self._distinct = np.zeros(0, dtype=_U64)  # sorted distinct hashes merged so far
        self._pending: List["np.ndarray"] = []  # distinct hashes of the pieces since, not among those
        self._pending_size = 0
        self._q = _powers(_Q, chunk + MAX_RUN)
        self._p = _powers(_Q_INVERSE, chunk)

    def extend(self, hashes: "np.ndarray") -> None:
        """Append the next piece of words' 64-bit hashes."""
        self._pieces.append(self.filled)
        self.ids[self.filled : self.filled + len(hashes)] = hashes  # (the low 32 bits)
        self.filled += len(hashes)
        new = np.unique(hashes)
        if len(self._distinct):
            at = np.minimum(np.searchsorted(self._distinct, new), len(self._distinct) - 1)
            new = new[self._distinct[at] != new]
        self._pending.append(new)
        self._pending_size += len(new)
        if self._pending_size >= max(_MIN_PENDING, len(self._distinct) // 4):
            self._merge()

    def _merge(self) -> None:
        """Add the pending hashes to the sorted distinct ones, growing that array in place (a large one is remapped,
        not copied) and sorting its two sorted runs together."""
        new = np.unique(np.concatenate([np.zeros(0, dtype=_U64), *self._pending]))
        self._pending, self._pending_size = [], 0
        old = len(self._distinct)
        self._distinct.resize(old + len(new), refcheck=False)
        self._distinct[old:] = new
        del new
        self._distinct.sort(kind="stable")
        release_free_memory()

    def finish(self, replay: Callable[[int], "np.ndarray"]) -> None:
        """Give fresh ids to the words whose low 32 bits another distinct word shares; ``replay(i)`` gives the
        hashes :meth:`extend` was given the ``i``-th time (called only for the pieces holding such words)."""
        self._merge()
        low = self._distinct.astype(_U32)
        ordered = np.sort(low)
        shared = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        if not len(shared):
            del self._distinct
            return
        clashing = self._distinct[np.isin(low, shared)]  # (sorted)
        del self._distinct, low
        fresh = np.zeros(0, dtype=_U32)  # the smallest numbers that are no word's low half
        start = 0
        while len(fresh) < len(clashing):
            candidates = np.arange(start, start + 2 * len(clashing) + 64, dtype=_U32)
            at = np.minimum(np.searchsorted(ordered, candidates), len(ordered) - 1)
            fresh = np.concatenate([fresh, candidates[ordered[at] != candidates]])
            start += len(candidates)
        fresh = fresh[: len(clashing)]
        del ordered
        for i, (first, last) in enumerate(zip(self._pieces, [*self._pieces[1:], self.filled])):
            mine = np.flatnonzero(np.isin(self.ids[first:last], shared))
            if len(mine):
                hashes = replay(i)[mine]
                self.ids[first + mine] = fresh[np.searchsorted(clashing, hashes)]

    def runs(self, n: int) -> Iterator[Tuple[int, "np.ndarray"]]:
        """``(first position, hashes)`` of the runs of ``n`` words at positions ``0..count-n``, a chunk at a time."""
        if n > MAX_RUN:
            raise ValueError(f"runs of {n} words: at most {MAX_RUN}")
        positions = len(self.ids) - n + 1
        buffer = np.zeros(self.chunk + n, dtype=_U64)  # (one type throughout: a uint32 operand costs 5x the time)
        for a in range(0, positions, self.chunk):
            b = min(a + self.chunk, positions)
            prefix = buffer[: b - a + n]
            terms = prefix[1:]
            terms[...] = self.ids[a : b + n - 1]
            terms *= self._q[: len(terms)]
            np.cumsum(terms, out=terms)
            hashes = prefix[n:] - prefix[: b - a]
            hashes *= self._p[: b - a]
            yield a, hashes

