"""``dolma stat``: distributions of attribute scores and span lengths across attribute files.

For every attribute key, exact count, mean, min and max of the scores and of the span lengths (in code points),
and quantiles and a histogram from a uniform reservoir sample (``sample_size`` values per key, seeded), so memory
stays constant however large the corpus. Prints a table; ``output`` also writes the summary as JSON.
"""

from __future__ import annotations

import logging
import math
import random
import sys
from typing import Any, Dict, List, Optional

import msgspec
import numpy as np

from dolma.core import io as dio
from dolma.core.runner import Command
from dolma.core.config import ConfigStruct
from dolma.core.errors import ConfigError, InputError
from dolma.core.paths import glob_paths

__all__ = ["StatConfig", "AttributeStats", "collect_stats", "summarise_stats", "STAT"]

log = logging.getLogger("dolma")


class StatConfig(ConfigStruct):
    attributes: List[str] = msgspec.field(default_factory=list)
    """Attribute files or globs (local or s3://)."""
    keys: List[str] = msgspec.field(default_factory=list)
    """Only these attribute keys (default: all); a key ending in `*` is a prefix."""
    bins: int = 10
    """Histogram bins per key."""
    sample_size: int = 100_000
    """Values per key kept in a reservoir sample for the quantiles (counts, means and extremes are exact)."""
    seed: int = 0
    """Seed of the reservoir sampling."""
    output: Optional[str] = None
    """Also write the summary as JSON here."""


class _Series:
    """Exact moments plus a reservoir sample of one stream of numbers."""

    def __init__(self, sample_size: int, rng: random.Random) -> None:
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.sample: List[float] = []
        self._size = sample_size
        self._rng = rng

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        if len(self.sample) < self._size:
            self.sample.append(value)
        else:
            j = self._rng.randrange(self.count)
            if j < self._size:
                self.sample[j] = value

    def summary(self, bins: int) -> Dict[str, Any]:
        if not self.count:
            return {"count": 0}
        values = np.asarray(self.sample, dtype=np.float64)
        q = np.quantile(values, [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99])
        counts, edges = np.histogram(values, bins=bins, range=(self.min, self.max) if self.max > self.min else None)
        scale = self.count / len(values)
        return {
            "count": self.count,
            "mean": self.total / self.count,
            "min": self.min,
            "max": self.max,
            "quantiles": dict(zip(["p1", "p10", "p25", "p50", "p75", "p90", "p99"], (float(x) for x in q))),
            "histogram": {"edges": [float(e) for e in edges], "counts": [round(float(c) * scale) for c in counts]},
            "sampled": len(values) < self.count,
        }


class AttributeStats:
    def __init__(self, sample_size: int, seed: int) -> None:
        self._rng = random.Random(seed)
        self._size = sample_size
        self.scores: Dict[str, _Series] = {}
        self.lengths: Dict[str, _Series] = {}
        self.documents = 0
        self.files = 0

    def add(self, key: str, spans: Any, path: str, line: int) -> None:
        if key not in self.scores:
            self.scores[key] = _Series(self._size, self._rng)
            self.lengths[key] = _Series(self._size, self._rng)
        scores, lengths = self.scores[key], self.lengths[key]
        if not isinstance(spans, list):
            raise InputError(path, line, f"attribute {key!r} is not a list of spans")
        for span in spans:
            try:
                start, end, score = span
                scores.add(float(score))
                lengths.add(float(end - start))
            except (TypeError, ValueError):
                raise InputError(path, line, f"attribute {key!r}: {span!r} is not a [start, end, score] span") from None


class _Line(msgspec.Struct):
    attributes: Dict[str, Any]


def _wanted(key: str, keys: List[str]) -> bool:
    return not keys or any(key.startswith(k[:-1]) if k.endswith("*") else key == k for k in keys)


def collect_stats(config: StatConfig) -> AttributeStats:
    if not config.attributes:
        raise ConfigError("missing required key `attributes`: attribute files or globs")
    stats = AttributeStats(config.sample_size, config.seed)
    decoder = msgspec.json.Decoder(_Line)
    for pattern in config.attributes:
        files = [p for p in glob_paths(pattern) if p.endswith((".gz", ".zst", ".jsonl", ".json"))]
        if not files:
            raise ConfigError(f"`attributes`: no files match {pattern!r}")
        for path in files:
            if path.endswith(".manifest.json"):
                continue
            stats.files += 1
            with dio.open_read(path) as f:
                for line_no, raw in enumerate(f, 1):
                    try:
                        row = decoder.decode(raw)
                    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                        raise InputError(path, line_no, f"not an attributes line: {exc}") from None
                    stats.documents += 1
                    for key, spans in row.attributes.items():
                        if _wanted(key, config.keys):
                            stats.add(key, spans, path, line_no)
    return stats


def summarise_stats(stats: AttributeStats, bins: int) -> Dict[str, Any]:
    return {
        "files": stats.files,
        "documents": stats.documents,
        "attributes": {
            key: {"scores": stats.scores[key].summary(bins), "span_lengths": stats.lengths[key].summary(bins)}
            for key in sorted(stats.scores)
        },
    }


def _table(summary: Dict[str, Any]) -> str:
    rows = [f"{summary['documents']:,} documents in {summary['files']} file(s)", ""]
    header = f"{'attribute':<60} {'spans':>10} {'mean':>10} {'p10':>10} {'p50':>10} {'p90':>10} {'len p50':>9}"
    rows += [header, "-" * len(header)]
    for key, entry in summary["attributes"].items():
        s, n = entry["scores"], entry["span_lengths"]
        if not s["count"]:
            rows.append(f"{key:<60} {0:>10}")
            continue
        q = s["quantiles"]
        rows.append(
            f"{key:<60} {s['count']:>10,} {s['mean']:>10.4g} {q['p10']:>10.4g} {q['p50']:>10.4g} {q['p90']:>10.4g} "
            f"{n['quantiles']['p50']:>9.0f}"
        )
    return "\n".join(rows)


def run_stat(config: StatConfig) -> int:
    stats = collect_stats(config)
    summary = summarise_stats(stats, config.bins)
    print(_table(summary), file=sys.stdout)
    if config.output:
        dio.write_bytes_atomic(config.output, msgspec.json.format(msgspec.json.encode(summary), indent=2) + b"\n")
        log.info("stat: summary written to %s", config.output)
    return 0


STAT = Command(StatConfig, run_stat, "distributions of attribute scores and span lengths")
