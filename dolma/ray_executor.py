"""The Ray backend: a stage's units as tasks on Ray actors, one actor per worker, each loading its models once.

Units run through the same :func:`dolma.executor.run_unit` as locally, so outputs, manifests and atomic
publishing are identical. An actor that dies (node lost, preempted, killed) is restarted and its unit retried,
``max_retries`` times: units are idempotent, so a retry rewrites the same bytes. Progress reaches the driver
through a Ray queue.
"""

from __future__ import annotations

import gc
import logging
import threading
from typing import Any, Callable, Dict, List, Sequence, Tuple

from dolma.config import ExecutorConfig
from dolma.errors import ConfigError
from dolma.executor import Stage, WorkUnit, describe_error, run_unit

__all__ = ["execute_on_ray"]

log = logging.getLogger("dolma")


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray backend needs Ray: pip install 'dolma-toolkit[ray]'") from None
    return ray


class _QueueSink:
    """``put`` progress tuples into a Ray queue without blocking the unit on a full or slow queue."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def put(self, item: Tuple[int, int, int]) -> None:
        self._queue.put_nowait(item)


class _Worker:
    def __init__(self, stage: Stage, queue: Any) -> None:
        self._stage = stage
        self._sink = _QueueSink(queue)
        self._setup_error = ""
        try:
            stage.setup()
        except Exception as exc:  # reported for every unit given to this worker
            self._setup_error = f"worker setup failed: {describe_error(exc)}"
        # a Ray worker holds millions of objects of Ray's own: keep the garbage collector from walking them again
        # and again while units allocate (it made allocation-heavy stages ~30% slower than in the local pool)
        gc.freeze()

    def run(self, unit: WorkUnit, debug: bool, retries: int) -> Tuple[str, Any]:
        if self._setup_error:
            return "failed", (self._setup_error, "")
        return run_unit(self._stage, unit, self._sink, debug, retries)


def _drain(queue: Any, add: Callable[[int, int, int], None], stop: threading.Event) -> None:
    from ray.util.queue import Empty

    while not stop.is_set():
        try:
            add(*queue.get(timeout=0.2))
        except Empty:
            continue
        except Exception:  # the queue actor is gone: the run is ending
            return


def execute_on_ray(
    stage: Stage,
    todo: Sequence[WorkUnit],
    workers: int,
    add_progress: Callable[[int, int, int], None],
    record: Callable[[WorkUnit, str, Any], None],
    debug: bool,
    config: ExecutorConfig,
) -> None:
    if not todo:
        return
    ray = _ray()
    from ray.util.queue import Queue

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=config.address, include_dashboard=False, log_to_driver=debug, logging_level=logging.WARNING)
    queue = Queue(maxsize=10_000)
    stop = threading.Event()
    drainer = threading.Thread(target=_drain, args=(queue, add_progress, stop), daemon=True)
    drainer.start()
    remote_worker = ray.remote(_Worker).options(
        num_cpus=config.num_cpus_per_worker, max_restarts=config.max_retries, max_task_retries=config.max_retries
    )
    actors = [remote_worker.remote(stage, queue) for _ in range(max(1, min(workers, len(todo))))]
    try:
        pending: Dict[Any, Tuple[WorkUnit, Any]] = {}
        queued: List[WorkUnit] = list(todo)
        idle = list(actors)
        while queued or pending:
            while queued and idle:
                actor, unit = idle.pop(), queued.pop(0)
                pending[actor.run.remote(unit, debug, config.max_retries)] = (unit, actor)
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                unit, actor = pending.pop(ref)
                try:
                    status, value = ray.get(ref)
                except Exception as exc:  # retries exhausted: the worker kept dying on this unit
                    status, value = "failed", (f"worker failed on Ray: {describe_error(exc)}", "")
                record(unit, status, value)
                idle.append(actor)
    finally:
        stop.set()
        drainer.join(timeout=5)
        if started_here:
            ray.shutdown()  # the job ends: Ray stops its actors and the queue
        else:  # a caller's session goes on: stop ours now
            for actor in [*actors, queue.actor]:
                ray.kill(actor)
