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
from concurrent.futures import ThreadPoolExecutor
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
from dolma.core.paths import glob_paths, is_s3, join, split_s3
from dolma.core.version import __version__

__all__ = ["RELEASE_MANIFEST", "ReleaseManifest", "write_release_manifest", "verify_release", "read_release",
           "lineage_problems", "VERIFY"]

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
    if is_s3(path):  # one GET per object
        from dolma.core import s3

        bucket, key = split_s3(path)
        with s3.errors_as_storage(path):
            body = s3.client().get_object(Bucket=bucket, Key=key)["Body"]
            for block in iter(lambda: body.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _skipped(rel: str) -> bool:
    """The release manifest, temporary files and run locks are not part of a release."""
    name = rel.rsplit("/", 1)[-1]
    return rel == RELEASE_MANIFEST or name == LOCK_NAME or (name.startswith(".") and dio.TMP_MARK in name)


def _walk(root: str) -> List[str]:
    """Files below ``root`` as sorted relative paths, leaving out the release manifest, temporary files and run locks."""
    if is_s3(root):
        return sorted(rel for rel in _s3_sizes(root) if not _skipped(rel))
    found = []
    for dirpath, dirnames, names in os.walk(root):
        dirnames.sort()
        for name in names:
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            if not _skipped(rel):
                found.append(rel)
    return sorted(found)


def _s3_sizes(root: str) -> Dict[str, int]:
    """Every object below the S3 folder ``root`` (hidden ones too), relative path → size."""
    from dolma.core import s3

    bucket, key = split_s3(root.rstrip("/") + "/")
    sizes: Dict[str, int] = {}
    with s3.errors_as_storage(root):
        for page in s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            for obj in page.get("Contents", ()):
                sizes[obj["Key"][len(key):]] = int(obj["Size"])
    return sizes


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


def read_release(root: str) -> ReleaseManifest:
    path = join(root, RELEASE_MANIFEST)
    if not dio.exists(path):
        raise ConfigError(f"{root}: no {RELEASE_MANIFEST} here; is this a release folder?")
    try:
        return msgspec.json.decode(dio.read_bytes(path), type=ReleaseManifest)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(f"{path}: not a release manifest: {exc}") from None


def verify_release(root: str) -> List[str]:
    """Every difference between ``root`` (local or S3) and its release manifest, one line each; empty when all is
    well. The lineage index, when there is one, must describe the files as they are (after any removals)."""
    root = root.rstrip("/")
    manifest = read_release(root)
    problems: List[str] = []
    listed = {entry.path: entry for entry in manifest.files}
    sizes = _s3_sizes(root) if is_s3(root) else None
    to_hash = []
    for rel, entry in listed.items():
        full = join(root, rel)
        if sizes is not None:
            size = sizes.get(rel)
        else:
            size = os.path.getsize(full) if os.path.isfile(full) else None
        if size is None:
            problems.append(f"missing: {rel}")
        elif size != entry.bytes:
            problems.append(f"changed: {rel} ({entry.bytes} bytes listed, {size} found)")
        else:
            to_hash.append(rel)
    # on S3 each object is a round trip: a few at a time
    with ThreadPoolExecutor(16 if sizes is not None else 1) as pool:
        digests = list(pool.map(lambda rel: _sha256(join(root, rel)), to_hash))
    problems += [f"changed: {rel} (sha256 differs)" for rel, digest in zip(to_hash, digests)
                 if digest != listed[rel].sha256]
    problems += [f"not listed: {rel}" for rel in _walk(root) if rel not in listed]
    if config_hash(manifest.config) != manifest.config_hash:
        problems.append(f"changed: {RELEASE_MANIFEST} (its config no longer matches its config_hash)")
    problems += lineage_problems(root, listed)
    return problems


def lineage_problems(root: str, listed: Dict[str, FileEntry]) -> List[str]:
    """The lineage index (``lineage/index.json``) against the release's files: each file it was built from must be
    as it was then, or as the removals recorded since changed it; each bucket as it was written."""
    path = join(root, "lineage", "index.json")
    if "lineage/index.json" not in listed or not dio.exists(path):
        return []
    index = msgspec.json.decode(dio.read_bytes(path))
    expected = {e["path"]: e["sha256"] for e in index["inputs"] + index["outputs"]}
    problems: List[str] = []
    for record_path in sorted(glob_paths(join(root, "removals", "*.json"))):
        record = msgspec.json.decode(dio.read_bytes(record_path))
        for change in record["files"]:
            rel, before, after = change["path"], change["before"], change["after"]
            if rel in expected:
                if before is None or expected[rel] != before["sha256"]:
                    problems.append(f"lineage: {rel}: removal {record['number']} changed a file other than the "
                                    "one the index knew")
                expected[rel] = after["sha256"] if after is not None else ""
    for rel, sha in expected.items():
        entry = listed.get(rel)
        if entry is None:
            problems.append(f"lineage: {rel}: in the lineage index, not in the release")
        elif entry.sha256 != sha:
            problems.append(f"lineage: {rel}: changed since the lineage index was built (rebuild it: dolma lineage)")
    return problems


class VerifyConfig(ConfigStruct):
    path: str = ""
    """The release folder (holding release.json), local or s3://."""


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
