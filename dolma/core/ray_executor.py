"""The Ray backend: a stage's units as tasks on Ray actors, one actor per worker, each loading its models once.

Units run through the same :func:`dolma.core.units.run_unit` as locally, so outputs, manifests and atomic
publishing are identical. A unit's progress reaches the driver with its outcome, one file at a time: streaming it
while the unit runs would need either a queue actor (a third process to start and feed: ~0.5 s of a light mix)
or the unit on a thread of its own, which measured ~4% slower than on the worker's main thread. An actor that
dies (node lost, preempted, killed) is restarted by Ray and the driver gives it the unit again, up to
``max_retries`` times: units are idempotent, so a retry rewrites the same bytes. A lost unit is treated as in the
local pool (:class:`~dolma.core.units.LostUnits`): its temporary files are removed, and a stage whose units wait
on each other stops instead of running it again.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

from dolma.core.config import ExecutorConfig
from dolma.core.errors import ConfigError
from dolma.core.units import LostUnits, Stage, WorkUnit, describe_error, run_unit

__all__ = ["execute_on_ray", "ray_session", "warn_if_no_node_fits"]

log = logging.getLogger("dolma")

Counts = Tuple[int, int, int]  # files, documents, bytes: what a unit's progress reports
RESTART_TIMEOUT = 120.0  # seconds a dead actor has to come back before it is replaced by a new one


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray backend needs Ray: pip install 'dolma-toolkit[ray]'") from None
    return ray


@contextlib.contextmanager
def ray_session(config: ExecutorConfig, debug: bool = False) -> Iterator[bool]:
    """Connected to Ray for the block, when ``config`` asks for the Ray backend; yields whether this block owns the
    connection. A block inside another one (a pipeline's stages, a mix's two passes) shares the outer connection
    instead of paying for connecting and disconnecting (~0.3-0.5 s) again."""
    if config.backend != "ray":
        yield False
        return
    ray = _ray()
    if ray.is_initialized():
        yield False
        return
    ray.init(address=config.address, include_dashboard=False, log_to_driver=debug, logging_level=logging.WARNING)
    try:
        yield True
    finally:
        ray.shutdown()  # the job ends: Ray stops its actors


def warn_if_no_node_fits(ray: Any, options: Dict[str, Any], what: str) -> None:
    """Say so when no node of the cluster as it is now can hold ``options``: Ray would keep the work pending (an
    autoscaling cluster may still add a node that can)."""
    need_cpus, need_memory = options.get("num_cpus", 0), options.get("memory", 0)
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    if nodes and not any(r.get("CPU", 0) >= need_cpus and r.get("memory", 0) >= need_memory for r in nodes):
        log.warning(
            "%s needs %s CPU(s) and %.1f GB of memory, more than any node of the cluster offers now; Ray keeps it "
            "pending until one does (set `executor.num_cpus_per_worker` / `executor.memory_per_worker_mb`, or use "
            "more dedupe partitions)", what, need_cpus, need_memory / 1e9,
        )


class _Tally:
    """A progress sink that adds up what a unit reports, to send back with its outcome."""

    def __init__(self) -> None:
        self.counts: Counts = (0, 0, 0)

    def put(self, item: Counts) -> None:
        self.counts = (self.counts[0] + item[0], self.counts[1] + item[1], self.counts[2] + item[2])


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

    def ready(self) -> bool:
        """Answers once the actor is up (after a restart: once Ray has built it again)."""
        return True

    def run(self, unit: WorkUnit, debug: bool, retries: int) -> Tuple[str, Any, Counts]:
        """The unit's ``("done", counts)`` or ``("failed", (message, detail))``, and the progress it made."""
        if self._setup_error:
            return "failed", (self._setup_error, ""), (0, 0, 0)
        tally = _Tally()
        status, value = run_unit(self._stage, unit, tally, debug, retries)
        return status, value, tally.counts


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
    with ray_session(config, debug) as owned:
        # Ray restarts a dead actor; the driver, not Ray, retries the unit it was running, so that it can say so
        resources = stage.worker_resources(config)
        warn_if_no_node_fits(ray, resources, f"each {stage.name} worker")
        remote_worker = ray.remote(_Worker).options(**resources, max_restarts=config.max_retries)
        actors = [remote_worker.remote(stage) for _ in range(max(1, min(workers, len(todo))))]
        try:
            _schedule(ray, actors, lambda: remote_worker.remote(stage), list(todo), add_progress,
                      LostUnits(stage, config.max_retries, record), debug)
        finally:
            if not owned:  # the session goes on: free the workers (and their CPUs) now
                for actor in actors:
                    ray.kill(actor)


def _back_up(ray: Any, actor: Any, timeout: float = RESTART_TIMEOUT) -> bool:
    """Wait until a restarted actor answers (True), or until it is dead for good or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            return bool(ray.get(actor.ready.remote(), timeout=max(deadline - time.monotonic(), 0.01)))
        except ray.exceptions.ActorDiedError:
            return False
        except (ray.exceptions.RayError, TimeoutError):  # still restarting (GetTimeoutError is a TimeoutError)
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def _schedule(
    ray: Any,
    actors: List[Any],
    new_actor: Callable[[], Any],
    queued: List[WorkUnit],
    add_progress: Callable[[int, int, int], None],
    lost: LostUnits,
    debug: bool,
) -> None:
    """Keep every actor busy with one unit until all are recorded; a unit whose actor died goes to ``lost``.

    Ray restarts a dead actor ``retries`` times (``max_restarts``); one that died more often than that is gone
    for good, and is replaced, so that a unit which kills every worker it meets fails alone. ``actors`` is
    updated in place, for the caller to stop them.
    """
    retries = lost.retries
    idle = list(actors)
    deaths: Dict[Any, int] = {}
    running: Dict[Any, Tuple[WorkUnit, Any]] = {}
    while queued or running:
        while queued and idle:
            actor, unit = idle.pop(), queued.pop(0)
            running[actor.run.options(max_task_retries=0).remote(unit, debug, retries)] = (unit, actor)
        ready, _ = ray.wait(list(running), num_returns=1)
        for ref in ready:
            unit, actor = running.pop(ref)
            try:
                status, value, counts = ray.get(ref)
            except ray.exceptions.RayError as exc:  # the actor died under the unit
                deaths[actor] = deaths.get(actor, 0) + 1
                # past its restarts, or not back in time: replaced. Ray answers a call to an actor that is still
                # restarting with an error at once, which would spend the unit's retries without running it
                if deaths[actor] > retries or not _back_up(ray, actor):
                    ray.kill(actor, no_restart=True)
                    actors.remove(actor)
                    actor = new_actor()
                    actors.append(actor)
                idle.append(actor)
                death = f"worker failed on Ray: {describe_error(exc)}"
                decision = lost.lost(unit, death)
                if decision == "retry":
                    queued.insert(0, unit)
                elif decision == "stop":
                    others = [u for u, _ in running.values()]
                    for _, other_actor in running.values():  # stop their units now, as the local pool does
                        ray.kill(other_actor, no_restart=True)
                    running.clear()
                    lost.stopped(unit, death, others, queued)
                    queued.clear()
                    return
                continue
            idle.append(actor)
            add_progress(*counts)
            lost.record(unit, status, value)
