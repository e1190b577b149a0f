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

import itertools
from typing import List, Sequence, Tuple

import numpy as np

from dolma.dedup.bloom import hash_slices, key_hashes
from dolma.dedup.keys import word_boundary

__all__ = ["ngram_hashes"]

_WordTable = Tuple[bytes, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Words of a group of paragraphs: the buffer of all words joined by NUL bytes, each word's offset and length in it,
and each paragraph's first word and number of words."""


# byte classes: 0 whitespace (what `str.isspace` says of ASCII), 1 letter, 2 digit, 3 `_`, 4 any other character,
# then the joiners: 5 `:` (between letters), 6 `.` and 7 `'` (between letters or digits), 8 `,` `;` (between digits)
_CLASS = np.full(256, 4, dtype=np.uint8)
for _chars, _code in ((b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f", 0), (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 1),
                      (b"0123456789", 2), (b"_", 3), (b":", 5), (b".", 6), (b"'", 7), (b",;", 8)):
    _CLASS[np.frombuffer(_chars, dtype=np.uint8)] = _code


_GROUP_BYTES = 1 << 20
"""Paragraph bytes segmented together: the byte- and word-level arrays of a group stay a few MB (a 4 MB batch at
once peaked at 100 MB), for the cost of a few dozen numpy calls per group."""


def ngram_hashes(
    parts: Sequence[bytes], n: int, stride: int, skip_short: bool, seed: int, wide: bool = False
) -> Tuple[np.ndarray, np.ndarray]:
    """The hashed n-gram keys (:func:`~dolma.dedup.bloom.key_hashes`) of paragraphs ``parts`` (UTF-8, none holding ``"\\n"``) and, for each key, the index
    of its paragraph in ``parts``: windows of ``n`` words every ``max(stride, 1)`` words plus a last one ending at
    the last word; a paragraph of fewer than ``n`` words is one key, its whole text, unless ``skip_short``."""
    ends = np.cumsum(np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)) + 1)
    cuts = np.searchsorted(ends, np.arange(_GROUP_BYTES, int(ends[-1]) if len(ends) else 0, _GROUP_BYTES), side="right")
    bounds = [0, *sorted(set(cuts.tolist()) - {0, len(parts)}), len(parts)]
    groups = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        hashes, owner = _group_hashes(parts[a:b], n, stride, skip_short, seed, wide)
        groups.append((hashes, owner + a))
    if len(groups) == 1:
        return groups[0]
    return np.concatenate([g[0] for g in groups]), np.concatenate([g[1] for g in groups])


def _group_hashes(
    parts: Sequence[bytes], n: int, stride: int, skip_short: bool, seed: int, wide: bool
) -> Tuple[np.ndarray, np.ndarray]:
    """:func:`ngram_hashes` of one group of paragraphs: its ASCII ones and the others are segmented apart."""
    ascii_mask = np.fromiter(map(bytes.isascii, parts), dtype=bool, count=len(parts))
    groups = []
    for mask, words in ((ascii_mask, _ascii_words), (~ascii_mask, _unicode_words)):
        idx = np.flatnonzero(mask)
        if len(idx):
            paras = parts if len(idx) == len(parts) else list(itertools.compress(parts, mask.tolist()))
            groups.append(_keys(paras, idx, words(paras), n, stride, skip_short, seed, wide))
    if not groups:
        return np.zeros((0, 2) if wide else 0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
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
    cls = _CLASS[c]
    inside = (cls - np.uint8(1)) < 3  # letters, digits, `_` (0 wraps around to 255)
    single = cls >= 4
    if len(c) > 2:  # a joiner between two letters or two digits is inside a word
        letter, digit, mid = cls == 1, cls == 2, cls[1:-1]
        join = ((mid - np.uint8(5)) < 3) & letter[:-2] & letter[2:]
        join |= ((mid - np.uint8(6)) < 3) & digit[:-2] & digit[2:]
        inside[1:-1] |= join
        single[1:-1] &= ~join
    before = np.zeros_like(inside)
    before[1:] = inside[:-1]
    after = np.zeros_like(inside)
    after[:-1] = inside[1:]
    starts = np.flatnonzero((inside & ~before) | single)
    ends = np.flatnonzero((inside & ~after) | single) + 1
    # the words joined by NUL bytes: the words' bytes, in order, around a NUL after each word but the last
    lens = ends - starts
    off = np.cumsum(lens + 1) - (lens + 1)
    out = np.zeros(int(off[-1] + lens[-1]) if len(lens) else 0, dtype=np.uint8)
    letters = np.ones(len(out), dtype=bool)
    letters[(off + lens)[:-1]] = False
    out[letters] = c[inside | single]
    # words per paragraph: the words started before each line feed that joins two paragraphs
    nl = np.flatnonzero(c == 0x0A)
    before_nl = np.searchsorted(starts, nl)
    count = np.diff(np.concatenate(([0], before_nl, [len(starts)])))
    return out.tobytes(), off, lens, np.cumsum(count) - count, count


# code points `str.isspace` calls whitespace: all below U+3001 (the table's last entry stands for every code point
# above it)
_UNICODE_SPACE = np.zeros(0x3002, dtype=bool)
_UNICODE_SPACE[[c for c in range(0x3001) if chr(c).isspace()]] = True


def _unicode_words(paras: List[bytes]) -> _WordTable:
    """Words by the ``regex`` module's UAX #29 boundaries over the paragraphs joined by line feeds, which are
    segments of their own (or ``"\\r\\n"`` after a paragraph ending with a carriage return).

    The split's segments cover the text, so the only per-segment work is their lengths in code points; which of
    them are words (not only whitespace, or a paragraph's line feed) and where their bytes are comes from numpy
    over the code points (UTF-32)."""
    joined = b"\n".join(paras)
    text = joined.decode()
    segments = word_boundary().split(text)
    seg_len = np.fromiter(map(len, segments), dtype=np.int64, count=len(segments))
    del segments
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    del text
    # per code point, counted from the start: bytes, characters that are not whitespace, line feeds
    width = np.ones(len(cp), dtype=np.int8)
    width += cp >= 0x80
    width += cp >= 0x800
    width += cp >= 0x10000
    byte_at = _counts(width)
    solid_at = _counts(~_UNICODE_SPACE[np.minimum(cp, len(_UNICODE_SPACE) - 1)])
    lf_at = _counts(cp == 0x0A)
    del cp, width
    seg_end = np.cumsum(seg_len)
    seg_start = seg_end - seg_len
    lf = lf_at[seg_end] > lf_at[seg_start]
    word = (seg_len > 0) & ((solid_at[seg_end] > solid_at[seg_start]) | lf)
    first, last = byte_at[seg_start[word]], byte_at[seg_end[word]]
    lens = (last - first).astype(np.int64)
    # the words joined by NUL bytes: the bytes of the words are kept, and each word's last byte is repeated and the
    # copy becomes the NUL (the last word's is cut off)
    data = np.frombuffer(joined, dtype=np.uint8)
    copies = np.repeat(word.view(np.uint8), byte_at[seg_end] - byte_at[seg_start])
    copies[last - 1] += 1
    out = np.repeat(data, copies)
    off = np.cumsum(lens + 1) - (lens + 1)
    out[off + lens] = 0
    buffer = out[: int(off[-1] + lens[-1])].tobytes() if len(lens) else b""
    cut = np.flatnonzero(lf[word])
    if len(cut) != len(paras) - 1:
        raise AssertionError(f"n-gram segmentation found {len(cut) + 1} paragraphs in {len(paras)}")
    start = np.concatenate(([0], cut + 1))
    count = np.concatenate((cut, [len(lens)])) - start
    return buffer, off, lens, start, count


def _counts(flags: np.ndarray) -> np.ndarray:
    """``c[i]``: the sum of ``flags[:i]`` (``len(flags) + 1`` entries), in 32 bits (a batch is a few MB)."""
    out = np.zeros(len(flags) + 1, dtype=np.int32)
    np.cumsum(flags, out=out[1:], dtype=np.int32)
    return out


def _keys(
    paras: List[bytes], where: np.ndarray, words: _WordTable, n: int, stride: int, skip_short: bool, seed: int,
    wide: bool,
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
    window_hashes = hash_slices(buffer, off[first_word], off[end_word] + lens[end_word], seed, wide)
    if skip_short:
        return window_hashes, where[para]
    short = np.flatnonzero(~long_)
    short_hashes = key_hashes(list(itertools.compress(paras, (~long_).tolist())), seed, wide)
    owner = np.concatenate((para, short))
    order = np.argsort(owner, kind="stable")
    return np.concatenate((window_hashes, short_hashes))[order], where[owner[order]]
