"""``dolma tag`` and ``dolma list``."""

from __future__ import annotations

import logging
import sys

from dolma.commands import Command, profiled, summarise
from dolma.config import render
from dolma.executor import execute
from dolma.taggers.config import ListConfig, TagConfig

__all__ = ["TAG", "LIST"]

log = logging.getLogger("dolma")


def run_tag(config: TagConfig) -> int:
    from dolma.taggers.stage import TagStage

    stage = TagStage(config)
    stage.setup_plugins()
    units = stage.units()
    if config.dryrun:
        print(render(config), end="")
        print(f"# {len(units)} documents file(s) to tag", file=sys.stderr)
        return 0
    processes = config.processes
    if config.profile.enable and processes > 1:
        log.info("profiling runs the work in this process: using 1 process")
        processes = 1
    with profiled(config.profile):
        report = execute(
            stage, units, processes, config.ignore_existing, debug=config.debug, executor=config.executor
        )
    return summarise("tag", report)


def run_list(config: ListConfig) -> int:
    from dolma.taggers.registry import TaggerRegistry, load_plugins

    load_plugins(config.tagger_modules)
    rows = TaggerRegistry.items()
    width = max((len(name) for name, _ in rows), default=0)
    for name, cls in rows:
        print(f"{name:<{width}}  {cls.__module__}.{cls.__qualname__}")
    return 0


TAG = Command(TagConfig, run_tag, "run taggers over documents and write attributes")
LIST = Command(ListConfig, run_list, "list the registered taggers")
