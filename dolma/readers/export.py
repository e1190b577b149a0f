"""``dolma export``: documents files (a mixed corpus) → Parquet files or a Hugging Face dataset folder.

One work unit per documents file, read in batches and written as it goes: a Parquet row group or an Arrow
record batch holds about ``row_group_bytes`` of text, so memory stays flat whatever the file size.

The schema is fixed and explicit (:func:`arrow_schema`): ``id``, ``text``, ``source``, ``added``, ``created``,
``version`` as strings, ``metadata`` as the JSON text of the metadata object (free-form objects have no fixed
columnar type), and ``extra`` as the JSON text of every other top-level field, including a known field whose
value is not a string. ``dolma import`` reads it back into the same documents (``fields`` defaults); only
fields whose value is ``null`` are not kept.

``format: hf`` writes ``data-00000-of-000NN.arrow`` (Arrow streams with the ``datasets`` features in their
schema metadata, the n-th input file in name order giving the n-th shard), and, once every shard is done,
``dataset_info.json`` and ``state.json``, so ``datasets.load_from_disk(destination)`` opens it.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import msgspec

from dolma.core import io as dio
from dolma.core.errors import ConfigError, InputError
from dolma.core.units import Progress, RunReport, Stage, WorkUnit
from dolma.core.manifest import config_hash, manifest_path, read_manifest
from dolma.core.outputs import UnitOutputs, input_entry
from dolma.core.paths import glob_paths, glob_root, join
from dolma.readers.config import ExportConfig
from dolma.core.records import QUARANTINE_SUFFIX, BadLine, DocumentsReader, is_side_file

__all__ = ["ExportStage", "arrow_schema", "SCHEMA_FIELDS", "finish_hf_folder"]

log = logging.getLogger("dolma")

_STRING_FIELDS = ("id", "text", "source", "added", "created", "version")
_INPUT_EXTS = (".jsonl.gz", ".jsonl.zst", ".jsonl.zstd", ".json.gz", ".json.zst", ".jsonl", ".json", ".gz", ".zst")
_ENCODER = msgspec.json.Encoder()


def arrow_schema() -> Any:
    import pyarrow as pa

    fields = [pa.field(name, pa.string(), nullable=name not in ("id", "text")) for name in _STRING_FIELDS]
    fields += [pa.field("metadata", pa.string()), pa.field("extra", pa.string())]
    return pa.schema(fields)


SCHEMA_FIELDS = (*_STRING_FIELDS, "metadata", "extra")


def _hf_features() -> Dict[str, Any]:
    return {name: {"dtype": "string", "_type": "Value"} for name in SCHEMA_FIELDS}


class _Columns:
    """Documents gathered column by column until a row group is full."""

    def __init__(self) -> None:
        self.cols: Dict[str, List[Any]] = {}
        self.nbytes = 0
        self.rows = 0
        self._reset()

    def _reset(self) -> None:
        self.cols = {name: [] for name in SCHEMA_FIELDS}
        self.nbytes = 0
        self.rows = 0

    def add(self, doc: Dict[str, Any]) -> None:
        cols = self.cols
        extra: Optional[Dict[str, Any]] = None
        for name in _STRING_FIELDS[2:]:
            value = doc.get(name)
            if value is not None and not isinstance(value, str):
                extra = extra or {}
                extra[name] = value
                value = None
            cols[name].append(value)
        text = doc["text"]
        cols["id"].append(doc["id"])
        cols["text"].append(text)
        meta = doc.get("metadata")
        if meta is None or isinstance(meta, dict):
            cols["metadata"].append(None if meta is None else _ENCODER.encode(meta))
        else:
            extra = extra or {}
            extra["metadata"] = meta
            cols["metadata"].append(None)
        if len(doc) > 2:
            for key, value in doc.items():
                if key not in _KNOWN:
                    extra = extra or {}
                    extra[key] = value
        cols["extra"].append(None if extra is None else _ENCODER.encode(extra))
        self.nbytes += len(text)
        self.rows += 1

    def take(self, schema: Any) -> Any:
        import pyarrow as pa

        arrays = []
        for f in schema:
            values = self.cols[f.name]
            if f.name in _STRING_FIELDS:  # str.encode + a binary view is several times faster than pa.array(str)
                values = [v.encode("utf-8") if v is not None else None for v in values]
            # every value is valid UTF-8 (str.encode and msgspec output), so the view needs no validation pass
            arrays.append(pa.array(values, type=pa.binary()).view(pa.string()))
        batch = pa.record_batch(arrays, schema=schema)
        self._reset()
        return batch


_KNOWN = frozenset(SCHEMA_FIELDS[:-1])


class _Sink(io.RawIOBase):
    """A write-only file over an AtomicWriter (what pyarrow writers need: write and tell)."""

    def __init__(self, writer: dio.AtomicWriter) -> None:
        self._writer = writer
        self._pos = 0
        self.discard = False  # after a failure: what a pyarrow writer still flushes goes nowhere

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        n = len(memoryview(data))
        if not self.discard:
            self._writer.write(bytes(data))
        self._pos += n
        return n

    def tell(self) -> int:
        return self._pos


@dataclass(frozen=True)
class _Planned:
    output: str
    index: int



def _output_stem(rel: str) -> str:
    low = rel.lower()
    for ext in _INPUT_EXTS:
        if low.endswith(ext):
            return rel[: len(rel) - len(ext)]
    return rel


class ExportStage(Stage["_Planned"]):
    name = "export"

    def __init__(self, config: ExportConfig) -> None:
        if not config.documents:
            raise ConfigError("missing required key `documents`: documents files or globs to export")
        if not config.destination:
            raise ConfigError("missing required key `destination`: the output folder")
        self.config = config
        self.destination: str = config.destination

    def units(self) -> List[WorkUnit]:
        inputs: List[Tuple[str, str]] = []
        seen = set()
        for pattern in self.config.documents:
            matches = glob_paths(pattern)
            if not matches:
                raise ConfigError(f"`documents`: no files match {pattern!r}")
            root = glob_root(pattern)
            for path in matches:
                name = path.rsplit("/", 1)[-1]
                if path in seen or name.startswith(".") or is_side_file(path):
                    continue
                seen.add(path)
                inputs.append((path, path[len(root) :] if path.startswith(root) else name))
        units: List[WorkUnit] = []
        outputs: Dict[str, str] = {}
        n = len(inputs)
        for i, (path, rel) in enumerate(sorted(inputs)):
            if self.config.format == "hf":
                out = join(self.destination, f"data-{i:05d}-of-{n:05d}.arrow")
            else:
                out = join(self.destination, _output_stem(rel) + ".parquet")
            if out in outputs:
                raise ConfigError(f"{outputs[out]} and {path} would both write {out}")
            outputs[out] = path
            units.append(WorkUnit(path, dio.schedule_size(path), _Planned(out, i), outputs=(out,), inputs=(path,)))
        return units

    def _config_for(self, unit: WorkUnit) -> Dict[str, Any]:
        c = self.config
        return {
            "stage": self.name,
            "input": unit.key,
            "format": c.format,
            "schema": list(SCHEMA_FIELDS),
            "parquet_compression": c.parquet_compression if c.format == "parquet" else None,
            "on_error": c.on_error,
        }

    def finish(self, units: List[WorkUnit], report: RunReport) -> None:
        if report.ok and self.config.format == "hf":
            finish_hf_folder(self.destination, units)

    def is_done(self, unit: WorkUnit) -> bool:
        out = unit.payload.output
        manifest = read_manifest(manifest_path(out))
        return manifest is not None and manifest.config_hash == config_hash(self._config_for(unit)) and dio.exists(out)

    def setup(self) -> None:
        pass

    def run(self, unit: WorkUnit, progress: Progress) -> Dict[str, int]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        out: str = unit.payload.output
        schema = arrow_schema()
        if self.config.format == "hf":
            schema = schema.with_metadata({"huggingface": json.dumps({"info": {"features": _hf_features()}})})
        counts = {"documents_in": 0, "documents_out": 0, "documents_quarantined": 0, "bytes_in": 0, "row_groups": 0}
        reader = DocumentsReader(unit.key, record_type=Dict[str, Any], max_document_bytes=self.config.max_document_bytes)
        columns = _Columns()
        with UnitOutputs(self.name, self.config, quarantine=out + QUARANTINE_SUFFIX) as files:
            raw_sink = _Sink(files.open(out))
            writer: Any = None
            try:
                sink = pa.PythonFile(raw_sink, mode="w")
                if self.config.format == "hf":
                    writer = pa.ipc.new_stream(sink, schema)
                    write = writer.write_batch
                else:
                    compression = None if self.config.parquet_compression == "none" else self.config.parquet_compression
                    writer = pq.ParquetWriter(sink, schema, compression=compression)
                    write = lambda b: writer.write_batch(b, row_group_size=b.num_rows)  # noqa: E731 - one row group per batch
                for batch in reader:
                    bad: List[BadLine] = []
                    for offset, item in enumerate(batch.items):
                        reason = _check(item)
                        if reason is None:
                            columns.add(item)
                        else:
                            bad.append(item if isinstance(item, BadLine) else BadLine(batch.first_line + offset, _ENCODER.encode(item), reason))
                        if columns.nbytes >= self.config.row_group_bytes:
                            write(columns.take(schema))
                            counts["row_groups"] += 1
                    failing = [b for b in bad if not b.oversized]
                    if failing and self.config.on_error == "fail":
                        raise InputError(unit.key, failing[0].line, failing[0].reason)
                    files.quarantine(unit.key, bad)
                    counts["documents_in"] += len(batch.items)
                    counts["documents_out"] += len(batch.items) - len(bad)
                    counts["documents_quarantined"] += len(bad)
                    counts["bytes_in"] += batch.nbytes
                    progress.update(docs=len(batch.items), nbytes=batch.nbytes)
                if columns.rows or counts["row_groups"] == 0:
                    write(columns.take(schema))
                    counts["row_groups"] += 1
                writer.close()
                sink.close()
            except BaseException:
                raw_sink.discard = True  # what the pyarrow writer still flushes on closing goes nowhere
                if writer is not None:
                    writer.close()
                raise
        files.write_manifest(manifest_path(out), self._config_for(unit), [input_entry(reader)], [out], counts)
        return counts


def _check(item: Any) -> Optional[str]:
    if isinstance(item, BadLine):
        return item.reason
    for name in ("id", "text"):
        value = item.get(name)
        if not isinstance(value, str):
            return f"missing required field `{name}`" if value is None else f"wrong type: `{name}` is not a string"
    return None


def finish_hf_folder(destination: str, units: List[WorkUnit]) -> None:
    """Write ``dataset_info.json`` and ``state.json`` once every shard of the folder is complete."""
    outputs = [u.payload.output for u in units]
    digests = []
    for out in outputs:
        manifest = read_manifest(manifest_path(out))
        if manifest is None:
            raise ConfigError(f"{out}: no manifest; the dataset folder is incomplete")
        digests.append(manifest.outputs[0].sha256)
    info = {"citation": "", "description": "", "features": _hf_features(), "homepage": "", "license": ""}
    state = {
        "_data_files": [{"filename": out.rsplit("/", 1)[-1]} for out in outputs],
        "_fingerprint": config_hash(digests)[:16],
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    }
    dio.write_bytes_atomic(join(destination, "dataset_info.json"), json.dumps(info, indent=2).encode() + b"\n")
    dio.write_bytes_atomic(join(destination, "state.json"), json.dumps(state, indent=2).encode() + b"\n")
