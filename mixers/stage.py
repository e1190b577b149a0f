"""The mix stage: merge attributes into documents, filter, replace spans, sample, and write sharded output.

Planning (in the parent) lists each stream's documents files in sorted order; each file is one work unit, so
units run in parallel. A unit writes its output as parts in ``<path>/.mix-staging/`` — each part a run of
independently compressed blocks (gzip members / zstd frames) closed before it would pass
``max_size_in_bytes`` — plus a record of its parts. When units finish, :meth:`MixStage.finalise` walks the
parts in unit order and joins consecutive parts into shards ``<path>/<name>-NNNN.jsonl.gz`` by plain byte
concatenation (a shard takes the next part while it stays within ``max_size_in_bytes``), with a manifest each.
Names and bytes therefore depend only on the inputs and the config, never on the number of processes or the
order units finish in.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

import msgspec

from dolma.core import io as dio
from dolma.core.errors import ConfigError, InputError, UnitsFailed
from dolma.core.executor import execute
from dolma.core.runner import summarise, work_processes
from dolma.core.units import MiB, Progress, Resources, RunReport, Stage, WorkUnit
from dolma.core.environment import check_environment, output_environment
from dolma.core.manifest import FileEntry, config_hash, manifest_path, new_manifest, write_manifest
from dolma.mixers.config import MixConfig, StreamConfig
from dolma.mixers.errors import EvaluationError
from dolma.mixers.filters import DocFilter, compile_selector, referenced_names
from dolma.mixers.sampling import Sampler, copy_id
from dolma.mixers.targets import resolve_rates
from dolma.mixers.spans import SpanError, SpanRule, collect_spans, replace_spans
from dolma.core.paths import ATTRIBUTES_DIR, CorpusPath, glob_paths, is_s3, join, split_s3
from dolma.core.records import BadLine, DocumentsReader, QuarantineLine

__all__ = ["MixStage", "MeasureStage", "MixUnit", "STAGING_DIR", "MIXTURE_FILE", "shard_name"]

log = logging.getLogger("dolma")

STAGING_DIR = ".mix-staging"
MIXTURE_FILE = "mixture.json"  # what each stream of the mix holds, beside its shards
_MEMBER_BYTES = 1 << 20  # uncompressed bytes per compressed block
_ENCODER = msgspec.json.Encoder()
_DECODE = msgspec.json.Decoder().decode
# every part's manifest has these counts; drops add `dropped: <reason>` keys
_COUNT_KEYS = ("documents_in", "bytes_in", "documents_kept", "documents_out", "bytes_out", "documents_quarantined",
               "spans_replaced", "copies_added")


def shard_name(stream: str, index: int, extension: str) -> str:
    return f"{stream}-{index:04d}{extension}"


@dataclass(frozen=True)
class MixUnit:
    stream: int
    index: int  # position among the stream's units
    documents: Tuple[str, ...]
    attributes: Tuple[Tuple[str, ...], ...]  # per documents file, one path per attribute set


class PartRecord(msgspec.Struct):
    staged: str
    final: Optional[str]
    bytes: int
    sha256: str
    counts: Dict[str, int]


class UnitRecord(msgspec.Struct):
    config_hash: str
    inputs: List[FileEntry]
    parts: List[PartRecord]
    seconds: float
    environment: Optional[Dict[str, str]] = None  # Python and output-library versions (dolma.core.environment)


def _extension(stream: StreamConfig) -> str:
    kind = stream.compression.output
    if kind in ("zst", "zstd"):
        return ".jsonl.zst"
    if kind == "none":
        return ".jsonl"
    return ".jsonl.gz"


class _Compiled:
    """A stream's expressions, compiled (closures: built in each worker, never pickled)."""

    def __init__(self, stream: StreamConfig) -> None:
        f = stream.filter
        self.filter = DocFilter(f.include, f.exclude, f.syntax) if f is not None else None
        self.spans = [
            SpanRule(r.span, compile_selector(r.span, r.syntax), r.min_score, r.max_score, r.replacement)
            for r in stream.span_replacement
        ]
        # attribute values are decoded only when an expression can read them, the rest pass through as raw
        # JSON; span selectors' values only for documents the filter keeps (None: any name may be read)
        self.filter_names: Optional[Set[str]] = set() if self.filter is None else self.filter.names
        names: Optional[Set[str]] = set()
        for r in stream.span_replacement:
            more = referenced_names(r.span, r.syntax)
            names = None if names is None or more is None else names | more
        self.span_names = names


class _BlockCompressor:
    def __init__(self, extension: str, gzip_level: int) -> None:
        self.extension = extension
        self.level = gzip_level
        self._zstd: Any = None
        if extension.endswith(".zst"):
            import zstandard

            self._zstd = zstandard.ZstdCompressor(level=3)

    def compress(self, data: bytes) -> bytes:
        if self.extension.endswith(".gz"):
            from isal import igzip

            return igzip.compress(data, compresslevel=self.level, mtime=0)
        if self._zstd is not None:
            return self._zstd.compress(data)
        return data


class _PartWriter:
    """Writes compressed blocks into staged parts, starting a new part before one would pass ``limit``."""

    def __init__(self, staging: str, prefix: str, limit: int, compressor: _BlockCompressor) -> None:
        self.staging = staging
        self.prefix = prefix
        self.limit = limit
        self.compressor = compressor
        self.parts: List[PartRecord] = []
        self._writer: Optional[dio.AtomicWriter] = None
        self._size = 0
        self.counts: Dict[str, int] = {}

    def _open(self) -> None:
        # `.part` keeps AtomicWriter from compressing: the blocks are compressed already
        path = join(self.staging, f"{self.prefix}-p{len(self.parts):04d}{self.compressor.extension}.part")
        self._writer = dio.AtomicWriter(path)
        self._size = 0
        self.counts = dict.fromkeys(_COUNT_KEYS, 0)

    def _close(self) -> None:
        if self._writer is None:
            return
        if self._size == 0:  # a unit that kept nothing still publishes a valid (empty) shard
            self._writer.write(self.compressor.compress(b""))
        self._writer.commit()
        w = self._writer
        self.parts.append(PartRecord(w.path, None, w.bytes_written, w.sha256 or "", self.counts))
        self._writer = None

    def ensure_open(self) -> Dict[str, int]:
        """The counts of the part being written (opened if needed)."""
        if self._writer is None:
            self._open()
        return self.counts

    def write_lines(self, data: bytes) -> None:
        """JSON lines go into blocks of about ``_MEMBER_BYTES`` (at least one line each, whole lines only); a
        block that does not fit starts a new part."""
        budget = min(_MEMBER_BYTES, max(self.limit // 2, 1))
        start, n = 0, len(data)
        while start < n:
            end = data.rfind(b"\n", start, start + budget) + 1 if start + budget < n else n
            if end <= start:  # one line longer than the budget
                end = data.index(b"\n", start) + 1
            self._write_block(data[start:end])
            start = end

    def _write_block(self, raw: bytes) -> None:
        data = self.compressor.compress(raw)
        lines = raw.count(b"\n")
        if len(data) > self.limit and lines > 1:  # too big for any part: halve it
            cut = sum(len(x) for x in raw.splitlines(keepends=True)[: lines // 2])
            self._write_block(raw[:cut])
            self._write_block(raw[cut:])
            return
        if self._writer is not None and self._size and self._size + len(data) > self.limit:
            self._close()
        if self._writer is None:
            self._open()
        assert self._writer is not None
        self._writer.write(data)
        self._size += len(data)
        self.counts["documents_out"] += lines
        self.counts["bytes_out"] += len(raw)

    def finish(self) -> List[PartRecord]:
        self._close()
        return self.parts

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
        for part in self.parts:
            dio.remove(part.staged)



class MixStage(Stage[MixUnit]):
    name = "mix"
    # a worker peaked at ~160 MB mixing the benchmark corpus
    resources = Resources(memory=256 * MiB)

    def __init__(self, config: MixConfig, rates: Optional[Dict[str, float]] = None) -> None:
        _validate(config)
        for stream in config.streams:
            _Compiled(stream)  # syntax errors surface now, before any file is read
        self.config = config
        self.rates = rates or {s.name: s.sample for s in config.streams}
        self.measured: Dict[str, Dict[str, int]] = {}  # what the measuring pass found, for mixture.json
        self._compiled: List[_Compiled] = []
        self._samplers: List[Sampler] = []

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_compiled"] = []
        state["_samplers"] = []
        return state

    # --- around the units (driver) -----------------------------------------------------------------------

    @contextlib.contextmanager
    def running(self, units: List[WorkUnit]) -> Iterator[Optional[List[WorkUnit]]]:
        """Targeted streams are measured first (a pass of their own), and their sampling rates follow."""
        if any(s.target is not None for s in self.config.streams):
            self.measured = measure(self.config)
            self.rates = resolve_rates(self.config, self.measured)
        yield units

    def finish(self, units: List[WorkUnit], report: RunReport) -> None:
        self.publish(units, report)

    def publish(self, units: List[WorkUnit], report: RunReport) -> None:
        """Publish each stream's finished units as shards, and write `mixture.json` (what each stream holds)."""
        summary: Dict[str, Any] = {"streams": {}}
        total_out = 0
        for s, stream in enumerate(self.config.streams):
            planned = sum(1 for u in units if u.payload.stream == s)
            published, shards = self.finalise(s)
            if published < planned:
                log.warning("stream %s: %d of %d unit(s) published; rerun to finish the rest", stream.name, published, planned)
            totals: Dict[str, int] = {}
            for shard in shards:
                for k, v in shard.items():
                    if isinstance(v, int):
                        totals[k] = totals.get(k, 0) + v
            entry = {
                "output": stream.output.path,
                "shards": [sh["path"] for sh in shards],
                "sample_rate": self.rates[stream.name],
                "target": msgspec.to_builtins(stream.target),
                "measured_before_sampling": self.measured.get(stream.name),
                "counts": totals,
                "complete": published == planned,
            }
            summary["streams"][stream.name] = entry
            total_out += totals.get("bytes_out", 0)
        for entry in summary["streams"].values():
            entry["share_of_bytes_out"] = round(entry["counts"].get("bytes_out", 0) / total_out, 6) if total_out else 0.0
        data = msgspec.json.format(msgspec.json.encode(summary), indent=2) + b"\n"
        for path in dict.fromkeys(s.output.path for s in self.config.streams):
            dio.write_bytes_atomic(join(path, MIXTURE_FILE), data)

    # --- planning ---------------------------------------------------------------------------------------

    def units(self) -> List[WorkUnit]:
        units: List[WorkUnit] = []
        for s, stream in enumerate(self.config.streams):
            for unit in self.plan_stream(s):
                size = sum(_size(p) for p in unit.documents)
                # the parts go to staging, the shards and the driver's summary to the output folder
                outputs = (self._record_path(unit), join(stream.output.path, shard_name(stream.name, 0, ".gz")))
                units.append(WorkUnit(key=f"{stream.name}#{unit.index:04d} ({unit.documents[0]})", size=size,
                                      payload=unit, outputs=outputs))
        return units

    def plan_stream(self, s: int) -> List[MixUnit]:
        stream = self.config.streams[s]
        found: Dict[str, None] = {}
        for pattern in stream.documents:
            for path in glob_paths(pattern):
                if not path.endswith(".manifest.json"):
                    found[path] = None
        if not found:
            raise ConfigError(f"stream {stream.name!r}: no documents match {stream.documents}")
        units: List[MixUnit] = []
        for path in sorted(found):
            attrs = tuple(CorpusPath.parse(path).sibling(ATTRIBUTES_DIR, a) for a in stream.attributes)
            units.append(MixUnit(s, len(units), (path,), (attrs,)))
        return units

    def _staging(self, stream: StreamConfig) -> str:
        return join(stream.output.path, STAGING_DIR)

    def _record_path(self, unit: MixUnit) -> str:
        stream = self.config.streams[unit.stream]
        return join(self._staging(stream), f"{stream.name}-u{unit.index:04d}.json")

    def stream_config(self, s: int) -> Dict[str, Any]:
        """What determines a stream's output bytes (hashed into each unit record)."""
        stream = self.config.streams[s]
        return {
            "stage": self.name,
            "stream": msgspec.to_builtins(stream),
            "sample_rate": self.rates[stream.name],
            "seed": self.config.seed,
            "gzip_level": self.config.gzip_level,
            "on_error": self.config.on_error,
        }

    def _unit_hash(self, unit: MixUnit) -> str:
        return config_hash({**self.stream_config(unit.stream), "documents": list(unit.documents), "unit": unit.index})

    def read_record(self, unit: MixUnit) -> Optional[UnitRecord]:
        path = self._record_path(unit)
        if not dio.exists(path):
            return None
        try:
            record = msgspec.json.decode(dio.read_bytes(path), type=UnitRecord)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        check_environment(record.environment, path)
        return record

    def is_done(self, unit: WorkUnit) -> bool:
        mix_unit: MixUnit = unit.payload
        record = self.read_record(mix_unit)
        if record is None or record.config_hash != self._unit_hash(mix_unit):
            return False
        return all(dio.exists(p.final or p.staged) for p in record.parts)

    # --- work -------------------------------------------------------------------------------------------

    def setup(self) -> None:
        self._compiled = [_Compiled(s) for s in self.config.streams]
        self._samplers = [Sampler(self.rates[s.name], self.config.seed, s.name) for s in self.config.streams]

    def run(self, unit: WorkUnit, progress: Progress) -> Dict[str, int]:
        if not self._compiled:
            self.setup()
        mix_unit: MixUnit = unit.payload
        stream = self.config.streams[mix_unit.stream]
        started = time.monotonic()
        prefix = f"{stream.name}-u{mix_unit.index:04d}"
        out = _PartWriter(
            self._staging(stream), prefix, stream.output.max_size_in_bytes, _BlockCompressor(_extension(stream), self.config.gzip_level)
        )
        side = _SideFiles(stream, prefix)
        inputs: List[FileEntry] = []
        totals: Dict[str, int] = {}
        try:
            for doc_path, attr_paths in zip(mix_unit.documents, mix_unit.attributes):
                for batch_counts, lines in self._process_file(mix_unit.stream, doc_path, attr_paths, inputs, side, progress):
                    counts = out.ensure_open()
                    out.write_lines(lines)
                    # input-side counts go to the part the batch started in
                    for k, v in batch_counts.items():
                        counts[k] = counts.get(k, 0) + v
                        totals[k] = totals.get(k, 0) + v
            parts = out.finish()
            side.commit()
        except BaseException:
            out.abort()
            side.abort()
            raise
        record = UnitRecord(
            self._unit_hash(mix_unit), inputs, parts, round(time.monotonic() - started, 3), output_environment()
        )
        dio.write_bytes_atomic(self._record_path(mix_unit), msgspec.json.encode(record))
        totals["documents_out"] = sum(p.counts["documents_out"] for p in parts)
        totals["bytes_out"] = sum(p.counts["bytes_out"] for p in parts)
        totals["parts"] = len(parts)
        return totals

    def measure_unit(self, unit: MixUnit, progress: Progress) -> Dict[str, int]:
        """Documents, text bytes and whitespace tokens a stream keeps before sampling (for targets)."""
        totals = {"documents_kept": 0, "text_bytes": 0, "text_tokens": 0, "documents_in": 0, "bytes_in": 0}
        for doc_path, attr_paths in zip(unit.documents, unit.attributes):
            for docs, counts in self._kept(unit.stream, doc_path, attr_paths, [], None, progress):
                totals["documents_kept"] += len(docs)
                totals["documents_in"] += counts["documents_in"]
                totals["bytes_in"] += counts["bytes_in"]
                for _, doc in docs:
                    text = doc["text"]
                    totals["text_bytes"] += len(text.encode("utf-8"))
                    totals["text_tokens"] += len(text.split())
        return totals

    def _process_file(
        self, s: int, doc_path: str, attr_paths: Sequence[str], inputs: List[FileEntry], side: "_SideFiles", progress: Progress
    ) -> Iterator[Tuple[Dict[str, int], bytes]]:
        stream = self.config.streams[s]
        sampler = self._samplers[s]
        discard = stream.output.discard_fields
        for kept, counts in self._kept(s, doc_path, attr_paths, inputs, side, progress):
            if sampler.identity and not discard:
                counts["documents_kept"] += len(kept)
                yield counts, _ENCODER.encode_lines([doc for _, doc in kept]) if kept else b""
                continue
            out_docs: List[Dict[str, Any]] = []
            for line, doc in kept:
                n = 1 if sampler.identity else sampler.copies(doc["id"])
                if n == 0:
                    _bump(counts, "dropped: sampling")
                    side.dropped(doc, "sampling", doc_path, line)
                    continue
                counts["documents_kept"] += 1
                for field in discard:
                    doc.pop(field, None)
                out_docs.append(doc)
                if n > 1:
                    base = doc["id"]
                    for k in range(1, n):
                        copy = dict(doc)
                        copy["id"] = copy_id(base, k)
                        out_docs.append(copy)
                    counts["copies_added"] += n - 1
            yield counts, _ENCODER.encode_lines(out_docs) if out_docs else b""

    def _kept(
        self,
        s: int,
        doc_path: str,
        attr_paths: Sequence[str],
        inputs: List[FileEntry],
        side: Optional["_SideFiles"],
        progress: Progress,
    ) -> Iterator[Tuple[List[Tuple[int, Dict[str, Any]]], Dict[str, int]]]:
        """Per batch: the (line, document) pairs that pass the filter and text length, and the batch's counts."""
        stream = self.config.streams[s]
        compiled = self._compiled[s]
        doc_filter = compiled.filter
        rules = compiled.spans
        min_len = stream.output.min_text_length or 0
        skip_bad = self.config.on_error == "skip"
        reader = DocumentsReader(doc_path, record_type=Any)
        attr_readers = [_AttributeLines(p, doc_path, compiled.filter_names) for p in attr_paths]
        span_names = compiled.span_names
        single = attr_readers[0] if len(attr_readers) == 1 else None  # its rows become `attributes` as they are
        for batch in reader:
            counts = {"documents_in": len(batch.items), "bytes_in": batch.nbytes, "documents_kept": 0,
                      "documents_quarantined": 0, "spans_replaced": 0, "copies_added": 0}
            attr_rows = [a.take(len(batch.items), batch.first_line) for a in attr_readers]
            kept: List[Tuple[int, Dict[str, Any]]] = []
            for offset, doc in enumerate(batch.items):
                line = batch.first_line + offset
                problem = _document_problem(doc)
                if problem is not None:
                    if not skip_bad:
                        raise InputError(doc_path, line, problem)
                    counts["documents_quarantined"] += 1
                    if side is not None:
                        side.quarantine(doc_path, line, problem, doc)
                    continue
                doc_id = doc["id"]
                if single is not None and "attributes" not in doc:
                    doc["attributes"] = single.check(attr_rows[0][offset], doc_id, line)
                elif attr_rows:
                    merged = doc.get("attributes")
                    if not isinstance(merged, dict):
                        merged = doc["attributes"] = {}
                    for reader_, rows in zip(attr_readers, attr_rows):
                        merged.update(reader_.check(rows[offset], doc_id, line))
                try:
                    if doc_filter is not None:
                        reason = doc_filter.reason(doc)
                        if reason is not None:
                            _bump(counts, "dropped: " + reason)
                            if side is not None:
                                side.dropped(doc, reason, doc_path, line)
                            continue
                    if rules:
                        if attr_rows:
                            _decode_raw(doc["attributes"], span_names)
                        spans = collect_spans(doc, rules)
                        if spans:
                            doc["text"], replaced = replace_spans(doc["text"], spans, rules)
                            counts["spans_replaced"] += replaced
                except (EvaluationError, SpanError) as exc:
                    raise InputError(doc_path, line, f"stream {stream.name!r}: {exc}") from None
                if min_len and len(doc["text"]) < min_len:
                    _bump(counts, "dropped: min_text_length")
                    if side is not None:
                        side.dropped(doc, "min_text_length", doc_path, line)
                    continue
                metadata = doc.get("metadata")
                if metadata is None:
                    doc["metadata"] = {"provenance": f"{doc_path}:{line}"}
                elif isinstance(metadata, dict):
                    metadata["provenance"] = f"{doc_path}:{line}"
                else:
                    raise InputError(doc_path, line, f"`metadata` must be an object to record provenance, not {type(metadata).__name__}")
                kept.append((line, doc))
            progress.update(docs=len(batch.items), nbytes=batch.nbytes)
            yield kept, counts
        for a in attr_readers:
            a.finish()
        inputs.append(FileEntry(doc_path, reader.stored_bytes, reader.sha256))
        inputs.extend(a.entry() for a in attr_readers)

    # --- finalisation (in the parent) --------------------------------------------------------------------

    def finalise(self, s: int) -> Tuple[int, List[Dict[str, Any]]]:
        """Publish the finished units of stream ``s`` in order, stopping at the first unfinished unit.
        Returns the number of units whose output is published and the per-shard counts.

        While a later unit is unfinished, the last shard could still take its first part, so that shard
        stays staged: every published shard is the one a complete run publishes."""
        stream = self.config.streams[s]
        ext = _extension(stream)
        planned = self.plan_stream(s)
        finished: List[Tuple[MixUnit, UnitRecord]] = []
        for unit in planned:
            record = self.read_record(unit)
            if record is None or record.config_hash != self._unit_hash(unit):
                break
            finished.append((unit, record))
        groups = _join_parts([(i, part) for i, (_, record) in enumerate(finished) for part in record.parts],
                             stream.output.max_size_in_bytes)
        published = len(finished)
        if len(finished) < len(planned) and groups:
            published = groups.pop()[0][0]  # units from the first one in the held shard on are not published
        shards: List[Dict[str, Any]] = []
        for number, group in enumerate(groups):
            final = join(stream.output.path, shard_name(stream.name, number, ext))
            members = [finished[i] for i in dict.fromkeys(i for i, _ in group)]
            parts = [part for _, part in group]
            if not (all(p.final == final for p in parts) and dio.exists(final)):
                self._publish_shard(s, final, members, parts)
            for p in parts:
                if dio.exists(p.staged):
                    dio.remove(p.staged)
            shards.append({"path": final, **_sum_counts(parts)})
        return published, shards

    def _publish_shard(self, s: int, final: str, members: List[Tuple[MixUnit, UnitRecord]], parts: List[PartRecord]) -> None:
        stream = self.config.streams[s]
        if len(parts) == 1 and parts[0].final is None:
            part = parts[0]
            _rename(part.staged, final)
            size, sha256 = part.bytes, part.sha256
        else:
            joined = join(self._staging(stream), os.path.basename(final) + ".part")
            writer = dio.AtomicWriter(joined)
            try:
                for p in parts:
                    if not dio.exists(p.staged):
                        raise InputError(p.staged, None, f"staged output disappeared before it was published in {final}")
                    with dio.open_raw(p.staged) as f:
                        while chunk := f.read(1 << 24):
                            writer.write(chunk)
                writer.commit()
            except BaseException:
                writer.abort()
                raise
            _rename(joined, final)
            size, sha256 = writer.bytes_written, writer.sha256 or ""
        counts = _sum_counts(parts)
        inputs = list({e.path: e for _, record in members for e in record.inputs}.values())
        seconds = round(sum(record.seconds for _, record in members), 3)
        self._write_shard_manifest(s, final, inputs, FileEntry(final, size, sha256), counts, seconds)
        for p in parts:
            p.final = final
        for unit, record in members:
            dio.write_bytes_atomic(self._record_path(unit), msgspec.json.encode(record))

    def _write_shard_manifest(
        self, s: int, final: str, inputs: List[FileEntry], output: FileEntry, counts: Dict[str, int], seconds: float
    ) -> None:
        manifest = new_manifest(self.name, self.stream_config(s), inputs, [output], counts, seconds, self.config)
        write_manifest(manifest_path(final), manifest)


def _sum_counts(parts: List[PartRecord]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for p in parts:
        for k, v in p.counts.items():
            counts[k] = counts.get(k, 0) + v
    return counts


def _join_parts(parts: List[Tuple[int, PartRecord]], limit: int) -> List[List[Tuple[int, PartRecord]]]:
    """Consecutive parts joined greedily into groups of at most ``limit`` stored bytes (a part is never split)."""
    groups: List[List[Tuple[int, PartRecord]]] = []
    size = 0
    for item in parts:
        n = item[1].bytes
        if groups and size + n <= limit:
            groups[-1].append(item)
            size += n
        else:
            groups.append([item])
            size = n
    return groups


def _bump(counts: Dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def _decode_raw(attributes: Dict[str, Any], names: Optional[Set[str]]) -> None:
    """Decode the raw attribute values among ``names`` (all of them when None) in place."""
    for k in attributes if names is None else names:
        v = attributes.get(k)
        if type(v) is msgspec.Raw:
            attributes[k] = _DECODE(v)


def _document_problem(doc: Any) -> Optional[str]:
    if isinstance(doc, BadLine):
        return doc.reason
    if type(doc) is not dict:
        return f"not a JSON object: {type(doc).__name__}"
    if type(doc.get("id")) is not str:
        return "missing required field `id`" if "id" not in doc else "`id` must be a string"
    if type(doc.get("text")) is not str:
        return "missing required field `text`" if "text" not in doc else "`text` must be a string"
    return None


class _AttributeLine(msgspec.Struct):
    attributes: Dict[str, msgspec.Raw]
    id: Any = None


class _AttributeLines:
    """An attributes file read line by line in step with its documents file. Values stay raw JSON (copied to
    the output as they are) except those named in ``decode`` (all of them when ``decode`` is None)."""

    def __init__(self, path: str, doc_path: str, decode: Optional[Set[str]]) -> None:
        self.path = path
        self.doc_path = doc_path
        self.decode = decode
        if not dio.exists(path):
            raise InputError(path, None, f"attributes file for {doc_path} does not exist")
        self._reader = DocumentsReader(path, record_type=_AttributeLine)
        self._items = (item for batch in self._reader for item in batch.items)
        self.taken = 0

    def take(self, n: int, first_line: int) -> List[Any]:
        rows = list(itertools.islice(self._items, n))
        self.taken += len(rows)
        if len(rows) < n:
            raise InputError(
                self.path, self.taken + 1, f"attributes file ends before its documents file {self.doc_path} (line {self.taken + 1})"
            )
        return rows

    def check(self, row: Any, doc_id: str, line: int) -> Dict[str, Any]:
        if isinstance(row, BadLine):
            raise InputError(self.path, line, f"{row.reason} (documents file {self.doc_path}:{line})")
        if row.id != doc_id:
            raise InputError(self.path, line, f"id {row.id!r} does not match id {doc_id!r} at {self.doc_path}:{line}")
        attrs = row.attributes
        decode = self.decode
        if decode is None:
            return {k: _DECODE(v) for k, v in attrs.items()}
        for k in decode:
            v = attrs.get(k)
            if v is not None:
                attrs[k] = _DECODE(v)
        return attrs

    def finish(self) -> None:
        extra = next(self._items, None)
        if extra is not None:
            raise InputError(self.path, self.taken + 1, f"attributes file has more lines than its documents file {self.doc_path} ({self.taken})")

    def entry(self) -> FileEntry:
        return FileEntry(self.path, self._reader.stored_bytes, self._reader.sha256)


class _SideFiles:
    """Dropped documents (when ``dropped_path`` is set) and quarantined lines of one unit, written atomically."""

    def __init__(self, stream: StreamConfig, prefix: str) -> None:
        self._dropped_dir = stream.output.dropped_path
        self._quarantine_path = join(stream.output.path, "quarantine", prefix + ".jsonl.gz")
        self._prefix = prefix
        self._dropped: Optional[dio.AtomicWriter] = None
        self._quarantine: Optional[dio.AtomicWriter] = None

    def dropped(self, doc: Dict[str, Any], reason: str, path: str, line: int) -> None:
        if self._dropped_dir is None:
            return
        if self._dropped is None:
            self._dropped = dio.AtomicWriter(join(self._dropped_dir, self._prefix + ".jsonl.gz"))
        self._dropped.write(_ENCODER.encode({"reason": reason, "provenance": f"{path}:{line}", "document": doc}) + b"\n")

    def quarantine(self, path: str, line: int, reason: str, item: Any) -> None:
        if self._quarantine is None:
            self._quarantine = dio.AtomicWriter(self._quarantine_path)
        raw = item.raw.decode("utf-8", "replace") if isinstance(item, BadLine) else _ENCODER.encode(item).decode()
        self._quarantine.write(_ENCODER.encode(QuarantineLine(path, line, reason, raw)) + b"\n")

    def commit(self) -> None:
        for w in (self._dropped, self._quarantine):
            if w is not None:
                w.commit()

    def abort(self) -> None:
        for w in (self._dropped, self._quarantine):
            if w is not None:
                w.abort()


def _size(path: str, missing_ok: bool = False) -> int:
    if is_s3(path):
        return 0
    try:
        return os.path.getsize(path)
    except OSError:
        if missing_ok:
            return 0
        raise


def _rename(src: str, dst: str) -> None:
    if is_s3(src):
        from dolma.core import s3
        bucket, key = split_s3(src)
        dbucket, dkey = split_s3(dst)
        s3.client().copy_object(Bucket=dbucket, Key=dkey, CopySource={"Bucket": bucket, "Key": key})
        s3.remove(src)
    elif os.path.exists(src):
        os.replace(src, dst)
    elif not os.path.exists(dst):
        raise InputError(src, None, "staged output disappeared before it was published")


def _validate(config: MixConfig) -> None:
    if not config.streams:
        raise ConfigError("missing required key `streams`: give at least one stream to mix")


class MeasureStage(MixStage):
    """Documents, text bytes and whitespace tokens each targeted stream keeps before sampling. Its units are the
    mix's units of the targeted streams; it writes nothing, so it is never done."""

    name = "mix (measuring targets)"

    def units(self) -> List[WorkUnit[MixUnit]]:
        targeted = {s for s, stream in enumerate(self.config.streams) if stream.target is not None}
        return [u for u in super().units() if u.payload.stream in targeted]

    def is_done(self, unit: WorkUnit[MixUnit]) -> bool:
        return False

    def run(self, unit: WorkUnit[MixUnit], progress: Progress) -> Dict[str, int]:
        if not self._compiled:
            self.setup()
        return self.measure_unit(unit.payload, progress)


def measure(config: MixConfig) -> Dict[str, Dict[str, int]]:
    """What each targeted stream holds after filtering, from a measuring pass over its inputs (on the configured
    executor); a failed pass prints its failures and raises :class:`UnitsFailed`."""
    stage = MeasureStage(config)
    units = stage.units()
    report = execute(stage, units, work_processes(config), ignore_existing=True, debug=config.debug,
                     executor=config.executor)
    if not report.ok:
        summarise(stage.name, report)
        raise UnitsFailed(f"{stage.name}: {len(report.failed)} file(s) failed")
    measured: Dict[str, Dict[str, int]] = {config.streams[u.payload.stream].name: {} for u in units}
    by_key = {u.key: config.streams[u.payload.stream].name for u in units}
    for key, counts in report.done:
        totals = measured[by_key[key]]
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
    return measured
