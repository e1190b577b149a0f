"""Paths: local or ``s3://``, glob patterns on both, and the Dolma corpus layout.

A Dolma corpus keeps documents under ``<prefix>/documents/<rel>`` and everything derived from them under
sibling folders: ``<prefix>/attributes/<experiment>/<rel>``. :class:`CorpusPath` parses a path once into those
parts so every stage derives its outputs the same way, never by string replacement on the whole path.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator, List, Optional, Tuple

from dolma.errors import ConfigError

__all__ = [
    "is_s3",
    "split_s3",
    "join",
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
_GLOB_CHARS = re.compile(r"[*?\[]")


def is_s3(path: str) -> bool:
    return path.startswith("s3://") or path.startswith("s3a://") or path.startswith("s3n://")


def split_s3(path: str) -> Tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``."""
    rest = path.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ConfigError(f"{path!r}: an s3:// path needs a bucket name")
    return bucket, key


def join(base: str, *parts: str) -> str:
    if is_s3(base):
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return os.path.join(base, *parts)


def has_glob(path: str) -> bool:
    return bool(_GLOB_CHARS.search(path))


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> "re.Pattern[str]":
    """Shell-style glob as a regex: ``*`` and ``?`` stay inside one path component, ``**`` spans any number of
    components (zero included); a leading dot is only matched by a pattern that spells it."""
    out: List[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append(r"(?:[^/.][^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(r"(?:[^/.][^/]*(?:/[^/.][^/]*)*)?")
            i += 2
        elif c == "*":
            at_start = i == 0 or pattern[i - 1] == "/"
            out.append(r"(?:[^/.][^/]*)?" if at_start else r"[^/]*")
            i += 1
        elif c == "?":
            out.append(r"[^/]")
            i += 1
        elif c == "[":
            j = pattern.find("]", i + 2 if pattern.startswith("[!", i) or pattern.startswith("[^", i) else i + 1)
            if j < 0:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1 : j]
            if body.startswith(("!", "^")):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _static_prefix(pattern: str) -> str:
    """The part of a pattern before its first path component that holds a wildcard."""
    m = _GLOB_CHARS.search(pattern)
    if m is None:
        return pattern
    return pattern[: pattern.rfind("/", 0, m.start()) + 1]


def glob_paths(pattern: str) -> List[str]:
    """Files matching ``pattern`` (local or ``s3://``), sorted. A pattern without wildcards that names a folder
    means every file below it; one that names a file means that file."""
    if is_s3(pattern):
        from dolma import s3  # only users of s3:// need boto3 loaded

        return s3.glob(pattern)
    return _glob_local(pattern)


def _glob_local(pattern: str) -> List[str]:
    pattern = os.path.expanduser(pattern)
    if not has_glob(pattern):
        if os.path.isdir(pattern):
            return _glob_local(os.path.join(pattern, "**", "*"))
        return [pattern] if os.path.isfile(pattern) else []
    root = _static_prefix(pattern)
    regex = _glob_regex(pattern[len(root) :])
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


def match_glob(pattern: str, candidates: List[str]) -> List[str]:
    """Keep the candidates (full paths or keys) that match ``pattern``, sorted; used for S3 listings."""
    root = _static_prefix(pattern)
    regex = _glob_regex(pattern[len(root) :])
    return sorted(c for c in candidates if c.startswith(root) and regex.match(c[len(root) :]))


def glob_root(pattern: str) -> str:
    """The folder a pattern's matches are relative to: its part before the first wildcard component, or the
    pattern itself when it names a folder. Ends with ``/`` unless empty."""
    if has_glob(pattern):
        return _static_prefix(pattern)
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
