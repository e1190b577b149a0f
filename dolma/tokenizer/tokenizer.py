"""Dolma's ``dolma.tokenizer.tokenizer`` names over our tokens stage (:mod:`dolma.tokens`).

- :class:`Tokenizer`: ours, plus Dolma's ``from_file`` / ``from_pretrained``, ``encode(text)`` returning a list of
  ids with BOS/EOS, ``encode_batch`` and ``decode(ids, skip_special_tokens=True)``.
- :func:`tokenize_in_parallel`: Dolma's keyword arguments, run as a ``dolma tokens`` config.
- :func:`make_spec_from_fields` / :func:`make_retriever_for_field`: msgspec types that decode only the (dotted,
  possibly nested) fields a reader needs, and a getter for one of them.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type

import msgspec
import numpy as np

from dolma.tokens.cli import TOKENS
from dolma.tokens.tokenizer import Tokenizer as _Tokenizer

__all__ = ["Tokenizer", "tokenize_in_parallel", "make_spec_from_fields", "make_retriever_for_field"]


class Tokenizer(_Tokenizer):
    """Our tokenizer with Dolma's constructors and list-returning ``encode``."""

    @classmethod
    def from_file(cls, filename: str, **kwargs: Any) -> "Tokenizer":
        return cls(name_or_path=filename, **kwargs)

    @classmethod
    def from_pretrained(cls, identifier: str, **kwargs: Any) -> "Tokenizer":
        return cls(name_or_path=identifier, **kwargs)

    def _with_special(self, ids: np.ndarray, add_special_tokens: bool) -> List[int]:
        out = ids.tolist()
        if add_special_tokens:
            out = ([self.bos_token_id] if self.bos_token_id is not None else []) + out
            out += [self.eos_token_id] if self.eos_token_id is not None else []
        return out

    def encode(self, input: str, add_special_tokens: bool = True) -> List[int]:
        return self._with_special(self.encode_plain([input])[0], add_special_tokens)

    def encode_batch(self, inputs: Sequence[str], add_special_tokens: bool = True) -> List[List[int]]:
        return [self._with_special(ids, add_special_tokens) for ids in self.encode_plain(list(inputs))]

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:  # type: ignore[override]
        return self.hf.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)


def tokenize_in_parallel(
    sources: List[str],
    destination: str,
    num_writers: int = 1,
    num_readers: Optional[int] = None,
    local_shuffle: int = 10_000,
    ring_size: int = 8,
    tokenizer_name_or_path: str = "allenai/gpt-neox-olmo-dolma-v1_5",
    bos_token_id: Optional[int] = None,
    eos_token_id: Optional[int] = 50279,
    pad_token_id: Optional[int] = 1,
    segment_before_tokenization: bool = False,
    seed: int = 3920,
    metadata_dir: Optional[str] = None,
    max_size: int = 1024 * 1024 * 1024,
    dtype: str = "uint16",
    debug: bool = False,
    sample_ring_prop: bool = False,
    refresh_tokenizer_every: int = 0,
    text_field_name: str = "text",
    text_field_type: str = "str",
    id_field_name: Optional[str] = "id",
    id_field_type: str = "str",
    **kwargs: Any,
) -> None:
    """Tokenize ``sources`` into ``destination`` with Dolma's arguments (our ``dolma tokens``). A ``dtype`` too
    small for the tokenizer's ids is a TypeError, as in Dolma. ``num_readers``, ``local_shuffle``,
    ``metadata_dir`` and ``refresh_tokenizer_every`` are Dolma's tuning knobs and have no effect here."""
    vocab = Tokenizer(
        name_or_path=tokenizer_name_or_path,
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
    ).vocab_size
    if vocab - 1 > np.iinfo(np.dtype(dtype)).max:
        raise TypeError(f"dtype {dtype} cannot hold the ids of {tokenizer_name_or_path} ({vocab} tokens)")
    config: Dict[str, Any] = {
        "documents": list(sources),
        "destination": destination,
        "processes": 1 if debug else num_writers,
        "ring_size": ring_size,
        "sample_ring_prop": sample_ring_prop,
        "max_size": max_size,
        "dtype": dtype,
        "seed": seed,
        "debug": debug,
        "tokenizer": {
            "name_or_path": tokenizer_name_or_path,
            "bos_token_id": bos_token_id,
            "eos_token_id": eos_token_id,
            "pad_token_id": pad_token_id,
            "segment_before_tokenization": segment_before_tokenization,
        },
        "fields": {
            "text_field_name": text_field_name,
            "text_field_type": text_field_type,
            "id_field_name": id_field_name,
            "id_field_type": id_field_type,
        },
    }
    TOKENS.call(config)


def make_spec_from_fields(name: str, *fields: Optional[Tuple[str, Type[Any]]]) -> Type[msgspec.Struct]:
    """A msgspec Struct type named ``name`` with the given ``(dotted name, type)`` fields; ``"a.b"`` becomes a
    nested Struct ``a`` holding ``b``, and ``None`` entries are skipped."""
    tree: Dict[str, Any] = {}
    for field in fields:
        if field is None:
            continue
        path, kind = field
        node = tree
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = kind

    def build(struct_name: str, node: Dict[str, Any]) -> Type[msgspec.Struct]:
        members = [
            (key, build(f"{struct_name}_{key}", value) if isinstance(value, dict) else value)
            for key, value in node.items()
        ]
        return msgspec.defstruct(struct_name, members)

    return build(name, tree)


def make_retriever_for_field(field_name: str, field_type: Type[Any]) -> Callable[[Any], Any]:
    """A getter for a dotted field of a Struct made by :func:`make_spec_from_fields` (AttributeError if absent)."""
    return operator.attrgetter(field_name)
