"""Runs a stage's work units in a local process pool, with progress and per-unit failure reporting.

A stage is any picklable object with ``setup()`` (called once per worker: load models here), ``units()`` and
``run(unit, progress)``, and optionally ``resources`` (:class:`Resources`: what one of its workers needs) and
``rerun_lost_units`` (default true; false where units wait on each other, so that a unit whose worker died
cannot simply run again). ``run`` is a plain function of one unit and knows nothing of pools, so another backend
(Ray) can call it unchanged. A failing unit does not stop the others; :func:`execute` returns every failure.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue as queue_mod
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Protocol, Sequence, Tuple

from dolma.core import io as dio
from dolma.core.config import ExecutorConfig
from dolma.core.errors import DolmaError, TransientStorageError

__all__ = ["Stage", "WorkUnit", "Resources", "Progress", "RunReport", "execute", "run_unit", "describe_error"]

log = logging.getLogger("dolma")

# first wait before a unit that met a transient storage error runs again; doubles each time
RETRY_BASE_SECONDS = 2.0


@dataclass(frozen=True)
class WorkUnit:
    """One input shard: ``key`` names it in messages (its path); ``size`` is its stored size in bytes;
    ``outputs`` are the files it publishes (their folders are cleared of stale temporary files first)."""

    key: str
    size: int = 0
    payload: Any = None
    outputs: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Resources:
    """What one worker of a stage needs, for a scheduler that places workers on nodes (Ray): the CPUs it keeps busy
    and its peak memory in bytes (0: none reserved). A stage declares it as a ``resources`` attribute."""

    num_cpus: float = 1.0
    memory: int = 0


MiB = 1 << 20


class Progress:
    """Counts a unit reports while it runs; sent to the parent at most a few times a second."""

    def __init__(self, sink: Optional["queue_mod.Queue[Tuple[int, int, int]]"] = None, interval: float = 0.25):
        self._sink = sink
        self._interval = interval
        self._docs = 0
        self._bytes = 0
        self._last = time.monotonic()
        self.total_docs = 0
        self.total_bytes = 0

    def update(self, docs: int = 0, nbytes: int = 0) -> None:
        self._docs += docs
        self._bytes += nbytes
        self.total_docs += docs
        self.total_bytes += nbytes
        now = time.monotonic()
        if now - self._last >= self._interval:
            self.flush()
            self._last = now

    def flush(self, files: int = 0) -> None:
        if self._sink is not None and (self._docs or self._bytes or files):
            self._sink.put((files, self._docs, self._bytes))
        self._docs = self._bytes = 0


class Stage(Protocol):
    name: str

    def setup(self) -> None: ...

    def is_done(self, unit: WorkUnit) -> bool: ...

    def run(self, unit: WorkUnit, progress: Progress) -> Dict[str, int]: ...


@dataclass
class RunReport:
    done: List[Tuple[str, Dict[str, int]]] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    failed: List[Tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def totals(self) -> Dict[str, int]:
        out: Dict[str, int] = {}
        for _, counts in self.done:
            for k, v in counts.items():
                out[k] = out.get(k, 0) + v
        return out


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, DolmaError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


# --- worker side -------------------------------------------------------------------------------------------

_WORKER_STAGE: Any = None
_WORKER_QUEUE: Any = None
_WORKER_SETUP_ERROR: Optional[str] = None


def _exit_with_parent(parent: int) -> None:
    """A worker whose driver was killed stops at once instead of finishing (and racing a rerun on) its unit."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _worker_init(stage: Stage, progress_queue: Any, parent: int) -> None:
    global _WORKER_STAGE, _WORKER_QUEUE, _WORKER_SETUP_ERROR
    _WORKER_STAGE, _WORKER_QUEUE = stage, progress_queue
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    try:
        stage.setup()
    except Exception as exc:  # reported for each unit this worker is given, instead of a broken pool
        _WORKER_SETUP_ERROR = f"worker setup failed: {describe_error(exc)}"
    gc.freeze()  # what setup loaded lives as long as the worker: keep the garbage collector from re-walking it


def run_unit(stage: Stage, unit: WorkUnit, sink: Any, debug: bool, retries: int = 0) -> Tuple[str, Any]:
    """Run one unit in this process: ``("done", counts)`` or ``("failed", (message, traceback))``; progress
    goes to ``sink.put((files, documents, bytes))``. Every backend calls this.

    A unit that meets a transient storage error is run again from the start, ``retries`` times, with backoff:
    its outputs were never published, so a retry cannot duplicate anything.
    """
    for attempt in range(retries + 1):
        progress = Progress(sink)
        try:
            counts = stage.run(unit, progress)
        except TransientStorageError as exc:
            progress.flush()
            if attempt < retries:
                delay = min(RETRY_BASE_SECONDS * 2**attempt, 60.0)
                log.warning("%s: %s; retrying in %.0fs (%d/%d)", unit.key, exc, delay, attempt + 1, retries)
                time.sleep(delay)
                continue
            return "failed", (f"{describe_error(exc)} (after {retries} retries)", "")
        except Exception as exc:  # reported to the parent; the other units go on
            detail = traceback.format_exc() if debug or not isinstance(exc, DolmaError) else ""
            progress.flush()
            return "failed", (describe_error(exc), detail)
        progress.flush(files=1)
        return "done", counts
    raise AssertionError("unreachable")


def _worker_run(unit: WorkUnit, debug: bool, retries: int) -> Tuple[str, Any]:
    if _WORKER_SETUP_ERROR is not None:
        return "failed", (_WORKER_SETUP_ERROR, "")
    return run_unit(_WORKER_STAGE, unit, _WORKER_QUEUE, debug, retries)


# --- parent side -------------------------------------------------------------------------------------------


class _Bar:
    """Files, documents, MB and documents/s on one tqdm line (silent when not a terminal unless forced)."""

    def __init__(self, total_files: int, desc: str, enabled: Optional[bool]) -> None:
        from tqdm import tqdm

        disable = (not sys.stderr.isatty()) if enabled is None else not enabled
        self._bar = tqdm(total=total_files, desc=desc, unit="file", disable=disable, dynamic_ncols=True)
        self._start = time.monotonic()
        self.docs = 0
        self.nbytes = 0

    def add(self, files: int, docs: int, nbytes: int) -> None:
        self.docs += docs
        self.nbytes += nbytes
        rate = self.docs / max(time.monotonic() - self._start, 1e-9)
        self._bar.set_postfix_str(f"docs={self.docs:,} MB={self.nbytes / 1e6:,.1f} docs/s={rate:,.0f}", refresh=False)
        self._bar.update(files)

    def close(self) -> None:
        self._bar.close()


def execute(
    stage: Stage,
    units: Sequence[WorkUnit],
    processes: int = 1,
    ignore_existing: bool = False,
    progress_bar: Optional[bool] = None,
    debug: bool = False,
    executor: Optional[ExecutorConfig] = None,
    ordered: bool = False,
) -> RunReport:
    """Run every unit not already done; units run largest first so the slowest starts early, or, when
    ``ordered``, start in the order given (for a stage whose units hand work on to each other in sequence).

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
    if not ordered:
        todo.sort(key=lambda u: -u.size)
    # every unit's folders, finished or not: a driver killed while publishing (a mix's shards) leaves its own
    stale = dio.remove_stale_temps({os.path.dirname(path) for unit in units for path in unit.outputs})
    if stale:
        log.info("%s: removed %d temporary file(s) left by an interrupted run", stage.name, stale)
    bar = _Bar(len(todo), stage.name, progress_bar)
    executor = executor or ExecutorConfig()
    try:
        if executor.backend == "ray":
            from dolma.core.ray_executor import execute_on_ray

            execute_on_ray(stage, todo, processes, bar.add, lambda u, s, v: _record(report, u, s, v), debug, executor)
        elif processes <= 1 or len(todo) <= 1:
            _execute_inline(stage, todo, bar, report, debug, executor.max_retries)
        else:
            _execute_pool(stage, todo, processes, bar, report, debug, executor.max_retries)
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


class _QueueToBar:
    def __init__(self, bar: _Bar) -> None:
        self.bar = bar

    def put(self, item: Tuple[int, int, int]) -> None:
        self.bar.add(*item)


def _execute_inline(
    stage: Stage, todo: List[WorkUnit], bar: _Bar, report: RunReport, debug: bool, retries: int
) -> None:
    if not todo:
        return
    try:
        stage.setup()
    except Exception as exc:
        for unit in todo:
            _record(report, unit, "failed", (f"setup failed: {describe_error(exc)}", ""))
        return
    sink = _QueueToBar(bar)
    for unit in todo:
        status, value = run_unit(stage, unit, sink, debug, retries)
        _record(report, unit, status, value)


def _drain(progress_queue: Any, bar: _Bar, stop: threading.Event) -> None:
    while True:
        try:
            item = progress_queue.get(timeout=0.1)
        except queue_mod.Empty:
            if stop.is_set():
                return
            continue
        except (EOFError, OSError):
            return
        bar.add(*item)


class _PoolWorker:
    """One worker process of the local pool and the unit it holds (``None``: idle)."""

    def __init__(self, ctx: Any, stage: Stage, progress_queue: Any, debug: bool, retries: int) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_pool_worker_main, args=(stage, progress_queue, os.getpid(), child, debug, retries), daemon=True
        )
        self.process.start()
        child.close()
        self.unit: Optional[WorkUnit] = None

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _pool_worker_main(stage: Stage, progress_queue: Any, parent: int, conn: Any, debug: bool, retries: int) -> None:
    _worker_init(stage, progress_queue, parent)
    while True:
        try:
            unit = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if unit is None:
            return
        conn.send(_worker_run(unit, debug, retries))


def _death(process: Any) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _abandon(report: RunReport, lost: WorkUnit, why: str, workers: List[_PoolWorker], queued: List[WorkUnit]) -> None:
    """Stop a run whose units depend on each other (a stage with ``rerun_lost_units = False``) once a worker died:
    the others may be waiting on the lost unit. Every unit not finished fails; a rerun redoes them."""
    _record(report, lost, "failed", (f"worker process died ({why})", ""))
    for w in workers:
        if w.unit is not None:
            w.process.kill()
            _record(report, w.unit, "failed", (f"stopped: the worker running {lost.key} died ({why})", ""))
            w.unit = None
    for unit in queued:
        _record(report, unit, "failed", (f"not run: the worker running {lost.key} died ({why})", ""))
    queued.clear()


def _execute_pool(
    stage: Stage, todo: List[WorkUnit], processes: int, bar: _Bar, report: RunReport, debug: bool, retries: int
) -> None:
    """Each worker process holds one unit at a time, so a worker that dies (killed, out of memory) costs only
    its own unit: that unit runs again on a new worker, ``retries`` times, then fails alone with the reason."""
    # spawn: workers start clean (no inherited locks, threads or S3 clients) and load their models once
    ctx = multiprocessing.get_context("spawn")
    progress_queue = ctx.Queue()
    stop = threading.Event()
    drainer = threading.Thread(target=_drain, args=(progress_queue, bar, stop), daemon=True)
    drainer.start()
    queued = list(todo)
    attempts: Dict[str, int] = {}
    workers = [_PoolWorker(ctx, stage, progress_queue, debug, retries) for _ in range(min(processes, len(todo)))]
    try:
        while queued or any(w.unit is not None for w in workers):
            for i, w in enumerate(workers):
                if w.unit is None and queued:
                    if not w.process.is_alive():  # died after its last answer
                        w.stop()
                        workers[i] = w = _PoolWorker(ctx, stage, progress_queue, debug, retries)
                    w.unit = queued.pop(0)
                    w.conn.send(w.unit)
            busy = [w for w in workers if w.unit is not None]
            multiprocessing.connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for i, w in enumerate(workers):
                if w.unit is None:
                    continue
                if w.conn.poll():
                    try:
                        status, value = w.conn.recv()
                    except (EOFError, OSError):
                        pass  # died while answering: handled below
                    else:
                        _record(report, w.unit, status, value)
                        w.unit = None
                        continue
                if w.process.is_alive():
                    continue
                unit, why = w.unit, _death(w.process)
                w.unit = None
                w.stop()
                if not getattr(stage, "rerun_lost_units", True):
                    _abandon(report, unit, why, workers, queued)
                    return
                workers[i] = _PoolWorker(ctx, stage, progress_queue, debug, retries)
                attempts[unit.key] = attempts.get(unit.key, 0) + 1
                dio.remove_stale_temps_of(unit.outputs)  # what the dead worker was writing, where the unit says
                if attempts[unit.key] <= retries:
                    log.warning("%s: its worker process died (%s); running the unit again", unit.key, why)
                    queued.insert(0, unit)
                else:
                    _record(report, unit, "failed", (f"worker process died ({why}), {attempts[unit.key]} time(s)", ""))
    except BaseException:  # interrupted: stop the workers now, not after their units
        for w in workers:
            w.process.kill()
        raise
    finally:
        for w in workers:
            w.stop()
        stop.set()
        drainer.join(timeout=5)
        progress_queue.close()
