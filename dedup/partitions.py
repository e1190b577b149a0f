"""The partitions of the key space, as local configs, and what one partition's job reserves on a cluster.

Partition ``i`` of ``n`` keeps only the keys whose hash falls in it, in its own Bloom filter (``<file>`` with
``-p<i>of<n>`` before its extension), and writes the attribute set ``<name>_<i>``; within a partition, files are
taken in input order exactly as locally, so each partition's output is the same as a local run of that partition,
and the whole is deterministic. Partitions run side by side on different nodes: filter memory per node and the
serial test-and-set per partition both shrink by ``n`` (docs/scaling.md). :mod:`dolma.dedup.onepass` runs them
all from one hashing pass.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List

import msgspec

from dolma.core.config import ExecutorConfig
from dolma.core.errors import ConfigError
from dolma.core.units import MiB, Resources
from dolma.dedup.config import DedupeConfig
from dolma.dedup.stage import resolve_params

__all__ = ["partition_configs", "partition_resources"]


def _partition_file(path: str, index: int, count: int) -> str:
    stem, ext = os.path.splitext(path)
    return f"{stem}-p{index}of{count}{ext}"


def partition_configs(config: DedupeConfig) -> List[DedupeConfig]:
    """The local config of each partition."""
    count = config.dedupe.num_partitions
    if not config.bloom_filter.file and not config.dedupe.exact:
        raise ConfigError("missing required key `bloom_filter.file`: where the filters are loaded from and saved to")
    configs = []
    for index in range(count):
        bloom = msgspec.structs.replace(
            config.bloom_filter,
            file=config.bloom_filter.file if count == 1 or not config.bloom_filter.file
            else _partition_file(config.bloom_filter.file, index, count),
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
