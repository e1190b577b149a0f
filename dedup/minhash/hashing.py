"""Vectorised 64-bit hashing for MinHash: words and tokens to shingle hashes, shingles to signatures, signatures to
band keys. Everything here is numpy over whole batches of documents; no Python loop runs per word or per shingle.

Text normalisation (word shingles): the text is lowercased, and every run of characters that are not letters or
digits (punctuation, symbols, whitespace, ``_``) becomes one space; the words are what remains between spaces.

Hash families, all arithmetic in uint64 modulo 2**64 (numpy wraps):

- a word's hash is a polynomial hash of its UTF-8 bytes, computed for all words of a batch at once from prefix sums
  (the base is odd, hence invertible modulo 2**64), then finalised with SplitMix64 together with its length;
- a shingle's hash folds its n word (or token) hashes in order: ``acc = mix(acc ^ w_j)``;
- signature row ``i`` is ``min over shingles x of (a_i * x + b_i) mod 2**64``, top 32 bits kept: multiply-add-shift
  hashing (Dietzfelbinger), a 2-universal family, with ``a_i`` odd and ``a_i, b_i`` drawn from the config's seed;
- a band key folds the band's ``rows_per_band`` values and the band's index with SplitMix64.
"""

from __future__ import annotations

import re
from typing import List, Sequence, Tuple

import numpy as np

__all__ = [
    "normalise",
    "normalised_bytes",
    "word_hashes",
    "token_hashes",
    "shingle_hashes",
    "distinct",
    "Permutations",
    "band_keys",
    "mix64",
    "s_curve",
    "threshold_at",
]

_NOT_WORD = re.compile(r"[\W_]+")
_BASE = np.uint64(0x100000001B3)  # odd: invertible modulo 2**64
_BASE_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_LEN_MULT = np.uint64(0x9E3779B97F4A7C15)
_SPACE = ord(" ")


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, elementwise: a bijection of uint64 that spreads every input bit."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def normalise(text: str) -> str:
    """Lowercase; runs of non-alphanumeric characters become one space (see the module's description)."""
    return _NOT_WORD.sub(" ", text.lower()).strip()


# `normalise` less the collapsing of spaces (word boundaries make it unnecessary), faster: ASCII characters go
# through a byte translation (for ASCII, Unicode's letters and digits are [A-Za-z0-9]), and a regex replaces only
# the non-ASCII characters that are not letters or digits, which are rare
_ASCII = bytes(c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122 or c >= 128) else 32 for c in range(256))
_NON_ASCII_NOT_WORD = re.compile(r"[^\w\x00-\x7f]+")


def normalised_bytes(text: str) -> bytes:
    """The UTF-8 bytes of :func:`normalise` (``text``), except that spaces may repeat."""
    if text.isascii():
        return text.encode().translate(_ASCII)
    return _NON_ASCII_NOT_WORD.sub(" ", text.lower()).encode().translate(_ASCII)


def word_hashes(texts: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
    """The hashes of the normalised words of ``texts`` in order, and the number of words of each text."""
    parts = [normalised_bytes(t) for t in texts]
    lengths = np.fromiter((len(p) + 1 for p in parts), dtype=np.int64, count=len(parts))
    blob = b" ".join(parts) + b" "
    data = np.frombuffer(blob, dtype=np.uint8)
    n = len(data)
    is_space = data == _SPACE
    # word boundaries: a word starts after a space (or at 0) and ends at the next space
    ends = np.flatnonzero(is_space)
    starts = np.empty_like(ends)
    starts[0:1] = 0
    starts[1:] = ends[:-1] + 1
    real = ends > starts  # runs of spaces and empty texts leave empty words
    starts, ends = starts[real], ends[real]
    text_end = np.cumsum(lengths)
    counts = np.bincount(np.searchsorted(text_end, starts, side="right"), minlength=len(parts)).astype(np.int64)
    with np.errstate(over="ignore"):
        powers_inv = np.empty(n, dtype=np.uint64)
        powers_inv[0] = 1
        powers_inv[1:] = _BASE_INV
        np.cumprod(powers_inv, out=powers_inv)
        prefix = np.cumsum(data.astype(np.uint64) * powers_inv, dtype=np.uint64)
        powers = np.empty(n, dtype=np.uint64)
        powers[0] = 1
        powers[1:] = _BASE
        np.cumprod(powers, out=powers)
        last = ends - 1
        before = np.where(starts > 0, prefix[np.maximum(starts - 1, 0)], np.uint64(0))
        poly = (prefix[last] - before) * powers[last]  # sum of byte_j * BASE**(last - j)
        hashes = mix64(poly ^ ((ends - starts).astype(np.uint64) * _LEN_MULT))
    return hashes, counts


def token_hashes(ids: List[List[int]]) -> Tuple[np.ndarray, np.ndarray]:
    """Hashes of tokenizer ids (mixed, so that small ids spread), and the number of tokens of each text."""
    counts = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter((t for x in ids for t in x), dtype=np.uint64, count=int(counts.sum()))
    return mix64(flat + _LEN_MULT), counts


def shingle_hashes(hashes: np.ndarray, counts: np.ndarray, n: int) -> Tuple[np.ndarray, np.ndarray]:
    """The n-gram shingles of each text in order, as ``(flat uint64 hashes, shingles per text)``: text ``i`` with
    ``counts[i]`` units has ``counts[i] - n + 1`` n-grams, one shingle of all its units when it has fewer than
    ``n`` (but at least one), none when it has none. A text's shingles may repeat (see :func:`distinct`)."""
    docs = len(counts)
    total = int(counts.sum())
    starts = np.zeros(docs + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    doc_of = np.repeat(np.arange(docs, dtype=np.int64), counts)
    remaining = counts[doc_of] - (np.arange(total, dtype=np.int64) - starts[doc_of])
    padded = np.concatenate([hashes.astype(np.uint64), np.zeros(n, dtype=np.uint64)])
    short = np.flatnonzero((counts > 0) & (counts < n))
    short_hash = np.zeros(len(short), dtype=np.uint64)
    acc = np.zeros(total, dtype=np.uint64)
    for j in range(n):
        acc = mix64(acc ^ padded[j : j + total])
        done = counts[short] == j + 1  # a text shorter than n folds only its own units
        short_hash[done] = acc[starts[short[done]]]
    full = remaining >= n
    per_doc = np.maximum(counts - n + 1, 0)
    per_doc[short] = 1
    out = acc.copy()
    out[starts[short]] = short_hash
    keep = full.copy()
    keep[starts[short]] = True
    return out[keep], per_doc


def distinct(shingles: np.ndarray) -> np.ndarray:
    """A text's shingles as a sorted set."""
    s = np.sort(shingles)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


class Permutations:
    """The ``count`` hash functions of a signature, drawn from ``seed``."""

    def __init__(self, count: int, seed: int) -> None:
        rng = np.random.Generator(np.random.PCG64(seed))
        self.a = rng.integers(0, 1 << 63, size=count, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.b = rng.integers(0, np.iinfo(np.uint64).max, size=count, dtype=np.uint64, endpoint=True)

    def signatures(self, shingles: np.ndarray, per_doc: np.ndarray, chunk_elements: int = 1 << 20) -> np.ndarray:
        """``(documents with shingles, count)`` uint32 minima; documents with no shingle are left out. Computed
        as ``(count, shingles)`` blocks of about ``chunk_elements`` (cache-sized), reduced along the shingles."""
        present = per_doc > 0
        counts = per_doc[present]
        out = np.empty((len(self.a), len(counts)), dtype=np.uint64)
        bounds = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=bounds[1:])
        a, b = self.a[:, None], self.b[:, None]
        width = max(1, len(self.a))
        first = 0
        while first < len(counts):
            # as many whole documents as fit the chunk (at least one)
            limit = bounds[first] + max(chunk_elements // width, 1)
            last = max(int(np.searchsorted(bounds, limit, side="right")) - 1, first + 1)
            rows = shingles[bounds[first] : bounds[last]]
            with np.errstate(over="ignore"):
                values = np.multiply(a, rows[None, :])
                values += b
            out[:, first:last] = np.minimum.reduceat(values, bounds[first:last] - bounds[first], axis=1)
            first = last
        return (out.T >> np.uint64(32)).astype(np.uint32)


def band_keys(signatures: np.ndarray, bands: int, rows: int, seed: int) -> np.ndarray:
    """``(documents, bands)`` uint64 keys: equal keys ⇔ (up to hash collisions) equal bands of the same index."""
    sig = signatures[:, : bands * rows].reshape(len(signatures), bands, rows).astype(np.uint64)
    acc = np.broadcast_to(mix64(np.arange(bands, dtype=np.uint64) + np.uint64(seed)), sig.shape[:2]).copy()
    for r in range(rows):
        acc = mix64(acc ^ sig[:, :, r])
    return acc


def s_curve(similarity: float, bands: int, rows: int) -> float:
    """Probability that two documents of this Jaccard similarity share at least one band."""
    return 1.0 - (1.0 - similarity**rows) ** bands


def threshold_at(probability: float, bands: int, rows: int) -> float:
    """The similarity at which a pair is found with ``probability``."""
    return (1.0 - (1.0 - probability) ** (1.0 / bands)) ** (1.0 / rows)
