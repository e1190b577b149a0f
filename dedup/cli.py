"""``dolma dedupe``."""

from __future__ import annotations

from typing import Any

from dolma.core.errors import ConfigError
from dolma.core.runner import stage_command
from dolma.dedup.config import DedupeConfig

__all__ = ["DEDUPE"]


def dedupe_stage(config: DedupeConfig) -> Any:
    """Locally, the stage over one partition of the key space (``dedupe.partition_index``); on Ray, with
    ``dedupe.one_pass`` or ``dedupe.exact``, every partition from one hashing pass; with ``dedupe.minhash``,
    near-duplicate documents (its steps run on either executor)."""
    d = config.dedupe
    if d.documents is None and d.paragraphs is None and d.minhash is None:
        raise ConfigError("set one of `dedupe.documents`, `dedupe.paragraphs` and `dedupe.minhash`")
    if d.minhash is not None:
        from dolma.dedup.minhash.stage import MinHashStage

        return MinHashStage(config)
    if config.executor.backend == "ray" or d.one_pass or d.exact:
        from dolma.dedup.onepass import OnePassStage

        return OnePassStage(config)
    from dolma.dedup.stage import DedupeStage

    return DedupeStage(config)


DEDUPE = stage_command(
    DedupeConfig, dedupe_stage, "mark duplicate documents, paragraphs or paragraph n-grams with a Bloom filter, or near-duplicates by MinHash"
)
