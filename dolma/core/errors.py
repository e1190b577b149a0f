"""Error types every stage shares; each carries a message fit to show a user as one line."""

from __future__ import annotations

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
]


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
