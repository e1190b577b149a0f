"""The work-unit contract: what a stage is to the executors, and the one function every backend runs a unit with.

A stage (:class:`Stage`) plans its work as :class:`WorkUnit` s — one input shard each, with a typed payload — and
runs one unit at a time in a worker (:meth:`Stage.run`), a plain function of the unit that knows nothing of pools
or clusters, so the local pool and Ray call it unchanged through :func:`run_unit`. The driver-side hooks
(:meth:`Stage.running`, :meth:`Stage.finish`, :meth:`Stage.describe`) let a stage do what must happen around its
units (load and save a Bloom filter, a measuring pass, publishing shards) inside the one command runner
(:mod:`dolma.core.runner`).
"""

from __future__ import annotations

import contextlib
import logging
import queue as queue_mod
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Generic, Iterator, List, Optional, Tuple, TypeVar

from dolma.core import io as dio
from dolma.core.config import ExecutorConfig
from dolma.core.errors import DolmaError, TransientStorageError, os_error_message, scrub

__all__ = [
    "WorkUnit",
    "Resources",
    "MiB",
    "Progress",
    "Stage",
    "RunReport",
    "LostUnits",
    "run_unit",
    "describe_error",
]

log = logging.getLogger("dolma")

# first wait before a unit that met a transient storage error runs again; doubles each time
RETRY_BASE_SECONDS = 2.0

P = TypeVar("P")


@dataclass(frozen=True)
class WorkUnit(Generic[P]):
    """One input shard: ``key`` names it in messages (its path); ``size`` is its stored size in bytes (larger units
    start first); ``payload`` is what the stage planned for it (its type is the stage's); ``outputs`` are the files it
    publishes (their folders are cleared of stale temporary files first, and a lost unit's are removed); ``inputs``
    are the files it reads, which the runner refuses to let any unit of the run write over."""

    key: str
    size: int = 0
    payload: P = None  # type: ignore[assignment]
    outputs: Tuple[str, ...] = ()
    inputs: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Resources:
    """What one worker of a stage needs, for a scheduler that places workers on nodes (Ray): the CPUs it keeps busy
    and its peak memory in bytes (0: none reserved). A stage declares it as a ``resources`` attribute."""

    num_cpus: float = 1.0
    memory: int = 0

    def options(self, config: ExecutorConfig) -> Dict[str, Any]:
        """Ray's resource options for one worker: these, unless the executor config says otherwise."""
        cpus = self.num_cpus if config.num_cpus_per_worker is None else config.num_cpus_per_worker
        memory = self.memory if config.memory_per_worker_mb is None else config.memory_per_worker_mb * MiB
        return {"num_cpus": cpus, **({"memory": memory} if memory > 0 else {})}

    @classmethod
    def for_documents(cls, baseline: int, per_document_byte: float, max_document_bytes: Optional[int]) -> "Resources":
        """A worker that holds one document of up to ``max_document_bytes`` at a time: its ``baseline``, plus
        ``per_document_byte`` bytes per byte of that document (the peak above the baseline, measured by
        ``bench/large_document_memory.py``). Without a limit, only the baseline can be promised."""
        return cls(memory=baseline + int(per_document_byte * (max_document_bytes or 0)))


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


class Stage(ABC, Generic[P]):
    """A stage as the executors and the command runner see it.

    In the driver: :meth:`units` plans the work, :meth:`is_done` says which units a rerun can skip, and the hooks
    run around the units. In each worker (a process of the local pool, or a Ray actor): :meth:`setup` once (load
    models here), then :meth:`run` per unit. A stage object is pickled to its workers.
    """

    name: str = "stage"
    resources: Resources = Resources()
    """What one worker needs, for a scheduler that places workers on nodes (Ray)."""
    rerun_lost_units: bool = True
    """Whether a unit whose worker died may simply run again; false where units wait on each other (dedupe's turns
    on a shared filter), so that the run stops instead and a rerun redoes the unfinished units."""
    ordered: bool = False
    """Start units in planned order instead of largest first (units that hand work on to each other in sequence)."""
    fork_workers: bool = False
    """Start local pool workers by forking the driver, which has imported the stage already, instead of spawning
    fresh interpreters that import it again (~0.3 CPU-s a worker): for stages whose driver loads no models and
    keeps no clients or threads a worker could inherit half-used."""

    @abstractmethod
    def units(self) -> List[WorkUnit[P]]: ...

    @abstractmethod
    def is_done(self, unit: WorkUnit[P]) -> bool: ...

    def extra_outputs(self) -> List[str]:
        """Files the stage writes besides its units' outputs (from the driver: a Bloom filter); the runner locks
        their folders too."""
        return []

    def setup(self) -> None:
        """Once per worker, before its first unit."""

    def worker_count(self, processes: int) -> int:
        """Workers to start for ``processes`` (the config's): one per process, unless a unit is itself a group of
        processes (a dedupe partition on Ray)."""
        return processes

    def worker_resources(self, config: ExecutorConfig) -> Dict[str, Any]:
        """What a scheduler reserves for each worker (Ray's options): :attr:`resources`, unless the executor config
        overrides them."""
        return self.resources.options(config)

    @abstractmethod
    def run(self, unit: WorkUnit[P], progress: Progress) -> Dict[str, int]: ...

    # --- driver-side hooks of the command runner -------------------------------------------------------------

    def describe_plan(self) -> str:
        """The line ``--dryrun`` prints after the resolved config: what would run, from the config alone. A dry
        run lists and reads no input (it works offline, and on paths of another machine), so this must not
        either; by default it names the stage and its input patterns."""
        config = getattr(self, "config", None)
        inputs = list(getattr(config, "documents", None) or [])
        what = f"{len(inputs)} input pattern(s) ({', '.join(inputs[:3])}{', ...' if len(inputs) > 3 else ''})" if inputs else "its inputs"
        return f"{self.name} over {what}; inputs are not listed on a dry run"

    @contextlib.contextmanager
    def running(self, units: List[WorkUnit[P]]) -> Iterator[Optional[List[WorkUnit[P]]]]:
        """Around the execution of ``units``: yields the units to execute (``None``: nothing to do, the command
        exits 0 without running anything). A stage acquires what its units share here and releases it after."""
        yield units

    def finish(self, units: List[WorkUnit[P]], report: "RunReport") -> None:
        """After the planned ``units`` ran (also when some failed): publish what spans units, log stage totals."""


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
        return scrub(str(exc))
    if isinstance(exc, OSError) and exc.errno is not None:
        return os_error_message(exc)
    return scrub(f"{type(exc).__name__}: {exc}")


class LostUnits:
    """What every backend does when a unit's worker died under it (killed, out of memory, its node lost): remove
    the temporary files the unit was writing, run it again up to ``retries`` times, then fail it alone with the
    reason; or, for a stage whose units wait on each other (:attr:`Stage.rerun_lost_units` false), stop the run."""

    def __init__(self, stage: Stage, retries: int, record: Callable[[WorkUnit, str, Any], None]) -> None:
        self.stage = stage
        self.retries = retries
        self.record = record
        self.attempts: Dict[str, int] = {}

    def lost(self, unit: WorkUnit, death: str) -> str:
        """``death`` says how the worker died (``worker process died (killed by SIGKILL)``). Returns ``"retry"``
        (queue the unit again), ``"failed"`` (recorded) or ``"stop"`` (recorded; the backend then stops its
        workers and fails what they held and what is queued with :meth:`stopped`)."""
        dio.remove_stale_temps_of(unit.outputs)  # what the dead worker was writing, where the unit says
        if not self.stage.rerun_lost_units:
            self.record(unit, "failed", (death, ""))
            return "stop"
        self.attempts[unit.key] = attempt = self.attempts.get(unit.key, 0) + 1
        if attempt <= self.retries:
            log.warning("%s: its %s; running the unit again", unit.key, death)
            return "retry"
        self.record(unit, "failed", (f"{death}, {attempt} time(s)", ""))
        return "failed"

    def stopped(self, lost: WorkUnit, death: str, running: List[WorkUnit], queued: List[WorkUnit]) -> None:
        """Fail what a stopped run leaves: the units whose workers were stopped, and the units not started."""
        for unit in running:
            dio.remove_stale_temps_of(unit.outputs)
            self.record(unit, "failed", (f"stopped: the worker running {lost.key} died ({death})", ""))
        for unit in queued:
            self.record(unit, "failed", (f"not run: the worker running {lost.key} died ({death})", ""))


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
            expected = isinstance(exc, DolmaError) or (isinstance(exc, OSError) and exc.errno is not None)
            detail = traceback.format_exc() if debug or not expected else ""
            progress.flush()
            return "failed", (describe_error(exc), detail)
        progress.flush(files=1)
        return "done", counts
    raise AssertionError("unreachable")
