"""The ``import`` and ``warc`` stages: inputs of any shape → bounded documents shards with manifests.

Both share :class:`ConvertStage`: a unit's batches go to a :class:`~dolma.readers.shards.ShardedWriter`, bad
records fail the unit (or go to ``<destination>/quarantine/<stem>.jsonl.gz`` with ``on_error: skip``), id
hashes go to ``<destination>/ids/<stem>.u64``, and the unit's manifest, ``<destination>/documents/<stem>
.manifest.json``, lists its inputs, every shard it wrote and its counts. The manifest is written last; its
presence with the same config hash is what makes a rerun skip the unit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Set

import msgspec

from dolma.core import io as dio
from dolma.core.errors import ConfigError
from dolma.core.units import Progress, RunReport, Stage, WorkUnit
from dolma.core.manifest import FileEntry, config_hash, read_manifest
from dolma.core.outputs import UnitOutputs
from dolma.core.paths import glob_paths, glob_root
from dolma.core.records import QuarantineLine
from dolma.readers.config import ImportConfig, WarcConfig
from dolma.readers.html import make_linearizer
from dolma.readers.mapping import FieldMapper, Rejected
from dolma.readers.shards import IdLog, ShardedWriter, UnitPaths, count_duplicates_across
from dolma.readers.sources import Batch, ImportUnit, plan_import, read_import_unit
from dolma.readers.warc import WarcExtractor, archive_stem

__all__ = ["ConvertStage", "ImportStage", "WarcStage", "Planned", "report_duplicates"]

log = logging.getLogger("dolma")


@dataclass(frozen=True)
class Planned:
    paths: UnitPaths
    source: Any  # ImportUnit for import, the archive path for warc



class ConvertStage(Stage["Planned"]):
    """What import and warc share; subclasses give the units, the batches of one unit and the output config."""

    name = "convert"
    on_error = "fail"
    max_bytes = 1
    resolved: Any = None

    def output_config(self) -> Dict[str, Any]:
        raise NotImplementedError

    def batches(self, planned: Planned, inputs: List[FileEntry]) -> Iterator[Batch]:
        raise NotImplementedError

    def finish(self, units: List[WorkUnit], report: RunReport) -> None:
        if report.ok:
            report_duplicates(units)

    def is_done(self, unit: WorkUnit) -> bool:
        paths: UnitPaths = unit.payload.paths
        manifest = read_manifest(paths.manifest)
        if manifest is None or manifest.config_hash != config_hash(self._config_for(unit)):
            return False
        return all(dio.exists(out.path) for out in manifest.outputs)

    def _config_for(self, unit: WorkUnit) -> Dict[str, Any]:
        return {"stage": self.name, "unit": unit.key, **self.output_config()}

    def run(self, unit: WorkUnit, progress: Progress) -> Dict[str, int]:
        planned: Planned = unit.payload
        ids = IdLog()
        inputs: List[FileEntry] = []
        counts: Dict[str, int] = {"documents_in": 0, "documents_out": 0, "documents_quarantined": 0}
        with UnitOutputs(self.name, self.resolved, quarantine=planned.paths.quarantine) as files:
            writer = ShardedWriter(files, planned.paths, self.max_bytes)
            for batch in self.batches(planned, inputs):
                if batch.rejected:
                    failing = [r for r in batch.rejected if not r.oversized]
                    if failing and self.on_error == "fail":
                        raise failing[0].error()
                    files.quarantine_records(_quarantine_lines(batch.rejected))
                writer.write_docs(batch.docs)
                ids.add(batch.docs)
                n_in = len(batch.docs) + len(batch.rejected) + sum(batch.dropped.values())
                counts["documents_in"] += n_in
                counts["documents_out"] += len(batch.docs)
                counts["documents_quarantined"] += len(batch.rejected)
                for extra in (batch.dropped, batch.other):
                    for k, v in extra.items():
                        counts[k] = counts.get(k, 0) + v
                progress.update(docs=n_in, nbytes=batch.nbytes)
            shards = writer.close()
            id_bytes, duplicates = ids.finish()
            files.open(planned.paths.ids).write(id_bytes)
        counts["bytes_in"] = sum(i.bytes for i in inputs)
        counts["bytes_out"] = writer.bytes_out
        counts["shards"] = len(shards)
        counts["duplicate_ids"] = duplicates
        if duplicates:
            log.warning("%s: %d document(s) repeat an id used earlier in the same input", unit.key, duplicates)
        self._drop_stale(planned.paths, shards)
        files.write_manifest(planned.paths.manifest, self._config_for(unit), inputs, shards, counts)
        return counts

    @staticmethod
    def _drop_stale(paths: UnitPaths, shards: List[str]) -> None:
        """Shards an earlier run of this unit wrote and this one did not (it made fewer, or none)."""
        old = read_manifest(paths.manifest)
        if old is None:
            return
        keep = set(shards)
        for entry in old.outputs:
            if entry.path not in keep:
                dio.remove(entry.path)


def _quarantine_lines(rejected: List[Rejected]) -> List[QuarantineLine]:
    return [QuarantineLine(r.file, r.line, r.reason, r.raw) for r in rejected]


def report_duplicates(units: List[WorkUnit]) -> int:
    """Count (and warn about) documents whose id is also used by another unit of the run."""
    across = count_duplicates_across([u.payload.paths.ids for u in units])
    if across:
        log.warning(
            "%d document(s) share their id with a document of another input; ids are kept as they are "
            "(derive ids from the origin with `fields.id: null` if they must be unique)",
            across,
        )
    return across


class ImportStage(ConvertStage):
    name = "import"

    def __init__(self, config: ImportConfig) -> None:
        if not config.destination:
            raise ConfigError("missing required key `destination`: the output prefix (documents go below it)")
        if not config.source:
            raise ConfigError("missing required key `source`: the name of this source, set on every document")
        if bool(config.documents) == bool(config.dataset.path):
            raise ConfigError("give either `documents` (files, globs, folders) or `dataset.path`, not both or neither")
        try:
            self.mapper = FieldMapper(config.fields, config.source)
        except ValueError as exc:
            raise ConfigError(f"`fields`: {exc}") from None
        self.config = self.resolved = config
        self.on_error = config.on_error
        self.max_bytes = config.output.max_size_in_bytes
        self._linearize: Any = None
        self._dataset: Any = None

    def units(self) -> List[WorkUnit]:
        c = self.config
        assert c.destination is not None
        if c.dataset.path:
            n = _load_dataset(c).num_shards
            name = c.dataset.path.rstrip("/").rsplit("/", 1)[-1]
            planned = [ImportUnit("dataset", (), (), f"{name}/{c.dataset.split}-{i:05d}", shard=i) for i in range(n)]
        else:
            planned = plan_import(c.documents, c.format, c.files_per_unit)
        units: List[WorkUnit] = []
        stems: Dict[str, str] = {}
        for p in planned:
            key = self._unit_key(p)
            if p.stem in stems:
                raise ConfigError(f"{stems[p.stem]} and {key} would both write documents/{p.stem}-*; rename one")
            stems[p.stem] = key
            size = sum(dio.schedule_size(f) for f in p.files)
            paths = UnitPaths(c.destination, p.stem, c.output.compression)
            units.append(WorkUnit(key, size, Planned(paths, p), outputs=paths.outputs(), inputs=tuple(p.files)))
        return units

    def _unit_key(self, unit: ImportUnit) -> str:
        """How a unit is named in messages and progress: its file, or its dataset shard, or its first file."""
        if unit.kind == "dataset":
            return f"{self.config.dataset.path}[{self.config.dataset.split}] shard {unit.shard}"
        if len(unit.files) == 1:
            return unit.files[0]
        return f"{unit.files[0]} (+{len(unit.files) - 1} more files)"

    def output_config(self) -> Dict[str, Any]:
        c = self.config
        out: Dict[str, Any] = {
            "source": c.source,
            "format": c.format,
            "fields": msgspec.to_builtins(c.fields),
            "output": msgspec.to_builtins(c.output),
            "on_error": c.on_error,
        }
        if c.dataset.path:
            out["dataset"] = msgspec.to_builtins(c.dataset)
        if c.format in ("auto", "html"):
            out["linearizer"] = c.linearizer
        return out

    def setup(self) -> None:
        if self.config.dataset.path:
            self._dataset = _load_dataset(self.config)

    def batches(self, planned: Planned, inputs: List[FileEntry]) -> Iterator[Batch]:
        unit: ImportUnit = planned.source
        if unit.kind == "html" and self._linearize is None:
            self._linearize = make_linearizer(self.config.linearizer)
        if unit.kind == "dataset" and self._dataset is None:
            self._dataset = _load_dataset(self.config)
        return read_import_unit(
            unit, self.mapper, self.config.batch_size, inputs, self._linearize, self._dataset, self.config.max_document_bytes
        )


def _load_dataset(config: ImportConfig) -> Any:
    import datasets

    d = config.dataset
    try:
        ds = datasets.load_dataset(
            d.path,
            d.name,
            split=d.split,
            data_dir=d.data_dir,
            data_files=d.data_files or None,
            revision=d.revision,
            streaming=True,
            trust_remote_code=d.trust_remote_code or None,
        )
    except Exception as exc:  # datasets raises many kinds; all mean the source cannot be opened
        raise ConfigError(f"`dataset`: cannot load {d.path!r} (split {d.split!r}): {type(exc).__name__}: {exc}") from None
    if not hasattr(ds, "num_shards"):
        raise ConfigError(f"`dataset`: {d.path!r} did not give a single split; set `dataset.split`")
    return ds


class WarcStage(ConvertStage):
    name = "warc"

    def __init__(self, config: WarcConfig) -> None:
        if not config.documents:
            raise ConfigError("missing required key `documents`: WARC/ARC files, globs or folders")
        if not config.source_name:
            raise ConfigError("missing required key `source_name`: the name of this source, set on every document")
        make_linearizer(config.linearizer)  # a missing extractor is a config error, before any file is read
        self.config = self.resolved = config
        self.max_bytes = config.output.max_size_in_bytes
        self._extractor: Optional[WarcExtractor] = None

    def units(self) -> List[WorkUnit]:
        c = self.config
        units: List[WorkUnit] = []
        seen: Set[str] = set()
        stems: Dict[str, str] = {}
        for i, pattern in enumerate(c.documents):
            matches = glob_paths(pattern)
            if not matches:
                raise ConfigError(f"`documents`: no files match {pattern!r}")
            root = glob_root(pattern)
            dest = c.destination[i] if len(c.destination) > 1 else c.destination[0]
            for path in matches:
                if path in seen:
                    continue
                seen.add(path)
                rel = path[len(root) :] if path.startswith(root) else path.rsplit("/", 1)[-1]
                paths = UnitPaths(dest, archive_stem(rel), c.output.compression)
                if paths.manifest in stems:
                    raise ConfigError(f"{stems[paths.manifest]} and {path} would both write {paths.manifest}")
                stems[paths.manifest] = path
                units.append(WorkUnit(path, dio.schedule_size(path), Planned(paths, path), outputs=paths.outputs(),
                                      inputs=(path,)))
        return units

    def output_config(self) -> Dict[str, Any]:
        c = self.config
        return {
            "source_name": c.source_name,
            "linearizer": c.linearizer,
            "store_html_in_metadata": c.store_html_in_metadata,
            "html_content_types": list(c.html_content_types),
            "output": msgspec.to_builtins(c.output),
        }

    def setup(self) -> None:
        c = self.config
        assert c.source_name is not None
        self._extractor = WarcExtractor(c.source_name, make_linearizer(c.linearizer), c.html_content_types, c.store_html_in_metadata)

    def batches(self, planned: Planned, inputs: List[FileEntry]) -> Iterator[Batch]:
        if self._extractor is None:
            self.setup()
        assert self._extractor is not None
        return self._extractor.read(planned.source, inputs)
