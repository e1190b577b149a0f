"""Paths: local or ``s3://``, glob patterns on both, and the Dolma corpus layout.

A Dolma corpus keeps documents under ``<prefix>/documents/<rel>`` and everything derived from them under
sibling folders: ``<prefix>/attributes/<experiment>/<rel>``. :class:`CorpusPath` parses a path once into those
parts so every stage derives its outputs the same way, never by string replacement on the whole path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator, List, Optional, Tuple, Union

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
    "FIRST_OCCURRENCES_DIR",
    "first_occurrences_path",
    # Dolma's names
    "add_suffix",
    "exists",
    "glob_path",
    "is_glob",
    "is_local",
    "join_path",
    "make_relative",
    "mkdir_p",
    "parent",
    "split_ext",
    "split_glob",
    "split_path",
    "sub_prefix",
    "sub_suffix",
]

DOCUMENTS_DIR = "documents"
ATTRIBUTES_DIR = "attributes"
# exact dedupe's record of where each duplicate first occurred, beside the attributes (which keep Dolma's bytes), in a
# folder of its own so that nothing listing an attribute folder meets it (docs/dedupe.md)
FIRST_OCCURRENCES_DIR = "first_occurrences"


def canonical(path: str) -> str:
    """One spelling per file, to compare paths: a local path made absolute with its links resolved; an ``s3://``
    path with repeated and trailing slashes removed."""
    if is_s3(path):
        bucket, key = split_s3(path)
        return "s3://" + "/".join([bucket, *[part for part in key.split("/") if part]])
    return os.path.realpath(os.path.abspath(path))


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


def first_occurrences_path(prefix: str, set_name: str, rel: str) -> str:
    """``<prefix>first_occurrences/<set>/<rel>.msgpack.gz``: exact dedupe's record of where each duplicate of the
    documents file ``<prefix>documents/<rel>`` first occurred (its attributes: ``<prefix>attributes/<set>/<rel>``)."""
    return f"{prefix}{FIRST_OCCURRENCES_DIR}/{set_name}/{rel}.msgpack.gz"


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


# --- Dolma's path helpers (``dolma.core.paths``), same names and semantics, for code written against Dolma ---------
# A path is ``(protocol, parts)``: ``"s3://b/k"`` → ``("s3", ("b", "k"))``, ``"/a/b"`` → ``("", ("/", "a", "b"))``.

_GLOB_ESCAPES = {"*": "\u2581", "?": "\u2582", "[": "\u2583", "]": "\u2584"}
_GLOB_UNESCAPES = {v: k for k, v in _GLOB_ESCAPES.items()}


def _escape_glob(path: str) -> str:
    """Replace each unescaped glob character with a placeholder (escaped ones, ``\\*``, stay)."""
    out: List[str] = []
    prev = ""
    for c in path:
        out.append(_GLOB_ESCAPES[c] if c in _GLOB_ESCAPES and prev != "\\" else c)
        prev = c
    return "".join(out)


def _unescape_glob(path: str) -> str:
    return "".join(_GLOB_UNESCAPES.get(c, c) for c in path)


def is_glob(path: str) -> bool:
    """Whether ``path`` holds an unescaped ``*``, ``?`` or ``[``."""
    return any(c in _escape_glob(path) for c in ("\u2581", "\u2582", "\u2583"))


def _protocol(path: str) -> Tuple[str, str]:
    if "://" in path:
        protocol, rest = path.split("://", 1)
        return protocol, rest
    return "", path


def _pathify(path: str) -> Tuple[str, PurePosixPath]:
    """``(protocol, rest as a Path)``."""
    protocol, rest = _protocol(path)
    return protocol, Path(rest)


def split_path(path: str) -> Tuple[str, Tuple[str, ...]]:
    """``(protocol, parts)``; an absolute local path's first part is ``"/"``; trailing slashes are dropped."""
    protocol, rest = _protocol(path)
    parts = [p for p in rest.split("/") if p]
    if not protocol and rest.startswith("/"):
        parts.insert(0, "/")
    return protocol, tuple(parts)


def join_path(protocol: Optional[str], *parts: Union[str, Iterable[str]]) -> str:
    """The inverse of :func:`split_path`; each part is a string (``"a/b"`` is two parts) or a sequence of them."""
    flat: List[str] = []
    for part in parts:
        flat.extend([part] if isinstance(part, str) else list(part))
    absolute = bool(flat) and flat[0].startswith("/")
    pieces = [p for item in flat for p in item.split("/") if p]
    if protocol:
        return f"{protocol}://" + "/".join(pieces)
    return ("/" if absolute else "") + "/".join(pieces)


def split_glob(path: str) -> Tuple[str, str]:
    """``(prefix, rest)``: the parts before the first part holding an unescaped glob character, and the rest."""
    protocol, parts = split_path(path)
    for i, part in enumerate(parts):
        if is_glob(part):
            return join_path(protocol, parts[:i]), join_path("", parts[i:])
    return path, ""


def make_relative(paths: List[str]) -> Tuple[str, List[str]]:
    """The longest common base of ``paths`` (same protocol) and each path relative to it."""
    split = [split_path(p) for p in paths]
    protocols = {protocol for protocol, _ in split}
    if len(protocols) != 1:
        raise ValueError(f"paths with different protocols: {sorted(protocols)}")
    protocol = protocols.pop()
    common = 0
    shortest = min(len(parts) for _, parts in split) if split else 0
    while common < shortest - 1 and len({parts[common] for _, parts in split}) == 1:
        common += 1
    base = join_path(protocol, split[0][1][:common]) if common else (f"{protocol}://" if protocol else "/")
    return base, [join_path("", parts[common:]) for _, parts in split]


def sub_prefix(a: str, b: str) -> str:
    """``a`` relative to ``b`` when ``b`` is a prefix of it (part by part); otherwise ``a`` unchanged."""
    protocol_a, parts_a = split_path(a)
    protocol_b, parts_b = split_path(b)
    if protocol_a != protocol_b:
        raise ValueError(f"{a!r} and {b!r} have different protocols")
    if len(parts_b) < len(parts_a) and parts_a[: len(parts_b)] == parts_b:
        return join_path("", parts_a[len(parts_b) :])
    return a


def sub_suffix(a: str, b: str) -> str:
    """``a`` without the trailing parts ``b`` (a relative path); ``a`` unchanged when it does not end with them."""
    protocol_a, parts_a = split_path(a)
    _, parts_b = split_path(b)
    if parts_b and parts_a[-len(parts_b) :] == parts_b:
        return join_path(protocol_a, parts_a[: -len(parts_b)]) or "/"
    return a


def add_suffix(a: str, b: str) -> str:
    """``a`` with the relative path ``b`` appended; ``b`` with a protocol or absolute is a ValueError."""
    protocol_b, parts_b = split_path(b)
    if protocol_b or (parts_b and parts_b[0] == "/"):
        raise ValueError(f"{b!r} is not a relative path")
    protocol_a, parts_a = split_path(a)
    return join_path(protocol_a, parts_a, parts_b)


def split_ext(path: str) -> Tuple[str, Tuple[str, ...], str]:
    """``(protocol, parts, extension)``: the extension is everything from the file name's first dot."""
    protocol, parts = split_path(path)
    if not parts:
        return protocol, parts, ""
    name, dot, ext = parts[-1].partition(".")
    return protocol, (*parts[:-1], name), dot + ext


def is_local(path: str) -> bool:
    return not _protocol(path)[0] or path.startswith("file://")


def mkdir_p(path: str) -> None:
    """Create a local folder and its parents (nothing to do on object stores)."""
    if is_local(path):
        os.makedirs(_protocol(path)[1] if path.startswith("file://") else path, exist_ok=True)


def parent(path: str) -> str:
    """The folder holding ``path`` (``s3://bucket`` for an object at the top of its bucket): Dolma's name."""
    protocol, parts = split_path(path)
    return join_path(protocol, parts[:-1])


def exists(path: str) -> bool:
    if is_s3(path):
        from dolma.core import s3  # only users of s3:// need boto3 loaded

        return s3.exists(path)
    return os.path.exists(path)


def glob_path(
    path: str, autoglob_dirs: bool = True, recursive_dirs: bool = False, yield_dirs: bool = True
) -> Iterator[str]:
    """Paths matching a glob pattern, local or ``s3://`` (Dolma's ``glob_path``): our :func:`glob_paths`, so a
    folder without a pattern yields the files below it (the flags are accepted and have no effect)."""
    yield from glob_paths(path)
