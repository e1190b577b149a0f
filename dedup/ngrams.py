"""Paragraph n-gram keys of a whole batch at once: the same keys, in the same order, as cutting each paragraph's
words (:func:`dolma.dedup.keys.utf8_words`) and joining its windows (:func:`dolma.dedup.keys.ngram_keys`).

The paragraphs are joined by ``"\\n"`` (never inside a paragraph cut at ``"\\n"``, and never inside a word), and
segmented in one regular-expression call per batch: ASCII paragraphs with the ``re`` pattern of ASCII words plus
``\\n`` as a marker token, the others with the ``regex`` module's UAX #29 word boundaries (which always break
around a line feed, so segmenting the joined text gives each paragraph's words, with ``\\n`` or ``\\r\\n`` segments
between them). All the words are then joined once by a NUL byte: every window of ``n`` words of one paragraph is
a contiguous slice of that buffer, which is exactly its key, so window offsets come from numpy and the only
per-window work is slicing and hashing in C (``map``).
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from dolma.dedup.bloom import hash_keys, hash_slices
from dolma.dedup.keys import _WORD_BOUNDARY

__all__ = ["ngram_hashes"]

_WordTable = Tuple[bytes, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Words of a group of paragraphs: the buffer of all words joined by NUL bytes, each word's offset and length in it,
and each paragraph's first word and number of words."""


def _table(chars: bytes) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(chars, dtype=np.uint8)] = True
    return table


_LETTER = _table(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_DIGIT = _table(b"0123456789")
_WORD = _LETTER | _DIGIT | _table(b"_")
_SPACE = _table(b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f")  # what `str.isspace` says of ASCII
_JOIN_LETTERS = _table(b".:'")
_JOIN_DIGITS = _table(b".,;'")


def ngram_hashes(
    parts: Sequence[bytes], n: int, stride: int, skip_short: bool, seed: int
) -> Tuple[np.ndarray, np.ndarray]:
    """The hashed n-gram keys of paragraphs ``parts`` (UTF-8, none holding ``"\\n"``) and, for each key, the index
    of its paragraph in ``parts``: windows of ``n`` words every ``max(stride, 1)`` words plus a last one ending at
    the last word; a paragraph of fewer than ``n`` words is one key, its whole text, unless ``skip_short``."""
    ascii_mask = np.fromiter(map(bytes.isascii, parts), dtype=bool, count=len(parts))
    groups = []
    for mask, words in ((ascii_mask, _ascii_words), (~ascii_mask, _unicode_words)):
        idx = np.flatnonzero(mask)
        if len(idx):
            paras = [parts[i] for i in idx.tolist()]
            groups.append(_keys(paras, idx, words(paras), n, stride, skip_short, seed))
    if not groups:
        return np.zeros((0, 2), dtype=np.uint64), np.zeros(0, dtype=np.int64)
    if len(groups) == 1:
        return groups[0]
    hashes = np.concatenate([g[0] for g in groups])
    owner = np.concatenate([g[1] for g in groups])
    order = np.argsort(owner, kind="stable")  # each group is in paragraph order: this merges them
    return hashes[order], owner[order]


def _ascii_words(paras: List[bytes]) -> _WordTable:
    """ASCII word segments found with numpy: runs of letters, digits and ``_``, joined across one ``.:'`` between
    letters or one ``.,;'`` between digits; any other character but whitespace is a word of its own (the rules of
    ``_ASCII_WORD_PATTERN``, by byte classes instead of a regular expression)."""
    text = b"\n".join(paras)
    c = np.frombuffer(text, dtype=np.uint8)
    prev = np.zeros_like(c)
    prev[1:] = c[:-1]
    nxt = np.zeros_like(c)
    nxt[:-1] = c[1:]
    punct = ~(_WORD[c] | _SPACE[c])
    join = punct & (
        (_JOIN_LETTERS[c] & _LETTER[prev] & _LETTER[nxt]) | (_JOIN_DIGITS[c] & _DIGIT[prev] & _DIGIT[nxt])
    )
    inside = _WORD[c] | join
    single = punct & ~join
    edge = np.zeros(len(c) + 1, dtype=bool)
    np.not_equal(inside[1:], inside[:-1], out=edge[1:-1])
    edge[0], edge[-1] = inside[0] if len(c) else False, inside[-1] if len(c) else False
    runs = np.flatnonzero(edge)  # alternating starts and ends of the word runs
    lone = np.flatnonzero(single)
    starts = np.concatenate((runs[0::2], lone))
    ends = np.concatenate((runs[1::2], lone + 1))
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    lens = ends - starts
    # the words joined by NUL bytes, gathered in one fancy index
    off = np.cumsum(lens + 1) - (lens + 1)
    total = int(off[-1] + lens[-1]) if len(lens) else 0
    src = np.repeat(starts - off, lens + 1)[:total] + np.arange(total)
    out = c[np.minimum(src, len(c) - 1)] if total else np.zeros(0, dtype=np.uint8)
    out[off[1:] - 1] = 0
    lengths = np.fromiter(map(len, paras), dtype=np.int64, count=len(paras))
    pstart = np.cumsum(lengths + 1) - (lengths + 1)
    para = np.searchsorted(pstart, starts, side="right") - 1
    count = np.bincount(para, minlength=len(paras))
    return out.tobytes(), off, lens, np.cumsum(count) - count, count


def _unicode_words(paras: List[bytes]) -> _WordTable:
    """Words by the ``regex`` module's UAX #29 boundaries over the paragraphs joined by line feeds, which are
    segments of their own (or ``"\\r\\n"`` after a paragraph ending with a carriage return)."""
    text = b"\n".join(paras).decode()
    tokens = [w.encode() for w in _WORD_BOUNDARY.split(text) if w and (not w.isspace() or "\n" in w)]
    lens = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    buffer = b"\x00".join(tokens)
    off = np.cumsum(lens + 1) - (lens + 1)
    if len(tokens):
        data = np.frombuffer(buffer, dtype=np.uint8)
        first = data[off]
        second = data[np.minimum(off + 1, len(data) - 1)]
        marker = ((lens == 1) & (first == 0x0A)) | ((lens == 2) & (first == 0x0D) & (second == 0x0A))
    else:
        marker = np.zeros(0, dtype=bool)
    cut = np.flatnonzero(marker)
    if len(cut) != len(paras) - 1:
        raise AssertionError(f"n-gram segmentation found {len(cut) + 1} paragraphs in {len(paras)}")
    start = np.concatenate(([0], cut + 1))
    count = np.concatenate((cut, [len(tokens)])) - start
    return buffer, off, lens, start, count


def _keys(
    paras: List[bytes], where: np.ndarray, words: _WordTable, n: int, stride: int, skip_short: bool, seed: int
) -> Tuple[np.ndarray, np.ndarray]:
    buffer, off, lens, start, count = words
    step = max(stride, 1)
    long_ = count >= n
    last = np.where(long_, count - n, 0)
    windows = np.where(long_, last // step + 1 + (last % step != 0), 0)
    total = int(windows.sum())
    para = np.repeat(np.arange(len(paras)), windows)
    j = np.arange(total) - np.repeat(np.cumsum(windows) - windows, windows)
    first_word = start[para] + np.minimum(j * step, last[para])
    end_word = first_word + (n - 1)
    window_hashes = hash_slices(buffer, off[first_word], off[end_word] + lens[end_word], seed)
    if skip_short:
        return window_hashes, where[para]
    short = np.flatnonzero(~long_)
    short_hashes = hash_keys([paras[i] for i in short.tolist()], seed)
    owner = np.concatenate((para, short))
    order = np.argsort(owner, kind="stable")
    return np.concatenate((window_hashes, short_hashes))[order], where[owner[order]]
