"""Attributes lines written straight from arrays: the JSON msgspec would write, without a Python list per span.

Exact matches have the score 1, so a span is ``[start,end,1]`` and the whole file's spans are formatted at once:
the offsets' decimal digits come from numpy (one ``divmod`` per digit column), each span is a fixed-width row of
bytes, and a boolean mask drops the unused leading digit columns. Each document's spans are then one slice.
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Sequence, Set, Union

import msgspec
import numpy as np

from dolma.core.errors import ConfigError
from dolma.core.paths import ATTRIBUTES_DIR, CorpusPath, glob_paths
from dolma.core.records import is_side_file
from dolma.dedup import kernels

__all__ = ["SpanChunks", "Value", "format_unit_spans", "format_scored_spans", "attribute_lines", "attribute_chunks", "attributes_path", "documents_files"]

_ENCODER = msgspec.json.Encoder()


def documents_files(patterns: Sequence[str]) -> List[str]:
    """The documents files the patterns match, in pattern order, each once, stages' own side files left out. A
    wildcard may sit in any component (Dolma's `.../deduper/doc*/000.json.gz`); whether a file sits in the documents
    folder is checked per file (:func:`attributes_path`)."""
    files: Dict[str, None] = {}
    for pattern in patterns:
        matches = [p for p in glob_paths(pattern) if not is_side_file(p)]
        if not matches:
            raise ConfigError(f"`documents`: no files match {pattern!r}")
        files.update(dict.fromkeys(matches))
    return list(files)


def attributes_path(path: str, document_dir: str, set_name: str) -> str:
    """Where a documents file's attributes of the set ``set_name`` go: ``<prefix>attributes/<set>/<rel>``."""
    parsed = CorpusPath.parse(path, document_dir)
    if parsed.prefix is None:
        raise ConfigError(
            f"`documents`: {path} is not inside a {document_dir!r} folder, so attributes/{set_name}/ "
            "cannot mirror it (set `dedupe.document_dir` to the folder that holds the documents)"
        )
    return parsed.sibling(ATTRIBUTES_DIR, set_name)


def _width(x: np.ndarray) -> int:
    """The digits of the largest of non-negative ints ``x``."""
    return len(str(int(x.max()) if len(x) else 0))


def _digits(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write the right-aligned ASCII digits of non-negative ints ``x`` into ``out``, an ``(n, _width(x))`` uint8
    matrix (the columns of a row table: no copy); how many digits each number uses."""
    width = out.shape[1]
    # unsigned division by a constant is vectorised by numpy (libdivide); uint32 when it fits is faster still
    v = x.astype(np.uint32 if width < 10 else np.uint64)
    for col in range(width - 1, -1, -1):
        q = v // 10
        out[:, col] = v - q * 10
        v = q
    out += ord("0")
    used = np.ones(len(x), dtype=np.int64)
    for power in range(1, width):
        used += x >= 10**power
    return used


_SPANS_AT_ONCE = 1 << 16  # spans formatted in one go: their digit matrices stay a few MB


class SpanChunks:
    """One document's JSON array of more than ``_SPANS_AT_ONCE`` spans (``[[s,e,1],...]``, or with ``score``
    ``[[s,e,score],...]``), formatted ``_SPANS_AT_ONCE`` spans at a time as it is written: a very large document's
    formatted spans (about 20 bytes each, a good part of the document's size) never exist whole."""

    __slots__ = ("start", "end", "score")

    def __init__(self, start: np.ndarray, end: np.ndarray, score: Optional[np.ndarray] = None) -> None:
        self.start, self.end, self.score = start, end, score

    def chunks(self) -> Iterator[bytes]:
        """The array's bytes, in pieces: ``[``, each piece's spans (comma-separated), ``]``."""
        yield b"["
        n = len(self.start)
        for x in range(0, n, _SPANS_AT_ONCE):
            y = min(x + _SPANS_AT_ONCE, n)
            one = np.array([0, y - x])
            if self.score is None:
                piece = _format(self.start[x:y], self.end[x:y], one)[0]
            else:
                piece = _format_scored(self.start[x:y], self.end[x:y], self.score[x:y], one)[0]
            if x:
                yield b","
            yield piece[1:-1]
        yield b"]"


Value = Union[bytes, SpanChunks]
"""A document's attribute value: its JSON, or a very large array of spans formatted as it is written."""


def format_unit_spans(start: np.ndarray, end: np.ndarray, cuts: np.ndarray, lazy: bool = False) -> List[Value]:
    """The JSON array ``[[s,e,1],...]`` of each group of spans; group ``g`` is rows ``cuts[g]:cuts[g + 1]``
    (``cuts`` ascending, starting at 0 and ending at ``len(start)``, groups non-empty). Whole groups are
    formatted about ``_SPANS_AT_ONCE`` spans at a time, and a larger group in pieces of that size, so memory stays
    bounded. ``lazy``: a larger group is a :class:`SpanChunks`, formatted only as it is written (never whole)."""
    out: List[Value] = []
    g, groups = 0, len(cuts) - 1
    while g < groups:
        h = max(g + 1, int(np.searchsorted(cuts, cuts[g] + _SPANS_AT_ONCE, side="right")) - 1)
        a, b = int(cuts[g]), int(cuts[h])
        if b - a > _SPANS_AT_ONCE:  # one document's many spans: formatted a piece at a time
            value = SpanChunks(start[a:b], end[a:b])
            out.append(value if lazy else b"".join(value.chunks()))
        else:
            out += _format(start[a:b], end[a:b], cuts[g : h + 1] - a)
        g = h
    return out


def _format(start: np.ndarray, end: np.ndarray, cuts: np.ndarray) -> List[bytes]:
    n = len(start)
    if n == 0:
        return []
    if kernels.ENABLED:
        return kernels.unit_spans(start, end, cuts)
    ws, we = _width(start), _width(end)
    width = 1 + ws + 1 + we + 4  # "[" start "," end ",1],"
    rows = np.empty((n, width), dtype=np.uint8)
    rows[:, 0] = ord("[")
    us = _digits(start, rows[:, 1 : 1 + ws])
    rows[:, 1 + ws] = ord(",")
    ue = _digits(end, rows[:, 2 + ws : 2 + ws + we])
    rows[:, 2 + ws + we :] = np.frombuffer(b",1],", dtype=np.uint8)
    # which bytes of a row are kept depends only on how many digits its two numbers have: a table of the masks
    # of every pair of digit counts, one row of it gathered per span
    table = np.ones((ws + 1, we + 1, width), dtype=bool)
    table[:, :, 1 : 1 + ws] = (np.arange(ws) >= ws - np.arange(ws + 1)[:, None])[:, None, :]
    table[:, :, 2 + ws : 2 + ws + we] = (np.arange(we) >= we - np.arange(we + 1)[:, None])[None, :, :]
    keep = table.reshape(-1, width)[us * (we + 1) + ue]
    blob = memoryview(rows[keep])  # sliced below: bytes + a view copies the slice once
    ends = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(width - (ws - us) - (we - ue), out=ends[1:])
    offsets = ends[cuts].tolist()
    # each group drops its last span's trailing comma
    return [b"[" + blob[a : b - 1] + b"]" for a, b in zip(offsets[:-1], offsets[1:])]


class _Index(dict):  # type: ignore[type-arg]
    """Each new key numbered in order of arrival: ``map(index.__getitem__, keys)`` numbers a list in C."""

    def __missing__(self, key: float) -> int:
        number = self[key] = len(self)
        return number


def format_scored_spans(
    start: np.ndarray, end: np.ndarray, score: np.ndarray, cuts: np.ndarray, lazy: bool = False
) -> List[Value]:
    """:func:`format_unit_spans` with a score per span, ``[[s,e,score],...]`` as msgspec writes it: the scores (a
    few distinct fractions) are encoded once each and placed from a table like the digits."""
    out: List[Value] = []
    g, groups = 0, len(cuts) - 1
    while g < groups:
        h = max(g + 1, int(np.searchsorted(cuts, cuts[g] + _SPANS_AT_ONCE, side="right")) - 1)
        a, b = int(cuts[g]), int(cuts[h])
        if b - a > _SPANS_AT_ONCE:
            value = SpanChunks(start[a:b], end[a:b], score[a:b])
            out.append(value if lazy else b"".join(value.chunks()))
        else:
            out += _format_scored(start[a:b], end[a:b], score[a:b], cuts[g : h + 1] - a)
        g = h
    return out


def _format_scored(start: np.ndarray, end: np.ndarray, score: np.ndarray, cuts: np.ndarray) -> List[bytes]:
    n = len(start)
    if n == 0:
        return []
    index = _Index()
    codes = np.fromiter(map(index.__getitem__, score.tolist()), dtype=np.int64, count=n)
    texts = [_ENCODER.encode(value) for value in index]
    wf = max(map(len, texts))
    table = np.zeros((len(texts), wf), dtype=np.uint8)
    for i, text in enumerate(texts):
        table[i, : len(text)] = np.frombuffer(text, dtype=np.uint8)
    uf = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))[codes]
    ws, we = _width(start), _width(end)
    width = 1 + ws + 1 + we + 1 + wf + 2  # "[" start "," end "," score "],"
    rows = np.empty((n, width), dtype=np.uint8)
    rows[:, 0] = ord("[")
    us = _digits(start, rows[:, 1 : 1 + ws])
    rows[:, 1 + ws] = ord(",")
    ue = _digits(end, rows[:, 2 + ws : 2 + ws + we])
    rows[:, 2 + ws + we] = ord(",")
    rows[:, 3 + ws + we : 3 + ws + we + wf] = table[codes]
    rows[:, -2:] = np.frombuffer(b"],", dtype=np.uint8)
    keep = np.ones((n, width), dtype=bool)
    keep[:, 1 : 1 + ws] = np.arange(ws) >= (ws - us)[:, None]
    keep[:, 2 + ws : 2 + ws + we] = np.arange(we) >= (we - ue)[:, None]
    keep[:, 3 + ws + we : 3 + ws + we + wf] = np.arange(wf) < uf[:, None]
    blob = memoryview(rows[keep])
    ends = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(width - (ws - us) - (we - ue) - (wf - uf), out=ends[1:])
    offsets = ends[cuts].tolist()
    return [b"[" + blob[a : b - 1] + b"]" for a, b in zip(offsets[:-1], offsets[1:])]


def attribute_lines(ids: Sequence[str], attribute: str, values: Dict[int, Value], bad: Sequence[int]) -> bytes:
    """One ``{"id":...,"attributes":{attribute:value}}`` line per document: ``values[i]`` is line ``i``'s JSON
    value (``[]`` when absent); lines in ``bad`` (0-based) get empty attributes so they stay aligned."""
    return b"".join(attribute_chunks(ids, attribute, values, bad))


_LINES_AT_ONCE = 1 << 12


def attribute_chunks(
    ids: Sequence[str], attribute: str, values: Dict[int, Value], bad: Sequence[int]
) -> Iterator[bytes]:
    """:func:`attribute_lines` a few thousand lines at a time, for a writer: a file's lines never exist all at
    once, besides their values."""
    head = b',"attributes":{' + _ENCODER.encode(attribute) + b":"
    broken = set(bad)
    for a in range(0, len(ids), _LINES_AT_ONCE):
        chunk = list(ids[a : a + _LINES_AT_ONCE])
        id_json = _ENCODER.encode_lines(chunk).split(b"\n")  # JSON escapes newlines, so this split is safe
        big = [i for i in range(a, a + len(chunk)) if _is_big(values.get(i, b""))]
        if big:  # a very large document's value is written as it is, not copied into its line and the chunk
            yield from _lines_around_big_values(id_json, a, head, values, broken, big)
            continue
        out = [b'{"id":' + x + head + values.get(i, b"[]") + b"}}\n" for i, x in enumerate(id_json[: len(chunk)], a)]
        for i in broken.intersection(range(a, a + len(chunk))):
            out[i - a] = b'{"id":' + id_json[i - a] + b',"attributes":{}}\n'
        yield b"".join(out)


_BIG_VALUE = 1 << 20


def _is_big(value: Value) -> bool:
    return isinstance(value, SpanChunks) or len(value) > _BIG_VALUE


def _lines_around_big_values(
    id_json: List[bytes], a: int, head: bytes, values: Dict[int, Value], broken: Set[int], big: List[int]
) -> Iterator[bytes]:
    """The lines ``a``, ``a + 1``... of :func:`attribute_chunks`, the values of lines ``big`` handed on alone."""
    for i, x in enumerate(id_json[:-1], a):
        if i in broken:
            yield b'{"id":' + x + b',"attributes":{}}\n'
        elif i in big:
            yield b'{"id":' + x + head
            value = values[i]
            if isinstance(value, SpanChunks):
                yield from value.chunks()
            else:
                yield value
            yield b"}}\n"
        else:
            yield b'{"id":' + x + head + values.get(i, b"[]") + b"}}\n"
