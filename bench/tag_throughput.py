#!/usr/bin/env python3
"""Throughput of `dolma tag` (documents/s, MB/s, peak RSS) at 1 and 2 processes, optionally against the
reference `dolma==1.2.1` installed in another virtualenv.

    python bench/tag_throughput.py --corpus /tmp/bench/corpus [--reference /tmp/refdolma/bin/dolma]

The corpus is the one `../shared/bench/build_corpus.py --out DIR` builds (``<DIR>/<source>/documents/*.gz``);
``--build`` builds it first. Each run tags a fresh copy of the documents (hard links) so no run skips work.
Peak RSS is the largest resident set of any single process of the run (parent or worker).
"""

from __future__ import annotations

import argparse
import glob
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import List, Optional, Tuple

TAGGERS = [
    "char_length_v1",
    "whitespace_tokenizer_v1",
    "gopher_v1",
    "c4_v2",
    "pii_regex_with_counts_fast_v2",
    "random_number_v1",
]
HERE = os.path.dirname(os.path.abspath(__file__))


def _tree_rss_peak(pid: int, stop: threading.Event, out: List[int]) -> None:
    """Poll /proc for the largest RSS of any process in the tree rooted at pid."""
    peak = 0
    while not stop.is_set():
        for p in [pid, *_descendants(pid)]:
            try:
                with open(f"/proc/{p}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            peak = max(peak, int(line.split()[1]) * 1024)
            except OSError:
                pass
        stop.wait(0.05)
    out.append(peak)


def _descendants(pid: int) -> List[int]:
    try:
        children = open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        return []
    found = [int(c) for c in children]
    for c in list(found):
        found.extend(_descendants(c))
    return found


def _stage_copy(corpus: str, work: str, limit_mb: Optional[float]) -> Tuple[str, int, int]:
    """Hard-link the corpus documents into work/documents; returns (glob, files, bytes decompressed)."""
    import gzip

    dest = os.path.join(work, "documents")
    os.makedirs(dest, exist_ok=True)
    by_source = [sorted(glob.glob(os.path.join(src, "documents", "*.jsonl.gz"))) for src in sorted(glob.glob(f"{corpus}/*"))]
    # interleave the sources so a --limit-mb sample still mixes web, books, code and docs
    files = [f for group in itertools.zip_longest(*by_source) for f in group if f is not None]
    total = 0
    used = 0
    for path in files:
        if limit_mb is not None and total >= limit_mb * 1e6:
            break
        target = os.path.join(dest, os.path.basename(path))  # names carry the source: web-0000.jsonl.gz
        try:
            os.link(path, target)
        except OSError:
            shutil.copy(path, target)
        with gzip.open(path, "rb") as f:
            total += sum(len(chunk) for chunk in iter(lambda: f.read(1 << 20), b""))
        used += 1
    return os.path.join(dest, "*.jsonl.gz"), used, total


def _count_docs(pattern: str) -> int:
    import gzip

    return sum(sum(1 for _ in gzip.open(p, "rb")) for p in glob.glob(pattern))


def run(cmd: List[str]) -> Tuple[float, int]:
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stop, peak = threading.Event(), []
    watcher = threading.Thread(target=_tree_rss_peak, args=(proc.pid, stop, peak))
    watcher.start()
    _, err = proc.communicate()
    elapsed = time.monotonic() - start
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return elapsed, peak[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.join(HERE, "corpus"))
    ap.add_argument("--build", action="store_true", help="build the corpus with ../shared/bench/build_corpus.py")
    ap.add_argument("--limit-mb", type=float, default=None, help="use only the first N MB (decompressed)")
    ap.add_argument("--processes", default="1,2")
    ap.add_argument("--reference", default=None, help="path to the reference `dolma` executable")
    ap.add_argument("--taggers", default=",".join(TAGGERS))
    ap.add_argument("--only-reference", action="store_true", help="time only the reference")
    args = ap.parse_args()

    if args.build:
        builder = os.path.join(HERE, "..", "..", "shared", "bench", "build_corpus.py")
        subprocess.run([sys.executable, builder, "--out", args.corpus, "--max-mb", "500"], check=True)
    taggers = args.taggers.split(",")
    tools = [] if args.only_reference else [("ours", [sys.executable, "-m", "dolma.cli"])]
    if args.reference:
        tools.append(("dolma 1.2.1", [args.reference]))

    rows = []
    with tempfile.TemporaryDirectory(prefix="dolma-bench-") as tmp:
        pattern, n_files, nbytes = _stage_copy(args.corpus, tmp, args.limit_mb)
        n_docs = _count_docs(pattern)
        print(f"corpus: {n_files} files, {n_docs:,} documents, {nbytes / 1e6:,.1f} MB; taggers: {', '.join(taggers)}")
        for name, exe in tools:
            for procs in [int(p) for p in args.processes.split(",")]:
                experiment = f"bench_{name.split()[0].replace('.', '')}_{procs}"
                shutil.rmtree(os.path.join(tmp, "attributes"), ignore_errors=True)
                cmd = [*exe, "tag", "--documents", pattern, "--experiment", experiment, "--processes", str(procs),
                       "--taggers", *taggers]
                seconds, rss = run(cmd)
                rows.append((name, procs, seconds, n_docs / seconds, nbytes / 1e6 / seconds, rss / 2**20))
    print(f"{'tool':<12} {'procs':>5} {'seconds':>8} {'docs/s':>10} {'MB/s':>7} {'peak RSS MB':>12}")
    for name, procs, seconds, dps, mbps, rss in rows:
        print(f"{name:<12} {procs:>5} {seconds:>8.1f} {dps:>10,.0f} {mbps:>7.2f} {rss:>12,.0f}")


if __name__ == "__main__":
    main()
