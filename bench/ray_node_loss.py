"""Tag, one-pass partitioned dedupe and mix on a 3-node Ray cluster on this machine, losing a node mid-run.

    python bench/ray_node_loss.py [--files 12] [--docs 300] [--keep DIR]

Starts a cluster with ``ray.cluster_utils.Cluster``: a head node and two worker nodes, each with its own raylet,
object store and workers. Each stage runs first locally (the reference bytes), then on the cluster as a separate
driver process (``dolma <stage> -c ...`` with ``executor.address``); as soon as the stage has published its first
output, one worker node is removed without warning (its raylet, object store and workers are killed); a fresh
node joins before the next stage. Then, for dedupe and tag, the driver process itself is killed (``SIGKILL``) mid-run and the command is
run again. Every case prints whether the command finished, whether a rerun was needed, and whether every output is
byte-identical to the local run's. Not a unit test: a Ray cluster of three nodes takes a minute to start here.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.conftest import write_documents  # noqa: E402

WORDS = "the of and to in is was for on that with as by at from his her which this an be or are had not but".split()


def _corpus(root: str, files: int, docs: int) -> None:
    rng = random.Random(0)
    shared = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40))) for _ in range(200)]
    for f in range(files):
        rows = []
        for d in range(docs):
            paras = [rng.choice(shared) if rng.random() < 0.3 else
                     " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60))) for _ in range(rng.randint(1, 12))]
            rows.append({"id": f"{f}-{d}", "text": "\n".join(paras), "source": "bench"})
        write_documents(f"{root}/documents/part-{f:02d}.jsonl.gz", rows)


def _configs(root: str, out: str, backend: str, address: Optional[str]) -> Dict[str, dict]:
    executor = {"backend": backend, **({"address": address, "max_retries": 5} if address else {})}
    common = {"processes": 3 if backend == "ray" else 2, "executor": executor}
    return {
        "tag": {"documents": [f"{root}/documents/*.gz"], "experiment": "q",
                "taggers": ["char_length_v1", "whitespace_tokenizer_v1", "gopher_v1"], **common},
        "dedupe": {"documents": [f"{root}/documents/*.gz"],
                   "dedupe": {"name": "dup", "paragraphs": {"attribute_name": "dup"}, "num_partitions": 2,
                              "one_pass": True},
                   "bloom_filter": {"file": f"{out}/bloom/filter.bin", "estimated_doc_count": 100000,
                                    "desired_false_positive_rate": 0.0001}, **common},
        "mix": {"streams": [{"name": "s", "documents": [f"{root}/documents/*.gz"], "attributes": ["q", "dup_0", "dup_1"],
                             "filter": {"exclude": ["$.attributes[?(@.q__gopher_v1__word_count[0][2] < 20)]"]},
                             "span_replacement": [{"span": f"$.attributes.dup_{p}", "min_score": 0.5,
                                                   "replacement": ""} for p in range(2)],
                             "output": {"path": f"{out}/mix", "max_size_in_bytes": 200000}}], **common},
    }


def _outputs(root: str, out: str) -> Dict[str, bytes]:
    files = glob.glob(f"{root}/attributes/*/*") + glob.glob(f"{out}/mix/*") + glob.glob(f"{out}/bloom/*")
    result = {}
    for path in sorted(files):
        if path.endswith(".manifest.json") or os.path.isdir(path):
            continue
        rel = os.path.relpath(path, root if path.startswith(root) else out)
        with open(path, "rb") as f:
            result[rel] = f.read()
    return result


def _run(stage: str, config: dict, folder: str, on_start: Optional[Callable[[subprocess.Popen], None]] = None) -> int:
    path = os.path.join(folder, f"{stage}.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    proc = subprocess.Popen([sys.executable, "-m", "dolma.cli", "-c", path, stage], cwd="/tmp",
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(folder, f"{stage}.log"), "ab"))
    if on_start:
        on_start(proc)
    return proc.wait()


def _first_output(patterns: List[str], timeout: float = 300) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(glob.glob(p) for p in patterns):
            return True
        time.sleep(0.05)
    return False


WATCH = {"tag": ["{root}/attributes/q/*.gz"], "dedupe": ["{root}/dedupe_keys/*/*/*.layout"], "mix": ["{out}/mix/*.gz"]}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--keep", default=None, help="work here and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    import ray
    from ray.cluster_utils import Cluster

    work = args.keep or tempfile.mkdtemp(prefix="ray-node-loss-")
    root, out = f"{work}/corpus", f"{work}/out"
    _corpus(root, args.files, args.docs)
    # the reference: every stage locally
    local = _configs(root, out, "local", None)
    for stage in ("tag", "dedupe", "mix"):
        assert _run(stage, local[stage], work) == 0, f"local {stage} failed: see {work}/{stage}.log"
    reference = _outputs(root, out)

    def reset() -> None:
        shutil.rmtree(f"{root}/attributes", ignore_errors=True)
        shutil.rmtree(f"{root}/dedupe_keys", ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)

    started = time.monotonic()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    # 5 CPUs for 3 workers: when a 2-CPU node goes, its workers are restarted on the CPUs left
    workers = [cluster.add_node(num_cpus=2) for _ in range(2)]
    cluster.wait_for_nodes()
    print(f"3-node cluster up in {time.monotonic() - started:.0f} s ({len(reference)} output files to compare)\n")
    print("| stage | what is killed mid-run | when | first run | rerun | outputs byte-identical to local |")
    print("| --- | --- | --- | --- | --- | --- |")
    rows: List[Tuple[str, str, str, str, str, bool]] = []
    try:
        remote = _configs(root, out, "ray", cluster.address)
        # 1. a worker node dies in the middle of each stage
        reset()
        for stage in ("tag", "dedupe", "mix"):
            when = ["never (the run ended first)"]

            def kill_node(proc: subprocess.Popen, stage: str = stage, when: List[str] = when) -> None:
                begin = time.monotonic()

                def go() -> None:
                    if _first_output([p.format(root=root, out=out) for p in WATCH[stage]]) and proc.poll() is None:
                        cluster.remove_node(workers[0], allow_graceful=False)
                        when[0] = f"{time.monotonic() - begin:.1f} s in, run still going: {proc.poll() is None}"
                threading.Thread(target=go, daemon=True).start()
            code = _run(stage, remote[stage], work, kill_node)
            workers[0] = cluster.add_node(num_cpus=2)  # a fresh node for the next stage (Ray starts it from here)
            rerun = "not needed"
            if code != 0:
                rerun = f"exit {_run(stage, remote[stage], work)}"
            rows.append((stage, "a worker node (raylet, object store, workers)", when[0], f"exit {code}", rerun, False))
        same = _outputs(root, out) == reference
        rows = [(*row[:5], same) for row in rows]
        # 2. the driver process dies in the middle of dedupe and of tag; the command is run again
        for stage in ("tag", "dedupe"):
            reset()
            if stage == "dedupe":
                assert _run("tag", remote["tag"], work) == 0

            when = ["never (the run ended first)"]

            def kill_driver(proc: subprocess.Popen, stage: str = stage, when: List[str] = when) -> None:
                begin = time.monotonic()
                if _first_output([p.format(root=root, out=out) for p in WATCH[stage]]) and proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    when[0] = f"{time.monotonic() - begin:.1f} s in"
            code = _run(stage, remote[stage], work, kill_driver)
            again = _run(stage, remote[stage], work)
            if stage == "tag":
                assert _run("dedupe", remote["dedupe"], work) == 0
            assert _run("mix", remote["mix"], work) == 0
            rows.append((stage, "the driver process (SIGKILL)", when[0], "killed" if code < 0 else f"exit {code}",
                         f"exit {again}", _outputs(root, out) == reference))
        for row in rows:
            print("| " + " | ".join(map(str, row[:5])) + f" | {'yes' if row[5] else 'NO'} |", flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{time.monotonic() - started:.0f} s in all on the cluster")


if __name__ == "__main__":
    main()
