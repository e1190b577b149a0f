"""An in-place `dolma remove` in two phases, so that a run killed at any point is finished by running it again.

1. **Stage**: every new file (shards, token files and indexes, manifests, ``mixture.json``, the removal record) is
   written under ``<release>/.remove-staging/`` at its release-relative path; the release is not touched. A run
   killed here leaves only that folder, which the next run deletes (roll back) before it starts.
2. **Commit**: ``<release>/.remove-journal.json`` is written (atomically): the removal's number, what was asked
   (:class:`Request`) and every staged file with its new size and sha256. From here on the removal happens.
3. **Swap**: each staged file replaces its release file (a rename locally; a server-side copy on S3), in the
   journal's order; then the datasheet and ``release.json`` are written, the journal and the staging folder
   deleted. A run killed here leaves the journal: the next run moves what is still staged (locally a file no longer
   staged was moved already; on S3 the copies are made again, the same bytes), writes the datasheet and
   ``release.json`` again and cleans up — and stops there when it was asked for the same removal, or goes on with
   its own.

``dolma verify`` flags a release with a journal or staged files (they are not in ``release.json``).
"""

from __future__ import annotations

import os
import shutil
from typing import List, Optional

import msgspec

from dolma.core import io as dio
from dolma.core.manifest import FileEntry
from dolma.core.paths import is_s3, join, split_s3
from dolma.release.lineage import fetch

__all__ = ["JOURNAL", "STAGING_DIR", "Request", "Journal", "staging", "roll_back", "commit", "read_journal", "swap",
           "finish"]

JOURNAL = ".remove-journal.json"
STAGING_DIR = ".remove-staging"


class Request(msgspec.Struct, kw_only=True):
    """What a removal was asked to do (a rerun asking the same is finished, not repeated)."""

    ids: List[str]
    ids_file: Optional[str]
    filter: Optional[str]
    syntax: str
    reason: str
    report: bool


class Journal(msgspec.Struct, kw_only=True):
    number: int
    request: Request
    files: List[FileEntry]
    """The staged files (release-relative path, new size and sha256), in the order they are moved in."""
    format: int = 1


def staging(root: str) -> str:
    return join(root, STAGING_DIR)


def _staged(root: str) -> List[str]:
    """The release-relative paths of the files in the staging folder (one listing)."""
    folder = staging(root)
    if is_s3(folder):
        from dolma.core import s3

        bucket, key = split_s3(folder + "/")
        with s3.errors_as_storage(folder):
            pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
            return [o["Key"][len(key):] for page in pages for o in page.get("Contents", ())]
    return [os.path.relpath(os.path.join(d, n), folder) for d, _, names in os.walk(folder) for n in names]


def roll_back(root: str) -> int:
    """Delete the staging folder and what is in it; the number of files deleted."""
    found = _staged(root)
    folder = staging(root)
    if is_s3(folder):
        from dolma.core import s3

        bucket, key = split_s3(folder + "/")
        with s3.errors_as_storage(folder):
            for i in range(0, len(found), 1000):
                objects = [{"Key": key + rel} for rel in found[i: i + 1000]]
                s3.client().delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return len(found)


def commit(root: str, journal: Journal) -> None:
    dio.write_bytes_atomic(join(root, JOURNAL), msgspec.json.format(msgspec.json.encode(journal), indent=2) + b"\n")


def read_journal(root: str) -> Optional[Journal]:
    path = join(root, JOURNAL)
    if not dio.exists(path):
        return None
    return msgspec.json.decode(fetch(path), type=Journal)


def swap(root: str, journal: Journal) -> int:
    """Every file still staged replaces its release file, in the journal's order; the number moved. Locally a
    rename (the staged file is gone after it); on S3 a server-side copy (the staged objects are deleted together by
    :func:`finish`: a rerun before then copies the same bytes again)."""
    staged = set(_staged(root))
    moved = 0
    for entry in journal.files:
        if entry.path in staged:
            _move(join(staging(root), entry.path), join(root, entry.path))
            moved += 1
    return moved


def _move(src: str, dst: str) -> None:
    if is_s3(src):
        from dolma.core import s3

        bucket, key = split_s3(src)
        dbucket, dkey = split_s3(dst)
        with s3.errors_as_storage(dst):
            s3.client().copy_object(Bucket=dbucket, Key=dkey, CopySource={"Bucket": bucket, "Key": key})
        return
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    os.replace(src, dst)


def finish(root: str) -> None:
    """The removal is complete: the staging folder goes, then the journal (a run killed in between finds the
    journal, nothing staged, and only writes the datasheet and ``release.json`` again)."""
    roll_back(root)
    dio.remove(join(root, JOURNAL))
