"""Throughput of ``dolma tokens`` against the reference Dolma's ``dolma tokens``: tokens/s and MB/s (of
decompressed documents) at 1 and 2 processes, same tokenizer file, same documents, run back to back.

    python bench/tokens_throughput.py --corpus /tmp/bench/corpus --tokenizer neox.json --eos 0 --pad 1 \\
        --max-mb 30 --reference /tmp/refdolma/bin/dolma

``--max-mb`` picks whole documents files (compressed size), taking the sources in turn, so the subset mixes
web, code, docs and books. With ``--check`` the two tools' outputs are compared document by document (same ids
for every document; order differs by design).
"""

from __future__ import annotations

import argparse
import csv
import glob
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple

import numpy as np


def pick_files(corpus: str, max_mb: float) -> List[str]:
    by_source = [sorted(glob.glob(os.path.join(src, "documents", "*.gz"))) for src in sorted(glob.glob(os.path.join(corpus, "*")))]
    by_source = [files for files in by_source if files]
    picked: List[str] = []
    total = 0.0
    while any(by_source) and total < max_mb:
        for files in by_source:
            if files and total < max_mb:
                path = files.pop(0)
                picked.append(path)
                total += os.path.getsize(path) / 1e6
    return picked


def decompressed_mb(files: List[str]) -> float:
    total = 0
    for path in files:
        with gzip.open(path, "rb") as f:
            while chunk := f.read(1 << 24):
                total += len(chunk)
    return total / 1e6


def count_tokens(dest: str, itemsize: int) -> int:
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(dest, "*.npy"))) // itemsize


def run(cmd: List[str]) -> float:
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:2])} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds


def documents(dest: str) -> Dict[Tuple[str, int], bytes]:
    out: Dict[Tuple[str, int], bytes] = {}
    for index in glob.glob(os.path.join(dest, "*.csv.gz")):
        tokens = np.fromfile(index[: -len(".csv.gz")] + ".npy", dtype=np.uint16)
        with gzip.open(index, "rt", encoding="utf-8") as f:
            for start, end, doc_id, _src, loc in csv.reader(f):
                out[(doc_id, int(loc))] = tokens[int(start) : int(end)].tobytes()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--tokenizer", required=True, help="a tokenizer.json file both tools load")
    parser.add_argument("--eos", type=int, required=True)
    parser.add_argument("--pad", type=int, default=None)
    parser.add_argument("--max-mb", type=float, default=30.0, help="compressed MB of documents files to use")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ring-size", type=int, default=2,
                        help="ring_size for both tools; our parallelism is ceil(files / ring_size) groups")
    parser.add_argument("--reference", default=None, help="the reference `dolma` executable (Dolma 1.2.1)")
    parser.add_argument("--ours", default=shutil.which("dolma") or "dolma")
    parser.add_argument("--check", action="store_true", help="compare the two tools' documents")
    args = parser.parse_args()

    files = pick_files(args.corpus, args.max_mb)
    work = tempfile.mkdtemp(prefix="tokens-bench-")
    docs_dir = os.path.join(work, "subset", "documents")
    os.makedirs(docs_dir)
    for path in files:
        src = os.path.basename(os.path.dirname(os.path.dirname(path)))
        os.symlink(os.path.abspath(path), os.path.join(docs_dir, f"{src}-{os.path.basename(path)}"))
    mb = decompressed_mb(files)
    print(f"{len(files)} files, {sum(os.path.getsize(p) for p in files) / 1e6:.1f} MB compressed, {mb:.1f} MB of JSON lines")
    pattern = os.path.join(docs_dir, "*.gz")
    special = ["--tokenizer.name_or_path", args.tokenizer, "--tokenizer.eos_token_id", str(args.eos)]
    if args.pad is not None:
        special += ["--tokenizer.pad_token_id", str(args.pad)]
    rows = []
    try:
        for processes in args.processes:
            tools = [("this toolkit", args.ours)] + ([("dolma 1.2.1", args.reference)] if args.reference else [])
            dests = {}
            for name, exe in tools:
                dest = os.path.join(work, f"{name.split()[0]}-{processes}")
                dests[name] = dest
                extra = ["--dtype", "uint16"] if name.startswith("dolma") else []
                seconds = run([exe, "tokens", "--documents", pattern, "--destination", dest, *special,
                               "--processes", str(processes), "--ring_size", str(args.ring_size), *extra])
                tokens = count_tokens(dest, 2)
                rows.append((name, processes, tokens / seconds, mb / seconds, seconds, tokens))
                print(f"  {name:<13} {processes}p: {seconds:7.1f}s  {tokens / seconds:>12,.0f} tokens/s  {mb / seconds:6.2f} MB/s",
                      flush=True)
            if args.check and len(dests) == 2:
                a, b = (documents(d) for d in dests.values())
                same = sum(a[k] == b.get(k) for k in a)
                print(f"  check: {len(a):,} vs {len(b):,} documents; {same:,} with identical tokens")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n| tool | processes | tokens/s | MB/s | seconds | tokens |\n| --- | --- | --- | --- | --- | --- |")
    for name, processes, tps, mbps, seconds, tokens in rows:
        print(f"| {name} | {processes} | {tps:,.0f} | {mbps:.2f} | {seconds:.1f} | {tokens:,} |")


if __name__ == "__main__":
    main()
