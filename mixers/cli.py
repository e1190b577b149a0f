"""``dolma mix``."""

from __future__ import annotations

import logging
import sys
from typing import Any, Dict, List, Optional

import msgspec

from dolma.core import io as dio
from dolma.core.runner import Command, profiled, summarise, work_processes
from dolma.core.config import render
from dolma.core.executor import RunReport, WorkUnit, execute
from dolma.mixers.config import MixConfig, StreamConfig
from dolma.core.paths import join
from dolma.core.ray_executor import ray_session

__all__ = ["MIX", "run_mix", "target_amount"]

log = logging.getLogger("dolma")

MIXTURE_FILE = "mixture.json"


def target_amount(config: MixConfig, stream: StreamConfig) -> Optional[tuple]:
    """``(amount, unit)`` a stream should contribute, or None when it is sampled by a fixed rate."""
    t = stream.target
    if t is None:
        return None
    if t.bytes is not None:
        return t.bytes, "bytes"
    if t.tokens is not None:
        return t.tokens, "tokens"
    assert config.mixture is not None and t.share is not None
    return config.mixture.total * t.share, config.mixture.unit


def _measure(config: MixConfig, processes: int) -> Dict[str, Dict[str, int]]:
    """What each targeted stream holds after filtering, from a counting pass over its inputs."""
    from dolma.mixers.stage import MixStage

    stage = MixStage(config)
    stage.measure = True
    targeted = {s.name for s in config.streams if s.target is not None}
    units: List[WorkUnit] = [u for u in stage.units() if config.streams[u.payload.stream].name in targeted]
    report = execute(stage, units, processes, ignore_existing=True, debug=config.debug, executor=config.executor)
    if not report.ok:
        summarise("mix (measuring targets)", report)
        raise SystemExit(1)
    measured: Dict[str, Dict[str, int]] = {name: {} for name in targeted}
    by_key = {u.key: config.streams[u.payload.stream].name for u in units}
    for key, counts in report.done:
        totals = measured[by_key[key]]
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
    return measured


def resolve_rates(config: MixConfig, measured: Dict[str, Dict[str, int]]) -> Dict[str, float]:
    rates: Dict[str, float] = {}
    for stream in config.streams:
        target = target_amount(config, stream)
        if target is None:
            rates[stream.name] = stream.sample
            continue
        amount, unit = target
        have = measured[stream.name]["text_tokens" if unit == "tokens" else "text_bytes"]
        if have == 0:
            log.warning("stream %s: nothing left after filtering; its target of %s %s cannot be met", stream.name, amount, unit)
            rates[stream.name] = 0.0
        else:
            rates[stream.name] = amount / have
    return rates


def run_mix(config: MixConfig) -> int:
    from dolma.mixers.stage import MixStage

    stage = MixStage(config)  # validates the config and compiles every expression
    if config.dryrun:
        print(render(config), end="")
        print(f"# {len(stage.units())} unit(s) to mix", file=sys.stderr)
        return 0
    processes = work_processes(config)
    measured: Dict[str, Dict[str, int]] = {}
    with ray_session(config.executor, config.debug):  # on Ray, both passes share one connection
        if any(s.target is not None for s in config.streams):
            measured = _measure(config, processes)
        stage = MixStage(config, rates=resolve_rates(config, measured))
        units = stage.units()
        with profiled(config.profile):
            report = execute(
                stage, units, processes, config.ignore_existing, debug=config.debug, executor=config.executor
            )
    _publish(stage, config, units, measured, report)
    return summarise("mix", report)


def _publish(
    stage: Any, config: MixConfig, units: List[WorkUnit], measured: Dict[str, Dict[str, int]], report: RunReport
) -> None:
    summary: Dict[str, Any] = {"streams": {}}
    total_out = 0
    for s, stream in enumerate(config.streams):
        planned = sum(1 for u in units if u.payload.stream == s)
        published, shards = stage.finalise(s)
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
            "sample_rate": stage.rates[stream.name],
            "target": msgspec.to_builtins(stream.target),
            "measured_before_sampling": measured.get(stream.name),
            "counts": totals,
            "complete": published == planned,
        }
        summary["streams"][stream.name] = entry
        total_out += totals.get("bytes_out", 0)
    for entry in summary["streams"].values():
        entry["share_of_bytes_out"] = round(entry["counts"].get("bytes_out", 0) / total_out, 6) if total_out else 0.0
    data = msgspec.json.format(msgspec.json.encode(summary), indent=2) + b"\n"
    for path in dict.fromkeys(s.output.path for s in config.streams):
        dio.write_bytes_atomic(join(path, MIXTURE_FILE), data)


MIX = Command(MixConfig, run_mix, "filter, rewrite and sample documents with their attributes into sharded output")
