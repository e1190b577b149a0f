"""Word n-gram hashes of many texts at once, in numpy on UTF-8 bytes: the hot path of the index and of the tagger.

A word is a run of ASCII letters, digits and ``_`` and of non-ASCII characters, except the non-ASCII characters
that are punctuation, spaces or symbols in practice: U+0080–U+00BF (NBSP, «, », ¿, §...), × and ÷, U+2000–U+2FFF
(general punctuation: curly quotes, dashes, ellipsis, the wide spaces; arrows, math and other symbols), U+3000–U+303F
(CJK punctuation) and everything above U+FFFF (emoji). Everything else — spaces, ASCII punctuation, those characters
— separates words, so whitespace and punctuation edits do not change a text's n-grams. ASCII letters are compared
lower-case (other letters as they are). A word's hash mixes its length, its first 8 and its last 8 bytes (all of a
word of up to 16 bytes; longer words that differ only in the middle share a hash, a harmless approximation); an
n-gram's hash mixes its words' hashes, each with the multiplier of its place. All of it is vectorised over the
batch: the texts are joined with a separator, and n-grams that would span two texts are dropped. Every number is
fixed, so hashes are the same on every machine (``HASH_VERSION``). Offsets are UTF-8 byte offsets in each text;
:func:`char_offsets` turns them into code points (needed only for the few texts that match).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["HASH_VERSION", "Grams", "grams", "char_offsets"]

HASH_VERSION = 3

# one odd multiplier per place in an n-gram (up to 16 words)
_PLACE = np.array([(0x9E3779B97F4A7C15 * (2 * i + 1)) & 0xFFFFFFFFFFFFFFFF | 1 for i in range(16)], dtype=np.uint64)
_CHUNK = np.uint64(0xC2B2AE3D27D4EB4F)
_MASKS = np.array([(1 << (8 * r)) - 1 for r in range(8)] + [0xFFFFFFFFFFFFFFFF], dtype=np.uint64)


def _table() -> bytes:
    """Each byte lower-cased if it is an ASCII letter, kept if it can be part of a word, 0 where it separates words
    (a ``bytes.translate`` table)."""
    table = bytearray(256)
    for c in b"abcdefghijklmnopqrstuvwxyz0123456789_":
        table[c] = c
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[c] = c + 32
    for c in range(0x80, 0x100):  # bytes of non-ASCII characters; the separating ones are cleared later
        table[c] = c
    return bytes(table)


_BYTES = _table()


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place on a uint64 array."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _separators(low: np.ndarray) -> np.ndarray:
    """``low`` with the bytes of the non-ASCII characters that separate words (see the module docstring) zeroed."""
    lead = np.flatnonzero(low >= 0xC2)
    if lead.size == 0:
        return low
    low = low.copy()
    b0 = low[lead]
    b1 = low[np.minimum(lead + 1, len(low) - 1)]
    two = lead[(b0 == 0xC2) | ((b0 == 0xC3) & ((b1 == 0x97) | (b1 == 0xB7)))]
    three = lead[(b0 == 0xE2) | ((b0 == 0xE3) & (b1 == 0x80))]
    four = lead[b0 >= 0xF0]
    for starts, width in ((four, 4), (three, 3), (two, 2)):
        for k in range(width - 1, -1, -1):
            low[np.minimum(starts + k, len(low) - 1)] = 0
    return low


@dataclass
class Grams:
    """The n-grams of a batch of texts. Words are numbered across the batch; n-gram ``j`` is words ``j..j+n-1``."""

    n: int
    doc_first_word: np.ndarray  # int64 [docs + 1]: the first word of each text (and the total at the end)
    doc_start: np.ndarray  # int64 [docs]: UTF-8 byte offset of each text in the batch
    word_start: np.ndarray  # int64 [words]: UTF-8 byte offset of each word in the batch
    word_end: np.ndarray  # int64 [words]
    hashes: np.ndarray  # uint64 [words]: hash of the n-gram starting at each word (valid where ``valid``)
    valid: np.ndarray  # bool [words]: an n-gram starts here (n words left in the same text)
    doc: np.ndarray  # int64 [words]: the text each word is in


def _word_hashes(low: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Hash of each word ``low[start:end]`` (lower-cased bytes, 0 outside words) from its length, its first 8 bytes
    and its last 8 bytes (the whole word up to 16 bytes), read through an unaligned uint64 view."""
    padded = np.concatenate([low, np.zeros(8, dtype=np.uint8)])
    view = np.ndarray((len(low) + 1,), dtype="<u8", buffer=padded.data, strides=(1,))
    length = end - start
    mask = _MASKS[np.minimum(length, 8)]
    h = length.astype(np.uint64) * _CHUNK
    h ^= view[start] & mask
    h *= _CHUNK
    _mix(h)
    h ^= view[np.maximum(end - 8, start)] & mask
    h *= _CHUNK
    return _mix(h)


def grams(texts: Sequence[str], n: int) -> Grams:
    """Every word n-gram hash of ``texts``."""
    if not 1 <= n <= len(_PLACE):
        raise ValueError(f"n-gram size must be 1..{len(_PLACE)}, got {n}")
    encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    text_starts = np.zeros(len(encoded), dtype=np.int64)
    if len(encoded) > 1:
        np.cumsum(lengths[:-1] + 1, out=text_starts[1:])
    low = _separators(np.frombuffer(b"\x00".join(encoded).translate(_BYTES), dtype=np.uint8))
    inside = np.zeros(len(low) + 2, dtype=bool)
    np.not_equal(low, 0, out=inside[1:-1])
    edges = np.flatnonzero(inside[1:] != inside[:-1])
    w_start, w_end = edges[0::2], edges[1::2]  # a word starts, then ends
    m = len(w_start)
    first = np.append(np.searchsorted(w_start, text_starts), m).astype(np.int64)
    doc = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(first))
    if m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Grams(n, first, text_starts, empty, empty, np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=bool), doc)
    with np.errstate(over="ignore"):
        words = _word_hashes(low, w_start, w_end)
        hashes = words * _PLACE[0]
        for i in range(1, n):
            hashes[: m - i] += words[i:] * _PLACE[i]
        _mix(hashes)
    valid = np.zeros(m, dtype=bool)
    if m >= n:
        valid[: m - n + 1] = doc[: m - n + 1] == doc[n - 1 :]
    return Grams(n, first, text_starts, w_start, w_end, hashes, valid, doc)


def char_offsets(text: str, byte_offsets: np.ndarray) -> np.ndarray:
    """Code point offsets in ``text`` of UTF-8 byte offsets that fall on character boundaries."""
    raw = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    if len(raw) == len(text):
        return byte_offsets
    chars_before = np.concatenate([[0], np.cumsum((raw & 0xC0) != 0x80)])
    return chars_before[byte_offsets]
