"""Documents/s of each model tagger through the tag stage, at 1 and 2 processes, on ~1 KB documents.

Documents are the first ~1 KB (cut at a space) of documents of the benchmark corpus
(``../shared/bench/build_corpus.py --out DIR``), written as one documents file per process. Each tagger
runs ``--repeat`` times (models loaded before the first timed run); printed: the median wall-clock docs/s and
the median docs per CPU-second (this process and its workers), which varies less on a shared machine.

    python bench/model_taggers_throughput.py --corpus /tmp/bench/corpus [--docs 20000] [--repeat 3] [--taggers a b ...]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import statistics
import sys
import tempfile
import time

from dolma.core.config import resolve
from dolma.core.executor import execute
from dolma.core.io import AtomicWriter, read_bytes
from dolma.taggers.config import TagConfig
from dolma.taggers.stage import TagStage

DEFAULT = [
    "ft_lang_id_doc_v1", "ft_lang_id_1e2", "ft_lang_id_en_doc_v2", "ft_lang_id_en_paragraph_with_doc_score_v2",
    "cld2_doc_v2", "lang_ensemble_v1", "profanity_document_v1", "profanity_sentence_v1",
    "code_redpajama_taggers_v1", "code_starcoder_taggers_v2", "code_copyright_comments_v1",
]  # fmt: skip


def sample(corpus: str, n: int) -> list:
    docs = []
    files = sorted(glob.glob(os.path.join(corpus, "*", "documents", "*.jsonl.gz")))
    readers = [iter(read_bytes(f).splitlines()) for f in files]
    while len(docs) < n and readers:
        for it in list(readers):
            line = next(it, None)
            if line is None:
                readers.remove(it)
                continue
            d = json.loads(line)
            text = d["text"][:1100]
            cut = text.rfind(" ", 0, 1024)
            docs.append({"id": d["id"], "text": text[: cut if cut > 0 else 1024], "metadata": d.get("metadata") or {}})
    return docs[:n]


def _cpu_seconds() -> float:
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--taggers", nargs="*", default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    docs = sample(args.corpus, args.docs)
    mb = sum(len(d["text"].encode()) for d in docs) / 1e6
    print(f"{len(docs)} documents, {mb:.1f} MB ({mb * 1e6 / len(docs):.0f} B/doc)")
    print(f"{'tagger':<45} {'procs':>5} {'docs/s':>9} {'docs/cpu-s':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for procs in (1, 2):
            root = os.path.join(tmp, f"p{procs}", "documents")
            share = (len(docs) + procs - 1) // procs
            for i in range(procs):
                with AtomicWriter(os.path.join(root, f"part-{i}.jsonl")) as w:
                    w.write(b"".join(json.dumps(d).encode() + b"\n" for d in docs[i * share : (i + 1) * share]))
            for tagger in args.taggers:
                config = resolve(TagConfig, {"documents": [root + "/*.jsonl"], "taggers": [tagger],
                                             "experiment": f"bench_{tagger}", "processes": procs})
                stage = TagStage(config)
                stage.setup_plugins()
                stage.setup()  # load the models once, outside the timings
                walls, cpus = [], []
                for _ in range(args.repeat):
                    cpu0 = _cpu_seconds()
                    started = time.perf_counter()
                    report = execute(stage, stage.units(), procs, True)
                    walls.append(time.perf_counter() - started)
                    cpus.append(_cpu_seconds() - cpu0)
                    if not report.ok:
                        break
                status = "" if report.ok else f"  FAILED: {report.failed[0][1][:120]}"
                wall, cpu = statistics.median(walls), statistics.median(cpus)
                print(f"{tagger:<45} {procs:>5} {len(docs) / wall:>9.0f} {len(docs) / cpu:>11.0f}{status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
