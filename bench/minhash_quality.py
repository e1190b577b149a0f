"""Quality of `dolma dedupe` with `dedupe.minhash`: planted near-duplicate pairs of known true Jaccard.

    python bench/minhash_quality.py --corpus /tmp/bench_corpus [--base 3000] [--planted 2000] [--processes 2]
        [--bands 20 --rows 8] [--seed 1] [--verify-keeper true]

Takes ``--base`` real documents (at least 50 words) from ``DIR/*/documents/*.jsonl.gz`` and makes ``--planted``
variants of randomly chosen ones with one controlled edit each: word insertions, deletions or substitutions,
boilerplate headers and footers, truncation, or paragraph moves, at a random strength. Every variant's true
Jaccard similarity to its original (word 5-gram shingle sets, the normalisation MinHash uses) is computed exactly.
The corpus (originals, variants and the untouched rest) is shuffled into files, deduplicated, and:

- recall per similarity band: planted pairs whose two documents ended up in one cluster;
- precision: of all pairs of documents that share a cluster found, the share whose true Jaccard is at least 0.5
  (a pair below 0.5 merged, or an unrelated document clustered, is an error, planted or not);

are printed as a table. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import random
import sys
import tempfile
import time
from typing import Any, Dict, List, Tuple

import msgspec
import numpy as np

from dolma.cli import main
from dolma.dedup.minhash.common import jaccard
from dolma.dedup.minhash.hashing import distinct, shingle_hashes, word_hashes

BANDS = [(0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.0001)]
EDITS = ["insert", "delete", "substitute", "boilerplate", "truncate", "move"]
BOILERPLATE = ("Home | About us | Contact | Privacy policy | Terms of use | Subscribe to our newsletter for the latest "
               "news and updates | Follow us on social media | Copyright all rights reserved | Cookie settings | "
               "Accept all cookies | Skip to main content | Sign in | Register | Search this site").split()


def _load(corpus: str, count: int, rng: random.Random) -> List[Dict[str, Any]]:
    docs = []
    for path in sorted(glob.glob(os.path.join(corpus, "*", "documents", "*.jsonl.gz"))):
        for line in gzip.open(path, "rb"):
            d = msgspec.json.decode(line)
            if len(d["text"].split()) >= 50:
                docs.append({"id": d["id"], "text": d["text"], "source": path.split(os.sep)[-3]})
    rng.shuffle(docs)
    return docs[:count]


def _edit(text: str, kind: str, rng: random.Random, vocab: List[str]) -> str:
    words = text.split(" ")
    n = len(words)
    if kind in ("insert", "delete", "substitute"):
        k = max(1, int(n * rng.uniform(0.0, 0.12)))
        if kind == "insert":
            for _ in range(k):
                words.insert(rng.randrange(len(words) + 1), rng.choice(vocab))
        elif kind == "delete":
            for i in sorted(rng.sample(range(n), min(k, n - 1)), reverse=True):
                del words[i]
        else:
            for i in rng.sample(range(n), min(k, n)):
                words[i] = rng.choice(vocab)
        return " ".join(words)
    if kind == "boilerplate":
        k = max(5, int(n * rng.uniform(0.0, 0.5)))
        head = " ".join(BOILERPLATE[i % len(BOILERPLATE)] for i in range(k // 2))
        foot = " ".join(BOILERPLATE[-1 - i % len(BOILERPLATE)] for i in range(k - k // 2))
        return f"{head}\n{text}\n{foot}"
    if kind == "truncate":
        return " ".join(words[: max(1, int(n * (1 - rng.uniform(0.0, 0.5))))])
    paragraphs = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        if len(paragraphs) < 2:
            break
        moved = paragraphs.pop(rng.randrange(len(paragraphs)))
        paragraphs.insert(rng.randrange(len(paragraphs) + 1), moved)
    return "\n".join(paragraphs)


def _shingles(texts: List[str]) -> List[np.ndarray]:
    h, counts = word_hashes(texts)
    sh, per = shingle_hashes(h, counts, 5)
    bounds = np.concatenate([[0], np.cumsum(per)])
    return [distinct(sh[bounds[i] : bounds[i + 1]]) for i in range(len(texts))]


def _band(j: float) -> str:
    for lo, hi in BANDS:
        if lo <= j < hi:
            return f"[{lo:.1f}, {min(hi, 1.0):.1f}{']' if hi > 1 else ')'}"
    raise AssertionError(j)


def main_() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="/tmp/bench_corpus")
    ap.add_argument("--base", type=int, default=3000)
    ap.add_argument("--planted", type=int, default=2000)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--bands", type=int, default=20)
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--verify-keeper", default="true", help="dedupe.minhash.verify_keeper")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    base = _load(args.corpus, args.base, rng)
    vocab = [w for d in base[:200] for w in d["text"].split()][:20000]
    docs = [dict(d, id=f"base-{i}") for i, d in enumerate(base)]
    originals = rng.sample(range(len(base)), min(args.planted, len(base)))
    planted: List[Tuple[str, str, str, float]] = []  # (original id, variant id, edit, true Jaccard)
    variants = []
    for n, i in enumerate(originals):
        kind = EDITS[n % len(EDITS)]
        variants.append({"id": f"variant-{n}", "text": _edit(base[i]["text"], kind, rng, vocab), "source": base[i]["source"],
                         "edit": kind, "of": f"base-{i}"})
    all_docs = docs + variants
    shingles = dict(zip((d["id"] for d in all_docs), _shingles([d["text"] for d in all_docs])))
    for v in variants:
        planted.append((v["of"], v["id"], v["edit"], jaccard(shingles[v["of"]], shingles[v["id"]])))
    rng.shuffle(all_docs)
    with tempfile.TemporaryDirectory(prefix="minhash-quality-") as scratch:
        for f in range(8):
            path = os.path.join(scratch, "documents", f"part-{f}.jsonl.gz")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with gzip.open(path, "wt") as out:
                for d in all_docs[f::8]:
                    out.write(json.dumps({"id": d["id"], "text": d["text"], "source": d["source"]}) + "\n")
        started = time.monotonic()
        code = main(["dedupe", "--documents", f"{scratch}/documents/*.jsonl.gz", "--dedupe.name", "near",
                     "--dedupe.minhash.num_bands", str(args.bands), "--dedupe.minhash.rows_per_band", str(args.rows),
                     "--dedupe.minhash.verify_keeper", args.verify_keeper, "--processes", str(args.processes)])
        seconds = time.monotonic() - started
        assert code == 0, code
        cluster: Dict[str, int] = {}
        for path in sorted(glob.glob(f"{scratch}/attributes/near/*.jsonl.gz")):
            for line in gzip.open(path, "rb"):
                rec = msgspec.json.decode(line)
                found = rec["attributes"]["near__minhash__cluster_id"]
                if found:
                    cluster[rec["id"]] = int(found[0][2])
    members: Dict[int, List[str]] = {}
    for doc_id, c in cluster.items():
        members.setdefault(c, []).append(doc_id)
    rows: Dict[str, List[int]] = {}
    for a, b, _, j in planted:
        r = rows.setdefault(_band(j), [0, 0])
        r[0] += 1
        r[1] += int(a in cluster and cluster.get(a) == cluster.get(b))
    # precision over every pair of documents that share a cluster
    pairs = wrong = 0
    worst = 1.0
    for c, ids in members.items():
        for i in ids:
            for o in ids:
                if i < o:
                    j = jaccard(shingles[i], shingles[o])
                    pairs += 1
                    wrong += int(j < 0.5)
                    worst = min(worst, j)
    print(f"# {len(all_docs):,} documents ({len(base):,} real, {len(variants):,} planted variants), "
          f"{args.bands} bands × {args.rows} rows, threshold 0.8, verify_keeper {args.verify_keeper}, {args.processes} processes, "
          f"{seconds:.1f}s")
    print("| true Jaccard | planted pairs | found in one cluster | recall |")
    print("| --- | --- | --- | --- |")
    for lo, hi in BANDS:
        key = _band(lo)
        total, found = rows.get(key, [0, 0])
        print(f"| {key} | {total:,} | {found:,} | {found / total if total else 0:.3f} |")
    hi_total = sum(1 for p in planted if p[3] >= 0.8)
    hi_found = sum(1 for a, b, _, j in planted if j >= 0.8 and a in cluster and cluster.get(a) == cluster.get(b))
    print(f"\nrecall at true Jaccard >= 0.8: {hi_found / hi_total:.4f} ({hi_found:,} of {hi_total:,})")
    print(f"clusters: {len(members):,}; pairs inside clusters: {pairs:,}; below Jaccard 0.5: {wrong:,}; "
          f"precision {1 - wrong / pairs if pairs else 1.0:.4f}; lowest pair similarity {worst:.3f}")
    by_edit: Dict[str, List[int]] = {}
    for a, b, kind, j in planted:
        if j >= 0.8:
            r = by_edit.setdefault(kind, [0, 0])
            r[0] += 1
            r[1] += int(a in cluster and cluster.get(a) == cluster.get(b))
    print("recall at >= 0.8 by edit: " + ", ".join(f"{k} {f}/{t}" for k, (t, f) in sorted(by_edit.items())))
    sys.stdout.flush()


if __name__ == "__main__":
    main_()
