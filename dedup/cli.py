"""``dolma dedupe``."""

from __future__ import annotations

import os
import sys
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
    _import_numpy()
    if d.minhash is not None:
        from dolma.dedup.minhash.stage import MinHashStage

        return MinHashStage(config)
    if config.executor.backend == "ray" or d.one_pass or d.exact:
        from dolma.dedup.onepass import OnePassStage

        return OnePassStage(config)
    from dolma.dedup.stage import DedupeStage

    return DedupeStage(config)


def _import_numpy() -> None:
    """Import numpy without OpenBLAS's thread pool: dedupe multiplies no matrices, and at import OpenBLAS starts a
    thread per core that waits for work spinning (~35 ms of CPU a run on 2 cores). Only where this process has not
    imported numpy yet; the setting is read when the library loads and is undone at once, so nothing this process
    starts later (a pipeline's next stage, its workers) inherits it."""
    if "numpy" in sys.modules:
        return
    saved = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        import numpy  # noqa: F401
    finally:
        if saved is None:
            del os.environ["OPENBLAS_NUM_THREADS"]
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = saved


DEDUPE = stage_command(
    DedupeConfig, dedupe_stage, "mark duplicate documents, paragraphs or paragraph n-grams with a Bloom filter, or near-duplicates by MinHash"
)
