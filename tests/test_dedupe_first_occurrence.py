"""Exact dedupe records where every duplicate first occurred (first_occurrences/<set>/<rel>), checked against a
plain-Python walk of the corpus in input order, for documents, paragraphs and n-grams, with 1 and 3 partitions;
the attribute files keep their bytes and the side files are listed in the manifests."""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
import random
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest
from msgspec import msgpack

from dolma.cli import main
from tests.conftest import read_jsonl, write_documents

WORDS = ["alpha", "beta", "gamma", "delta", "épsilon", "日本", "zeta", "eta", "theta", "iota"]


def _corpus(root: str, files: int = 3, docs: int = 30, seed: int = 0) -> None:
    rng = random.Random(seed)
    pool = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 9))) for _ in range(40)]
    for f in range(files):
        rows = []
        for d in range(docs):
            text = "\n".join(rng.choice(pool) for _ in range(rng.randint(1, 5)))
            rows.append({"id": f"{f}-{d}", "text": text})
        rows.append(dict(rows[0], id=f"{f}-copy"))  # a whole document again
        write_documents(f"{root}/documents/part-{f}.jsonl.gz", rows)


def _paragraphs(text: str) -> List[Tuple[int, int, str]]:
    out, start = [], 0
    parts = text.split("\n")
    for i, part in enumerate(parts):
        end = start + len(part) + (1 if i < len(parts) - 1 else 0)
        out.append((start, end, part))
        start = end
    return out


def _oracle(root: str, documents: bool) -> Dict[Tuple[str, int, int], Tuple[str, int, str, int, int]]:
    """(doc id, start, end) of every duplicate → (file, line, id, start, end) where its key first occurred."""
    first: Dict[str, Tuple[str, int, str, int, int]] = {}
    found = {}
    for path in sorted(glob.glob(f"{root}/documents/*.gz")):
        for n, doc in enumerate(read_jsonl(path), start=1):
            units = [(0, len(doc["text"]), doc["text"])] if documents else _paragraphs(doc["text"])
            for start, end, key in units:
                if key in first:
                    found[(doc["id"], start, end)] = first[key]
                else:
                    first[key] = (path, n, doc["id"], start, end)
    return found


def _side(path: str) -> Dict[str, Any]:
    """A first-occurrences file, its arrays as lists."""
    record = msgpack.decode(gzip.decompress(open(path, "rb").read()))
    as_list = lambda v: np.frombuffer(v, dtype="<i4").tolist() if isinstance(v, bytes) else v  # noqa: E731
    return {**record, "documents": {k: as_list(v) for k, v in record["documents"].items()},
            "spans": {k: as_list(v) for k, v in record["spans"].items()}}


def _recorded(root: str, name: str) -> Dict[Tuple[str, int, int], List[Dict[str, Any]]]:
    """(marked document's id, start, end) → its first occurrences, read plainly from the side files."""
    out: Dict[Tuple[str, int, int], List[Dict[str, Any]]] = {}
    for path in sorted(glob.glob(f"{root}/first_occurrences/{name}*/*.msgpack.gz")):
        rel = path.rsplit("/", 1)[1][: -len(".msgpack.gz")]
        ids = [d["id"] for d in read_jsonl(f"{root}/documents/{rel}")]
        record = _side(path)
        docs, spans = record["documents"], record["spans"]
        for r in range(len(spans["line"])):
            d = spans["first"][r]
            out.setdefault((ids[spans["line"][r] - 1], spans["start"][r], spans["end"][r]), []).append({
                "file": record["files"][docs["file"][d]], "line": docs["line"][d], "id": docs["id"][d],
                "start": spans["first_start"][r], "end": spans["first_end"][r], "keys": spans["first_keys"][r],
                "span_keys": spans["keys"][r]})
    return out


@pytest.mark.parametrize("partitions", [1, 3])
@pytest.mark.parametrize("mode", ["paragraphs", "documents"])
def test_exact_dedupe_records_each_duplicates_first_occurrence(tmp_path: Any, mode: str, partitions: int) -> None:
    root = str(tmp_path / "c")
    _corpus(root)
    section = (["--dedupe.paragraphs.attribute_name", "dup"] if mode == "paragraphs"
               else ["--dedupe.documents.attribute_name", "dup", "--dedupe.documents.key", "$.text"])
    args = ["dedupe", "--documents", f"{root}/documents/*.gz", *section, "--dedupe.num_partitions", str(partitions),
            "--dedupe.exact", "true", "--dedupe.name", "exact"]
    assert main(args) == 0
    recorded = _recorded(root, "exact")
    oracle = _oracle(root, mode == "documents")
    assert oracle and set(recorded) == set(oracle)
    for key, firsts in recorded.items():
        assert len(firsts) == 1 and firsts[0]["keys"] == firsts[0]["span_keys"] == 1
        f = firsts[0]
        assert (f["file"], f["line"], f["id"], f["start"], f["end"]) == oracle[key], key
    # the attribute files are those of a run that records nothing (a Bloom filter far from full marks the same; with
    # partitions, keys fall into other partitions, so the marks are compared all partitions together)
    assert main(["dedupe", "--documents", f"{root}/documents/*.gz", *section, "--dedupe.num_partitions",
                 str(partitions), "--dedupe.one_pass", "true", "--dedupe.name", "bloom", "--bloom_filter.file",
                 f"{tmp_path}/f.bin", "--bloom_filter.size_in_bytes", str(1 << 20)]) == 0
    assert not glob.glob(f"{root}/first_occurrences/bloom*")
    exact = sorted(glob.glob(f"{root}/attributes/exact*/*.gz"))
    assert len(exact) == 3 * partitions
    if partitions == 1:
        for path in exact:
            assert open(path, "rb").read() == open(path.replace("/exact/", "/bloom/"), "rb").read()
    else:
        assert _spans(root, "exact") == _spans(root, "bloom")
    for path in exact:
        manifest = json.load(open(path + ".manifest.json"))
        side = path.replace("/attributes/", "/first_occurrences/") + ".msgpack.gz"
        listed = {o["path"]: o["sha256"] for o in manifest["outputs"]}
        assert listed[side] == hashlib.sha256(open(side, "rb").read()).hexdigest()


def _spans(root: str, name: str) -> Dict[str, List[Any]]:
    out: Dict[str, List[Any]] = {}
    for path in glob.glob(f"{root}/attributes/{name}_*/*.gz"):
        for row in read_jsonl(path):
            out.setdefault(row["id"], []).extend(s for spans in row["attributes"].values() for s in spans)
    return {k: sorted(v) for k, v in out.items()}


def test_ngram_spans_name_every_paragraph_their_ngrams_first_occurred_in(tmp_path: Any) -> None:
    root = str(tmp_path / "c")
    write_documents(f"{root}/documents/a.jsonl.gz", [
        {"id": "a1", "text": "one two three four"},
        {"id": "a2", "text": "five six seven eight"},
    ])
    write_documents(f"{root}/documents/b.jsonl.gz", [
        {"id": "b1", "text": "zero\none two three four five six seven eight"},
    ])
    assert main(["dedupe", "--documents", f"{root}/documents/*.gz", "--dedupe.paragraphs.attribute_name", "dup",
                 "--dedupe.paragraphs.by_ngram.ngram_length", "2", "--dedupe.paragraphs.by_ngram.overlap_threshold",
                 "0.5", "--dedupe.exact", "true", "--dedupe.name", "ng"]) == 0
    (span,) = [v for k, v in _recorded(root, "ng").items() if k == ("b1", 5, 44)]
    a = f"{root}/documents/a.jsonl.gz"
    assert span == [  # 7 bigrams, 6 seen before: 3 in each of a's documents
        {"file": a, "line": 1, "id": "a1", "start": 0, "end": 18, "keys": 3, "span_keys": 7},
        {"file": a, "line": 2, "id": "a2", "start": 0, "end": 20, "keys": 3, "span_keys": 7},
    ]
    assert set(_recorded(root, "ng")) == {("b1", 5, 44)}
    assert _side(f"{root}/first_occurrences/ng/a.jsonl.gz.msgpack.gz")["spans"]["line"] == []


def test_side_files_pieces_are_msgspecs_encoding() -> None:
    """The side file is written in pieces (arrays as views after their headers): joined, they are the bytes
    msgspec writes for the same map, for arrays of every msgpack ``bin`` header size (8, 16 and 32-bit lengths)."""
    from dolma.dedup.first_occurrence import msgpack_pieces

    for n in (0, 1, 63, 64, 16383, 16384, 20000):
        column = np.arange(n, dtype="<i4")
        value = {"format": 1, "files": ["a", "b"], "documents": {"file": column, "id": ["x"] * 3},
                 "spans": {f"c{i}": column[::-1].copy() for i in range(17)}}  # 17 entries: a map16 header
        plain = {"format": 1, "files": ["a", "b"], "documents": {"file": column.tobytes(), "id": ["x"] * 3},
                 "spans": {f"c{i}": column[::-1].tobytes() for i in range(17)}}
        assert b"".join(msgpack_pieces(value)) == msgpack.encode(plain)
