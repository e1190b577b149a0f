"""The ``dolma dedupe`` config schema; field names are Dolma's so its dedupe configs run unchanged."""

from __future__ import annotations

from typing import List, Optional

import msgspec

from dolma.core.config import ConfigStruct, OnErrorOptions
from dolma.core.errors import ConfigError

__all__ = [
    "NgramDedupeConfig",
    "ParagraphDedupeConfig",
    "DocumentDedupeConfig",
    "DedupeSection",
    "BloomFilterConfig",
    "CompressionConfig",
    "DedupeConfig",
]


class NgramDedupeConfig(ConfigStruct):
    """Mark paragraphs by the share of their word n-grams seen before, instead of whole paragraphs."""

    ngram_length: int = 0
    """Words per n-gram; 0 turns n-gram matching off (exact paragraphs)."""
    stride: int = 0
    """A window starts every max(stride, 1) words; the last window always ends at the paragraph's last word."""
    overlap_threshold: float = 1.0
    """A paragraph is marked when at least this fraction of its n-grams was seen before."""
    skip_short_paragraphs: bool = False
    """Paragraphs with fewer than ngram_length words are skipped (else they are matched as whole paragraphs)."""


class ParagraphDedupeConfig(ConfigStruct):
    """Dedupe paragraphs: each duplicate paragraph gets a [start, end, 1] span."""

    attribute_name: Optional[str] = None
    """Name of the attribute holding the duplicate spans (required with `dedupe.paragraphs`)."""
    paragraph_separator: str = "\n"
    """Text that separates paragraphs (not empty)."""
    by_ngram: Optional[NgramDedupeConfig] = None
    """Match paragraphs by word n-grams (see its keys); none: exact paragraphs."""


class DocumentDedupeConfig(ConfigStruct):
    """Dedupe whole documents on one value of each (their URL, their text...)."""

    attribute_name: Optional[str] = None
    """Name of the attribute marking duplicate documents (required with `dedupe.documents`)."""
    key: Optional[str] = None
    """JSONPath of the value to dedupe on (`$.metadata.url`, `$.text`); a dotted name works too."""


class DedupeSection(ConfigStruct):
    """What is deduplicated (exactly one of `documents` and `paragraphs`), and how the key space is split."""

    name: Optional[str] = None
    """The attribute set: output goes to attributes/<name>/ (default: the attribute name)."""
    documents: Optional[DocumentDedupeConfig] = None
    """Dedupe whole documents (set this or `paragraphs`)."""
    paragraphs: Optional[ParagraphDedupeConfig] = None
    """Dedupe paragraphs (set this or `documents`)."""
    skip_empty: bool = False
    """Keys (documents or paragraphs) that are empty or only whitespace are neither checked nor inserted."""
    min_length: int = 0
    """Keys shorter than this many code points are neither checked nor inserted."""
    min_words: int = 0
    """Keys with fewer than this many words (Unicode word segments) are neither checked nor inserted."""
    num_partitions: int = 1
    """Split the key space in this many partitions, each with its own filter and attribute set `<name>_<i>`."""
    partition_index: int = 0
    """The partition a local run does (0 .. num_partitions - 1); on Ray every partition runs."""
    file_partition: bool = False
    """Partition by document (all keys of a document go to the partition of its id) instead of by key."""
    document_dir: str = "documents"
    """The folder of the input paths that is mirrored by attributes/<name>/."""
    one_pass: bool = False
    """Run every partition (0 .. num_partitions - 1) in this command, reading and hashing the corpus once: key files
    per input, bucketed by partition, then one job per partition, then the attributes (always so on Ray)."""
    exact: bool = False
    """Mark duplicates by sorting and merging 128-bit key hashes instead of a Bloom filter: no false positives,
    nothing kept between runs (`bloom_filter` is not used); runs as `one_pass`."""
    keys_dir: Optional[str] = None
    """Where `one_pass` and `exact` keep their key files (local or s3://; on a cluster, storage every node reads);
    default: <prefix>/dedupe_keys/<name>/ next to the attributes. Removed after a successful run."""


class BloomFilterConfig(ConfigStruct):
    """The Bloom filter of keys seen so far; size it by bytes, or by expected documents and false positive rate."""

    file: Optional[str] = None
    """Where the filter is loaded from (when it exists) and saved to; local or s3://."""
    read_only: bool = False
    """Check keys without inserting them (decontamination against a filter built beforehand)."""
    size_in_bytes: int = 0
    """Size of the filter; 0: computed from `estimated_doc_count` and `desired_false_positive_rate`."""
    estimated_doc_count: int = 0
    """Keys expected to be inserted (sizes the filter together with the false positive rate)."""
    desired_false_positive_rate: float = 0.0
    """Chance that a new key is taken for a duplicate, at `estimated_doc_count` keys."""


class CompressionConfig(ConfigStruct):
    """Dolma's option; here compression always follows the file extension (`.gz`, `.zst`, none)."""

    input: Optional[str] = None
    """Must stay unset: input compression follows each file's extension."""
    output: Optional[str] = None
    """Must stay unset: output compression follows the input's."""


class DedupeConfig(OnErrorOptions):
    """``dolma dedupe``: mark duplicate documents, paragraphs or paragraph n-grams with a Bloom filter."""

    key_notes = {
        "executor": "`backend: ray` runs each of the `dedupe.num_partitions` partitions as one Ray task (its own "
        "filter, in input order, `processes` worker processes on that node); `local` runs the one partition "
        "`dedupe.partition_index`.",
        "profile": "On Ray, each partition's task is profiled (`profile.output` gets `-p<i>of<n>` per partition).",
    }

    documents: List[str] = msgspec.field(default_factory=list)
    """Documents files or glob patterns, local or s3://, taken in this order (the first copy of a key is kept)."""
    dedupe: DedupeSection = msgspec.field(default_factory=DedupeSection)
    """What is deduplicated and how; see its keys."""
    bloom_filter: BloomFilterConfig = msgspec.field(default_factory=BloomFilterConfig)
    """The filter's file and size; see its keys."""
    compression: CompressionConfig = msgspec.field(default_factory=CompressionConfig)
    """Dolma's option; compression always follows the file extension (`.gz`, `.zst`, none), so leave it unset."""
    is_s3_volume: bool = False
    """Dolma's option; accepted, not needed."""

    def __post_init__(self) -> None:
        super().__post_init__()
        d = self.dedupe
        if d.min_length < 0 or d.min_words < 0:
            raise ConfigError("`dedupe.min_length` and `dedupe.min_words` cannot be negative")
        if d.num_partitions < 1:
            raise ConfigError(f"`dedupe.num_partitions`: expected at least 1, got {d.num_partitions}")
        if not 0 <= d.partition_index < d.num_partitions:
            raise ConfigError(
                f"`dedupe.partition_index` must be in [0, num_partitions={d.num_partitions}), got {d.partition_index}"
            )
        if not d.document_dir or "/" in d.document_dir:
            raise ConfigError(f"`dedupe.document_dir`: expected one folder name, got {d.document_dir!r}")
        for name, section in (("documents", d.documents), ("paragraphs", d.paragraphs)):
            if section is not None and not section.attribute_name:
                raise ConfigError(f"missing required key `dedupe.{name}.attribute_name`")
        if d.documents is not None and not d.documents.key:
            raise ConfigError("missing required key `dedupe.documents.key` (a JSONPath such as `$.metadata.url`)")
        if d.paragraphs is not None:
            ngram = d.paragraphs.by_ngram
            if ngram is not None and ngram.ngram_length > 0 and (ngram.stride < 0 or not 0 <= ngram.overlap_threshold <= 1):
                raise ConfigError("`dedupe.paragraphs.by_ngram`: stride >= 0 and 0 <= overlap_threshold <= 1")
            if not d.paragraphs.paragraph_separator:
                raise ConfigError("`dedupe.paragraphs.paragraph_separator` cannot be empty")
        if d.exact and self.bloom_filter.read_only:
            raise ConfigError("`dedupe.exact` keeps no filter between runs, so `bloom_filter.read_only` cannot apply")
        if self.compression.input or self.compression.output:
            raise ConfigError("`compression`: compression follows each file's extension (.gz, .zst or none); leave it unset")
