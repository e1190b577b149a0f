"""Dedupe on a Ray cluster: one task per partition of the key space.

Partition ``i`` of ``n`` keeps only the keys whose hash falls in it, in its own Bloom filter (``<file>`` with
``-p<i>of<n>`` before its extension), and writes the attribute set ``<name>_<i>``; within a partition, files are
taken in input order exactly as locally, so each partition's output is the same as a local run of that partition,
and the whole is deterministic. Partitions run side by side on different nodes: filter memory per node and the
serial test-and-set per partition both shrink by ``n`` (docs/scaling.md).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, List

import msgspec

from dolma.core.config import ExecutorConfig
from dolma.core.errors import ConfigError, DolmaError
from dolma.core.runner import run_stage
from dolma.core.units import MiB, Progress, Resources, Stage, WorkUnit
from dolma.dedup.config import DedupeConfig
from dolma.dedup.stage import DedupeStage, resolve_params

__all__ = ["partition_configs", "partition_resources", "PartitionsStage"]

log = logging.getLogger("dolma")


def _partition_file(path: str, index: int, count: int) -> str:
    stem, ext = os.path.splitext(path)
    return f"{stem}-p{index}of{count}{ext}"


def partition_configs(config: DedupeConfig) -> List[DedupeConfig]:
    """The local config of each partition."""
    count = config.dedupe.num_partitions
    if not config.bloom_filter.file:
        raise ConfigError("missing required key `bloom_filter.file`: where the filters are loaded from and saved to")
    configs = []
    for index in range(count):
        bloom = msgspec.structs.replace(
            config.bloom_filter,
            file=config.bloom_filter.file if count == 1 else _partition_file(config.bloom_filter.file, index, count),
        )
        dedupe = msgspec.structs.replace(config.dedupe, partition_index=index)
        profile = config.profile  # each partition's task profiles itself, into its own file
        if profile.output and count > 1:
            profile = msgspec.structs.replace(profile, output=_partition_file(profile.output, index, count))
        configs.append(msgspec.structs.replace(
            config, dedupe=dedupe, bloom_filter=bloom, profile=profile, executor=ExecutorConfig(backend="local")
        ))
    return configs


def partition_resources(partition: DedupeConfig, executor: ExecutorConfig) -> Dict[str, Any]:
    """What one partition's task reserves on Ray: its processes' CPUs, and memory for its Bloom filter (held once,
    shared by the processes) and for each process (~280 MB measured at the peak of a dedupe run); ``executor``'s
    per-worker settings, when given, are per process."""
    per_process = Resources(memory=384 * MiB).options(executor)
    options: Dict[str, Any] = {"num_cpus": per_process["num_cpus"] * partition.processes}
    if "memory" in per_process:
        options["memory"] = resolve_params(partition).nbytes + per_process["memory"] * partition.processes
    return options


class PartitionsStage(Stage[DedupeConfig]):
    """Dedupe on a cluster: each unit is one partition, run as a whole local dedupe (its own filter, its files in
    input order, ``processes`` worker processes) by one Ray worker. The worker reserves what a partition needs, so
    Ray places partitions only where their filters fit."""

    name = "dedupe"

    def __init__(self, config: DedupeConfig) -> None:
        self.config = config
        self.partitions = partition_configs(config)
        self.stages = [DedupeStage(partition) for partition in self.partitions]  # checks every partition's config

    def units(self) -> List[WorkUnit[DedupeConfig]]:
        units = []
        for index, (partition, stage) in enumerate(zip(self.partitions, self.stages)):
            outputs = tuple(path for unit in stage.units() for path in unit.outputs) + (partition.bloom_filter.file or "",)
            inputs = tuple(path for unit in stage.units() for path in unit.inputs)
            units.append(WorkUnit(key=f"partition {index} of {len(self.partitions)}", payload=partition,
                                  outputs=outputs, inputs=inputs))
        return units

    def describe_plan(self) -> str:
        return f"{len(self.partitions)} partition(s), {self.config.processes} process(es) each; " + self.stages[0].describe_plan()

    def worker_count(self, processes: int) -> int:
        return len(self.partitions)  # `processes` is each partition's

    def worker_resources(self, config: ExecutorConfig) -> Dict[str, Any]:
        return partition_resources(self.partitions[0], config)  # the partitions' filters have one shape

    def is_done(self, unit: WorkUnit[DedupeConfig]) -> bool:
        return False  # each partition's own run skips what it finished, and replays it into its filter

    def run(self, unit: WorkUnit[DedupeConfig], progress: Progress) -> Dict[str, int]:
        logging.basicConfig(level=logging.WARNING)
        logging.getLogger("dolma").setLevel(logging.INFO)
        code = run_stage(unit.payload, DedupeStage(unit.payload), lock=False)  # the driver holds the locks
        if code != 0:
            raise DolmaError(f"{unit.key} failed (exit {code}); rerun to redo it")
        return {"partitions": 1}
