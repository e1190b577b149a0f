"""Per-core speed of decontamination: the `decon` tagger (`dolma tag`) against Dolma 1.2.1's read-only Bloom route.

    python bench/decon_throughput.py --corpus /tmp/bench_corpus --reference /tmp/refdolma/bin/dolma [--repeat 3]

Both tools look for HumanEval in the same documents (``DIR/*/documents/*.jsonl.gz``, linked into a scratch
folder), in one process each:

- this toolkit: `dolma decon index` (the HumanEval preset), then `dolma tag --taggers decon` over the documents;
- Dolma 1.2.1, as Dolma v1.5 decontaminated: `dolma dedupe` with `paragraphs` on the HumanEval items as documents
  with `read_only: false` (fills a Bloom filter with their paragraphs), then `dolma dedupe` with `read_only: true`
  over the documents (marks paragraphs found in the filter).

Timed: the pass over the documents (the index or filter is built once, before, and its time is shown apart). Each
repeat runs the tools back to back, alternating which goes first; the table gives medians of wall-clock seconds and
CPU seconds (user + system). Dolma runs from the scratch folder, so a `dolma/` folder in the working directory
cannot shadow it. Not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple


def _run(cmd: List[str], cwd: str) -> Tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, children included) of one run."""
    start = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-f", "%U %S", *cmd], capture_output=True, text=True, cwd=cwd)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    user, system = (float(x) for x in proc.stderr.strip().splitlines()[-1].split())
    return seconds, user + system


def _write_json(path: str, data: object) -> str:
    with open(path, "w") as f:
        json.dump(data, f)
    return path


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--reference", default=None, help="path of Dolma 1.2.1's `dolma` executable")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool; the table shows medians")
    args = parser.parse_args(argv)
    scratch = tempfile.mkdtemp(prefix="decon-bench-")
    try:
        docs_dir = os.path.join(scratch, "corpus", "documents")
        os.makedirs(docs_dir)
        files = sorted(glob.glob(os.path.join(args.corpus, "*", "documents", "*.jsonl.gz")))
        n_docs = 0
        text_bytes = 0
        for path in files:
            os.symlink(os.path.abspath(path), os.path.join(docs_dir, os.path.basename(path)))
            with gzip.open(path, "rt") as f:
                for line in f:
                    n_docs += 1
                    text_bytes += len(json.loads(line)["text"].encode("utf-8"))
        mb = text_bytes / 1e6
        ours = [sys.executable, "-m", "dolma.cli"]
        index = os.path.join(scratch, "index")
        index_config = _write_json(os.path.join(scratch, "index.json"),
                                   {"sets": [{"name": "humaneval", "preset": "humaneval"}], "output": index})
        index_seconds, _ = _run([*ours, "decon", "index", "-c", index_config], scratch)
        tools: List[Tuple[str, List[str]]] = [("this toolkit: decon tagger", ours)]
        filter_seconds = None
        if args.reference:
            from dolma.decon.config import EvalSetConfig
            from dolma.decon.evalsets import resolve_preset

            source = resolve_preset(EvalSetConfig(name="humaneval", preset="humaneval")).path[0]
            eval_docs = os.path.join(scratch, "eval", "documents")
            os.makedirs(eval_docs)
            with gzip.open(source, "rt") as f, gzip.open(os.path.join(eval_docs, "humaneval.jsonl.gz"), "wt") as out:
                for item in map(json.loads, f):
                    text = item["prompt"] + item["canonical_solution"]
                    out.write(json.dumps({"id": item["task_id"], "text": text, "source": "humaneval"}) + "\n")
            bloom = os.path.join(scratch, "bloom.bin")
            build = _write_json(os.path.join(scratch, "bloom-build.json"), {
                "documents": [os.path.join(eval_docs, "*.jsonl.gz")],
                "dedupe": {"name": "decon", "paragraphs": {"attribute_name": "bff_contaminated_spans"}, "skip_empty": True},
                "bloom_filter": {"file": bloom, "read_only": False, "estimated_doc_count": 100_000,
                                 "desired_false_positive_rate": 1e-4},
                "processes": 1,
            })
            filter_seconds, _ = _run([args.reference, "-c", build, "dedupe"], scratch)
            tools.append(("dolma 1.2.1: read-only Bloom", [args.reference]))
        print(f"{n_docs:,} documents, {mb:.1f} MB of text, {len(files)} files; one process; medians of "
              f"{args.repeat} run(s). Built before: the decon index in {index_seconds:.1f} s"
              + (f", Dolma's Bloom filter of HumanEval paragraphs in {filter_seconds:.1f} s" if filter_seconds else "")
              + " (both include starting the command).\n")
        print("| tool | seconds | CPU seconds | documents/s | MB/s | documents/s per CPU second | MB per CPU second |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        runs: Dict[str, List[Tuple[float, float]]] = {name: [] for name, _ in tools}
        for r in range(args.repeat):
            for name, exe in tools[r % len(tools):] + tools[: r % len(tools)]:
                shutil.rmtree(os.path.join(scratch, "corpus", "attributes"), ignore_errors=True)
                if exe is ours:
                    config = {"documents": [os.path.join(docs_dir, "*.jsonl.gz")], "taggers": ["decon"],
                              "experiment": "decon", "tagger_options": {"decon": {"index": index}}, "processes": 1}
                    runs[name].append(_run([*exe, "-c", _write_json(os.path.join(scratch, "tag.json"), config), "tag"],
                                           scratch))
                else:
                    config = {"documents": [os.path.join(docs_dir, "*.jsonl.gz")],
                              "dedupe": {"name": "decon", "paragraphs": {"attribute_name": "bff_contaminated_spans"},
                                         "skip_empty": True},
                              "bloom_filter": {"file": os.path.join(scratch, "bloom.bin"), "read_only": True,
                                               "estimated_doc_count": 100_000, "desired_false_positive_rate": 1e-4},
                              "processes": 1}
                    runs[name].append(_run([*exe, "-c", _write_json(os.path.join(scratch, "ref.json"), config),
                                            "dedupe"], scratch))
        for name, _ in tools:
            seconds, cpu = (statistics.median(x) for x in zip(*runs[name]))
            print(f"| {name} | {seconds:.2f} | {cpu:.2f} | {n_docs / seconds:,.0f} | {mb / seconds:.1f} | "
                  f"{n_docs / cpu:,.0f} | {mb / cpu:.1f} |", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
