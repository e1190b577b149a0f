"""``dolma dedupe``."""

from __future__ import annotations

import dataclasses
import logging
import sys
from typing import Any, List, Optional, Set

from dolma.core import io as dio
from dolma.core.runner import Command, profiled, summarise, work_processes
from dolma.core.config import render
from dolma.dedup.bloom import BloomFilter, BloomParams, describe
from dolma.dedup.config import DedupeConfig
from dolma.core.errors import ConfigError
from dolma.core.executor import WorkUnit, execute
from dolma.core.manifest import FileEntry, manifest_path, new_manifest, read_manifest, write_manifest, written

__all__ = ["DEDUPE", "run_dedupe", "resolve_params"]

log = logging.getLogger("dolma")


def resolve_params(config: DedupeConfig) -> BloomParams:
    """The filter's shape: from the config, checked against the file's header when the file exists."""
    bf = config.bloom_filter
    if not bf.file:
        raise ConfigError("missing required key `bloom_filter.file`: where the filter is loaded from and saved to")
    asked = BloomParams.sized(bf.size_in_bytes, bf.estimated_doc_count, bf.desired_false_positive_rate)
    if dio.exists(bf.file):
        found = BloomFilter.read_params(bf.file)
        if asked is not None and (asked.m, asked.k) != (found.m, found.k):
            raise ConfigError(
                f"{bf.file}: the existing Bloom filter has {describe(found)}, but the config asks for "
                f"{describe(dataclasses.replace(asked, seed=found.seed))}; use the same sizing or another file"
            )
        return found
    if bf.read_only:
        raise ConfigError(f"`bloom_filter.read_only` needs an existing filter, and {bf.file} does not exist")
    if asked is None:
        raise ConfigError(
            "size the Bloom filter: set `bloom_filter.size_in_bytes`, or `bloom_filter.estimated_doc_count` and "
            "`bloom_filter.desired_false_positive_rate`"
        )
    return asked


def run_dedupe(config: DedupeConfig) -> int:
    from dolma.dedup.stage import DedupeStage, _Turns

    if config.executor.backend == "ray":
        from dolma.dedup.partitions import run_partitions_on_ray

        return run_partitions_on_ray(config)
    params = resolve_params(config)
    stage = DedupeStage(config, params)
    units = stage.units()
    if config.dryrun:
        print(render(config), end="")
        print(f"# {len(units)} documents file(s); Bloom filter {describe(params)}", file=sys.stderr)
        return 0
    insert = not config.bloom_filter.read_only
    bloom_file = config.bloom_filter.file or ""
    # a run killed while saving the filter left its temporary file: remove that one only (a neighbouring
    # partition's filter may be being written now); the executor cleans the attribute folders
    dio.remove_stale_temps_of([bloom_file])
    todo: List[WorkUnit] = []
    done = 0
    for unit in units:
        if not config.ignore_existing and stage.is_done(unit):
            done += 1
            if insert:  # re-insert its keys so later files see the same filter as in one clean run
                todo.append(dataclasses.replace(unit, payload=dataclasses.replace(unit.payload, replay=True)))
        else:
            todo.append(unit)
    covered = _filter_inputs(bloom_file) if insert else None
    if done == len(units) and (not insert or (covered is not None and {u.key for u in units} <= covered)):
        log.info("dedupe: all %d file(s) already done; nothing to do", len(units))
        return 0
    if done == len(units):
        log.info("dedupe: all %d file(s) done but the Bloom filter was not saved with them; rebuilding it", done)
    if done:
        log.info("dedupe: %d of %d file(s) already done; their keys are re-inserted, in order", done, len(units))
    processes = work_processes(config)
    pool = processes > 1 and len(todo) > 1
    shm: Optional[Any] = None
    try:
        if pool:
            from multiprocessing import shared_memory

            shm = shared_memory.SharedMemory(create=True, size=params.nbytes)
            bloom = BloomFilter(params, shm.buf)
            stage.shm_name = shm.name
            if insert:
                stage.turns = _Turns()
        else:
            bloom = BloomFilter.in_memory(params)
            stage.attach(bloom)
        if dio.exists(config.bloom_filter.file or ""):
            bloom.load(config.bloom_filter.file or "")
        log.info("dedupe: Bloom filter %s, %s", describe(params), "read-only" if not insert else "read-write")
        with profiled(config.profile):
            report = execute(stage, todo, processes=processes, ignore_existing=True, debug=config.debug, ordered=True)
        if insert:
            if report.ok:
                saved = written(bloom.save(bloom_file))
                assert saved is not None
                _write_filter_manifest(saved, stage, units, covered or set(), config)
                log.info("dedupe: saved the Bloom filter to %s (%.1f%% of bits set)", config.bloom_filter.file, 100 * bloom.fill_ratio())
            else:
                log.warning("dedupe: some files failed, so the Bloom filter was not saved; a rerun redoes them in order")
        del bloom
        stage._filter = None
    finally:
        if shm is not None:
            shm.close()
            shm.unlink()
    return summarise("dedupe", report)


def _filter_inputs(bloom_file: str) -> Optional[Set[str]]:
    """The documents files whose keys the saved filter holds, from its manifest; ``None`` when there is no filter
    or it has no manifest (saved by a run killed before writing it, or by another tool)."""
    manifest = read_manifest(manifest_path(bloom_file)) if dio.exists(bloom_file) else None
    return None if manifest is None else {entry.path for entry in manifest.inputs}


def _write_filter_manifest(
    saved: FileEntry, stage: Any, units: List[WorkUnit], earlier: Set[str], config: DedupeConfig
) -> None:
    """Written after the filter: a run killed in between leaves a filter without a manifest, which the next run
    rebuilds instead of trusting. Its inputs are every documents file whose keys the filter holds."""
    inputs = [FileEntry(path, 0, "") for path in sorted(earlier - {u.key for u in units})]
    inputs += [FileEntry(u.key, u.size, "") for u in units]
    manifest = new_manifest("dedupe", stage.output_config(), inputs, [saved], {"files": len(inputs)}, 0.0, config)
    write_manifest(manifest_path(saved.path), manifest)


DEDUPE = Command(DedupeConfig, run_dedupe, "mark duplicate documents, paragraphs or paragraph n-grams with a Bloom filter")
