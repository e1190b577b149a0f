"""One-pass dedupe: every partition from one hashing pass gives the bytes of per-partition runs; exact mode marks
exactly the repeats; the intermediate files read back what was written."""

from __future__ import annotations

import glob
import os
import random
from typing import Any, Dict, List

import numpy as np
import pytest

from dolma.cli import main
from dolma.dedup.keyfiles import read_marks, read_partition_keys, write_keys, write_marks
from tests.conftest import read_jsonl, write_documents

WORDS = ["alpha", "beta", "gamma", "delta", "épsilon", "日本", "zeta", "eta", "theta", "iota"]


def _corpus(root: str, files: int = 3, docs: int = 40, seed: int = 0, bad: bool = False) -> None:
    rng = random.Random(seed)
    pool = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))) for _ in range(60)]
    for f in range(files):
        rows = [{"id": f"{f}-{d}", "text": "\n".join(rng.choice(pool) for _ in range(rng.randint(0, 6)))}
                for d in range(docs)]
        write_documents(f"{root}/documents/part-{f}.jsonl.gz", rows)
    if bad:  # a line that is not a document: quarantined, with empty attributes
        from tests.conftest import write_bytes

        write_bytes(f"{root}/documents/part-bad.jsonl.gz", b'{"id": "ok", "text": "alpha beta"}\n{"id": 3, "text": 1}\n')


def _attributes(root: str) -> Dict[str, bytes]:
    out = {}
    for path in sorted(glob.glob(f"{root}/attributes/*/*.gz")):
        with open(path, "rb") as f:
            out[os.path.relpath(path, root)] = f.read()
    return out


MODES = {
    "paragraphs": ["--dedupe.paragraphs.attribute_name", "dup"],
    "ngrams": ["--dedupe.paragraphs.attribute_name", "dup", "--dedupe.paragraphs.by_ngram.ngram_length", "3",
               "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.5"],
    "documents": ["--dedupe.documents.attribute_name", "dup", "--dedupe.documents.key", "$.text"],
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_one_pass_matches_each_partition_run_on_its_own(tmp_path: Any, mode: str) -> None:
    root = str(tmp_path / "c")
    _corpus(root, bad=True)
    common = ["dedupe", "--documents", f"{root}/documents/*.gz", "--on_error", "skip", "--dedupe.name", "dup",
              "--dedupe.num_partitions", "3", "--bloom_filter.estimated_doc_count", "10000", "--bloom_filter.desired_false_positive_rate",
              "0.0001", *MODES[mode]]
    assert main([*common, "--dedupe.one_pass", "true", "--bloom_filter.file", f"{tmp_path}/one.bin"]) == 0
    one_pass = _attributes(root)
    assert not os.path.exists(f"{root}/dedupe_keys")  # the key files and their folders are gone after a successful run
    for p in range(3):
        assert os.path.exists(f"{tmp_path}/one-p{p}of3.bin")
    for path in glob.glob(f"{root}/attributes/*/*"):
        os.remove(path)
    for p in range(3):
        assert main([*common, "--dedupe.partition_index", str(p), "--bloom_filter.file", f"{tmp_path}/l{p}.bin"]) == 0
    local = _attributes(root)
    assert len(local) == 15 and one_pass == local  # 4 files' attributes and the bad file's quarantine, times 3
    for p in range(3):
        assert open(f"{tmp_path}/one-p{p}of3.bin", "rb").read() == open(f"{tmp_path}/l{p}.bin", "rb").read()


def _marked(root: str, name: str, partitions: int) -> Dict[str, List[List[Any]]]:
    """Every partition's spans of the set ``name`` (attribute ``dup``), together."""
    out: Dict[str, List[List[Any]]] = {}
    suffixes = [""] if partitions == 1 else [f"_{p}" for p in range(partitions)]
    for suffix in suffixes:
        for path in sorted(glob.glob(f"{root}/attributes/{name}{suffix}/*.gz")):
            for line in read_jsonl(path):
                out.setdefault(line["id"], []).extend(line["attributes"].get(f"dup{suffix}", []))
    return {k: sorted(v) for k, v in out.items()}


def _oracle(root: str) -> Dict[str, List[List[Any]]]:
    """Paragraphs seen earlier in input order, by plain Python."""
    seen = set()
    out: Dict[str, List[List[Any]]] = {}
    for path in sorted(glob.glob(f"{root}/documents/*.gz")):
        for doc in read_jsonl(path):
            spans, start = [], 0
            parts = doc["text"].split("\n")
            for i, part in enumerate(parts):
                end = start + len(part) + (1 if i < len(parts) - 1 else 0)
                if i == len(parts) - 1 and not part:
                    break
                if part in seen:
                    spans.append([start, end, 1])
                seen.add(part)
                start = end
            out[doc["id"]] = sorted(spans)
    return out


@pytest.mark.parametrize("partitions", [1, 4])
def test_exact_mode_marks_exactly_the_repeats_where_a_small_bloom_filter_errs(tmp_path: Any, partitions: int) -> None:
    root = str(tmp_path / "c")
    _corpus(root, files=2, docs=60, seed=1)
    common = ["dedupe", "--documents", f"{root}/documents/*.gz", "--dedupe.paragraphs.attribute_name", "dup",
              "--dedupe.num_partitions", str(partitions)]
    assert main([*common, "--dedupe.exact", "true", "--dedupe.name", "exact"]) == 0
    assert _marked(root, "exact", partitions) == _oracle(root)
    # a filter of 64 bits is nearly full: it takes new paragraphs for repeats
    assert main([*common, "--dedupe.one_pass", "true", "--dedupe.name", "bloom", "--bloom_filter.file",
                 f"{tmp_path}/small.bin", "--bloom_filter.size_in_bytes", "8"]) == 0
    bloom = _marked(root, "bloom", partitions)
    oracle = _oracle(root)
    assert bloom != oracle and all(set(map(tuple, oracle[k])) <= set(map(tuple, bloom[k])) for k in oracle)


def test_key_and_mark_files_read_back_one_partition(tmp_path: Any) -> None:
    rng = np.random.default_rng(0)
    buckets = [rng.integers(0, 2**63, size=(n, 2), dtype=np.uint64) for n in (3, 0, 5)]
    write_keys(str(tmp_path / "k"), buckets)
    for p, b in enumerate(buckets):
        assert np.array_equal(read_partition_keys(str(tmp_path / "k"), p), b)
    marks = [rng.random(n) < 0.5 for n in (9, 0, 17)]
    write_marks(str(tmp_path / "m"), marks)
    for i, m in enumerate(marks):
        assert np.array_equal(read_marks(str(tmp_path / "m"), i, len(m)), m)
