"""Which items of a very long sequence repeat, from one 64-bit hash per item, in bounded memory.

A document of hundreds of MB has tens of millions of words, n-grams and lines. Counting them with
``np.unique(..., return_inverse=True)`` holds several arrays of eight bytes per item at once (the keys, the
sort's permutation, the sorted copy, the inverse, the counts), for every distinct-count question: over ten times
the text's size. Here the hashes are produced a chunk at a time by a callable that can replay them, each with a
payload (its position, its length), and put in order one partition of the hash range at a time: a partition's
hashes and payloads, sorted together, answer "which items repeat, and how long are they" and "which item is the
earliest of the most common ones" without a second look-up. The partition count is the caller's, from a budget
(:data:`BYTES_PER_HASH` per item of a partition).

N-gram hashes come from the words' ids (:mod:`dolma.taggers.word_ids`). Two different items with the same
64-bit hash would count as equal: with ``m`` distinct items the odds of any such pair are about
``m**2 / 2**65`` (ten million distinct n-grams: about 1 in 400,000 per order and document).
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, List, Tuple

import numpy as np

from dolma.core.longlines import release_free_memory

__all__ = [
    "HashChunks",
    "BYTES_PER_HASH",
    "most_common",
    "partition_count",
    "repeated",
    "sorted_partitions",
    "word_hashes",
]

# replays a sequence's items, in order, a chunk at a time: ``(hashes, payloads)``, one number of the caller's
# choosing per item (its position, its length) that the counting carries along with the item's hash
HashChunks = Callable[[], Iterable[Tuple["np.ndarray", "np.ndarray"]]]

# the most that counting one item of a partition holds at once: its hash and payload while they are put in order
# (the sort's permutation, the old and new arrays: 32 bytes), or, in order, with its run's start and count (33)
BYTES_PER_HASH = 33

_U64 = np.uint64


def word_hashes(words: List[str]) -> "np.ndarray":
    """Python's string hash of each word, as unsigned 64-bit numbers (equal words, equal hashes)."""
    return np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(_U64)


def partition_count(total: int, per_partition: int) -> int:
    """How many partitions ``total`` hashes are counted in so that none holds much over ``per_partition``."""
    return max(1, -(-total // max(per_partition, 1)))


def _partition_of(hashes: "np.ndarray", parts: int) -> "np.ndarray":
    """The partition (``0..parts-1``) of each hash, from its high 32 bits (the well-mixed ones)."""
    out = hashes >> _U64(32)
    out *= _U64(parts)
    out >>= _U64(32)
    return out


def sorted_partitions(
    chunks: HashChunks, total: int, parts: int, payload: "np.dtype"
) -> Iterator[Tuple["np.ndarray", "np.ndarray"]]:
    """``(hashes, payloads)`` of the items of each partition in turn, ordered by hash; items with equal hashes
    keep the sequence's order. ``total`` bounds the number of items; ``payload`` is the payloads' type.

    With one partition the chunks are replayed once; with more, once to size the partitions and once per
    partition. Only one partition's arrays exist at a time (the caller drops them before asking for the next).
    """
    sizes = np.array([total])
    if parts > 1:
        sizes = np.zeros(parts, dtype=np.int64)
        for hashes, _ in chunks():
            sizes += np.bincount(_partition_of(hashes, parts), minlength=parts)
    for part in range(parts):
        keys = np.empty(int(sizes[part]), dtype=_U64)
        values = np.empty(len(keys), dtype=payload)
        filled = 0
        for hashes, payloads in chunks():
            if parts > 1:
                mine = _partition_of(hashes, parts) == part
                hashes, payloads = hashes[mine], payloads[mine]
            keys[filled : filled + len(hashes)] = hashes
            values[filled : filled + len(hashes)] = payloads
            filled += len(hashes)
        order = np.argsort(keys[:filled], kind="stable")
        keys = keys[order]
        values = values[order]
        del order
        yield keys, values
        del keys, values
        release_free_memory()  # (partitions differ in size: the heap would otherwise grow around the old ones)


def repeated(sorted_hashes: "np.ndarray") -> "np.ndarray":
    """Which items of ``sorted_hashes`` have a hash that occurs more than once."""
    out = np.zeros(len(sorted_hashes), dtype=bool)
    same = sorted_hashes[1:] == sorted_hashes[:-1]  # as the item before
    out[1:] = same
    out[:-1] |= same
    return out


def most_common(sorted_hashes: "np.ndarray") -> Tuple[int, "np.ndarray"]:
    """The highest count of a hash in ``sorted_hashes`` and the index of the first item of each hash with it."""
    n = len(sorted_hashes)
    if n == 0:
        return 0, np.zeros(0, dtype=np.int64)
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(sorted_hashes[1:], sorted_hashes[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    del new
    counts = np.diff(starts, append=n)
    top = int(counts.max())
    return top, starts[counts == top]
