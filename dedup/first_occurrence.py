"""Where each duplicate first occurred, recorded by exact dedupe (``dedupe.exact``).

A Bloom filter keeps membership only; the exact sort of a partition's keys puts every duplicate next to its first
occurrence, so exact dedupe knows, for every key it marks, which earlier key (file, line, span, document id) it
repeats. It writes that beside each attribute file, atomically with it and listed in its manifest, in a folder of
its own (so that nothing listing the attribute folders meets it):
``<prefix>first_occurrences/<set>/<rel>.msgpack.gz`` for ``<prefix>attributes/<set>/<rel>``. It is columnar, so
that it is written with numpy whatever the number of duplicates: one msgpack map, gzip-compressed, its arrays raw
little-endian int32::

    format      1
    files       [documents file, ...]                 the files the earlier spans are in (as the stage was given them)
    documents   {file: [i], line: [n], id: [str]}     the documents holding them (file index, 1-based line, id)
    spans       {line, start, end, keys,              one row per (marked span, earlier span it repeats): the marked
                 first, first_start, first_end,       document's 1-based line, the attribute's span and its number of
                 first_keys}                          keys; the earlier document (index), its span, and how many of
                                                      the span's keys first occurred there

Rows come in line order, and for a span its earlier spans in input order. A span has 1 key (a document or a
paragraph), or its n-grams with ``by_ngram``: a paragraph marked by its n-grams can repeat several earlier ones.

How it is computed, inside the one-pass flow (:mod:`dolma.dedup.onepass`): the marking step of a partition sorts its
keys once (:func:`exact_marks`), giving each marked key the position of its run's first key; it then reads the
layout of each file holding a first occurrence to turn that position into a line and span, and writes a
``firsts-p<i>.bin`` beside the marks (:func:`write_firsts`: per file, an offsets table, so that the attributes step
reads its own block with one ranged read, :func:`read_firsts`); the attributes step writes the side file
(:func:`side_file`).
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import msgspec
import numpy as np

from dolma.core.paths import CorpusPath, first_occurrences_path
from dolma.dedup.keyfiles import array_bytes, read_block, write_blocks

__all__ = ["side_path", "exact_marks", "Firsts", "resolve_firsts", "write_firsts", "read_firsts", "side_file", "msgpack_pieces"]

_MAGIC = b"DOLMAFST"


def side_path(documents: str, document_dir: str, set_name: str) -> str:
    """Where the first occurrences of a documents file's set ``set_name`` go."""
    parsed = CorpusPath.parse(documents, document_dir)  # inside a documents folder: its attributes' path was derived
    return first_occurrences_path(parsed.prefix or "", set_name, parsed.rel)


def exact_marks(keys: List[np.ndarray]) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """Every key seen earlier in the partition, in input order, and where it was first seen.

    ``keys[i]`` are file ``i``'s ``(n, 2)`` 128-bit keys in the partition. A stable sort of all of them keeps equal
    keys in input order, so every key but the first of its run is a duplicate, and the run's first is its first
    occurrence. Returns each file's marks, and each file's marked keys' first occurrences as positions in the
    concatenation of ``keys``. Memory: about 40 bytes a key, and 24 more a duplicate."""
    every = np.concatenate(keys) if keys else np.zeros((0, 2), dtype=np.uint64)
    order = np.lexsort((every[:, 1], every[:, 0]))  # stable
    ranked = every[order]
    dup = np.zeros(len(every), dtype=bool)
    dup[1:] = (ranked[1:] == ranked[:-1]).all(axis=1)
    del every, ranked  # the first occurrences below take no more memory than the sort did
    marks = np.empty(len(dup), dtype=bool)
    marks[order] = dup
    # only the marked keys get a first occurrence: arrays of the duplicates and of the distinct keys, none per key
    at = np.flatnonzero(dup)
    run_starts = np.flatnonzero(~dup)
    first = order[run_starts[np.searchsorted(run_starts, at, side="right") - 1]]
    first = first[np.argsort(order[at], kind="stable")]  # in input order of the marked keys
    cuts = np.cumsum([len(k) for k in keys])[:-1]
    per_file = np.split(marks, cuts)
    return per_file, np.split(first, np.cumsum([int(m.sum()) for m in per_file])[:-1])


class Firsts(msgspec.Struct, array_like=True):
    """One file's marked keys' first occurrences (in the order of its marked keys in the partition)."""

    cols: bytes
    """``(n, 4)`` little-endian int32: input file index, line (0-based), span start, span end (written from a
    memoryview of the table, which msgspec encodes as these bytes without a copy)."""
    documents: bytes
    """The documents holding them, sorted: little-endian int64 ``file index << 32 | line``."""
    ids: List[str]
    """Their ids."""

    def table(self) -> np.ndarray:
        return np.frombuffer(self.cols, dtype="<i4").reshape(-1, 4)

    def codes(self) -> np.ndarray:
        return np.frombuffer(self.documents, dtype="<i8")


def _code(file: np.ndarray, line: np.ndarray) -> np.ndarray:
    code = file.astype(np.int64)
    code <<= 32  # in place: one array of the keys' size, not four
    code |= line
    return code


def resolve_firsts(
    firsts: List[np.ndarray], sizes: Sequence[int], owners_of: Callable[[int], Tuple[np.ndarray, Dict[str, Any]]],
    documents: bool,
) -> List[Firsts]:
    """Each file's first occurrences as (file, line, span, id): ``firsts`` are positions in the partition's keys,
    ``sizes`` each file's key count there, ``owners_of(j)`` file ``j``'s owner of each of its keys in the partition
    and its layout (read once per file that holds a first occurrence)."""
    offsets = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64)))
    every = firsts[0] if len(firsts) == 1 else np.concatenate(firsts) if firsts else np.zeros(0, dtype=np.int64)
    table = np.zeros((len(every), 4), dtype="<i4")  # a layout holds lines and offsets in 32 bits too
    ids: Dict[int, str] = {}
    groups: List[Tuple[int, Any]] = []  # each file holding first occurrences, and where they are in ``every``
    if len(sizes) == 1:  # one file (a very large document's own): all of them, and no array to sort them by file
        groups = [(0, slice(None))] if len(every) else []
    else:
        file_of = np.searchsorted(offsets, every, side="right") - 1
        table[:, 0] = file_of
        by_file = np.argsort(file_of, kind="stable")
        present = np.unique(file_of)
        bounds = np.searchsorted(file_of[by_file], np.append(present, len(offsets)))
        groups = [(j, by_file[a:b]) for j, a, b in zip(present.tolist(), bounds[:-1].tolist(), bounds[1:].tolist())]
    for j, at in groups:
        owner, layout = owners_of(j)
        own = owner[every[at] - offsets[j]]
        if documents:
            line, start = own, np.zeros(len(own), dtype=np.int64)
            end = np.asarray(layout["text_len"], dtype=np.int64)[own]
        else:
            line, start, end = layout["para_doc"][own], layout["para_start"][own], layout["para_end"][own]
        table[at, 1], table[at, 2], table[at, 3] = line, start, end
        names = layout["ids"]
        lines = np.unique(line)
        ids.update(zip(_code(np.full(len(lines), j), lines).tolist(), (names[n] for n in lines.tolist())))
    cuts = np.cumsum([len(f) for f in firsts])[:-1]
    out = []
    for block in np.split(table, cuts) if firsts else []:
        codes = np.unique(_code(block[:, 0], block[:, 1]))
        cols: Any = array_bytes(block)  # the block's rows as a view (encoded without a copy)
        out.append(Firsts(cols, codes.astype("<i8").tobytes(), [ids[c] for c in codes.tolist()]))
    return out


def write_firsts(path: str, blocks: List[Firsts]) -> None:
    """A partition's first occurrences, file after file, with an offsets table (as the marks file)."""
    write_blocks(path, _MAGIC, [msgspec.msgpack.encode(b) for b in blocks])


def read_firsts(path: str, index: int) -> Firsts:
    """Input file ``index``'s block of a partition's first-occurrences file (three ranged reads)."""
    return msgspec.msgpack.decode(read_block(path, _MAGIC, "first-occurrences", index), type=Firsts)


def side_file(
    firsts: Firsts, files: Sequence[str], owner: np.ndarray, seen: np.ndarray,
    spans: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]], text_len: Sequence[int], threshold: Optional[float],
) -> List[Any]:
    """The first-occurrences file of one attribute file (format in the module docstring), built with numpy, in
    pieces to write one after another (:func:`msgpack_pieces`).

    ``owner`` and ``seen`` are the file's keys' owners (lines in document mode, paragraph rows otherwise) and
    marks; ``spans`` the paragraph rows' (line, start, end), ``None`` in document mode; ``threshold`` the n-gram
    overlap that marks a paragraph (``None``: every marked key marks its owner)."""
    table = firsts.table()
    dup_owner = owner[seen]
    if len(table) != len(dup_owner):
        raise ValueError(f"{len(table)} first occurrences for {len(dup_owner)} marked keys")
    codes = firsts.codes()
    doc = _i4(np.searchsorted(codes, _code(table[:, 0], table[:, 1])))
    total = np.bincount(owner) if len(owner) else np.zeros(0, dtype=np.int64)
    if threshold is not None:
        hit = np.bincount(dup_owner, minlength=len(total))
        frac = np.divide(hit, total, out=np.zeros(len(total)), where=total > 0)
        keep = frac[dup_owner] >= threshold
        dup_owner, doc, table = dup_owner[keep], doc[keep], table[keep]
    # one row per (marked span, earlier span it repeats): in line order, and the earlier spans in input order. A
    # document or a paragraph is one key, and a file's keys come in its order: then its rows are its marked keys
    first_keys = np.ones(len(doc), dtype="<i4")
    if threshold is not None:
        order = np.lexsort((table[:, 2], doc, dup_owner))
        dup_owner, doc, table = dup_owner[order], doc[order], table[order]
        new = np.ones(len(doc), dtype=bool)
        new[1:] = (dup_owner[1:] != dup_owner[:-1]) | (doc[1:] != doc[:-1]) | (table[1:, 2] != table[:-1, 2])
        starts = np.flatnonzero(new)
        first_keys = np.diff(np.append(starts, len(doc)))
        dup_owner, doc, table = dup_owner[starts], doc[starts], table[starts]
    if spans is None:
        line, start = dup_owner, np.zeros(len(dup_owner), dtype=np.int64)
        end = np.asarray(text_len, dtype=np.int64)[dup_owner] if len(dup_owner) else start
    else:
        line, start, end = spans[0][dup_owner], spans[1][dup_owner], spans[2][dup_owner]
    used, doc_file = np.unique(codes >> 32, return_inverse=True)
    return msgpack_pieces({
        "format": 1,
        "files": [files[i] for i in used.tolist()],
        "documents": {"file": _i4(doc_file), "line": _i4((codes & 0xFFFFFFFF) + 1), "id": firsts.ids},
        "spans": {"line": _i4(line + 1), "start": _i4(start), "end": _i4(end), "keys": _i4(total[dup_owner]),
                  "first": _i4(doc), "first_start": _i4(table[:, 2]), "first_end": _i4(table[:, 3]),
                  "first_keys": _i4(first_keys)},
    })


def _i4(values: np.ndarray) -> np.ndarray:
    """Little-endian int32: lines, code points of one document and key counts fit (a layout holds them in 32 bits)."""
    return np.ascontiguousarray(values, dtype="<i4")


def msgpack_pieces(value: Any) -> List[Any]:
    """``msgspec.msgpack.encode(value)`` in pieces, for a writer: a map's entries one after another and a numpy
    array's bytes (where the encoded value has ``bytes``) as a view of the array after its ``bin`` header, so that
    a very large document's columns are never copied into one buffer. Maps and ``bin`` take msgpack's shortest
    header, as msgspec writes them."""
    out: List[Any] = []
    _append_pieces(value, out)
    return out


def _append_pieces(value: Any, out: List[Any]) -> None:
    if isinstance(value, dict):
        n = len(value)
        out.append(bytes([0x80 | n]) if n < 16 else struct.pack(">BH", 0xDE, n) if n < 1 << 16 else struct.pack(">BI", 0xDF, n))
        for key, item in value.items():
            out.append(msgspec.msgpack.encode(key))
            _append_pieces(item, out)
    elif isinstance(value, np.ndarray):
        data = array_bytes(value)
        n = len(data)
        out.append(struct.pack(">BB", 0xC4, n) if n < 1 << 8 else struct.pack(">BH", 0xC5, n) if n < 1 << 16 else struct.pack(">BI", 0xC6, n))
        out.append(data)
    else:
        out.append(msgspec.msgpack.encode(value))
