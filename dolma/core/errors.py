"""Error types every stage shares; each carries a message fit to show a user as one line."""

from __future__ import annotations

import errno
import os
import re
from typing import Optional

__all__ = [
    "DolmaError",
    "ConfigError",
    "DolmaConfigError",
    "InputError",
    "StorageError",
    "TransientStorageError",
    "UnitsFailed",
    "PipelineError",
    "DolmaRustPipelineError",
    "scrub",
    "os_error_message",
]

# user:password@ in any URL (an endpoint such as AWS_ENDPOINT_URL=http://user:password@host)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@:]+(?::[^/\s@]*)?@")
_SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.EIO: "input/output error",
    errno.EMFILE: "too many open files",
    errno.ENAMETOOLONG: "file name too long",
}


def scrub(text: str) -> str:
    """``text`` without credentials: the user and password of URLs, and the values of secret variables."""
    text = _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + "***@", text)
    for name in _SECRET_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text


def os_error_message(exc: OSError) -> str:
    """One line for an operating system error: the path it met, and what happened."""
    reason = _REASONS.get(exc.errno or -1) or exc.strerror or str(exc) or type(exc).__name__
    paths = [p for p in (exc.filename, exc.filename2) if p is not None]
    where = " -> ".join(str(os.fsdecode(p)) for p in paths)
    return scrub(f"{where}: {reason}" if where else reason)


class DolmaError(Exception):
    """Base of the toolkit's errors."""


class ConfigError(DolmaError):
    """A config file, flag or plugin is wrong; raised before any data is read."""


DolmaConfigError = ConfigError
"""Dolma's name for :class:`ConfigError`."""


class InputError(DolmaError):
    """Bad input data: always names the file and, where there is one, the line (1-based)."""

    def __init__(self, path: str, line: Optional[int], reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


class StorageError(DolmaError):
    """Storage refused a request for good (access denied, no such bucket): retrying will not help."""


class TransientStorageError(StorageError):
    """Storage kept failing (5xx, throttling, resets, timeouts) past the per-request retries; the unit that met it
    is retried as a whole."""


class UnitsFailed(DolmaError):
    """Units of a pass that the rest of a command depends on failed (a mix's measuring pass); their failures are
    already printed, one per file, and the command exits 1."""


class PipelineError(DolmaError):
    """A command run as a library call (``dolma.mixer(config)``, ``Command.call``) ended with failed files; each
    failure is already printed, one per file."""


DolmaRustPipelineError = PipelineError
"""Dolma's name for :class:`PipelineError` (its mixer and deduper ran in Rust)."""
