"""Runs a stage's work units where the config says: in this process, a local process pool, or on Ray.

:func:`execute` skips the units already done, clears stale temporary files, shows progress, and hands the rest to a
backend (:mod:`dolma.core.pool` or :mod:`dolma.core.ray_executor`); both run each unit through
:func:`dolma.core.units.run_unit` and treat a unit whose worker died the same way
(:class:`~dolma.core.units.LostUnits`). A failing unit does not stop the others; the report lists every failure.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, List, Optional, Sequence

from dolma.core import io as dio
from dolma.core import locks
from dolma.core.globs import is_s3
from dolma.core.config import ExecutorConfig
from dolma.core.pool import run_inline, run_pool
from dolma.core.units import RunReport, Stage, WorkUnit

__all__ = ["execute"]

log = logging.getLogger("dolma")


class _Bar:
    """Files, documents, MB and documents/s on one tqdm line (silent when not a terminal unless forced)."""

    def __init__(self, total_files: int, desc: str, enabled: Optional[bool]) -> None:
        self._bar: Any = None
        if (sys.stderr.isatty() if enabled is None else enabled):  # a silent bar does not import tqdm (~40 ms)
            from tqdm import tqdm

            self._bar = tqdm(total=total_files, desc=desc, unit="file", dynamic_ncols=True)
        self._start = time.monotonic()
        self.docs = 0
        self.nbytes = 0

    def add(self, files: int, docs: int, nbytes: int) -> None:
        self.docs += docs
        self.nbytes += nbytes
        if self._bar is None:
            return
        rate = self.docs / max(time.monotonic() - self._start, 1e-9)
        self._bar.set_postfix_str(f"docs={self.docs:,} MB={self.nbytes / 1e6:,.1f} docs/s={rate:,.0f}", refresh=False)
        self._bar.update(files)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def execute(
    stage: Stage,
    units: Sequence[WorkUnit],
    processes: int = 1,
    ignore_existing: bool = False,
    progress_bar: Optional[bool] = None,
    debug: bool = False,
    executor: Optional[ExecutorConfig] = None,
) -> RunReport:
    """Run every unit not already done; units run largest first so the slowest starts early, or, for a stage
    whose units hand work on to each other in sequence (:attr:`Stage.ordered`), in the order given.

    ``executor.backend`` picks where: ``local`` (this machine: in-process for one process or one unit, else a
    process pool) or ``ray`` (Ray tasks on a cluster, ``processes`` workers in all).
    """
    report = RunReport()
    start = time.monotonic()
    todo: List[WorkUnit] = []
    for unit in units:
        if not ignore_existing and stage.is_done(unit):
            report.skipped.append(unit.key)
        else:
            todo.append(unit)
    if report.skipped:
        log.info("%s: %d of %d files already done, skipping them", stage.name, len(report.skipped), len(units))
    if not stage.ordered:
        todo.sort(key=lambda u: -u.size)
    # every unit's folders, finished or not: a driver killed while publishing (a mix's shards) leaves its own
    # only where no other live run holds the folder's lock: its temporary files are being written
    folders = {os.path.dirname(path) for unit in units for path in unit.outputs}
    stale = dio.remove_stale_temps(f for f in folders if not is_s3(f) and locks.held_by_other(f or ".") is None)
    if stale:
        log.info("%s: removed %d temporary file(s) left by an interrupted run", stage.name, stale)
    bar = _Bar(len(todo), stage.name, progress_bar)
    executor = executor or ExecutorConfig()

    def record(unit: WorkUnit, status: str, value: Any) -> None:
        _record(report, unit, status, value)

    try:
        if executor.backend == "ray":
            from dolma.core.ray_executor import execute_on_ray  # only Ray users import Ray

            execute_on_ray(stage, todo, processes, bar.add, record, debug, executor)
        elif processes <= 1 or len(todo) <= 1:
            run_inline(stage, todo, bar.add, record, debug, executor.max_retries)
        else:
            run_pool(stage, todo, processes, bar.add, record, debug, executor.max_retries)
    finally:
        bar.close()
    report.seconds = time.monotonic() - start
    return report


def _record(report: RunReport, unit: WorkUnit, status: str, value: Any) -> None:
    if status == "done":
        report.done.append((unit.key, value))
    else:
        message, detail = value
        report.failed.append((unit.key, message))
        if detail:
            log.debug("%s failed:\n%s", unit.key, detail)
