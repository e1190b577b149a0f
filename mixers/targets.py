"""Mixture targets: the amount each targeted stream should contribute, and the sampling rate that gets it there from
what the measuring pass (:class:`dolma.mixers.measure.MeasureStage`) found the stream keeps after its filters."""

from __future__ import annotations

import logging
from typing import Dict, Optional

from dolma.mixers.config import MixConfig, StreamConfig

__all__ = ["target_amount", "resolve_rates"]

log = logging.getLogger("dolma")


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
