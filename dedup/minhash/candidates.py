"""Steps 2 and 3: band buckets to candidate edges, candidate edges to verified edges.

Bucket unit ``p`` sorts the band keys of partition ``p`` from every file by (key, gid) and joins each document to
the next one of the same bucket and to the bucket's first one: a bucket of ``k`` documents gives at most
``2k - 3`` edges, never ``k²``. (The second edge keeps a document that fails verification against its neighbour from
cutting the bucket in two.) Edges go to
verification partition ``hash(edge)``, so an edge found in several bands is verified once.

With ``dedupe.minhash.reference``, the reference run's band keys join every bucket, so new documents meet the
documents it saw.

Verify unit ``q`` computes the true Jaccard similarity of each of its candidate edges' shingle sets and keeps those
at ``threshold`` or more, written in both directions to the adjacency partition of their source node.
"""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from dolma.core.units import Progress
from dolma.dedup.minhash.common import REFERENCE, Step, SignatureReader, blob, jaccard, partition_of
from dolma.dedup.minhash.hashing import mix64
from dolma.dedup.minhash.store import read_blob

__all__ = ["BucketStep", "VerifyStep", "unique_edges"]


def unique_edges(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Distinct (a, b) pairs, sorted."""
    if not len(a):
        return a, b
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[keep], b[keep]


def _split(files: Dict[str, bytes], paths, part: np.ndarray, count: int, **columns: np.ndarray) -> None:
    sort = np.argsort(part, kind="stable")
    cuts = np.searchsorted(part[sort], np.arange(count + 1))
    for p in range(count):
        rows = sort[cuts[p] : cuts[p + 1]]
        files[paths(p)] = blob(**{name: col[rows] for name, col in columns.items()})


class BucketStep(Step):
    step = "buckets"

    def __init__(self, config, layout, digest, files: int) -> None:
        super().__init__(config, layout, digest, config.dedupe.minhash.partitions)
        self.files = files

    def unit_inputs(self, i: int) -> Tuple[str, ...]:
        ref = self.layout.reference
        return tuple(ref.bands(i, f) for f in range(self.layout.reference_files)) if ref is not None else ()

    def unit_outputs(self, i: int) -> Tuple[str, ...]:
        return tuple(self.layout.candidates(q, i) for q in range(self.m.partitions))

    def work(self, i: int, progress: Progress) -> Tuple[Dict[str, bytes], Dict[str, int]]:
        keys, gids = [], []
        for f in range(self.files):
            arrays, _ = read_blob(self.layout.bands(i, f))
            keys.append(arrays["key"])
            gids.append(arrays["gid"])
        for path in self.unit_inputs(i):  # the reference run's documents, marked as such
            arrays, _ = read_blob(path)
            keys.append(arrays["key"])
            gids.append(arrays["gid"] | np.uint64(REFERENCE))
        key = np.concatenate(keys)
        gid = np.concatenate(gids)
        order = np.lexsort((gid, key))
        key, gid = key[order], gid[order]
        same = key[1:] == key[:-1]
        # each document's bucket head: the first row of its run of equal keys
        head = np.maximum.accumulate(np.where(np.concatenate([[True], ~same]), np.arange(len(key)), 0)) if len(key) else key
        later = np.flatnonzero(np.concatenate([[False], same]))
        far = later[head[later] != later - 1]
        a, b = unique_edges(np.concatenate([gid[:-1][same], gid[head[far]]]), np.concatenate([gid[1:][same], gid[far]]))
        part = partition_of(a ^ mix64(b), self.m.partitions)
        files: Dict[str, bytes] = {}
        _split(files, lambda q: self.layout.candidates(q, i), part, self.m.partitions, a=a, b=b)
        progress.update(docs=len(key))
        return files, {"band_keys": int(len(key)), "candidate_edges": int(len(a))}


class VerifyStep(Step):
    step = "verify"

    def unit_outputs(self, i: int) -> Tuple[str, ...]:
        return tuple(self.layout.adjacency(p, i) for p in range(self.m.partitions))

    def work(self, i: int, progress: Progress) -> Tuple[Dict[str, bytes], Dict[str, int]]:
        a_parts, b_parts = [], []
        for p in range(self.m.partitions):
            arrays, _ = read_blob(self.layout.candidates(i, p))
            a_parts.append(arrays["a"])
            b_parts.append(arrays["b"])
        a, b = unique_edges(np.concatenate(a_parts), np.concatenate(b_parts))
        shingles, _ = SignatureReader(self.layout).load(np.concatenate([a, b]).tolist())
        sims = np.fromiter((jaccard(shingles[x], shingles[y]) for x, y in zip(a.tolist(), b.tolist())),
                           dtype=np.float64, count=len(a))
        ok = sims >= self.m.threshold
        src = np.concatenate([a[ok], b[ok]])
        dst = np.concatenate([b[ok], a[ok]])
        files: Dict[str, bytes] = {}
        _split(files, lambda p: self.layout.adjacency(p, i), partition_of(src, self.m.partitions),
               self.m.partitions, src=src, dst=dst)
        progress.update(docs=len(a))
        return files, {"candidates_verified": int(len(a)), "edges_kept": int(ok.sum()),
                       "edges_rejected": int((~ok).sum())}
