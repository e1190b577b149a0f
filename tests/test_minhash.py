"""`dolma dedupe` with `dedupe.minhash`: hashing, keeper order, verified clusters, the size cap, determinism at 1
and 2 processes and across reruns, the mix filter on its attributes, bad input and config errors."""

from __future__ import annotations

import json
import os
import random
from typing import Any, Dict, List

import numpy as np
import pytest

from dolma.cli import main
from dolma.core.records import DocumentRecord
from dolma.dedup.minhash.common import jaccard
from dolma.dedup.minhash.hashing import Permutations, distinct, normalise, normalised_bytes, shingle_hashes, word_hashes
from dolma.dedup.minhash.order import KeeperOrder
from tests.conftest import read_jsonl, s3_put, write_documents

PREFIX = "near__minhash__"


def _words(rng: random.Random, n: int) -> List[str]:
    return [f"w{rng.randrange(100000)}" for _ in range(n)]


def _edit(words: List[str], rng: random.Random, changes: int) -> List[str]:
    out = list(words)
    for i in rng.sample(range(len(out)), changes):
        out[i] = f"x{rng.randrange(100000)}"
    return out


def _corpus(root: str) -> Dict[str, str]:
    """Three files: 8 originals each with a light edit (a near-duplicate), one exact copy, a heavily edited copy
    (not a near-duplicate), 12 unrelated documents, and a bad line nowhere (see the bad-input test)."""
    rng = random.Random(7)
    docs: List[Dict[str, Any]] = []
    for i in range(8):
        base = _words(rng, 300)
        docs.append({"id": f"orig{i}", "text": " ".join(base), "created": "2020-01-01"})
        docs.append({"id": f"near{i}", "text": " ".join(_edit(base, rng, 2)) + "!", "created": "2024-05-01"})
        if i == 0:
            docs.append({"id": "copy0", "text": " ".join(base), "created": "2020-01-01"})
        if i == 1:
            docs.append({"id": "far1", "text": " ".join(_edit(base, rng, 60))})
    for j in range(12):
        docs.append({"id": f"other{j}", "text": " ".join(_words(rng, 150))})
    rng.shuffle(docs)
    files = {}
    for f in range(3):
        files[f"part-{f}"] = write_documents(f"{root}/documents/part-{f}.jsonl.gz", docs[f::3])
    return files


def _run(root: str, *flags: str, expect: int = 0) -> None:
    args = ["dedupe", "--documents", f"{root}/documents/*.jsonl.gz", "--dedupe.name", "near",
            "--dedupe.minhash.partitions", "3"]
    assert main(args + list(flags)) == expect


def _attributes(root: str) -> Dict[str, Dict[str, Any]]:
    out = {}
    for f in range(3):
        for line in read_jsonl(f"{root}/attributes/near/part-{f}.jsonl.gz"):
            out[line["id"]] = line["attributes"]
    return out


def _bytes(root: str) -> List[bytes]:
    folder = f"{root}/attributes/near"
    return [open(os.path.join(folder, n), "rb").read() for n in sorted(os.listdir(folder)) if n.endswith(".jsonl.gz")]


def test_normalisation_and_word_hashes() -> None:
    assert normalise("Hello,  WORLD!!\nfoo_bar—baz") == "hello world foo bar baz"
    h, counts = word_hashes(["Hello, world", "", "WORLD  hello", "héllo", "x_Y--z\t", "Héllo wörld_"])
    assert counts.tolist() == [2, 0, 2, 1, 3, 2]
    assert h[0] == h[3] and h[1] == h[2] and h[0] != h[1] and h[4] not in (h[0], h[1])
    # ASCII text takes a byte translation, other text the regex: the same words either way
    ascii_, _ = word_hashes(["x y z"])
    assert h[5:8].tolist() == ascii_.tolist()
    unicode_, _ = word_hashes(["héllo wörld"])
    assert h[8:10].tolist() == unicode_.tolist()


@pytest.mark.parametrize("text", [
    "Ünïcödé “quoted” — dash…", "İstanbul ǅemal ẞ straße", "日本語のテキスト、句読点。", "a_b\u00a0c\u2028d", "x\u0301y Ⅻ ½ ²",
    "mixed ASCII, and «guillemets»!",
])
def test_fast_normalisation_gives_the_words_of_normalise(text: str) -> None:
    assert normalised_bytes(text).split() == normalise(text).encode().split()


def test_shingles_are_ngrams_and_short_texts_are_one_shingle() -> None:
    h, counts = word_hashes(["a b c a b c", "a b", "", "a b c", "c a b"])
    sh, per = shingle_hashes(h, counts, 3)
    # "a b c a b c" → abc, bca, cab, abc; "a b" → one shingle; "" → none; "a b c" → abc
    assert per.tolist() == [4, 1, 0, 1, 1]
    assert sh[0] == sh[3] == sh[5] and len(distinct(sh[:4])) == 3
    assert sh[2] == sh[6] and sh[4] not in sh[:4]
    short, _ = shingle_hashes(*word_hashes(["a b"]), 3)
    assert short[0] == sh[4] and short[0] != shingle_hashes(*word_hashes(["b a"]), 3)[0][0]


def test_signatures_estimate_jaccard() -> None:
    rng = random.Random(1)
    base = _words(rng, 400)
    h, counts = word_hashes([" ".join(base), " ".join(_edit(base, rng, 12))])
    sh, per = shingle_hashes(h, counts, 5)
    a, b = distinct(sh[: per[0]]), distinct(sh[per[0]:])
    sig = Permutations(512, seed=3).signatures(sh, per)
    estimate = float(np.mean(sig[0] == sig[1]))
    assert abs(estimate - jaccard(a, b)) < 0.05


def test_keeper_order_newest_then_longest_then_id_missing_last() -> None:
    order = KeeperOrder(["-created", "-length", "id"])
    doc = lambda i, c: DocumentRecord(id=i, text="", created=c)  # noqa: E731
    keys = {
        "new-short": order.key(doc("b", "2024-01-01"), 10, 5),
        "new-long": order.key(doc("c", "2024-01-01"), 20, 6),
        "old": order.key(doc("a", "2019-01-01"), 99, 1),
        "undated": order.key(doc("0", None), 99, 0),
        "new-long-b": order.key(doc("d", "2024-01-01"), 20, 2),
    }
    assert sorted(keys, key=keys.get) == ["new-long", "new-long-b", "new-short", "old", "undated"]


def test_clusters_keepers_and_attributes(tmp_path: Any) -> None:
    root = str(tmp_path / "c")
    _corpus(root)
    _run(root, "--processes", "1")
    attrs = _attributes(root)
    dup = {i for i, a in attrs.items() if a[PREFIX + "duplicate"]}
    # the newest copy of each cluster is kept; the two undated 2020 copies of orig0 are duplicates of near0
    assert dup == {f"orig{i}" for i in range(8)} | {"copy0"}
    assert attrs["near0"][PREFIX + "cluster_size"][0][2] == 3
    assert attrs["near0"][PREFIX + "similarity"][0][2] == 1.0
    assert 0.8 <= attrs["orig3"][PREFIX + "similarity"][0][2] < 1.0
    assert attrs["orig3"][PREFIX + "cluster_id"][0][2] == attrs["near3"][PREFIX + "cluster_id"][0][2]
    # a heavy edit is a candidate at most, never merged; unrelated documents stay alone
    assert attrs["far1"][PREFIX + "cluster_size"][0][2] == 1 and attrs["far1"][PREFIX + "cluster_id"] == []
    assert all(attrs[f"other{j}"][PREFIX + "cluster_size"][0][2] == 1 for j in range(12))
    text_len = len(read_jsonl(f"{root}/documents/part-0.jsonl.gz")[0]["text"])
    first = read_jsonl(f"{root}/attributes/near/part-0.jsonl.gz")[0]["attributes"]
    assert first[PREFIX + "cluster_size"][0][:2] == [0, text_len]  # a whole-document span
    manifest = json.load(open(f"{root}/attributes/near/part-0.jsonl.gz.manifest.json"))
    assert manifest["stage"] == "dedupe" and manifest["config"]["minhash"]["threshold"] == 0.8
    summary = json.load(open(f"{root}/minhash/near/summary.json"))
    assert summary["clusters"] == 8 and summary["duplicates"] == 9 and summary["cluster_sizes"] == {"2": 7, "3": 1}
    assert summary["largest"][0]["size"] == 3 and summary["largest"][0]["keeper"]["id"] == "near0"


def test_same_bytes_at_one_and_two_processes_and_on_rerun(tmp_path: Any) -> None:
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    _corpus(a)
    _corpus(b)
    _run(a, "--processes", "1")
    _run(b, "--processes", "2")
    assert _bytes(a) == _bytes(b)
    before = _bytes(a)
    _run(a, "--ignore_existing", "true")
    assert _bytes(a) == before
    _run(a)  # everything done: nothing runs
    assert _bytes(a) == before


def test_cluster_cap_breaks_a_chain_by_verification_against_the_keeper(tmp_path: Any) -> None:
    """A chain of documents, each a light edit of the one before: every link verifies, the ends share little."""
    rng = random.Random(3)
    words = _words(rng, 200)
    docs = []
    for i in range(12):
        docs.append({"id": f"c{i:02d}", "text": " ".join(words), "created": f"2020-01-{i + 1:02d}"})
        words = _edit(words, rng, 3)
    root = str(tmp_path / "chain")
    write_documents(f"{root}/documents/part-0.jsonl.gz", docs)
    for f in (1, 2):
        write_documents(f"{root}/documents/part-{f}.jsonl.gz", [{"id": f"o{f}", "text": " ".join(_words(rng, 50))}])
    _run(root, "--dedupe.minhash.max_cluster_size", "4", "--dedupe.minhash.num_bands", "40")
    attrs = _attributes(root)
    summary = json.load(open(f"{root}/minhash/near/summary.json"))
    assert len(summary["capped"]) == 1 and summary["capped"][0]["found"] == 12
    kept = summary["capped"][0]["kept"]
    assert summary["capped"][0]["keeper"]["id"] == "c11"  # the newest
    clustered = sorted(i for i, a in attrs.items() if a[PREFIX + "cluster_size"][0][2] > 1)
    assert len(clustered) == kept < 12 and "c11" in clustered and "c00" not in clustered
    assert all(attrs[i][PREFIX + "similarity"][0][2] >= 0.8 for i in clustered)


def test_mix_drops_near_duplicates_with_an_ordinary_filter(tmp_path: Any) -> None:
    root = str(tmp_path / "c")
    _corpus(root)
    _run(root)
    out = str(tmp_path / "mixed")
    config = {"streams": [{
        "name": "web", "documents": [f"{root}/documents/*.jsonl.gz"], "attributes": ["near"],
        "output": {"path": out, "max_size_in_bytes": 1 << 30},
        "filter": {"exclude": [f"$.attributes[?(@.{PREFIX}duplicate[0][2] >= 1)]"]},
    }]}
    path = str(tmp_path / "mix.json")
    with open(path, "w") as f:
        json.dump(config, f)
    assert main(["-c", path, "mix"]) == 0
    kept = [d["id"] for n in sorted(os.listdir(out)) if n.endswith(".jsonl.gz") for d in read_jsonl(os.path.join(out, n))]
    assert len(kept) == 8 + 1 + 12 and not any(k.startswith("orig") or k == "copy0" for k in kept)


def test_bad_lines_fail_with_file_and_line_or_are_quarantined(tmp_path: Any) -> None:
    root = str(tmp_path / "c")
    files = _corpus(root)
    with open(files["part-1"].replace(".gz", ""), "w"):
        pass
    os.remove(files["part-1"].replace(".gz", ""))
    import gzip

    lines = gzip.open(files["part-1"], "rt").read().splitlines()
    lines.insert(2, '{"id": "broken", "text": 5}')
    with gzip.open(files["part-1"], "wt") as f:
        f.write("\n".join(lines) + "\n")
    _run(root, expect=1)
    assert not os.path.exists(f"{root}/attributes/near/part-0.jsonl.gz")  # nothing published
    _run(root, "--on_error", "skip")
    out = read_jsonl(f"{root}/attributes/near/part-1.jsonl.gz")
    assert len(out) == len(lines) and out[2] == {"id": "broken", "attributes": {}}
    quarantine = read_jsonl(f"{root}/attributes/near/part-1.jsonl.gz.quarantine.jsonl.gz")
    assert quarantine[0]["line"] == 3


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--dedupe.minhash.threshold", "0"], "threshold"),
        (["--dedupe.minhash.keep", "modified"], "unknown field 'modified'"),
        (["--dedupe.minhash.shingle", "tokens"], "needs `dedupe.minhash.tokenizer`"),
        (["--dedupe.paragraphs.attribute_name", "x"], "not several"),
    ],
)
def test_config_errors(tmp_path: Any, flags: List[str], message: str, capsys: Any) -> None:
    root = str(tmp_path / "c")
    _corpus(root)
    _run(root, *flags, expect=2)
    assert message in capsys.readouterr().err


def test_a_chain_under_the_cap_splits_into_verified_stars(tmp_path: Any) -> None:
    rng = random.Random(5)
    words = _words(rng, 200)
    docs = []
    for i in range(10):
        docs.append({"id": f"c{i:02d}", "text": " ".join(words), "created": f"2020-01-{i + 1:02d}"})
        words = _edit(words, rng, 3)
    root = str(tmp_path / "chain")
    for f in range(3):
        write_documents(f"{root}/documents/part-{f}.jsonl.gz", docs[f::3])
    _run(root, "--dedupe.minhash.num_bands", "40")
    attrs = _attributes(root)
    clusters: Dict[float, List[str]] = {}
    for i, a in attrs.items():
        if a[PREFIX + "cluster_id"]:
            clusters.setdefault(a[PREFIX + "cluster_id"][0][2], []).append(i)
    assert len(clusters) >= 2 and attrs["c09"][PREFIX + "duplicate"] == []  # the newest keeps the first star
    assert all(attrs[i][PREFIX + "similarity"][0][2] >= 0.8 for ids in clusters.values() for i in ids)
    _run(root, "--dedupe.minhash.num_bands", "40", "--dedupe.minhash.verify_keeper", "false")
    sizes = {a[PREFIX + "cluster_size"][0][2] for a in _attributes(root).values()}
    assert sizes == {10}  # the whole chain is one component, one cluster


def test_token_shingles_from_a_tokenizer_file(tmp_path: Any) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    root = str(tmp_path / "c")
    _corpus(root)
    texts = [d["text"] for f in range(3) for d in read_jsonl(f"{root}/documents/part-{f}.jsonl.gz")]
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=500, special_tokens=["[UNK]"], show_progress=False))
    path = str(tmp_path / "tokenizer.json")
    tokenizer.save(path)
    _run(root, "--dedupe.minhash.shingle", "tokens", "--dedupe.minhash.tokenizer", path, "--dedupe.minhash.ngram", "8")
    attrs = _attributes(root)
    dup = {i for i, a in attrs.items() if a[PREFIX + "duplicate"]}
    assert dup == {f"orig{i}" for i in range(8)} | {"copy0"}


def test_an_oversized_document_is_quarantined_not_read(tmp_path: Any) -> None:
    root = str(tmp_path / "c")
    files = _corpus(root)
    docs = read_jsonl(files["part-2"])
    docs.insert(1, {"id": "huge", "text": "word " * 5000})
    write_documents(files["part-2"], docs)
    _run(root, "--max_document_bytes", "20000")
    out = read_jsonl(f"{root}/attributes/near/part-2.jsonl.gz")
    assert out[1] == {"id": "huge", "attributes": {}} and len(out) == len(docs)
    assert read_jsonl(f"{root}/attributes/near/part-2.jsonl.gz.quarantine.jsonl.gz")[0]["line"] == 2


def test_a_new_crawl_against_a_reference_run(tmp_path: Any) -> None:
    """The second run reuses the first run's state: its near-copies of released documents are marked, the released
    documents win as keepers, and nothing of the first run is recomputed or written."""
    rng = random.Random(11)
    old = [{"id": f"old{i}", "text": " ".join(_words(rng, 200))} for i in range(6)]
    release = str(tmp_path / "release")
    for f in range(2):
        write_documents(f"{release}/documents/part-{f}.jsonl.gz", old[f::2])
    _run(release)
    state = f"{release}/minhash/near"
    before = {n: open(os.path.join(state, "summary.json"), "rb").read() for n in ["summary.json"]}
    crawl = str(tmp_path / "crawl")
    new = [{"id": f"copy{i}", "text": " ".join(_edit(old[i]["text"].split(), rng, 2)), "created": "2030-01-01"}
           for i in range(3)] + [{"id": f"fresh{j}", "text": " ".join(_words(rng, 200))} for j in range(3)]
    for f in range(3):
        write_documents(f"{crawl}/documents/part-{f}.jsonl.gz", new[f::3])
    _run(crawl, "--dedupe.minhash.reference", state)
    attrs = _attributes(crawl)
    assert {i for i, a in attrs.items() if a[PREFIX + "duplicate"]} == {"copy0", "copy1", "copy2"}
    assert attrs["copy0"][PREFIX + "cluster_id"][0][2] >= 2**63  # a document of the reference run keeps
    assert open(os.path.join(state, "summary.json"), "rb").read() == before["summary.json"]
    _run(crawl, "--dedupe.minhash.reference", state, "--dedupe.minhash.ngram", "4", expect=2)  # other shingles


def test_state_and_attributes_on_s3_give_the_local_attributes(tmp_path: Any, s3_prefix: str) -> None:
    from dolma.core import io as dio

    local = str(tmp_path / "local")
    _corpus(local)
    _run(local)
    for f in range(3):
        name = f"documents/part-{f}.jsonl.gz"
        s3_put(f"{s3_prefix}/c/{name}", open(f"{local}/{name}", "rb").read())
    args = ["dedupe", "--documents", f"{s3_prefix}/c/documents/*.jsonl.gz", "--dedupe.name", "near",
            "--dedupe.minhash.partitions", "3", "--dedupe.minhash.state_dir", f"{s3_prefix}/state"]
    assert main(args) == 0
    remote = [dio.read_bytes(f"{s3_prefix}/c/attributes/near/part-{f}.jsonl.gz") for f in range(3)]
    assert remote == [dio.read_bytes(f"{local}/attributes/near/part-{f}.jsonl.gz") for f in range(3)]
