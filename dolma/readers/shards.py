"""Bounded-size documents shards and id logs for one work unit, all published atomically.

A unit writes ``<destination>/documents/<stem>-0000.jsonl.gz``, ``-0001`` ... and closes a shard once it holds
``max_size_in_bytes`` of JSON lines. Each shard is a file of the unit's :class:`~dolma.core.outputs.UnitOutputs`,
so nobody sees half a shard; if the unit fails, the shards it already published are removed again, and the unit's
manifest (written last) is what marks it done.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Tuple

import msgspec
import numpy as np
import xxhash

from dolma.core import io as dio
from dolma.core.manifest import MANIFEST_SUFFIX
from dolma.core.outputs import UnitOutputs
from dolma.core.paths import join

__all__ = ["ShardedWriter", "IdLog", "UnitPaths", "count_duplicates_across", "EXTENSIONS"]

log = logging.getLogger("dolma")

EXTENSIONS = {"gzip": ".jsonl.gz", "zstd": ".jsonl.zst", "none": ".jsonl"}
_ENCODER = msgspec.json.Encoder()


class UnitPaths(msgspec.Struct, frozen=True):
    """Where one unit's files go, from its ``stem`` (a relative path without extension)."""

    destination: str
    stem: str
    compression: str = "gzip"

    def shard(self, index: int) -> str:
        return join(self.destination, "documents", f"{self.stem}-{index:04d}{EXTENSIONS[self.compression]}")

    @property
    def manifest(self) -> str:
        return join(self.destination, "documents", self.stem + MANIFEST_SUFFIX)

    @property
    def quarantine(self) -> str:
        return join(self.destination, "quarantine", self.stem + ".jsonl.gz")

    @property
    def ids(self) -> str:
        return join(self.destination, "ids", self.stem + ".u64")

    def outputs(self) -> Tuple[str, ...]:
        """A file in each folder this unit writes to (where an interrupted run's temporary files are looked for)."""
        return (self.shard(0), self.manifest, self.quarantine, self.ids)


class ShardedWriter:
    """Documents into consecutive shards of the unit's ``files``, each published as soon as it is full."""

    def __init__(self, files: UnitOutputs, paths: UnitPaths, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError("max_size_in_bytes must be positive")
        self.files = files
        self.paths = paths
        self.max_bytes = max_bytes
        self.bytes_out = 0
        self._current: Optional[dio.AtomicWriter] = None
        self._current_bytes = 0
        self._done: List[str] = []

    def write_docs(self, docs: List[Dict[str, Any]]) -> None:
        if not docs:
            return
        data = _ENCODER.encode_lines(docs)
        if self._current_bytes + len(data) <= self.max_bytes:
            self._write(data)
            return
        for doc in docs:  # this batch crosses a shard boundary: place it document by document
            line = _ENCODER.encode_lines([doc])
            if self._current_bytes and self._current_bytes + len(line) > self.max_bytes:
                self._roll()
            self._write(line)

    def _write(self, data: bytes) -> None:
        if self._current is None:
            self._current = self.files.open(self.paths.shard(len(self._done)))
            self._current_bytes = 0
        self._current.write(data)
        self._current_bytes += len(data)
        self.bytes_out += len(data)
        if self._current_bytes >= self.max_bytes:
            self._roll()

    def _roll(self) -> None:
        if self._current is None:
            return
        self.files.commit(self._current.path)
        self._done.append(self._current.path)
        self._current = None

    def close(self) -> List[str]:
        """Publish the last shard; the unit's shards in order (none when it had no documents)."""
        self._roll()
        return list(self._done)


class IdLog:
    """64-bit hashes of a unit's ids (8 bytes per document): duplicates within the unit are counted at the end,
    and the sorted hashes are kept in ``<destination>/ids/`` so the run can count duplicates across units."""

    def __init__(self) -> None:
        self._parts: List[np.ndarray] = []

    def add(self, docs: List[Dict[str, Any]]) -> None:
        if docs:
            h = xxhash.xxh3_64_intdigest
            self._parts.append(np.fromiter((h(d["id"].encode("utf-8", "surrogatepass")) for d in docs), np.uint64, len(docs)))

    def finish(self) -> tuple[bytes, int]:
        """The sorted, distinct hashes as little-endian bytes, and how many documents repeated an earlier id."""
        if not self._parts:
            return b"", 0
        hashes = np.sort(np.concatenate(self._parts))
        distinct = np.unique(hashes)
        return distinct.astype("<u8").tobytes(), int(hashes.size - distinct.size)


def count_duplicates_across(id_files: List[str]) -> int:
    """Documents whose id also occurs in another unit (each unit's own repeats are already counted). Holds 8
    bytes per distinct id per unit in memory, in the parent process."""
    parts = [np.frombuffer(dio.read_bytes(p), dtype="<u8") for p in id_files if dio.exists(p)]
    if len(parts) < 2:
        return 0
    hashes = np.sort(np.concatenate(parts))
    return int(hashes.size - np.unique(hashes).size)
