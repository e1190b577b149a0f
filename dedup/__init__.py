"""The dedupe stage: a Bloom filter shared by all worker processes marks documents, paragraphs or paragraph
n-grams seen earlier in the corpus, deterministically (the first occurrence in input order is kept).

The names below are imported when first used, so that ``dolma dedupe`` chooses how numpy is loaded
(:func:`dolma.dedup.cli.dedupe_stage`) before anything imports it."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["BloomFilter", "BloomParams", "DedupeConfig", "hash_keys"]

_HOMES = {"BloomFilter": "bloom", "BloomParams": "bloom", "hash_keys": "bloom", "DedupeConfig": "config"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'dolma.dedup' has no attribute {name!r}")
    return getattr(importlib.import_module(f"dolma.dedup.{_HOMES[name]}"), name)
