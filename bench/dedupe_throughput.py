"""Throughput of `dolma dedupe` (documents and paragraphs, 1 and 2 processes) and, optionally, the reference.

    python bench/dedupe_throughput.py --corpus DIR [--max-mb 200] [--reference /tmp/refdolma/bin/dolma]

Links a subset of ``DIR/*/documents/*.jsonl.gz`` (whole files, sorted, up to ``--max-mb`` of text) into a
scratch corpus, runs each configuration from a fresh filter, and prints MB/s and the peak RSS of the largest
process. Not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import glob
import json
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import List, Optional, Tuple

MODES = {
    "documents": {"documents": {"attribute_name": "bff_duplicate_documents", "key": "$.text"}},
    "paragraphs": {"paragraphs": {"attribute_name": "bff_duplicate_paragraph_spans"}},
}


def _subset(corpus: str, scratch: str, max_mb: float) -> Tuple[str, float]:
    folder = os.path.join(scratch, "documents")
    os.makedirs(folder)
    total = 0
    for path in sorted(glob.glob(os.path.join(corpus, "*", "documents", "*.jsonl.gz"))):
        if total >= max_mb * 1e6:
            break
        with gzip.open(path, "rb") as f:
            total += len(f.read())
        os.symlink(os.path.abspath(path), os.path.join(folder, os.path.basename(path)))
    return os.path.join(folder, "*.jsonl.gz"), total / 1e6


def _run(cmd: List[str]) -> Tuple[float, float]:
    start = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    peak_kb = float(proc.stderr.strip().splitlines()[-1])
    return seconds, peak_kb / 1024


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--max-mb", type=float, default=200)
    parser.add_argument("--reference", default=None, help="path of Dolma 1.2.1's `dolma` executable")
    parser.add_argument("--rate", type=float, default=0.0001)
    parser.add_argument("--count", type=int, default=10_000_000)
    args = parser.parse_args(argv)
    scratch = tempfile.mkdtemp(prefix="dedupe-bench-")
    try:
        pattern, mb = _subset(args.corpus, scratch, args.max_mb)
        tools = [("this toolkit", [sys.executable, "-m", "dolma.cli"])]
        if args.reference:
            tools.append(("dolma 1.2.1", [args.reference]))
        print(f"{mb:.1f} MB of text; false-positive rate {args.rate}, estimated count {args.count:,}\n")
        print("| tool | mode | processes | seconds | MB/s | peak RSS (MB) |\n| --- | --- | --- | --- | --- | --- |")
        for mode, flags in MODES.items():
            for procs in (1, 2):
                for name, exe in tools:
                    shutil.rmtree(os.path.join(scratch, "attributes"), ignore_errors=True)
                    bloom = os.path.join(scratch, "filter.bin")
                    if os.path.exists(bloom):
                        os.remove(bloom)
                    config = {
                        "documents": [pattern],
                        "dedupe": {"name": "bench", **flags},
                        "bloom_filter": {"file": bloom, "read_only": False, "estimated_doc_count": args.count,
                                         "desired_false_positive_rate": args.rate},
                        "processes": procs,
                    }
                    config_path = os.path.join(scratch, "config.json")
                    with open(config_path, "w") as f:
                        json.dump(config, f)
                    seconds, rss = _run([*exe, "-c", config_path, "dedupe"])
                    print(f"| {name} | {mode} | {procs} | {seconds:.1f} | {mb / seconds:.1f} | {rss:.0f} |", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
