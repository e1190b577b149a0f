"""`dolma trace`, `dolma remove` and `dolma diff` on a small quickstart release, checked against plain reads of its
files: shards decompressed with gzip, token files read with numpy, texts re-tokenized with HF tokenizers."""

import csv
import glob
import gzip
import json
import os
import re
import shutil

import numpy as np
import pytest

from dolma.cli import main
from dolma.core.errors import ConfigError
from dolma.release.diff import release_diff
from dolma.release.lineage import build_lineage
from dolma.release.remove import RemoveConfig, remove_documents
from dolma.mixers.explain import explain_document
from dolma.release.trace import TraceConfig, trace as _trace
from dolma.release.verify import verify_release
from tests.lineage_release import DEDUPE_RULE


def trace(config):
    return _trace(config, explain_document)


@pytest.fixture(scope="module")
def release(lineage_release):
    return lineage_release


# --- plain reads of the release, independent of the code under test -------------------------------------------


def _shard(root, rel):
    path = os.path.join(root, rel)
    key = (path, os.stat(path).st_mtime_ns, os.stat(path).st_ino)
    if key not in _SHARDS:
        _SHARDS[key] = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    return _SHARDS[key]


_SHARDS = {}  # shards read, by path and version


def _shards(root):
    return sorted(f"mixed/{n}" for n in os.listdir(os.path.join(root, "mixed")) if n.endswith(".jsonl.gz"))


def _token_index(root, npy):
    with gzip.open(os.path.join(root, npy[:-4] + ".csv.gz"), "rt", encoding="utf-8") as f:
        return [(int(r[0]), int(r[1]), r[2], r[3], int(r[4])) for r in csv.reader(f)]


def _token_files(root):
    return sorted(f"tokens/{n}" for n in os.listdir(os.path.join(root, "tokens")) if n.endswith(".npy"))


def _decisions(root):
    """Every D row of the lineage index: (id, stream, source, line, decision, copies)."""
    rows = []
    for name in sorted(os.listdir(os.path.join(root, "lineage"))):
        if name.endswith(".csv.gz"):
            with gzip.open(os.path.join(root, "lineage", name), "rt", encoding="utf-8") as f:
                rows += [r[1:] for r in csv.reader(f) if r[0] == "D"]
    return rows


@pytest.fixture(scope="module")
def gpt2():
    from tokenizers import Tokenizer

    from dolma.tokens.tokenizer import gpt2_tokenizer_json

    tokenizer = Tokenizer.from_str(gpt2_tokenizer_json())
    eos = tokenizer.token_to_id("<|endoftext|>")
    return lambda text: tokenizer.encode(text.strip(), add_special_tokens=False).ids + [eos]


def _pieces(root):
    """id -> [(token file, start, end)] over every token file, in file order."""
    found = {}
    for npy in _token_files(root):
        for start, end, doc_id, src, loc in _token_index(root, npy):
            found.setdefault((doc_id, src, loc), []).append((npy, start, end))
    return found


# --- trace ------------------------------------------------------------------------------------------------------


def test_trace_a_kept_document_to_its_source_shard_lines_and_tokens(release, gpt2):
    kept = [r for r in _decisions(release) if r[4] == "kept" and int(r[5]) > 1]
    doc_id, stream, source, line, _, copies = kept[0]
    result = trace(TraceConfig(path=release, id=doc_id))
    (doc,) = result["documents"]
    assert (doc["stream"], doc["source"]["file"], doc["source"]["line"]) == (stream, source, int(line))
    assert doc["recorded"] == doc["recomputed"] == "kept" and doc["stage"] == "kept"
    assert doc["sampling"]["copies"] == int(copies) == len(doc["outputs"])
    assert {s["set"] for s in doc["attributes"]} == {"quality", "dedupe_paragraphs", "near_dups"}  # the quickstart drops near-duplicates too
    original = json.loads(gzip.open(os.path.join(release, source), "rt").read().splitlines()[int(line) - 1])
    assert original["id"] == doc_id
    tokens = {npy: np.fromfile(os.path.join(release, npy), dtype=np.uint16) for npy in _token_files(release)}
    for k, out in enumerate(doc["outputs"]):
        assert out["id"] == (doc_id if k == 0 else f"{doc_id}-dup{k}")
        written = _shard(release, out["shard"])[out["line"] - 1]
        assert written["id"] == out["id"]
        assert written["metadata"]["provenance"].endswith(f"{source}:{line}")
        got = np.concatenate([tokens[t["file"]][t["start"]:t["end"]] for t in out["tokens"]])
        assert got.tolist() == gpt2(written["text"])
    assert result["files_read"] <= 13


def _first(rows, stream, decision):
    return next(r for r in rows if r[1] == stream and r[4].startswith(decision))


@pytest.mark.parametrize("stream, decision, stage", [
    ("prose", "dropped: exclude: $.attributes[?(@.quality__gopher_v1__word_count", "rule"),
    ("prose", f"dropped: exclude: {DEDUPE_RULE}", "dedupe"),
    ("code", "dropped: sampling", "sampling"),
    ("code", "dropped: min_text_length", "length"),
])
def test_trace_a_dropped_document_names_the_step_and_rule(release, stream, decision, stage):
    doc_id, _, source, line, recorded, _ = _first(_decisions(release), stream, decision)
    (doc,) = trace(TraceConfig(path=release, id=doc_id))["documents"]
    assert doc["recorded"] == recorded == doc["recomputed"] and doc["stage"] == stage and doc["outputs"] == []
    assert all(d["id"] != doc_id for shard in _shards(release) for d in _shard(release, shard))
    if stage in ("rule", "dedupe"):
        expression = recorded[len("dropped: exclude: "):]
        assert [r["fired"] for r in doc["rules"] if r["expression"] == expression] == [True]
    if stage == "dedupe":
        assert doc["duplicates"] and all(d["set"] == "dedupe_paragraphs" for d in doc["duplicates"])
    if stage == "length":
        assert doc["length"]["fired"] and doc["length"]["length_after_spans"] < 3000
    if stage == "sampling":
        assert doc["sampling"]["copies"] == 0 and doc["sampling"]["rate"] < 1
    # the same document found from its source line
    by_line = trace(TraceConfig(path=release, source=source, line=int(line)))["documents"]
    assert [d["id"] for d in by_line] == [doc_id]


def _paragraph_firsts(root):
    """By plain reading, in the order the dedupe stage read the documents files (its manifest's patterns, each
    glob's matches sorted): every duplicate paragraph (id, start, end) → where its text first occurred
    (file, line, id, start, end)."""
    manifest = os.path.join(root, "prose/attributes/dedupe_paragraphs/prose-0000.jsonl.gz.manifest.json")
    patterns = json.load(open(manifest))["resolved_config"]["documents"]
    files = list(dict.fromkeys(p for pattern in patterns for p in sorted(glob.glob(pattern, recursive=True))))
    first, found = {}, {}
    for path in files:
        for n, line in enumerate(gzip.open(path, "rt", encoding="utf-8"), start=1):
            doc = json.loads(line)
            start, parts = 0, doc["text"].split("\n")
            for i, part in enumerate(parts):
                end = start + len(part) + (1 if i < len(parts) - 1 else 0)
                if part.strip():  # skip_empty
                    where = (os.path.relpath(path, root), n, doc["id"], start, end)
                    if part in first:
                        found[(doc["id"], start, end)] = first[part]
                    else:
                        first[part] = where
                start = end
    return found


def test_trace_names_where_each_duplicate_span_first_occurred_and_traces_it(release):
    """Exact dedupe (the quickstart's) records first occurrences: trace names each duplicate span's, as a plain
    reading of the corpus in input order finds it; the first occurrence, traced in turn, is kept."""
    oracle = _paragraph_firsts(release)
    decided = {(r[2], int(r[3])): r for r in _decisions(release)}
    dropped = _first(_decisions(release), "prose", f"dropped: exclude: {DEDUPE_RULE}")[0]
    # and a document one of whose spans first occurred in another document, which the mix kept
    other = next(k[0] for k, v in oracle.items() if v[2] != k[0] and decided[(v[0], v[1])][4] == "kept")
    for doc_id in (dropped, other):
        result = trace(TraceConfig(path=release, id=doc_id))
        (doc,) = result["documents"]
        assert doc["first_occurrences"] == {"dedupe_paragraphs": "recorded"} and doc["duplicates"]
        for d in doc["duplicates"]:
            (f,) = d["first"]
            assert (f["file"], f["line"], f["id"], f["start"], f["end"]) == oracle[(doc_id, d["start"], d["end"])]
            assert f["decision"] == decided[(f["file"], f["line"])][4]
        assert result["files_read"] <= 13 + len({f["id"] for d in doc["duplicates"] for f in d["first"]})
    first = next(f for d in doc["duplicates"] for f in d["first"] if f["id"] != other and f["decision"] == "kept")
    (kept,) = trace(TraceConfig(path=release, source=first["file"], line=first["line"]))["documents"]
    assert kept["id"] == first["id"] and kept["recorded"] == "kept" and kept["outputs"]
    assert all((d["start"], d["end"]) != (first["start"], first["end"]) for d in kept["duplicates"])


def test_trace_says_a_bloom_filter_does_not_record_first_occurrences(release, tmp_path, capsys):
    """A Bloom-filter dedupe set beside the exact one: its spans name no first occurrence, and trace says why."""
    work = str(tmp_path / "release")
    shutil.copytree(release, work)
    assert main(["dedupe", "--documents", f"{work}/*/documents/*.gz", "--dedupe.name", "bloom_paragraphs",
                 "--dedupe.paragraphs.attribute_name", "bloom_dup", "--dedupe.skip_empty", "true",
                 "--bloom_filter.file", str(tmp_path / "filter.bin"),
                 "--bloom_filter.size_in_bytes", str(1 << 20)]) == 0
    doc_id = _first(_decisions(release), "prose", f"dropped: exclude: {DEDUPE_RULE}")[0]
    (doc,) = trace(TraceConfig(path=work, id=doc_id))["documents"]
    assert doc["first_occurrences"]["dedupe_paragraphs"] == "recorded"
    assert "membership only" in doc["first_occurrences"]["bloom_paragraphs"]
    bloom = [d for d in doc["duplicates"] if d["set"] == "bloom_paragraphs"]
    assert bloom and all("first" not in d for d in bloom)
    assert sorted((d["start"], d["end"]) for d in bloom) == sorted(
        (d["start"], d["end"]) for d in doc["duplicates"] if d["set"] == "dedupe_paragraphs")
    capsys.readouterr()
    assert main(["trace", work, "--id", doc_id]) == 0
    out = capsys.readouterr().out
    assert "(bloom_paragraphs: a Bloom filter records membership only" in out and "`dedupe.exact: true`" in out
    assert "duplicate of " in out or "earlier in this document" in out


def test_trace_a_token_offset_inside_a_document_cut_across_token_files(release, gpt2):
    split = next((key, p) for key, p in _pieces(release).items() if len(p) > 1)
    (doc_id, src, loc), pieces = split
    npy, start, end = pieces[1]
    offset = (start + end) // 2
    result = trace(TraceConfig(path=release, tokens=npy, offset=offset))
    hit = result["token"]
    assert hit["id"] == doc_id and hit["pieces"] == len(pieces)
    assert hit["offset_in_document"] == (pieces[0][2] - pieces[0][1]) + offset - start
    text = _shard(release, "mixed/" + src.rsplit("/", 1)[-1])[loc - 1]["text"]
    assert hit["document_tokens"] == len(gpt2(text))
    assert result["files_read"] <= 14
    # and from the shard line it came from
    shard_rel = "mixed/" + src.rsplit("/", 1)[-1]
    (doc,) = trace(TraceConfig(path=release, source=shard_rel, line=loc))["documents"]
    assert any(o["shard"] == shard_rel and o["line"] == loc for o in doc["outputs"])


def test_trace_refuses_an_unknown_id_and_a_bad_query(release):
    with pytest.raises(ConfigError, match="no document 'nope'"):
        trace(TraceConfig(path=release, id="nope"))
    with pytest.raises(ConfigError, match="exactly one of"):
        trace(TraceConfig(path=release))


def test_the_cli_prints_text_and_json(release, capsys):
    doc_id = _decisions(release)[0][0]
    assert main(["trace", release, "--id", doc_id]) == 0
    assert f"document {doc_id}" in capsys.readouterr().out
    assert main(["trace", release, "--id", doc_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["documents"][0]["id"] == doc_id


# --- remove -----------------------------------------------------------------------------------------------------


def _removed(doc_id, ids):
    base = re.sub(r"-dup\d+$", "", doc_id)
    return doc_id in ids or base in ids


def _ten(release):
    kept = [r[0] for r in _decisions(release) if r[4] == "kept"]
    return kept[::max(1, len(kept) // 10)][:10]


def _check_removal(old, new, ids, gpt2):
    """``new`` is ``old`` with the documents ``ids`` (and their copies) taken out: every shard document by document,
    every token file token by token (re-tokenized), every other file byte for byte."""
    assert verify_release(new) == []
    folder = os.path.join(new, "removals")
    records = [json.load(open(os.path.join(folder, name))) for name in sorted(os.listdir(folder))]
    record = records[-1]
    changed = {f["path"] for r in records for f in r["files"]}
    old_listing = {e["path"]: e for e in json.load(open(os.path.join(old, "release.json")))["files"]}
    new_listing = {e["path"]: e for e in json.load(open(os.path.join(new, "release.json")))["files"]}
    for rel, entry in old_listing.items():
        if rel not in changed and not rel.startswith("report/"):
            assert new_listing[rel] == entry, rel
    for shard in _shards(old):
        expected = [d for d in _shard(old, shard) if not _removed(d["id"], ids)]
        assert _shard(new, shard) == expected, shard
        assert (shard in changed) == (len(expected) < len(_shard(old, shard)))
    removed_tokens = 0
    for npy in _token_files(old):
        before = np.fromfile(os.path.join(old, npy), dtype=np.uint16)
        keep = [r for r in _token_index(old, npy) if not _removed(r[2], ids)]
        expected = np.concatenate([before[s:e] for s, e, *_ in keep]) if keep else before[:0]
        after = np.fromfile(os.path.join(new, npy), dtype=np.uint16)
        assert after.tolist() == expected.tolist(), npy
        removed_tokens += len(before) - len(after)
        assert (npy in changed) == (len(after) < len(before))
    tokens = {npy: np.fromfile(os.path.join(new, npy), dtype=np.uint16) for npy in _token_files(new)}
    for (doc_id, src, loc), pieces in _pieces(new).items():  # every document's tokens, re-tokenized
        written = _shard(new, "mixed/" + src.rsplit("/", 1)[-1])[loc - 1]
        assert written["id"] == doc_id
        got = np.concatenate([tokens[npy][s:e] for npy, s, e in pieces])
        assert got.tolist() == gpt2(written["text"]), doc_id
    return record, removed_tokens


def test_remove_ten_documents_into_a_new_release(release, tmp_path, gpt2):
    ids = _ten(release)
    new = str(tmp_path / "corrected")
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids[5:]) + "\n")
    assert main(["remove", release, "--ids", *ids[:5], "--ids_file", str(ids_file), "--reason", "takedown #7",
                 "--output", new]) == 0
    record, removed_tokens = _check_removal(release, new, set(ids), gpt2)
    assert record["reason"] == "takedown #7" and sorted(record["documents"]) == sorted(ids)
    assert verify_release(release) == []  # the original is untouched
    diff = release_diff(release, new)
    removed_lines = sum(1 for shard in _shards(release) for d in _shard(release, shard) if _removed(d["id"], set(ids)))
    assert sum(s["documents_removed"] for s in diff["streams"].values()) == removed_lines == len(record["lines"])
    assert sum(s["documents_added"] for s in diff["streams"].values()) == 0
    assert diff["tokens"]["old"] - diff["tokens"]["new"] == removed_tokens > 0
    assert "removals/0001.json" in diff["files"]["added"]
    report = open(os.path.join(new, "report", "report.md")).read()
    assert "## Removals" in report and "takedown #7" in report
    # trace after the removal: a removed document says so; a kept one points at its (moved) lines
    (gone,) = trace(TraceConfig(path=new, id=ids[0]))["documents"]
    assert gone["removed"]["reason"] == "takedown #7" and all(o["removed_by"] == 1 for o in gone["outputs"])
    survivor = next(r[0] for r in _decisions(release) if r[4] == "kept" and r[0] not in ids)
    for out in trace(TraceConfig(path=new, id=survivor))["documents"][0]["outputs"]:
        assert _shard(new, out["shard"])[out["line"] - 1]["id"] == out["id"]


def test_two_removals_in_place_compose(release, tmp_path, gpt2):
    work = str(tmp_path / "release")
    shutil.copytree(release, work)
    ids = _ten(release)
    remove_documents(RemoveConfig(path=work, ids=ids[:4], reason="first", report=False))
    record = remove_documents(RemoveConfig(path=work, ids=ids[2:7], reason="second"))
    assert record.number == 2 and set(record.not_in_output) == set(ids[2:4])
    _check_removal(release, work, set(ids[:7]), gpt2)
    # a document dropped by the mix is not in the output: nothing to remove, and said so
    dropped = next(r[0] for r in _decisions(release) if r[4] == "dropped: sampling")
    record = remove_documents(RemoveConfig(path=work, ids=[dropped], reason="third", report=False))
    assert record.not_in_output == {dropped: "dropped: sampling"} and record.lines == []
    assert verify_release(work) == []


def test_remove_by_filter_expression(release, tmp_path):
    expression = "$.attributes[?(@.quality__gopher_v1__word_count[0][2] > 1500)]"
    matched = {re.sub(r"-dup\d+$", "", d["id"]) for shard in _shards(release) for d in _shard(release, shard)
               if d["attributes"]["quality__gopher_v1__word_count"][0][2] > 1500}
    assert matched
    new = str(tmp_path / "new")
    assert main(["remove", release, "--filter", expression, "--reason", "long", "--output", new, "--report", "false"]) == 0
    record = json.load(open(os.path.join(new, "removals", "0001.json")))
    assert set(record["documents"]) == matched
    assert all(not _removed(d["id"], matched) for shard in _shards(new) for d in _shard(new, shard))
    assert verify_release(new) == []


def test_remove_refuses_unknown_ids_and_a_missing_reason(release, tmp_path):
    with pytest.raises(ConfigError, match="reason"):
        remove_documents(RemoveConfig(path=release, ids=["x"], output=str(tmp_path / "a")))
    with pytest.raises(ConfigError, match="no document 'no-such-id'"):
        remove_documents(RemoveConfig(path=release, ids=["no-such-id"], reason="r", output=str(tmp_path / "b")))
    assert not os.path.exists(tmp_path / "b")


def test_verify_catches_a_stale_lineage_index(release, tmp_path):
    work = str(tmp_path / "release")
    shutil.copytree(release, work)
    decisions = os.path.join(work, "mixed", "decisions")
    name = sorted(os.listdir(decisions))[0]
    with gzip.open(os.path.join(decisions, name), "rt") as f:
        rows = f.read()
    with gzip.open(os.path.join(decisions, name), "wt") as f:
        f.write(rows.replace("kept", "dropped: sampling", 1))
    listing = json.load(open(os.path.join(work, "release.json")))
    from dolma.release.lineage import file_entry_of

    entry = file_entry_of(os.path.join(decisions, name), f"mixed/decisions/{name}")
    listing["files"] = [{"path": entry.path, "bytes": entry.bytes, "sha256": entry.sha256}
                        if e["path"] == entry.path else e for e in listing["files"]]
    json.dump(listing, open(os.path.join(work, "release.json"), "w"))
    assert verify_release(work) == [f"lineage: mixed/decisions/{name}: changed since the lineage index was built "
                                    "(rebuild it: dolma lineage)"]
    build_lineage(work)  # rebuilt, it describes the files again (release.json then lists the new index)


def _near_the_end(release, n):
    """``n`` documents of one output line each, among the last lines of their shards (so that few token indexes
    are renumbered: every request to the S3 test server costs)."""
    copies = {r[0]: int(r[5]) for r in _decisions(release) if r[4] == "kept"}
    last = [(shard, len(_shard(release, shard)), d["id"]) for shard in _shards(release)
            for d in _shard(release, shard)[-3:] if copies.get(d["id"]) == 1]
    return [doc_id for _, _, doc_id in last][:n]


def test_remove_on_s3_gives_the_same_files(release, tmp_path, s3_prefix):
    """In place on S3: the same rewritten files as the same removal on the local copy, and a release that verifies."""
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    client = boto3.client("s3")
    bucket, key = s3_prefix[len("s3://"):].split("/", 1)
    files = [os.path.relpath(os.path.join(d, n), release) for d, _, names in os.walk(release) for n in names]
    def put(rel):
        with open(os.path.join(release, rel), "rb") as f:
            client.put_object(Bucket=bucket, Key=f"{key}/{rel}", Body=f.read())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, files))
    ids = _near_the_end(release, 3)
    record = remove_documents(RemoveConfig(path=s3_prefix, ids=ids, reason="s3", report=False))
    assert len(record.lines) == 3
    local = remove_documents(RemoveConfig(path=release, ids=ids, reason="s3", output=str(tmp_path / "local"),
                                          report=False))
    assert [f.path for f in record.files] == [f.path for f in local.files]
    assert verify_release(s3_prefix) == []
    for changed in record.files:
        if not changed.path.endswith(".json"):  # manifests and records carry times
            body = client.get_object(Bucket=bucket, Key=f"{key}/{changed.path}")["Body"].read()
            assert body == open(tmp_path / "local" / changed.path, "rb").read(), changed.path
    (doc,) = trace(TraceConfig(path=s3_prefix, id=ids[0]))["documents"]
    assert doc["removed"]["reason"] == "s3"
