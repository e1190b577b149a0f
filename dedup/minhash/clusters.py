"""Step 5: clusters and their keepers. Unit ``q`` gathers the components whose label falls in partition ``q``
(from every label partition of the last round), picks each one's keeper (the smallest keeper key, see
:mod:`~dolma.dedup.minhash.order`), and measures every member's true Jaccard similarity to the keeper.

A chain of pairwise near-duplicates can join documents that share little, so a component is not trusted as a whole.
With ``verify_keeper`` (the default) it is split into stars, deterministically: its members in keeper order, the
first one keeps every remaining member at ``threshold`` or more from it, and the rest start again; a member left
alone is unclustered. A component larger than ``max_cluster_size`` forms only its first star (the rest stay
unclustered) and is listed in the summary; without ``verify_keeper`` a component below the cap is one cluster.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

from dolma.core.units import Progress
from dolma.dedup.minhash.common import SignatureReader, Step, blob, jaccard, partition_of
from dolma.dedup.minhash.store import read_blob

__all__ = ["ClusterStep", "TOP_CLUSTERS"]

TOP_CLUSTERS = 10
"""Largest clusters each unit lists in its summary."""


class ClusterStep(Step):
    step = "clusters"

    def __init__(self, config, layout, digest, final_round: int) -> None:
        super().__init__(config, layout, digest, config.dedupe.minhash.partitions)
        self.final_round = final_round

    def unit_outputs(self, i: int) -> Tuple[str, ...]:
        return (self.layout.clusters(i),)

    def work(self, i: int, progress: Progress) -> Tuple[Dict[str, bytes], Dict[str, int]]:
        P = self.m.partitions
        nodes, labels = [], []
        for p in range(P):
            arrays, _ = read_blob(self.layout.labels(self.final_round, p))
            mine = partition_of(arrays["label"], P) == i
            nodes.append(arrays["node"][mine])
            labels.append(arrays["label"][mine])
        node = np.concatenate(nodes)
        label = np.concatenate(labels)
        order = np.lexsort((node, label))
        node, label = node[order], label[order]
        shingles, keys = SignatureReader(self.layout).load(node.tolist())
        cuts = np.flatnonzero(np.diff(label)) + 1 if len(label) else np.zeros(0, np.int64)
        bounds = [0, *cuts.tolist(), len(label)] if len(label) else [0]
        out_gid: List[int] = []
        out_cluster: List[int] = []
        out_size: List[int] = []
        out_sim: List[float] = []
        hist: Dict[str, int] = {}
        top: List[List[Any]] = []
        capped: List[List[int]] = []
        members_total = 0
        for a, b in zip(bounds[:-1], bounds[1:]):
            members = sorted(node[a:b].tolist(), key=lambda g: keys[g])
            found = len(members)
            if found > self.m.max_cluster_size:
                stars = [self._star(members, shingles)[0]]
                capped.append([members[0], found, len(stars[0])])
            elif self.m.verify_keeper:
                stars = []
                while len(members) > 1:
                    star, members = self._star(members, shingles)
                    stars.append(star)
            else:
                keeper = members[0]
                stars = [[(g, 1.0 if g == keeper else jaccard(shingles[g], shingles[keeper])) for g in members]]
            for star in stars:
                size = len(star)
                if size < 2:
                    continue
                keeper = star[0][0]
                members_total += size
                hist[str(size)] = hist.get(str(size), 0) + 1
                top.append([size, keeper, found])
                for g, sim in star:
                    out_gid.append(g)
                    out_cluster.append(keeper)
                    out_size.append(size)
                    out_sim.append(sim)
        top.sort(key=lambda t: (-t[0], t[1]))
        gid = np.asarray(out_gid, dtype=np.uint64)
        sort = np.argsort(gid, kind="stable")
        cluster = np.asarray(out_cluster, dtype=np.uint64)
        files = {self.layout.clusters(i): blob(
            gid=gid[sort], cluster=cluster[sort],
            size=np.asarray(out_size, dtype=np.int64)[sort], similarity=np.asarray(out_sim, dtype=np.float64)[sort],
            meta={"histogram": hist, "largest": top[:TOP_CLUSTERS], "capped": capped},
        )}
        progress.update(docs=len(node))
        return files, {"clusters": len(top), "documents_clustered": members_total,
                       "duplicates": members_total - len(top), "clusters_capped": len(capped)}

    def _star(self, members: List[int], shingles: Dict[int, np.ndarray]) -> Tuple[List[Tuple[int, float]], List[int]]:
        """The first of ``members`` (in keeper order) with every other member at ``threshold`` or more from it, and
        the members left over, in order."""
        keeper = members[0]
        star: List[Tuple[int, float]] = [(keeper, 1.0)]
        rest: List[int] = []
        for g in members[1:]:
            sim = jaccard(shingles[g], shingles[keeper])
            if sim >= self.m.threshold:
                star.append((g, sim))
            else:
                rest.append(g)
        return star, rest
