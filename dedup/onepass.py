"""Dedupe of every partition with one hashing pass (``dedupe.one_pass``, ``dedupe.exact``, and always on Ray).

1. **keys** (one unit per input file, in parallel): read, cut and hash the file once, and write its keys bucketed
   by partition (:mod:`dolma.dedup.keyfiles`) with its layout (ids, spans, each key's owner);
2. **marks** (one unit per partition, partitions in parallel): read only this partition's keys of every file, in
   input order, and mark the duplicates, with the partition's Bloom filter (``-p<i>of<n>``, as a local run of
   that partition) or exactly (sort and merge of 128-bit hashes: no false positives, and where each duplicate
   first occurred: :mod:`dolma.dedup.first_occurrence`); write the marks;
3. **attributes** (one unit per input file, in parallel): each partition's attributes from the layout and marks.

Hashing costs one pass whatever the number of partitions; a partition's job reads 8 bytes per key (16 exact).
Each partition's attributes are byte for byte those of a local run of that partition (``partition_index``).
Every step publishes atomically and is skipped by a rerun once done; the key files are removed after a fully
successful run.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from typing import Any, Dict, Iterator, List, Optional

import msgspec
import numpy as np

from dolma.core import io as dio
from dolma.core.config import ExecutorConfig
from dolma.core.errors import UnitsFailed
from dolma.core.executor import execute
from dolma.core.manifest import FileEntry, manifest_path, new_manifest, write_manifest, written
from dolma.core.outputs import input_entry
from dolma.core.paths import CorpusPath
from dolma.core.records import BadLine
from dolma.core.runner import summarise, work_processes
from dolma.core.units import Progress, Resources, RunReport, Stage, WorkUnit
from dolma.dedup.bloom import (
    BloomFilter,
    describe,
    expected_false_positives,
    fill_false_positive_rate,
    inserted_keys,
)
from dolma.dedup.config import DedupeConfig
from dolma.dedup.first_occurrence import exact_marks, read_firsts, resolve_firsts, write_firsts
from dolma.dedup.keyfiles import bucket, read_layout, read_marks, read_partition_keys, write_keys, write_layout, write_marks
from dolma.dedup.partitions import partition_configs, partition_resources
from dolma.dedup.stage import DedupeStage, Plan, _FileKeys, _filter_inputs

__all__ = ["OnePassStage"]

log = logging.getLogger("dolma")

_ARRAYS = ("owner", "counts", "para_doc", "para_start", "para_end", "para_bytes")


class _Files(msgspec.Struct, frozen=True):
    """Where one run keeps its intermediate files."""

    folder: str
    count: int

    def keys(self, index: int) -> str:
        return f"{self.folder}/{index:06d}.keys"

    def layout(self, index: int) -> str:
        return f"{self.folder}/{index:06d}.layout"

    def marks(self, partition: int) -> str:
        return f"{self.folder}/marks-p{partition}.bin"

    def firsts(self, partition: int) -> str:
        """Exact mode: where each marked key first occurred (:mod:`dolma.dedup.first_occurrence`)."""
        return f"{self.folder}/firsts-p{partition}.bin"


class _KeysStage(Stage[int]):
    """Step 1: each input file's keys, bucketed by partition, and its layout."""

    name = "dedupe (hashing)"
    fork_workers = True

    def __init__(self, reader: DedupeStage, files: _Files, order: List[str]) -> None:
        self.reader, self.files, self.order = reader, files, order

    @property
    def resources(self) -> Resources:  # type: ignore[override]
        """A worker reads and hashes a file as the plain dedupe does: the same reservation."""
        return self.reader.resources

    def units(self) -> List[WorkUnit[int]]:
        return [WorkUnit(key=path, size=dio.schedule_size(path), payload=i,
                         outputs=(self.files.keys(i), self.files.layout(i)), inputs=(path,))
                for i, path in enumerate(self.order)]

    def is_done(self, unit: WorkUnit[int]) -> bool:
        return dio.exists(self.files.layout(unit.payload))  # written after the keys

    def run(self, unit: WorkUnit[int], progress: Progress) -> Dict[str, int]:
        keys, reader = self.reader._read(unit.key, progress)
        hashes = keys.all_hashes()
        owner = keys.column("owner", np.int32)
        partitions = self.reader.config.dedupe.num_partitions
        if partitions == 1:  # one partition: its keys in input order are all the keys, as they are
            slices = [slice(0, len(hashes))]
        else:
            order, slices = bucket(_FileKeys.cat(keys.part, np.uint64).astype(np.int64), partitions)
            keys.part, keys.hashes, keys.owner = [], [], []  # reordered: a large document's keys not held twice
            hashes, owner = hashes[order], owner[order]
            del order
        # a Bloom filter key is its h1 (h2 is derived from it); an exact key is both halves of its xxh3_128
        words = hashes if self.reader.exact else hashes[:, None]
        stored = write_keys(self.files.keys(unit.payload), [words[s] for s in slices])
        count = len(hashes)
        del hashes, words
        entry = input_entry(reader)
        write_layout(self.files.layout(unit.payload), {
            "input": [entry.path, entry.bytes, entry.sha256],
            "ids": keys.ids, "bad": [[b.line, b.raw, b.reason, b.oversized, b.size] for b in keys.bad],
            "text_len": keys.text_len, "text_bytes": keys.text_bytes,
            "rows": keys.rows, "lines": keys.lines, "nbytes": keys.nbytes, "good": keys.good,
            "owner": owner, "counts": np.array([s.stop - s.start for s in slices], dtype=np.int64),
            **{c: keys.column(c) for c in ("para_doc", "para_start", "para_end", "para_bytes")},
        })
        return {"documents_in": keys.lines, "bytes_in": keys.nbytes, "keys": count, "key_file_bytes": stored}


class _MarksStage(Stage[int]):
    """Step 2: one partition's marks, its files in input order; its Bloom filter saved (or exact marks)."""

    name = "dedupe (marking)"
    fork_workers = True

    def __init__(self, stages: List[DedupeStage], files: _Files, order: List[str]) -> None:
        self.stages, self.files, self.order = stages, files, order

    def units(self) -> List[WorkUnit[int]]:
        count = len(self.stages)
        return [WorkUnit(key=f"partition {p} of {count}", payload=p, outputs=(self.files.marks(p),),
                         inputs=tuple(self.files.keys(i) for i in range(self.files.count)))
                for p in range(count)]

    def is_done(self, unit: WorkUnit[int]) -> bool:
        stage = self.stages[unit.payload]
        if not dio.exists(self.files.marks(unit.payload)):
            return False
        if stage.exact or not stage.insert:
            return True
        covered = _filter_inputs(stage.config.bloom_filter.file or "", stage.output_config())
        return covered is not None and set(self.order) <= covered  # the filter was saved after the marks

    def worker_count(self, processes: int) -> int:
        return max(1, min(processes, len(self.stages)))

    def worker_resources(self, config: ExecutorConfig) -> Dict[str, Any]:
        stage = self.stages[0]
        if stage.exact:
            return Stage.worker_resources(self, config)
        return partition_resources(msgspec.structs.replace(stage.config, processes=1), config)

    def run(self, unit: WorkUnit[int], progress: Progress) -> Dict[str, int]:
        p = unit.payload
        stage = self.stages[p]
        keys = [read_partition_keys(self.files.keys(i), p) for i in range(self.files.count)]
        if stage.exact:
            marks, firsts = exact_marks(keys)
            write_firsts(self.files.firsts(p), resolve_firsts(  # before the marks, which say the step is done
                firsts, [len(k) for k in keys], lambda j: self._owners(j, p), stage.key is not None))
            counts: Dict[str, int] = {}
        else:
            marks, counts = self._bloom_marks(stage, keys)
        write_marks(self.files.marks(p), marks)
        if not stage.exact and stage.insert:
            self._save(stage)
        stage._filter = None
        total = sum(len(k) for k in keys)
        return {"keys": total, "duplicates": int(sum(int(m.sum()) for m in marks)), **counts}

    def _owners(self, index: int, partition: int) -> Any:
        """Input file ``index``'s owner of each of its keys in ``partition``, and its layout."""
        layout = read_layout(self.files.layout(index), _ARRAYS)
        bounds = np.concatenate(([0], np.cumsum(layout["counts"])))
        return layout["owner"][bounds[partition]: bounds[partition + 1]], layout

    def _bloom_marks(self, stage: DedupeStage, keys: List[np.ndarray]) -> Any:
        bloom = BloomFilter.in_memory(stage.params)
        bloom_file = stage.config.bloom_filter.file or ""
        if dio.exists(bloom_file):
            bloom.load(bloom_file)
        stage._filter = bloom
        before = inserted_keys(bloom.fill_ratio(), stage.params)
        marks, offered = [], 0
        for words in keys:
            seen, distinct = bloom.mark(words[:, 0], insert=stage.insert)
            marks.append(seen)
            offered += distinct
        fill = bloom.fill_ratio()
        after = inserted_keys(fill, stage.params)
        rate = fill_false_positive_rate(fill, stage.params.k)
        expected = expected_false_positives(before, after, stage.params) if stage.insert else rate * offered
        log.info("dedupe %s: Bloom filter %.1f%% full, false positive rate now %.2g; about %.3g of this run's keys "
                 "were probably false positives", stage.set_name, 100 * fill, rate, expected)
        if stage.insert:
            stage._check_rate(offered)
        return marks, {"bloom_keys": offered, "false_positives_expected": int(round(expected))}

    def _save(self, stage: DedupeStage) -> None:
        assert stage._filter is not None
        bloom_file = stage.config.bloom_filter.file or ""
        saved = written(stage._filter.save(bloom_file))
        assert saved is not None
        inputs = [FileEntry(path, 0, "") for path in self.order]
        manifest = new_manifest("dedupe", stage.output_config(), inputs, [saved], {"files": len(inputs)}, 0.0,
                                stage.config)
        write_manifest(manifest_path(saved.path), manifest)
        log.info("dedupe: saved the Bloom filter to %s (%s)", bloom_file, describe(stage.params))


class OnePassStage(Stage[int]):
    """Every partition's attributes with one hashing pass: its units write the attributes (step 3); its
    :meth:`running` hook first runs steps 1 and 2 on the same executor."""

    name = "dedupe"

    def __init__(self, config: DedupeConfig) -> None:
        self.config = config
        self.partitions = partition_configs(config)
        self.stages = [DedupeStage(partition) for partition in self.partitions]  # checks every partition's config
        self.reader = DedupeStage(self.partitions[0])
        self.reader.split_all = True
        self.order: List[str] = []
        self.outputs: List[List[str]] = []
        self.files = _Files("", 0)

    @property
    def resources(self) -> Resources:  # type: ignore[override]
        """A worker writes a file's attributes (and first occurrences) from its layout, holding about what the plain
        dedupe's write holds: the same reservation (measured at 2.1 bytes a document byte, exact paragraphs)."""
        return self.reader.resources

    def units(self) -> List[WorkUnit[int]]:
        per_partition = [stage.units() for stage in self.stages]
        first = per_partition[0]
        self.order = [u.key for u in first]
        self.reader.order, self.reader._inputs_hash = self.order, self.stages[0]._inputs_hash
        self.files = _Files(self._keys_folder(first[0].payload.output), len(first))
        self.outputs = [[units[i].payload.output for units in per_partition] for i in range(len(first))]
        firsts = [[s.first_occurrences_path(u.key) for s in self.stages if s.exact] for u in first]
        return [WorkUnit(key=u.key, size=u.size, payload=i, outputs=(*self.outputs[i], *firsts[i]), inputs=u.inputs)
                for i, u in enumerate(first)]

    def _keys_folder(self, first_output: str) -> str:
        """``dedupe.keys_dir`` or ``<prefix>/dedupe_keys/<name>``, then a folder per run's settings and inputs."""
        d = self.config.dedupe
        base = d.keys_dir
        if not base:
            prefix = CorpusPath.parse(first_output, "attributes").prefix or ""
            base = f"{prefix}dedupe_keys/{d.name or self.reader.attribute}"
        settings = msgspec.json.encode({**self.reader.output_config(), "set": None, "attribute": None,
                                        "partitions": d.num_partitions, "exact": d.exact}, order="sorted")
        return f"{base.rstrip('/')}/{hashlib.sha256(settings).hexdigest()[:16]}"

    def describe_plan(self) -> str:
        how = "exact (sort and merge)" if self.config.dedupe.exact else f"Bloom filters {self.reader.describe_filter()}"
        return (f"{self.config.dedupe.num_partitions} partition(s), one hashing pass; {how}; "
                + Stage.describe_plan(self.stages[0]))

    def extra_outputs(self) -> List[str]:
        bloom = [s.config.bloom_filter.file or "" for s in self.stages if not s.exact and s.insert]
        firsts = [self.files.firsts(p) for p, s in enumerate(self.stages) if s.exact]
        return bloom + [self.files.marks(p) for p in range(len(self.stages))] + firsts

    def is_done(self, unit: WorkUnit[int]) -> bool:
        return all(stage.is_done(_unit(stage, self.outputs[unit.payload][p], unit))
                   for p, stage in enumerate(self.stages))

    @contextlib.contextmanager
    def running(self, units: List[WorkUnit[int]]) -> Iterator[Optional[List[WorkUnit[int]]]]:
        config = self.config
        todo = [u for u in units if config.ignore_existing or not self.is_done(u)]
        if not todo:
            log.info("dedupe: all %d file(s) already done; nothing to do", len(units))
            yield None
            return
        dio.remove_stale_temps_of([s.config.bloom_filter.file or "" for s in self.stages])
        for step in (_KeysStage(self.reader, self.files, self.order), _MarksStage(self.stages, self.files, self.order)):
            report = execute(step, step.units(), step.worker_count(work_processes(config)), config.ignore_existing,
                             debug=config.debug, executor=config.executor)
            if not report.ok:
                summarise(step.name, report)
                raise UnitsFailed(f"{step.name} failed")
        yield todo

    def run(self, unit: WorkUnit[int], progress: Progress) -> Dict[str, int]:
        started = time.monotonic()
        i = unit.payload
        layout = read_layout(self.files.layout(i), _ARRAYS)
        keys = _FileKeys(ids=layout["ids"], bad=[BadLine(*bad) for bad in layout["bad"]],
                         text_len=layout["text_len"], text_bytes=layout["text_bytes"],
                         para_doc=[layout["para_doc"]], para_start=[layout["para_start"]],
                         para_end=[layout["para_end"]], para_bytes=[layout["para_bytes"]],
                         rows=layout["rows"], lines=layout["lines"], nbytes=layout["nbytes"], good=layout["good"])
        entry = FileEntry(*layout["input"])
        bounds = np.concatenate(([0], np.cumsum(layout["counts"])))
        totals: Dict[str, int] = {}
        for p, stage in enumerate(self.stages):
            owner = layout["owner"][bounds[p]: bounds[p + 1]]
            seen = read_marks(self.files.marks(p), i, len(owner))
            firsts = read_firsts(self.files.firsts(p), i) if stage.exact else None
            counts = stage._write(self.outputs[i][p], keys, owner, seen, entry, started, firsts)
            for k, v in counts.items():
                totals[k] = totals.get(k, 0) + (v if k not in ("documents_in", "documents_out", "bytes_in",
                                                                 "documents_quarantined") or p == 0 else 0)
        progress.update(docs=keys.lines, nbytes=keys.nbytes)
        return totals

    def finish(self, units: List[WorkUnit[int]], report: RunReport) -> None:
        """After a fully successful run, the key files are removed (a failed run keeps them for its rerun)."""
        if not report.ok:
            return
        for i in range(self.files.count):
            dio.remove(self.files.keys(i))
            dio.remove(self.files.layout(i))
        for p, stage in enumerate(self.stages):
            dio.remove(self.files.marks(p))
            if stage.exact:
                dio.remove(self.files.firsts(p))


def _unit(stage: DedupeStage, output: str, unit: WorkUnit[int]) -> WorkUnit[Any]:
    return WorkUnit(key=unit.key, payload=Plan(unit.payload, output), outputs=(output,), inputs=unit.inputs)
