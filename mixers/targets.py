"""Mixture targets: the measuring pass, a stage of its own, counts what each targeted stream keeps after its
filters; the sampling rate of each stream follows from its target and that count."""

from __future__ import annotations

import logging
from typing import Dict, List, Optional

from dolma.core.errors import UnitsFailed
from dolma.core.executor import execute
from dolma.core.runner import summarise, work_processes
from dolma.core.units import Progress, WorkUnit
from dolma.mixers.config import MixConfig, StreamConfig
from dolma.mixers.stage import MixStage, MixUnit

__all__ = ["MeasureStage", "measure", "target_amount", "resolve_rates"]

log = logging.getLogger("dolma")


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
