"""dolma import / export: round trips, field mapping, bounded shards, ids, loose files, datasets, S3."""

import json
import logging
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dolma.cli import main
from dolma.core.config import resolve
from dolma.core.errors import ConfigError
from dolma.core.executor import execute
from dolma.readers.config import ExportConfig, ImportConfig
from dolma.readers.export import ExportStage, finish_hf_folder
from dolma.readers.stage import ImportStage, report_duplicates
from dolma.core.io import read_bytes
from tests.conftest import s3_keys, write_bytes, write_documents

DOCS = [
    {"id": "a1", "text": "héllo wörld", "source": "web", "added": "2024-01-01", "created": "2023-05-02",
     "metadata": {"url": "http://x.org/", "lang": {"en": 0.9}, "tags": [1, 2]}},
    {"id": "a2", "text": "", "source": "books", "metadata": None, "extra_field": {"k": [1, "v"]}},
    {"id": "a3", "text": "line\nline 2\t\u2028", "version": "v1", "created": 1700000000, "metadata": {}},
    {"id": "a4", "text": "x" * 5000, "source": "code"},
]


def read_jsonl(path):
    # split on newlines only: str.splitlines would also split inside texts holding U+2028
    return [json.loads(line) for line in read_bytes(path).decode("utf-8").split("\n") if line]


def run_import(**kwargs):
    config = resolve(ImportConfig, kwargs)
    stage = ImportStage(config)
    units = stage.units()
    report = execute(stage, units, config.processes, config.ignore_existing, progress_bar=False)
    return report, units


def run_export(**kwargs):
    config = resolve(ExportConfig, kwargs)
    stage = ExportStage(config)
    units = stage.units()
    report = execute(stage, units, config.processes, config.ignore_existing, progress_bar=False)
    if config.format == "hf" and report.ok:
        finish_hf_folder(stage.destination, units)
    return report


def documents(prefix):
    out = []
    folder = os.path.join(prefix, "documents")
    for dirpath, _, names in sorted(os.walk(folder)):
        for name in sorted(names):
            if name.endswith(".jsonl.gz"):
                out.extend(read_jsonl(os.path.join(dirpath, name)))
    return out


def without_origin(doc):
    doc = json.loads(json.dumps(doc))
    origin = doc["metadata"].pop("origin")
    assert set(origin) >= {"file"}
    return doc


def expected(doc, source="unused"):
    """What a document looks like after export and import: null-valued fields are not kept, a document without
    a source gets the import's, and metadata is always an object."""
    out = {k: v for k, v in doc.items() if v is not None}
    out.setdefault("metadata", {})
    out.setdefault("source", source)
    return out


def corpus(tmp_path):
    write_documents(str(tmp_path / "mix" / "web" / "documents" / "w-0.jsonl.gz"), DOCS[:2])
    write_documents(str(tmp_path / "mix" / "books" / "documents" / "b-0.jsonl.zst"), DOCS[2:])
    return str(tmp_path / "mix" / "*" / "documents" / "*")


def test_jsonl_parquet_jsonl_round_trip(tmp_path):
    report = run_export(documents=[corpus(tmp_path)], destination=str(tmp_path / "pq"))
    assert report.ok, report.failed
    table = pq.read_table(tmp_path / "pq" / "web" / "documents" / "w-0.parquet")
    assert table.schema.names == ["id", "text", "source", "added", "created", "version", "metadata", "extra"]
    assert all(f.type == pa.string() for f in table.schema)
    report, _ = run_import(documents=[str(tmp_path / "pq")], destination=str(tmp_path / "back"), source="unused")
    assert report.ok, report.failed
    back = documents(str(tmp_path / "back"))
    assert [without_origin(d) for d in sorted(back, key=lambda d: d["id"])] == [expected(d) for d in DOCS]
    assert back[0]["metadata"]["origin"] == {"file": str(tmp_path / "pq" / "books" / "documents" / "b-0.parquet"), "row": 0}


def test_jsonl_hf_jsonl_round_trip(tmp_path):
    import datasets

    report = run_export(documents=[corpus(tmp_path)], destination=str(tmp_path / "hf"), format="hf")
    assert report.ok, report.failed
    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    assert len(ds) == len(DOCS) and sorted(ds["id"]) == ["a1", "a2", "a3", "a4"]
    assert json.loads(ds[ds["id"].index("a1")]["metadata"]) == DOCS[0]["metadata"]
    report, _ = run_import(documents=[str(tmp_path / "hf")], destination=str(tmp_path / "back"), source="unused")
    assert report.ok, report.failed
    back = documents(str(tmp_path / "back"))
    assert [without_origin(d) for d in sorted(back, key=lambda d: d["id"])] == [expected(d) for d in DOCS]


def test_export_rerun_skips_and_bad_line_fails_or_quarantines(tmp_path):
    path = str(tmp_path / "c" / "documents" / "x.jsonl")
    write_bytes(path, b'{"id": "1", "text": "ok"}\n{"id": 2, "text": "bad id"}\nnot json\n')
    report = run_export(documents=[path], destination=str(tmp_path / "out"))
    assert report.failed and f"{path}:2: wrong type: `id` is not a string" in report.failed[0][1]
    assert not os.path.exists(tmp_path / "out" / "x.parquet")
    report = run_export(documents=[path], destination=str(tmp_path / "out"), on_error="skip")
    assert report.ok and report.totals()["documents_quarantined"] == 2
    assert pq.read_table(tmp_path / "out" / "x.parquet")["id"].to_pylist() == ["1"]
    lines = read_jsonl(str(tmp_path / "out" / "x.parquet.quarantine.jsonl.gz"))
    assert [(q["line"], q["reason"][:11]) for q in lines] == [(2, "wrong type:"), (3, "invalid JSO")]
    again = run_export(documents=[path], destination=str(tmp_path / "out"), on_error="skip")
    assert again.skipped == [path]


def test_import_jsonl_with_other_field_names(tmp_path):
    path = str(tmp_path / "raw" / "part.jsonl")
    rows = [{"body": "first", "date": "2020-01-01", "url": "u1", "junk": 1}, {"body": "second", "url": "u2"}]
    write_bytes(path, "".join(json.dumps(r) + "\n" for r in rows).encode())
    fields = {"text": "body", "id": None, "created": "date", "metadata": ["url"]}
    report, _ = run_import(documents=[path], destination=str(tmp_path / "o1"), source="mine", fields=fields)
    assert report.ok, report.failed
    docs = documents(str(tmp_path / "o1"))
    assert [d["text"] for d in docs] == ["first", "second"]
    assert docs[0]["created"] == "2020-01-01" and "created" not in docs[1]
    assert docs[0]["metadata"] == {"url": "u1", "origin": {"file": path, "line": 1}}
    assert all(d["source"] == "mine" for d in docs) and len({d["id"] for d in docs}) == 2
    # ids are derived from the source and the path below the input root, not from where the files live
    moved = tmp_path / "elsewhere" / "raw"
    moved.mkdir(parents=True)
    os.link(path, moved / "part.jsonl")
    run_import(documents=[str(moved)], destination=str(tmp_path / "o2"), source="mine", fields=fields)
    assert [d["id"] for d in documents(str(tmp_path / "o2"))] == [d["id"] for d in docs]


def test_field_mapping_errors(tmp_path):
    pq.write_table(pa.table({"body": ["a", None, "c"], "uid": ["1", "2", None]}), tmp_path / "t.parquet")
    report, _ = run_import(documents=[str(tmp_path / "t.parquet")], destination=str(tmp_path / "o"), source="s")
    assert "field `text` (mapped to `text`) is not a column; columns: body, uid" in report.failed[0][1]
    report, _ = run_import(
        documents=[str(tmp_path / "t.parquet")], destination=str(tmp_path / "o"), source="s", fields={"text": "body"}
    )
    assert "field `id` (mapped to `id`) is not a column" in report.failed[0][1]
    report, _ = run_import(
        documents=[str(tmp_path / "t.parquet")], destination=str(tmp_path / "o"), source="s",
        fields={"text": "body", "id": "uid"},
    )
    assert report.failed[0][1] == f"{tmp_path / 't.parquet'}: row 1: field `body` (mapped to `text`) is null"
    assert not os.path.exists(tmp_path / "o" / "documents" / "t-0000.jsonl.gz")
    report, _ = run_import(
        documents=[str(tmp_path / "t.parquet")], destination=str(tmp_path / "o"), source="s",
        fields={"text": "body", "id": "uid"}, on_error="skip",
    )
    assert report.ok and report.totals()["documents_quarantined"] == 2
    assert [d["id"] for d in documents(str(tmp_path / "o"))] == ["1"]
    reasons = [q["reason"] for q in read_jsonl(str(tmp_path / "o" / "quarantine" / "t.jsonl.gz"))]
    assert reasons == ["row 1: field `body` (mapped to `text`) is null", "row 2: field `uid` (mapped to `id`) is null"]
    # JSON lines: a missing text field names file and line
    write_bytes(str(tmp_path / "j.jsonl"), b'{"id": "1", "text": "a"}\n{"id": "2", "body": "b"}\n')
    report, _ = run_import(documents=[str(tmp_path / "j.jsonl")], destination=str(tmp_path / "o3"), source="s")
    assert report.failed[0][1] == f"{tmp_path / 'j.jsonl'}:2: field `text` (mapped to `text`) is missing"
    with pytest.raises(ConfigError, match="mapped to `text` and listed in `metadata`"):
        ImportStage(resolve(ImportConfig, {"documents": ["x"], "destination": "d", "source": "s", "fields": {"metadata": ["text"]}}))
    with pytest.raises(ConfigError, match="cannot tell its format"):
        write_bytes(str(tmp_path / "odd" / "x.bin"), b"")
        run_import(documents=[str(tmp_path / "odd")], destination=str(tmp_path / "o4"), source="s")
    write_bytes(str(tmp_path / "broken.parquet"), b"PAR1 not really")
    report, _ = run_import(documents=[str(tmp_path / "broken.parquet")], destination=str(tmp_path / "o5"), source="s")
    assert "broken.parquet: not a readable Parquet file" in report.failed[0][1]


def test_bounded_shards_batches_rerun_and_stale_shards(tmp_path):
    n = 200
    table = pa.table({"id": [f"id{i}" for i in range(n)], "text": [f"document {i} " * 20 for i in range(n)]})
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=64)
    kw = dict(documents=[str(tmp_path / "in.parquet")], destination=str(tmp_path / "o"), source="s", batch_size=50)
    report, units = run_import(output={"max_size_in_bytes": 10_000}, **kw)
    assert report.ok, report.failed
    folder = tmp_path / "o" / "documents"
    shards = sorted(p for p in os.listdir(folder) if p.endswith(".gz"))
    assert shards == [f"in-{i:04d}.jsonl.gz" for i in range(len(shards))] and len(shards) > 3
    sizes = [len("".join(json.dumps(d, separators=(",", ":")) + "\n" for d in read_jsonl(str(folder / s))).encode()) for s in shards]
    assert max(sizes) <= 10_000
    docs = documents(str(tmp_path / "o"))
    assert [d["id"] for d in docs] == table["id"].to_pylist()
    assert [d["metadata"]["origin"]["row"] for d in docs] == list(range(n))
    manifest = json.load(open(folder / "in.manifest.json"))
    assert [o["path"] for o in manifest["outputs"]] == [str(folder / s) for s in shards]
    assert manifest["counts"]["documents_out"] == n and manifest["counts"]["shards"] == len(shards)
    again, _ = run_import(output={"max_size_in_bytes": 10_000}, **kw)
    assert again.skipped == [str(tmp_path / "in.parquet")]
    run_import(output={"max_size_in_bytes": 10_000_000}, **kw)  # fewer shards: the old ones go
    assert sorted(p for p in os.listdir(folder) if p.endswith(".gz")) == ["in-0000.jsonl.gz"]


def test_duplicate_ids_are_counted_within_and_across_inputs(tmp_path, caplog):
    write_documents(str(tmp_path / "a.jsonl"), [{"id": "x", "text": "1"}, {"id": "x", "text": "2"}, {"id": "y", "text": "3"}])
    write_documents(str(tmp_path / "b.jsonl"), [{"id": "y", "text": "4"}, {"id": "z", "text": "5"}])
    with caplog.at_level(logging.WARNING, logger="dolma"):
        report, units = run_import(documents=[str(tmp_path / "*.jsonl")], destination=str(tmp_path / "o"), source="s")
        assert report.ok and report.totals()["duplicate_ids"] == 1
        assert report_duplicates(units) == 1
    assert "repeat an id" in caplog.text and "share their id with a document of another input" in caplog.text
    assert len(documents(str(tmp_path / "o"))) == 5  # reported, never dropped


def test_loose_text_markdown_and_html_files(tmp_path):
    root = tmp_path / "site"
    write_bytes(str(root / "a.txt"), "\ufeffplain text\n".encode())
    write_bytes(str(root / "b.md"), b"# Title\n\nbody")
    write_bytes(str(root / "sub" / "c.txt"), b"third")
    write_bytes(
        str(root / "page.html"),
        b"<html><body><nav>menu</nav><article><h1>Head</h1><p>The main text of this page, long enough to keep."
        b"</p></article></body></html>",
    )
    report, units = run_import(documents=[str(root)], destination=str(tmp_path / "o"), source="files", files_per_unit=1)
    assert report.ok, report.failed
    assert sorted(u.payload.paths.stem for u in units) == ["html-00000", "markdown-00000", "sub/text-00000", "text-00000"]
    docs = {d["metadata"]["origin"]["file"].rsplit("/", 1)[-1]: d for d in documents(str(tmp_path / "o"))}
    assert docs["a.txt"]["text"] == "plain text\n" and docs["b.md"]["text"] == "# Title\n\nbody"
    assert "The main text of this page" in docs["page.html"]["text"] and "<p>" not in docs["page.html"]["text"]
    write_bytes(str(root / "bad.txt"), b"ok \xff\xfe")
    report, _ = run_import(documents=[str(root / "*.txt")], destination=str(tmp_path / "o2"), source="files")
    assert report.failed[0][1] == f"{root / 'bad.txt'}: invalid UTF-8 (byte 3)"


def test_load_dataset_source_one_unit_per_shard(tmp_path):
    for name, texts in (("p1.jsonl", ["a", "b"]), ("p2.jsonl", ["c"])):
        write_bytes(str(tmp_path / "ds" / name), "".join(json.dumps({"content": t, "n": i}) + "\n" for i, t in enumerate(texts)).encode())
    report, units = run_import(
        dataset={"path": str(tmp_path / "ds"), "split": "train"}, destination=str(tmp_path / "o"), source="hf",
        fields={"text": "content", "id": None},
    )
    assert report.ok, report.failed
    assert len(units) == 2
    docs = documents(str(tmp_path / "o"))
    assert sorted(d["text"] for d in docs) == ["a", "b", "c"]
    assert {d["metadata"]["n"] for d in docs} == {0, 1}


def test_cli_import_export_and_config_errors(tmp_path, capsys):
    write_documents(str(tmp_path / "c" / "documents" / "x.jsonl.gz"), DOCS)
    cfg = tmp_path / "export.yaml"
    cfg.write_text(f"documents: ['{tmp_path}/c/documents/*.gz']\ndestination: {tmp_path}/pq\n")
    assert main(["export", "-c", str(cfg)]) == 0
    assert main(["import", "--documents", str(tmp_path / "pq"), "--destination", str(tmp_path / "o"), "--source", "s"]) == 0
    assert len(documents(str(tmp_path / "o"))) == len(DOCS)
    assert main(["import", "--documents", "x", "--destination", "o"]) == 2
    assert "missing required key `source`" in capsys.readouterr().err
    assert main(["import", "--fields.txt", "body"]) == 2
    assert "unknown key `fields.txt`; did you mean `text`?" in capsys.readouterr().err


def test_s3_export_and_import(tmp_path, s3_prefix):
    write_documents(str(tmp_path / "c" / "documents" / "x.jsonl.gz"), DOCS)
    report = run_export(documents=[str(tmp_path / "c" / "documents")], destination=f"{s3_prefix}/pq")
    assert report.ok, report.failed
    report, _ = run_import(documents=[f"{s3_prefix}/pq/*.parquet"], destination=f"{s3_prefix}/back", source="s")
    assert report.ok, report.failed
    keys = s3_keys(s3_prefix)
    assert any(k.endswith("back/documents/x-0000.jsonl.gz") for k in keys)
    assert any(k.endswith("back/documents/x.manifest.json") for k in keys)
