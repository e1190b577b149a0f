"""Import inputs: which work units a config makes, and how each unit's records are read, batch by batch.

Units (one input file each, except loose files):
- a Parquet file, read by record batches (``batch_size`` rows at a time);
- an Arrow file of a ``datasets`` ``save_to_disk`` folder (a folder given as input means its ``.arrow`` files);
- a JSON-lines file (``.jsonl``/``.json``/``.ndjson``, plain, ``.gz`` or ``.zst``) with any field names;
- one shard of a ``datasets.load_dataset`` stream (``dataset.path``): one data file of the dataset;
- loose ``.txt``/``.md``/``.html`` files: up to ``files_per_unit`` files of one folder, in name order, one
  document per file (a folder of a million pages must not make a million units).
Remote (``s3://``) Parquet and Arrow files are copied to a local temporary file first, since both formats need
random access; everything else streams.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

import msgspec

from dolma.core import io as dio
from dolma.core.errors import ConfigError, InputError
from dolma.core.manifest import MANIFEST_SUFFIX, FileEntry
from dolma.core.paths import glob_paths, glob_root, is_s3
from dolma.readers.mapping import FieldMapper, Rejected, derived_id
from dolma.core.records import DocumentsReader

__all__ = ["Batch", "ImportUnit", "plan_import", "read_import_unit", "detect_format", "materialise"]

_COMPRESSION = (".gz", ".gzip", ".zst", ".zstd")
_SUFFIXES: List[Tuple[str, str]] = [
    (".parquet", "parquet"),
    (".pq", "parquet"),
    (".arrow", "arrow"),
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".json", "jsonl"),
    (".txt", "text"),
    (".text", "text"),
    (".md", "markdown"),
    (".markdown", "markdown"),
    (".html", "html"),
    (".htm", "html"),
    (".xhtml", "html"),
]
LOOSE = ("text", "markdown", "html")
# the bookkeeping files of a `save_to_disk` folder, and our own side files
_SKIP_NAMES = ("state.json", "dataset_info.json", "dataset_dict.json")
_LOOSE_BATCH_BYTES = 1 << 22


@dataclass
class Batch:
    docs: List[Dict[str, Any]]
    rejected: List[Rejected]
    nbytes: int
    dropped: Dict[str, int] = field(default_factory=dict)  # records that are not documents, by reason
    other: Dict[str, int] = field(default_factory=dict)  # further counts for the manifest


class ImportUnit(msgspec.Struct, frozen=True):
    kind: str
    files: Tuple[str, ...]  # one file, or a folder's loose files; empty for a dataset shard
    rels: Tuple[str, ...]  # each file's path below its input root: what derived ids hash
    stem: str  # output name below documents/, without the shard number
    shard: int = -1  # dataset shard index


def detect_format(path: str) -> Optional[Tuple[str, str]]:
    """``(format, extension)`` from a file name (``data.jsonl.gz`` → ``("jsonl", ".jsonl.gz")``)."""
    name = path.rsplit("/", 1)[-1].lower()
    comp = next((c for c in _COMPRESSION if name.endswith(c)), "")
    base = name[: len(name) - len(comp)]
    for suffix, fmt in _SUFFIXES:
        if base.endswith(suffix):
            if comp and fmt in ("parquet", "arrow"):
                return None
            return fmt, suffix + comp
    return None


def _skipped(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name in _SKIP_NAMES or name.endswith(MANIFEST_SUFFIX) or name.startswith(".")


def plan_import(documents: List[str], fmt: str, files_per_unit: int) -> List[ImportUnit]:
    units: List[ImportUnit] = []
    loose: Dict[Tuple[str, str], List[Tuple[str, str]]] = {}  # (kind, folder rel) → [(path, rel)]
    seen: set = set()
    for pattern in documents:
        matches = [p for p in glob_paths(pattern) if not _skipped(p)]
        if not matches:
            raise ConfigError(f"`documents`: no files match {pattern!r}")
        root = glob_root(pattern)
        for path in matches:
            if path in seen:
                continue
            seen.add(path)
            rel = path[len(root) :] if path.startswith(root) else path.rsplit("/", 1)[-1]
            found = detect_format(path)
            kind = fmt if fmt != "auto" else (found[0] if found else None)
            if kind is None:
                raise ConfigError(f"{path}: cannot tell its format from the name; set `format`")
            if kind in LOOSE:
                folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
                loose.setdefault((kind, folder), []).append((path, rel))
                continue
            ext = found[1] if found and found[0] == kind else ""
            stem = rel[: len(rel) - len(ext)] if ext else rel
            units.append(ImportUnit(kind, (path,), (rel,), stem))
    for (kind, folder), files in sorted(loose.items()):
        files.sort()
        for n, start in enumerate(range(0, len(files), files_per_unit)):
            chunk = files[start : start + files_per_unit]
            name = f"{kind}-{n:05d}"
            stem = f"{folder}/{name}" if folder else name
            units.append(ImportUnit(kind, tuple(p for p, _ in chunk), tuple(r for _, r in chunk), stem))
    return units


@contextlib.contextmanager
def materialise(path: str) -> Iterator[Tuple[str, FileEntry]]:
    """A local path for ``path`` (a temporary copy of a remote file) and its manifest entry (size, sha256)."""
    if not is_s3(path):
        try:
            with open(path, "rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
        except FileNotFoundError:
            raise InputError(path, None, "no such file") from None
        yield path, FileEntry(path, os.path.getsize(path), digest)
        return
    reader = dio.HashingReader(dio.open_raw(path))
    with tempfile.NamedTemporaryFile(suffix="-" + path.rsplit("/", 1)[-1]) as tmp:
        with reader:
            shutil.copyfileobj(reader, tmp, 1 << 22)  # type: ignore[misc]
        tmp.flush()
        yield tmp.name, FileEntry(path, reader.bytes_read, reader.sha256.hexdigest())


def read_import_unit(
    unit: ImportUnit,
    mapper: FieldMapper,
    batch_size: int,
    inputs: List[FileEntry],
    linearize: Any = None,
    dataset: Any = None,
    max_document_bytes: Optional[int] = None,
) -> Iterator[Batch]:
    """The unit's records as batches of documents; ``inputs`` receives each input file's manifest entry."""
    if unit.kind == "parquet":
        yield from _parquet(unit.files[0], unit.rels[0], mapper, batch_size, inputs)
    elif unit.kind == "arrow":
        yield from _arrow(unit.files[0], unit.rels[0], mapper, batch_size, inputs)
    elif unit.kind == "jsonl":
        yield from _jsonl(unit.files[0], unit.rels[0], mapper, inputs, max_document_bytes)
    elif unit.kind == "dataset":
        yield from _dataset_shard(dataset, unit, mapper, batch_size, inputs)
    elif unit.kind in LOOSE:
        yield from _loose(unit, mapper.source, linearize if unit.kind == "html" else None, inputs)
    else:
        raise ConfigError(f"unknown input format {unit.kind!r}")


def _arrow_errors() -> Tuple[type, ...]:
    import pyarrow as pa

    return (pa.ArrowException, OSError)


def _parquet(path: str, rel: str, mapper: FieldMapper, batch_size: int, inputs: List[FileEntry]) -> Iterator[Batch]:
    import pyarrow.parquet as pq

    errors = _arrow_errors()
    with materialise(path) as (local, entry):
        try:
            pf = pq.ParquetFile(local)
        except errors as exc:
            raise InputError(path, None, f"not a readable Parquet file: {exc}") from None
        mapper.check_columns(pf.schema_arrow.names, path)
        row = 0
        batches = pf.iter_batches(batch_size=batch_size)
        while True:
            try:
                batch = next(batches, None)
            except errors as exc:
                raise InputError(path, None, f"row {row}: corrupt Parquet data: {exc}") from None
            if batch is None:
                break
            docs, rejected = mapper.map_batch(batch, row, path, rel)
            row += batch.num_rows
            yield Batch(docs, rejected, batch.nbytes)
        inputs.append(entry)


def _arrow(path: str, rel: str, mapper: FieldMapper, batch_size: int, inputs: List[FileEntry]) -> Iterator[Batch]:
    import pyarrow as pa

    errors = _arrow_errors()
    with materialise(path) as (local, entry):
        source = pa.memory_map(local)
        try:
            try:
                reader: Any = pa.ipc.open_stream(source)  # what `save_to_disk` writes
                batches: Iterator[Any] = iter(reader)
            except pa.ArrowInvalid:
                source.seek(0)
                file_reader = pa.ipc.open_file(source)
                batches = (file_reader.get_batch(i) for i in range(file_reader.num_record_batches))
                reader = file_reader
        except errors as exc:
            raise InputError(path, None, f"not a readable Arrow file: {exc}") from None
        mapper.check_columns(reader.schema.names, path)
        row = 0
        while True:
            try:
                batch = next(batches, None)
            except errors as exc:
                raise InputError(path, None, f"row {row}: corrupt Arrow data: {exc}") from None
            if batch is None:
                break
            for start in range(0, batch.num_rows, batch_size):
                part = batch.slice(start, batch_size)
                docs, rejected = mapper.map_batch(part, row, path, rel)
                row += part.num_rows
                yield Batch(docs, rejected, part.nbytes)
        source.close()
        inputs.append(entry)


def _jsonl(
    path: str, rel: str, mapper: FieldMapper, inputs: List[FileEntry], max_document_bytes: Optional[int]
) -> Iterator[Batch]:
    reader = DocumentsReader(path, record_type=Dict[str, Any], max_document_bytes=max_document_bytes)
    for batch in reader:
        docs, rejected = mapper.map_rows(batch.items, batch.first_line, path, rel)
        yield Batch(docs, rejected, batch.nbytes)
    inputs.append(FileEntry(path, reader.stored_bytes, reader.sha256))


def _dataset_shard(dataset: Any, unit: ImportUnit, mapper: FieldMapper, batch_size: int, inputs: List[FileEntry]) -> Iterator[Batch]:
    shard = dataset.shard(num_shards=dataset.num_shards, index=unit.shard).with_format("arrow")
    row = 0
    checked = False
    for table in shard.iter(batch_size=batch_size):
        if not checked:
            mapper.check_columns(table.schema.names, unit.stem)
            checked = True
        for batch in table.to_batches():
            docs, rejected = mapper.map_batch(batch, row, unit.stem, unit.stem)
            row += batch.num_rows
            yield Batch(docs, rejected, batch.nbytes)
    inputs.append(FileEntry(unit.stem, 0, ""))


def _loose(unit: ImportUnit, source: str, linearize: Any, inputs: List[FileEntry]) -> Iterator[Batch]:
    docs: List[Dict[str, Any]] = []
    rejected: List[Rejected] = []
    nbytes = 0
    for path, rel in zip(unit.files, unit.rels):
        hashing = dio.HashingReader(dio.open_raw(path))
        try:
            with dio.open_read(path, raw=hashing) as f:  # type: ignore[arg-type]
                data = f.read()
        except (EOFError, OSError, ValueError) as exc:
            raise InputError(path, None, f"corrupt or truncated file: {exc}") from None
        inputs.append(FileEntry(path, hashing.bytes_read, hashing.sha256.hexdigest()))
        nbytes += len(data)
        text = _loose_text(path, data, linearize, rejected)
        if text is not None:
            docs.append({"id": derived_id(source, rel, 0), "text": text, "source": source, "metadata": {"origin": {"file": path}}})
        if nbytes >= _LOOSE_BATCH_BYTES:
            yield Batch(docs, rejected, nbytes)
            docs, rejected, nbytes = [], [], 0
    if docs or rejected or nbytes:
        yield Batch(docs, rejected, nbytes)


def _loose_text(path: str, data: bytes, linearize: Any, rejected: List[Rejected]) -> Optional[str]:
    if linearize is not None:
        try:
            return linearize(data, None)
        except Exception as exc:  # the extractor's own errors, on one page
            rejected.append(Rejected(path, None, f"HTML extraction failed: {type(exc).__name__}: {exc}", ""))
            return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        rejected.append(Rejected(path, None, f"invalid UTF-8 (byte {exc.start})", data.decode("utf-8", "replace")))
        return None
    return text[1:] if text.startswith("\ufeff") else text
