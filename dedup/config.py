"""The ``dolma dedupe`` config schema; field names are Dolma's so its dedupe configs run unchanged."""

from __future__ import annotations

from typing import List, Literal, Optional

import msgspec

from dolma.core.config import ConfigStruct, OnErrorOptions
from dolma.core.errors import ConfigError

__all__ = [
    "MinHashConfig",
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


class MinHashConfig(ConfigStruct):
    """Near-duplicate documents by MinHash-LSH, verified by true Jaccard similarity (docs/near_dedup.md)."""

    attribute_name: Optional[str] = None
    """Prefix of the attribute keys `<prefix>__minhash__duplicate` etc. (default: the attribute set's name)."""
    shingle: Literal["words", "tokens"] = "words"
    """Shingles of normalised words (lowercased, non-alphanumeric runs as one space) or of tokenizer tokens."""
    tokenizer: Optional[str] = None
    """With `shingle: tokens`: a Hugging Face `tokenizer.json` file."""
    ngram: int = 5
    """Words (or tokens) per shingle; a shorter document is one shingle."""
    num_bands: int = 20
    """LSH bands; with 8 rows a pair is found with 50% probability at Jaccard 0.655, 90% at 0.758, 97.5% at 0.8."""
    rows_per_band: int = 8
    """Signature rows per band (hashes per signature: num_bands × rows_per_band)."""
    seed: int = 0
    """Seed of the hash functions (signatures and band keys)."""
    threshold: float = 0.8
    """A candidate pair joins a cluster only when the true Jaccard similarity of its shingle sets is at least this."""
    max_cluster_size: int = 1000
    """A cluster larger than this is reported (an alarm in the datasheet) and keeps only the members at `threshold`
    or more from its keeper."""
    verify_keeper: bool = True
    """Split each connected component into stars: every member at `threshold` or more from its cluster's keeper, so
    no two members of a cluster are below 2 × threshold − 1 (Jaccard distance is a metric); false: a component under
    the cap is one cluster."""
    keep: List[str] = msgspec.field(default_factory=lambda: ["-created", "-length", "id"])
    """Keeper order: the cluster keeps its minimum; fields `id`, `length`, `created`, `added`, `source`,
    `metadata.<key>`, `-` before a field for descending; then file order, line order."""
    partitions: int = 8
    """Hash partitions of band keys, candidate edges and labels (the units of each step after signatures)."""
    state_dir: Optional[str] = None
    """Folder for signatures, buckets, edges, labels and clusters (default: `<prefix>/minhash/<set>` of the first
    input); on a cluster, a folder every node reads (s3:// or a shared file system)."""
    reference: Optional[str] = None
    """The `state_dir` of an earlier MinHash run with the same shingles, bands, rows, seed and partitions: its
    documents join the clusters and are kept before any new one, so a new crawl is deduplicated against a release
    without recomputing it (they get no attributes here)."""
    max_iterations: int = 64
    """Label propagation rounds before the run fails (a cluster's diameter in verified edges, plus one)."""


class DedupeSection(ConfigStruct):
    """What is deduplicated (exactly one of `documents` and `paragraphs`), and how the key space is split."""

    name: Optional[str] = None
    """The attribute set: output goes to attributes/<name>/ (default: the attribute name)."""
    documents: Optional[DocumentDedupeConfig] = None
    """Dedupe whole documents (set this or `paragraphs`)."""
    paragraphs: Optional[ParagraphDedupeConfig] = None
    """Dedupe paragraphs (set this or `documents`)."""
    minhash: Optional[MinHashConfig] = None
    """Near-duplicate documents by MinHash-LSH (instead of `documents` or `paragraphs`)."""
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
        if d.minhash is not None:
            _check_minhash(d.minhash, d.documents is not None or d.paragraphs is not None)
        if self.compression.input or self.compression.output:
            raise ConfigError("`compression`: compression follows each file's extension (.gz, .zst or none); leave it unset")


def _check_minhash(m: MinHashConfig, exact_too: bool) -> None:
    if exact_too:
        raise ConfigError("set one of `dedupe.documents`, `dedupe.paragraphs` and `dedupe.minhash`, not several")
    if m.ngram < 1 or m.num_bands < 1 or m.rows_per_band < 1 or m.partitions < 1 or m.max_iterations < 1:
        raise ConfigError("`dedupe.minhash`: ngram, num_bands, rows_per_band, partitions and max_iterations must be >= 1")
    if not 0 < m.threshold <= 1:
        raise ConfigError(f"`dedupe.minhash.threshold`: expected a similarity in (0, 1], got {m.threshold}")
    if m.max_cluster_size < 2:
        raise ConfigError(f"`dedupe.minhash.max_cluster_size`: expected at least 2, got {m.max_cluster_size}")
    if m.shingle == "tokens" and not m.tokenizer:
        raise ConfigError("`dedupe.minhash.shingle: tokens` needs `dedupe.minhash.tokenizer` (a tokenizer.json file)")
    for field in m.keep:
        name = field[1:] if field.startswith("-") else field
        if name not in ("id", "length", "created", "added", "source") and not (
            name.startswith("metadata.") and len(name) > len("metadata.")
        ):
            raise ConfigError(
                f"`dedupe.minhash.keep`: unknown field {field!r} (id, length, created, added, source, metadata.<key>, "
                "each optionally after `-`)"
            )
