"""Cutting a batch of texts into paragraphs with numpy: UTF-8 bytes to hash and code-point spans to report.

The texts are encoded and joined once (by the C kernels straight from the ``str`` objects, when built), and every
offset is computed on arrays from the separator bytes: a paragraph's text comes from one search per text, and byte
offsets turn into code points by subtracting the UTF-8 continuation bytes (``0b10xxxxxx``) before them, found once
per batch. With the kernels the paragraphs are hashed as slices of the joined bytes (:meth:`Paragraphs.key_hashes`)
and no per-paragraph object is made. Without them, the byte strings that get hashed are cut with ``bytes.split``
64 KiB of the batch at a time (:meth:`Paragraphs.groups`) so that they are freed as soon as they are hashed:
Python's small-object allocator then reuses the same memory for every piece instead of mapping (and the kernel
zeroing) fresh pages for a whole batch's objects each time (44,000 page faults on the 143 MB bench corpus for this
step alone).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterator, List, Optional

import numpy as np

from dolma.dedup import kernels
from dolma.dedup.bloom import key_hashes

__all__ = ["Paragraphs", "split_paragraphs", "unicode_space"]

_GROUP_BYTES = 1 << 16  # a group's objects fit the one free arena of 1 MiB that Python's allocator keeps


@dataclass
class Paragraphs:
    """Every paragraph of a batch, in order, including empty ones (one row each)."""

    doc: np.ndarray  # index of the text it belongs to
    start: np.ndarray  # code points from the start of its text
    length: np.ndarray  # code points, without the separator
    width: np.ndarray  # code points of its span: its length plus the separator's, except for a text's last paragraph
    nbytes: np.ndarray  # UTF-8 bytes of its span (separator included, as in ``width``)
    last: np.ndarray  # the last paragraph of its text
    ascii: bool  # every paragraph is ASCII (code points == bytes)
    _texts: List[str]
    _sep: str
    _joined: bytes  # the paragraphs joined by the separator, UTF-8
    _pstart: np.ndarray  # each paragraph's byte offset in ``_joined``
    _plen: np.ndarray  # and its length in bytes, without the separator
    _parts: Optional[List[bytes]] = None  # cut when first asked for (or at once, for a multi-byte separator)

    @property
    def parts(self) -> List[bytes]:
        """Every paragraph's UTF-8 bytes, without the separator."""
        if self._parts is None:
            self._parts = self._joined.split(self._sep.encode())
        return self._parts

    def groups(self, size: int = _GROUP_BYTES) -> Iterator[List[bytes]]:
        """:attr:`parts` in consecutive groups of about ``size`` bytes, each cut when asked for (when the parts are
        not held already): a consumer that lets go of a group before taking the next holds one group at a time."""
        if self._parts is not None:
            yield self._parts
            return
        joined, sepb = self._joined, self._sep.encode()
        start, n = 0, len(joined)
        while start + size < n:
            cut = joined.find(sepb, start + size)
            if cut < 0:
                break
            yield joined[start:cut].split(sepb)
            start = cut + len(sepb)
        yield joined[start:].split(sepb)

    def key_hashes(self, keep: np.ndarray, seed: int = 0, wide: bool = False) -> np.ndarray:
        """:func:`~dolma.dedup.bloom.key_hashes` of the paragraphs where ``keep``, in order: sliced from the joined
        bytes and hashed in one call with the C kernels, else from ``bytes`` objects cut a group at a time."""
        rows = np.flatnonzero(keep)
        if kernels.ENABLED and not wide:
            return kernels.xxh3_slices(self._joined, self._pstart[rows], (self._pstart + self._plen)[rows], seed)
        if 2 * len(rows) < len(keep):  # most are dropped: only the kept are hashed
            return key_hashes(list(itertools.compress(self.parts, keep.tolist())), seed, wide)
        # a group of paragraphs at a time, each freed before the next is cut (see the module's docstring)
        pieces = [key_hashes(group, seed, wide) for group in self.groups()]
        hashes = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        # a text's final separator drops a row: hashing them all beats listing the kept
        return hashes if len(rows) == len(keep) else hashes[rows]

    def first_byte(self) -> np.ndarray:
        """The first byte of each paragraph (0 when empty): computed only for the few settings that look at it."""
        out = np.zeros(len(self.doc), dtype=np.uint8)
        filled = self.length > 0
        out[filled] = np.frombuffer(self._joined, dtype=np.uint8)[self._pstart[filled]]
        return out

    def strings(self) -> List[str]:
        """The paragraphs as ``str``, aligned with ``parts`` (for word-level work)."""
        if len(self._sep) == 1:
            return self._sep.join(self._texts).split(self._sep)
        return [p for t in self._texts for p in t.split(self._sep)]


def split_paragraphs(texts: List[str], sep: str) -> Paragraphs:
    """Paragraphs of ``texts`` cut at ``sep`` (a text of n separators has n + 1 paragraphs)."""
    sepb = sep.encode()
    seplen = len(sepb)
    parts: Optional[List[bytes]] = None
    # a single code point cannot straddle the join: UTF-8 is prefix-free, so a match starts and ends inside one text
    # or is exactly a joining separator. "\n\n" could match a text's trailing "\n" plus the joining separator: such
    # a separator splits text by text
    if len(sep) == 1 and kernels.ENABLED:
        joined, tlen = kernels.utf8_join(texts, sepb)
    else:
        encoded = [t.encode() for t in texts]
        tlen = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        if len(sep) == 1:
            joined = sepb.join(encoded)
        else:
            parts = [p for e in encoded for p in e.split(sepb)]
            joined = sepb.join(parts)
        del encoded
    if len(sep) == 1 and seplen > 1:
        parts = joined.split(sepb)
    data = np.frombuffer(joined, dtype=np.uint8)
    if seplen == 1:  # the paragraphs' bounds are the separator's bytes, found by numpy (no length per object)
        cut = np.flatnonzero(data == sepb[0])
        n = len(cut) + 1
        pstart = np.empty(n, dtype=np.int64)  # byte offsets in ``joined``
        pstart[0] = 0
        np.add(cut, 1, out=pstart[1:])
        plen = np.empty(n, dtype=np.int64)
        np.subtract(cut, pstart[:-1], out=plen[:-1])
        plen[-1] = len(joined) - pstart[-1]
    else:
        assert parts is not None
        n = len(parts)
        pstart = np.empty(n, dtype=np.int64)
        plen = np.fromiter(map(len, parts), dtype=np.int64, count=n)
        np.cumsum(plen + seplen, out=pstart)
        pstart -= plen + seplen
    tstart = np.cumsum(tlen + seplen) - (tlen + seplen)
    # each text's first paragraph starts where the text does: a text's paragraphs are a run of rows, so the rows'
    # texts and last paragraphs come from one search per text, not one per paragraph
    text_first = np.searchsorted(pstart, tstart)
    counts = np.diff(text_first, append=n)
    doc = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
    last = np.zeros(n, dtype=bool)
    last[text_first[1:] - 1] = True
    last[-1] = True
    tail = np.where(last, 0, seplen)
    start = pstart - np.repeat(tstart, counts)
    # continuation bytes (0b10xxxxxx, below -64 as int8) of each paragraph and the separator after it, counted by
    # finding each one's paragraph (there are far fewer of them than paragraphs in most text)
    cont = np.flatnonzero(data.view(np.int8) < -64)
    is_ascii = not len(cont)
    if is_ascii:
        length = plen
        sep_cp = seplen
    else:
        per = np.bincount(np.searchsorted(pstart, cont, side="right") - 1, minlength=n)
        before = np.cumsum(per) - per  # continuation bytes before each paragraph
        sep_cont = sum(1 for b in sepb if b & 0xC0 == 0x80)
        start -= before - np.repeat(before[text_first], counts)
        length = plen - per + sep_cont  # every paragraph but the batch's last has a separator after it
        length[-1] -= sep_cont
        sep_cp = len(sep)
    return Paragraphs(
        doc=doc,
        start=start,
        length=length,
        width=length + np.where(last, 0, sep_cp),
        nbytes=plen + tail,
        last=last,
        ascii=is_ascii,
        _texts=texts,
        _sep=sep,
        _joined=joined,
        _pstart=pstart,
        _plen=plen,
        _parts=parts,
    )


_SPACE_LEADS = np.frombuffer(b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f", dtype=np.uint8)


def unicode_space(paras: Paragraphs) -> np.ndarray:
    """Paragraphs that are empty or only whitespace, as ``str.isspace`` says (Unicode's whitespace)."""
    space = np.fromiter(map(bytes.isspace, paras.parts), dtype=bool, count=len(paras.parts))
    space |= paras.length == 0
    # bytes.isspace knows only ASCII whitespace: a paragraph that starts with any whitespace or a non-ASCII byte
    # (U+00A0, U+3000, U+001C, ...) may still be all whitespace; decode just those
    fb = paras.first_byte()
    maybe = ~space & ((fb >= 0x80) | np.isin(fb, _SPACE_LEADS))
    for i in np.flatnonzero(maybe).tolist():
        space[i] = paras.parts[i].decode().isspace()
    return space
