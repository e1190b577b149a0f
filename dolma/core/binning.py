"""Histogram helpers under Dolma's names (``dolma.core.binning``), for code written against Dolma's analysis tools.

- :func:`cumsum_with_reset`: running sums that restart after each zero.
- :func:`equal_count_hist`: bins holding (about) equal total weight, cut between sorted values.
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


def cumsum_with_reset(arr: Union[Sequence[float], np.ndarray]) -> np.ndarray:
    """Running sums of ``arr`` that restart from zero after every zero: ``[1, 2, 0, 3] → [1, 3, 0, 3]``."""
    values = np.asarray(arr)
    out = np.cumsum(values)
    if values.size == 0:
        return out
    zeros = values == 0
    # subtract, at each position, the running total reached at the last zero before it
    at_zero = np.where(zeros, out, 0)
    return out - np.maximum.accumulate(at_zero)


def equal_count_hist(
    a: Union[Sequence[float], np.ndarray],
    bins: int = 10,
    weights: Optional[Union[Sequence[float], np.ndarray]] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """``(counts, edges)`` of up to ``bins`` bins of about equal total weight (each value weighs 1 by default).

    Values are sorted; bin ``k`` closes at the first value where the running weight reaches ``k/bins`` of the
    total, and an edge lies halfway between the values either side of a cut (the outer edges are the minimum and
    the maximum). Fewer bins come back when heavy values leave nothing to cut.
    """
    values = np.asarray(a, dtype=np.float64)
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    if values.size == 0:
        return np.array([], dtype=w.dtype if weights is not None else np.int64), np.array([], dtype=np.float64)
    order = np.argsort(values, kind="stable")
    values, w = values[order], w[order]
    cum = np.cumsum(w)
    total = cum[-1]
    cuts: List[int] = []
    for k in range(1, bins):
        i = int(np.searchsorted(cum, total * k / bins, side="left"))
        if i < values.size - 1 and (not cuts or i > cuts[-1]):
            cuts.append(i)
    bounds = [0, *(c + 1 for c in cuts), values.size]
    counts = np.array([w[s:e].sum() for s, e in zip(bounds, bounds[1:])])
    if weights is None or np.issubdtype(np.asarray(weights).dtype, np.integer):
        counts = counts.astype(np.int64)
    edges = np.array([values[0], *((values[c] + values[c + 1]) / 2 for c in cuts), values[-1]])
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
