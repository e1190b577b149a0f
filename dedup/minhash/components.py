"""Step 4: connected components of the verified edges by min-label propagation, one round per stage run.

Nodes are split by ``hash(gid)`` into partitions; unit ``p`` of round ``k`` holds the labels of its nodes and the
edges leaving them. Round 0 labels every node with itself; each round takes the messages sent to its nodes in the
round before, lowers each label to the smallest one received, and sends every node whose label dropped its new label
along its edges (messages are grouped by the destination's partition, one file per pair of partitions). Rounds are
synchronous (a round reads only files of the round before), so the labels do not depend on timing; when a round
lowers no label, every node carries the smallest gid of its component. No unit ever holds more than its partition.
"""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from dolma.core.units import Progress
from dolma.dedup.minhash.common import Step, blob, partition_of
from dolma.dedup.minhash.store import read_blob

__all__ = ["PropagateStep"]


def _min_by(node: np.ndarray, label: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The smallest label per distinct node."""
    if not len(node):
        return node, label
    order = np.lexsort((label, node))
    node, label = node[order], label[order]
    first = np.ones(len(node), dtype=bool)
    first[1:] = node[1:] != node[:-1]
    return node[first], label[first]


class PropagateStep(Step):
    def __init__(self, config, layout, digest, round_: int) -> None:
        self.round = round_
        self.step = f"propagate-{round_:03d}"
        super().__init__(config, layout, digest, config.dedupe.minhash.partitions)

    def unit_outputs(self, i: int) -> Tuple[str, ...]:
        P = self.m.partitions
        return (self.layout.labels(self.round, i),) + tuple(self.layout.messages(self.round, t, i) for t in range(P))

    def work(self, i: int, progress: Progress) -> Tuple[Dict[str, bytes], Dict[str, int]]:
        P = self.m.partitions
        src_parts, dst_parts = [], []
        for q in range(P):
            arrays, _ = read_blob(self.layout.adjacency(i, q))
            src_parts.append(arrays["src"])
            dst_parts.append(arrays["dst"])
        src = np.concatenate(src_parts)
        dst = np.concatenate(dst_parts)
        if self.round == 0:
            nodes = np.unique(src)
            labels = nodes.copy()
            changed = np.ones(len(nodes), dtype=bool)
        else:
            prev, _ = read_blob(self.layout.labels(self.round - 1, i))
            nodes, old = prev["node"], prev["label"]
            m_node, m_label = [], []
            for frm in range(P):
                arrays, _ = read_blob(self.layout.messages(self.round - 1, i, frm))
                m_node.append(arrays["node"])
                m_label.append(arrays["label"])
            got_node, got_label = _min_by(np.concatenate(m_node), np.concatenate(m_label))
            labels = old.copy()
            at = np.searchsorted(nodes, got_node)
            labels[at] = np.minimum(labels[at], got_label)
            changed = labels < old
        # every edge whose source changed carries the source's new label to its destination
        row = np.searchsorted(nodes, src)
        send = changed[row] if len(src) else np.zeros(0, dtype=bool)
        out_node, out_label = _min_by(dst[send], labels[row[send]])
        files: Dict[str, bytes] = {self.layout.labels(self.round, i): blob(node=nodes, label=labels)}
        part = partition_of(out_node, P)
        for t in range(P):
            mine = part == t
            files[self.layout.messages(self.round, t, i)] = blob(node=out_node[mine], label=out_label[mine])
        progress.update(docs=len(nodes))
        return files, {"nodes": int(len(nodes)), "labels_changed": int(changed.sum()), "messages": int(len(out_node))}
