"""Throughput of `dolma dedupe` (documents, paragraphs and paragraph 13-grams, 1 and 2 processes) and, optionally, the reference.

    python bench/dedupe_throughput.py --corpus DIR [--max-mb 200] [--reference /tmp/refdolma/bin/dolma] [--repeat 3]
        [--modes paragraphs,documents,ngrams] [--processes 1,2]

Links a subset of ``DIR/*/documents/*.jsonl.gz`` (whole files, sorted, up to ``--max-mb`` of text) into a
scratch corpus, runs each configuration from a fresh filter, and prints MB/s and the peak RSS of the largest
process. Each repeat runs the tools back to back (alternating which goes first) so they share the machine's
conditions; the table gives medians: wall-clock MB/s, and CPU seconds (user + system, all processes), which a
shared machine disturbs much less. Not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import glob
import json
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

MODES = {
    "documents": {"documents": {"attribute_name": "bff_duplicate_documents", "key": "$.text"}},
    "paragraphs": {"paragraphs": {"attribute_name": "bff_duplicate_paragraph_spans"}},
    "ngrams": {"paragraphs": {"attribute_name": "bff_duplicate_paragraph_spans",
                              "by_ngram": {"ngram_length": 13, "stride": 1, "overlap_threshold": 0.5}}},
}
NGRAM_COUNT = 10  # n-gram mode inserts about one key per word: its filter is sized for this many times `--count`


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


def _byte_compile() -> None:
    """Byte-compile the toolkit as an install does (the reference's are): a source checkout run with
    PYTHONDONTWRITEBYTECODE set compiles its modules again at every start, ~0.1 CPU-s a run."""
    import compileall
    import importlib

    for name in ("dolma", "dolma.dedup"):
        for folder in importlib.import_module(name).__path__:
            compileall.compile_dir(folder, quiet=1)


def _run(cmd: List[str]) -> Tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, children included) and peak RSS (MB) of one run."""
    start = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", *cmd], capture_output=True, text=True)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    peak_kb, user, system = (float(x) for x in proc.stderr.strip().splitlines()[-1].split())
    return seconds, user + system, peak_kb / 1024


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--max-mb", type=float, default=200)
    parser.add_argument("--reference", default=None, help="path of Dolma 1.2.1's `dolma` executable")
    parser.add_argument("--rate", type=float, default=0.0001)
    parser.add_argument("--count", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration; the table shows medians")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--processes", default="1,2")
    args = parser.parse_args(argv)
    _byte_compile()
    scratch = tempfile.mkdtemp(prefix="dedupe-bench-")
    try:
        pattern, mb = _subset(args.corpus, scratch, args.max_mb)
        tools = [("this toolkit", [sys.executable, "-m", "dolma.cli"])]
        if args.reference:
            tools.append(("dolma 1.2.1", [args.reference]))
        print(f"{mb:.1f} MB of text; false-positive rate {args.rate}, estimated count {args.count:,}; "
              f"medians of {args.repeat} run(s)\n")
        print("| tool | mode | processes | seconds | MB/s | CPU seconds | peak RSS (MB) |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for mode in args.modes.split(","):
            for procs in (int(p) for p in args.processes.split(",")):
                runs: Dict[str, List[Tuple[float, float, float]]] = {name: [] for name, _ in tools}
                for r in range(args.repeat):
                    for name, exe in tools[r % len(tools):] + tools[: r % len(tools)]:
                        count = args.count * (NGRAM_COUNT if mode == "ngrams" else 1)
                        config_path = _config(scratch, pattern, mode, procs, count, args.rate)
                        runs[name].append(_run([*exe, "-c", config_path, "dedupe"]))
                for name, _ in tools:
                    seconds, cpu, rss = (statistics.median(x) for x in zip(*runs[name]))
                    print(f"| {name} | {mode} | {procs} | {seconds:.2f} | {mb / seconds:.1f} | {cpu:.2f} | {rss:.0f} |",
                          flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _config(scratch: str, pattern: str, mode: str, procs: int, count: int, rate: float) -> str:
    """A fresh run: no attributes, no filter file."""
    shutil.rmtree(os.path.join(scratch, "attributes"), ignore_errors=True)
    bloom = os.path.join(scratch, "filter.bin")
    if os.path.exists(bloom):
        os.remove(bloom)
    config = {
        "documents": [pattern],
        "dedupe": {"name": "bench", **MODES[mode]},
        "bloom_filter": {"file": bloom, "read_only": False, "estimated_doc_count": count,
                         "desired_false_positive_rate": rate},
        "processes": procs,
    }
    path = os.path.join(scratch, "config.json")
    with open(path, "w") as f:
        json.dump(config, f)
    return path


if __name__ == "__main__":
    main()
