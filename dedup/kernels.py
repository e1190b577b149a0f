"""Dedupe's hot loops in C, when the extension ``dolma.dedup._kernels`` (``dedup/_kernels.c``) was built.

- :func:`xxh3_slices`: the XXH3-64 hashes of many slices of one buffer (paragraphs, n-gram windows, short keys
  joined) in one call, instead of one ``bytes`` object and one ``xxhash`` call per key (~90 ns a key, most of it
  Python; ~9 ns here).
- :func:`bloom_mark`: :meth:`~dolma.dedup.bloom.BloomFilter.mark`'s chunked test-and-set, each probe's byte
  prefetched ahead of its read, instead of numpy's passes over temporaries.
- :func:`first_occurrences`: :func:`~dolma.dedup.bloom.first_occurrences` by one open-addressing table.
- :func:`unit_spans`: the attributes' ``[[s,e,1],...]`` arrays (:func:`~dolma.dedup.attributes.format_unit_spans`)
  printed directly.
- :func:`utf8_join`: the UTF-8 of decoded texts joined straight from the ``str`` objects (an ASCII ``str`` holds its
  UTF-8 already), without a ``bytes`` copy of each from ``str.encode`` (paragraphs).
- :func:`json_text_hashes`: texts hashed from their JSON (``msgspec.Raw``), unescaped and checked on the way, never
  ``str`` objects (documents keyed by their text); what it does not take without a doubt it leaves to msgspec.

Each gives exactly the results of the numpy/xxhash/msgspec code it stands in for (``tests/test_dedupe_kernels.py``
holds them to it: every length class of XXH3, every seed kind, filters small enough to collide, fuzzed JSON strings,
whole runs in every mode). The extension is optional: pip builds it when a C compiler is there, and without it (or
with ``DOLMA_DEDUP_KERNELS=0`` in the environment) dedupe runs that code instead: the same bytes, slower.
"""

from __future__ import annotations

import os
from typing import Any, List, Optional, Tuple

import numpy as np

__all__ = ["ENABLED", "xxh3_slices", "bloom_mark", "first_occurrences", "unit_spans", "utf8_join", "json_text_hashes"]

_native: Optional[Any]
try:
    from dolma.dedup import _kernels as _native
except ImportError:  # installed without a C compiler
    _native = None

ENABLED: bool = _native is not None and os.environ.get("DOLMA_DEDUP_KERNELS", "1") != "0"
"""Whether dedupe uses the C loops (tests switch it off to check the fallback gives the same bytes)."""


def xxh3_slices(buffer: Any, starts: np.ndarray, ends: np.ndarray, seed: int = 0) -> np.ndarray:
    """``xxh3_64(buffer[starts[i]:ends[i]], seed)`` for each ``i``, as uint64 (``buffer``: bytes or any buffer)."""
    assert _native is not None
    out = np.empty(len(starts), dtype=np.uint64)
    _native.xxh3_slices(
        buffer, np.ascontiguousarray(starts, dtype=np.int64), np.ascontiguousarray(ends, dtype=np.int64), seed, out
    )
    return out


def bloom_mark(bits: np.ndarray, m: int, k: int, h1: np.ndarray, insert: bool, chunk: int) -> np.ndarray:
    """Whether each of the distinct keys ``h1`` was in the filter (the uint8 array ``bits`` of ``m`` bits, ``k``
    probes a key) before its chunk of ``chunk`` keys, inserting each chunk's keys after testing them when
    ``insert``: :meth:`~dolma.dedup.bloom.BloomFilter.mark`'s loop over chunks, in one call."""
    assert _native is not None
    found = np.empty(len(h1), dtype=bool)
    _native.bloom_mark(bits, m, k, np.ascontiguousarray(h1, dtype=np.uint64), found, insert, chunk)
    return found


def first_occurrences(h1: np.ndarray, pieces: int) -> np.ndarray:
    """For each key, the index of its value's first occurrence in ``h1`` (int32 below 2**31 keys), by one table, or
    (``pieces`` = 8) by eight tables an eighth the size, one per value of the keys' low 3 bits."""
    assert _native is not None
    out = np.empty(len(h1), dtype=np.int32 if len(h1) < 1 << 31 else np.int64)
    _native.first_occurrences(np.ascontiguousarray(h1, dtype=np.uint64), out, pieces)
    return out


def unit_spans(start: np.ndarray, end: np.ndarray, cuts: np.ndarray) -> List[bytes]:
    """The JSON ``[[s,e,1],...]`` of each group of spans, group ``g`` being rows ``cuts[g]:cuts[g + 1]``."""
    assert _native is not None
    as64 = np.ascontiguousarray
    return _native.unit_spans(as64(start, dtype=np.int64), as64(end, dtype=np.int64), as64(cuts, dtype=np.int64))


def utf8_join(texts: List[str], sep: bytes) -> Tuple[bytes, np.ndarray]:
    """``sep.join(t.encode() for t in texts)`` and ``len(t.encode())`` of each text."""
    assert _native is not None
    sizes = np.empty(len(texts), dtype=np.int64)
    return _native.utf8_join(texts, sep, sizes), sizes


def json_text_hashes(raws: List[Any], seed: int = 0) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For JSON strings ``raws`` (``msgspec.Raw``): ``xxh3_64(text.encode(), seed)``, ``len(text.encode())`` and
    ``len(text)`` of each decoded ``text``; ``None`` when one is not a string whose decoding is beyond doubt (not a
    string, invalid UTF-8...), for the caller to decode them as msgspec does, errors and all."""
    assert _native is not None
    hashes = np.empty(len(raws), dtype=np.uint64)
    sizes = np.empty(len(raws), dtype=np.int64)
    points = np.empty(len(raws), dtype=np.int64)
    refused = _native.json_text_hashes(raws, seed, hashes, sizes, points)
    return None if refused >= 0 else (hashes, sizes, points)
