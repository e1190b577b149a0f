"""Reading a release's lineage: the rows of one id (one bucket file), a line of one file, the rows of one token
index, and the removals recorded since the index was built, applied on top of its positions.

Every lookup reads a bounded number of small files: an id costs one bucket of the index (and one more per sampled
copy), a token offset one token index file, a source line the documents file up to that line.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import msgspec

from dolma.core import io as dio
from dolma.core.errors import InputError
from dolma.core.manifest import FileEntry
from dolma.core.paths import glob_paths, join
from dolma.release.lineage import LineageIndex, copy_id, fetch_text, bucket_of, bucket_path, read_index, relative_to

__all__ = [
    "REMOVALS_DIR", "TokenRange", "RemovedLine", "ChangedFile", "Removal", "read_removals", "Lineage", "Decision",
    "Output", "read_line", "token_rows", "resolve", "documents_manifest",
]

REMOVALS_DIR = "removals"


class TokenRange(msgspec.Struct):
    file: str
    start: int
    end: int


class RemovedLine(msgspec.Struct):
    id: str
    base_id: str
    shard: str
    line: int
    bytes: int
    tokens: List[TokenRange]


class ChangedFile(msgspec.Struct):
    path: str
    before: Optional[FileEntry]
    after: Optional[FileEntry]


class Removal(msgspec.Struct, kw_only=True):
    """``removals/NNNN.json``: what one `dolma remove` took out of the release (positions as they were before it)."""

    number: int
    created: str
    reason: str
    requested: List[str]
    documents: List[str]
    """The documents removed (ids as read by the mix; each with all its output lines)."""
    not_in_output: Dict[str, str]
    """Requested ids the release holds no output line of, with why (dropped by the mix, removed before)."""
    lines: List[RemovedLine]
    files: List[ChangedFile]
    release_before: FileEntry
    format: int = 1


def read_removals(root: str) -> List[Removal]:
    found = sorted(glob_paths(join(root, REMOVALS_DIR, "*.json")))
    return [msgspec.json.decode(fetch_text(p), type=Removal) for p in found]


def resolve(root: str, rel: str) -> str:
    """A release-relative path (or an outside one, kept as it was recorded) as a path to read."""
    return rel if rel.startswith("/") or "://" in rel else join(root, rel)


def read_line(path: str, line: int) -> bytes:
    """Line ``line`` (1-based) of ``path``, decompressed; reads the file only up to it."""
    with dio.open_read(path) as f:
        for n, raw in enumerate(f, start=1):
            if n == line:
                return raw.rstrip(b"\n")
    raise InputError(path, line, "no such line")


def token_rows(path: str) -> List[Tuple[int, int, str, str, int]]:
    """The rows ``start,end,id,src,loc`` of a token index file."""
    text = fetch_text(path).decode("utf-8", "surrogateescape")
    return [(int(r[0]), int(r[1]), r[2], r[3], int(r[4])) for r in csv.reader(io.StringIO(text))]


@dataclass
class Decision:
    id: str
    stream: str
    source: str
    line: int
    decision: str
    copies: int


@dataclass
class Output:
    id: str
    base_id: str
    shard: str
    line: int
    tokens: List[TokenRange] = field(default_factory=list)
    removed_by: Optional[int] = None  # the removal that took it out


class _Shifts:
    """One removal's positions, to carry a position recorded before it to after it."""

    def __init__(self, removal: Removal) -> None:
        self.number = removal.number
        self.lines: Dict[str, List[int]] = {}
        self.tokens: Dict[str, List[Tuple[int, int]]] = {}
        for r in removal.lines:
            self.lines.setdefault(r.shard, []).append(r.line)
            for t in r.tokens:
                self.tokens.setdefault(t.file, []).append((t.start, t.end))
        for v in self.lines.values():
            v.sort()
        self.cumulative: Dict[str, Tuple[List[int], List[int]]] = {}
        for name, ranges in self.tokens.items():
            ranges.sort()
            starts = [s for s, _ in ranges]
            total, sums = 0, []
            for s, e in ranges:
                total += e - s
                sums.append(total)
            self.cumulative[name] = (starts, sums)

    def line(self, shard: str, line: int) -> Optional[int]:
        removed = self.lines.get(shard)
        if not removed:
            return line
        i = bisect.bisect_left(removed, line)
        if i < len(removed) and removed[i] == line:
            return None
        return line - i

    def token(self, t: TokenRange) -> Optional[TokenRange]:
        found = self.cumulative.get(t.file)
        if not found:
            return t
        starts, sums = found
        i = bisect.bisect_left(starts, t.start)
        if i < len(starts) and starts[i] == t.start:
            return None
        shift = sums[i - 1] if i else 0
        return TokenRange(t.file, t.start - shift, t.end - shift)


class Lineage:
    """A release's lineage index with its removals applied; buckets are read once each."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        self.index: LineageIndex = read_index(self.root)
        self.removals = read_removals(self.root)
        self._shifts = [_Shifts(r) for r in self.removals]
        self._removed_docs: Dict[str, int] = {d: r.number for r in self.removals for d in r.documents}
        self._buckets: Dict[int, List[List[str]]] = {}
        self.reads = 0  # files read, for the record

    def relative(self, path: str) -> str:
        """A path as the index names it (relative to the release), from a path to it or as a stage recorded it."""
        for root in (self.root, self.index.root):
            rel = relative_to(root, path)
            if rel != path:
                return rel
        return path

    def rows(self, doc_id: str) -> List[List[str]]:
        b = bucket_of(doc_id, self.index.buckets)
        if b not in self._buckets:
            text = fetch_text(bucket_path(self.root, b)).decode("utf-8", "surrogateescape")
            self.reads += 1
            self._buckets[b] = list(csv.reader(io.StringIO(text)))
        return [r for r in self._buckets[b] if r[1] == doc_id]

    def decisions(self, doc_id: str) -> List[Decision]:
        return [Decision(r[1], r[2], r[3], int(r[4]), r[5], int(r[6])) for r in self.rows(doc_id) if r[0] == "D"]

    def removed_by(self, doc_id: str) -> Optional[int]:
        return self._removed_docs.get(doc_id)

    def outputs(self, decision: Decision) -> List[Output]:
        """The output lines of a kept document (each sampled copy), with their token ranges, as they are now."""
        found: List[Output] = []
        shard_name = re.compile(re.escape(decision.stream) + r"-\d{4,}\.[^/]*")
        for k in range(decision.copies):
            copy = copy_id(decision.id, k)
            rows = self.rows(copy)
            for r in rows:
                if r[0] != "O" or r[2] != decision.id or not shard_name.fullmatch(r[3].rsplit("/", 1)[-1]):
                    continue
                shard, line = r[3], int(r[4])
                tokens = [TokenRange(t[2], int(t[3]), int(t[4])) for t in rows
                          if t[0] == "T" and t[5] == shard and int(t[6]) == line]
                found.append(self.current(Output(copy, decision.id, shard, line, sorted(tokens, key=_token_order))))
        return found

    def current(self, out: Output) -> Output:
        """``out`` carried through the removals since the index was built."""
        for shifts in self._shifts:
            line = shifts.line(out.shard, out.line)
            if line is None:
                out.removed_by = shifts.number
                return out
            out.line = line
            out.tokens = [t for t in (shifts.token(t) for t in out.tokens) if t is not None]
        return out


def _token_order(t: TokenRange) -> Tuple[str, int]:
    return t.file, t.start


def documents_manifest(path: str) -> Optional[Dict[str, Any]]:
    """The manifest of the stage that wrote documents file ``path`` (beside it), if it can be found in a few reads."""
    candidates = [path + ".manifest.json"]
    folder = path.rsplit("/", 1)[0]
    candidates += [p for p in glob_paths(join(folder, "*.manifest.json"))[:64] if p not in candidates]
    name = path.rsplit("/", 1)[-1]
    for candidate in candidates:
        if not dio.exists(candidate):
            continue
        manifest = msgspec.json.decode(fetch_text(candidate))
        if any(o.get("path", "").rsplit("/", 1)[-1] == name for o in manifest.get("outputs", [])):
            return manifest
    return None
