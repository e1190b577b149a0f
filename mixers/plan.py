"""The mix's work and where its files go.

Each documents file of a stream, in sorted order, is one work unit (:class:`MixUnit`). A unit stages its parts and
its record in ``<path>/.mix-staging/``; the stream's shards are ``<path>/<name>-NNNN<extension>``, beside
``mixture.json``. The mix and its measuring pass plan the same units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

from dolma.core import io as dio
from dolma.core.errors import ConfigError
from dolma.core.paths import ATTRIBUTES_DIR, CorpusPath, glob_paths, join
from dolma.core.units import MiB, Resources, WorkUnit
from dolma.mixers.config import MixConfig, StreamConfig

__all__ = [
    "MixUnit", "STAGING_DIR", "MIXTURE_FILE", "mix_resources", "shard_name", "extension", "staging_dir", "unit_prefix",
    "record_path", "plan_stream", "work_units", "DECISIONS_DIR", "decisions_path",
]

STAGING_DIR = ".mix-staging"
DECISIONS_DIR = "decisions"  # per unit: what the mix decided about each line it read (`dolma trace` reads them)
MIXTURE_FILE = "mixture.json"  # what each stream of the mix holds, beside its shards


def mix_resources(config: MixConfig) -> Resources:
    """A worker of the mix (or of its measuring pass): one peaked at ~160 MB mixing the benchmark corpus, and at 2.18
    and 2.27 bytes per byte of a document above that while it mixed one 20 MB and one 200 MB document, each with a
    span per duplicate paragraph and the quickstart's six taggers' attributes (1.45 times the text, carried into the
    output; bench/large_document_memory.py). 3 per byte leaves room for rules that read the large attributes (those
    stay raw, not packed: about 2.6 on the same document)."""
    return Resources.for_documents(256 * MiB, 3.0, config.max_document_bytes)


@dataclass(frozen=True)
class MixUnit:
    stream: int
    index: int  # position among the stream's units
    documents: Tuple[str, ...]
    attributes: Tuple[Tuple[str, ...], ...]  # per documents file, one path per attribute set


def shard_name(stream: str, index: int, extension: str) -> str:
    return f"{stream}-{index:04d}{extension}"


def extension(stream: StreamConfig) -> str:
    """The extension of the stream's shards (and parts), by its output compression."""
    kind = stream.compression.output
    if kind in ("zst", "zstd"):
        return ".jsonl.zst"
    if kind == "none":
        return ".jsonl"
    return ".jsonl.gz"


def staging_dir(stream: StreamConfig) -> str:
    return join(stream.output.path, STAGING_DIR)


def unit_prefix(stream: StreamConfig, unit: MixUnit) -> str:
    """What the names of a unit's staged parts and side files start with."""
    return f"{stream.name}-u{unit.index:04d}"


def decisions_path(stream: StreamConfig, prefix: str) -> str:
    """A unit's decisions file: ``line,id,decision,copies`` per line of its documents file (``decision``: kept,
    ``dropped: <rule>`` or quarantined; ``copies``: output lines of a kept document)."""
    return join(stream.output.path, DECISIONS_DIR, prefix + ".csv.gz")


def record_path(stream: StreamConfig, unit: MixUnit) -> str:
    """Where a unit's record (its parts, inputs and config hash) is staged."""
    return join(staging_dir(stream), unit_prefix(stream, unit) + ".json")


def plan_stream(config: MixConfig, s: int) -> List[MixUnit]:
    """The units of stream ``s``: one per documents file, in sorted order."""
    stream = config.streams[s]
    found: Dict[str, None] = {}
    for pattern in stream.documents:
        for path in glob_paths(pattern):
            if not path.endswith(".manifest.json"):
                found[path] = None
    if not found:
        raise ConfigError(f"stream {stream.name!r}: no documents match {stream.documents}")
    units: List[MixUnit] = []
    for path in sorted(found):
        attrs = tuple(CorpusPath.parse(path).sibling(ATTRIBUTES_DIR, a) for a in stream.attributes)
        units.append(MixUnit(s, len(units), (path,), (attrs,)))
    return units


def work_units(config: MixConfig) -> List[WorkUnit[MixUnit]]:
    """Every stream's units as the executors run them."""
    units: List[WorkUnit[MixUnit]] = []
    for s, stream in enumerate(config.streams):
        for unit in plan_stream(config, s):
            size = sum(dio.schedule_size(p) for p in unit.documents)
            # the parts go to staging, the shards and the driver's summary to the output folder, the decisions
            # to their folder
            outputs = (record_path(stream, unit), join(stream.output.path, shard_name(stream.name, 0, ".gz")),
                       decisions_path(stream, unit_prefix(stream, unit)))
            units.append(WorkUnit(key=f"{stream.name}#{unit.index:04d} ({unit.documents[0]})", size=size,
                                  payload=unit, outputs=outputs,
                                  inputs=tuple(unit.documents) + tuple(a for attrs in unit.attributes for a in attrs)))
    return units
