"""`dolma remove` of a few documents vs rebuilding the release, on the benchmark corpus.

Usage: python bench/remove_vs_rebuild.py --corpus /tmp/bench_corpus [--work /tmp/remove-bench] [--docs 10] [--repeat 3]

Builds a release from the corpus's sources (tag with rule taggers, paragraph dedupe, a mix with filters and
sampling, GPT-2 tokens, lineage index, datasheet), then, alternately ``--repeat`` times: removes ``--docs`` kept
documents picked at random into a new folder (`dolma remove --output`), and rebuilds what a removal without it
would rebuild — the mix, the tokens, the lineage index and the datasheet, with tag and dedupe kept (the documents
taken out of the sources first). Prints the medians, the files the removal rewrote out of all, and the bytes
rewritten; checks that the corrected release passes `dolma verify` and that a trace costs a bounded number of reads.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List

SOURCES = ("web", "books", "code", "docs")


def _recipe(corpus: str, out: str, processes: int) -> Dict[str, Any]:
    streams = []
    for i, name in enumerate(SOURCES):
        streams.append({
            "name": name,
            "attributes": ["quality", "dedupe_paragraphs"],
            "sample": [0.7, 1.0, 0.5, 1.5][i],
            "filter": {"exclude": ["$.attributes[?(@.quality__gopher_v1__word_count[0][2] < 50)]"]},
            "span_replacement": [{"span": "$.attributes.bff_duplicate_paragraph_spans", "min_score": 0.5,
                                  "replacement": ""}],
            "output": {"min_text_length": 200, "max_size_in_bytes": 4_000_000},
        })
    return {
        "name": "remove-bench",
        "output": out,
        "processes": processes,
        "sources": [{"name": s, "documents": [os.path.join(corpus, s, "documents", "*.jsonl.gz")]} for s in SOURCES],
        "tag": {"experiment": "quality", "taggers": ["char_length_v1", "gopher_v1"]},
        "dedupe": {"dedupe": {"name": "dedupe_paragraphs", "paragraphs": {"attribute_name": "bff_duplicate_paragraph_spans"},
                              "skip_empty": True},
                   "bloom_filter": {"estimated_doc_count": 1_000_000, "desired_false_positive_rate": 0.0001}},
        "mix": {"streams": streams},
        "tokens": {"tokenizer": {"name_or_path": "gpt2"}, "max_size": 4_000_000},
    }


def _dolma(*args: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "dolma.cli", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def _kept_ids(release: str, n: int, seed: int) -> List[str]:
    ids = []
    folder = os.path.join(release, "lineage")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".csv.gz"):
            with gzip.open(os.path.join(folder, name), "rt", encoding="utf-8") as f:
                ids += [r[1] for r in csv.reader(f) if r[0] == "D" and r[5] == "kept"]
    return random.Random(seed).sample(sorted(ids), n)


def _rebuild_without_remove(release: str, work: str, recipe: Dict[str, Any], ids: List[str]) -> float:
    """The release again with ``ids`` taken out of its sources: tag and dedupe outputs kept, the mix, tokens,
    lineage index and datasheet made again (what a removal costs without `dolma remove`)."""
    if os.path.exists(work):
        shutil.rmtree(work)
    started = time.monotonic()
    ignore = shutil.ignore_patterns("mixed", "tokens", "lineage", "report", "release.json")
    shutil.copytree(release, work, ignore=ignore, copy_function=os.link)
    for name in ("mix.json", "tokens.json"):
        os.remove(os.path.join(work, ".pipeline", name))
    wanted = set(ids)
    for source in SOURCES:  # the documents taken out of the sources (and their attribute lines, kept in step)
        docs = os.path.join(work, source, "documents")
        for name in sorted(os.listdir(docs)):
            if not name.endswith(".jsonl.gz"):
                continue
            lines = gzip.open(os.path.join(docs, name), "rt", encoding="utf-8").read().splitlines(keepends=True)
            drop = {i for i, line in enumerate(lines) if json.loads(line)["id"] in wanted}
            if not drop:
                continue
            for path in [os.path.join(docs, name)] + [os.path.join(work, source, "attributes", a, name)
                                                      for a in ("quality", "dedupe_paragraphs")]:
                rows = gzip.open(path, "rt", encoding="utf-8").read().splitlines(keepends=True)
                os.remove(path)  # a hard link to the release: replace it, never write through it
                with gzip.open(path, "wt", encoding="utf-8") as f:
                    f.writelines(r for i, r in enumerate(rows) if i not in drop)
    # its sources are its own (filtered) documents, which the pipeline then keeps as they are
    sources = [{"name": s, "documents": [os.path.join(work, s, "documents", "*.jsonl.gz")]} for s in SOURCES]
    recipe = dict(recipe, output=work, sources=sources)
    with open(work + ".yaml", "w") as f:
        json.dump(recipe, f)
    _dolma("pipeline", "-c", work + ".yaml")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/tmp/bench_corpus")
    parser.add_argument("--work", default="/tmp/remove-bench")
    parser.add_argument("--docs", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    release = os.path.join(args.work, "release")
    recipe = _recipe(args.corpus, release, args.processes)
    with open(release + ".yaml", "w") as f:
        json.dump(recipe, f)
    if not os.path.exists(os.path.join(release, "release.json")):
        build = _dolma("pipeline", "-c", release + ".yaml")
        print(f"full build (sources, tag, dedupe, mix, tokens, lineage, report): {build:.1f} s")
    listing = json.load(open(os.path.join(release, "release.json")))["files"]
    total_bytes = sum(e["bytes"] for e in listing)
    removals, bare, rebuilds, changed, rewritten = [], [], [], [], []
    for k in range(args.repeat):
        ids = _kept_ids(release, args.docs, seed=k)
        out = os.path.join(args.work, f"removed-{k}")
        if os.path.exists(out):
            shutil.rmtree(out)
        removals.append(_dolma("remove", release, "--ids", *ids, "--reason", "bench", "--output", out))
        record = json.load(open(os.path.join(out, "removals", "0001.json")))
        changed.append(len(record["files"]))
        rewritten.append(sum(f["after"]["bytes"] for f in record["files"] if f["after"]))
        shutil.rmtree(out + "-bare", ignore_errors=True)
        bare.append(_dolma("remove", release, "--ids", *ids, "--reason", "bench", "--output", out + "-bare",
                           "--report", "false"))
        subprocess.run([sys.executable, "-m", "dolma.cli", "verify", out], check=True, stdout=subprocess.DEVNULL)
        rebuilds.append(_rebuild_without_remove(release, os.path.join(args.work, f"rebuilt-{k}"), recipe, ids))
        reads = json.loads(subprocess.run([sys.executable, "-m", "dolma.cli", "trace", out, "--id", ids[0], "--json"],
                                          check=True, capture_output=True).stdout)["files_read"]
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "dolma.cli", "trace", release, "--id", ids[1]], check=True,
                       stdout=subprocess.DEVNULL)
        trace_s = time.monotonic() - started
        print(f"run {k}: remove {removals[-1]:.2f} s ({bare[-1]:.2f} s without the datasheet), rebuild "
              f"{rebuilds[-1]:.2f} s, trace {trace_s:.2f} s ({reads} files read); {changed[-1]} files rewritten, "
              f"{rewritten[-1] / 1e6:.1f} MB")
    shards = sum(1 for e in listing if e["path"].startswith("mixed/") and e["path"].endswith(".jsonl.gz"))
    token_files = sum(1 for e in listing if e["path"].endswith(".npy"))
    print(f"\nrelease: {len(listing)} files, {total_bytes / 1e6:.1f} MB; {shards} mixed shards, {token_files} token files")
    print(f"dolma remove of {args.docs} documents: median {statistics.median(removals):.2f} s, "
          f"{statistics.median(bare):.2f} s without writing the datasheet again; rewrote a median "
          f"{statistics.median(changed)} file(s) (data files and their manifests), {statistics.median(rewritten) / 1e6:.1f} MB "
          f"({statistics.median(rewritten) / total_bytes:.1%} of the release's bytes)")
    print(f"rebuild of mix + tokens + lineage + datasheet without them: median {statistics.median(rebuilds):.2f} s")
    print(f"remove / rebuild: {statistics.median(removals) / statistics.median(rebuilds):.1%}")


if __name__ == "__main__":
    main()
