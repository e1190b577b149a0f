#!/usr/bin/env python3
"""Tag the same documents with the reference Dolma and with ours, under every shared offline tagger name,
and print per attribute the share of documents whose values are equal (to Dolma's rounding: 5 decimals).

    python bench/taggers_side_by_side.py [--corpus '/tmp/bench_corpus/*/documents/*.jsonl.gz'] [-n 1200]
        [--reference /tmp/refdolma/bin/python] [--taggers NAME ...]

The reference runs in its own interpreter, from /tmp (so this repository's ``dolma/`` does not shadow it),
through its Python API: ``group_output(predict(doc))``, which is what ``dolma tag`` writes per document.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
from collections import defaultdict
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# shared names that need no model, network or extra data download
DEFAULT_TAGGERS = [
    "char_length_v1",
    "char_length_with_paragraphs_v1",
    "whitespace_tokenizer_v1",
    "whitespace_tokenizer_with_paragraphs_v1",
    "gopher_v1",
    "gopher_v2",
    "c4_v1",
    "c4_v2",
    "pii_regex_v1",
    "pii_regex_v2",
    "pii_regex_with_counts_v2",
    "pii_regex_with_counts_fast_v2",
]
PRECISION = 5

_REFERENCE_SCRIPT = r"""
import json, sys
from dolma.core.registry import TaggerRegistry
import dolma.taggers  # noqa: F401  (registers the built-in taggers)
from dolma.core.data_types import Document
names = json.loads(sys.argv[2])
rows = [Document(**json.loads(line)) for line in open(sys.argv[1], encoding="utf-8")]
out = {}
for name in names:
    try:
        tagger = TaggerRegistry.get(name)()
    except Exception as exc:
        out[name] = {"error": repr(exc)}
        continue
    results = []
    for row in rows:
        try:
            results.append({k: [list(s) for s in v] for k, v in tagger.group_output(tagger.predict(row)).items()})
        except Exception as exc:
            results.append({"__error__": repr(exc)})
    out[name] = results
json.dump(out, sys.stdout)
"""


def sample(pattern: str, n: int, seed: int) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = []
    for path in sorted(glob.glob(pattern)):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    rng = random.Random(seed)
    return rows if len(rows) <= n else rng.sample(rows, n)


def ours(rows: List[Dict[str, Any]], names: List[str]) -> Dict[str, List[Dict[str, Any]]]:
    from dolma.core.data_types import Document
    from dolma.core.registry import TaggerRegistry

    out: Dict[str, List[Dict[str, Any]]] = {}
    docs = [Document(source=r.get("source", ""), id=r["id"], text=r["text"]) for r in rows]
    for name in names:
        tagger = TaggerRegistry.get(name)()
        out[name] = [tagger.tag(doc) for doc in docs]
    return out


def rounded(spans: Any) -> Any:
    if not isinstance(spans, list):  # "__error__": the reference raised on this document
        return spans
    return [[s[0], s[1], round(float(s[2]), PRECISION)] for s in spans]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/tmp/bench_corpus/*/documents/*.jsonl.gz")
    parser.add_argument("-n", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference", default="/tmp/refdolma/bin/python")
    parser.add_argument("--taggers", nargs="*", default=DEFAULT_TAGGERS)
    parser.add_argument("--show", type=int, default=0, help="print this many differing examples per attribute")
    args = parser.parse_args()

    rows = sample(args.corpus, args.n, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        docs_path = os.path.join(tmp, "docs.jsonl")
        with open(docs_path, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps({"id": r["id"], "text": r["text"], "source": r.get("source", "")}) + "\n")
        proc = subprocess.run(
            [args.reference, "-c", _REFERENCE_SCRIPT, docs_path, json.dumps(args.taggers)],
            cwd=tmp, capture_output=True, text=True, check=True,
        )
    reference = json.loads(proc.stdout)
    names = [n for n in args.taggers if isinstance(reference.get(n), list)]
    for n in args.taggers:
        if n not in names:
            print(f"skipped {n}: reference failed: {reference.get(n)}", file=sys.stderr)
    mine = ours(rows, names)

    print(f"{len(rows)} documents; share of documents with equal values (rounded to {PRECISION} decimals)\n")
    print(f"| {'tagger':40} | {'attribute':48} | equal |")
    print(f"| {'-' * 40} | {'-' * 48} | ----: |")
    for name in names:
        equal: Dict[str, int] = defaultdict(int)
        shown: Dict[str, int] = defaultdict(int)
        types = sorted({t for r in reference[name] + mine[name] for t in r})
        for i, (ref, our) in enumerate(zip(reference[name], mine[name])):
            for t in types:
                a, b = rounded(ref.get(t, [])), rounded(our.get(t, []))
                if a == b:
                    equal[t] += 1
                elif shown[t] < args.show:
                    shown[t] += 1
                    print(f"  {name} {t} doc {i}: dolma {a[:3]} ours {b[:3]}", file=sys.stderr)
        for t in types:
            print(f"| {name:40} | {t:48} | {100 * equal[t] / len(rows):5.1f}% |")


if __name__ == "__main__":
    main()
