"""`dolma mix` end to end: attributes merging, filters, spans, sampling, shards, manifests, bad inputs."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from typing import Any, Dict, List, Optional

import pytest

from dolma.cli import main
from dolma.core.config import resolve
from dolma.core.errors import ConfigError
from dolma.mixers.config import MixConfig
from dolma.mixers.sampling import Sampler
from dolma.mixers.spans import SpanRule, collect_spans, replace_spans
from dolma.mixers.filters import compile_selector
from dolma.mixers.stage import MixStage
from tests.conftest import read_jsonl, write_documents

TEXTS = ["héllo wörld. second para\nthird", "abcdefghij", "zzz", "0123456789", "ünïcödé text here"]


def _corpus(root: str, n_files: int = 1, per_file: int = 5, salt: bool = False) -> str:
    for f in range(n_files):
        docs, attrs = [], []
        for i in range(per_file):
            doc_id = f"f{f}-d{i}"
            text = TEXTS[i % len(TEXTS)] * (1 + f)
            if salt:  # text that does not compress away, for shard size tests
                text += " " + hashlib.sha256(doc_id.encode()).hexdigest()
            docs.append({"id": doc_id, "text": text, "source": "s", "extra": {"k": i}})
            k = i % 5
            a: Dict[str, Any] = {"exp__t__score": [[0, 5, round(0.2 * k, 2)]], "exp__t__tox": {"toxicity": 0.1 * k}}
            if k == 3:
                a = {"exp__t__para": [[2, 4, 1.0], [4, 6, 1.0]]}  # no score attribute at all
            elif k == 0:
                a["exp__t__para"] = [[0, 2, 1.0], [1, 4, 1.0], [6, 8, 0.5]]
            attrs.append({"id": doc_id, "attributes": a})
        write_documents(f"{root}/documents/part-{f:02d}.jsonl.gz", docs)
        write_documents(f"{root}/attributes/exp/part-{f:02d}.jsonl.gz", attrs)
    return root


def _config(root: str, out: str, **stream: Any) -> Dict[str, Any]:
    s: Dict[str, Any] = {
        "name": "web",
        "documents": [f"{root}/documents/*.jsonl.gz"],
        "attributes": ["exp"],
        "output": {"path": out, "max_size_in_bytes": 1 << 30},
    }
    s.update(stream)
    return {"streams": [s], "processes": 1}


def _mix(tmp_path: Any, config: Dict[str, Any], *flags: str) -> int:
    path = str(tmp_path / f"mix-{len(os.listdir(tmp_path))}.json")
    with open(path, "w") as f:
        json.dump(config, f)
    return main(["-c", path, "mix", *flags])


def _shards(out: str) -> List[str]:
    return sorted(os.path.join(out, n) for n in os.listdir(out) if n.endswith(".jsonl.gz"))


def test_mix_filters_replaces_spans_and_records_provenance(tmp_path: Any) -> None:
    root = _corpus(str(tmp_path / "c"))
    out = str(tmp_path / "out")
    config = _config(
        root, out,
        filter={"exclude": ["$.attributes[?(@.exp__t__score[0][2] < 0.3)]"]},
        span_replacement=[{"span": "$.attributes.exp__t__para", "min_score": 0.9, "replacement": "<{}>"}],
    )
    assert _mix(tmp_path, config) == 0
    assert [os.path.basename(p) for p in _shards(out)] == ["web-0000.jsonl.gz"]
    docs = read_jsonl(_shards(out)[0])
    # d0 (0.0) and d1 (0.2) dropped; d3 has no score attribute, so the exclude does not match it
    assert [d["id"] for d in docs] == ["f0-d2", "f0-d3", "f0-d4"]
    assert docs[1]["text"] == "01<23><45>6789"  # adjacent spans stay separate
    assert docs[0]["extra"] == {"k": 2}  # unknown fields pass through
    assert docs[0]["attributes"]["exp__t__tox"] == {"toxicity": pytest.approx(0.2)}  # any JSON value merges
    assert docs[2]["metadata"]["provenance"] == f"{root}/documents/part-00.jsonl.gz:5"
    manifest = json.load(open(_shards(out)[0] + ".manifest.json"))
    counts = manifest["counts"]
    assert counts["documents_in"] == 5 and counts["documents_out"] == 3 and counts["documents_kept"] == 3
    assert counts["dropped: exclude: $.attributes[?(@.exp__t__score[0][2] < 0.3)]"] == 2
    assert counts["spans_replaced"] == 2
    assert [i["path"] for i in manifest["inputs"]] == [
        f"{root}/documents/part-00.jsonl.gz", f"{root}/attributes/exp/part-00.jsonl.gz"]
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert manifest["outputs"][0]["sha256"] and manifest["config"]["stream"]["name"] == "web"
    mixture = json.load(open(os.path.join(out, "mixture.json")))
    assert mixture["streams"]["web"]["counts"]["documents_out"] == 3


def test_jq_filter_with_missing_attributes_and_discard(tmp_path: Any) -> None:
    root = _corpus(str(tmp_path / "c"))
    out = str(tmp_path / "out")
    config = _config(
        root, out,
        filter={"include": [".attributes.exp__t__score[0][2] >= 0.4"], "exclude": [".attributes.exp__t__tox.toxicity > 0.35"],
                "syntax": "jq"},
        output={"path": out, "discard_fields": ["attributes", "extra"], "min_text_length": 1},
    )
    assert _mix(tmp_path, config) == 0
    docs = read_jsonl(_shards(out)[0])
    assert [d["id"] for d in docs] == ["f0-d2"]  # d3: missing score is null (not >= 0.4); d4: toxic
    assert set(docs[0]) == {"id", "text", "source", "metadata"}


def test_min_text_length_after_span_removal(tmp_path: Any) -> None:
    root = _corpus(str(tmp_path / "c"))
    out = str(tmp_path / "out")
    config = _config(root, out, span_replacement=[{"span": "$.attributes.exp__t__score", "min_score": 0.5}],
                     output={"path": out, "min_text_length": 4})
    assert _mix(tmp_path, config) == 0
    docs = read_jsonl(_shards(out)[0])
    # d2 "zzz" is too short; d3/d4 scores 0.6, 0.8 → first 5 code points removed
    assert [d["text"] for d in docs] == [TEXTS[0], TEXTS[1], TEXTS[3], "dé text here"]
    counts = json.load(open(_shards(out)[0] + ".manifest.json"))["counts"]
    assert counts["dropped: min_text_length"] == 1


def test_min_text_length_counts_trimmed_utf8_bytes_as_dolma(tmp_path: Any) -> None:
    from dolma.mixers.documents import text_length

    # values of Dolma 1.2.1's own test: with a minimum of 4 it drops the first two and keeps the third
    assert [text_length(t) for t in ["\n\n\np\n\n\n", "  ab  ", "ééé"]] == [1, 2, 6]
    assert text_length("\u3000x\u2003") == 1 and text_length("") == 0


@pytest.mark.parametrize(
    "spans, max_score, expected",
    [
        ([[0, 3, 1.0], [2, 5, 1.0], [8, 10, 1.0]], None, "<abcde>fgh<ij>"),  # overlap merges into one region
        ([[2, 5, 1.0], [0, 8, 1.0]], None, "<abcdefgh>ij"),  # contained span
        ([[8, 20, 1.0], [0, 0, 1.0], [-3, 1, 1.0]], None, "<a>bcdefgh<ij>"),  # clamped; empty ignored
        ([[2, 4, 1], [4, 6, 1]], None, "ab<cd><ef>ghij"),  # adjacent
        ([[0, 10, 0.4], [1, 2, 0.99], [3, 4, 1.0]], 1.0, "a<b>cdefghij"),  # 0.4 < min; 1.0 not < max
    ],
)
def test_span_rules(spans: List[List[float]], max_score: Optional[float], expected: str) -> None:
    rules = [SpanRule("$.p", compile_selector("$.p", "jsonpath"), 0.5, max_score, "<{}>")]
    text, _ = replace_spans("abcdefghij", collect_spans({"p": spans}, rules), rules)
    assert text == expected


def test_span_offsets_are_code_points() -> None:
    rules = [SpanRule(".p", compile_selector(".p", "jq"), 0.5, None, "")]
    text, n = replace_spans("héllo wörld 🙂!", collect_spans({"p": [[1, 2, 1], [7, 8, 1], [12, 13, 1]]}, rules), rules)
    assert (text, n) == ("hllo wrld !", 3)


def test_sampling_is_deterministic_and_upsamples(tmp_path: Any) -> None:
    ids = [f"doc-{i}" for i in range(4000)]
    half = Sampler(0.5, 0, "web")
    kept = [i for i in ids if half.copies(i)]
    assert kept == [i for i in ids if Sampler(0.5, 0, "web").copies(i)]
    assert 1800 < len(kept) < 2200
    assert kept != [i for i in ids if Sampler(0.5, 1, "web").copies(i)]  # the seed matters
    up = Sampler(2.5, 0, "web")
    total = sum(up.copies(i) for i in ids)
    assert all(up.copies(i) in (2, 3) for i in ids) and 9600 < total < 10400

    root = _corpus(str(tmp_path / "c"))
    out = str(tmp_path / "out")
    assert _mix(tmp_path, _config(root, out, sample=2.0)) == 0
    docs = read_jsonl(_shards(out)[0])
    assert [d["id"] for d in docs[:4]] == ["f0-d0", "f0-d0-dup1", "f0-d1", "f0-d1-dup1"]
    assert docs[0]["metadata"]["provenance"] == docs[1]["metadata"]["provenance"]


def test_target_share_sets_the_rate(tmp_path: Any) -> None:
    root = _corpus(str(tmp_path / "c"), n_files=2, per_file=200)
    out = str(tmp_path / "out")
    config = _config(root, out, target={"share": 0.5})
    config["mixture"] = {"total": 1000, "unit": "bytes"}
    assert _mix(tmp_path, config) == 0
    mixture = json.load(open(os.path.join(out, "mixture.json")))["streams"]["web"]
    available = mixture["measured_before_sampling"]["text_bytes"]
    assert mixture["sample_rate"] == pytest.approx(500 / available)
    realised = sum(len(d["text"].encode()) for s in _shards(out) for d in read_jsonl(s))
    assert 200 < realised < 900


def test_shards_respect_max_size_and_bytes_do_not_depend_on_processes(tmp_path: Any) -> None:
    root = _corpus(str(tmp_path / "c"), n_files=4, per_file=400, salt=True)
    outputs = {}
    for processes in (1, 2):
        out = str(tmp_path / f"out{processes}")
        config = _config(root, out, filter={"exclude": ["$.attributes[?(@.exp__t__score[0][2] > 0.7)]"]},
                         output={"path": out, "max_size_in_bytes": 8000})
        config["processes"] = processes
        assert _mix(tmp_path, config) == 0
        shards = _shards(out)
        assert [os.path.basename(s) for s in shards] == [f"web-{i:04d}.jsonl.gz" for i in range(len(shards))]
        assert len(shards) > 4
        assert all(os.path.getsize(s) <= 8000 for s in shards)
        outputs[processes] = [open(s, "rb").read() for s in shards]
    assert outputs[1] == outputs[2]
    docs = [d for s in _shards(str(tmp_path / "out1")) for d in read_jsonl(s)]
    assert len(docs) == 4 * 400 - 4 * 80  # score 0.8 (d4) excluded
    assert [d["id"] for d in docs] == sorted((d["id"] for d in docs), key=lambda x: (x.split("-")[0], int(x.split("d")[-1])))
    total_in = sum(json.load(open(s + ".manifest.json"))["counts"]["documents_in"] for s in _shards(str(tmp_path / "out1")))
    assert total_in == 1600


def test_rerun_skips_finished_units(tmp_path: Any, caplog: Any) -> None:
    root = _corpus(str(tmp_path / "c"), n_files=2)
    out = str(tmp_path / "out")
    config = _config(root, out, output={"path": out, "max_size_in_bytes": 10})
    assert _mix(tmp_path, config) == 0
    before = {s: os.path.getmtime(s) for s in _shards(out)}
    with caplog.at_level("INFO"):
        assert _mix(tmp_path, config) == 0
    assert "2 of 2 files already done" in caplog.text
    assert {s: os.path.getmtime(s) for s in _shards(out)} == before


def test_dropped_documents_audit(tmp_path: Any) -> None:
    root = _corpus(str(tmp_path / "c"))
    out, audit = str(tmp_path / "out"), str(tmp_path / "audit")
    config = _config(root, out, filter={"include": ["$.attributes[?(@.exp__t__score[0][2] >= 0.4)]"]},
                     output={"path": out, "dropped_path": audit})
    assert _mix(tmp_path, config) == 0
    dropped = read_jsonl(os.path.join(audit, "web-u0000.jsonl.gz"))
    assert [(d["document"]["id"], d["reason"]) for d in dropped] == [
        ("f0-d0", "include: no pattern matched"), ("f0-d1", "include: no pattern matched"),
        ("f0-d3", "include: no pattern matched")]
    assert dropped[0]["provenance"].endswith("part-00.jsonl.gz:1")


def _run_expect_error(tmp_path: Any, config: Dict[str, Any], capsys: Any, *needles: str) -> None:
    assert _mix(tmp_path, config) != 0
    err = capsys.readouterr().err
    for needle in needles:
        assert needle in err, err


def test_attribute_id_mismatch_names_both_files_and_line(tmp_path: Any, capsys: Any) -> None:
    root = _corpus(str(tmp_path / "c"))
    rows = read_jsonl(f"{root}/attributes/exp/part-00.jsonl.gz")
    rows[2]["id"] = "other"
    write_documents(f"{root}/attributes/exp/part-00.jsonl.gz", rows)
    out = str(tmp_path / "out")
    _run_expect_error(tmp_path, _config(root, out), capsys, f"{root}/attributes/exp/part-00.jsonl.gz:3",
                      f"{root}/documents/part-00.jsonl.gz:3", "'other'")
    assert _shards(out) == []  # nothing published


@pytest.mark.parametrize("keep, needle", [(3, "ends before its documents file"), (6, "more lines than")])
def test_short_or_long_attributes_file(tmp_path: Any, capsys: Any, keep: int, needle: str) -> None:
    root = _corpus(str(tmp_path / "c"))
    rows = read_jsonl(f"{root}/attributes/exp/part-00.jsonl.gz")
    rows = rows[:keep] if keep < len(rows) else rows + [{"id": "x", "attributes": {}}]
    write_documents(f"{root}/attributes/exp/part-00.jsonl.gz", rows)
    _run_expect_error(tmp_path, _config(root, str(tmp_path / "out")), capsys, "attributes/exp/part-00.jsonl.gz:", needle,
                      f"{root}/documents/part-00.jsonl.gz")


def test_missing_attributes_file(tmp_path: Any, capsys: Any) -> None:
    root = _corpus(str(tmp_path / "c"))
    config = _config(root, str(tmp_path / "out"), attributes=["exp", "nope"])
    _run_expect_error(tmp_path, config, capsys, f"{root}/attributes/nope/part-00.jsonl.gz", "does not exist",
                      f"{root}/documents/part-00.jsonl.gz")


def test_bad_document_line_fails_or_is_quarantined(tmp_path: Any, capsys: Any) -> None:
    root = _corpus(str(tmp_path / "c"))
    path = f"{root}/documents/part-00.jsonl.gz"
    lines = gzip.decompress(open(path, "rb").read()).splitlines(keepends=True)
    lines[1] = b'{"id": "f0-d1", "text": 5}\n'
    open(path, "wb").write(gzip.compress(b"".join(lines)))
    out = str(tmp_path / "out")
    _run_expect_error(tmp_path, _config(root, out), capsys, f"{path}:2", "`text` must be a string")
    config = _config(root, out)
    config["on_error"] = "skip"
    assert _mix(tmp_path, config) == 0
    assert len(read_jsonl(_shards(out)[0])) == 4
    quarantined = read_jsonl(os.path.join(out, "quarantine", "web-u0000.jsonl.gz"))
    assert quarantined[0]["line"] == 2
    counts = json.load(open(_shards(out)[0] + ".manifest.json"))["counts"]
    assert counts["documents_quarantined"] == 1 and counts["documents_in"] == 5


def test_a_failed_unit_leaves_no_parts_dropped_or_quarantine_files(tmp_path: Any, capsys: Any) -> None:
    root = _corpus(str(tmp_path / "c"), per_file=200, salt=True)
    path = f"{root}/documents/part-00.jsonl.gz"
    lines = gzip.decompress(open(path, "rb").read()).splitlines(keepends=True)
    lines[1] = b"not json\n"
    open(path, "wb").write(gzip.compress(b"".join(lines)))
    rows = read_jsonl(f"{root}/attributes/exp/part-00.jsonl.gz")
    write_documents(f"{root}/attributes/exp/part-00.jsonl.gz", rows + [{"id": "x", "attributes": {}}])
    out, audit = str(tmp_path / "out"), str(tmp_path / "audit")
    config = _config(root, out, filter={"include": ["$.attributes[?(@.exp__t__score[0][2] >= 0.4)]"]},
                     output={"path": out, "dropped_path": audit, "max_size_in_bytes": 3000})
    config["on_error"] = "skip"
    # the unit fails at the end of its file, after it published parts and wrote dropped and quarantined lines
    _run_expect_error(tmp_path, config, capsys, "more lines than")
    left = [os.path.join(d, n) for top in (out, audit) for d, _, names in os.walk(top) for n in names]
    assert left == [os.path.join(out, "mixture.json")]


def test_jq_runtime_error_names_file_line_and_expression(tmp_path: Any, capsys: Any) -> None:
    root = _corpus(str(tmp_path / "c"))
    config = _config(root, str(tmp_path / "out"), filter={"include": [".attributes.exp__t__tox.toxicity.x"], "syntax": "jq"})
    _run_expect_error(tmp_path, config, capsys, f"{root}/documents/part-00.jsonl.gz:1", "cannot index number")


def test_syntax_error_is_reported_before_reading_files(tmp_path: Any, capsys: Any) -> None:
    config = _config(str(tmp_path / "nowhere"), str(tmp_path / "out"),
                     filter={"exclude": ["$.attributes[?(@.x <)]"]})
    _run_expect_error(tmp_path, config, capsys, "invalid JSONPath expression at position 20", "$.attributes[?(@.x <)]")


@pytest.mark.parametrize(
    "stream, message",
    [
        ({"filter": {}}, "give `include` or `exclude`"),
        ({"span_replacement": [{"span": "$.a"}]}, "set `min_score` or `max_score`"),
        ({"filter": {"include": ["$.a"], "syntax": "xpath"}}, "Invalid enum value 'xpath'"),
        ({"target": {"share": 0.5}}, "needs `mixture.total`"),
        ({"output": {"max_size_in_bytes": 10}}, "missing required key `streams[0].output.path`"),
    ],
)
def test_config_errors(tmp_path: Any, stream: Dict[str, Any], message: str) -> None:
    data = _config(str(tmp_path), str(tmp_path / "out"), **stream)
    with pytest.raises(ConfigError) as info:
        MixStage(resolve(MixConfig, data))
    assert message in str(info.value)


def test_dolma_wikipedia_example_config_loads(tmp_path: Any) -> None:
    """Dolma's docs/examples/wikipedia-mixer.yaml, paths aside, resolves and compiles unchanged."""
    import yaml

    text = f"""
streams:
    - name: getting-started
      documents:
        - {tmp_path}/wikipedia/v0/documents/*.gz
      output:
        path: {tmp_path}/wikipedia/example0/documents
        max_size_in_bytes: 1_000_000_000
      attributes:
        - exp
        - bff_duplicate_paragraph_spans
      filter:
        include:
          - "$.attributes[?(@.exp__whitespace_tokenizer_with_paragraphs_v1__document[0][2] < 100000)]"
        exclude:
          - "$.attributes[?(@.exp__whitespace_tokenizer_with_paragraphs_v1__document[0][2] < 50)]"
          - "$.attributes[?(@.exp__ft_lang_id_en_paragraph_with_doc_score_v2__doc_en[0][2] <= 0.5)]"
          - "$@.attributes[?(@.bff_duplicate_paragraph_spans && @.bff_duplicate_paragraph_spans[0] && @.bff_duplicate_paragraph_spans[0][2] >= 1.0)]"
      span_replacement:
        - span: "$.attributes.exp__cld2_en_paragraph_with_doc_score_v2__not_en"
          min_score: 0.1
          replacement: ''
processes: 1
"""
    config = resolve(MixConfig, yaml.safe_load(text))
    stage = MixStage(config)
    assert config.streams[0].output.max_size_in_bytes == 1_000_000_000
    assert stage.config.streams[0].filter is not None


def test_each_file_is_a_unit_and_parts_join_into_the_same_shards_at_any_process_count(tmp_path: Any) -> None:
    root = _corpus(str(tmp_path / "c"), n_files=5, per_file=60, salt=True)
    outputs = {}
    for processes in (1, 2):
        out = str(tmp_path / f"out{processes}")
        config = _config(root, out, span_replacement=[{"span": "$.attributes.exp__t__para", "min_score": 0.9}])
        config["processes"] = processes
        assert _mix(tmp_path, config) == 0
        shards = _shards(out)
        assert len(shards) == 1  # five units' parts, joined into one shard
        outputs[processes] = open(shards[0], "rb").read()
        assert not [n for n in os.listdir(os.path.join(out, ".mix-staging")) if n.endswith(".part")]
    assert outputs[1] == outputs[2]
    out = str(tmp_path / "out1")
    docs = read_jsonl(_shards(out)[0])
    assert [d["id"] for d in docs] == [f"f{f}-d{i}" for f in range(5) for i in range(60)]
    assert docs[-1]["metadata"]["provenance"] == f"{root}/documents/part-04.jsonl.gz:60"
    manifest = json.load(open(_shards(out)[0] + ".manifest.json"))
    assert [i["path"] for i in manifest["inputs"]] == [
        f"{root}/{kind}/part-{f:02d}.jsonl.gz" for f in range(5) for kind in ("documents", "attributes/exp")]
    assert manifest["counts"]["documents_in"] == 300 and manifest["counts"]["documents_out"] == 300
    assert manifest["outputs"][0]["sha256"] == hashlib.sha256(outputs[1]).hexdigest()
    assert manifest["outputs"][0]["bytes"] == len(outputs[1])


def test_failed_unit_holds_back_the_shard_it_could_join_and_rerun_completes_it(tmp_path: Any, capsys: Any) -> None:
    root = _corpus(str(tmp_path / "c"), n_files=3, per_file=200, salt=True)

    def run(out: str) -> int:
        return _mix(tmp_path, _config(root, out, output={"path": out, "max_size_in_bytes": 3000}))

    fresh = str(tmp_path / "fresh")
    assert run(fresh) == 0
    expected = [open(s, "rb").read() for s in _shards(fresh)]
    assert all(len(b) <= 3000 for b in expected)
    attrs = f"{root}/attributes/exp/part-01.jsonl.gz"
    os.rename(attrs, attrs + ".away")
    out = str(tmp_path / "out")
    assert run(out) != 0
    published = [open(s, "rb").read() for s in _shards(out)]
    assert 0 < len(published) < len(expected)
    assert published == expected[: len(published)]  # the first unit's last shard could still grow: not published
    os.rename(attrs + ".away", attrs)
    assert run(out) == 0
    assert [open(s, "rb").read() for s in _shards(out)] == expected
    assert [json.load(open(s + ".manifest.json"))["outputs"][0]["sha256"] for s in _shards(out)] == [
        hashlib.sha256(b).hexdigest() for b in expected]
