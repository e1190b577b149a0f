"""The dedupe stage: exact paragraphs, n-grams and document keys; determinism, persistence, partitions."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, List

import numpy as np
import pytest

from dolma.cli import main
from dolma.dedup.bloom import HEADER_SIZE, BloomFilter, BloomParams, hash_keys
from tests.conftest import read_jsonl, write_documents

DOCS_A = [
    {"id": "a", "text": "héllo wörld\nsecond para\n\nhéllo wörld\n", "metadata": {"url": "u1"}},
    {"id": "b", "text": "second para\nnew 日本語 text\n   \nhéllo wörld", "metadata": {"url": "u2"}},
    {"id": "c", "text": "", "metadata": {"url": "u1"}},
    {"id": "d", "text": "héllo wörld\nsecond para\n\nhéllo wörld\n", "metadata": {"url": "u3"}},
    {"id": "e", "text": "\n\n", "metadata": {"url": "u3"}},
]
DOCS_B = [
    {"id": "f", "text": "the quick brown fox jumps over the lazy dog\nnew 日本語 text", "metadata": {"url": "u4"}},
    {"id": "g", "text": "a b\n\nc", "metadata": {"url": "u2"}},
]


def _corpus(tmp_path: Any) -> str:
    root = str(tmp_path / "corpus")
    write_documents(f"{root}/documents/a.jsonl.gz", DOCS_A)
    write_documents(f"{root}/documents/b.jsonl.gz", DOCS_B)
    return root


def _run(root: str, *flags: str, mode: str = "paragraphs", expect: int = 0) -> None:
    args = ["dedupe", "--documents", f"{root}/documents/*.jsonl.gz", "--bloom_filter.file", f"{root}/filter.bin",
            "--bloom_filter.estimated_doc_count", "1000", "--bloom_filter.desired_false_positive_rate", "0.000001"]
    if mode == "paragraphs":
        args += ["--dedupe.paragraphs.attribute_name", "dup"]
    assert main(args + list(flags)) == expect


def _spans(root: str, name: str = "dup", attr: str = "dup") -> Dict[str, List[List[Any]]]:
    out: Dict[str, List[List[Any]]] = {}
    for f in ("a", "b"):
        for line in read_jsonl(f"{root}/attributes/{name}/{f}.jsonl.gz"):
            out[line["id"]] = line["attributes"].get(attr)
    return out


def test_exact_paragraphs_code_points_and_separators(tmp_path: Any) -> None:
    root = _corpus(tmp_path)
    _run(root)
    spans = _spans(root)
    # spans are code points and include the separator; the first occurrence in input order is kept
    assert spans["a"] == [[25, 37, 1]]
    assert spans["b"] == [[0, 12, 1], [29, 40, 1]]  # the last paragraph ends at len(text) == 40
    assert spans["c"] == []
    assert spans["d"] == [[0, 12, 1], [12, 24, 1], [24, 25, 1], [25, 37, 1]]
    assert spans["e"] == [[0, 1, 1], [1, 2, 1]]  # empty paragraphs are keys too unless skip_empty
    assert spans["f"] == [[44, 56, 1]]  # across files
    assert spans["g"] == [[4, 5, 1]]
    assert DOCS_A[1]["text"][29:40] == "héllo wörld"
    with open(f"{root}/attributes/dup/a.jsonl.gz.manifest.json") as f:
        manifest = json.load(f)
    assert manifest["counts"]["spans"] == 9 and manifest["counts"]["documents_marked"] == 4
    texts = {d["id"]: d["text"] for d in DOCS_A}
    marked = sum(len(texts[i][s:e].encode()) for i in texts for s, e, _ in spans[i])
    assert manifest["counts"]["bytes_marked"] == marked  # UTF-8 bytes, separators included
    assert manifest["config"]["deterministic"] is True


def test_skip_empty_min_length_min_words(tmp_path: Any) -> None:
    root = _corpus(tmp_path)
    _run(root, "--dedupe.skip_empty")
    spans = _spans(root)
    assert spans["d"] == [[0, 12, 1], [12, 24, 1], [25, 37, 1]] and spans["e"] == [] and spans["g"] == []
    os.remove(f"{root}/filter.bin")
    _run(root, "--dedupe.min_length", "13", "--ignore_existing")
    assert all(v == [] for v in _spans(root).values())  # every paragraph is shorter than 13 code points
    os.remove(f"{root}/filter.bin")
    _run(root, "--dedupe.min_words", "2", "--ignore_existing")
    spans = _spans(root)
    assert spans["d"] == [[0, 12, 1], [12, 24, 1], [25, 37, 1]]  # Dolma 1.2.1 marks nothing once min_words > 0


def test_ngrams_overlap_fraction(tmp_path: Any) -> None:
    root = str(tmp_path / "ng")
    write_documents(f"{root}/documents/a.jsonl.gz", [
        {"id": "1", "text": "the quick brown fox jumps over the lazy dog\nalpha beta gamma delta"},
        {"id": "2", "text": "the quick brown fox jumps over a lazy cat today\nalpha beta\nalpha beta gamma delta epsilon"},
    ])
    write_documents(f"{root}/documents/b.jsonl.gz", [{"id": "3", "text": "alpha beta\nzzz"}])
    _run(root, "--dedupe.paragraphs.by_ngram.ngram_length", "3", "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.5")
    got = {line["id"]: line["attributes"]["dup"] for f in "ab" for line in read_jsonl(f"{root}/attributes/dup/{f}.jsonl.gz")}
    assert got["1"] == []
    assert got["2"] == [[0, 48, 0.5], [59, 89, pytest.approx(2 / 3)]]  # 4 of 8 and 2 of 3 trigrams seen
    assert got["3"] == [[0, 11, 1.0]]  # short paragraphs are matched whole


def test_documents_by_key(tmp_path: Any) -> None:
    root = _corpus(tmp_path)
    for key in ("$.metadata.url", "metadata.url", "$['metadata']['url']"):
        _run(root, "--dedupe.documents.attribute_name", "dd", "--dedupe.documents.key", key, "--ignore_existing", mode="doc")
        spans = _spans(root, "dd", "dd")
        assert spans == {"a": [], "b": [], "c": [[0, 0, 1]], "d": [], "e": [[0, 2, 1]], "f": [], "g": [[0, 6, 1]]}
        os.remove(f"{root}/filter.bin")
    _run(root, "--dedupe.documents.attribute_name", "dd", "--dedupe.documents.key", "$.text", "--dedupe.skip_empty",
         "--ignore_existing", mode="doc")
    spans = _spans(root, "dd", "dd")
    assert spans["d"] == [[0, 37, 1]] and spans["c"] == [] and spans["e"] == []


def test_bad_keys(tmp_path: Any, capsys: Any) -> None:
    root = str(tmp_path / "bad")
    write_documents(f"{root}/documents/a.jsonl.gz", [{"id": "1", "text": "x", "metadata": {"url": "u"}},
                                                     {"id": "2", "text": "y", "metadata": {}}])
    _run(root, "--dedupe.documents.attribute_name", "dd", "--dedupe.documents.key", "$.metadata.url", mode="doc", expect=1)
    assert "a.jsonl.gz:2: key $.metadata.url matches nothing" in capsys.readouterr().err
    _run(root, "--dedupe.documents.attribute_name", "dd", "--dedupe.documents.key", "$..url", mode="doc", expect=2)
    assert "cannot read '$..url'" in capsys.readouterr().err
    _run(root, "--dedupe.documents.attribute_name", "dd", "--dedupe.documents.key", "$.id", "--on_error", "skip",
         mode="doc")
    write_documents(f"{root}/documents/a.jsonl.gz", [{"id": "1", "text": "x", "metadata": {"url": 3}}])
    _run(root, "--dedupe.documents.attribute_name", "dd", "--dedupe.documents.key", "$.metadata.url",
         "--ignore_existing", mode="doc", expect=1)
    assert "a.jsonl.gz:1: key $.metadata.url is int 3, not a string" in capsys.readouterr().err


def test_bad_line_quarantined_and_aligned(tmp_path: Any) -> None:
    root = str(tmp_path / "q")
    os.makedirs(f"{root}/documents")
    with open(f"{root}/documents/a.jsonl", "w") as f:
        f.write('{"id": "1", "text": "p\\nq"}\nnot json\n{"id": "3", "text": "p"}\n')
    assert main(["dedupe", "--documents", f"{root}/documents/*.jsonl", "--bloom_filter.file", f"{root}/f.bin",
                 "--bloom_filter.size_in_bytes", "1024", "--dedupe.paragraphs.attribute_name", "dup"]) == 1
    assert main(["dedupe", "--documents", f"{root}/documents/*.jsonl", "--bloom_filter.file", f"{root}/f.bin",
                 "--bloom_filter.size_in_bytes", "1024", "--dedupe.paragraphs.attribute_name", "dup",
                 "--on_error", "skip"]) == 0
    lines = read_jsonl(f"{root}/attributes/dup/a.jsonl")
    assert lines == [{"id": "1", "attributes": {"dup": []}}, {"id": "", "attributes": {}},
                     {"id": "3", "attributes": {"dup": [[0, 1, 1]]}}]
    assert read_jsonl(f"{root}/attributes/dup/a.jsonl.quarantine.jsonl.gz")[0]["line"] == 2


def test_same_bytes_at_one_and_two_processes(tmp_path: Any) -> None:
    rng = np.random.default_rng(0)
    vocab = [f"line {i} ü" for i in range(300)]
    roots = []
    for procs in (1, 2):
        root = str(tmp_path / f"p{procs}")
        for f in range(5):
            docs = [{"id": f"{f}-{i}", "text": "\n".join(rng.choice(vocab, size=8).tolist())} for i in range(200)]
            write_documents(f"{root}/documents/{f}.jsonl.gz", docs)
        roots.append(root)
        rng = np.random.default_rng(0)
        _run(root, "--processes", str(procs))
    for f in range(5):
        one = open(f"{roots[0]}/attributes/dup/{f}.jsonl.gz", "rb").read()
        two = open(f"{roots[1]}/attributes/dup/{f}.jsonl.gz", "rb").read()
        assert one == two
    assert open(f"{roots[0]}/filter.bin", "rb").read() == open(f"{roots[1]}/filter.bin", "rb").read()
    first = read_jsonl(f"{roots[0]}/attributes/dup/0.jsonl.gz")[0]["attributes"]["dup"]
    assert first == sorted(first)


def test_persistence_read_only_and_mismatch(tmp_path: Any, capsys: Any) -> None:
    evals = str(tmp_path / "eval")
    write_documents(f"{evals}/documents/e.jsonl.gz", [{"id": "e", "text": "leaked question\nother"}])
    corpus = str(tmp_path / "corpus")
    write_documents(f"{corpus}/documents/c.jsonl.gz", [{"id": "c", "text": "fine\nleaked question"},
                                                       {"id": "d", "text": "fine"}])
    flt = str(tmp_path / "eval.bin")
    base = ["--bloom_filter.file", flt, "--dedupe.paragraphs.attribute_name", "dup"]
    sizing = ["--bloom_filter.estimated_doc_count", "100", "--bloom_filter.desired_false_positive_rate", "0.001"]
    assert main(["dedupe", "--documents", f"{evals}/documents/*.gz", *base, *sizing]) == 0
    saved = open(flt, "rb").read()
    params = BloomParams.sized(0, 100, 0.001)
    assert saved[:8] == b"DOLMABLM" and len(saved) == HEADER_SIZE + params.nbytes
    assert main(["dedupe", "--documents", f"{corpus}/documents/*.gz", *base, "--bloom_filter.read_only"]) == 0
    assert open(flt, "rb").read() == saved  # read_only never writes the filter
    got = read_jsonl(f"{corpus}/attributes/dup/c.jsonl.gz")
    assert got[0]["attributes"]["dup"] == [[5, 20, 1]] and got[1]["attributes"]["dup"] == []  # `fine` not inserted
    assert main(["dedupe", "--documents", f"{corpus}/documents/*.gz", *base, "--bloom_filter.size_in_bytes", "4096",
                 "--ignore_existing"]) == 2
    assert "the existing Bloom filter has m=" in capsys.readouterr().err
    with open(flt, "wb") as f:
        f.write(b"NOTBLOOM" + bytes(100))
    assert main(["dedupe", "--documents", f"{corpus}/documents/*.gz", *base, "--ignore_existing"]) == 2
    assert "bad magic" in capsys.readouterr().err


def test_partitions_cover_the_whole(tmp_path: Any) -> None:
    root = _corpus(tmp_path)
    _run(root)
    whole = _spans(root)
    union: Dict[str, List[List[Any]]] = {k: [] for k in whole}
    for i in range(2):
        _run(root, "--dedupe.num_partitions", "2", "--dedupe.partition_index", str(i),
             "--bloom_filter.file", f"{root}/filter{i}.bin")
        for k, v in _spans(root, f"dup_{i}", f"dup_{i}").items():
            union[k] += v
    assert {k: sorted(v) for k, v in union.items()} == whole


def test_config_errors(tmp_path: Any, capsys: Any) -> None:
    root = str(tmp_path / "x")
    write_documents(f"{root}/docs/a.jsonl.gz", [{"id": "1", "text": "x"}])
    assert main(["dedupe", "--documents", f"{root}/docs/*.gz", "--bloom_filter.file", f"{root}/f.bin",
                 "--bloom_filter.size_in_bytes", "64", "--dedupe.paragraphs.attribute_name", "dup"]) == 2
    assert "is not inside a 'documents' folder" in capsys.readouterr().err
    assert main(["dedupe", "--documents", f"{root}/docs/*.gz", "--bloom_filter.file", f"{root}/f.bin",
                 "--bloom_filter.size_in_bytes", "64", "--dedupe.paragraphs.attribute_name", "dup",
                 "--dedupe.document_dir", "docs"]) == 0
    assert os.path.exists(f"{root}/attributes/dup/a.jsonl.gz")


def test_bloom_size_and_false_positive_rate() -> None:
    n, p = 200_000, 0.001
    params = BloomParams.sized(0, n, p)
    theory = -n * math.log(p) / math.log(2) ** 2 / 8
    assert params.nbytes <= theory * 1.05
    bloom = BloomFilter.in_memory(params)
    seen = bloom.test_and_set(hash_keys([f"k{i}".encode() for i in range(n)]))
    assert seen.mean() < p
    fp = bloom.test_and_set(hash_keys([f"other{i}".encode() for i in range(n)]), insert=False).mean()
    assert fp < 2 * p
    repeats = bloom.test_and_set(hash_keys([b"x", b"y", b"x", b"x", b"y"]))
    assert repeats.tolist() == [False, False, True, True, True]


def test_profile_runs_the_work_in_this_process_and_writes_the_stats(tmp_path: Any) -> None:
    root = _corpus(tmp_path)
    stats = tmp_path / "profile.txt"
    _run(root, "--processes", "2", "--profile.enable", "--profile.output", str(stats))
    assert "function calls" in stats.read_text()
    assert _spans(root)["a"] == [[25, 37, 1]]


def test_glob_in_any_component_and_documents_folder_checked_per_file(tmp_path: Any, capsys: Any) -> None:
    # Dolma's own dedupe test config names `tests/data/provided/deduper/doc*/000.json.gz`
    root = str(tmp_path / "deduper")
    write_documents(f"{root}/documents/000.json.gz", DOCS_A)
    base = ["--bloom_filter.file", f"{root}/f.bin", "--bloom_filter.size_in_bytes", "4096",
            "--dedupe.paragraphs.attribute_name", "dup"]
    assert main(["dedupe", "--documents", f"{root}/doc*/000.json.gz", *base]) == 0
    assert os.path.exists(f"{root}/attributes/dup/000.json.gz")
    write_documents(f"{root}/docs/000.json.gz", DOCS_B)  # now the glob also matches a file outside `documents`
    assert main(["dedupe", "--documents", f"{root}/doc*/000.json.gz", *base, "--ignore_existing"]) == 2
    err = capsys.readouterr().err
    assert f"{root}/docs/000.json.gz is not inside a 'documents' folder" in err


def test_overfull_filter_fails_the_run_with_the_count_to_use(tmp_path: Any, capsys: Any) -> None:
    root = str(tmp_path / "c")
    words = [f"w{i}" for i in range(4000)]
    docs = [{"id": str(d), "text": " ".join(words[d * 200 : (d + 1) * 200])} for d in range(20)]
    write_documents(f"{root}/documents/a.jsonl.gz", docs)
    args = ["dedupe", "--documents", f"{root}/documents/*.gz", "--bloom_filter.file", f"{root}/f.bin",
            "--dedupe.paragraphs.attribute_name", "dup", "--dedupe.paragraphs.by_ngram.ngram_length", "3",
            "--bloom_filter.desired_false_positive_rate", "0.001"]
    # sized for 20 documents, but every document inserts ~198 trigrams
    assert main(args + ["--bloom_filter.estimated_doc_count", "20"]) == 1
    err = capsys.readouterr().err
    assert "false positive rate" in err and "estimated_doc_count: " in err and "not saved" in err
    assert not os.path.exists(f"{root}/f.bin")
    suggested = int(err.split("estimated_doc_count: ")[1].split("`")[0])
    assert 3960 <= suggested <= 3960 * 1.5  # 20 docs x 198 trigrams, with room to grow
    assert main(args + ["--bloom_filter.estimated_doc_count", str(suggested), "--ignore_existing"]) == 0
    assert os.path.exists(f"{root}/f.bin")


def test_inserted_keys_estimate() -> None:
    from dolma.dedup.bloom import fill_false_positive_rate, inserted_keys

    params = BloomParams.sized(0, 10_000, 0.01)
    bloom = BloomFilter.in_memory(params)
    bloom.test_and_set(hash_keys([f"k{i}".encode() for i in range(10_000)]))
    assert abs(inserted_keys(bloom.fill_ratio(), params) - 10_000) < 300
    assert 0.005 < fill_false_positive_rate(bloom.fill_ratio(), params.k) < 0.02


def test_size_in_bytes_sets_the_filter_size(tmp_path: Any) -> None:
    root = _corpus(tmp_path)
    flt = f"{root}/sized.bin"
    assert main(["dedupe", "--documents", f"{root}/documents/*.jsonl.gz", "--bloom_filter.file", flt,
                 "--bloom_filter.size_in_bytes", "100000", "--dedupe.paragraphs.attribute_name", "dup"]) == 0
    assert os.path.getsize(flt) == HEADER_SIZE + 100000 // 8 * 8  # whole 64-bit words
    assert BloomFilter.read_params(flt).m == 100000 * 8


def test_a_filter_saved_with_other_keys_does_not_cover_a_run(tmp_path: Any, caplog: Any) -> None:
    # Dolma's own test configs share one filter file between the paragraph and the n-gram dedupe
    root = _corpus(tmp_path)
    ngrams = ["--dedupe.paragraphs.by_ngram.ngram_length", "2", "--dedupe.name", "ng"]
    _run(root, *ngrams)
    _run(root)  # exact paragraphs into the same filter file: its manifest now describes paragraph keys
    caplog.clear()
    with caplog.at_level("INFO", logger="dolma"):
        _run(root, *ngrams)  # its files are done, but the filter was last saved by the paragraph run
    assert "rebuilding it" in caplog.text and "nothing to do" not in caplog.text
