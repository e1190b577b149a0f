"""Histogram helpers under Dolma's names (``dolma.core.binning``), for code written against Dolma's analysis tools.

- :func:`cumsum_with_reset`: running sums that restart at each zero (or another reset value).
- :func:`equal_count_hist`: bins holding (about) equal total weight, cut by Dolma's rule.
- :func:`merge_bins`: two histograms given by bin values and counts, as one.
- :class:`FixedBucketsValTracker` / :class:`InferBucketsValTracker`: stream values into buckets (each value rounded
  to a few significant digits, so memory stays bounded) and summarise them as a histogram; the total count, the sum,
  the minimum and the maximum are exact.
"""

from __future__ import annotations

import math
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    "cumsum_with_reset",
    "equal_count_hist",
    "merge_bins",
    "BaseBucketApi",
    "FixedBucketsValTracker",
    "InferBucketsValTracker",
]


def cumsum_with_reset(arr: Union[Sequence[float], np.ndarray], reset_value: float = 0) -> np.ndarray:
    """Running sums of ``arr`` that restart at every ``reset_value``: there the sum is 0, and after it the sum
    counts from the next element on (``[1, 2, 0, 3] → [1, 3, 0, 3]``)."""
    values = np.asarray(arr)
    out = np.cumsum(values)
    if values.size == 0:
        return out
    # the latest reset at or before each position, and the running total there
    last = np.maximum.accumulate(np.where(values == reset_value, np.arange(values.size), -1))
    return out - np.where(last >= 0, out[np.maximum(last, 0)], 0)


def equal_count_hist(
    a: Union[Sequence[float], np.ndarray],
    bins: Union[int, Sequence[float], np.ndarray, str] = 10,
    density: bool = False,
    weights: Optional[Union[Sequence[float], np.ndarray]] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """``(counts, edges)``: bins of about equal total weight over the values of ``a`` in their given order (sort
    them first, as Dolma's callers do), with Dolma's rule for where the cuts go; weights are whole numbers.

    Cuts are found in rounds. Each round, with ``n`` cuts still to place, the target weight of a bin is the weight
    not yet in a cut divided by ``n`` (rounded down). Every position weighing at least that becomes a cut of its
    own. If there is none, the running weight is taken, restarting after each earlier cut, and a cut goes wherever
    it crosses another (rounded) multiple of the target; when it crosses none, the heaviest position is cut (where
    Dolma 1.2.1 never returns). More new cuts than needed are thinned out evenly; a cut on the last value asks for one more. A cut at
    position ``i`` ends a bin there: its edge is halfway to the next value (the outer edges are the first and the
    last value). So very heavy values get bins of their own, and the counts may be uneven: 4 values in 2 bins come
    out as ``[3, 1]``. ``bins`` that is not an int (edges, or a NumPy rule name) is passed to ``np.histogram``.
    """
    if not isinstance(bins, int):
        return np.histogram(a, bins=bins, weights=weights, density=density)
    values = np.asarray(a)
    if values.size == 0:
        return np.array([]), np.array([])
    w = np.ones(values.size, dtype=int) if weights is None else np.array(weights, dtype=int)
    left = w.copy()  # each position's weight; -1 once it ends a bin
    need = min(bins, values.size) - 1
    ends: List[int] = []
    while need > 0:
        target = int(left[left > 0].sum()) // need
        cut = left >= target
        if not cut.any():
            running = cumsum_with_reset(left, -1)
            with np.errstate(divide="ignore", invalid="ignore"):
                multiples = np.round(running / target).astype(int)
            if multiples.sum() > 0:
                cut = multiples - np.roll(multiples, 1) > 0
            if not cut.any():  # (Dolma loops forever here when multiples exist but none is crossed)
                cut[np.argmax(left)] = True
        if cut[-1]:
            need += 1
        found = np.flatnonzero(cut)
        if found.size > need:
            found = found[:: found.size // need]
        ends.extend(int(i) for i in found)
        left[cut] = -1
        need -= found.size
    ends = sorted(set(ends) | {values.size - 1})
    edges = np.concatenate(([values[0]], [(values[i] + values[i + 1]) / 2 if i + 1 < values.size else values[i] for i in ends]))
    counts = np.diff(np.concatenate(([0], np.cumsum(w)[ends])))
    if density:
        counts = counts / counts.sum()
    return counts, edges


def merge_bins(
    bin_a: np.ndarray, count_a: np.ndarray, bin_b: np.ndarray, count_b: np.ndarray
) -> Tuple[np.ndarray, np.ndarray]:
    """One histogram from two, each given by its bin values and counts: every value of either, sorted, with the
    counts of equal values added."""
    merged: Dict[float, int] = {}
    for bins, counts in ((bin_a, count_a), (bin_b, count_b)):
        for value, count in zip(np.asarray(bins).tolist(), np.asarray(counts).tolist()):
            merged[value] = merged.get(value, 0) + count
    keys = sorted(merged)
    return np.array(keys, dtype=np.float64), np.array([merged[k] for k in keys])


class BaseBucketApi:
    """Values streamed into buckets: ``add(value, count=1)`` (or lists of both), then ``summarize(n)``."""

    def __init__(self, digits: int = 4) -> None:
        self.digits = digits
        self._buckets: Dict[float, int] = {}
        self.total = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf

    def _key(self, value: float) -> float:
        if value == 0 or not math.isfinite(value):
            return value
        return round(value, self.digits - 1 - int(math.floor(math.log10(abs(value)))))

    def add(self, value: Union[float, Iterable[float]], count: Union[int, Iterable[int]] = 1) -> None:
        if isinstance(value, (list, tuple, np.ndarray)):
            counts = [1] * len(value) if isinstance(count, int) else list(count)  # type: ignore[arg-type]
            for v, c in zip(value, counts):
                self._add_one(float(v), int(c))
        else:
            self._add_one(float(value), int(count))  # type: ignore[arg-type]

    def _add_one(self, value: float, count: int) -> None:
        key = self._key(value)
        self._buckets[key] = self._buckets.get(key, 0) + count
        self.total += count
        self.sum += value * count
        self.min = min(self.min, value)
        self.max = max(self.max, value)

    def __len__(self) -> int:
        return len(self._buckets)

    def summarize(self, n: int, density: bool = False) -> Tuple[List[float], List[float], int, float]:
        """``(counts, edges, total, sum)``: ``n`` equal-width bins from the minimum to the maximum, like
        ``numpy.histogram`` (with ``density``, counts are divided by ``total × bin width``)."""
        if not self._buckets:
            return [], [], 0, 0.0
        keys = np.fromiter(self._buckets.keys(), dtype=np.float64, count=len(self._buckets))
        weights = np.fromiter(self._buckets.values(), dtype=np.float64, count=len(self._buckets))
        keys = np.clip(keys, self.min, self.max)  # a rounded value stays inside the true range
        counts, edges = np.histogram(keys, bins=n, range=(self.min, self.max), weights=weights, density=density)
        out_counts = counts.tolist() if density else [int(c) for c in np.rint(counts)]
        return out_counts, edges.tolist(), self.total, self.sum


class FixedBucketsValTracker(BaseBucketApi):
    """Buckets at a fixed precision (``digits`` significant digits)."""


class InferBucketsValTracker(BaseBucketApi):
    """Buckets whose precision drops a digit whenever there are more than ``n`` of them."""

    def __init__(self, n: int, digits: int = 6) -> None:
        super().__init__(digits)
        self.n = n

    def _add_one(self, value: float, count: int) -> None:
        super()._add_one(value, count)
        if len(self._buckets) > self.n and self.digits > 1:
            self.digits -= 1
            old, self._buckets = self._buckets, {}
            for key, c in old.items():
                k = self._key(key)
                self._buckets[k] = self._buckets.get(k, 0) + c
