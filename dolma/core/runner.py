"""What a ``dolma`` sub-command is, and the one path every stage command takes (:func:`run_stage`).

Each stage defines its commands in its own ``cli`` module (``dolma.taggers.cli`` ...) as :class:`Command`
objects, a stage command by :func:`stage_command` with a function that builds the stage from its config;
``dolma.cli.commands`` maps command names to them.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Type

import msgspec

from dolma.core.config import render, resolve
from dolma.core.errors import ConfigError, PipelineError, UnitsFailed, scrub
from dolma.core.paths import canonical, parent
from dolma.core.executor import execute
from dolma.core.locks import OutputLocks
from dolma.core.ray_executor import ray_session
from dolma.core.units import RunReport, Stage, WorkUnit

__all__ = ["Command", "stage_command", "run_stage", "profiled", "summarise", "work_processes", "check_inputs_kept"]

log = logging.getLogger("dolma")


@dataclass(frozen=True)
class Command:
    """A sub-command: its config schema, the function that runs a resolved config (returns the exit code),
    a one-line help, and the config key that a bare argument sets (``dolma verify DIR``), if any."""

    schema: Type[msgspec.Struct]
    run: Callable[[Any], int]
    help: str
    positional: Optional[str] = None

    def call(self, config: Dict[str, Any]) -> None:
        """Run on a config given as a dict (what a config file holds), as a library call: a wrong config raises
        its ``ConfigError``, and a run that ends with a non-zero exit code raises a ``PipelineError`` naming it."""
        resolved = resolve(self.schema, dict(config), {})
        logging.getLogger("dolma").setLevel(logging.DEBUG if getattr(resolved, "debug", False) else logging.INFO)
        code = self.run(resolved)
        if code != 0:
            raise PipelineError(f"{self.help.rstrip('.')}: exit code {code}")


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
    if totals.get("files_dropped"):
        log.warning("%s: %d unreadable file(s) left out (see the quarantine files)", stage, totals["files_dropped"])
    if report.failed:
        print(f"dolma {stage}: {len(report.failed)} file(s) failed:", file=sys.stderr)
        for key, message in report.failed:  # a message that does not name its file (a worker died) gets its key
            line = f"  {message}" if message.startswith(key) else f"  {key}: {message}"
            print(scrub(line), file=sys.stderr)
        return 1
    return 0


def work_processes(config: Any) -> int:
    """The processes to run units in: ``config.processes``, or 1 when profiling (the profiler sees one process)."""
    if config.profile.enable and config.processes > 1:
        log.info("profiling runs the work in this process: using 1 process")
        return 1
    return config.processes


def check_inputs_kept(units: List[WorkUnit]) -> None:
    """Inputs are read-only to a run: raise :class:`ConfigError` (exit 2, before any unit runs) when a planned output
    file is one of the run's input files, or is written into a folder that holds input files (where the next glob
    over the inputs would pick it up, and where a stage's side files could replace an input). Paths are compared
    canonically (absolute, links resolved; S3 keys without repeated slashes). No option turns this off."""
    files: Dict[str, str] = {}
    folders: Dict[str, str] = {}
    for unit in units:
        for path in unit.inputs:
            c = canonical(path)
            files.setdefault(c, path)
            folders.setdefault(parent(c), path)
    if not files:
        return
    outputs = [(out, canonical(out)) for unit in units for out in unit.outputs if out]
    for out, c in outputs:
        if c in files:
            raise ConfigError(f"{out} would overwrite the input {files[c]}: write the outputs elsewhere")
    for out, c in outputs:
        if parent(c) in folders:
            raise ConfigError(
                f"{out} would be written into the folder of the input {folders[parent(c)]}: write the outputs elsewhere"
            )


def run_stage(config: Any, stage: Stage, lock: bool = True) -> int:
    """What every stage command does: with ``--dryrun`` print the resolved config and a line on the plan, made from
    the config alone (no input is listed or read: the config was checked when the stage was built), and stop;
    otherwise plan the units, refuse a plan whose outputs would overwrite its inputs (:func:`check_inputs_kept`),
    take the output folders' locks and, inside the stage's :meth:`~Stage.running` hook, execute the units (in one
    process when profiling) on the configured executor, call its :meth:`~Stage.finish` hook, and summarise. The
    exit code: 1 if any unit failed. The config needs the shared stage options (``dryrun``, ``processes``,
    ``ignore_existing``, ``debug``, ``profile``, ``executor``). ``lock``: take the output folders' locks (false for a
    run that is itself a unit of a run holding them: a dedupe partition)."""
    if config.dryrun:
        print(render(config), end="")
        print(f"# {stage.describe_plan()}", file=sys.stderr)
        return 0
    units = stage.units()
    check_inputs_kept(units)
    processes = work_processes(config)
    written = [out for unit in units for out in unit.outputs] + stage.extra_outputs()
    folders = {parent(canonical(out)) for out in written if out}
    try:
        # one writer per output folder; one connection to a Ray cluster for everything the stage runs (a mix's
        # measuring pass and its mix)
        with OutputLocks(folders if lock else (), wait=config.wait_for_lock), \
                ray_session(config.executor, config.debug), profiled(config.profile), stage.running(units) as todo:
            if todo is None:
                return 0
            report = execute(
                stage, todo, stage.worker_count(processes), config.ignore_existing, debug=config.debug,
                executor=config.executor,
            )
            stage.finish(units, report)
    except UnitsFailed:
        return 1
    return summarise(stage.name, report)


def stage_command(schema: Type[msgspec.Struct], build: Callable[[Any], Stage], help: str) -> Command:
    """A command that builds its stage from the resolved config (checking it, loading plugins) and runs it with
    :func:`run_stage`."""
    return Command(schema, lambda config: run_stage(config, build(config)), help)
