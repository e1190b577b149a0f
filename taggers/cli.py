"""``dolma tag`` and ``dolma list``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dolma.core.runner import Command, stage_command
from dolma.taggers.config import ListConfig, TagConfig

if TYPE_CHECKING:
    from dolma.taggers.stage import TagStage

__all__ = ["TAG", "LIST"]


def tag_stage(config: TagConfig) -> "TagStage":
    from dolma.taggers.stage import TagStage

    stage = TagStage(config)
    stage.setup_plugins()
    return stage


def run_list(config: ListConfig) -> int:
    from dolma.core.registry import TaggerRegistry, load_plugins

    load_plugins(config.tagger_modules)
    rows = TaggerRegistry.items()
    width = max((len(name) for name, _ in rows), default=0)
    for name, cls in rows:
        print(f"{name:<{width}}  {cls.__module__}.{cls.__qualname__}")
    return 0


TAG = stage_command(TagConfig, tag_stage, "run taggers over documents and write attributes")
LIST = Command(ListConfig, run_list, "list the registered taggers")
