#!/usr/bin/env python3
"""Tag the same documents with the reference Dolma and with ours, under every shared offline tagger name,
and print per attribute the share of documents whose values are equal (to Dolma's rounding: 5 decimals).

    python bench/taggers_side_by_side.py [--corpus '/tmp/bench_corpus/*/documents/*.jsonl.gz'] [-n 1200]
        [--reference /tmp/refdolma/bin/python] [--taggers NAME ...]

The reference runs in its own interpreter, from /tmp (so this repository's ``dolma/`` does not shadow it),
through its Python API: ``group_output(predict(doc))``, which is what ``dolma tag`` writes per document.
``code_secrets_v1`` and ``code_starcoder_taggers_v1`` need Dolma's ``code`` extra (detect-secrets 1.4.0,
beautifulsoup4) in the reference's environment; without it they are reported as skipped.

Taggers that download a model or list at run time (the URL/domain lists, the fastText quality and composition
models, GPT-NeoX-20B's tokenizer) run on local files made here from the sample: fastText models trained on it,
list files of hosts drawn from it, OLMo's NeoX tokenizer file. Dolma's classes get them as their
``BLOCKLIST_PATHS``/``MODEL_PATH`` (the tokenizer through ``Tokenizer.from_file``), ours through
``tagger_options``. Each document gets metadata for the taggers that read it: ``url`` (a host from a pool, half of
which the lists name), ``html`` (its text in a page, every fifth with a Creative Commons link) and ``ext`` (from
``metadata.path``, else ``py`` for code).
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
PLAIN_TAGGERS = [
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
    "cc_re",
    "cc_re_fast",
    "code_starcoder_taggers_v1",
    "code_secrets_v1",
]
LIST_KINDS = {  # tagger -> the list file it reads here
    **{name: "hosts" for name in [
        "blocklist_firebog_ads_v1", "blocklist_firebog_crypto_v1", "blocklist_firebog_malicious_v1",
        "blocklist_firebog_nsfw_v1", "blocklist_firebog_social_v1", "blocklist_firebog_suspicious_v1",
        "blocklist_firebog_trackers_v1", "blocklist_hosts_adware_malware_v1", "blocklist_hosts_fakenews_v1",
        "blocklist_hosts_gambling_v1", "blocklist_hosts_porn_v1", "blocklist_hosts_social_v1",
        "blocklist_project_ads_v1", "blocklist_project_crime_v1", "blocklist_project_nsfw_v1",
        "blocklist_project_social_v1", "blocklist_project_vice_v1", "domain_blocklist_phishing_v1",
        "domain_blocklist_utp_v1",
    ]},
    "link_blocklist_phishing_v1": "links",
    **{name: "adblock" for name in [
        "brave_core_abp_v1", "brave_nsfw_abp_v1", "oisd_big_abp_v1", "oisd_nsfw_abp_v1", "oisd_small_abp_v1",
    ]},
    "allowlist_wikidata_v1": "wikidata",
    "allowlist_wikidata_cleaned_v1": "wikidata",
}
MODEL_KINDS = {"dclm-oh-eli5": "quality", "dolma17-quality": "sources", "code_composition": "lines"}
NEOX = "tokenizers_EleutherAI_GPT_NeoX_20B"
DEFAULT_TAGGERS = PLAIN_TAGGERS + sorted(LIST_KINDS) + sorted(MODEL_KINDS) + [NEOX]
PRECISION = 5
HOSTS = [f"{sub}site{i}.{tld}" for i, (sub, tld) in enumerate(
    [(s, t) for s in ("", "www.", "news.", "a.b.") for t in ("com", "org", "co.uk", "io", "net")]
)]

_REFERENCE_SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
from dolma.core.registry import TaggerRegistry
import dolma.taggers  # noqa: F401  (registers the built-in taggers)
from dolma.core.data_types import DocumentWithMetadata
names = json.loads(sys.argv[2])
local = json.loads(sys.argv[3])  # name -> {"lists": [...]} | {"model": path} | {"tokenizer": path}
rows = [DocumentWithMetadata(**json.loads(line)) for line in open(sys.argv[1], encoding="utf-8")]
out = {}
for name in names:
    try:
        cls = TaggerRegistry.get(name)
        given = local.get(name, {})
        if "lists" in given:
            tagger = type("Local", (cls,), {"BLOCKLIST_PATHS": given["lists"]})()
        elif "model" in given:
            tagger = type("Local", (cls,), {"MODEL_PATH": given["model"]})()
        elif "tokenizer" in given:  # Dolma loads it from the hub by name: give it the file instead
            from tokenizers import Tokenizer
            tagger = cls.__new__(cls)
            tagger.tokenizer = Tokenizer.from_file(given["tokenizer"])
        else:
            tagger = cls()
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


def with_metadata(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """id, text, source and the metadata the URL, licence and code taggers read (see the module docstring)."""
    licences = ["by/4.0/", "by-sa/3.0/deed.de", "by-nc-nd/2.5/ca/legalcode.en", "publicdomain/zero/1.0/"]
    out = []
    for i, r in enumerate(rows):
        meta = r.get("metadata") or {}
        path = meta.get("path") or meta.get("relpath") or ""
        ext = path.rsplit("/", 1)[-1].rpartition(".")[2] if "." in path.rsplit("/", 1)[-1] else ""
        ext = ext or ("py" if r.get("source") == "code" else "html")
        body = f"<html><body><p>{r['text'][:300]}</p>"
        if i % 5 == 0:
            kind = licences[i // 5 % len(licences)]
            base = "licenses/" if not kind.startswith("publicdomain") else ""
            body += f'<a rel="license" href="https://creativecommons.org/{base}{kind}">CC</a>'
        metadata: Dict[str, Any] = {
            "url": f"http{'s' if i % 2 else ''}://{HOSTS[i % len(HOSTS)]}/page/{i}?q={i % 3}",
            "html": body + "</body></html>",
            "ext": ext,
        }
        if i % 7 == 0:
            metadata["max_stars_count"] = i
        out.append({"id": r["id"], "text": r["text"], "source": r.get("source", ""), "metadata": metadata})
    return out


def _train(folder: str, name: str, lines: List[str]) -> str:
    import fasttext

    from dolma.taggers.train_ft import zeroed_allocations

    data = os.path.join(folder, f"{name}.txt")
    with open(data, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with zeroed_allocations():
        model = fasttext.train_supervised(
            input=data, dim=16, bucket=20000, wordNgrams=2, epoch=5, lr=0.05, minCount=1, thread=1, seed=0, verbose=0
        )
    path = os.path.join(folder, f"{name}.bin")
    model.save_model(path)
    return path


def local_files(rows: List[Dict[str, Any]], folder: str, names: List[str]) -> Dict[str, Dict[str, Any]]:
    """The lists, models and tokenizer file the downloading taggers use here, made from the sample."""
    listed = HOSTS[::2]
    files = {
        "hosts": "# hosts\n" + "".join(f"0.0.0.0 {h}\n" if j % 2 else f"{h}\n" for j, h in enumerate(listed)),
        "links": "".join(f"{HOSTS[i % len(HOSTS)]}/page/{i}\n" for i in range(0, len(rows), 4)),
        "adblock": "! rules\n" + "".join(f"||{h}^\n" for h in listed[::2]) + "/page/1?\n",
        "wikidata": json.dumps([{"url": f"https://{h}/", "description": "website"} for h in listed]) + "\n",
    }
    paths = {}
    for kind, text in files.items():
        paths[kind] = os.path.join(folder, f"{kind}.txt")
        with open(paths[kind], "w", encoding="utf-8") as f:
            f.write(text)
    local: Dict[str, Dict[str, Any]] = {n: {"lists": [paths[k]]} for n, k in LIST_KINDS.items() if n in names}
    if any(n in MODEL_KINDS for n in names):
        flat = [" ".join(r["text"].split())[:2000] for r in rows]
        good = [f"__label__{'hq' if r['source'] in ('books', 'docs') else 'cc'} {t}" for r, t in zip(rows, flat)]
        sources = [f"__label__{r['source'] or 'none'} {t}" for r, t in zip(rows, flat)]
        lines = [
            f"__label__{'code' if r['source'] == 'code' else ('prose' if len(ln.split()) > 4 else 'other')} {ln}"
            for r in rows for ln in (x.strip() for x in r["text"].splitlines()[:40]) if len(ln) > 3
        ]
        models = {"quality": _train(folder, "quality", good), "sources": _train(folder, "sources", sources),
                  "lines": _train(folder, "lines", lines)}
        local.update({n: {"model": models[k]} for n, k in MODEL_KINDS.items() if n in names})
    if NEOX in names:
        from importlib.resources import files as package_files

        # OLMo's variant of the NeoX tokenizer (it adds PII tokens): the same file for both sides
        neox = package_files("dolma.tokens.data") / "allenai_eleuther-ai-gpt-neox-20b-pii-special.json"
        local[NEOX] = {"tokenizer": str(neox)}
    return local


def ours(rows: List[Dict[str, Any]], names: List[str], local: Dict[str, Dict[str, Any]]) -> Dict[str, List[Dict[str, Any]]]:
    from dolma.core.data_types import DocumentWithMetadata
    from dolma.core.registry import TaggerRegistry

    out: Dict[str, List[Dict[str, Any]]] = {}
    docs = [DocumentWithMetadata(source=r["source"], id=r["id"], text=r["text"], metadata=r["metadata"]) for r in rows]
    for name in names:
        cls = TaggerRegistry.get(name)
        tagger = cls(cls.Options(**local[name])) if name in local else cls()
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

    rows = with_metadata(sample(args.corpus, args.n, args.seed))
    with tempfile.TemporaryDirectory() as tmp:
        local = local_files(rows, tmp, args.taggers)
        docs_path = os.path.join(tmp, "docs.jsonl")
        with open(docs_path, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        proc = subprocess.run(
            [args.reference, "-c", _REFERENCE_SCRIPT, docs_path, json.dumps(args.taggers), json.dumps(local)],
            cwd=tmp, capture_output=True, text=True, check=True,
        )
        reference = json.loads(proc.stdout)
        names = [n for n in args.taggers if isinstance(reference.get(n), list)]
        for n in args.taggers:
            if n not in names:
                print(f"skipped {n}: reference failed: {reference.get(n)}", file=sys.stderr)
        mine = ours(rows, names, local)

    print(f"{len(rows)} documents; share of documents with equal values (rounded to {PRECISION} decimals)\n")
    print(f"| {'tagger':40} | {'attribute':48} | Dolma writes it | equal |")
    print(f"| {'-' * 40} | {'-' * 48} | --------------: | ----: |")
    for name in names:
        present: Dict[str, int] = defaultdict(int)  # documents where Dolma wrote a value for the attribute
        equal: Dict[str, int] = defaultdict(int)
        shown: Dict[str, int] = defaultdict(int)
        types = sorted({t for r in reference[name] + mine[name] for t in r})
        for i, (ref, our) in enumerate(zip(reference[name], mine[name])):
            for t in types:
                a, b = rounded(ref.get(t, [])), rounded(our.get(t, []))
                present[t] += bool(a)
                if a == b:
                    equal[t] += 1
                elif shown[t] < args.show:
                    shown[t] += 1
                    print(f"  {name} {t} doc {i}: dolma {a[:3]} ours {b[:3]}", file=sys.stderr)
        for t in types:
            share = 100 * present[t] / len(rows)
            print(f"| {name:40} | {t:48} | {share:14.1f}% | {100 * equal[t] / len(rows):5.1f}% |")


if __name__ == "__main__":
    main()
