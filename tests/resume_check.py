"""Kill a stage's command at random moments, rerun it, and check the result is byte-identical to one
uninterrupted run: no lost, duplicated or half-written output, no temporary file left behind.

Used by ``bench/kill_resume.py`` (many kill points) and the tests (a few).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from dolma.core.manifest import MANIFEST_SUFFIX

__all__ = ["KillResult", "snapshot", "run_to_completion", "kill_and_resume"]


@dataclass
class KillResult:
    delay: float
    victim: str  # "driver" (the whole process group) or "worker" (one child process)
    killed: bool  # False when the run finished before the kill
    identical: bool
    leftovers: List[str]
    rerun_seconds: float  # how long the resuming run took


def snapshot(root: str) -> Dict[str, bytes]:
    """Every published file under ``root`` → its bytes. Left out: manifests (they hold times) and hidden folders
    (a stage's own bookkeeping, such as the mix's staging records); temporary files are kept, to be caught."""
    out: Dict[str, bytes] = {}
    for dirpath, dirnames, names in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in names:
            if name.endswith(MANIFEST_SUFFIX):
                continue
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def _command(argv: Sequence[str]) -> List[str]:
    return [sys.executable, "-m", "dolma.cli", *argv]


def run_to_completion(argv: Sequence[str], timeout: float = 600) -> float:
    start = time.monotonic()
    proc = subprocess.run(_command(argv), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"dolma {' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return time.monotonic() - start


def _children(pid: int) -> List[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def kill_and_resume(
    argv: Sequence[str],
    output_root: str,
    expected: Dict[str, bytes],
    delay: float,
    victim: str = "driver",
    reset: Optional[Callable[[], None]] = None,
) -> KillResult:
    """Start ``dolma argv``, SIGKILL it (or one worker) after ``delay`` seconds, rerun until it succeeds, compare."""
    shutil.rmtree(output_root, ignore_errors=True)
    if reset is not None:
        reset()
    proc = subprocess.Popen(_command(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        if victim == "worker" and _children(proc.pid):
            os.kill(random.choice(_children(proc.pid)), signal.SIGKILL)
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # a killed worker fails its driver's run (non-zero exit) at worst; rerun until it completes
    rerun = 0.0
    for _ in range(3):
        try:
            rerun = run_to_completion(argv)
            break
        except RuntimeError:
            continue
    got = snapshot(output_root)
    leftovers = sorted(
        os.path.join(dirpath, name)
        for dirpath, _, names in os.walk(output_root)
        for name in names
        if name.startswith(".") and ".tmp-" in name
    )
    return KillResult(delay, victim, killed, got == expected, leftovers, rerun)
