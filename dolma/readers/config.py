"""Config schemas of ``dolma import``, ``dolma warc`` and ``dolma export``.

``warc`` keeps the field names of Dolma's ``warc`` command (``documents``, ``destination``, ``source_name``,
``linearizer``, ``store_html_in_metadata``, ``processes``, ``ignore_existing``, ``debug``, ``dryrun``,
``work_dir``) so its configs run here.
"""

from __future__ import annotations

from typing import List, Literal, Optional

import msgspec

from dolma.core.config import ConfigStruct, ExecutorConfig, ProfileConfig, WorkDirConfig

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
    added: Optional[str] = "added"
    created: Optional[str] = "created"
    version: Optional[str] = "version"
    extra: Optional[str] = "extra"
    """A JSON object (or its JSON text) whose keys become top-level document fields (export writes it)."""
    metadata: List[str] = msgspec.field(default_factory=lambda: ["*"])
    """Fields copied into `metadata`; `*` means every field not mapped above. A field holding an object (or
    its JSON text) named `metadata` is merged into metadata instead of being nested."""


class DatasetSource(ConfigStruct):
    """A ``datasets.load_dataset`` source read in streaming mode: a local folder or loading script, or a hub
    name when the hub is reachable. One work unit per shard of the stream (one data file)."""

    path: Optional[str] = None
    name: Optional[str] = None
    split: str = "train"
    data_dir: Optional[str] = None
    data_files: List[str] = msgspec.field(default_factory=list)
    revision: Optional[str] = None
    trust_remote_code: bool = False


class OutputConfig(ConfigStruct):
    max_size_in_bytes: int = 1_000_000_000
    """A shard is closed once it holds this many bytes of (uncompressed) JSON lines."""
    compression: Literal["gzip", "zstd", "none"] = "gzip"


class ImportConfig(ConfigStruct):
    documents: List[str] = msgspec.field(default_factory=list)
    """Input files, globs or folders, local or s3:// (a `save_to_disk` folder means its .arrow files)."""
    dataset: DatasetSource = msgspec.field(default_factory=DatasetSource)
    destination: Optional[str] = None
    """Output prefix: documents land in <destination>/documents/."""
    source: Optional[str] = None
    """The `source` of every document whose record has none (required)."""
    format: ImportFormat = "auto"
    fields: FieldMap = msgspec.field(default_factory=FieldMap)
    files_per_unit: int = 1000
    """Loose text / Markdown / HTML files: one work unit reads up to this many files of one folder."""
    linearizer: Linearizer = "resiliparse"
    """HTML to text for .html inputs."""
    output: OutputConfig = msgspec.field(default_factory=OutputConfig)
    batch_size: int = 8192
    """Records per batch read from columnar inputs (bounds a worker's memory)."""
    processes: int = 1
    ignore_existing: bool = False
    on_error: Literal["fail", "skip"] = "fail"
    """fail: a bad record fails its unit; skip: bad records go to <destination>/quarantine/ and are counted."""
    debug: bool = False
    dryrun: bool = False
    profile: ProfileConfig = msgspec.field(default_factory=ProfileConfig)
    executor: ExecutorConfig = msgspec.field(default_factory=ExecutorConfig)


class TaggerStepConfig(ConfigStruct):
    """Dolma's `pre`/`post` tagger steps; accepted so its configs load, refused when set (run `dolma tag` on the
    extracted documents instead)."""

    taggers: List[str] = msgspec.field(default_factory=list)
    skip: bool = False


class WarcConfig(ConfigStruct):
    documents: List[str] = msgspec.field(default_factory=list)
    """WARC or ARC files, globs or folders (.warc, .warc.gz, .arc, .arc.gz), local or s3://."""
    destination: List[str] = msgspec.field(default_factory=list)
    """One output prefix, or one per `documents` entry; documents land in <destination>/documents/."""
    source_name: Optional[str] = None
    linearizer: Linearizer = "resiliparse"
    store_html_in_metadata: bool = False
    html_content_types: List[str] = msgspec.field(default_factory=lambda: ["text/html", "application/xhtml+xml"])
    output: OutputConfig = msgspec.field(default_factory=OutputConfig)
    processes: int = 1
    ignore_existing: bool = False
    debug: bool = False
    dryrun: bool = False
    pre: TaggerStepConfig = msgspec.field(default_factory=TaggerStepConfig)
    post: TaggerStepConfig = msgspec.field(default_factory=TaggerStepConfig)
    work_dir: WorkDirConfig = msgspec.field(default_factory=WorkDirConfig)
    profile: ProfileConfig = msgspec.field(default_factory=ProfileConfig)
    executor: ExecutorConfig = msgspec.field(default_factory=ExecutorConfig)


class ExportConfig(ConfigStruct):
    documents: List[str] = msgspec.field(default_factory=list)
    """Documents files or globs (a mixed corpus), local or s3://."""
    destination: Optional[str] = None
    format: Literal["parquet", "hf"] = "parquet"
    """parquet: one .parquet file per documents file; hf: a `datasets.load_from_disk` folder."""
    parquet_compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    row_group_bytes: int = 64_000_000
    """Text buffered per Parquet row group / Arrow batch (bounds a worker's memory)."""
    processes: int = 1
    ignore_existing: bool = False
    on_error: Literal["fail", "skip"] = "fail"
    debug: bool = False
    dryrun: bool = False
    profile: ProfileConfig = msgspec.field(default_factory=ProfileConfig)
    executor: ExecutorConfig = msgspec.field(default_factory=ExecutorConfig)
