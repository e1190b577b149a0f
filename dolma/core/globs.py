"""Path strings, local or ``s3://``: splitting S3 URLs and matching shell-style globs. Pure functions, no I/O, so
both :mod:`dolma.core.paths` (which lists files) and :mod:`dolma.core.s3` (which lists objects) build on them."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import List, Tuple

from dolma.core.errors import ConfigError

__all__ = ["is_s3", "split_s3", "has_glob", "match_glob", "glob_regex", "static_prefix"]

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


def has_glob(path: str) -> bool:
    return bool(_GLOB_CHARS.search(path))


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> "re.Pattern[str]":
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


def static_prefix(pattern: str) -> str:
    """The part of a pattern before its first path component that holds a wildcard."""
    m = _GLOB_CHARS.search(pattern)
    if m is None:
        return pattern
    return pattern[: pattern.rfind("/", 0, m.start()) + 1]


def match_glob(pattern: str, candidates: List[str]) -> List[str]:
    """Keep the candidates (full paths or keys) that match ``pattern``, sorted; used for S3 listings."""
    root = static_prefix(pattern)
    regex = glob_regex(pattern[len(root) :])
    return sorted(c for c in candidates if c.startswith(root) and regex.match(c[len(root) :]))
