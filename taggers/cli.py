"""``dolma tag`` and ``dolma list``."""

from __future__ import annotations

from dolma.core.runner import Command, run_units
from dolma.taggers.config import ListConfig, TagConfig

__all__ = ["TAG", "LIST"]


def run_tag(config: TagConfig) -> int:
    from dolma.taggers.stage import TagStage

    stage = TagStage(config)
    stage.setup_plugins()
    return run_units("tag", config, stage, stage.units())


def run_list(config: ListConfig) -> int:
    from dolma.core.registry import TaggerRegistry, load_plugins

    load_plugins(config.tagger_modules)
    rows = TaggerRegistry.items()
    width = max((len(name) for name, _ in rows), default=0)
    for name, cls in rows:
        print(f"{name:<{width}}  {cls.__module__}.{cls.__qualname__}")
    return 0


TAG = Command(TagConfig, run_tag, "run taggers over documents and write attributes")
LIST = Command(ListConfig, run_list, "list the registered taggers")
