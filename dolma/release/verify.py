"""Release manifests and ``dolma verify``: every file of a corpus release with its size and sha256.

``release.json`` at the root of a release lists each file below it (shards, attributes, token files and their
indexes, manifests, the report), the resolved recipe and its hash, the tool version and the digests of the
inputs. ``dolma verify DIR`` recomputes everything and reports each difference: a missing, changed or
unlisted file.
"""

from __future__ import annotations

import hashlib
import os
import sys
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

import msgspec

from dolma.core import io as dio
from dolma.core.locks import LOCK_NAME
from dolma.core.runner import Command
from dolma.core.config import ConfigStruct
from dolma.core.errors import ConfigError
from dolma.core.environment import output_environment
from dolma.core.manifest import FileEntry, config_hash
from dolma.core.version import __version__

__all__ = ["RELEASE_MANIFEST", "ReleaseManifest", "write_release_manifest", "verify_release", "VERIFY"]

RELEASE_MANIFEST = "release.json"


class ReleaseManifest(msgspec.Struct, kw_only=True):
    tool: str = "dolma-toolkit"
    tool_version: str = __version__
    created: str
    config_hash: str
    config: Dict[str, Any]
    inputs: List[FileEntry]
    files: List[FileEntry]
    environment: Optional[Dict[str, str]] = None  # Python and output-library versions (dolma.core.environment)
    format: int = 1


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _walk(root: str) -> List[str]:
    """Files below ``root`` as sorted relative paths, leaving out the release manifest, temporary files and run locks."""
    found = []
    for dirpath, dirnames, names in os.walk(root):
        dirnames.sort()
        for name in names:
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            if rel == RELEASE_MANIFEST or name == LOCK_NAME or (name.startswith(".") and dio.TMP_MARK in name):
                continue
            found.append(rel)
    return sorted(found)


def file_entry(path: str, name: Optional[str] = None) -> FileEntry:
    return FileEntry(name or path, os.path.getsize(path), _sha256(path))


def write_release_manifest(root: str, config: Dict[str, Any], inputs: List[FileEntry]) -> ReleaseManifest:
    """List every file below the local folder ``root`` in ``root/release.json``."""
    manifest = ReleaseManifest(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        config_hash=config_hash(config),
        config=config,
        inputs=inputs,
        files=[file_entry(os.path.join(root, rel), rel) for rel in _walk(root)],
        environment=output_environment(),
    )
    dio.write_bytes_atomic(
        os.path.join(root, RELEASE_MANIFEST), msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n"
    )
    return manifest


def verify_release(root: str) -> List[str]:
    """Every difference between ``root`` and its release manifest, one line each; empty when all is well."""
    path = os.path.join(root, RELEASE_MANIFEST)
    if not os.path.isfile(path):
        raise ConfigError(f"{root}: no {RELEASE_MANIFEST} here; is this a release folder?")
    try:
        manifest = msgspec.json.decode(dio.read_bytes(path), type=ReleaseManifest)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(f"{path}: not a release manifest: {exc}") from None
    problems: List[str] = []
    listed = {entry.path: entry for entry in manifest.files}
    for rel, entry in listed.items():
        full = os.path.join(root, rel)
        if not os.path.isfile(full):
            problems.append(f"missing: {rel}")
            continue
        size = os.path.getsize(full)
        if size != entry.bytes:
            problems.append(f"changed: {rel} ({entry.bytes} bytes listed, {size} found)")
        elif _sha256(full) != entry.sha256:
            problems.append(f"changed: {rel} (sha256 differs)")
    problems += [f"not listed: {rel}" for rel in _walk(root) if rel not in listed]
    if config_hash(manifest.config) != manifest.config_hash:
        problems.append(f"changed: {RELEASE_MANIFEST} (its config no longer matches its config_hash)")
    return problems


class VerifyConfig(ConfigStruct):
    path: str = ""
    """The release folder (holding release.json)."""


def run_verify(config: VerifyConfig) -> int:
    if not config.path:
        raise ConfigError("missing the release folder: dolma verify DIR")
    problems = verify_release(config.path)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"dolma verify: {len(problems)} difference(s) in {config.path}", file=sys.stderr)
        return 1
    print(f"{config.path}: every file matches {RELEASE_MANIFEST}")
    return 0


VERIFY = Command(VerifyConfig, run_verify, "check a release folder against its release.json", positional="path")
