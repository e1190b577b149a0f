"""One-pass partitioned dedupe: the cost of each step for P = 1, 4, 16 partitions, and the attributes compared.

    python bench/dedupe_partitions.py --corpus DIR [--max-mb 200] [--partitions 1,4,16] [--exact] [--per-partition 4]

Links ``DIR/*/documents/*.jsonl.gz`` (whole files, sorted, up to ``--max-mb`` of text) into a scratch corpus and
runs paragraph dedupe with ``dedupe.one_pass`` in this process (1 process, so CPU seconds are this process's), step
by step: hashing (read, cut, hash, write the key files), marking (every partition's test-and-set, or exact
sort-and-merge), attributes. It prints CPU seconds per step and the key files' size, and checks that
every P marks the same spans (the union of the P attribute sets, per document). ``--per-partition P`` also times
the earlier way, P local runs that each read and hash the whole corpus. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(__file__))

from dedupe_throughput import _subset  # noqa: E402

from dolma.core.config import resolve  # noqa: E402
from dolma.core.executor import execute  # noqa: E402
from dolma.core.runner import run_stage  # noqa: E402
from dolma.dedup.config import DedupeConfig  # noqa: E402
from dolma.dedup.onepass import OnePassStage, _KeysStage, _MarksStage  # noqa: E402
from dolma.dedup.stage import DedupeStage  # noqa: E402


def _config(pattern: str, scratch: str, partitions: int, exact: bool, index: int = 0) -> DedupeConfig:
    return resolve(DedupeConfig, {
        "documents": [pattern],
        "dedupe": {"name": "bench", "paragraphs": {"attribute_name": "dup"}, "num_partitions": partitions,
                   "partition_index": index, "one_pass": True, "exact": exact},
        "bloom_filter": {"file": os.path.join(scratch, f"filter-{partitions}.bin"), "estimated_doc_count": 10_000_000,
                         "desired_false_positive_rate": 0.0001},
        "processes": 1,
    })


def _spans(root: str, partitions: int) -> Dict[Tuple[str, str], List[Any]]:
    import gzip
    import json

    out: Dict[Tuple[str, str], List[Any]] = {}
    for path in glob.glob(os.path.join(root, "attributes", "bench*", "*.gz")):
        with gzip.open(path, "rt") as f:
            for line in f:
                row = json.loads(line)
                for value in row["attributes"].values():
                    out.setdefault((os.path.basename(path), row["id"]), []).extend(map(tuple, value))
    return {k: sorted(v) for k, v in out.items()}


def _one_pass(pattern: str, scratch: str, partitions: int, exact: bool) -> Dict[str, float]:
    stage = OnePassStage(_config(pattern, scratch, partitions, exact))
    units = stage.units()
    figures: Dict[str, float] = {}
    for name, step in (("hashing", _KeysStage(stage.reader, stage.files, stage.order)),
                       ("marking", _MarksStage(stage.stages, stage.files, stage.order))):
        start = time.process_time()
        report = execute(step, step.units(), 1, progress_bar=False)
        figures[name] = time.process_time() - start
        if not report.ok:
            sys.exit(f"{name} failed: {report.failed}")
    figures["key_mb"] = sum(os.path.getsize(stage.files.keys(i)) for i in range(stage.files.count)) / 1e6
    start = time.process_time()
    report = execute(stage, units, 1, progress_bar=False)
    figures["attributes"] = time.process_time() - start
    stage.finish(units, report)
    return figures


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--max-mb", type=float, default=200)
    parser.add_argument("--partitions", default="1,4,16")
    parser.add_argument("--exact", action="store_true", help="exact mode (sort and merge) instead of Bloom filters")
    parser.add_argument("--per-partition", type=int, default=0, help="also time P runs that each hash everything")
    args = parser.parse_args(argv)
    scratch = tempfile.mkdtemp(prefix="dedupe-partitions-")
    try:
        pattern, mb = _subset(args.corpus, scratch, args.max_mb)
        root = os.path.dirname(os.path.dirname(pattern))
        print(f"{mb:.1f} MB of text, paragraphs, {'exact' if args.exact else 'Bloom filter p = 1e-4'}, 1 process\n")
        print("| P | hashing CPU s | marking CPU s | attributes CPU s | key files MB | same spans as P=first |")
        print("| --- | --- | --- | --- | --- | --- |")
        reference = None
        for p in (int(x) for x in args.partitions.split(",")):
            shutil.rmtree(os.path.join(root, "attributes"), ignore_errors=True)
            f = _one_pass(pattern, scratch, p, args.exact)
            spans = _spans(root, p)
            reference = spans if reference is None else reference
            print(f"| {p} | {f['hashing']:.2f} | {f['marking']:.2f} | {f['attributes']:.2f} | {f['key_mb']:.1f} | "
                  f"{'yes' if spans == reference else 'NO'} |", flush=True)
        if args.per_partition:
            p = args.per_partition
            shutil.rmtree(os.path.join(root, "attributes"), ignore_errors=True)
            start = time.process_time()
            for index in range(p):
                config = _config(pattern, scratch, p, False, index)
                config = resolve(DedupeConfig, {**_plain(config), "dedupe": {**_plain(config)["dedupe"], "one_pass": False}})
                run_stage(config, DedupeStage(config))
            print(f"\nthe earlier way, {p} local partition runs (each reads and hashes everything): "
                  f"{time.process_time() - start:.2f} CPU s in all")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _plain(config: Any) -> Dict[str, Any]:
    import msgspec

    return msgspec.to_builtins(config)


if __name__ == "__main__":
    main()
