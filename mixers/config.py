"""The ``dolma mix`` config schema; field names are Dolma's so its mixer configs run unchanged."""

from __future__ import annotations

from typing import List, Literal, Optional

import msgspec

from dolma.core.config import ConfigStruct, ExecutorConfig, ProfileConfig, WorkDirConfig

__all__ = [
    "MixConfig",
    "StreamConfig",
    "StreamOutputConfig",
    "FilterConfig",
    "SpanReplacementConfig",
    "CompressionConfig",
    "TargetConfig",
    "MixtureConfig",
]

Syntax = Literal["jsonpath", "jq"]


class FilterConfig(ConfigStruct):
    include: List[str] = msgspec.field(default_factory=list)
    """Keep a document only if one of these matches (no include: keep all)."""
    exclude: List[str] = msgspec.field(default_factory=list)
    """Drop a document if any of these matches."""
    syntax: Syntax = "jsonpath"


class SpanReplacementConfig(ConfigStruct):
    span: str
    """Expression selecting lists of [start, end, score] spans, e.g. $.attributes.exp__tagger__para."""
    min_score: Optional[float] = None
    max_score: Optional[float] = None
    """Spans are replaced when min_score <= score < max_score; at least one bound is required."""
    replacement: str = ""
    """Text put in place of a span; {} stands for the original text."""
    syntax: Syntax = "jsonpath"


class StreamOutputConfig(ConfigStruct):
    path: str
    max_size_in_bytes: int = 2 * 2**30
    """Upper bound on each output shard's stored (compressed) size."""
    discard_fields: List[str] = msgspec.field(default_factory=list)
    min_text_length: Optional[int] = 0
    """Drop documents whose text (after span replacement) has fewer code points."""
    dropped_path: Optional[str] = None
    """Folder for the dropped documents with their reason (an audit trail); none by default."""


class CompressionConfig(ConfigStruct):
    """Dolma's compression options. Input compression is always read from each file's extension."""

    input: Optional[str] = None
    output: Optional[Literal["gz", "gzip", "zst", "zstd", "none"]] = None
    """Output shard compression; default gzip (.jsonl.gz)."""


class TargetConfig(ConfigStruct):
    """How much of a stream to put in the mix; the sampling rate becomes target / what the stream has after
    filtering (measured in a first pass)."""

    bytes: Optional[int] = None
    tokens: Optional[int] = None
    share: Optional[float] = None
    """Fraction of `mixture.total` (in `mixture.unit`)."""


class MixtureConfig(ConfigStruct):
    total: int
    unit: Literal["bytes", "tokens"] = "tokens"
    """tokens: whitespace-separated tokens of the output text; bytes: UTF-8 bytes of the output text."""


class StreamConfig(ConfigStruct):
    name: str
    documents: List[str] = msgspec.field(default_factory=list)
    output: StreamOutputConfig = msgspec.field(default_factory=lambda: StreamOutputConfig(path=""))
    attributes: List[str] = msgspec.field(default_factory=list)
    """Attribute sets (folders under attributes/) merged into each document's `attributes`."""
    filter: Optional[FilterConfig] = None
    span_replacement: List[SpanReplacementConfig] = msgspec.field(default_factory=list)
    compression: CompressionConfig = msgspec.field(default_factory=CompressionConfig)
    sample: float = 1.0
    """Sampling rate by hash of id: < 1 keeps that fraction, > 1 adds copies with derived ids."""
    target: Optional[TargetConfig] = None


class MixConfig(ConfigStruct):
    streams: List[StreamConfig] = msgspec.field(default_factory=list)
    processes: int = 1
    executor: ExecutorConfig = msgspec.field(default_factory=ExecutorConfig)
    """`backend: local` (default) or `ray`; shards are joined by this process either way."""
    mixture: Optional[MixtureConfig] = None
    seed: int = 0
    """Seed of the sampling hash."""
    gzip_level: int = 2
    on_error: Literal["fail", "skip"] = "fail"
    """fail: a malformed documents line fails its unit; skip: it is quarantined and counted."""
    ignore_existing: bool = False
    shuffle: bool = True
    """Dolma's flag; accepted and ignored: output order is input order, so runs are reproducible."""
    work_dir: WorkDirConfig = msgspec.field(default_factory=WorkDirConfig)
    debug: bool = False
    dryrun: bool = False
    profile: ProfileConfig = msgspec.field(default_factory=ProfileConfig)
