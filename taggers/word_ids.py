"""A long sequence's words as exact 32-bit ids, and the 64-bit hash of any run of ``n`` consecutive words.

Each word's id is the low half of its 64-bit hash (:func:`dolma.taggers.repeats.word_hashes`), unless another
distinct word has the same low half: with a million distinct words a few hundred pairs do, so those words get
fresh ids that no other word has (found by replaying the words' hashes once more). Equal words get equal ids and
different words different ones, as exactly as their 64-bit hashes tell them apart; four bytes a word instead of the
eight of 64-bit prefix sums.

The hash of words ``i..i+n-1`` is ``sum(id[i+k] * Q**k)`` modulo 2**64, computed a chunk of positions at a time
from prefix sums over the chunk alone (:meth:`WordIds.runs`): the same for every occurrence of the same words,
and a few array operations per chunk whatever ``n``.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, List, Tuple

import numpy as np

__all__ = ["WordIds"]

_U64 = np.uint64
_U32 = np.uint32
# an odd multiplier (the golden ratio's 64-bit fraction), invertible modulo 2**64
_Q = 0x9E3779B97F4A7C15
_Q_INVERSE = pow(_Q, -1, 1 << 64)
# the distinct hashes seen are merged into one sorted array once this many (or as many as it holds) are pending
_MIN_PENDING = 1 << 18
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
        self._distinct = np.zeros(0, dtype=_U64)  # sorted distinct hashes merged so far
        self._pending: List["np.ndarray"] = []
        self._pending_size = 0
        self._q = _powers(_Q, chunk + MAX_RUN)
        self._p = _powers(_Q_INVERSE, chunk)

    def extend(self, hashes: "np.ndarray") -> None:
        """Append the next words' 64-bit hashes."""
        self.ids[self.filled : self.filled + len(hashes)] = hashes  # (the low 32 bits)
        self.filled += len(hashes)
        self._pending.append(np.unique(hashes))
        self._pending_size += len(self._pending[-1])
        if self._pending_size >= max(_MIN_PENDING, len(self._distinct)):
            self._merge()

    def _merge(self) -> None:
        self._distinct = np.unique(np.concatenate([self._distinct, *self._pending]))
        self._pending, self._pending_size = [], 0

    def finish(self, replay: Callable[[], Iterable["np.ndarray"]]) -> None:
        """Give fresh ids to the words whose low 32 bits another distinct word shares; ``replay`` gives the same
        hashes as :meth:`extend` was given, in order (called only when some are shared)."""
        self._merge()
        low = self._distinct.astype(_U32)
        del self._distinct
        low.sort()
        shared = np.unique(low[1:][low[1:] == low[:-1]])
        if not len(shared):
            return
        used = np.unique(low)
        del low
        clashing: List["np.ndarray"] = []  # the distinct hashes whose low half is shared
        for hashes in replay():
            clashing.append(np.unique(hashes[np.isin(hashes.astype(_U32), shared)]))
        clashing_hashes = np.unique(np.concatenate(clashing))
        del clashing
        fresh = np.setdiff1d(np.arange(len(used) + len(clashing_hashes), dtype=_U32), used, assume_unique=True)
        fresh = fresh[: len(clashing_hashes)]
        del used
        at = 0
        for hashes in replay():
            mine = np.flatnonzero(np.isin(hashes.astype(_U32), shared))
            self.ids[at + mine] = fresh[np.searchsorted(clashing_hashes, hashes[mine])]
            at += len(hashes)

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

