"""Mix throughput, ours vs the reference Rust mixer (dolma 1.2.1), on the same inputs, config and processes.

Usage: python bench/mix_throughput.py --corpus /tmp/mixbench/web [--reference /tmp/refdolma/bin/dolma]

The corpus folder needs `documents/*.jsonl.gz` and `attributes/bench/` made by our tagger, e.g.
`dolma tag --documents 'DIR/documents/*.jsonl.gz' --experiment bench --taggers gopher_v1 c4_v2
char_length_with_paragraphs_v1`. The recipe: two attribute filters (gopher word count and duplicate-line
fraction), one c4 filter, and paragraph removal (paragraphs of fewer than 20 characters). MB/s is
uncompressed documents bytes read per second of wall time; MB/cpu-s per second of CPU time (user + system,
all processes), which is steadier on a shared machine. With ``--repeat N`` the two mixers run alternately N
times per process count and the medians are printed.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Tuple

RECIPE_FILTERS = [
    "$.attributes[?(@.bench__gopher_v1__word_count[0][2] < 50)]",
    "$.attributes[?(@.bench__gopher_v1__fraction_of_duplicate_lines[0][2] > 0.3)]",
    "$.attributes[?(@.bench__c4_v2__line_count[0][2] < 3)]",
]


def _config(corpus: str, out: str, processes: int) -> Dict[str, Any]:
    return {
        "streams": [
            {
                "name": "web",
                "documents": [os.path.join(corpus, "documents", "*.jsonl.gz")],
                "attributes": ["bench"],
                "output": {"path": out, "max_size_in_bytes": 1_000_000_000},
                "filter": {"exclude": RECIPE_FILTERS},
                "span_replacement": [
                    {"span": "$.attributes.bench__char_length_with_paragraphs_v1__paragraph", "max_score": 20, "replacement": ""}
                ],
            }
        ],
        "processes": processes,
    }


def _input_mb(corpus: str) -> float:
    total = 0
    for path in glob.glob(os.path.join(corpus, "documents", "*.jsonl.gz")):
        with gzip.open(path, "rb") as f:
            while chunk := f.read(1 << 22):
                total += len(chunk)
    return total / 1e6


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: List[str], config: Dict[str, Any], workdir: str) -> Tuple[float, float]:
    """Wall seconds and CPU seconds (all processes) of one run."""
    path = os.path.join(workdir, "config.json")
    with open(path, "w") as f:
        json.dump(config, f)
    cpu = _cpu()
    start = time.perf_counter()
    subprocess.run([*command[:-1], "-c", path, command[-1]], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, _cpu() - cpu


def _docs(out: str) -> int:
    n = 0
    for path in glob.glob(os.path.join(out, "*.gz")):
        with gzip.open(path, "rb") as f:
            n += sum(1 for _ in f)
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--reference", default="/tmp/refdolma/bin/dolma")
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=1, help="alternate runs per mixer and process count; medians reported")
    args = ap.parse_args()
    mb = _input_mb(args.corpus)
    ours = [sys.executable, "-m", "dolma.cli", "mix"]
    ref = [args.reference, "mix"]
    print(f"input: {mb:.1f} MB uncompressed documents")
    header = f"{'mixer':<10} {'procs':>5} {'wall s':>7} {'MB/s':>7} {'cpu s':>7} {'MB/cpu-s':>9} {'docs out':>9}"
    print(header)
    for processes in args.processes:
        runs: Dict[str, List[Tuple[float, float]]] = {"reference": [], "ours": []}
        for _ in range(args.repeat):
            for name, command in (("reference", ref), ("ours", ours)):
                with tempfile.TemporaryDirectory() as tmp:
                    out = os.path.join(tmp, "out")
                    wall, cpu = _run(command, _config(args.corpus, out, processes), tmp)
                    runs[name].append((wall, cpu))
                    print(f"{name:<10} {processes:>5} {wall:>7.2f} {mb / wall:>7.1f} {cpu:>7.2f} {mb / cpu:>9.1f} {_docs(out):>9}",
                          flush=True)
                    shutil.rmtree(out, ignore_errors=True)
        if args.repeat > 1:
            print(f"medians of {args.repeat} alternating runs:")
            for name, values in runs.items():
                wall = statistics.median(w for w, _ in values)
                cpu = statistics.median(c for _, c in values)
                print(f"{name:<10} {processes:>5} {wall:>7.2f} {mb / wall:>7.1f} {cpu:>7.2f} {mb / cpu:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
