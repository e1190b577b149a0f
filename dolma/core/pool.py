"""The local backend: a stage's units in this process (one process or one unit) or in a pool of worker processes.

Each pool worker is a process of its own holding one unit at a time over a pipe, so a worker that dies (killed, out
of memory) costs only its unit, which :class:`~dolma.core.units.LostUnits` runs again or fails alone.
"""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.connection
import os
import queue as queue_mod
import signal
import threading
import time
from typing import Any, Callable, List, Optional, Tuple

from dolma.core.environment import output_environment
from dolma.core.units import LostUnits, Stage, WorkUnit, describe_error, run_unit

__all__ = ["run_inline", "run_pool", "AddProgress", "Record"]

AddProgress = Callable[[int, int, int], None]  # files, documents, bytes
Record = Callable[[WorkUnit, str, Any], None]  # a unit's outcome: "done", counts / "failed", (message, detail)


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


def _worker_run(unit: WorkUnit, debug: bool, retries: int) -> Tuple[str, Any]:
    if _WORKER_SETUP_ERROR is not None:
        return "failed", (_WORKER_SETUP_ERROR, "")
    return run_unit(_WORKER_STAGE, unit, _WORKER_QUEUE, debug, retries)


# --- driver side -------------------------------------------------------------------------------------------


class _ToProgress:
    """A progress sink that hands what a unit reports straight to the driver's progress."""

    def __init__(self, add_progress: AddProgress) -> None:
        self.add_progress = add_progress

    def put(self, item: Tuple[int, int, int]) -> None:
        self.add_progress(*item)


def run_inline(
    stage: Stage, todo: List[WorkUnit], add_progress: AddProgress, record: Record, debug: bool, retries: int
) -> None:
    """Every unit in this process, one after the other."""
    if not todo:
        return
    try:
        stage.setup()
    except Exception as exc:
        for unit in todo:
            record(unit, "failed", (f"setup failed: {describe_error(exc)}", ""))
        return
    sink = _ToProgress(add_progress)
    for unit in todo:
        status, value = run_unit(stage, unit, sink, debug, retries)
        record(unit, status, value)


def _drain(progress_queue: Any, add_progress: AddProgress, stop: threading.Event) -> None:
    while True:
        try:
            item = progress_queue.get(timeout=0.1)
        except queue_mod.Empty:
            if stop.is_set():
                return
            continue
        except (EOFError, OSError):
            return
        add_progress(*item)


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


def run_pool(
    stage: Stage,
    todo: List[WorkUnit],
    processes: int,
    add_progress: AddProgress,
    record: Record,
    debug: bool,
    retries: int,
) -> None:
    """Each worker process holds one unit at a time, so a worker that dies (killed, out of memory) costs only
    its own unit: that unit runs again on a new worker, ``retries`` times, then fails alone with the reason."""
    # spawn: workers start clean (no inherited locks, threads or S3 clients) and load their models once; a stage
    # whose driver holds none of those may fork them instead, sparing each worker the imports (`fork_workers`)
    ctx = multiprocessing.get_context("fork" if stage.fork_workers else "spawn")
    if stage.fork_workers:  # what every worker's manifests record, looked up once (~20 ms) for the forks to inherit
        output_environment()
    progress_queue = ctx.Queue()
    stop = threading.Event()
    queued = list(todo)
    lost = LostUnits(stage, retries, record)
    workers = [_PoolWorker(ctx, stage, progress_queue, debug, retries) for _ in range(min(processes, len(todo)))]
    drainer = threading.Thread(target=_drain, args=(progress_queue, add_progress, stop), daemon=True)
    drainer.start()  # after the first workers: a fork copies no thread of this one
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
                        record(w.unit, status, value)
                        w.unit = None
                        continue
                if w.process.is_alive():
                    continue
                unit, death = w.unit, f"worker process died ({_death(w.process)})"
                w.unit = None
                w.stop()
                decision = lost.lost(unit, death)
                if decision == "stop":
                    running = [other.unit for other in workers if other.unit is not None]
                    for other in workers:
                        other.process.kill()
                        other.unit = None
                    lost.stopped(unit, death, running, queued)
                    return
                workers[i] = _PoolWorker(ctx, stage, progress_queue, debug, retries)
                if decision == "retry":
                    queued.insert(0, unit)
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
