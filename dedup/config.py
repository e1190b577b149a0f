"""The ``dolma dedupe`` config schema; field names are Dolma's so its dedupe configs run unchanged."""

from __future__ import annotations

from typing import List, Literal, Optional

import msgspec

from dolma.core.config import ConfigStruct, ExecutorConfig, ProfileConfig, WorkDirConfig

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
    ngram_length: int = 0
    """Words per n-gram; 0 turns n-gram matching off (exact paragraphs)."""
    stride: int = 0
    """A window starts every max(stride, 1) words; the last window always ends at the paragraph's last word."""
    overlap_threshold: float = 1.0
    """A paragraph is marked when at least this fraction of its n-grams was seen before."""
    skip_short_paragraphs: bool = False
    """Paragraphs with fewer than ngram_length words are skipped (else they are matched as whole paragraphs)."""


class ParagraphDedupeConfig(ConfigStruct):
    attribute_name: Optional[str] = None
    paragraph_separator: str = "\n"
    by_ngram: Optional[NgramDedupeConfig] = None


class DocumentDedupeConfig(ConfigStruct):
    attribute_name: Optional[str] = None
    key: Optional[str] = None
    """JSONPath of the value to dedupe on (`$.metadata.url`, `$.text`); a dotted name works too."""


class DedupeSection(ConfigStruct):
    name: Optional[str] = None
    """The attribute set: output goes to attributes/<name>/ (default: the attribute name)."""
    documents: Optional[DocumentDedupeConfig] = None
    paragraphs: Optional[ParagraphDedupeConfig] = None
    skip_empty: bool = False
    """Keys (documents or paragraphs) that are empty or only whitespace are neither checked nor inserted."""
    min_length: int = 0
    """Keys shorter than this many code points are neither checked nor inserted."""
    min_words: int = 0
    """Keys with fewer than this many words (Unicode word segments) are neither checked nor inserted."""
    num_partitions: int = 1
    partition_index: int = 0
    file_partition: bool = False
    """Partition by document (all keys of a document go to the partition of its id) instead of by key."""
    document_dir: str = "documents"
    """The folder of the input paths that is mirrored by attributes/<name>/."""


class BloomFilterConfig(ConfigStruct):
    file: Optional[str] = None
    """Where the filter is loaded from (when it exists) and saved to; local or s3://."""
    read_only: bool = False
    """Check keys without inserting them (decontamination against a filter built beforehand)."""
    size_in_bytes: int = 0
    estimated_doc_count: int = 0
    desired_false_positive_rate: float = 0.0


class CompressionConfig(ConfigStruct):
    """Dolma's option; here compression always follows the file extension (`.gz`, `.zst`, none)."""

    input: Optional[str] = None
    output: Optional[str] = None


class DedupeConfig(ConfigStruct):
    documents: List[str] = msgspec.field(default_factory=list)
    dedupe: DedupeSection = msgspec.field(default_factory=DedupeSection)
    bloom_filter: BloomFilterConfig = msgspec.field(default_factory=BloomFilterConfig)
    processes: int = 1
    executor: ExecutorConfig = msgspec.field(default_factory=ExecutorConfig)
    """`backend: ray` runs each of the `dedupe.num_partitions` partitions as one Ray task (its own filter, in input
    order, `processes` worker processes on that node); `local` runs the one partition `partition_index`."""
    ignore_existing: bool = False
    """Redo files even when their manifests say they are done."""
    on_error: Literal["fail", "skip"] = "fail"
    """fail: a bad line fails its file; skip: bad lines go to a quarantine file and are counted."""
    debug: bool = False
    dryrun: bool = False
    work_dir: WorkDirConfig = msgspec.field(default_factory=WorkDirConfig)
    profile: ProfileConfig = msgspec.field(default_factory=ProfileConfig)
    compression: CompressionConfig = msgspec.field(default_factory=CompressionConfig)
    is_s3_volume: bool = False
    """Dolma's option; accepted, not needed."""
