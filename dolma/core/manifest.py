"""Manifests: the record a finished work unit leaves beside each output file.

A manifest says what made the output (tool version, the config that determines the output and its hash, and
the whole resolved command config), from what (inputs
with sizes and sha256), what it holds (outputs with sizes and sha256) and what happened on the way (counts).
Its presence with a matching config hash is what lets a rerun skip the unit; ``dolma report`` reads them.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Type, TypeVar

import msgspec

from dolma.core import io as dio
from dolma.core.environment import check_environment, output_environment
from dolma.core.version import __version__

__all__ = [
    "FileEntry",
    "Manifest",
    "manifest_path",
    "config_hash",
    "written",
    "new_manifest",
    "write_manifest",
    "read_manifest",
    "read_record",
    "MANIFEST_SUFFIX",
]

MANIFEST_SUFFIX = ".manifest.json"

R = TypeVar("R", bound=msgspec.Struct)


class FileEntry(msgspec.Struct):
    path: str
    bytes: int
    sha256: str


class Manifest(msgspec.Struct, kw_only=True):
    stage: str
    config_hash: str
    config: Dict[str, Any]
    inputs: List[FileEntry]
    outputs: List[FileEntry]
    counts: Dict[str, int]
    seconds: float
    finished: str
    tool: str = "dolma-toolkit"
    tool_version: str = __version__
    quarantine: Optional[FileEntry] = None
    resolved_config: Optional[Dict[str, Any]] = None  # the whole command config the run was given
    environment: Optional[Dict[str, str]] = None  # Python and output-library versions (dolma.core.environment)
    format: int = 1


def manifest_path(output: str) -> str:
    return output + MANIFEST_SUFFIX


def config_hash(config: Any) -> str:
    """sha256 of the config's canonical JSON (sorted keys), so equal configs hash equally across runs."""
    return hashlib.sha256(msgspec.json.encode(config, order="sorted")).hexdigest()


def written(writer: Optional[dio.AtomicWriter]) -> Optional[FileEntry]:
    """The entry of a committed writer's file (``None`` for no writer)."""
    if writer is None:
        return None
    return FileEntry(writer.path, writer.bytes_written, writer.sha256 or "")


def new_manifest(
    stage: str,
    config: Dict[str, Any],
    inputs: List[FileEntry],
    outputs: List[FileEntry],
    counts: Dict[str, int],
    seconds: float,
    resolved_config: Any,
    quarantine: Optional[FileEntry] = None,
) -> Manifest:
    """A manifest finished now: ``config`` (what determines the outputs) is hashed, ``resolved_config`` (the whole
    command config, a Struct or dict) is stored as plain data."""
    return Manifest(
        stage=stage,
        config_hash=config_hash(config),
        config=config,
        inputs=inputs,
        outputs=outputs,
        counts=counts,
        seconds=round(seconds, 3),
        finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        quarantine=quarantine,
        resolved_config=msgspec.to_builtins(resolved_config),
        environment=output_environment(),
    )


def write_manifest(path: str, manifest: Manifest) -> None:
    dio.write_bytes_atomic(path, msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n")


def read_manifest(path: str) -> Optional[Manifest]:
    """The manifest at ``path``; ``None`` when there is none or it is unreadable (the unit then reruns)."""
    return read_record(path, Manifest)


def read_record(path: str, record_type: Type[R]) -> Optional[R]:
    """A record a finished unit left (a manifest, or a stage's own record) with an ``environment`` field; ``None``
    when there is none or it is unreadable. Versions it records that differ from the installed ones are warned
    about (or refused, see :mod:`dolma.core.environment`)."""
    if not dio.exists(path):
        return None
    try:
        record = msgspec.json.decode(dio.read_bytes(path), type=record_type)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    check_environment(record.environment, path)  # type: ignore[attr-defined]
    return record
