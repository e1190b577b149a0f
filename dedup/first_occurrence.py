"""Where each duplicate first occurred, recorded by exact dedupe (``dedupe.exact``).

A Bloom filter keeps membership only; the exact sort of a partition's keys puts every duplicate next to its first
occurrence, so exact dedupe knows, for every key it marks, which earlier key (file, line, span, document id) it
repeats. It writes that beside each attribute file, atomically with it and listed in its manifest, in a folder of
its own (so that nothing listing the attribute folders meets it):

    <prefix>first_occurrences/<set>/<rel>     (attributes: <prefix>attributes/<set>/<rel>) one line per document
                                              with a marked span, in line order

    {"line": 12, "id": "doc-7", "spans": [
        {"start": 0, "end": 57, "keys": 1,
         "first": [{"file": "<documents file>", "line": 3, "id": "doc-2", "start": 10, "end": 67, "keys": 1}]}]}

``line`` is 1-based, spans are the attribute's (code points, end exclusive); ``keys`` of a span is its keys (1 for a
document or a paragraph, its n-grams with ``by_ngram``) and of a first occurrence how many of them first occurred
there; ``file`` is the documents file as the stage was given it. The attribute files themselves are unchanged.

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

from dolma.core import io as dio
from dolma.core.errors import InputError
from dolma.core.paths import FIRST_OCCURRENCES_DIR, CorpusPath
from dolma.dedup.keyfiles import _read_range

__all__ = ["side_path", "exact_marks", "Firsts", "resolve_firsts", "write_firsts", "read_firsts", "side_file"]

_MAGIC = b"DOLMAFST"
_ENCODER = msgspec.json.Encoder()


def side_path(documents: str, document_dir: str, set_name: str) -> str:
    """Where the first occurrences of a documents file's set ``set_name`` go: ``<prefix>first_occurrences/<set>/<rel>``
    (mirroring ``<prefix>attributes/<set>/<rel>``)."""
    return CorpusPath.parse(documents, document_dir).sibling(FIRST_OCCURRENCES_DIR, set_name)


def exact_marks(keys: List[np.ndarray]) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """Every key seen earlier in the partition, in input order, and where it was first seen.

    ``keys[i]`` are file ``i``'s ``(n, 2)`` 128-bit keys in the partition. A stable sort of all of them keeps equal
    keys in input order, so every key but the first of its run is a duplicate, and the run's first is its first
    occurrence. Returns each file's marks, and each file's marked keys' first occurrences as positions in the
    concatenation of ``keys``. Memory: about 48 bytes a key."""
    every = np.concatenate(keys) if keys else np.zeros((0, 2), dtype=np.uint64)
    order = np.lexsort((every[:, 1], every[:, 0]))  # stable
    ranked = every[order]
    dup = np.zeros(len(every), dtype=bool)
    dup[1:] = (ranked[1:] == ranked[:-1]).all(axis=1)
    run_starts = np.flatnonzero(~dup)
    first = np.empty(len(every), dtype=np.int64)
    first[order] = order[run_starts[np.cumsum(~dup) - 1]]
    marks = np.empty(len(every), dtype=bool)
    marks[order] = dup
    cuts = np.cumsum([len(k) for k in keys])[:-1]
    per_file = np.split(marks, cuts)
    return per_file, [f[m] for f, m in zip(np.split(first, cuts), per_file)]


class Firsts(msgspec.Struct, array_like=True):
    """One file's marked keys' first occurrences (in the order of its marked keys in the partition)."""

    cols: bytes
    """``(n, 4)`` little-endian int64: input file index, line (0-based), span start, span end."""
    id_at: bytes
    """``(m, 2)`` little-endian int64: the (file index, line) pairs of ``ids``."""
    ids: List[str]

    def table(self) -> np.ndarray:
        return np.frombuffer(self.cols, dtype="<i8").reshape(-1, 4)

    def id_of(self) -> Dict[Tuple[int, int], str]:
        pairs = np.frombuffer(self.id_at, dtype="<i8").reshape(-1, 2).tolist()
        return {(f, line): i for (f, line), i in zip(pairs, self.ids)}


def resolve_firsts(
    firsts: List[np.ndarray], sizes: Sequence[int], owners_of: Callable[[int], Tuple[np.ndarray, Dict[str, Any]]],
    documents: bool,
) -> List[Firsts]:
    """Each file's first occurrences as (file, line, span, id): ``firsts`` are positions in the partition's keys,
    ``sizes`` each file's key count there, ``owners_of(j)`` file ``j``'s owner of each of its keys in the partition
    and its layout (read once per file that holds a first occurrence)."""
    offsets = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64)))
    every = np.concatenate(firsts) if firsts else np.zeros(0, dtype=np.int64)
    file_of = np.searchsorted(offsets, every, side="right") - 1
    table = np.zeros((len(every), 4), dtype="<i8")
    table[:, 0] = file_of
    ids: Dict[Tuple[int, int], str] = {}
    for j in np.unique(file_of).tolist():
        at = np.flatnonzero(file_of == j)
        owner, layout = owners_of(j)
        own = owner[every[at] - offsets[j]]
        if documents:
            line = own
            start = np.zeros(len(own), dtype=np.int64)
            end = np.asarray(layout["text_len"], dtype=np.int64)[own]
        else:
            line, start, end = layout["para_doc"][own], layout["para_start"][own], layout["para_end"][own]
        table[at, 1], table[at, 2], table[at, 3] = line, start, end
        names = layout["ids"]
        ids.update(((j, n), names[n]) for n in np.unique(line).tolist())
    cuts = np.cumsum([len(f) for f in firsts])[:-1]
    out = []
    for block in np.split(table, cuts) if firsts else []:
        pairs = sorted({(int(f), int(n)) for f, n in block[:, :2].tolist()})
        out.append(Firsts(block.tobytes(), np.asarray(pairs, dtype="<i8").reshape(-1, 2).tobytes(),
                          [ids[p] for p in pairs]))
    return out


def write_firsts(path: str, blocks: List[Firsts]) -> None:
    """A partition's first occurrences, file after file, with an offsets table (as the marks file)."""
    data = [msgspec.msgpack.encode(b) for b in blocks]
    offsets = np.zeros(len(data) + 1, dtype="<u8")
    np.cumsum([len(d) for d in data], out=offsets[1:])
    with dio.AtomicWriter(path) as w:
        w.write(_MAGIC + struct.pack("<Q", len(data)))
        w.write(offsets.tobytes())
        for d in data:
            w.write(d)


def read_firsts(path: str, index: int) -> Firsts:
    """Input file ``index``'s block of a partition's first-occurrences file (the header, two offsets, the block)."""
    head = _read_range(path, 0, 16)
    if len(head) < 16 or head[:8] != _MAGIC:
        raise InputError(path, None, "not a dedupe first-occurrences file (bad magic bytes)")
    (files,) = struct.unpack("<Q", head[8:])
    if not 0 <= index < files:
        raise InputError(path, None, f"first occurrences of {files} files, asked for file {index}")
    start, end = struct.unpack("<QQ", _read_range(path, 16 + 8 * index, 16))
    data = _read_range(path, 16 + 8 * (files + 1) + start, end - start)
    if len(data) != end - start:
        raise InputError(path, None, f"first-occurrences file is truncated (file {index})")
    return msgspec.msgpack.decode(data, type=Firsts)


def side_file(
    firsts: Firsts, files: Sequence[str], ids: Sequence[str], owner: np.ndarray, seen: np.ndarray,
    spans: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]], text_len: Sequence[int], threshold: Optional[float],
) -> bytes:
    """The side file of one attribute file: each marked span's first occurrences.

    ``owner`` and ``seen`` are the file's keys' owners (lines in document mode, paragraph rows otherwise) and
    marks; ``spans`` the paragraph rows' (line, start, end), ``None`` in document mode; ``threshold`` the n-gram
    overlap that marks a paragraph (``None``: every marked key marks its owner)."""
    table = firsts.table()
    dup_owner = owner[seen].astype(np.int64)
    if len(table) != len(dup_owner):
        raise ValueError(f"{len(table)} first occurrences for {len(dup_owner)} marked keys")
    if not len(dup_owner):
        return b""
    total = np.bincount(owner)
    if threshold is not None:
        hit = np.bincount(dup_owner, minlength=len(total))
        frac = np.divide(hit, total, out=np.zeros(len(total)), where=total > 0)
        keep = frac[dup_owner] >= threshold
        dup_owner, table = dup_owner[keep], table[keep]
    if spans is None:
        line = dup_owner
        start = np.zeros(len(dup_owner), dtype=np.int64)
        end = np.asarray(text_len, dtype=np.int64)[dup_owner] if len(dup_owner) else start
    else:
        line, start, end = spans[0][dup_owner], spans[1][dup_owner], spans[2][dup_owner]
    groups, counts = np.unique(np.column_stack((line, start, end, dup_owner, table)), axis=0, return_counts=True)
    id_of = firsts.id_of()
    rows: List[Dict[str, Any]] = []
    for (ln, s, e, own, f, fl, fs, fe), n in zip(groups.tolist(), counts.tolist()):
        if not rows or rows[-1]["line"] != ln + 1:
            rows.append({"line": ln + 1, "id": ids[ln], "spans": []})
        span_list = rows[-1]["spans"]
        if not span_list or (span_list[-1]["start"], span_list[-1]["end"]) != (s, e):
            span_list.append({"start": s, "end": e, "keys": int(total[own]), "first": []})
        span_list[-1]["first"].append({"file": files[f], "line": fl + 1, "id": id_of[(f, fl)], "start": fs,
                                       "end": fe, "keys": n})
    return _ENCODER.encode_lines(rows)
