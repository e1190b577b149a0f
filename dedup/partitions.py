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
from dolma.dedup.config import DedupeConfig
from dolma.core.errors import ConfigError
from dolma.core.executor import MiB, Resources

__all__ = ["partition_configs", "run_partitions_on_ray"]

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
    from dolma.dedup.cli import resolve_params
    from dolma.core.ray_executor import worker_options

    per_process = worker_options(Resources(memory=384 * MiB), executor)
    options: Dict[str, Any] = {"num_cpus": per_process["num_cpus"] * partition.processes}
    if "memory" in per_process:
        options["memory"] = resolve_params(partition).nbytes + per_process["memory"] * partition.processes
    return options


def _run_partition(config: DedupeConfig) -> int:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("dolma").setLevel(logging.INFO)
    from dolma.dedup.cli import run_dedupe

    return run_dedupe(config)


def run_partitions_on_ray(config: DedupeConfig) -> int:
    from dolma.core.ray_executor import ray_session, warn_if_no_node_fits

    with ray_session(config.executor, config.debug):
        import ray

        configs = partition_configs(config)
        task = ray.remote(_run_partition)
        retries = config.executor.max_retries
        log.info("dedupe: %d partition(s) as Ray tasks, %d process(es) each", len(configs), config.processes)
        refs = []
        for i, partition in enumerate(configs):
            resources = partition_resources(partition, config.executor)
            warn_if_no_node_fits(ray, resources, f"dedupe partition {i}")
            refs.append(task.options(max_retries=retries, **resources).remote(partition))
        codes: List[Any] = ray.get(refs)
    failed = [i for i, code in enumerate(codes) if code != 0]
    if failed:
        log.error("dedupe: partition(s) %s failed; rerun to redo them", ", ".join(map(str, failed)))
        return 1
    return 0
