"""The tokens stage: documents files → headerless token memmaps (``part-<g>-<NNNNN>.npy``) and their document
index (``part-<g>-<NNNNN>.csv.gz``, rows ``start,end,id,src,loc``), the layout OLMo's trainer reads.

Inputs are sorted, shuffled with ``seed`` and dealt into groups of at most ``ring_size`` files; one group is one
work unit. Its documents are drawn from its files in turn (or in proportion to file size), shuffled in windows of
``batch_size`` documents by a generator seeded from ``seed`` and the group number, and written as
``[BOS] ids [EOS]``. Nothing depends on the process count or on timing, so any number of processes, and a run
that was interrupted and resumed, give the same bytes.

A token file holds at most ``max_size`` bytes. A document that does not fit in what is left of a file starts the
next one; a document longer than a whole file is cut into pieces across consecutive files, one index row per
piece (same id, src and loc), BOS on the first piece and EOS on the last.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import logging
import operator
import os
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import msgspec
import numpy as np

from dolma.core import io as dio
from dolma.core.errors import ConfigError, InputError
from dolma.core.units import MiB, Progress, Resources, RunReport, Stage, WorkUnit
from dolma.core.manifest import FileEntry, config_hash, manifest_path, read_manifest
from dolma.core.outputs import UnitOutputs, input_entry
from dolma.core.paths import glob_paths, is_s3, join
from dolma.core.longlines import strip_bounds, utf8_length
from dolma.core.records import QUARANTINE_SUFFIX, BadLine, DocumentsReader, QuarantineLine, is_side_file
from dolma.tokens.config import TokensConfig
from dolma.tokens.tokenizer import Tokenizer, TokenizerIdentity, load_tokenizer

__all__ = ["TokensStage", "resolve_dtype", "part_name", "TOKEN_SUFFIX", "INDEX_SUFFIX"]

log = logging.getLogger("dolma")

TOKEN_SUFFIX = ".npy"
INDEX_SUFFIX = ".csv.gz"
_DTYPES = ("uint8", "uint16", "uint32", "uint64")


def resolve_dtype(requested: Optional[str], max_id: int) -> np.dtype:
    """The token dtype: the one asked for if it can hold ``max_id``, else an error; uint16 or uint32 if none."""
    if requested is None:
        return np.dtype(np.uint16 if max_id <= np.iinfo(np.uint16).max else np.uint32)
    if requested not in _DTYPES:
        raise ConfigError(f"`dtype`: expected one of {', '.join(_DTYPES)}, got {requested!r}")
    dtype = np.dtype(requested)
    if max_id > np.iinfo(dtype).max:
        raise ConfigError(
            f"`dtype`: {requested} holds ids up to {np.iinfo(dtype).max:,}, but this tokenizer's ids go up to "
            f"{max_id:,}; use {'uint32' if max_id <= np.iinfo(np.uint32).max else 'uint64'} or leave dtype unset"
        )
    return dtype


def part_name(group: int, digits: int, part: int) -> str:
    return f"part-{group:0{digits}d}-{part:05d}"


@dataclass(frozen=True)
class _Group:
    index: int
    files: Tuple[str, ...]
    sizes: Tuple[int, ...]
    prefix: str  # <destination>/part-<g>


class _LongText(NamedTuple):
    """A long document's text and the bounds of its stripped part (strip() would copy it)."""

    text: str
    start: int
    end: int


class _Doc(msgspec.Struct):
    text: str
    id: Union[str, int]


def _record_type(text_field: str, id_field: Optional[str]) -> Any:
    """A msgspec Struct holding just the text and id fields (dotted names become nested Structs)."""
    if text_field == "text" and id_field in ("id", None):
        return _Doc if id_field else msgspec.defstruct("TextOnly", [("text", str)])
    tree: Dict[str, Any] = {}
    for name, kind in ((text_field, str), (id_field, Union[str, int])):
        if name is None:
            continue
        *parents, leaf = name.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = kind

    def build(name: str, node: Dict[str, Any]) -> Any:
        return msgspec.defstruct(name, [(k, build(k.title(), v) if isinstance(v, dict) else v) for k, v in node.items()])

    return build("Record", tree)


class _PartWriter:
    """Writes consecutive token files of at most ``max_tokens`` tokens, with their index files, into the unit's
    ``files``; each part is published as soon as it is full."""

    def __init__(self, files: UnitOutputs, prefix: str, dtype: np.dtype, max_tokens: int) -> None:
        self.files = files
        self.prefix = prefix
        self.dtype = dtype
        self.max_tokens = max_tokens
        self.parts: List[Tuple[str, str, Dict[str, int]]] = []  # (npy path, csv path, documents and tokens)
        self._npy: Optional[dio.AtomicWriter] = None
        self._csv: Optional[dio.AtomicWriter] = None
        self._filled = 0
        self._rows = 0

    def _open(self) -> None:
        base = f"{self.prefix}-{len(self.parts):05d}"
        self._npy = self.files.open(base + TOKEN_SUFFIX)
        self._csv = self.files.open(base + INDEX_SUFFIX)
        self._filled = self._rows = 0

    def _close(self) -> None:
        assert self._npy is not None and self._csv is not None
        self.files.commit(self._npy.path)
        self.files.commit(self._csv.path)
        self.parts.append((self._npy.path, self._csv.path, {"documents": self._rows, "tokens": self._filled}))
        self._npy = self._csv = None

    def write(self, tokens: np.ndarray, lengths: Sequence[int], meta: Sequence[Tuple[str, str, int]]) -> None:
        """``tokens`` holds the documents back to back; ``lengths``/``meta`` (id, src, loc) describe each one."""
        if self._npy is None:
            self._open()
        rows, out = _rows()
        chunk_start = 0  # where the bytes not yet written to the current file begin in `tokens`
        pos = 0
        for n, (doc_id, src, loc) in zip(lengths, meta):
            if self._filled + n > self.max_tokens and self._filled > 0:
                self._flush(tokens[chunk_start:pos], rows)
                rows, out = _rows()
                self._close()
                self._open()
                chunk_start = pos
            while n > self.max_tokens - self._filled:  # only a document longer than a whole file gets here
                take = self.max_tokens - self._filled
                out.writerow((self._filled, self.max_tokens, doc_id, src, loc))
                self._rows += 1
                self._filled = self.max_tokens
                self._flush(tokens[chunk_start : pos + take], rows)
                rows, out = _rows()
                self._close()
                self._open()
                pos += take
                n -= take
                chunk_start = pos
            out.writerow((self._filled, self._filled + n, doc_id, src, loc))
            self._rows += 1
            self._filled += n
            pos += n
        self._flush(tokens[chunk_start:pos], rows)

    def _flush(self, tokens: np.ndarray, rows: io.StringIO) -> None:
        assert self._npy is not None and self._csv is not None
        if len(tokens):
            self._npy.write(memoryview(np.ascontiguousarray(tokens)).cast("B"))
        text = rows.getvalue()
        if text:
            self._csv.write(text.encode("utf-8"))

    def finish(self) -> None:
        if self._npy is None and not self.parts:
            self._open()  # a group with no tokens still leaves an (empty) part, so the unit reads as done
        if self._npy is not None:
            self._close()


def _remove_tmp_leftovers(prefix: str) -> None:
    """Temporary files a killed run of this group left behind (local folders; S3 uploads are never half-done)."""
    folder, name = os.path.split(prefix)
    if is_s3(prefix) or not os.path.isdir(folder):
        return
    for entry in os.listdir(folder):
        if entry.startswith(f".{name}-") and dio.TMP_MARK in entry:
            os.remove(os.path.join(folder, entry))


def _rows() -> Tuple[io.StringIO, Any]:
    buffer = io.StringIO()
    return buffer, csv.writer(buffer, lineterminator="\n")



class TokensStage(Stage[_Group]):
    name = "tokens"

    @property
    def resources(self) -> Resources:  # type: ignore[override]
        """1 GiB (a worker peaked at ~660 MB, tokenizer and buffers, on the benchmark corpus), and 2.15 and 2.1 bytes
        per byte of a document measured above that while it tokenized one 20 MB and one 200 MB document
        (bench/large_document_memory.py: the text, its ids, and while it is read, its line and decoded pieces)."""
        return Resources.for_documents(1024 * MiB, 2.5, self.config.max_document_bytes)

    def __init__(self, config: TokensConfig) -> None:
        if not config.documents:
            raise ConfigError("missing required key `documents`: give at least one documents path or glob")
        if not config.destination:
            raise ConfigError("missing required key `destination`: the folder for the token files")
        if config.tokenizer.name_or_path is None and config.tokenizer_name_or_path is not None:
            config = msgspec.structs.replace(
                config, tokenizer=msgspec.structs.replace(config.tokenizer, name_or_path=config.tokenizer_name_or_path)
            )
        self.config = config
        tokenizer = load_tokenizer(config.tokenizer)  # loaded here too, so a bad tokenizer or dtype fails up front
        self.identity: TokenizerIdentity = tokenizer.identity
        max_id = max(tokenizer.max_id, *(i for i in (tokenizer.bos_token_id, tokenizer.eos_token_id) if i is not None))
        self.dtype = resolve_dtype(config.dtype, max_id)
        self.max_tokens = config.max_size // self.dtype.itemsize
        if self.max_tokens < 1:
            raise ConfigError(f"`max_size`: {config.max_size} bytes cannot hold one {self.dtype.name} token")
        self._tokenizer: Optional[Tokenizer] = tokenizer
        self._record: Any = None
        self._get_id: Optional[Callable[[Any], Any]] = None

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_tokenizer=None, _record=None, _get_id=None)  # workers build their own in setup()
        return state

    # --- planning (in the parent) -------------------------------------------------------------------------

    def describe_plan(self) -> str:
        return (
            f"{Stage.describe_plan(self)}; dtype {self.dtype.name}; tokenizer {self.identity.source} "
            f"({self.identity.encoder}, {self.identity.vocab_size:,} ids)"
        )

    def finish(self, units: List[WorkUnit], report: RunReport) -> None:
        if not report.done:
            return
        totals = report.totals()
        rate = totals.get("tokens", 0) / report.seconds if report.seconds > 0 else 0.0
        log.info(
            "tokens: %s tokens in %d file(s) (%s); %s empty document(s) skipped; %.0f tokens/s",
            f"{totals.get('tokens', 0):,}",
            totals.get("files", 0),
            self.dtype.name,
            f"{totals.get('documents_empty', 0):,}",
            rate,
        )

    def units(self) -> List[WorkUnit]:
        files: List[str] = []
        for pattern in self.config.documents:
            matches = [p for p in glob_paths(pattern) if not is_side_file(p)]
            if not matches:
                raise ConfigError(f"`documents`: no files match {pattern!r}")
            files.extend(matches)
        files = sorted(set(files))
        random.Random(self.config.seed).shuffle(files)
        n_groups = math.ceil(len(files) / self.config.ring_size)
        digits = max(1, len(str(n_groups - 1)))
        units = []
        for g in range(n_groups):
            members = tuple(files[g::n_groups])
            sizes = tuple(dio.schedule_size(p) for p in members)
            group = _Group(g, members, sizes, join(self.config.destination or "", f"part-{g:0{digits}d}"))
            units.append(WorkUnit(key=group.prefix, size=sum(sizes), payload=group, outputs=(group.prefix + ".npy",),
                                  inputs=members))
        return units

    def _config_for(self, group: _Group) -> Dict[str, Any]:
        """What determines a group's bytes, and so its manifests' hash; ``dtype`` is what readers need."""
        c = self.config
        identity = self.identity.to_dict()
        for key in ("name_or_path", "source", "encoder"):  # where it was loaded from and how does not change ids
            identity.pop(key)
        return {
            "stage": self.name,
            "dtype": self.dtype.name,
            "tokenizer": identity,
            "segment_before_tokenization": c.tokenizer.segment_before_tokenization,
            "encode_special_tokens": c.tokenizer.encode_special_tokens,
            "max_size": c.max_size,
            "max_tokens": self.max_tokens,
            "batch_size": c.batch_size,
            "ring_size": c.ring_size,
            "sample_ring_prop": c.sample_ring_prop,
            "seed": c.seed,
            "fields": msgspec.to_builtins(c.fields),
            "on_error": c.on_error,
            "group": group.index,
            "files": list(group.files),
        }

    def is_done(self, unit: WorkUnit) -> bool:
        group: _Group = unit.payload
        want = config_hash(self._config_for(group))
        first = read_manifest(manifest_path(f"{group.prefix}-00000{TOKEN_SUFFIX}"))
        if first is None or first.config_hash != want:
            return False
        for k in range(first.counts.get("parts", 0)):
            npy = f"{group.prefix}-{k:05d}{TOKEN_SUFFIX}"
            manifest = first if k == 0 else read_manifest(manifest_path(npy))
            if manifest is None or manifest.config_hash != want:
                return False
            if not all(dio.exists(entry.path) for entry in manifest.outputs):
                return False
        return True

    # --- work (in a worker) -------------------------------------------------------------------------------

    def setup(self) -> None:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.config.tokenizer)
        fields = self.config.fields
        self._record = _record_type(fields.text_field_name, fields.id_field_name)
        if fields.id_field_name is not None:
            self._get_id = operator.attrgetter(fields.id_field_name)
        self._get_text = operator.attrgetter(fields.text_field_name)

    def run(self, unit: WorkUnit, progress: Progress) -> Dict[str, int]:
        """Tokenize a group. With ``on_error: skip``, a file of the group that cannot be read to its end (truncated,
        corrupt, missing) is left out and the group is tokenized again without it, so that one bad file costs the
        group only that file; it is recorded in the group's quarantine file and counted (``files_dropped``)."""
        dropped: Dict[str, InputError] = {}
        while True:
            try:
                return self._run_group(unit, progress, dropped)
            except InputError as exc:
                group: _Group = unit.payload
                if self.config.on_error != "skip" or exc.path not in group.files or exc.path in dropped:
                    raise
                log.warning("%s: %s; tokenizing the group again without this file", unit.key, exc)
                dropped[exc.path] = exc

    def _run_group(self, unit: WorkUnit, progress: Progress, dropped: Dict[str, InputError]) -> Dict[str, int]:
        if self._record is None:
            self.setup()
        started = time.monotonic()
        group: _Group = unit.payload
        if dropped:
            kept = [(f, n) for f, n in zip(group.files, group.sizes) if f not in dropped]
            group = _Group(group.index, tuple(f for f, _ in kept), tuple(n for _, n in kept), group.prefix)
        _remove_tmp_leftovers(group.prefix)
        counts = {
            "documents_in": 0,
            "documents_out": 0,
            "documents_empty": 0,
            "documents_quarantined": 0,
            "bytes_in": 0,
            "tokens": 0,
        }
        if dropped:
            counts["files_dropped"] = len(dropped)
        limit = self.config.max_document_bytes
        readers = [DocumentsReader(path, record_type=self._record, max_document_bytes=limit) for path in group.files]
        rng = random.Random(self.config.seed * 1_000_003 + group.index)
        with UnitOutputs(self.name, self.config, quarantine=group.prefix + QUARANTINE_SUFFIX, started=started) as files:
            writer = _PartWriter(files, group.prefix, self.dtype, self.max_tokens)
            files.quarantine_records(
                [QuarantineLine(path, exc.line, f"file left out of its group: {exc.reason}", "")
                 for path, exc in dropped.items()]
            )
            window: List[Tuple[str, str, str, int]] = []
            for item in self._interleave(group, readers, rng, counts, progress):
                if not isinstance(item[-1], BadLine):
                    window.append(item)  # type: ignore[arg-type]
                    if len(window) >= self.config.batch_size:
                        self._write_window(window, rng, writer, counts)
                        window = []
                    continue
                path, bad = item
                if self.config.on_error == "fail" and not bad.oversized:
                    raise InputError(path, bad.line, bad.reason)
                files.quarantine(path, [bad])
                counts["documents_quarantined"] += 1
            if window:
                self._write_window(window, rng, writer, counts)
            writer.finish()
        if files.quarantine_entry is None:
            dio.remove(group.prefix + QUARANTINE_SUFFIX)  # a previous run's, if any
        self._write_manifests(group, writer, [input_entry(r) for r in readers], files, counts)
        self._remove_stale_parts(group, len(writer.parts))
        counts["files"] = len(writer.parts)
        return counts

    def _interleave(
        self, group: _Group, readers: List[DocumentsReader], rng: random.Random, counts: Dict[str, int], progress: Progress
    ) -> Iterator[Union[Tuple[str, str, str, int], Tuple[str, BadLine]]]:
        """Documents of the group's files, one file after another in turn: (text, id, src, loc) for a document
        with text, (path, BadLine) for a bad line; empty documents are counted and left out."""
        streams = [self._documents(path, reader, counts, progress) for path, reader in zip(group.files, readers)]
        weights = [max(size, 1) for size in group.sizes]
        turn = 0
        while streams:
            if self.config.sample_ring_prop and len(streams) > 1:
                k = rng.choices(range(len(streams)), weights=weights)[0]
            else:
                k = turn % len(streams)
            item = next(streams[k], None)
            if item is None:
                del streams[k]
                del weights[k]
                continue
            turn = k + 1
            yield item

    def _documents(
        self, path: str, reader: DocumentsReader, counts: Dict[str, int], progress: Progress
    ) -> Iterator[Union[Tuple[str, str, str, int], Tuple[str, BadLine]]]:
        get_text, get_id = self._get_text, self._get_id
        assert self._tokenizer is not None
        is_long = self._tokenizer.is_long
        path_hash = hashlib.sha256(path.encode("utf-8")).hexdigest()
        for batch in reader:
            counts["documents_in"] += len(batch.items)
            counts["bytes_in"] += batch.nbytes
            progress.update(docs=len(batch.items), nbytes=batch.nbytes)
            for offset, record in enumerate(batch.items):
                line = batch.first_line + offset
                if isinstance(record, BadLine):
                    yield path, record
                    continue
                text = get_text(record)
                if is_long(len(text)):  # not copied to strip it: its bounds go with it
                    start, end = strip_bounds(text)
                    text = _LongText(text, start, end) if start < end else ""
                else:
                    text = text.strip()
                if not text:
                    counts["documents_empty"] += 1
                    continue
                doc_id = str(get_id(record)) if get_id is not None else f"{path_hash}-{line}"
                yield text, doc_id, path, line

    def _write_window(
        self, window: List[Tuple[str, str, str, int]], rng: random.Random, writer: _PartWriter, counts: Dict[str, int]
    ) -> None:
        assert self._tokenizer is not None
        rng.shuffle(window)
        tokenizer = self._tokenizer
        short = [i for i, doc in enumerate(window) if not isinstance(doc[0], _LongText)]
        encoded: List[Any] = [None] * len(window)
        for i, ids in zip(short, tokenizer.encode_plain([window[i][0] for i in short])):  # type: ignore[misc]
            encoded[i] = ids
        bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
        extra = (bos is not None) + (eos is not None)
        # a long text's ids are written as its pieces are encoded, into room for as many ids as it has UTF-8 bytes
        # (a token holds at least one): pages never written take no memory
        room = sum(len(ids) if ids is not None else utf8_length(*window[i][0]) for i, ids in enumerate(encoded))
        tokens = np.empty(room + extra * len(window), dtype=self.dtype)
        lengths: List[int] = []
        pos = 0
        for doc, ids in zip(window, encoded):
            begin = pos
            if bos is not None:
                tokens[pos] = bos
                pos += 1
            for piece in (ids,) if ids is not None else tokenizer.encode_long(*doc[0]):
                tokens[pos : pos + len(piece)] = piece
                pos += len(piece)
            if eos is not None:
                tokens[pos] = eos
                pos += 1
            lengths.append(pos - begin)
        tokens = tokens[:pos]
        writer.write(tokens, lengths, [(doc_id, src, loc) for _, doc_id, src, loc in window])
        counts["documents_out"] += len(window)
        counts["tokens"] += len(tokens)

    def _write_manifests(
        self, group: _Group, writer: _PartWriter, inputs: List[FileEntry], files: UnitOutputs, counts: Dict[str, int]
    ) -> None:
        config = self._config_for(group)
        parts = len(writer.parts)
        # written from the last part to the first: part 0's manifest, which is_done reads first, comes last
        for k in reversed(range(parts)):
            npy, csv_path, info = writer.parts[k]
            part_counts = {"part": k, "parts": parts, "documents": info["documents"], "tokens": info["tokens"]}
            if k == 0:  # the group's totals, once, so sums over manifests add up
                part_counts.update({key: v for key, v in counts.items() if key != "tokens"})
            files.write_manifest(manifest_path(npy), config, inputs, [npy, csv_path], part_counts, quarantine=k == 0)

    def _remove_stale_parts(self, group: _Group, parts: int) -> None:
        """Parts a previous run of this group left beyond the ones just written (it had another config)."""
        k = parts
        while True:
            base = f"{group.prefix}-{k:05d}"
            found = [p for p in (base + TOKEN_SUFFIX, base + INDEX_SUFFIX, manifest_path(base + TOKEN_SUFFIX)) if dio.exists(p)]
            if not found:
                return
            for path in found:
                dio.remove(path)
            k += 1
