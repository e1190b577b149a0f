import json
import os

import pytest

from dolma.cli import main
from dolma.core.config import resolve
from dolma.core.executor import execute
from dolma.taggers.config import TagConfig
from dolma.core.registry import TaggerRegistry
from dolma.taggers.stage import TagStage
from tests.conftest import read_jsonl, s3_keys, s3_put, write_bytes, write_documents

PLUGIN = os.path.join(os.path.dirname(__file__), "data", "plugins", "dolma_style_plugin.py")

DOCS = [
    {"id": "a1", "text": "cool cool words", "source": "web", "metadata": {"url": "http://x.org/page"}},
    {"id": "a2", "text": "wé were waiting\n\nwith ünïcödé", "source": "web", "added": "2024-01-01"},
    {"id": "a3", "text": "", "source": "web", "metadata": {"url": "http://longer.example.com/"}},
]


def run_tag(**kwargs):
    kwargs.setdefault("tagger_modules", [PLUGIN])
    config = resolve(TagConfig, kwargs)
    stage = TagStage(config)
    stage.setup_plugins()
    return execute(
        stage, stage.units(), config.processes, config.ignore_existing, executor=config.executor
    )


def tagged_bytes(root, taggers, experiment: str, **options) -> bytes:
    """Tag ``root/documents/a.jsonl.gz`` with ``taggers`` in this process; the attribute file's bytes."""
    import gzip

    report = run_tag(documents=[str(root / "documents" / "*.gz")], taggers=taggers, experiment=experiment,
                     processes=1, tagger_modules=[], **options)
    assert report.ok
    with gzip.open(root / "attributes" / experiment / "a.jsonl.gz", "rb") as f:
        return f.read()


def corpus(tmp_path, n_files=2, ext=".jsonl.gz"):
    root = tmp_path / "corpus"
    for i in range(n_files):
        docs = [dict(d, id=f"{d['id']}-{i}") for d in DOCS]
        write_documents(str(root / "documents" / f"part-{i}{ext}"), docs)
    return root


def test_attributes_mirror_documents_with_experiment_keys(tmp_path):
    root = tmp_path / "corpus"
    write_documents(str(root / "documents/sub/a.jsonl.gz"), DOCS)
    write_documents(str(root / "documents/b.jsonl.zst"), DOCS[:2])
    report = run_tag(
        documents=[f"{root}/documents/**/*"], taggers=["test_cool_words", "test_word_spans"], experiment="my-exp"
    )
    assert report.ok and len(report.done) == 2
    rows = read_jsonl(str(root / "attributes/my-exp/sub/a.jsonl.gz"))
    assert [r["id"] for r in rows] == ["a1", "a2", "a3"]
    assert rows[0]["source"] == "web"  # as in Dolma's attribute lines
    assert rows[0]["attributes"] == {
        "my_exp__test_cool_words__cool": [[0, 15, 2 / 15]],
        "my_exp__test_word_spans__w_word": [[10, 15, 1.0]],
    }
    # code-point offsets: "wé were waiting\n\nwith ünïcödé"
    assert rows[1]["attributes"]["my_exp__test_word_spans__w_word"] == [[0, 2, 1.0], [3, 7, 1.0], [8, 15, 1.0], [17, 21, 1.0]]
    assert rows[2]["attributes"] == {"my_exp__test_cool_words__cool": [[0, 0, 0.0]]}
    # same compression as the input, by extension
    assert (root / "attributes/my-exp/b.jsonl.zst").exists()
    assert len(read_jsonl(str(root / "attributes/my-exp/b.jsonl.zst"))) == 2
    manifest = json.loads((root / "attributes/my-exp/sub/a.jsonl.gz.manifest.json").read_text())
    assert manifest["counts"]["documents_in"] == 3 and manifest["counts"]["documents_out"] == 3
    assert manifest["config"]["taggers"] == ["test_cool_words", "test_word_spans"]
    assert manifest["inputs"][0]["path"].endswith("documents/sub/a.jsonl.gz")
    assert len(manifest["outputs"][0]["sha256"]) == 64 and manifest["tool_version"]


def test_without_experiment_each_tagger_gets_its_own_set(tmp_path):
    root = corpus(tmp_path, n_files=1)
    report = run_tag(documents=[f"{root}/documents/*.gz"], taggers=["test_cool_words", "test_url_length"])
    assert report.ok
    cool = read_jsonl(str(root / "attributes/test_cool_words/part-0.jsonl.gz"))
    url = read_jsonl(str(root / "attributes/test_url_length/part-0.jsonl.gz"))
    assert list(cool[0]["attributes"]) == ["test_cool_words__test_cool_words__cool"]
    # metadata reaches BaseTaggerWithMetadata taggers; a document without metadata gets an empty dict
    assert [r["attributes"]["test_url_length__test_url_length__url_length"][0][2] for r in url] == [17.0, 0.0, 26.0]


def test_destination_override(tmp_path):
    root = corpus(tmp_path, n_files=1)
    out = tmp_path / "elsewhere"
    report = run_tag(
        documents=[f"{root}/documents/*.gz"], destination=[str(out)], taggers=["test_cool_words"], experiment="e"
    )
    assert report.ok
    assert len(read_jsonl(str(out / "part-0.jsonl.gz"))) == 3


def test_rerun_skips_finished_units_and_reruns_changed_config(tmp_path):
    root = corpus(tmp_path, n_files=2)
    args = dict(documents=[f"{root}/documents/*.gz"], taggers=["test_cool_words"], experiment="e")
    assert len(run_tag(**args).done) == 2
    out = root / "attributes/e/part-0.jsonl.gz"
    before = out.stat().st_mtime_ns
    second = run_tag(**args)
    assert len(second.skipped) == 2 and not second.done
    assert out.stat().st_mtime_ns == before
    # a unit without its manifest is not finished
    os.remove(str(out) + ".manifest.json")
    third = run_tag(**args)
    assert [k.rsplit("/", 1)[1] for k, _ in third.done] == ["part-0.jsonl.gz"]
    # other taggers in the same attribute set: outputs would differ, so the units run again
    changed = run_tag(**dict(args, taggers=["test_cool_words", "test_word_spans"]))
    assert len(changed.done) == 2
    assert "e__test_word_spans__w_word" in read_jsonl(str(out))[0]["attributes"]
    assert len(run_tag(**dict(args, ignore_existing=True)).done) == 2


def test_two_processes_give_the_same_bytes(tmp_path):
    root = corpus(tmp_path, n_files=4)
    run_tag(documents=[f"{root}/documents/*.gz"], taggers=["test_cool_words", "test_word_spans"], experiment="p1")
    report = run_tag(
        documents=[f"{root}/documents/*.gz"], taggers=["test_cool_words", "test_word_spans"], experiment="p2", processes=2
    )
    assert report.ok and len(report.done) == 4
    for i in range(4):
        a = read_jsonl(str(root / f"attributes/p1/part-{i}.jsonl.gz"))
        b = read_jsonl(str(root / f"attributes/p2/part-{i}.jsonl.gz"))
        assert json.dumps(a).replace("p1__", "") == json.dumps(b).replace("p2__", "")


BAD_LINES = [
    (b'{"id": "x", "text": "unterminated', 2, "invalid JSON"),
    (b'{"id": 7, "text": "int id"}', 2, "wrong type: Expected `str`, got `int` - at `$.id`"),
    (b'{"text": "no id"}', 2, "missing required field `id`"),
    (b'{"id": "x"}', 2, "missing required field `text`"),
    (b'{"id": "x", "text": "\xff\xfe"}', 2, "invalid UTF-8"),
    (b"", 2, "empty line"),
]


@pytest.mark.parametrize("bad,line,reason", BAD_LINES)
def test_bad_line_fails_its_unit_with_file_line_and_reason(tmp_path, bad, line, reason, capsys):
    root = tmp_path / "corpus"
    good = b'{"id": "g", "text": "fine"}'
    write_bytes(str(root / "documents/bad.jsonl.gz"), b"\n".join([good, bad, good]) + b"\n")
    write_documents(str(root / "documents/good.jsonl.gz"), DOCS)
    code = main(
        ["tag", "--documents", f"{root}/documents/*.gz", "--taggers", "test_cool_words", "--experiment", "e",
         "--tagger_modules", PLUGIN]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"{root}/documents/bad.jsonl.gz:{line}: {reason}" in err
    # nothing of the failed unit is published, the good unit is
    assert sorted(os.listdir(root / "attributes/e")) == ["good.jsonl.gz", "good.jsonl.gz.manifest.json"]


@pytest.mark.parametrize("ext", [".jsonl.gz", ".jsonl.zst"])
def test_truncated_file_fails_with_nothing_published(tmp_path, ext, capsys):
    root = tmp_path / "corpus"
    path = str(root / f"documents/t{ext}")
    write_documents(path, [{"id": str(i), "text": "some text " * 50} for i in range(3000)])
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) * 2 // 3])
    code = main(["tag", "--documents", path, "--taggers", "test_cool_words", "--experiment", "e", "--tagger_modules", PLUGIN])
    assert code == 1
    assert f"{path}:" in capsys.readouterr().err
    assert not (root / "attributes/e").exists() or os.listdir(root / "attributes/e") == []


def test_on_error_skip_quarantines_bad_lines_and_keeps_alignment(tmp_path):
    root = tmp_path / "corpus"
    lines = [
        b'{"id": "1", "text": "cool"}',
        b'{"id": "2", "text": "bro',
        b'{"id": "3", "text": 5}',
        b'{"id": "4", "text": "cool cool"}',
    ]
    write_bytes(str(root / "documents/a.jsonl.gz"), b"\n".join(lines) + b"\n")
    report = run_tag(
        documents=[f"{root}/documents/*.gz"], taggers=["test_cool_words"], experiment="e", on_error="skip"
    )
    assert report.ok
    rows = read_jsonl(str(root / "attributes/e/a.jsonl.gz"))
    assert [r["id"] for r in rows] == ["1", "", "3", "4"]  # "3" recovered from the bad line
    assert rows[1]["attributes"] == {} and rows[2]["attributes"] == {}
    quarantined = read_jsonl(str(root / "attributes/e/a.jsonl.gz.quarantine.jsonl.gz"))
    assert [(q["line"], q["raw"]) for q in quarantined] == [(2, lines[1].decode()), (3, lines[2].decode())]
    assert quarantined[1]["reason"].startswith("wrong type") and quarantined[0]["file"].endswith("a.jsonl.gz")
    manifest = json.loads((root / "attributes/e/a.jsonl.gz.manifest.json").read_text())
    counts = manifest["counts"]
    assert (counts["documents_in"], counts["documents_out"], counts["documents_quarantined"]) == (4, 2, 2)
    assert manifest["quarantine"]["path"].endswith(".quarantine.jsonl.gz")


def test_tagger_failure_names_the_document_line(tmp_path, capsys):
    root = tmp_path / "corpus"
    write_documents(str(root / "documents/a.jsonl"), [{"id": "1", "text": "ok"}, {"id": "2", "text": "boom"}])
    code = main(
        ["tag", "--documents", f"{root}/documents/a.jsonl", "--taggers", "test_explodes_on_boom",
         "--tagger_modules", PLUGIN, "--experiment", "e"]
    )
    assert code == 1
    assert "a.jsonl:2: tagger test_explodes_on_boom failed: ValueError: cannot handle boom" in capsys.readouterr().err


def test_tag_on_s3(s3_prefix):
    for i in range(3):
        data = "".join(json.dumps(dict(d, id=f"{d['id']}-{i}")) + "\n" for d in DOCS).encode()
        import gzip

        s3_put(f"{s3_prefix}/documents/part-{i}.jsonl.gz", gzip.compress(data))
    report = run_tag(documents=[f"{s3_prefix}/documents/*.jsonl.gz"], taggers=["test_cool_words"], experiment="e", processes=2)
    assert report.ok, report.failed
    keys = s3_keys(f"{s3_prefix}/attributes/")
    prefix = s3_prefix.split("/", 3)[3]
    assert keys == [
        f"{prefix}/attributes/e/part-{i}.jsonl.gz{suffix}" for i in range(3) for suffix in ("", ".manifest.json")
    ]
    rows = read_jsonl(f"{s3_prefix}/attributes/e/part-1.jsonl.gz")
    assert [r["id"] for r in rows] == ["a1-1", "a2-1", "a3-1"]
    again = run_tag(documents=[f"{s3_prefix}/documents/*.jsonl.gz"], taggers=["test_cool_words"], experiment="e")
    assert len(again.skipped) == 3


@pytest.mark.parametrize("processes", [1, 2])
def test_tagger_that_cannot_start_fails_every_unit_with_its_reason(tmp_path, processes):
    plugin = tmp_path / "broken_init_plugin.py"
    plugin.write_text(
        "from dolma import BaseTagger, add_tagger\n\n"
        "@add_tagger('needs_missing_model')\n"
        "class NeedsModel(BaseTagger):\n"
        "    def __init__(self):\n"
        "        raise FileNotFoundError('model file /models/x.bin not found')\n"
    )
    root = corpus(tmp_path, n_files=2)
    try:
        report = run_tag(
            documents=[f"{root}/documents/*.gz"], taggers=["needs_missing_model"], tagger_modules=[str(plugin)],
            processes=processes,
        )
    finally:
        TaggerRegistry.remove("needs_missing_model")
    assert len(report.failed) == 2
    assert all("FileNotFoundError: model file /models/x.bin not found" in reason for _, reason in report.failed)
    assert not (root / "attributes").exists()


def test_tag_batch_fast_path_writes_what_spans_would(tmp_path):
    from dolma.core.data_types import DocResult, Span
    from dolma.core.taggers import BaseTagger

    class SpansOnly(BaseTagger):
        def predict(self, doc):
            n = len(doc.text)
            return DocResult(doc, [Span(0, n, "len", float(n)), Span(0, 1, "first", 1.0), Span(1, n, "len", 0.5)])

    class Grouped(SpansOnly):
        calls = 0

        def tag_batch(self, docs):
            type(self).calls += 1
            return [{"len": [[0, len(d.text), float(len(d.text))], [1, len(d.text), 0.5]], "first": [[0, 1, 1.0]]}
                    for d in docs]

    TaggerRegistry.add("test_spans_only")(SpansOnly)
    TaggerRegistry.add("test_grouped")(Grouped)
    try:
        root = corpus(tmp_path, n_files=1)
        assert run_tag(documents=[f"{root}/documents/*"], taggers=["test_spans_only", "test_grouped"]).ok
        slow = read_jsonl(str(root / "attributes/test_spans_only/part-0.jsonl.gz"))
        fast = read_jsonl(str(root / "attributes/test_grouped/part-0.jsonl.gz"))
        assert Grouped.calls == 1
        rename = lambda attrs: {k.replace("test_grouped", "test_spans_only"): v for k, v in attrs.items()}  # noqa: E731
        assert [rename(r["attributes"]) for r in fast] == [r["attributes"] for r in slow]
        # the default groups spans by type in first-seen order
        assert list(slow[0]["attributes"]) == ["test_spans_only__test_spans_only__len", "test_spans_only__test_spans_only__first"]
        assert slow[0]["attributes"]["test_spans_only__test_spans_only__len"] == [[0, 15, 15.0], [1, 15, 0.5]]
    finally:
        TaggerRegistry.remove("test_spans_only")
        TaggerRegistry.remove("test_grouped")


def test_a_failing_tag_batch_still_names_the_document_line(tmp_path, capsys):
    from dolma.core.data_types import DocResult
    from dolma.core.taggers import BaseTagger

    class Breaks(BaseTagger):
        def predict(self, doc):
            if not doc.text:
                raise ValueError("empty text")
            return DocResult(doc, [])

        def tag_batch(self, docs):
            return [self.group_by_type(self.predict(d)) for d in docs]

    TaggerRegistry.add("test_breaks")(Breaks)
    try:
        root = corpus(tmp_path, n_files=1)
        report = run_tag(documents=[f"{root}/documents/*"], taggers=["test_breaks"])
        assert not report.ok
        assert "part-0.jsonl.gz:3" in report.failed[0][1] and "empty text" in report.failed[0][1]
    finally:
        TaggerRegistry.remove("test_breaks")
