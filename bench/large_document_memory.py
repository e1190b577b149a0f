#!/usr/bin/env python3
"""Peak memory of one very large document through the quickstart's stages: each tagger alone, then tag (all six),
dedupe (paragraphs with a Bloom filter; the quickstart's exact paragraphs; documents), mix (a filter and a span replacement) and tokens (GPT-2), each a separate `dolma` run.

    python bench/large_document_memory.py [--mb 200] [--work DIR] [--reuse] [--only STAGE ...]

The document is real text: this Python installation's standard-library sources (those written in Latin-1
characters), concatenated until it holds ``--mb`` MB of UTF-8. Every stage runs twice, on a one-kilobyte document and on the large one, at one process, with
``max_document_bytes`` raised above the document's size; the figure is the run's peak RSS (the largest resident set
of any process of the run, polled from /proc) above the small run's peak, as a multiple of the document's size.
Issue #16's target: at most 3x, and time linear in the size (compare ``--mb 50`` with ``--mb 200``; the CPU seconds
column, the run's processes' user and system time, does not stretch on a loaded machine as wall time does).
``--reuse`` runs stages again on the corpus a previous run left in ``--work`` (removing their earlier outputs first).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tag_throughput import TAGGERS, _tree_rss_peak  # noqa: E402  (the quickstart's taggers; the /proc poller)

MiB = 1 << 20


def real_text(mb: int) -> str:
    """``mb`` MB of standard-library source text (repeated when the installation holds less), from the files whose
    characters are all Latin-1, so Python holds the text at one byte per character like its UTF-8 (one emoji makes
    Python store a whole string at four bytes per character: the bound is relative to the in-memory text)."""
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))
    parts: List[str] = []
    size = 0
    while size < mb * 1_000_000:
        for path in files:
            text = path.read_text(encoding="utf-8", errors="replace")
            if not text.isascii() and max(map(ord, text)) > 0xFF:
                continue
            parts.append(text)
            size += len(text.encode("utf-8")) + 2
            if size >= mb * 1_000_000:
                break
    return "\n\n".join(parts)


def prose_text(mb: int) -> str:
    """``mb`` MB of prose-like text: sentences of 5 to 25 consecutive words of the standard library's comments
    (about 5.6 characters a word with its space, as English web text; the sources have about 12), one a line."""
    words: List[str] = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))[:400]:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if line.startswith("#"):
                words += [w for w in line[1:].split() if w.isalpha()]
    rng = random.Random(1)
    lines: List[str] = []
    size = 0
    while size < mb * 1_000_000:
        k = rng.randint(5, 25)
        start = rng.randrange(len(words) - k)
        lines.append(" ".join(words[start : start + k]) + ".\n")
        size += len(lines[-1])
    return "".join(lines)


def write_corpus(root: Path, text: str) -> int:
    """The one-document corpus; returns the length of its line (the text JSON-escaped), what max_document_bytes
    is compared with."""
    docs = root / "documents"
    docs.mkdir(parents=True)
    line = json.dumps({"id": "big", "text": text, "source": "bench"}) + "\n"
    with gzip.open(docs / "big.jsonl.gz", "wt", encoding="utf-8", compresslevel=1) as f:
        f.write(line)
    return len(line.encode("utf-8"))


def run(args: List[str], cwd: Path) -> Tuple[float, float, int]:
    """Seconds, CPU seconds (the run's processes, user and system: what a loaded machine does not stretch) and peak
    RSS (bytes, any process of the tree) of ``dolma <args>``."""
    peak: List[int] = []
    stop = threading.Event()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "dolma.cli", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    poller = threading.Thread(target=_tree_rss_peak, args=(proc.pid, stop, peak), daemon=True)
    poller.start()
    out, err = proc.communicate()
    stop.set()
    poller.join()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"dolma {' '.join(args)} failed ({proc.returncode}):\n{err[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, peak[0]


def stage_args(root: Path, limit: int, taggers: Sequence[str] = TAGGERS) -> Dict[str, List[str]]:
    common = ["--processes", "1", "--max_document_bytes", str(limit)]
    docs = str(root / "documents" / "*.jsonl.gz")
    tag = ["tag", "--documents", docs, *common]
    out: Dict[str, List[str]] = {f"tag {t}": [*tag, "--experiment", f"one_{t}", "--taggers", t] for t in taggers}
    out["tag (all six)"] = [*tag, "--experiment", "quality", "--taggers", *TAGGERS]
    out["dedupe paragraphs"] = [
        "dedupe", "--documents", docs, *common, "--dedupe.name", "dedupe_paragraphs",
        "--dedupe.paragraphs.attribute_name", "bff_duplicate_paragraph_spans",
        "--bloom_filter.file", str(root / "bloom.bin"), "--bloom_filter.estimated_doc_count", "5000000",
        "--bloom_filter.desired_false_positive_rate", "0.001",
    ]
    # the quickstart's own dedupe (configs/quickstart.yaml): exact keys, empty paragraphs skipped, first occurrences
    out["dedupe paragraphs (exact, quickstart)"] = [
        "dedupe", "--documents", docs, *common, "--dedupe.name", "dedupe_exact",
        "--dedupe.paragraphs.attribute_name", "bff_duplicate_paragraph_spans", "--dedupe.skip_empty", "true",
        "--dedupe.exact", "true",
    ]
    out["dedupe documents"] = [
        "dedupe", "--documents", docs, *common, "--dedupe.name", "dedupe_documents",
        "--dedupe.documents.attribute_name", "bff_duplicate_documents", "--dedupe.documents.key", "$.text",
        "--bloom_filter.file", str(root / "bloom_documents.bin"), "--bloom_filter.estimated_doc_count", "5000000",
        "--bloom_filter.desired_false_positive_rate", "0.001",
    ]
    out["mix"] = ["mix", "-c", str(root / "mix.yaml"), *common]
    out["tokens (gpt2)"] = [
        "tokens", "--documents", docs, "--destination", str(root / "tokens"),
        "--tokenizer.name_or_path", "gpt2", *common,
    ]
    return out


def outputs_of(name: str, root: Path) -> List[Path]:
    """What the stage ``name`` writes under ``root`` (removed before it runs again on a reused corpus)."""
    if name == "tag (all six)":
        return [root / "attributes" / "quality"]
    if name.startswith("tag "):
        return [root / "attributes" / f"one_{name[4:]}"]
    if name.startswith("dedupe"):
        set_name = {"dedupe paragraphs": "dedupe_paragraphs", "dedupe documents": "dedupe_documents"}.get(name, "dedupe_exact")
        return [root / "attributes" / set_name, root / "first_occurrences" / set_name, root / "dedupe_keys" / set_name,
                *root.glob("bloom*.bin*")]
    return [root / ("mixed" if name == "mix" else "tokens")]


def write_mix_config(root: Path) -> None:
    config = {
        "streams": [{
            "name": "all",
            "documents": [str(root / "documents" / "*.jsonl.gz")],
            "attributes": ["quality", "dedupe_paragraphs"],
            "output": {"path": str(root / "mixed"), "max_size_in_bytes": 1 << 40},
            "filter": {"exclude": ["$.attributes[?(@.quality__char_length_v1__length[0][2] < 10)]"]},
            "span_replacement": [{"span": "$.attributes.bff_duplicate_paragraph_spans", "min_score": 0.5, "replacement": ""}],
        }]
    }
    (root / "mix.yaml").write_text(json.dumps(config))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=200, help="size of the large document in MB (default 200)")
    ap.add_argument("--work", default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--reuse", action="store_true",
                    help="use the corpus (and what earlier runs wrote) already in --work instead of writing a new one")
    ap.add_argument("--only", nargs="*", default=None,
                    help="run only stages whose name contains one of these (mix reads what the tag and dedupe runs wrote)")
    ap.add_argument("--taggers", nargs="*", default=TAGGERS,
                    help="taggers measured one by one (default: the quickstart's six; any registered name)")
    ap.add_argument("--text", choices=["sources", "prose"], default="sources",
                    help="the document: standard-library sources (default) or prose-like sentences of their comments")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="bigdoc-"))
    small, big = work / "small", work / "big"
    sizes = work / "sizes.json"
    if args.reuse and sizes.exists():
        size, limit = json.loads(sizes.read_text())
    else:
        text = prose_text(args.mb) if args.text == "prose" else real_text(args.mb)
        size = len(text.encode("utf-8"))
        write_corpus(small, text[:1000])
        limit = write_corpus(big, text) + MiB  # so the document is read, not quarantined
        del text
        for root in (small, big):
            write_mix_config(root)
        sizes.write_text(json.dumps([size, limit]))
    print(f"document: {size / 1e6:.1f} MB of UTF-8 ({args.text}); work: {work}")
    print(f"{'stage':34} {'seconds':>8} {'CPU s':>7} {'MB/s':>7} {'base RSS':>9} {'peak RSS':>9} {'above':>8} {'x doc':>6}")
    for name, small_args in stage_args(small, limit, args.taggers).items():
        if args.only and not any(o in name for o in args.only):
            continue
        for root in (small, big):
            for path in outputs_of(name, root):
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        _, _, base = run(small_args, small)
        seconds, cpu, peak = run(stage_args(big, limit, args.taggers)[name], big)
        if any(big.rglob("*quarantine*")):
            raise SystemExit(f"{name}: the document went to quarantine, so the figure would not measure it")
        above = max(0, peak - base)
        print(
            f"{name:34} {seconds:8.1f} {cpu:7.1f} {size / 1e6 / seconds:7.1f} {base / MiB:8.0f}M {peak / MiB:8.0f}M "
            f"{above / MiB:7.0f}M {above / size:6.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
