"""``dolma dedupe``."""

from __future__ import annotations

from typing import Any

from dolma.core.runner import stage_command
from dolma.dedup.config import DedupeConfig

__all__ = ["DEDUPE"]


def dedupe_stage(config: DedupeConfig) -> Any:
    """Locally, the stage over one partition of the key space (``dedupe.partition_index``); on Ray, with
    ``dedupe.one_pass`` or ``dedupe.exact``, every partition from one hashing pass."""
    d = config.dedupe
    if config.executor.backend == "ray" or d.one_pass or d.exact:
        from dolma.dedup.onepass import OnePassStage

        return OnePassStage(config)
    from dolma.dedup.stage import DedupeStage

    return DedupeStage(config)


DEDUPE = stage_command(
    DedupeConfig, dedupe_stage, "mark duplicate documents, paragraphs or paragraph n-grams with a Bloom filter"
)
