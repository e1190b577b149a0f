"""What every MinHash step shares: where its files live (:class:`Layout`), the step base class, and reading the
shingle sets and keeper keys of given documents back from the signature files (:class:`SignatureReader`).

A document's global id (gid) is ``file index << 32 | line index`` (0-based, files in input order), so ids are
deterministic and a gid says which signature file holds the document.
"""

from __future__ import annotations

import hashlib
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import msgspec
import numpy as np

from dolma.core.outputs import UnitOutputs
from dolma.core.paths import join
from dolma.core.units import Progress, Stage, WorkUnit
from dolma.dedup.config import DedupeConfig, MinHashConfig
from dolma.dedup.minhash.hashing import distinct, mix64
from dolma.dedup.minhash.store import pack, read_blob, read_done, write_done

__all__ = ["Layout", "Step", "SignatureReader", "partition_of", "file_of", "settings_digest", "jaccard"]

LINE_BITS = np.uint64(32)


def file_of(gid: np.ndarray) -> np.ndarray:
    return (gid >> LINE_BITS).astype(np.int64)


def partition_of(values: np.ndarray, partitions: int) -> np.ndarray:
    """The hash partition of each uint64 value (node, label or edge)."""
    return (mix64(values.astype(np.uint64) ^ np.uint64(0x5DEECE66D)) % np.uint64(partitions)).astype(np.int64)


def settings_digest(config: DedupeConfig, files: Sequence[str]) -> str:
    """What decides every intermediate file: the MinHash settings, the error policy and the inputs in order."""
    m = config.dedupe.minhash
    assert m is not None
    settings = {k: v for k, v in msgspec.to_builtins(m).items() if k not in ("attribute_name", "state_dir")}
    body = msgspec.json.encode({"minhash": settings, "on_error": config.on_error, "inputs": list(files),
                                "max_document_bytes": config.max_document_bytes}, order="sorted")
    return hashlib.sha256(body).hexdigest()


REFERENCE = 1 << 63
"""Set in the gid of a document of the reference run (``dedupe.minhash.reference``)."""


class Layout:
    """The state folder's files; ``f`` a file index, ``p``/``q`` partitions, ``k`` a propagation round. A run
    against an earlier one (``reference``) also reads that run's signature and band files (``reference_files`` of
    them)."""

    def __init__(self, root: str, reference: "Optional[Layout]" = None, reference_files: int = 0) -> None:
        self.root = root.rstrip("/")
        self.reference = reference
        self.reference_files = reference_files

    def _p(self, *parts: str) -> str:
        return join(self.root, *parts)

    def signatures(self, f: int) -> str:
        return self._p("signatures", f"{f:06d}.bin")

    def bands(self, p: int, f: int) -> str:
        return self._p("bands", f"{p:04d}", f"{f:06d}.bin")

    def candidates(self, q: int, p: int) -> str:
        return self._p("candidates", f"{q:04d}", f"{p:04d}.bin")

    def adjacency(self, p: int, q: int) -> str:
        return self._p("adjacency", f"{p:04d}", f"{q:04d}.bin")

    def labels(self, k: int, p: int) -> str:
        return self._p("labels", f"{k:03d}", f"{p:04d}.bin")

    def messages(self, k: int, to: int, frm: int) -> str:
        return self._p("messages", f"{k:03d}", f"{to:04d}", f"{frm:04d}.bin")

    def clusters(self, q: int) -> str:
        return self._p("clusters", f"{q:04d}.bin")

    def done(self, step: str, unit: int) -> str:
        return self._p("done", step, f"{unit:06d}.json")

    def summary(self) -> str:
        return self._p("summary.json")


class Step(Stage[int]):
    """One MinHash step: unit ``i`` computes its arrays (:meth:`work`), publishes all its files at once, then
    records that it is done (with its counts) in the state folder. Units are numbered; the payload is the number."""

    step = "step"

    def __init__(self, config: DedupeConfig, layout: Layout, digest: str, count: int) -> None:
        m = config.dedupe.minhash
        assert m is not None
        self.config = config
        self.m: MinHashConfig = m
        self.layout = layout
        self.digest = digest
        self.count = count
        self.name = f"dedupe (minhash {self.step})"

    def unit_inputs(self, i: int) -> Tuple[str, ...]:
        return ()

    def unit_outputs(self, i: int) -> Tuple[str, ...]:
        return ()

    def units(self) -> List[WorkUnit[int]]:
        return [
            WorkUnit(key=f"{self.step} {i}", payload=i, inputs=self.unit_inputs(i),
                     outputs=self.unit_outputs(i) + (self.layout.done(self.step, i),))
            for i in range(self.count)
        ]

    def is_done(self, unit: WorkUnit[int]) -> bool:
        return read_done(self.layout.done(self.step, unit.payload), self.digest) is not None

    def counts_of(self, i: int) -> Dict[str, int]:
        return read_done(self.layout.done(self.step, i), self.digest) or {}

    def run(self, unit: WorkUnit[int], progress: Progress) -> Dict[str, int]:
        files, counts = self.work(unit.payload, progress)
        with UnitOutputs(self.name, self.config) as out:
            for path, body in files.items():
                out.open(path).write(body)
        write_done(self.layout.done(self.step, unit.payload), self.digest, counts)
        return counts

    def work(self, i: int, progress: Progress) -> Tuple[Dict[str, bytes], Dict[str, int]]:
        """The files unit ``i`` publishes (path → bytes) and its counts."""
        raise NotImplementedError


class SignatureReader:
    """Shingle sets (sorted, distinct) and keeper keys of chosen documents, read file by file from the signature
    files. A reference run's documents come first in keeper order (their keys start with 0x00, the others' 0x01):
    what was released before is kept."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def load(self, gids: Iterable[int]) -> Tuple[Dict[int, np.ndarray], Dict[int, bytes]]:
        wanted = np.unique(np.fromiter(gids, dtype=np.uint64))
        shingles: Dict[int, np.ndarray] = {}
        keys: Dict[int, bytes] = {}
        files = file_of(wanted)
        ref_file = REFERENCE >> 32
        for f in np.unique(files).tolist():
            if f >= ref_file:
                assert self.layout.reference is not None
                arrays, _ = read_blob(self.layout.reference.signatures(f - ref_file))
            else:
                arrays, _ = read_blob(self.layout.signatures(f))
            prefix = b"\x00" if f >= ref_file else b"\x01"
            lines = arrays["lines"]
            sh_end = np.cumsum(arrays["nsh"])
            key_end = arrays["key_ends"]
            blob = arrays["keys"].tobytes()
            mine = wanted[files == f]
            rows = np.searchsorted(lines, (mine & np.uint64(0xFFFFFFFF)).astype(np.int64))
            for gid, row in zip(mine.tolist(), rows.tolist()):
                s0 = int(sh_end[row - 1]) if row else 0
                shingles[gid] = distinct(arrays["shingles"][s0 : int(sh_end[row])])
                k0 = int(key_end[row - 1]) if row else 0
                keys[gid] = prefix + blob[k0 : int(key_end[row])]
        return shingles, keys


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """True Jaccard similarity of two sorted sets of distinct shingle hashes."""
    if not len(a) or not len(b):
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    at = np.searchsorted(b, a)
    at[at == len(b)] = 0
    inter = int(np.count_nonzero(b[at] == a))
    return inter / (len(a) + len(b) - inter)


def blob(**arrays: Any) -> bytes:
    meta = arrays.pop("meta", None)
    return pack(arrays, meta)
