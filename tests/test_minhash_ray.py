"""MinHash dedupe on a Ray cluster of three nodes (one machine) gives the same attribute bytes as a local run."""

from __future__ import annotations

import os
from typing import Any, Iterator

import pytest

from dolma.cli import main
from tests.test_minhash import _bytes, _corpus

ray = pytest.importorskip("ray", reason="the ray extra is part of the dev install")


@pytest.fixture(scope="module")
def three_nodes() -> Iterator[str]:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster.address
    if ray.is_initialized():
        ray.shutdown()
    cluster.shutdown()


def test_minhash_on_a_three_node_ray_cluster_matches_local_bytes(tmp_path: Any, three_nodes: str) -> None:
    local, remote = str(tmp_path / "local"), str(tmp_path / "ray")
    _corpus(local)
    _corpus(remote)
    args = ["dedupe", "--dedupe.name", "near", "--dedupe.minhash.partitions", "3"]
    assert main(args + ["--documents", f"{local}/documents/*.jsonl.gz"]) == 0
    assert main(args + ["--documents", f"{remote}/documents/*.jsonl.gz", "--processes", "3",
                        "--executor.backend", "ray", "--executor.address", three_nodes]) == 0
    assert ray.is_initialized() is False  # the command disconnected
    assert len([n for n in os.listdir(f"{remote}/attributes/near") if n.endswith(".jsonl.gz")]) == 3
    assert _bytes(local) == _bytes(remote)
