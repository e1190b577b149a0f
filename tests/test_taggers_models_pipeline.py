"""`dolma train-ft` → the classifier tagger through `dolma tag` with options; model files; URL and code taggers."""

import ast
import functools
import http.server
import inspect
import json
import multiprocessing
import os
import threading

import pytest

from dolma.cli import main
from dolma.core.errors import ConfigError
from dolma.core.data_types import Document, DocumentWithMetadata
from dolma.taggers.models import ModelNotFound, resolve_model
from dolma.core.registry import tagger_spec
from tests.conftest import read_jsonl, write_documents



def _stdlib_examples():
    """Real text from the standard library: docstrings (prose) and function bodies (code)."""
    import collections
    import email.message
    import json as json_mod
    import textwrap
    import argparse

    prose, code = [], []
    for module in (argparse, collections, email.message, json_mod, textwrap, inspect, ast, threading):
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) > 60:
                    prose.append(doc)
                body = [n for n in node.body if not (isinstance(n, ast.Expr) and isinstance(getattr(n, "value", None), ast.Constant))]
                if isinstance(node, ast.FunctionDef) and body:
                    src = "\n".join(ast.unparse(n) for n in body)
                    if len(src) > 60:
                        code.append(src)
    return prose[:300], code[:300]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    prose, code = _stdlib_examples()
    write_documents(str(root / "prose" / "a.jsonl.gz"), [{"id": f"p{i}", "text": t} for i, t in enumerate(prose)])
    write_documents(str(root / "code" / "a.jsonl.gz"), [{"id": f"c{i}", "text": t} for i, t in enumerate(code)])
    mixed = [{"id": f"m{i}", "text": t, "metadata": {"kind": k}} for i, (t, k) in enumerate(
        [(t, "prose") for t in prose] + [(t, "code") for t in code])]
    write_documents(str(root / "mixed" / "a.jsonl"), mixed)
    return root


SMALL = ["--epoch", "10", "--bucket", "200000", "--dim", "32"]  # a small model trains in well under a second


def train(root, name, *extra):
    model = str(root / "models" / name)
    argv = ["train-ft", "--model", model, "--labels.prose", str(root / "prose" / "*.gz"),
            "--labels.code", str(root / "code" / "*.gz"), *SMALL, *extra]
    assert main(argv) == 0
    return model


def test_train_ft_splits_deterministically_and_reports_per_label_metrics(labelled, capsys):
    a = train(labelled, "a.bin", "--seed", "7")
    out = capsys.readouterr().out
    assert "precision" in out and "prose" in out and "code" in out
    b = train(labelled, "b.bin", "--seed", "7")
    # same inputs and seed, in the same process: the same model file and metrics, byte for byte
    assert open(a, "rb").read() == open(b, "rb").read()
    assert open(a + ".metrics.json").read() == open(b + ".metrics.json").read()
    assert open(a, "rb").read() != open(train(labelled, "c.bin", "--seed", "8"), "rb").read()  # the seed counts
    metrics = json.load(open(a + ".metrics.json"))
    assert metrics["test_documents"] > 20 and metrics["accuracy"] > 0.9
    assert all(m["f1"] > 0.85 for m in metrics["labels"].values())


def test_train_ft_is_reproducible_on_dirty_memory(labelled):
    # fastText leaves 9/10 of its input matrix to the allocator (see zeroed_allocations): memory that held
    # non-zero bytes before used to give another model, or NaN, on the second identical run in a process
    models = []
    for name in ("d1.bin", "d2.bin"):
        junk = bytearray(b"\x7f" * 30_000_000)  # raises glibc's mmap threshold once freed
        del junk
        junk = bytearray(b"\x7f" * 29_000_000)  # then leaves non-zero bytes in the heap
        del junk
        models.append(open(train(labelled, name, "--seed", "3", "--word_ngrams", "1"), "rb").read())
    assert models[0] == models[1]


def test_train_ft_from_a_label_field_and_bad_labels(labelled, tmp_path):
    model = str(tmp_path / "field.bin")
    assert main(["train-ft", "--model", model, "--documents", str(labelled / "mixed" / "*.jsonl"),
                 "--label_field", "metadata.kind", *SMALL]) == 0
    assert os.path.getsize(model) > 0
    write_documents(str(tmp_path / "bad" / "b.jsonl"), [{"id": "x", "text": "a", "metadata": {"kind": "k"}}, {"id": "y", "text": "b"}])
    with pytest.raises(Exception, match=r"b\.jsonl:2: no usable label at `metadata.kind`"):
        from dolma.core.config import resolve
        from dolma.taggers.train_ft import TrainFtConfig, train as train_fn

        train_fn(resolve(TrainFtConfig, {"model": str(tmp_path / "x.bin"), "documents": [str(tmp_path / "bad" / "*.jsonl")], "label_field": "metadata.kind"}))
    assert main(["train-ft", "--model", model, "--documents", "x"]) == 2  # label_field missing: config error


def test_classifier_tagger_through_dolma_tag_with_options(labelled, tmp_path):
    model = train(labelled, "tag.bin")
    prose, code = _stdlib_examples()
    docs = [{"id": "p", "text": prose[-1]}, {"id": "c", "text": code[-1]},
            {"id": "both", "text": prose[-2].replace("\n", " ") + "\n" + code[-2].replace("\n", " ")}, {"id": "e", "text": ""}]
    write_documents(str(tmp_path / "c" / "documents" / "x.jsonl.gz"), docs)
    argv = ["tag", "--documents", str(tmp_path / "c" / "documents" / "*.gz"), "--experiment", "q",
            "--taggers", "quality", "--tagger_options.quality.tagger", "ft_classifier",
            "--tagger_options.quality.model", model, "--tagger_options.quality.labels", "[prose]"]
    assert main(argv) == 0
    out = str(tmp_path / "c" / "attributes" / "q" / "x.jsonl.gz")
    rows = read_jsonl(out)
    score = {r["id"]: r["attributes"].get("q__quality__prose") for r in rows}
    assert score["p"][0][2] > 0.8 and score["c"][0][2] < 0.2 and score["e"] is None
    manifest = json.load(open(out + ".manifest.json"))
    assert manifest["config"]["tagger_options"]["quality"]["options"]["labels"] == ["prose"]
    first = manifest["config_hash"]

    # the same config: skipped; another level: a new hash and paragraph spans
    assert main(argv) == 0 and json.load(open(out + ".manifest.json"))["config_hash"] == first
    assert main(argv + ["--tagger_options.quality.level", "paragraph", "--tagger_options.quality.doc_score", "true"]) == 0
    assert json.load(open(out + ".manifest.json"))["config_hash"] != first
    both = next(r for r in read_jsonl(out) if r["id"] == "both")["attributes"]
    assert [s[2] > 0.5 for s in both["q__quality__prose"]] == [True, False]
    assert len(both["q__quality__doc_prose"]) == 1

    # wrong options are one clear line
    assert main(argv + ["--tagger_options.quality.labels", "[nope]"]) == 1  # the model has no such label
    assert main(argv + ["--tagger_options.other.model", "x"]) == 2


def test_dolma_tag_language_id_config_file(tmp_path):
    docs = [{"id": "en", "text": "This is a sentence written in plain English about the weather."},
            {"id": "fr", "text": "Il fait très beau aujourd'hui, nous allons nous promener au parc."}]
    write_documents(str(tmp_path / "documents" / "a.jsonl.gz"), docs)
    cfg = tmp_path / "tag.yaml"
    cfg.write_text(f"documents: ['{tmp_path}/documents/*.gz']\nexperiment: lang\ntaggers: [ft_lang_id_1e2]\n"
                   "tagger_options:\n  ft_lang_id_1e2: {min_score: 0.5}\n")
    assert main(["tag", "-c", str(cfg)]) == 0
    rows = read_jsonl(str(tmp_path / "attributes" / "lang" / "a.jsonl.gz"))
    assert [list(r["attributes"]) for r in rows] == [["lang__ft_lang_id_1e2__en"], ["lang__ft_lang_id_1e2__fr"]]


# --- model files ----------------------------------------------------------------------------------------------


def test_missing_models_say_where_they_looked(tmp_path):
    with pytest.raises(ModelNotFound, match=f"no file at {tmp_path}/nope.bin"):
        resolve_model(str(tmp_path / "nope.bin"))
    with pytest.raises(ModelNotFound, match=r"package 'no_such_pkg' is not installed"):
        resolve_model("pkg://no_such_pkg/model.bin")
    with pytest.raises(ModelNotFound, match=r"hf://<owner>/<repo>/<path"):
        resolve_model("hf://only-owner")


class _Counting(http.server.SimpleHTTPRequestHandler):
    hits = 0

    def do_GET(self):
        type(self).hits += 1
        super().do_GET()

    def log_message(self, *args):
        pass


def _fetch(url, cache, queue):
    os.environ["DOLMA_CACHE_DIR"] = cache
    queue.put(resolve_model(url))


def test_remote_models_are_fetched_once_per_machine(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    (served / "model.bin").write_bytes(os.urandom(1 << 20))
    handler = functools.partial(_Counting, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/model.bin"
        cache = str(tmp_path / "cache")
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        procs = [ctx.Process(target=_fetch, args=(url, cache, queue)) for _ in range(4)]
        for p in procs:
            p.start()
        paths = {queue.get(timeout=60) for _ in procs}
        for p in procs:
            p.join(timeout=60)
        assert _Counting.hits == 1 and len(paths) == 1
        assert open(paths.pop(), "rb").read() == (served / "model.bin").read_bytes()
        monkeypatch.setenv("DOLMA_CACHE_DIR", cache)
        with pytest.raises(ModelNotFound, match=r"cannot fetch .*/absent.bin into .*: HTTP 404"):
            resolve_model(f"http://127.0.0.1:{server.server_port}/absent.bin")
    finally:
        server.shutdown()


# --- URL lists ------------------------------------------------------------------------------------------------


def _url_docs(urls):
    return [DocumentWithMetadata("web", str(i), "text", metadata={"url": u}) for i, u in enumerate(urls)]


def test_url_lists(tmp_path):
    block = tmp_path / "block.txt"
    block.write_text("# comment\nbad.com\n0.0.0.0 tracker.net\n||ads.org^\nexample.com/private/*\n*.casino.*\n")
    allow = tmp_path / "allow.txt"
    allow.write_text("ok.bad.com\n")
    tagger = tagger_spec("url_list_v1", {"blocklist": [str(block)], "allowlist": [str(allow)]}).build()
    urls = ["https://bad.com/x", "http://www.Bad.COM:8080/", "https://ok.bad.com/page", "tracker.net/pixel",
            "https://cdn.ads.org/a.js", "https://example.com/private/1", "https://example.com/public",
            "https://www.casino.io/", "https://notbad.com/", "", "http://[::1"]
    kinds = [[s.type for s in r.spans] for r in tagger.predict_batch(_url_docs(urls))]
    assert kinds == [["blocked"], ["blocked"], ["allowed"], ["blocked"], ["blocked"], ["blocked"], [], ["blocked"], [], [], []]
    bad = tmp_path / "bad.txt"
    bad.write_text("good.com\nnot a domain\n")
    with pytest.raises(ConfigError, match=r"bad.txt:2: not a domain"):
        tagger_spec("url_list_v1", {"blocklist": [str(bad)]}).build()
    with pytest.raises(ConfigError, match=r"needs `tagger_options.<name>.blocklist`"):
        tagger_spec("url_list_v1", {}).build()


# --- code -----------------------------------------------------------------------------------------------------

PY = '''"""Module docstring here."""
# a comment
def f(x):
    """Return x."""
    return x  # trailing
'''


def test_code_taggers():
    red = tagger_spec("code_redpajama_taggers_v1").build().predict(Document("s", "1", "ab cd\nefgh!\n"))
    values = {s.type: s.score for s in red.spans}
    assert values == {"max_line_length_doc": 5.0, "avg_line_length_doc": 5.0, "alnum_prop_doc": 8 / 12,
                      "alpha_token_prop_doc": 8 / 4}
    star = tagger_spec("code_starcoder_taggers_v2").build()
    [py, js, html, other] = star.predict_batch([
        DocumentWithMetadata("s", "1", PY, metadata={"ext": "py", "max_stars_count": 12}),
        DocumentWithMetadata("s", "2", 'var s = "// no"; // yes\n/* block */', metadata={"path": "a/b.js"}),
        DocumentWithMetadata("s", "3", "<html><script>x()</script><p>" + "words " * 30 + "</p></html>", metadata={"ext": "html"}),
        DocumentWithMetadata("s", "4", "fn main() {}", metadata={"ext": "rs"}),
    ])
    py_v = {s.type: s.score for s in py.spans}
    natural = "Module docstring here.\nReturn x.\n a comment\n trailing"
    assert py_v["code_to_comment_ratio_doc"] == pytest.approx(len(natural) / len(PY))
    assert py_v["num_github_stars_doc"] == 12.0
    assert {s.type: s.score for s in js.spans}["code_to_comment_ratio_doc"] == pytest.approx(len("// yes/* block */") / len(js.doc.text))
    assert {s.type: s.score for s in html.spans}["code_to_text_ratio_html_doc"] == pytest.approx(180 / len(html.doc.text))
    assert {s.type: s.score for s in other.spans}["code_to_comment_ratio_doc"] == 0.5

    copyright_ = tagger_spec("code_copyright_comments_v1").build()
    [notice, block, none] = copyright_.predict_batch([
        Document("s", "1", "int x;\n/* Copyright 2024 A */\nint y;"),
        Document("s", "2", "# header\n# more\nimport os\n"),
        Document("s", "3", "import os\n"),
    ])
    assert [(s.type, s.start, s.end) for s in notice.spans][0] == ("copyright_notice", 7, 29)
    assert [(s.type, s.start, s.end) for s in block.spans][0] == ("comment_block", 0, 16)
    assert [s.type for s in none.spans] == ["doc"] and none.spans[0].score == 0.0

    heur = tagger_spec("code_heuristics_v1").build()
    [gen, data] = heur.predict_batch([
        DocumentWithMetadata("s", "1", "// Code generated by protoc. DO NOT EDIT.\npackage x\n", metadata={"ext": "go"}),
        DocumentWithMetadata("s", "2", "x = '" + "QUJD" * 40 + "'\n", metadata={"ext": "json"}),
    ])
    assert {s.type: s.score for s in gen.spans}["auto_generated"] == 1.0
    d = {s.type: s.score for s in data.spans}
    assert d["data_file"] == 1.0 and d["encoded_data_fraction"] == pytest.approx(160 / 167)
    for name in ("code_redpajama_taggers_v1", "code_starcoder_taggers_v2", "code_copyright_comments_v1", "code_heuristics_v1"):
        tagger = tagger_spec(name).build()
        tagger.predict_batch([DocumentWithMetadata("s", "e", t, metadata={"ext": "py"}) for t in ("", "\x00\x01", "x" * 1_000_000, "def (:\n")])
