"""A Bloom filter whose bits can live in shared memory, hashed with xxhash and probed with numpy in batches.

Keys are hashed once to 64 bits with xxh3 (:func:`hash_keys`, run in parallel by the workers); the filter only
sees those hashes. Bit positions use double hashing: ``h1`` is the key's ``xxh3_64`` (with the file's seed) and ``h2``
is ``splitmix64(h1)`` (the finaliser of Steele et al.: ``z ^= z >> 30; z *= 0xbf58476d1ce4e5b9; z ^= z >> 27;
z *= 0x94d049bb133111eb; z ^= z >> 31``) forced odd; probe ``i`` (``0 <= i < k``) is ``g = h1 + i*h2 mod 2**64`` and
its bit is ``min(floor(float64(g >> 11) * (m / 2**53)), m - 1)``, so any ``m`` works without a modulo (and the size
stays what the false positive rate asks for, not a power of two). One 64-bit hash per key is enough: two distinct
keys share all their probes only when their ``xxh3_64`` collide (about ``n / 2**64``, far below any useful rate),
and it is about three times cheaper to compute and collect than a 128-bit digest.

File format (version 2), all integers little-endian::

    offset size  field
    0      8     magic b"DOLMABLM"
    8      4     format version (2; version 1 hashed keys with xxh3_128 and is refused with a clear error)
    12     4     k, the number of hash probes per key
    16     8     m, the number of bits (a multiple of 64)
    24     8     seed given to xxh3_64
    32     16    hash function name, ASCII, NUL-padded: b"xxh3_64"
    48     16    reserved, zero
    64     m/8   the bits: bit j is bit (j & 7) of byte (j >> 3)
"""

from __future__ import annotations

import itertools
import math
import struct
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Tuple

import numpy as np
import xxhash

from dolma.core import io as dio
from dolma.core.errors import ConfigError
from dolma.dedup import kernels

__all__ = [
    "BloomParams",
    "BloomFilter",
    "hash_keys",
    "key_hashes",
    "hash_slices",
    "with_h2",
    "fill_false_positive_rate",
    "inserted_keys",
    "expected_false_positives",
    "suggested_count",
    "HEADER_SIZE",
    "MAGIC",
]

MAGIC = b"DOLMABLM"
VERSION = 2
HASH_NAME = b"xxh3_64"
HEADER_SIZE = 64
_HEADER = struct.Struct("<8sIIQQ16s16x")
_DEFAULT_K = 7  # when only a size is given: optimal for ~10 bits per key (about 1% false positives)
_COPY_CHUNK = 1 << 26
CHUNK = 1 << 10  # distinct keys probed together: their positions stay in the CPU cache
_BLOCK = 16 * CHUNK  # distinct keys whose positions are computed together (~1.7 MB of them at k = 13)


@dataclass(frozen=True)
class BloomParams:
    m: int  # bits
    k: int  # probes per key
    seed: int = 0

    @property
    def nbytes(self) -> int:
        return self.m // 8

    @staticmethod
    def sized(
        size_in_bytes: int = 0, estimated_count: int = 0, false_positive_rate: float = 0.0, seed: int = 0
    ) -> Optional["BloomParams"]:
        """Parameters from an explicit size or from a count and a rate; ``None`` when neither is given."""
        if size_in_bytes < 0 or estimated_count < 0:
            raise ConfigError("`bloom_filter`: sizes and counts cannot be negative")
        if size_in_bytes > 0:
            m = max(64, (size_in_bytes * 8) // 64 * 64)
        elif estimated_count > 0 and false_positive_rate > 0:
            if not 0 < false_positive_rate < 1:
                raise ConfigError(
                    f"`bloom_filter.desired_false_positive_rate`: expected a number between 0 and 1, got {false_positive_rate}"
                )
            bits = -estimated_count * math.log(false_positive_rate) / (math.log(2) ** 2)
            m = max(64, math.ceil(bits / 64) * 64)
        else:
            return None
        k = max(1, round(m / estimated_count * math.log(2))) if estimated_count > 0 else _DEFAULT_K
        return BloomParams(m=m, k=k, seed=seed)

    def header(self) -> bytes:
        return _HEADER.pack(MAGIC, VERSION, self.k, self.m, self.seed, HASH_NAME)

    @staticmethod
    def from_header(data: bytes, path: str) -> "BloomParams":
        if len(data) < HEADER_SIZE or data[:8] != MAGIC:
            raise ConfigError(f"{path}: not a Bloom filter file of this toolkit (bad magic bytes)")
        magic, version, k, m, seed, name = _HEADER.unpack(data[:HEADER_SIZE])
        name = name.rstrip(b"\0")
        if version != VERSION:
            raise ConfigError(
                f"{path}: Bloom filter format version {version} (keys hashed with {name.decode(errors='replace')}); "
                f"this version reads only version {VERSION} (xxh3_64): rebuild the filter from its documents"
            )
        if name != HASH_NAME:
            raise ConfigError(f"{path}: Bloom filter hashed with {name.decode(errors='replace')!r}, not xxh3_64")
        if k < 1 or m < 64 or m % 64:
            raise ConfigError(f"{path}: corrupt Bloom filter header (m={m}, k={k})")
        return BloomParams(m=m, k=k, seed=seed)


def hash_keys(keys: Sequence[bytes], seed: int = 0, wide: bool = False) -> np.ndarray:
    """The ``(n, 2)`` uint64 array of ``h1 = xxh3_64(key)`` and ``h2 = splitmix64(h1)`` for each key; ``wide``:
    the two halves of ``xxh3_128(key)`` instead (128 bits that tell keys apart, for exact dedupe)."""
    hashes = key_hashes(keys, seed, wide)
    return hashes if wide else with_h2(hashes)


def key_hashes(keys: Sequence[bytes], seed: int = 0, wide: bool = False) -> np.ndarray:
    """What dedupe keeps of each key: its ``h1`` (a Bloom filter derives ``h2`` from it when probing), or with
    ``wide`` the ``(n, 2)`` halves of its ``xxh3_128``."""
    if wide:
        return _wide(_hashed(xxhash.xxh3_128_digest, keys, seed), len(keys))
    if kernels.ENABLED and len(keys) > _JOIN_FROM:
        ends = np.cumsum(np.fromiter(map(len, keys), dtype=np.int64, count=len(keys)))
        if ends[-1] <= _JOIN_BYTES * len(keys):  # short keys: copying them together beats a Python call per key
            return kernels.xxh3_slices(b"".join(keys), np.concatenate(([0], ends[:-1])), ends, seed)
    return np.fromiter(_hashed(xxhash.xxh3_64_intdigest, keys, seed), dtype=np.uint64, count=len(keys))


_JOIN_FROM = 16
_JOIN_BYTES = 512  # a call costs about what copying this many bytes does


def hash_slices(buffer: bytes, starts: np.ndarray, ends: np.ndarray, seed: int = 0, wide: bool = False) -> np.ndarray:
    """:func:`key_hashes` of the keys ``buffer[starts[i]:ends[i]]``, sliced and hashed in C (no Python loop)."""
    if kernels.ENABLED and not wide:
        return kernels.xxh3_slices(buffer, starts, ends, seed)
    keys = map(buffer.__getitem__, map(slice, starts.tolist(), ends.tolist()))
    if wide:
        return _wide(_hashed(xxhash.xxh3_128_digest, keys, seed), len(starts))
    return np.fromiter(_hashed(xxhash.xxh3_64_intdigest, keys, seed), dtype=np.uint64, count=len(starts))


def _hashed(function: Callable[..., Any], keys: Iterable[bytes], seed: int) -> Iterator[Any]:
    """``function(key, seed)`` for each key, in C. The seed goes positionally: as a keyword (``functools.partial``)
    it costs a dict per call, 2.5 times the hash of a 40-byte key."""
    return map(function, keys, itertools.repeat(seed)) if seed else map(function, keys)


def _wide(digests: Any, n: int) -> np.ndarray:
    out = np.frombuffer(b"".join(digests), dtype=">u8").reshape(n, 2).astype(np.uint64)
    return out


def with_h2(h1: np.ndarray) -> np.ndarray:
    """The ``(n, 2)`` keys ``h1, splitmix64(h1)`` of 64-bit hashes ``h1``."""
    out = np.empty((len(h1), 2), dtype=np.uint64)
    out[:, 0] = h1
    z = out[:, 1]
    z[:] = h1
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return out


class BloomFilter:
    """The bits of one filter over any writable buffer of ``params.nbytes`` bytes (shared memory or not)."""

    def __init__(self, params: BloomParams, buffer: Any) -> None:
        self.params = params
        self.bits = np.frombuffer(buffer, dtype=np.uint8, count=params.nbytes)
        self._scale = params.m / float(1 << 53)
        self._steps = np.arange(params.k, dtype=np.uint64)

    @classmethod
    def in_memory(cls, params: BloomParams) -> "BloomFilter":
        return cls(params, bytearray(params.nbytes))

    def positions(self, hashes: np.ndarray) -> np.ndarray:
        """The ``(n, k)`` bit positions of ``n`` hashed keys."""
        g = np.multiply(hashes[:, 1:2] | np.uint64(1), self._steps[None, :])
        g += hashes[:, 0:1]  # wraps mod 2**64
        g >>= np.uint64(11)
        x = np.multiply(g, self._scale)  # uint64 -> float64 in the same pass
        pos = x.astype(np.int64)
        np.minimum(pos, self.params.m - 1, out=pos)
        return pos

    def test_and_set(self, hashes: np.ndarray, insert: bool = True) -> np.ndarray:
        """For each key in order: was it seen before? Inserts the keys when ``insert`` (see :meth:`mark`)."""
        return self.mark(hashes, insert)[0]

    def mark(self, hashes: np.ndarray, insert: bool = True) -> Tuple[np.ndarray, int]:
        """For each key in order: was it seen before? And how many distinct keys there were. Inserts the keys
        when ``insert``.

        The distinct keys are probed once each, in the order of their first occurrences, in chunks of ``CHUNK``
        (cache-sized numpy work): a key is seen when all its bits were set before its chunk; its later occurrences are seen when ``insert``
        (its first occurrence put it in the filter) and otherwise get its first occurrence's answer. The result
        depends only on the keys and their order, never on how the work is split between processes.

        ``hashes`` may also be the ``h1`` column alone: each chunk's ``h2`` is then derived (:func:`with_h2`), which
        spares 16 bytes a key of memory."""
        n = len(hashes)
        if n == 0:
            return np.zeros(0, dtype=bool), 0
        h1 = hashes if hashes.ndim == 1 else hashes[:, 0]
        first_of = first_occurrences(h1)
        first = np.flatnonzero(first_of == np.arange(n, dtype=first_of.dtype))
        distinct = h1[first]
        if kernels.ENABLED:
            found = kernels.bloom_mark(self.bits, self.params.m, self.params.k, distinct, insert, CHUNK)
        else:
            found = self._mark_chunks(distinct, insert)
        if insert:  # a key's later occurrences were put in the filter by its first
            seen = np.ones(n, dtype=bool)
            seen[first] = found
        else:
            answer = np.zeros(n, dtype=bool)
            answer[first] = found
            seen = answer[first_of]
        return seen, len(first)

    def _mark_chunks(self, distinct: np.ndarray, insert: bool) -> np.ndarray:
        """:meth:`mark`'s test-and-set of distinct keys in numpy, a chunk at a time (what the C loop does)."""
        found = np.empty(len(distinct), dtype=bool)
        k = self.params.k
        for block in range(0, len(distinct), _BLOCK):  # positions a block of chunks at a time: fewer numpy calls
            pos = self.positions(with_h2(distinct[block : block + _BLOCK])).ravel()
            bytes_ = pos >> 3
            masks = np.left_shift(np.uint8(1), (pos & 7).astype(np.uint8))
            for start in range(block, min(block + _BLOCK, len(distinct)), CHUNK):
                byte = bytes_[(start - block) * k : (start - block + CHUNK) * k]
                mask = masks[(start - block) * k : (start - block + CHUNK) * k]
                values = self.bits[byte]
                found[start : start + CHUNK] = (values & mask).reshape(-1, k).all(axis=1)
                if insert:
                    values |= mask
                    self._set(byte, mask, values)
        return found

    def _set(self, byte: np.ndarray, mask: np.ndarray, values: np.ndarray) -> None:
        """Set the bits ``mask`` of the bytes ``byte``, whose new values are ``values`` (their values as read, with
        the bit set): one scatter. Where a byte repeats, only one of its writes lands: the bits that others meant to
        set are set again until none is missing (much faster than np.bitwise_or.at, and rarely two rounds)."""
        bits = self.bits
        bits[byte] = values
        missing = np.flatnonzero((bits[byte] & mask) == 0)  # a few of a chunk's thousands of probes, if any
        byte, mask = byte[missing], mask[missing]
        while len(byte):
            bits[byte] |= mask
            missing = (bits[byte] & mask) == 0
            byte, mask = byte[missing], mask[missing]

    def fill_ratio(self) -> float:
        words = self.bits.view(np.uint64)  # m is a multiple of 64
        if hasattr(np, "bitwise_count"):  # numpy >= 2.0
            return int(np.bitwise_count(words).sum(dtype=np.int64)) / self.params.m
        return float(np.unpackbits(self.bits).mean()) if self.params.m <= (1 << 27) else _sampled_fill(self.bits)

    # --- files ------------------------------------------------------------------------------------------------

    @staticmethod
    def read_params(path: str) -> BloomParams:
        with dio.open_read(path) as f:
            return BloomParams.from_header(f.read(HEADER_SIZE), path)

    def load(self, path: str) -> None:
        """Fill the bits from ``path``, whose header must match this filter's parameters."""
        with dio.open_read(path) as f:
            found = BloomParams.from_header(f.read(HEADER_SIZE), path)
            if found != self.params:
                raise ConfigError(f"{path}: {describe(found)}, but the config asks for {describe(self.params)}")
            view = memoryview(self.bits)
            done = 0
            while done < self.params.nbytes:
                n = f.readinto(view[done : done + _COPY_CHUNK])  # type: ignore[attr-defined]
                if not n:
                    raise ConfigError(f"{path}: Bloom filter file is truncated ({done} of {self.params.nbytes} bytes of bits)")
                done += n

    def save(self, path: str) -> dio.AtomicWriter:
        """Write the filter atomically; the committed writer tells its size and checksum."""
        with dio.AtomicWriter(path, direct=True) as w:  # written once, read back by a later run at most
            w.write(self.params.header())
            view = memoryview(self.bits)
            for start in range(0, self.params.nbytes, _COPY_CHUNK):
                w.write(view[start : start + _COPY_CHUNK])
        return w


def fill_false_positive_rate(fill: float, k: int) -> float:
    """The chance that a key never inserted finds all its ``k`` bits set, in a filter with a fraction ``fill`` of
    its bits set: ``fill ** k``."""
    return float(fill) ** k


def inserted_keys(fill: float, params: BloomParams) -> int:
    """The number of distinct keys that set a fraction ``fill`` of the bits (Swamidass & Baldi's estimate,
    ``-m/k * ln(1 - fill)``); exact to within a few per cent for any filter not nearly full."""
    if fill >= 1.0:
        fill = 1.0 - 1.0 / params.m
    return int(round(-params.m / params.k * math.log1p(-fill)))


def expected_false_positives(before: int, after: int, params: BloomParams) -> float:
    """How many of the distinct keys inserted while a filter went from ``before`` to ``after`` keys were probably
    taken for duplicates they were not: the sum of each new key's false positive rate when it came,
    ``(1 - exp(-k j / m)) ** k`` for ``j`` from ``before`` to ``after`` (integrated numerically)."""
    if after <= before:
        return 0.0
    j = np.linspace(before, after, 1025)
    rate = (-np.expm1(-params.k * j / params.m)) ** params.k
    return float(np.trapezoid(rate, j) if hasattr(np, "trapezoid") else np.trapz(rate, j))


def suggested_count(keys: int) -> int:
    """A count for `estimated_doc_count` with room to grow: ``keys`` plus a quarter, rounded up to 2 digits."""
    want = max(1, math.ceil(keys * 1.25))
    step = 10 ** max(0, len(str(want)) - 2)
    return -(-want // step) * step


def describe(p: BloomParams) -> str:
    return f"m={p.m:,} bits ({p.nbytes:,} bytes), k={p.k}, seed={p.seed}"


# odd multipliers that scatter the hashes over a round's table differently each round (the first takes the top bits)
_ROUND_MULTIPLIERS = (1, 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)


def first_occurrences(h1: np.ndarray) -> np.ndarray:
    """For each key, the index of its key's first occurrence (``h1[f[i]] == h1[i]``, ``f[i] <= i``); keys are told
    apart by ``h1`` alone, since :func:`hash_keys` derives ``h2`` from it.

    A hash table in numpy, in O(n) instead of a sort: each key's slot (``n`` to ``2n`` slots, from its hash's top
    bits) gets the index of the slot's first key, written in reverse so that the first write wins; a key whose slot
    went to another key tries again in a new, smaller table with other bits of its hash. All copies of a key share
    their slots, so a round resolves them together. Over a million keys, the keys are split by their hash's low 3
    bits (equal keys share them) and each eighth gets its own table: an eighth of the memory at a time."""
    n = len(h1)
    if kernels.ENABLED:
        return kernels.first_occurrences(h1, 1 if n <= _PIECE else 8)
    if n <= _PIECE:
        return _first_occurrences(h1)
    first = np.empty(n, dtype=np.int32 if n < 1 << 31 else np.int64)
    low = (h1 & np.uint64(7)).astype(np.uint8)
    for group in range(8):
        where = np.flatnonzero(low == group)
        if len(where):
            first[where] = where[_first_occurrences(h1[where])]
    return first


def _first_occurrences(h1: np.ndarray) -> np.ndarray:
    """:func:`first_occurrences` by one table (and its rounds)."""
    n = len(h1)
    index = np.int32 if n < 1 << 31 else np.int64  # 32-bit indices: half the memory and the table's cache footprint
    first: np.ndarray = np.zeros(0, dtype=index)
    todo: Optional[np.ndarray] = None  # the keys still unresolved (None: all of them, in the first round)
    keys = h1
    for multiplier in _ROUND_MULTIPLIERS:
        t = len(keys)
        if not t:
            return first
        bits = max(4, (t - 1).bit_length())  # t to 2t slots: a fuller table, some more rounds, half the memory
        slot = np.empty(t, dtype=index)
        for a in range(0, t, _PIECE):  # in pieces: no 64-bit temporary the size of the keys
            slot[a : a + _PIECE] = (keys[a : a + _PIECE] * np.uint64(multiplier)) >> np.uint64(64 - bits)
        local = np.arange(t, dtype=index)
        table = np.empty(1 << bits, dtype=index)
        table[slot[::-1]] = local[::-1]  # a repeated slot keeps its last write: the earliest key
        owner = table[slot]
        same = _same_key(keys, owner)
        if not np.all(owner[same] <= local[same]):  # numpy left a repeated index's order unspecified: be exact
            table.fill(t)
            np.minimum.at(table, slot, local)
            owner = table[slot]
            same = _same_key(keys, owner)
        del table, slot, local
        if todo is None:  # the first round's owners are the answer for the keys it resolved
            first = owner
            todo = np.flatnonzero(~same).astype(index)
        else:
            first[todo[same]] = todo[owner[same]]
            todo = todo[~same]
        keys = h1[todo]
    if todo is not None and len(todo):  # keys whose slots collided in every round (practically never): sort them
        order = np.argsort(keys, kind="stable")
        s = keys[order]
        new = np.ones(len(s), dtype=bool)
        np.not_equal(s[1:], s[:-1], out=new[1:])
        run_start = np.maximum.accumulate(np.where(new, np.arange(len(s)), 0))
        first[todo[order]] = todo[order[run_start]]
    return first


_PIECE = 1 << 20


def _same_key(keys: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """``keys[owner] == keys``, a piece at a time (no gathered copy of all the keys)."""
    same = np.empty(len(keys), dtype=bool)
    for a in range(0, len(keys), _PIECE):
        np.equal(keys[owner[a : a + _PIECE]], keys[a : a + _PIECE], out=same[a : a + _PIECE])
    return same


def _sampled_fill(bits: np.ndarray, samples: int = 1 << 22) -> float:
    idx = np.linspace(0, len(bits) - 1, num=min(samples, len(bits)), dtype=np.int64)
    return float(np.unpackbits(bits[idx]).mean())
