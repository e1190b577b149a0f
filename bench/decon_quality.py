"""Quality of the `decon` tagger: HumanEval items planted, with edits, into real documents; the rest left clean.

    python bench/decon_quality.py --corpus /tmp/bench_corpus [--seed 7] [--thresholds 0.4,0.5,0.6,0.7,0.8]

Every HumanEval item the index holds is planted once per kind of edit, each copy at a paragraph break of its own
host document (drawn from ``DIR/*/documents/*.jsonl.gz``, seeded); every other document of the corpus is a clean
document. Kinds of edit:

- ``exact``: question (prompt) and answer (canonical solution) as they are;
- ``whitespace``: runs of spaces and newlines resized, punctuation spaced out, dropped or swapped (`,` `.` `:`
  quotes, brackets);
- ``partial``: a contiguous 60-80% of the item's words (a prompt without its solution, a solution without its
  prompt's head);
- ``swaps``: about one word in 14 replaced by another word of the corpus (paraphrase-like);
- ``renamed``: the function and its arguments renamed everywhere (signature, body, docstring examples).

Near misses, which must not match: one more document per item holds only a fragment of it, the kind of overlap
that is not a copy — its signature line (``def name(args) -> type:``) or one docstring sentence, under 15 words.

Prints recall per kind, and for each threshold recall, document-level precision, the false-positive rate on
clean documents (documents flagged / clean documents) and the near misses flagged. Not a test: it reads the
benchmark corpus.
"""

from __future__ import annotations

import argparse
import ast
import glob
import gzip
import json
import re
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

from dolma.decon.config import EvalSetConfig, IndexConfig
from dolma.decon.index import build_index
from dolma.decon.match import MatchSettings, find_matches, item_bars

KINDS = ("exact", "whitespace", "partial", "swaps", "renamed")
_PUNCT = {",": [" ,", ";", ""], ".": ["", " .", "!"], ":": [" :", ";"], '"""': ["'''"], "(": ["( "], ")": [" )"],
          "[": ["[ "], "]": [" ]"], "'": ['"']}


def _whitespace(text: str, rng: np.random.Generator) -> str:
    out = re.sub(r"[ \t]+", lambda m: " " * int(rng.integers(1, 4)), text)
    out = re.sub(r"\n+", lambda m: "\n" * int(rng.integers(1, 3)) if rng.random() < 0.8 else " ", out)
    keys = sorted(_PUNCT, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(k) for k in keys))
    return pattern.sub(lambda m: str(rng.choice(_PUNCT[m.group()])) if rng.random() < 0.5 else m.group(), out)


def _partial(text: str, rng: np.random.Generator) -> str:
    words = list(re.finditer(r"\S+", text))
    keep = int(len(words) * rng.uniform(0.6, 0.8))
    first = int(rng.integers(0, len(words) - keep + 1))
    return text[words[first].start() : words[first + keep - 1].end()]


def _swaps(text: str, rng: np.random.Generator, vocabulary: List[str]) -> str:
    return re.sub(r"[A-Za-z]{3,}", lambda m: str(rng.choice(vocabulary)) if rng.random() < 1 / 14 else m.group(), text)


def _renamed(item: Dict[str, str], text: str, rng: np.random.Generator) -> str:
    """The entry point and its arguments renamed, as whole words, everywhere in the text."""
    names: List[str] = []
    try:
        tree = ast.parse(item["prompt"] + item["canonical_solution"])
    except SyntaxError:
        tree = ast.parse(item["prompt"] + "    pass\n")
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == item["entry_point"]:
            names = [node.name] + [a.arg for a in node.args.args]
    mapping = {name: f"{name[0]}{int(rng.integers(0, 1000))}_{['val', 'arg', 'fn', 'obj'][i % 4]}"
               for i, name in enumerate(names)}
    if not mapping:
        return text
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(mapping, key=len, reverse=True)) + r")\b")
    return pattern.sub(lambda m: mapping[m.group()], text)


def _fragment(text: str, rng: np.random.Generator) -> str:
    """The signature line or one sentence of the item, under 15 words: an overlap that is not a copy."""
    lines = [line for line in text.splitlines() if line.lstrip().startswith("def ")]
    sentences = [s.strip() for s in re.split(r"(?<=[.?!])\s+", text) if 4 <= len(s.split()) < 15]
    choices = [line for line in lines if len(line.split()) < 15] + sentences
    if not choices:
        return " ".join(text.split()[:10])
    return str(rng.choice(choices))


def _documents(corpus: str) -> List[Dict[str, str]]:
    docs = []
    for path in sorted(glob.glob(f"{corpus}/*/documents/*.jsonl.gz")):
        with gzip.open(path, "rt") as f:
            docs += [{"id": d["id"], "text": d["text"]} for d in map(json.loads, f)]
    return docs


def _plant(host: str, copy: str, rng: np.random.Generator) -> str:
    breaks = [m.end() for m in re.finditer(r"\n\n", host)]
    at = int(rng.choice(breaks)) if breaks else len(host)
    return host[:at] + copy + "\n\n" + host[at:]


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--thresholds", default="0.2,0.3,0.4,0.5,0.6,0.8")
    parser.add_argument("--probe-every", type=int, default=MatchSettings.probe_every)
    parser.add_argument("--ngram", type=int, default=IndexConfig().ngram_size)
    parser.add_argument("--weighting", default="idf", choices=["idf", "plain"])
    parser.add_argument("--exact-below", type=int, default=MatchSettings.exact_below)
    parser.add_argument("--ease-until", type=int, default=MatchSettings.ease_until)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    index, items = build_index(IndexConfig(sets=[EvalSetConfig(name="humaneval", preset="humaneval")],
                                           ngram_size=args.ngram))
    from dolma.decon.evalsets import resolve_preset

    with gzip.open(resolve_preset(EvalSetConfig(name="h", preset="humaneval")).path[0], "rt") as f:
        raw = {r["task_id"]: r for r in map(json.loads, f)}
    docs = _documents(args.corpus)
    vocabulary = sorted({w for d in docs[:2000] for w in re.findall(r"[a-z]{4,12}", d["text"])})

    hosts = rng.choice(len(docs), size=len(items) * (len(KINDS) + 1), replace=False)
    truth: Dict[int, Tuple[str, int]] = {}  # document → (kind, item number)
    near: Dict[int, int] = {}  # document → the item a fragment of which it holds
    texts = [d["text"] for d in docs]
    k = 0
    for number, item in enumerate(items):
        whole = item.question + item.answer
        for kind in KINDS:
            if kind == "exact":
                copy = whole
            elif kind == "whitespace":
                copy = _whitespace(whole, rng)
            elif kind == "partial":
                copy = _partial(whole, rng)
            elif kind == "swaps":
                copy = _swaps(whole, rng, vocabulary)
            else:
                copy = _renamed(raw[item.id], whole, rng)
            d = int(hosts[k])
            k += 1
            texts[d] = _plant(texts[d], copy, rng)
            truth[d] = (kind, number)
        d = int(hosts[k])
        k += 1
        texts[d] = _plant(texts[d], _fragment(whole, rng), rng)
        near[d] = number

    thresholds = [float(t) for t in args.thresholds.split(",")]
    lowest = MatchSettings(threshold=min(thresholds), exact_below=args.exact_below, ease_until=args.ease_until,
                           probe_every=args.probe_every, weighting=args.weighting)
    bars_low = item_bars(index, lowest)
    start = time.process_time()
    found: List[List] = []
    for i in range(0, len(texts), 512):
        found += find_matches(texts[i : i + 512], index, lowest, bars_low)
    seconds = time.process_time() - start
    mb = sum(len(t.encode()) for t in texts) / 1e6
    clean = len(texts) - len(truth) - len(near)
    print(f"corpus: {len(texts):,} documents ({mb:.1f} MB), {len(truth):,} planted ({len(items)} HumanEval items x "
          f"{len(KINDS)} edits), {len(near)} near misses, {clean:,} clean; matching took {seconds:.1f} CPU seconds "
          f"({len(texts) / seconds:,.0f} docs/s, {mb / seconds:.1f} MB/s)")

    print("\n| threshold | recall | " + " | ".join(f"recall {k}" for k in KINDS)
          + " | precision (documents) | false positives (clean documents) | FP rate | near misses flagged |")
    print("|---" * (6 + len(KINDS)) + "|")
    for t in thresholds:
        bars = item_bars(index, MatchSettings(threshold=t, exact_below=args.exact_below, ease_until=args.ease_until))
        hit: Dict[str, int] = {kind: 0 for kind in KINDS}
        flagged_true = flagged_false = 0
        fp_docs: List[int] = []
        near_flagged = 0
        for d, matches in enumerate(found):
            kept = [m for m in matches if m.score >= bars[m.item]]
            if d in near:
                near_flagged += bool(kept)
            elif d in truth:
                kind, number = truth[d]
                if any(m.item == number for m in kept):
                    hit[kind] += 1
                    flagged_true += 1
                elif kept:
                    flagged_false += 1
            elif kept:
                flagged_false += 1
                fp_docs.append(d)
        per_kind = [hit[kind] / len(items) for kind in KINDS]
        recall = sum(hit.values()) / len(truth)
        flagged = flagged_true + flagged_false
        precision = flagged_true / flagged if flagged else 1.0
        print(f"| {t:.2f} | {recall:.4f} | " + " | ".join(f"{r:.3f}" for r in per_kind)
              + f" | {precision:.4f} | {len(fp_docs)} | {len(fp_docs) / clean:.2e} | {near_flagged} of {len(near)} |")
        for d in fp_docs[:3]:
            m = max(found[d], key=lambda x: x.score)
            print(f"    false positive at {t}: {docs[d]['id']}: item {items[m.item].id}, score {m.score:.3f}: "
                  f"{texts[d][m.start:m.end][:160]!r}")


if __name__ == "__main__":
    main()
