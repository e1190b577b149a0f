"""Word n-gram hashes of many texts at once, in numpy: the hot path of the index and of the tagger.

A word is a run of letters, digits and ``_`` (``str.isalnum`` on the Basic Multilingual Plane), compared
lower-case; everything else (spaces, punctuation, symbols) separates words, so whitespace and punctuation edits do
not change a text's n-grams. Code points above the BMP separate words too. A word's hash is a polynomial hash of its
lower-cased code points mixed by splitmix64; an n-gram's hash mixes its words' hashes, each with the multiplier of
its place. All of it is vectorised over the batch: the texts are joined with a separator, and n-grams that would
span two texts are dropped. Every number is fixed, so hashes are the same on every machine (``HASH_VERSION``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

__all__ = ["HASH_VERSION", "Grams", "grams", "word_count"]

HASH_VERSION = 1

_BMP = 0x10000
_BASE = np.uint64(0x100000001B3)  # odd, so invertible modulo 2**64
_BASE_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
# one odd multiplier per place in an n-gram (up to 16 words)
_PLACE = np.array([(0x9E3779B97F4A7C15 * (2 * i + 1)) & 0xFFFFFFFFFFFFFFFF | 1 for i in range(16)], dtype=np.uint64)


def _tables() -> tuple[np.ndarray, np.ndarray]:
    chars = [chr(c) for c in range(_BMP)]
    is_word = np.fromiter((c.isalnum() or c == "_" for c in chars), dtype=bool, count=_BMP)
    is_word[0xD800:0xE000] = False  # surrogates
    lower = np.fromiter(((ord(lo) if len(lo := c.lower()) == 1 else ord(c)) for c in chars), dtype=np.uint64, count=_BMP)
    is_word[_BMP - 1] = False  # U+FFFF stands for every code point above the BMP (see _codepoints)
    return is_word, lower


_IS_WORD, _LOWER = _tables()


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place on a uint64 array."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


_POWERS: List[np.ndarray] = [np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64)]


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """BASE**i and BASE**-i modulo 2**64 for i < n (grown and kept per process)."""
    have = len(_POWERS[0])
    if have < n:
        size = max(n, 2 * have)
        with np.errstate(over="ignore"):
            _POWERS[0] = np.cumprod(np.concatenate([[np.uint64(1)], np.full(size - 1, _BASE)]), dtype=np.uint64)
            _POWERS[1] = np.cumprod(np.concatenate([[np.uint64(1)], np.full(size - 1, _BASE_INV)]), dtype=np.uint64)
    return _POWERS[0][:n], _POWERS[1][:n]


@dataclass
class Grams:
    """The n-grams of a batch of texts. Words are numbered across the batch; n-gram ``j`` is words ``j..j+n-1``."""

    n: int
    doc_first_word: np.ndarray  # int64 [docs + 1]: the first word of each text (and the total at the end)
    word_start: np.ndarray  # int64 [words]: code point offset of each word in its own text
    word_end: np.ndarray  # int64 [words]
    hashes: np.ndarray  # uint64 [words]: hash of the n-gram starting at each word (valid where ``valid``)
    valid: np.ndarray  # bool [words]: an n-gram starts here (n words left in the same text)
    doc: np.ndarray  # int64 [words]: the text each word is in


def _codepoints(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The texts joined by a separator as code points clipped to U+FFFF (which is no word), and each text's
    offset in it."""
    joined = "\x00".join(texts)
    cp = np.minimum(np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32), _BMP - 1)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    starts = np.zeros(len(texts), dtype=np.int64)
    if len(texts) > 1:
        np.cumsum(lengths[:-1] + 1, out=starts[1:])
    return cp, starts


def grams(texts: Sequence[str], n: int) -> Grams:
    """Every word n-gram hash of ``texts``."""
    if not 1 <= n <= len(_PLACE):
        raise ValueError(f"n-gram size must be 1..{len(_PLACE)}, got {n}")
    cp, text_starts = _codepoints(texts)
    word = _IS_WORD[cp]
    edges = np.diff(word.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    w_start = np.flatnonzero(edges == 1)
    w_end = np.flatnonzero(edges == -1)
    m = len(w_start)
    first = np.searchsorted(w_start, text_starts)
    first = np.append(first, m).astype(np.int64)
    if m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Grams(n, first, empty, empty, np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=bool), empty)
    power, inverse = _powers(len(cp) + 1)
    with np.errstate(over="ignore"):
        prefix = np.zeros(len(cp) + 1, dtype=np.uint64)
        np.cumsum(_LOWER[cp] * power[: len(cp)], out=prefix[1:])
        words = (prefix[w_end] - prefix[w_start]) * inverse[w_start]
        words += (w_end - w_start).astype(np.uint64)  # the length too: no two words collide by trailing code points
        _mix(words)
        hashes = words * _PLACE[0]
        for i in range(1, n):
            hashes[: m - i] += words[i:] * _PLACE[i]
        _mix(hashes)
    doc = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(first))
    valid = np.zeros(m, dtype=bool)
    if m >= n:
        valid[: m - n + 1] = doc[: m - n + 1] == doc[n - 1 :]
    offset = text_starts[doc]
    return Grams(n, first, w_start - offset, w_end - offset, hashes, valid, doc)


def word_count(text: str) -> tuple[int, int]:
    """Words and distinct words of one text, as :func:`grams` splits them."""
    g = grams([text], 1)
    return len(g.hashes), len(np.unique(g.hashes))
