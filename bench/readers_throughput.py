#!/usr/bin/env python3
"""Throughput of `dolma export` and `dolma import` (Parquet and Hugging Face folders) and of `dolma warc`, one
process, with the reference `dolma==1.2.1` `warc` command on the same archive when given.

    python bench/readers_throughput.py --corpus /tmp/bench/corpus --limit-mb 120 \
        [--html-dir ~/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html --warc-mb 40] \
        [--reference /tmp/refdolma/bin/dolma]

MB/s is measured on the uncompressed JSON lines of the documents (export reads them, import writes them), and
on the HTML payload for warc. ``--profile`` also prints the share of warc time spent inside the HTML extractor.
"""

from __future__ import annotations

import argparse
import cProfile
import glob
import gzip
import itertools
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from typing import List, Tuple


def _dolma(args: List[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dolma.cli", *args], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _stage_corpus(corpus: str, work: str, limit_mb: float) -> Tuple[str, int, int]:
    """Hard-link documents files (sources interleaved) into work/documents until limit_mb of JSON lines."""
    dest = os.path.join(work, "documents")
    os.makedirs(dest)
    groups = [sorted(glob.glob(os.path.join(s, "documents", "*.jsonl.gz"))) for s in sorted(glob.glob(f"{corpus}/*/"))]
    total = files = 0
    for path in (p for g in itertools.zip_longest(*groups) for p in g if p):
        if total >= limit_mb * 1e6:
            break
        os.link(path, os.path.join(dest, os.path.basename(path)))
        with gzip.open(path, "rb") as f:
            total += len(f.read())
        files += 1
    return dest, files, total


def _write_warc(html_dir: str, path: str, limit_mb: float) -> Tuple[int, int]:
    pages = sorted(glob.glob(os.path.join(html_dir, "**", "*.html"), recursive=True))
    total = n = 0
    with gzip.open(path, "wb", compresslevel=1) as out:
        for page in pages:
            if total >= limit_mb * 1e6:
                break
            body = open(page, "rb").read()
            http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
            head = (
                f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{uuid.UUID(int=n)}>\r\n"
                f"WARC-Date: 2024-01-01T00:00:00Z\r\nWARC-Target-URI: file://{page}\r\n"
                f"WARC-Payload-Digest: sha1:{n:032d}\r\n"
                f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n"
            )
            out.write(head.encode() + http + b"\r\n\r\n")
            total += len(body)
            n += 1
    return n, total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--limit-mb", type=float, default=120)
    ap.add_argument("--html-dir", default=os.path.expanduser("~/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html"))
    ap.add_argument("--warc-mb", type=float, default=40)
    ap.add_argument("--reference", help="the reference dolma executable, for `dolma warc`")
    ap.add_argument("--profile", action="store_true", help="profile our warc extraction in-process")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="readers-bench-")
    rows: List[Tuple[str, str, float, float]] = []
    try:
        docs, files, nbytes = _stage_corpus(args.corpus, work, args.limit_mb)
        mb = nbytes / 1e6
        print(f"# {files} documents files, {mb:.1f} MB of JSON lines", file=sys.stderr)
        for fmt in ("parquet", "hf"):
            out = os.path.join(work, fmt)
            t = _dolma(["export", "--documents", docs, "--destination", out, "--format", fmt])
            rows.append(("export", f"jsonl.gz -> {fmt}", mb, t))
            back = os.path.join(work, f"back-{fmt}")
            t = _dolma(["import", "--documents", out, "--destination", back, "--source", "bench"])
            rows.append(("import", f"{fmt} -> jsonl.gz", mb, t))
        if os.path.isdir(args.html_dir):
            warc = os.path.join(work, "warc", "bench.warc.gz")
            os.makedirs(os.path.dirname(warc))
            n, html_bytes = _write_warc(args.html_dir, warc, args.warc_mb)
            hmb = html_bytes / 1e6
            print(f"# WARC: {n} HTML pages, {hmb:.1f} MB of HTML", file=sys.stderr)
            t = _dolma(["warc", "--documents", warc, "--destination", os.path.join(work, "w-ours"), "--source_name", "b"])
            rows.append(("warc", "this toolkit", hmb, t))
            if args.reference:
                start = time.perf_counter()
                subprocess.run(
                    [args.reference, "warc", "--documents", warc, "--destination", os.path.join(work, "w-ref"),
                     "--source_name", "b", "--processes", "1"],
                    check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
                rows.append(("warc", "dolma 1.2.1", hmb, time.perf_counter() - start))
            if args.profile:
                _profile_warc(warc, os.path.join(work, "w-prof"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| command | what | MB | seconds | MB/s |\n| --- | --- | --- | --- | --- |")
    for cmd, what, size, secs in rows:
        print(f"| {cmd} | {what} | {size:.1f} | {secs:.2f} | {size / secs:.1f} |")


def _profile_warc(warc: str, dest: str) -> None:
    from dolma.core.config import resolve
    from dolma.core.executor import execute
    from dolma.readers.config import WarcConfig
    from dolma.readers.stage import WarcStage

    stage = WarcStage(resolve(WarcConfig, {"documents": [warc], "destination": [dest], "source_name": "b"}))
    prof = cProfile.Profile()
    prof.enable()
    execute(stage, stage.units(), 1, progress_bar=False)
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    inside = sum(v[2] for k, v in stats.stats.items() if "extract_plain_text" in k[2] or "parse_from_bytes" in k[2])  # type: ignore[attr-defined]
    print(f"# warc profile: {total:.2f}s, {100 * inside / total:.0f}% inside resiliparse (parse + extract)", file=sys.stderr)


if __name__ == "__main__":
    main()
