"""Config schemas of ``dolma import``, ``dolma warc`` and ``dolma export``.

``warc`` keeps the field names of Dolma's ``warc`` command (``documents``, ``destination``, ``source_name``,
``linearizer``, ``store_html_in_metadata``, ``processes``, ``ignore_existing``, ``debug``, ``dryrun``,
``work_dir``) so its configs run here.
"""

from __future__ import annotations

from typing import List, Literal, Optional

import msgspec

from dolma.core.config import ConfigStruct, OnErrorOptions, StageOptions
from dolma.core.errors import ConfigError

__all__ = [
    "FieldMap",
    "DatasetSource",
    "OutputConfig",
    "ImportConfig",
    "WarcConfig",
    "ExportConfig",
    "ImportFormat",
    "Linearizer",
]

ImportFormat = Literal["auto", "parquet", "jsonl", "arrow", "text", "markdown", "html"]
Linearizer = Literal["resiliparse", "trafilatura"]


class FieldMap(ConfigStruct):
    """Which input field becomes which document field. The defaults read Dolma's own field names (and what
    ``dolma export`` writes), so a Dolma-shaped input needs no mapping."""

    text: str = "text"
    """Required in every record; must be a string."""
    id: Optional[str] = "id"
    """Required in every record when set (a string or an integer); null: ids are derived from the origin."""
    source: Optional[str] = "source"
    """Becomes `source` when the record has it (else the config's `source`); null: always the config's."""
    added: Optional[str] = "added"
    """Becomes `added` (when it joined the corpus), when the record has it; null: never."""
    created: Optional[str] = "created"
    """Becomes `created` (when the text was written), when the record has it; null: never."""
    version: Optional[str] = "version"
    """Becomes `version`, when the record has it; null: never."""
    extra: Optional[str] = "extra"
    """A JSON object (or its JSON text) whose keys become top-level document fields (export writes it)."""
    metadata: List[str] = msgspec.field(default_factory=lambda: ["*"])
    """Fields copied into `metadata`; `*` means every field not mapped above. A field holding an object (or
    its JSON text) named `metadata` is merged into metadata instead of being nested."""


class DatasetSource(ConfigStruct):
    """A ``datasets.load_dataset`` source read in streaming mode: a local folder or loading script, or a hub
    name when the hub is reachable. One work unit per shard of the stream (one data file)."""

    path: Optional[str] = None
    """A local dataset folder or loading script, or a hub name; set this or `documents`."""
    name: Optional[str] = None
    """The dataset's configuration name."""
    split: str = "train"
    """The split to read."""
    data_dir: Optional[str] = None
    """`data_dir` of `load_dataset`."""
    data_files: List[str] = msgspec.field(default_factory=list)
    """`data_files` of `load_dataset`."""
    revision: Optional[str] = None
    """The dataset's revision (a branch, tag or commit) on the hub."""
    trust_remote_code: bool = False
    """Allow a dataset loading script to run."""


class OutputConfig(ConfigStruct):
    """The documents shards written (the `output` key of import and warc)."""

    max_size_in_bytes: int = 1_000_000_000
    """A shard is closed once it holds this many bytes of (uncompressed) JSON lines."""
    compression: Literal["gzip", "zstd", "none"] = "gzip"
    """Compression of the shards (.jsonl.gz, .jsonl.zst, .jsonl)."""

    def __post_init__(self) -> None:
        if self.max_size_in_bytes < 1:
            raise ConfigError(f"`output.max_size_in_bytes`: expected a positive number, got {self.max_size_in_bytes}")


class ImportConfig(OnErrorOptions):
    """``dolma import``: convert Parquet, Hugging Face datasets, JSONL or loose files to documents."""

    key_notes = {"on_error": "Quarantined records go to <destination>/quarantine/."}

    documents: List[str] = msgspec.field(default_factory=list)
    """Input files, globs or folders, local or s3:// (a `save_to_disk` folder means its .arrow files)."""
    dataset: DatasetSource = msgspec.field(default_factory=DatasetSource)
    """A Hugging Face dataset to read instead of `documents`; see its keys."""
    destination: Optional[str] = None
    """Output prefix: documents land in <destination>/documents/."""
    source: Optional[str] = None
    """The `source` of every document whose record has none (required)."""
    format: ImportFormat = "auto"
    """Input format; auto: from each file's extension."""
    fields: FieldMap = msgspec.field(default_factory=FieldMap)
    """Which input field becomes which document field; see its keys."""
    files_per_unit: int = 1000
    """Loose text / Markdown / HTML files: one work unit reads up to this many files of one folder."""
    linearizer: Linearizer = "resiliparse"
    """HTML to text for .html inputs."""
    output: OutputConfig = msgspec.field(default_factory=OutputConfig)
    """The documents shards; see its keys."""
    batch_size: int = 8192
    """Records per batch read from columnar inputs (bounds a worker's memory)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.batch_size < 1:
            raise ConfigError(f"`batch_size`: expected a positive number, got {self.batch_size}")
        if self.files_per_unit < 1:
            raise ConfigError(f"`files_per_unit`: expected a positive number, got {self.files_per_unit}")


class TaggerStepConfig(ConfigStruct):
    """Dolma's `pre`/`post` tagger steps; accepted so its configs load, refused when set (run `dolma tag` on the
    extracted documents instead)."""

    taggers: List[str] = msgspec.field(default_factory=list)
    """Must stay empty: run `dolma tag` on the extracted documents instead."""
    skip: bool = False
    """Dolma's option; accepted, not used."""


class WarcConfig(StageOptions):
    """``dolma warc``: extract documents from WARC/ARC web archives (HTML to text)."""

    documents: List[str] = msgspec.field(default_factory=list)
    """WARC or ARC files, globs or folders (.warc, .warc.gz, .arc, .arc.gz), local or s3://."""
    destination: List[str] = msgspec.field(default_factory=list)
    """One output prefix, or one per `documents` entry; documents land in <destination>/documents/."""
    source_name: Optional[str] = None
    """The `source` of every document (required)."""
    linearizer: Linearizer = "resiliparse"
    """HTML to text extractor."""
    store_html_in_metadata: bool = False
    """Keep each page's HTML in `metadata.html`."""
    html_content_types: List[str] = msgspec.field(default_factory=lambda: ["text/html", "application/xhtml+xml"])
    """Responses with these content types are extracted; other records are skipped and counted."""
    output: OutputConfig = msgspec.field(default_factory=OutputConfig)
    """The documents shards; see its keys."""
    pre: TaggerStepConfig = msgspec.field(default_factory=TaggerStepConfig)
    """Dolma's taggers run before extraction; must stay empty here."""
    post: TaggerStepConfig = msgspec.field(default_factory=TaggerStepConfig)
    """Dolma's taggers run after extraction; must stay empty here."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.destination) not in (1, len(self.documents)):
            raise ConfigError(
                f"`destination`: give one output prefix, or one per `documents` entry ({len(self.documents)})"
            )
        if self.pre.taggers or self.post.taggers:
            raise ConfigError("`pre.taggers`/`post.taggers` are not run during extraction here; run `dolma tag` on the output")


class ExportConfig(OnErrorOptions):
    """``dolma export``: export documents to Parquet files or a Hugging Face dataset folder."""

    documents: List[str] = msgspec.field(default_factory=list)
    """Documents files or globs (a mixed corpus), local or s3://."""
    destination: Optional[str] = None
    """The output folder (required)."""
    format: Literal["parquet", "hf"] = "parquet"
    """parquet: one .parquet file per documents file; hf: a `datasets.load_from_disk` folder."""
    parquet_compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    """Compression of the Parquet files."""
    row_group_bytes: int = 64_000_000
    """Text buffered per Parquet row group / Arrow batch (bounds a worker's memory)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.row_group_bytes < 1:
            raise ConfigError(f"`row_group_bytes`: expected a positive number, got {self.row_group_bytes}")
