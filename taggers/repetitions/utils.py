"""Array helpers behind the token-repetition taggers, under Dolma's names (``dolma.taggers.repetitions.utils``).

``find_periodic_sequences`` is how ``tokenizer_repetitions_*`` find repeated token sequences; the other three are
the small boolean-run helpers it is built from, public because Dolma's are.
"""

from __future__ import annotations

from typing import Iterator, List, NamedTuple, Sequence

import numpy as np

__all__ = [
    "PeriodicRun",
    "find_end_first_consecutive_true",
    "find_periodic_sequences",
    "find_start_last_consecutive_true",
    "group_consecutive_values",
]


class PeriodicRun(NamedTuple):
    start: int  # first token
    end: int  # one past the last token
    period: int
    times: int


def find_end_first_consecutive_true(arr: np.ndarray) -> int:
    """One past the end of the run of ``True`` the array starts with (0 when it starts with ``False``)."""
    misses = np.flatnonzero(~np.asarray(arr, dtype=bool))
    return int(misses[0]) if misses.size else len(arr)


def find_start_last_consecutive_true(arr: np.ndarray) -> int:
    """Where the run of ``True`` the array ends with starts (-1 when it ends with ``False`` or is empty)."""
    flags = np.asarray(arr, dtype=bool)
    if not flags.size or not flags[-1]:
        return -1
    return len(flags) - find_end_first_consecutive_true(flags[::-1])


def group_consecutive_values(arr: np.ndarray, stepsize: int = 1) -> List[np.ndarray]:
    """Split a sorted array wherever two neighbours differ by something other than ``stepsize``."""
    values = np.asarray(arr)
    return np.split(values, np.flatnonzero(np.diff(values) != stepsize) + 1)


def find_periodic_sequences(
    arr: Sequence[int], max_period: int, min_period: int = 1, mask_value: int = -1
) -> Iterator[PeriodicRun]:
    """Runs of a sequence of ``period`` values repeated at least 3 times, period by period, as Dolma finds them.

    For each period the values are laid out in rows of ``period`` (the last row padded with ``mask_value``, a full
    row of padding when the length is a multiple of the period), and a row equal to the row above marks a
    repetition. A block of such rows grows backwards by the matching tail of the row above the block's top and
    forwards by the matching head of the row below it; it is kept when it spans more than 2 periods. So repetitions
    are found in steps of whole rows: a run of 2 copies sitting across row boundaries, or of 3 copies that holds no
    full row equal to the one above, is not reported. Periods go from ``min_period`` to
    ``min(max_period, len(arr) // 3)``.
    """
    # 4 bytes a value where they all fit (token ids): a long document has millions of them
    values = np.asarray(arr)
    if not (values.dtype == np.int32 and -(1 << 31) <= mask_value < 1 << 31):
        values = values.astype(np.int64)
        if values.size and -(1 << 31) <= min(int(values.min()), mask_value) and max(int(values.max()), mask_value) < 1 << 31:
            values = values.astype(np.int32)
    n = len(values)
    for period in range(min_period, min(max_period, n // 3) + 1):
        same = _rows_equal_above(values, period, mask_value)
        rows = len(same)
        full = np.flatnonzero(same.all(axis=1))
        if not full.size:
            continue
        for block in group_consecutive_values(full):
            top, bottom = int(block[0]), int(block[-1])
            back = find_end_first_consecutive_true(same[top - 1][::-1])
            back = back if back < period else 0
            forward = find_end_first_consecutive_true(same[bottom + 1]) if bottom + 1 < rows else 0
            start = (top - 1) * period - back
            end = (bottom + 1) * period + forward
            times = (end - start) // period
            if times > 2:
                yield PeriodicRun(start, end, period, times)


def _rows_equal_above(values: np.ndarray, period: int, mask_value: int) -> np.ndarray:
    """For the values laid out in rows of ``period`` (the last row padded with ``mask_value``), each row compared
    with the one above it, row 0 with the last row: a (rows, period) array of bools, computed from the values
    themselves (an element and the one ``period`` before it) without a padded copy of them."""
    n = len(values)
    rows = n // period + 1
    size = rows * period
    last = size - period  # where the last row starts: n - period < last <= n
    same = np.empty(size, dtype=bool)
    np.equal(values[period:], values[:-period], out=same[period:n])
    np.equal(values[n - period : last], mask_value, out=same[n:])  # padding under the row above's values
    real = n - last  # values in the last row
    np.equal(values[:real], values[last:], out=same[:real])
    np.equal(values[real:period], mask_value, out=same[real:period])  # row 0 against the last row's padding
    return same.reshape(rows, period)
