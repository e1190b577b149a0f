"""``dolma mix``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dolma.core.runner import stage_command
from dolma.mixers.config import MixConfig

if TYPE_CHECKING:
    from dolma.mixers.stage import MixStage

__all__ = ["MIX"]


def mix_stage(config: MixConfig) -> "MixStage":
    from dolma.mixers.stage import MixStage

    return MixStage(config)  # validates the config and compiles every expression


MIX = stage_command(MixConfig, mix_stage, "filter, rewrite and sample documents with their attributes into sharded output")
