"""What a ``dolma`` sub-command is, and the pieces every stage's command shares.

Each stage defines its commands in its own ``cli`` module (``dolma.taggers.cli`` ...) as :class:`Command`
objects; ``dolma.cli`` only maps command names to them.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Type

import msgspec

from dolma.core.config import render
from dolma.core.executor import RunReport, WorkUnit, execute

__all__ = ["Command", "profiled", "summarise", "run_units", "work_processes"]

log = logging.getLogger("dolma")


@dataclass(frozen=True)
class Command:
    """A sub-command: its config schema, the function that runs a resolved config (returns the exit code),
    a one-line help, and the config key that a bare argument sets (``dolma verify DIR``), if any."""

    schema: Type[msgspec.Struct]
    run: Callable[[Any], int]
    help: str
    positional: Optional[str] = None


class profiled:
    """cProfile around a block when ``profile.enable`` is set (Dolma's ``profile`` options)."""

    def __init__(self, profile: Any) -> None:
        self.profile = profile
        self._prof: Any = None

    def __enter__(self) -> None:
        if self.profile.enable:
            import cProfile

            self._prof = cProfile.Profile()
            self._prof.enable()

    def __exit__(self, *exc: Any) -> None:
        if self._prof is None:
            return
        import pstats

        self._prof.disable()
        out = open(self.profile.output, "w") if self.profile.output else sys.stdout
        try:
            pstats.Stats(self._prof, stream=out).sort_stats(self.profile.sort_key).print_stats(self.profile.lines)
        finally:
            if out is not sys.stdout:
                out.close()


def summarise(stage: str, report: RunReport) -> int:
    """Log what a run did; print every failed unit with its reason; the exit code (1 if any failed)."""
    totals = report.totals()
    docs = totals.get("documents_in", 0)
    mb = totals.get("bytes_in", 0) / 1e6
    rate = docs / report.seconds if report.seconds > 0 else 0.0
    log.info(
        "%s: %d file(s) done, %d skipped, %d failed; %s documents, %.1f MB in %.1fs (%.0f docs/s)",
        stage,
        len(report.done),
        len(report.skipped),
        len(report.failed),
        f"{docs:,}",
        mb,
        report.seconds,
        rate,
    )
    if totals.get("documents_quarantined"):
        log.warning("%s: %d bad line(s) quarantined", stage, totals["documents_quarantined"])
    if report.failed:
        print(f"dolma {stage}: {len(report.failed)} file(s) failed:", file=sys.stderr)
        for key, message in report.failed:  # a message that does not name its file (a worker died) gets its key
            print(f"  {message}" if message.startswith(key) else f"  {key}: {message}", file=sys.stderr)
        return 1
    return 0


def work_processes(config: Any) -> int:
    """The processes to run units in: ``config.processes``, or 1 when profiling (the profiler sees one process)."""
    if config.profile.enable and config.processes > 1:
        log.info("profiling runs the work in this process: using 1 process")
        return 1
    return config.processes


def run_units(
    name: str, config: Any, stage: Any, units: List[WorkUnit], after: Optional[Callable[[], Any]] = None
) -> int:
    """What a stage command does with its planned units: ``--dryrun`` prints the config and stops; otherwise run
    them (in one process when profiling) on the configured executor, summarise, and call ``after`` once every unit
    succeeded (run-wide checks, dataset folder files). The config needs Dolma's common keys: ``dryrun``,
    ``processes``, ``ignore_existing``, ``debug``, ``profile``, ``executor``."""
    if config.dryrun:
        print(render(config), end="")
        print(f"# {len(units)} unit(s) to {name}", file=sys.stderr)
        return 0
    processes = work_processes(config)
    with profiled(config.profile):
        report = execute(stage, units, processes, config.ignore_existing, debug=config.debug, executor=config.executor)
    code = summarise(name, report)
    if code == 0 and after is not None:
        after()
    return code
