"""The Ray backend: a stage's units as tasks on Ray actors, one actor per worker, each loading its models once.

Units run through the same :func:`dolma.executor.run_unit` as locally, so outputs, manifests and atomic
publishing are identical. Each unit is a streaming (generator) actor call: it yields its progress while it runs and
its outcome last, so progress reaches the driver without a queue actor (a third process to start and feed). An
actor that dies (node lost, preempted, killed) is restarted by Ray and the driver gives it the unit again, up to
``max_retries`` times: units are idempotent, so a retry rewrites the same bytes.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

from dolma.config import ExecutorConfig
from dolma.errors import ConfigError
from dolma.executor import Stage, WorkUnit, describe_error, run_unit

__all__ = ["execute_on_ray"]

log = logging.getLogger("dolma")

Counts = Tuple[int, int, int]  # files, documents, bytes: what a unit's progress reports


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray backend needs Ray: pip install 'dolma-toolkit[ray]'") from None
    return ray


class _Worker:
    def __init__(self, stage: Stage) -> None:
        self._stage = stage
        self._setup_error = ""
        try:
            stage.setup()
        except Exception as exc:  # reported for every unit given to this worker
            self._setup_error = f"worker setup failed: {describe_error(exc)}"
        # a Ray worker holds millions of objects of Ray's own: keep the garbage collector from walking them again
        # and again while units allocate (it made allocation-heavy stages ~30% slower than in the local pool)
        gc.freeze()

    def run(self, unit: WorkUnit, debug: bool, retries: int) -> Iterator[Tuple[str, Any]]:
        """Yield ``("progress", counts)`` while the unit runs, then ``("done", counts)`` or ``("failed", ...)``.

        The unit runs on a thread of its own so that this generator can hand progress on as it comes: the stage
        reports it from inside ``run`` through a plain ``put``, which cannot yield.
        """
        if self._setup_error:
            yield "failed", (self._setup_error, "")
            return
        updates: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        outcome: List[Tuple[str, Any]] = []

        def work() -> None:
            try:
                outcome.append(run_unit(self._stage, unit, updates, debug, retries))
            finally:
                updates.put(None)

        thread = threading.Thread(target=work, name=f"unit {unit.key}", daemon=True)
        thread.start()
        while (counts := updates.get()) is not None:
            yield "progress", counts
        thread.join()
        yield outcome[0] if outcome else ("failed", ("the unit ended without a result", ""))


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
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=config.address, include_dashboard=False, log_to_driver=debug, logging_level=logging.WARNING)
    # Ray restarts a dead actor; the driver, not Ray, retries the unit it was running (a re-run generator would
    # have its first outputs dropped as already seen, and those may be the outcome)
    remote_worker = ray.remote(_Worker).options(num_cpus=config.num_cpus_per_worker, max_restarts=config.max_retries)
    actors = [remote_worker.remote(stage) for _ in range(max(1, min(workers, len(todo))))]
    try:
        _schedule(ray, actors, list(todo), add_progress, record, debug, config.max_retries)
    finally:
        if started_here:
            ray.shutdown()  # the job ends: Ray stops its actors
        else:  # a caller's session goes on: stop ours now
            for actor in actors:
                ray.kill(actor)


class _Running:
    """A unit on an actor: its output stream, and the progress it reported (taken back if the attempt is lost)."""

    def __init__(self, unit: WorkUnit, actor: Any, attempt: int) -> None:
        self.unit, self.actor, self.attempt = unit, actor, attempt
        self.reported: Counts = (0, 0, 0)


def _schedule(
    ray: Any,
    actors: List[Any],
    queued: List[WorkUnit],
    add_progress: Callable[[int, int, int], None],
    record: Callable[[WorkUnit, str, Any], None],
    debug: bool,
    retries: int,
) -> None:
    """Keep every actor busy with one unit until all are recorded; a unit whose actor died goes back in line."""
    idle = list(actors)
    attempts: Dict[str, int] = {}
    running: Dict[Any, _Running] = {}
    while queued or running:
        while queued and idle:
            actor, unit = idle.pop(), queued.pop(0)
            stream = actor.run.options(num_returns="streaming", max_task_retries=0).remote(unit, debug, retries)
            running[stream] = _Running(unit, actor, attempts.get(unit.key, 0))
        ready, _ = ray.wait(list(running), num_returns=1)
        for stream in ready:
            job = running[stream]
            try:
                kind, value = ray.get(next(stream))
            except StopIteration:  # cannot happen: every call ends by yielding its outcome
                kind, value = "failed", ("the worker ended the unit without a result", "")
            except ray.exceptions.RayError as exc:  # the actor died under the unit
                _take_back(add_progress, job.reported)
                attempts[job.unit.key] = job.attempt + 1
                del running[stream]
                idle.append(job.actor)  # Ray restarts it (max_restarts); calls wait for it meanwhile
                if job.attempt < retries:
                    log.warning("%s: worker lost (%s); running the unit again", job.unit.key, describe_error(exc))
                    queued.insert(0, job.unit)
                else:
                    record(job.unit, "failed", (f"worker failed on Ray: {describe_error(exc)}", ""))
                continue
            if kind == "progress":
                job.reported = tuple(a + b for a, b in zip(job.reported, value))  # type: ignore[assignment]
                add_progress(*value)
                continue
            del running[stream]
            idle.append(job.actor)
            record(job.unit, kind, value)


def _take_back(add_progress: Callable[[int, int, int], None], counts: Counts) -> None:
    if any(counts):
        add_progress(*(-c for c in counts))
