"""The ``dolma mix`` config schema; field names are Dolma's so its mixer configs run unchanged."""

from __future__ import annotations

from typing import Dict, List, Literal, Optional, Tuple

import msgspec

from dolma.core.config import ConfigStruct, OnErrorOptions
from dolma.core.errors import ConfigError

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
    """Which documents a stream keeps, by expressions over each document with its attributes."""

    include: List[str] = msgspec.field(default_factory=list)
    """Keep a document only if one of these matches (no include: keep all)."""
    exclude: List[str] = msgspec.field(default_factory=list)
    """Drop a document if any of these matches."""
    syntax: Syntax = "jsonpath"
    """Language of the expressions: JSONPath (`$.attributes[?(@.x[0][2] > 0.5)]`) or jq."""


class SpanReplacementConfig(ConfigStruct):
    """Replace the text of scored spans (from an attribute) whose score is in range."""

    span: str
    """Expression selecting lists of [start, end, score] spans, e.g. $.attributes.exp__tagger__para."""
    min_score: Optional[float] = None
    """Spans with score >= min_score are replaced (set this, `max_score`, or both)."""
    max_score: Optional[float] = None
    """Spans with score < max_score are replaced (set this, `min_score`, or both)."""
    replacement: str = ""
    """Text put in place of a span; {} stands for the original text."""
    syntax: Syntax = "jsonpath"
    """Language of `span`: JSONPath or jq."""


class StreamOutputConfig(ConfigStruct):
    """Where a stream's shards go, and what they keep."""

    path: str
    """Folder of the stream's output shards (<name>-NNNN.jsonl.gz), local or s3://."""
    max_size_in_bytes: int = 2 * 2**30
    """Upper bound on each output shard's stored (compressed) size."""
    discard_fields: List[str] = msgspec.field(default_factory=list)
    """Top-level document fields removed before writing (`attributes` is always removed)."""
    min_text_length: Optional[int] = 0
    """Drop documents whose text (after span replacement), trimmed of white space at both ends, has fewer UTF-8
    bytes (Dolma's measure)."""
    dropped_path: Optional[str] = None
    """Folder for the dropped documents with their reason (an audit trail); none by default."""


class CompressionConfig(ConfigStruct):
    """Dolma's compression options. Input compression is always read from each file's extension."""

    input: Optional[str] = None
    """Accepted for Dolma's configs; input compression is read from each file's extension."""
    output: Optional[Literal["gz", "gzip", "zst", "zstd", "none"]] = None
    """Output shard compression; default gzip (.jsonl.gz)."""


class TargetConfig(ConfigStruct):
    """How much of a stream to put in the mix; the sampling rate becomes target / what the stream has after
    filtering (measured in a first pass)."""

    bytes: Optional[int] = None
    """UTF-8 bytes of output text this stream contributes."""
    tokens: Optional[int] = None
    """Whitespace-separated tokens of output text this stream contributes."""
    share: Optional[float] = None
    """Fraction of `mixture.total` (in `mixture.unit`)."""


class MixtureConfig(ConfigStruct):
    """The size of the whole mix, which `target.share` of each stream is a fraction of."""

    total: int
    """Size of the mix, in `unit`."""
    unit: Literal["bytes", "tokens"] = "tokens"
    """tokens: whitespace-separated tokens of the output text; bytes: UTF-8 bytes of the output text."""


class StreamConfig(ConfigStruct):
    """One source of the mix: its documents, how they are filtered, rewritten and sampled, where they go."""

    name: str
    """The stream's name; it prefixes its output files."""
    documents: List[str] = msgspec.field(default_factory=list)
    """Documents files or glob patterns, local or s3:// (their attributes are found beside them)."""
    output: StreamOutputConfig = msgspec.field(default_factory=lambda: StreamOutputConfig(path=""))
    """Where the stream's shards go (`output.path` is required)."""
    attributes: List[str] = msgspec.field(default_factory=list)
    """Attribute sets (folders under attributes/) merged into each document's `attributes`."""
    filter: Optional[FilterConfig] = None
    """Which documents to keep (none: all)."""
    span_replacement: List[SpanReplacementConfig] = msgspec.field(default_factory=list)
    """Span rewrites, applied in order before `output.min_text_length` is checked."""
    compression: CompressionConfig = msgspec.field(default_factory=CompressionConfig)
    """Output shard compression."""
    sample: float = 1.0
    """Sampling rate by hash of id: < 1 keeps that fraction, > 1 adds copies with derived ids."""
    target: Optional[TargetConfig] = None
    """Sample to reach an amount instead of by a fixed rate (set `sample` or `target`, not both)."""


class MixConfig(OnErrorOptions):
    """``dolma mix``: filter, rewrite and sample documents with their attributes into sharded output."""

    key_notes = {"executor": "Shards are joined by this process either way."}

    streams: List[StreamConfig] = msgspec.field(default_factory=list)
    """The streams to mix (at least one); each writes its own shards."""
    mixture: Optional[MixtureConfig] = None
    """The whole mix's size, for streams whose `target` is a `share`."""
    seed: int = 0
    """Seed of the sampling hash."""
    gzip_level: int = 2
    """Compression level of gzip output shards (1 fastest .. 9 smallest)."""
    shuffle: bool = True
    """Dolma's flag; accepted and ignored: output order is input order, so runs are reproducible."""
    regex_timeout: float = 1.0
    """Seconds the user regexes (jq `test`) may run on one document, in all; past it the line fails the run with
    its file, line and pattern, or, with `on_error: skip`, goes to the quarantine file."""
    strict: bool = False
    """A filter or span rule reading an attribute key that no document of its stream holds (a typo, a missing
    attribute set) is a warning naming the closest keys seen; strict: an error (exit 1), before any shard is
    published."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.regex_timeout > 0:
            raise ConfigError(f"`regex_timeout`: expected a number of seconds > 0, got {self.regex_timeout}")
        outputs: Dict[Tuple[str, str], str] = {}
        for i, stream in enumerate(self.streams):
            where = f"streams[{i}]"
            if not stream.name:
                raise ConfigError(f"`{where}.name`: a stream needs a name (it prefixes its output files)")
            if not stream.documents:
                raise ConfigError(f"`{where}.documents`: give at least one documents path or glob")
            if not stream.output.path:
                raise ConfigError(f"missing required key `{where}.output.path`")
            if stream.output.max_size_in_bytes <= 0:
                raise ConfigError(f"`{where}.output.max_size_in_bytes`: expected a positive number")
            if stream.output.min_text_length is not None and stream.output.min_text_length < 0:
                raise ConfigError(f"`{where}.output.min_text_length`: expected a number >= 0")
            key = (stream.output.path.rstrip("/"), stream.name)
            if key in outputs:
                raise ConfigError(f"`{where}`: streams {outputs[key]!r} and {stream.name!r} would write the same files")
            outputs[key] = stream.name
            if stream.filter is not None and not stream.filter.include and not stream.filter.exclude:
                raise ConfigError(f"`{where}.filter`: give `include` or `exclude` expressions")
            for j, rule in enumerate(stream.span_replacement):
                if rule.min_score is None and rule.max_score is None:
                    raise ConfigError(f"`{where}.span_replacement[{j}]`: set `min_score` or `max_score`")
            if not stream.sample >= 0:
                raise ConfigError(f"`{where}.sample`: expected a rate >= 0, got {stream.sample}")
            t = stream.target
            if t is not None:
                given = [k for k in ("bytes", "tokens", "share") if getattr(t, k) is not None]
                if len(given) != 1:
                    raise ConfigError(f"`{where}.target`: set exactly one of `bytes`, `tokens` or `share`")
                if t.share is not None and self.mixture is None:
                    raise ConfigError(f"`{where}.target.share` needs `mixture.total`")
                if stream.sample != 1.0:
                    raise ConfigError(f"`{where}`: set `sample` or `target`, not both")
