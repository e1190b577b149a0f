"""One writer per output folder: the lock a run takes on each folder it writes.

A local folder's lock is the file ``.dolma.lock`` in it (hidden: globs never list it), created exclusively and
holding the holder's host, pid and start time. It is stale when its holder is gone: a process of this host that is
no longer alive. On S3 the lock is the object ``<folder>/.dolma.lock``, created with a conditional put
(``If-None-Match: *``) and holding a lease (``expires``, seconds since the epoch) that the run renews from a
background thread; it is stale when the lease expired. A stale lock is taken over; a live one makes the run fail at
once naming its holder, or wait for it (``wait_for_lock``). Locks are released when the run ends, whatever the
reason (an error, Ctrl-C).

Stale temporary files in a folder are removed only when no other live run holds the folder's lock
(:func:`held_by_other`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any, Dict, Iterable, List, Optional

from dolma.core.errors import DolmaError
from dolma.core.globs import is_s3, split_s3

__all__ = ["LOCK_NAME", "LockHeld", "OutputLocks", "held_by_other", "describe_holder"]

log = logging.getLogger("dolma")

LOCK_NAME = ".dolma.lock"
LEASE_SECONDS = 120.0  # an S3 lock not renewed for this long is stale
RENEW_SECONDS = 30.0
WAIT_POLL_SECONDS = 2.0


class LockHeld(DolmaError):
    """Another live run holds the lock of an output folder."""


def lock_path(folder: str) -> str:
    return f"{folder.rstrip('/')}/{LOCK_NAME}" if is_s3(folder) else os.path.join(folder, LOCK_NAME)


def describe_holder(holder: Dict[str, Any]) -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(holder.get("since", 0))))
    return f"host {holder.get('host', '?')}, pid {holder.get('pid', '?')}, since {since}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"  # a zombie is a finished process
    except (OSError, IndexError):
        return True


def _live(holder: Optional[Dict[str, Any]]) -> bool:
    """Whether a lock's holder may still be running."""
    if holder is None:
        return False
    if "expires" in holder:  # an S3 lease
        return float(holder["expires"]) > time.time()
    if holder.get("host") == socket.gethostname():
        try:
            return _pid_alive(int(holder.get("pid", -1)))
        except (TypeError, ValueError):
            return False
    return True  # another host's process: we cannot tell, so it holds the lock


def _is_mine(holder: Optional[Dict[str, Any]]) -> bool:
    return holder is not None and holder.get("host") == socket.gethostname() and holder.get("pid") == os.getpid()


# --- local locks ---------------------------------------------------------------------------------------------


def _read_local(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(data)
    except ValueError:
        return {"host": "?", "pid": "?", "since": os.path.getmtime(path) if os.path.exists(path) else 0, "torn": True}
    return holder if isinstance(holder, dict) else None


def _try_local(path: str, holder: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Take the lock at ``path``: ``None`` when taken, else its live holder."""
    for _ in range(10):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileNotFoundError:
            continue  # its folder, empty, was removed by a run releasing its lock meanwhile: made again
        except FileExistsError:
            current = _read_local(path)
            if current is None:
                continue  # released meanwhile
            if current.get("torn") and time.time() - float(current["since"]) < 5:
                time.sleep(0.05)  # being written right now
                continue
            if _live(current) and not current.get("torn"):
                return current
            _take_over_local(path, current)
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(json.dumps(holder).encode())
            f.flush()
            os.fsync(f.fileno())
        return None
    return _read_local(path) or {"host": "?", "pid": "?", "since": 0}


def _take_over_local(path: str, stale: Dict[str, Any]) -> None:
    """Move a stale lock aside, unless another run replaced it meanwhile (then put that one back)."""
    aside = f"{path}.stale-{uuid.uuid4().hex[:8]}"
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    moved = _read_local(aside)
    if moved is not None and not moved.get("torn") and moved != stale and _live(moved):
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)  # another run took it over first: its lock stays
    else:
        log.info("%s: taking over the lock of a run that is gone (%s)", os.path.dirname(path), describe_holder(stale))
    os.remove(aside)


def _release_local(path: str) -> None:
    if _is_mine(_read_local(path)):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


# --- S3 locks -----------------------------------------------------------------------------------------------


def _read_s3(path: str) -> Optional[Dict[str, Any]]:
    from botocore.exceptions import ClientError

    from dolma.core import s3

    bucket, key = split_s3(path)
    with s3.errors_as_storage(path):
        try:
            obj = s3.client().get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if s3._error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        data = obj["Body"].read()
    try:
        holder = json.loads(data)
    except ValueError:
        return None
    if isinstance(holder, dict):
        holder["etag"] = obj.get("ETag")
        return holder
    return None


def _put_s3(path: str, holder: Dict[str, Any], **conditions: str) -> bool:
    """A conditional put of the lock object; False when the condition failed (someone else's lock)."""
    from botocore.exceptions import ClientError

    from dolma.core import s3

    bucket, key = split_s3(path)
    body = json.dumps({k: v for k, v in holder.items() if k != "etag"}).encode()
    with s3.errors_as_storage(path):
        try:
            s3.client().put_object(Bucket=bucket, Key=key, Body=body, **conditions)
        except ClientError as exc:
            if s3._error_code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                return False
            raise
    return True


def _try_s3(path: str, holder: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    for _ in range(10):
        holder["expires"] = time.time() + LEASE_SECONDS
        if _put_s3(path, holder, IfNoneMatch="*"):
            return None
        current = _read_s3(path)
        if current is None:
            continue
        if _live(current):
            return current
        # an expired lease: replace exactly that object (If-Match its ETag), so two runs cannot both take it
        if _put_s3(path, holder, IfMatch=current["etag"]):
            log.info("%s: taking over the lock of a run whose lease expired (%s)", path, describe_holder(current))
            return None
    return _read_s3(path) or {"host": "?", "pid": "?", "since": 0}


def _renew_s3(path: str, holder: Dict[str, Any]) -> None:
    current = _read_s3(path)
    if current is None or current.get("run") != holder["run"]:
        log.warning("%s: this run's lock was taken over by another run (%s)", path,
                    describe_holder(current) if current else "removed")
        return
    holder["expires"] = time.time() + LEASE_SECONDS
    _put_s3(path, holder, IfMatch=current["etag"])


def _release_s3(path: str, holder: Dict[str, Any]) -> None:
    from dolma.core import s3

    current = _read_s3(path)
    if current is not None and current.get("run") == holder["run"]:
        s3.remove(path)


# --- the run's locks ----------------------------------------------------------------------------------------


def held_by_other(folder: str) -> Optional[Dict[str, Any]]:
    """The live holder of ``folder``'s lock when it is another run (not this process), else ``None``."""
    path = lock_path(folder)
    holder = _read_s3(path) if is_s3(folder) else _read_local(path)
    if holder is None or _is_mine(holder) or not _live(holder):
        return None
    return holder


class OutputLocks:
    """The locks of a run's output ``folders``, taken on entering (in sorted order, so two runs cannot each hold
    one the other waits for) and released on leaving. ``wait``: wait for a live holder instead of failing."""

    def __init__(self, folders: Iterable[str], wait: bool = False, lease: float = LEASE_SECONDS) -> None:
        self.folders: List[str] = sorted({f.rstrip("/") if is_s3(f) else (f or ".") for f in folders})
        self.wait = wait
        self.holder = {"host": socket.gethostname(), "pid": os.getpid(), "since": time.time(),
                       "run": uuid.uuid4().hex}
        self._held: List[str] = []
        self._made: List[str] = []  # local folders this run's locks created, deepest first
        self._stop = threading.Event()
        self._renewer: Optional[threading.Thread] = None

    def __enter__(self) -> "OutputLocks":
        try:
            for folder in self.folders:
                self._take(folder)
        except BaseException:
            self._release()
            raise
        if any(is_s3(f) for f in self._held):
            self._renewer = threading.Thread(target=self._renew, name="dolma-lock-lease", daemon=True)
            self._renewer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._release()

    def _take(self, folder: str) -> None:
        path = lock_path(folder)
        if not is_s3(folder):
            missing = folder
            while missing and not os.path.isdir(missing) and missing not in self._made:
                self._made.append(missing)
                missing = os.path.dirname(missing)
        told = False
        while True:
            holder = _try_s3(path, dict(self.holder)) if is_s3(folder) else _try_local(path, self.holder)
            if holder is None:
                self._held.append(folder)
                return
            if not self.wait:
                raise LockHeld(
                    f"{folder}: another run is writing here ({describe_holder(holder)}); wait for it to finish, "
                    "or rerun with --wait_for_lock"
                )
            if not told:
                log.info("%s: waiting for the run that holds its lock (%s)", folder, describe_holder(holder))
                told = True
            time.sleep(WAIT_POLL_SECONDS)

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            for folder in self._held:
                if is_s3(folder):
                    try:
                        _renew_s3(lock_path(folder), self.holder)
                    except Exception as exc:  # a failed renewal is retried at the next tick
                        log.warning("%s: could not renew the lock's lease: %s", folder, exc)

    def _release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        for folder in reversed(self._held):
            try:
                if is_s3(folder):
                    _release_s3(lock_path(folder), self.holder)
                else:
                    _release_local(lock_path(folder))
            except Exception as exc:  # release the others anyway
                log.warning("%s: could not release the lock: %s", folder, exc)
        self._held.clear()
        # a folder made for the lock and left empty by the run (a stage's scratch space cleaned up after success,
        # outputs that all went elsewhere) goes too, deepest first; one still holding anything stays
        for folder in sorted(self._made, key=len, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        self._made.clear()
