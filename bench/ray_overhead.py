#!/usr/bin/env python3
"""Overhead of the Ray backend against the local process pool, same stage, corpus and worker count.

    python bench/ray_overhead.py --corpus /tmp/bench/corpus --limit-mb 60 [--stages tag,mix,mix-recipe,empty]

Starts a local 2-CPU Ray cluster once (its start-up is reported apart), then times each stage with
`--executor.backend local` and `ray`, back to back, `--repeat` times each, and prints the medians and the overhead:

- `tag`: three rule taggers over the documents;
- `mix`: a light mix of the tagged files (one attribute filter);
- `mix-recipe`: the Dolma-like recipe of bench/mix_throughput.py (three filters and paragraph removal);
- `empty`: `mix` of one empty file, i.e. what a command costs before any work (start-up, workers, shutdown).

Files are tagged once, untimed, when a mix is asked for without `tag`.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mix_throughput import RECIPE_FILTERS  # noqa: E402

TAGGERS = ["gopher_v1", "c4_v2", "char_length_with_paragraphs_v1"]


def timed(cmd: List[str], env: Dict[str, str]) -> float:
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return time.monotonic() - start


def _mix_config(tmp: str, stage: str, docs: str, backend: str, processes: int) -> str:
    out = os.path.join(tmp, f"mixed-{backend}")
    shutil.rmtree(out, ignore_errors=True)
    stream: Dict[str, Any] = {"name": "src", "documents": [f"{docs}/*.gz"], "attributes": ["bench"],
                              "output": {"path": out, "max_size_in_bytes": 20_000_000}}
    if stage == "mix":
        stream["filter"] = {"exclude": ["$.attributes[?(@.bench__gopher_v1__word_count[0][2] < 50)]"]}
    elif stage == "mix-recipe":
        stream["filter"] = {"exclude": RECIPE_FILTERS}
        stream["span_replacement"] = [{"span": "$.attributes.bench__char_length_with_paragraphs_v1__paragraph",
                                       "max_score": 20, "replacement": ""}]
    elif stage == "empty":
        empty = os.path.join(tmp, "empty")
        os.makedirs(os.path.join(empty, "attributes", "bench"), exist_ok=True)
        os.makedirs(os.path.join(empty, "documents"), exist_ok=True)
        for folder in ("documents", "attributes/bench"):  # two files, so that the local run starts its pool too
            for name in ("empty-0.jsonl.gz", "empty-1.jsonl.gz"):
                with gzip.open(os.path.join(empty, folder, name), "wb"):
                    pass
        stream["documents"] = [f"{empty}/documents/*.gz"]
    else:
        sys.exit(f"unknown stage {stage!r}")
    config = {"streams": [stream], "processes": processes, "executor": {"backend": backend, "address": "auto"}}
    path = os.path.join(tmp, "mix.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/tmp/bench/corpus")
    ap.add_argument("--limit-mb", type=float, default=60.0, help="stored MB of documents")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stages", default="tag,mix,mix-recipe,empty")
    ap.add_argument("--every", type=int, default=2, help="use every n-th corpus file (1: all, for long runs)")
    args = ap.parse_args()
    dolma = [sys.executable, "-m", "dolma.cli"]

    import ray

    start = time.monotonic()
    ctx = ray.init(num_cpus=args.processes, include_dashboard=False, log_to_driver=False)
    ray_start = time.monotonic() - start
    env = {**os.environ, "RAY_ADDRESS": ctx.address_info["address"]}
    with tempfile.TemporaryDirectory(prefix="dolma-ray-") as tmp:
        docs = os.path.join(tmp, "src", "documents")
        os.makedirs(docs)
        total = 0
        for path in sorted(glob.glob(os.path.join(args.corpus, "*", "documents", "*.jsonl.gz")))[:: args.every]:
            if total >= args.limit_mb * 1e6:
                break
            shutil.copy(path, docs)
            total += os.path.getsize(path)
        n_files = len(os.listdir(docs))
        print(f"{n_files} files, {total / 1e6:.1f} MB stored; ray start-up {ray_start:.1f}s (paid once per cluster)")
        results: Dict[str, Dict[str, List[float]]] = {}
        stages = args.stages.split(",")
        if any(stage.startswith("mix") for stage in stages) and "tag" not in stages:
            # the mix reads the tag stage's attributes: make them once
            timed([*dolma, "tag", "--documents", f"{docs}/*.gz", "--experiment", "bench", "--taggers", *TAGGERS,
                   "--processes", str(args.processes)], env)
        for stage in stages:
            for _ in range(args.repeat):
                for backend in ("local", "ray"):
                    if stage == "tag":
                        cmd = [*dolma, "tag", "--documents", f"{docs}/*.gz", "--experiment", "bench", "--taggers",
                               *TAGGERS, "--processes", str(args.processes), "--ignore_existing",
                               "--executor.backend", backend, "--executor.address", "auto"]
                    else:
                        cmd = [*dolma, "mix", "-c", _mix_config(tmp, stage, docs, backend, args.processes)]
                    results.setdefault(stage, {}).setdefault(backend, []).append(timed(cmd, env))
        print(f"{'stage':<10} {'local s':>8} {'ray s':>8} {'overhead':>9}")
        for stage, by in results.items():
            local, on_ray = statistics.median(by["local"]), statistics.median(by["ray"])
            print(f"{stage:<10} {local:>8.2f} {on_ray:>8.2f} {100 * (on_ray / local - 1):>8.1f}%")
    ray.shutdown()


if __name__ == "__main__":
    main()
