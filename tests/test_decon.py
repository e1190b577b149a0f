"""Benchmark decontamination: `dolma decon index` over JSONL, Parquet and HF folders, the `decon` tagger through
`dolma tag`, and `dolma mix` dropping documents or cutting spans on its attributes."""

from __future__ import annotations

import gzip
import json
import os
import re
from typing import Any, Dict, List

import numpy as np
import pytest

from dolma.cli import main
from dolma.core.errors import ConfigError, InputError
from dolma.decon.config import EvalSetConfig, IndexConfig
from dolma.decon.evalsets import read_set, resolve_preset
from dolma.decon.index import build_index, load_index, write_index
from dolma.decon.match import MatchSettings, find_matches, item_bars
from dolma.decon.ngrams import char_offsets, grams
from tests.conftest import read_jsonl, write_documents

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon "
         "phi chi psi omega").split()


def _humaneval() -> List[Dict[str, Any]]:
    path = resolve_preset(EvalSetConfig(name="humaneval", preset="humaneval")).path[0]
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


HUMANEVAL = _humaneval()


def _filler(seed: int, words: int) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(WORDS[i] for i in rng.integers(0, len(WORDS), words)) + "."


@pytest.fixture(scope="module")
def humaneval_index(tmp_path_factory: Any) -> str:
    folder = str(tmp_path_factory.mktemp("decon") / "index")
    index, items = build_index(IndexConfig(sets=[EvalSetConfig(name="humaneval", preset="humaneval")]))
    write_index(index, items, folder)
    return folder


def _settings() -> MatchSettings:
    return MatchSettings()


# --- n-grams -------------------------------------------------------------------------------------------------


def test_ngrams_ignore_case_whitespace_and_punctuation():
    text = "Héllo,   WORLD!\n\tfoo-bar (baz) “quoted” — ok…"
    a = grams([text], 3)
    b = grams(["héllo world foo bar baz quoted ok"], 3)
    assert a.valid.sum() == b.valid.sum() == 5
    assert a.hashes[a.valid].tolist() == b.hashes[b.valid].tolist()
    starts, ends = char_offsets(text, a.word_start), char_offsets(text, a.word_end)  # one text: its own offsets
    assert [text[s:e] for s, e in zip(starts, ends)] == ["Héllo", "WORLD", "foo", "bar", "baz", "quoted", "ok"]
    # the same words give the same hash wherever they sit; other words another
    assert int(b.hashes[0]) == int(grams(["x y héllo world foo"], 3).hashes[2])
    assert int(b.hashes[0]) != int(grams(["hello world foo"], 3).hashes[0])
    assert grams(["a" * 30 + "b"], 1).hashes[0] != grams(["a" * 30 + "bb"], 1).hashes[0]  # the length counts
    assert grams(["x" * 20 + "y"], 1).hashes[0] != grams(["x" * 20 + "z"], 1).hashes[0]  # and the last bytes
    # the hash is fixed: an index built elsewhere must match (HASH_VERSION 3)
    assert int(grams(["the quick brown fox jumps"], 5).hashes[0]) == 0x7f11b03176cfba2a


def test_ngrams_do_not_span_two_texts_and_offsets_are_per_text():
    g = grams(["one two", "three four five", "", "😀 six"], 2)
    assert g.doc_first_word.tolist() == [0, 2, 5, 5, 6]
    assert g.valid.tolist() == [True, False, True, True, False, False]
    assert g.doc_start.tolist() == [0, 8, 24, 25]
    assert (g.word_start - g.doc_start[g.doc]).tolist() == [0, 4, 0, 6, 11, 5]  # bytes: the emoji is 4 and no word
    assert char_offsets("😀 six", g.word_start[5:] - 25).tolist() == [2]
    assert g.hashes[0] == grams(["one two three"], 2).hashes[0]  # same words, same hash, anywhere in the batch


# --- eval sets and the index ---------------------------------------------------------------------------------


def _items(n: int) -> List[Dict[str, Any]]:
    return [{"uid": f"q{i}", "meta": {"split": "dev" if i % 2 else "test"}, "q": _filler(100 + i, 30),
             "choices": [_filler(200 + i, 5), _filler(300 + i, 5)]} for i in range(n)]


def test_index_reads_jsonl_parquet_and_hf_folders_with_a_field_mapping(tmp_path):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _items(6) + [{"uid": "short", "meta": {"split": "test"}, "q": "too short to judge", "choices": []}]
    write_documents(str(tmp_path / "set.jsonl.gz"), rows)
    pq.write_table(pa.Table.from_pylist(rows), str(tmp_path / "set.parquet"))
    flat = [{"uid": r["uid"], "q": r["q"], "choices": r["choices"]} for r in rows]
    datasets.DatasetDict({"validation": datasets.Dataset.from_list(flat)}).save_to_disk(str(tmp_path / "hf"))
    mapping = {"question": ["q"], "answer": ["choices"], "id": "uid"}
    config = {
        "output": str(tmp_path / "index"),
        "sets": [
            {"name": "js", "path": [str(tmp_path / "set.jsonl.gz")], "split": "meta.split", **mapping},
            {"name": "pq", "path": [str(tmp_path / "set.parquet")], **mapping},
            {"name": "hf", "path": [str(tmp_path / "hf")], **mapping},
        ],
    }
    (tmp_path / "index.json").write_text(json.dumps(config))
    assert main(["decon", "index", "-c", str(tmp_path / "index.json")]) == 0
    info = json.loads((tmp_path / "index" / "index.json").read_text())
    assert [(s["name"], s["items_read"], s["items_indexed"], s["items_too_short"]) for s in info["sets"]] == [
        ("js", 7, 6, 1), ("pq", 7, 6, 1), ("hf", 7, 6, 1)]
    items = read_jsonl(str(tmp_path / "index" / "items.jsonl.gz"))
    assert [(i["set"], i["split"], i["id"]) for i in items[:2]] == [("js", "test", "q0"), ("js", "dev", "q1")]
    assert {i["split"] for i in items if i["set"] == "pq"} == {"test"}  # no split field: the default
    assert {i["split"] for i in items if i["set"] == "hf"} == {"validation"}  # the dataset folder's split
    assert items[0]["question"] == rows[0]["q"] and items[0]["answer"] == "\n".join(rows[0]["choices"])
    index = load_index(str(tmp_path / "index"))
    assert len(index.words) == 18 and index.sets == ["js", "pq", "hf"]
    # the same item in three sets: every n-gram's postings list all three copies
    key = index.lookup(grams([rows[0]["q"]], index.ngram_size).hashes[:1])[0]
    assert index.postings[index.offsets[key]:index.offsets[key + 1]].tolist() == [0, 6, 12]


def test_bad_eval_input_is_one_line_naming_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"q": "fine"}\n{"q": 3}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: field 'q' is int"):
        list(read_set(EvalSetConfig(name="x", path=[str(path)], question=["q"])))
    path.write_text('{"q": "fine"}\nnot json\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: not valid JSON"):
        list(read_set(EvalSetConfig(name="x", path=[str(path)], question=["q"])))
    with pytest.raises(ConfigError, match="set name 'Bad__name'"):
        EvalSetConfig(name="Bad__name", path=["x.jsonl"], question=["q"])
    with pytest.raises(ConfigError, match="map at least one"):
        EvalSetConfig(name="x", path=["x.jsonl"])
    assert main(["decon", "index", "--output", str(tmp_path / "i")]) == 2  # no sets
    # inputs are read-only: no index beside an evaluation file
    (tmp_path / "good.jsonl").write_text(json.dumps({"q": _filler(1, 30)}) + "\n")
    (tmp_path / "in.json").write_text(json.dumps({"sets": [{"name": "x", "path": [str(tmp_path / "good.jsonl")],
                                                            "question": ["q"]}], "output": str(tmp_path)}))
    assert main(["decon", "index", "-c", str(tmp_path / "in.json")]) == 2
    assert not (tmp_path / "index.json").exists()
    with pytest.raises(ConfigError, match="no contamination index"):
        load_index(str(tmp_path / "nowhere"))


def test_humaneval_preset_indexes_the_packaged_set(humaneval_index):
    index = load_index(humaneval_index)
    (info,) = index.info["sets"]
    assert info["items_read"] == 164 and info["items_indexed"] + info["items_too_short"] == 164
    items = read_jsonl(os.path.join(humaneval_index, "items.jsonl.gz"))
    assert items[0]["id"] == "HumanEval/0" and items[0]["question"] == HUMANEVAL[0]["prompt"]


# --- matching ------------------------------------------------------------------------------------------------


def test_copies_and_edited_copies_match_and_clean_text_does_not(humaneval_index):
    index = load_index(humaneval_index)
    settings = _settings()
    bars = item_bars(index, settings)
    item = HUMANEVAL[10]
    whole = item["prompt"] + item["canonical_solution"]
    edited = re.sub(r"\s+", "  ", whole).replace(",", " ,").replace(":", " :")
    prefix = _filler(1, 200) + "\n\n"
    texts = [prefix + whole + "\n" + _filler(2, 50), edited, whole[: len(whole) * 2 // 3], _filler(3, 2000),
             "def f(x):\n    return x\n" * 50]
    found = find_matches(texts, index, settings, bars)
    (m,) = found[0]
    assert m.item == 10 and m.score == pytest.approx(1.0)
    # the span runs from the item's first word to its last
    words = [w.span() for w in re.finditer(r"\w+", whole)]
    assert (m.start, m.end) == (len(prefix) + words[0][0], len(prefix) + words[-1][1])
    assert [x.item for x in found[1]] == [10] and found[1][0].score == pytest.approx(1.0)
    assert [x.item for x in found[2]] == [10] and 0.5 < found[2][0].score < 1.0
    assert found[3] == [] and found[4] == []
    # plain weighting: every n-gram the same; a whole copy still scores 1.0, a partial one its share of n-grams
    plain = MatchSettings(weighting="plain")
    again = find_matches(texts, index, plain, item_bars(index, plain))
    assert again[0][0].score == pytest.approx(1.0) and again[2][0].score != found[2][0].score


def test_matches_do_not_depend_on_the_batch(humaneval_index):
    index = load_index(humaneval_index)
    settings = _settings()
    bars = item_bars(index, settings)
    texts = [_filler(i, 300) + HUMANEVAL[i]["prompt"] + _filler(i + 50, 20) if i % 3 else _filler(i, 400)
             for i in range(12)]
    together = find_matches(texts, index, settings, bars)
    alone = [find_matches([t], index, settings, bars)[0] for t in texts]
    assert together == alone
    assert sum(map(len, together)) == 8


def test_short_items_need_a_whole_copy(tmp_path):
    # an item of 20 words: its bar is 1 - (20 - 15) / (40 - 15) * (1 - 0.3) = 0.86 by default, 1.0 when items of up to
    # 20 words must be whole
    text = _filler(7, 20)
    write_documents(str(tmp_path / "s.jsonl"), [{"q": text}])
    index, items = build_index(IndexConfig(sets=[EvalSetConfig(name="s", path=[str(tmp_path / "s.jsonl")],
                                                               question=["q"])]))
    words = text.split()
    texts = ["intro " + text, " ".join(words[:-5]), " ".join(words[:-1])]
    settings = _settings()
    bars = item_bars(index, settings)
    assert bars[0] == pytest.approx(0.86, abs=1e-6)
    assert [len(m) for m in find_matches(texts, index, settings, bars)] == [1, 0, 1]
    strict = MatchSettings(exact_below=20)
    assert [len(m) for m in find_matches(texts, index, strict, item_bars(index, strict))] == [1, 0, 0]


# --- tag and mix ---------------------------------------------------------------------------------------------


def test_tag_writes_document_and_span_attributes_and_mix_drops_or_cuts(tmp_path, humaneval_index):
    item = HUMANEVAL[42]
    planted = _filler(5, 100) + "\n\n" + item["prompt"] + item["canonical_solution"] + "\n\n" + _filler(6, 60)
    docs = [{"id": "clean", "text": _filler(4, 300)}, {"id": "dirty", "text": planted},
            {"id": "empty", "text": ""}]
    root = tmp_path / "corpus"
    write_documents(str(root / "documents" / "part-0.jsonl.gz"), docs)
    assert main(["tag", "--documents", f"{root}/documents/*.gz", "--taggers", "decon", "--experiment", "decon",
                 "--tagger_options.decon.index", humaneval_index]) == 0
    rows = read_jsonl(str(root / "attributes" / "decon" / "part-0.jsonl.gz"))
    assert rows[0]["attributes"] == {"decon__decon__contaminated": [[0, len(docs[0]["text"]), 0.0]]}
    assert rows[2]["attributes"] == {"decon__decon__contaminated": [[0, 0, 0.0]]}
    dirty = rows[1]["attributes"]
    ((start, end, score),) = dirty["decon__decon__match"]
    assert score == pytest.approx(1.0) and dirty["decon__decon__contaminated"] == [[0, len(planted), score]]
    ((_, _, number),) = dirty["decon__decon__item"]
    assert read_jsonl(os.path.join(humaneval_index, "items.jsonl.gz"))[int(number)]["id"] == "HumanEval/42"
    assert dirty["decon__decon__item"] == [[start, end, number]]
    assert dirty["decon__decon__humaneval"] == [[start, end, score]]
    assert planted[start:end].startswith(item["prompt"].split()[0])
    manifest = json.loads((root / "attributes" / "decon" / "part-0.jsonl.gz.manifest.json").read_text())
    assert manifest["config"]["tagger_options"]["decon"]["options"]["index"] == humaneval_index

    def mix(name: str, **stream: Any) -> List[Dict[str, Any]]:
        config = {"streams": [{"name": name, "documents": [f"{root}/documents/*.gz"], "attributes": ["decon"],
                               "output": {"path": str(tmp_path / name)}, **stream}]}
        (tmp_path / f"{name}.json").write_text(json.dumps(config))
        assert main(["mix", "-c", str(tmp_path / f"{name}.json")]) == 0
        return [r for f in sorted(os.listdir(tmp_path / name)) if f.endswith(".jsonl.gz")
                for r in read_jsonl(str(tmp_path / name / f))]

    dropped = mix("drop", filter={"exclude": ["$.attributes[?(@.decon__decon__contaminated[0][2] > 0)]"]})
    assert [d["id"] for d in dropped] == ["clean", "empty"]
    cut = mix("cut", span_replacement=[{"span": "$.attributes.decon__decon__match", "min_score": 0.5,
                                        "replacement": ""}])
    assert [d["id"] for d in cut] == ["clean", "dirty", "empty"]
    assert cut[1]["text"] == planted[:start] + planted[end:]

    # the datasheet: the set's row, the score table, a sample with both texts highlighted, the audit file
    assert main(["report", str(tmp_path), "--output", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    section = markdown.split("## Contamination", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split(" | ") for line in section.splitlines() if line.startswith("| humaneval")]
    size = len(planted.encode()) / 1e6
    assert [c.strip() for c in rows[0]] == ["humaneval", "163", "1", "0.006", "1", f"{size:.3f}", "1", f"{size:.3f}",
                                            "0.000"]
    assert [c.strip() for c in rows[1]] == ["humaneval", "0", "0", "0", "0", "0", "0", "0", "0", "1"]
    assert "item HumanEval/42, score 1.000" in section and "document dirty" in section and "removed" in section
    page = (tmp_path / "report" / "report.html").read_text()
    assert "<mark>" in page and "Contamination" in page
    (audit,) = read_jsonl(str(tmp_path / "report" / "contamination_matches.jsonl"))
    assert audit["item"] == "HumanEval/42" and audit["document"] == "dirty" and audit["line"] == 2
    assert audit["document_text"] == planted[start:end] and audit["item_text"].startswith(item["prompt"])
    assert audit["shared_ngrams"] == audit["item_ngrams"] > 0 and audit["removed"] and audit["cut"]


def test_tagger_options_are_checked(tmp_path, humaneval_index):
    docs = tmp_path / "c" / "documents" / "a.jsonl.gz"
    write_documents(str(docs), [{"id": "a", "text": "x"}])
    assert main(["tag", "--documents", str(docs), "--taggers", "decon"]) == 2  # no index
    assert main(["tag", "--documents", str(docs), "--taggers", "decon", "--tagger_options.decon.index",
                 humaneval_index, "--tagger_options.decon.threshold", "1.5"]) != 0


def test_index_bytes_are_reproducible_and_a_rebuilt_index_reruns_the_tagging(tmp_path):
    rows = _items(4)
    write_documents(str(tmp_path / "set.jsonl"), rows)
    (tmp_path / "index.yaml").write_text(json.dumps({"sets": [{"name": "s", "path": [str(tmp_path / "set.jsonl")],
                                                               "question": ["q"]}]}))
    args = ["decon", "index", "-c", str(tmp_path / "index.yaml")]
    assert main([*args, "--output", str(tmp_path / "a")]) == 0
    assert main([*args, "--output", str(tmp_path / "b")]) == 0
    for name in ("index.json", "ngrams.npz", "items.jsonl.gz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    docs = tmp_path / "c" / "documents" / "d.jsonl.gz"
    write_documents(str(docs), [{"id": "d", "text": _filler(9, 20) + " " + rows[3]["q"]}])
    tag = ["tag", "--documents", str(docs), "--taggers", "decon", "--tagger_options.decon.index", str(tmp_path / "a")]
    out = tmp_path / "c" / "attributes" / "decon" / "d.jsonl.gz"
    assert main(tag) == 0
    assert read_jsonl(str(out))[0]["attributes"]["decon__decon__s"][0][2] == pytest.approx(1.0)
    # the same folder rebuilt from another set: the tagging is not skipped, and finds nothing now
    write_documents(str(tmp_path / "set.jsonl"), _items(3))
    assert main([*args, "--output", str(tmp_path / "a")]) == 0
    assert main(tag) == 0
    assert list(read_jsonl(str(out))[0]["attributes"]) == ["decon__decon__contaminated"]


def test_eval_set_and_index_on_s3_and_documents_there(s3_prefix, tmp_path):
    from tests.conftest import s3_keys, s3_put

    rows = _items(3)
    s3_put(f"{s3_prefix}/evals/set.jsonl.gz", gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    (tmp_path / "index.json").write_text(json.dumps({
        "sets": [{"name": "s", "path": [f"{s3_prefix}/evals/*.jsonl.gz"], "question": ["q"], "id": "uid"}],
        "output": f"{s3_prefix}/index"}))
    assert main(["decon", "index", "-c", str(tmp_path / "index.json")]) == 0
    prefix = s3_prefix.split("/", 3)[3]
    assert s3_keys(f"{s3_prefix}/index/") == [f"{prefix}/index/{n}" for n in ("index.json", "items.jsonl.gz", "ngrams.npz")]
    docs = [{"id": "a", "text": _filler(3, 40) + "\n\n" + rows[1]["q"]}, {"id": "b", "text": _filler(4, 40)}]
    s3_put(f"{s3_prefix}/c/documents/d.jsonl.gz", gzip.compress("".join(json.dumps(d) + "\n" for d in docs).encode()))
    assert main(["tag", "--documents", f"{s3_prefix}/c/documents/*.gz", "--taggers", "decon",
                 "--tagger_options.decon.index", f"{s3_prefix}/index"]) == 0
    rows_out = read_jsonl(f"{s3_prefix}/c/attributes/decon/d.jsonl.gz")
    assert rows_out[0]["attributes"]["decon__decon__s"][0][2] == pytest.approx(1.0)
    assert rows_out[1]["attributes"] == {"decon__decon__contaminated": [[0, len(docs[1]["text"]), 0.0]]}
