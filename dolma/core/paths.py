"""Paths: local or ``s3://``, glob patterns on both, and the Dolma corpus layout.

A Dolma corpus keeps documents under ``<prefix>/documents/<rel>`` and everything derived from them under
sibling folders: ``<prefix>/attributes/<experiment>/<rel>``. :class:`CorpusPath` parses a path once into those
parts so every stage derives its outputs the same way, never by string replacement on the whole path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, List, Optional

from dolma.core.errors import ConfigError
from dolma.core.globs import glob_regex, has_glob, is_s3, match_glob, split_s3, static_prefix

__all__ = [
    "is_s3",
    "split_s3",
    "join",
    "canonical",
    "parent",
    "has_glob",
    "glob_paths",
    "glob_root",
    "match_glob",
    "CorpusPath",
    "DOCUMENTS_DIR",
    "ATTRIBUTES_DIR",
]

DOCUMENTS_DIR = "documents"
ATTRIBUTES_DIR = "attributes"


def canonical(path: str) -> str:
    """One spelling per file, to compare paths: a local path made absolute with its links resolved; an ``s3://``
    path with repeated and trailing slashes removed."""
    if is_s3(path):
        bucket, key = split_s3(path)
        return "s3://" + "/".join([bucket, *[part for part in key.split("/") if part]])
    return os.path.realpath(os.path.abspath(path))


def parent(path: str) -> str:
    """The folder of a canonical path (``s3://bucket`` for an object at the top of its bucket)."""
    return path.rsplit("/", 1)[0] if is_s3(path) else os.path.dirname(path)


def join(base: str, *parts: str) -> str:
    if is_s3(base):
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return os.path.join(base, *parts)


def glob_paths(pattern: str) -> List[str]:
    """Files matching ``pattern`` (local or ``s3://``), sorted. A pattern without wildcards that names a folder
    means every file below it; one that names a file means that file."""
    if is_s3(pattern):
        from dolma.core import s3  # only users of s3:// need boto3 loaded

        return s3.glob(pattern)
    return _glob_local(pattern)


def _glob_local(pattern: str) -> List[str]:
    pattern = os.path.expanduser(pattern)
    if not has_glob(pattern):
        if os.path.isdir(pattern):
            return _glob_local(os.path.join(pattern, "**", "*"))
        return [pattern] if os.path.isfile(pattern) else []
    root = static_prefix(pattern)
    regex = glob_regex(pattern[len(root) :])
    walk_root = root or "."
    if not os.path.isdir(walk_root):
        return []
    found: List[str] = []
    for rel in _walk_files(walk_root):
        if regex.match(rel):
            found.append(root + rel)
    return sorted(found)


def _walk_files(root: str) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for name in filenames:
            yield name if rel_dir == "." else f"{rel_dir}/{name}"


def glob_root(pattern: str) -> str:
    """The folder a pattern's matches are relative to: its part before the first wildcard component, or the
    pattern itself when it names a folder. Ends with ``/`` unless empty."""
    if has_glob(pattern):
        return static_prefix(pattern)
    if is_s3(pattern) or os.path.isdir(pattern):
        return pattern.rstrip("/") + "/"
    return pattern[: pattern.rfind("/") + 1]


@dataclass(frozen=True)
class CorpusPath:
    """A documents file split into ``<prefix>documents/<rel>``.

    ``rel`` keeps sub-folders and the full file name (extensions included); ``prefix`` ends with ``/`` or is
    empty. A path without a ``documents`` component has ``prefix = None``: stages then need a destination.
    """

    path: str
    prefix: Optional[str]
    rel: str

    @classmethod
    def parse(cls, path: str, documents_dir: str = DOCUMENTS_DIR) -> "CorpusPath":
        """``documents_dir`` names the folder that splits prefix and ``rel`` (Dolma's ``document_dir``)."""
        parts = path.split("/")
        # the last `documents` folder wins: `/data/documents/x/documents/y.gz` → rel `y.gz`
        for i in range(len(parts) - 2, -1, -1):
            if parts[i] == documents_dir:
                prefix = "/".join(parts[:i]) + "/" if i > 0 else ""
                return cls(path=path, prefix=prefix, rel="/".join(parts[i + 1 :]))
        return cls(path=path, prefix=None, rel=parts[-1])

    def sibling(self, *folders: str) -> str:
        """The mirrored path ``<prefix><folders...>/<rel>``, e.g. ``sibling("attributes", "exp")``."""
        if self.prefix is None:
            raise ConfigError(
                f"{self.path}: not inside a '{DOCUMENTS_DIR}' folder, so the output location cannot be derived; "
                "set `destination`"
            )
        return self.prefix + "/".join([*folders, self.rel])
