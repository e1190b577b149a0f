"""Never lose or overwrite a user's data: inputs are read-only to every stage."""

import json
import os

import pytest

from dolma.cli import main
from tests.conftest import s3_keys, s3_put, write_documents

DOCS = [{"id": f"d{i}", "text": f"some words number {i}", "source": "web"} for i in range(5)]


def snapshot(root):
    """Every file under ``root`` with its bytes."""
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[path] = f.read()
    return out


def corpus(tmp_path):
    root = tmp_path / "same"
    for i in range(2):
        write_documents(str(root / "documents" / f"a-000{i}.jsonl.gz"), DOCS)
    return root


def refused(capsys, code, *paths):
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    for p in paths:
        assert p in err[0], (p, err)
    return err[0]


def test_tag_into_the_documents_folder_is_refused(tmp_path, capsys):
    root = corpus(tmp_path)
    before = snapshot(root)
    code = main(["tag", "--documents", f"{root}/documents/*.gz", "--taggers", "char_length_v1", "--experiment", "e",
                 "--destination", f"{root}/documents"])
    refused(capsys, code, f"{root}/documents/a-000", "overwrite")
    assert snapshot(root) == before


def test_tag_beside_the_documents_still_works(tmp_path, capsys):
    root = corpus(tmp_path)
    before = snapshot(root / "documents")
    assert main(["tag", "--documents", f"{root}/documents/*.gz", "--taggers", "char_length_v1", "--experiment", "e"]) == 0
    assert os.path.exists(root / "attributes" / "e" / "a-0000.jsonl.gz")
    assert snapshot(root / "documents") == before


def test_mix_over_its_own_input_is_refused(tmp_path, capsys):
    root = corpus(tmp_path)
    before = snapshot(root)
    config = {"streams": [{"name": "a", "documents": [f"{root}/documents/a-0000.jsonl.gz"],
                           "output": {"path": f"{root}/documents", "max_size_in_bytes": 1 << 30}}], "processes": 1}
    path = tmp_path / "mix.json"
    path.write_text(json.dumps(config))
    refused(capsys, main(["-c", str(path), "mix"]), f"{root}/documents/a-0000.jsonl.gz")
    assert snapshot(root) == before


def test_mix_into_a_folder_of_other_inputs_is_refused(tmp_path, capsys):
    root = corpus(tmp_path)
    before = snapshot(root)
    config = {"streams": [{"name": "mixed", "documents": [f"{root}/documents/*.gz"],
                           "output": {"path": f"{root}/documents", "max_size_in_bytes": 1 << 30}}], "processes": 1}
    path = tmp_path / "mix.json"
    path.write_text(json.dumps(config))
    refused(capsys, main(["-c", str(path), "mix"]), f"{root}/documents/mixed-0000.gz", "folder of the input")
    assert snapshot(root) == before


def test_dedupe_tokens_import_export_into_the_input_folder_are_refused(tmp_path, capsys):
    root = corpus(tmp_path)
    docs = f"{root}/documents"
    before = snapshot(root)
    # dedupe writes attributes/<name>/ beside documents/: point its documents folder at an attributes folder
    refused(capsys, main(["tokens", "--documents", f"{docs}/*.gz", "--destination", docs]), docs)
    refused(capsys, main(["import", "--documents", f"{docs}/*.gz", "--destination", str(root), "--source", "s",
                          "--format", "jsonl"]), docs)
    refused(capsys, main(["export", "--documents", f"{docs}/*.gz", "--destination", docs]), docs)
    assert snapshot(root) == before


def test_warc_into_the_input_folder_is_refused(tmp_path, capsys):
    from tests.test_readers_warc import records, write_warc

    root = tmp_path / "c"
    write_warc(str(root / "documents" / "x.warc"), records(), compress=False)
    before = snapshot(root)
    code = main(["warc", "--documents", f"{root}/documents/*.warc", "--destination", str(root), "--source_name", "cc"])
    refused(capsys, code, f"{root}/documents/x.warc")
    assert snapshot(root) == before


def test_a_linked_spelling_of_the_input_folder_is_seen_through(tmp_path, capsys):
    root = corpus(tmp_path)
    os.symlink(root / "documents", tmp_path / "alias")
    before = snapshot(root)
    code = main(["tokens", "--documents", f"{root}/documents/*.gz", "--destination", str(tmp_path / "alias")])
    refused(capsys, code, f"{root}/documents")
    assert snapshot(root) == before


def test_tag_into_the_documents_prefix_on_s3_is_refused(s3_prefix, capsys):
    import gzip

    data = gzip.compress("".join(json.dumps(d) + "\n" for d in DOCS).encode())
    s3_put(f"{s3_prefix}/documents/a-0000.jsonl.gz", data)
    code = main(["tag", "--documents", f"{s3_prefix}/documents/*.gz", "--taggers", "char_length_v1",
                 "--experiment", "e", "--destination", f"{s3_prefix}//documents/"])
    refused(capsys, code, f"{s3_prefix}/documents/a-0000.jsonl.gz")
    prefix = s3_prefix.split("/", 3)[3]
    assert s3_keys(s3_prefix) == [f"{prefix}/documents/a-0000.jsonl.gz"]
    import boto3

    body = boto3.client("s3").get_object(Bucket="corpus", Key=f"{prefix}/documents/a-0000.jsonl.gz")["Body"].read()
    assert body == data


def test_the_pipeline_refuses_too(tmp_path, capsys):
    from dolma.core.runner import check_inputs_kept
    from dolma.core.units import WorkUnit
    from dolma.core.errors import ConfigError

    # every pipeline stage goes through run_stage, so the same check applies; the check itself, on planned units:
    with pytest.raises(ConfigError, match="would overwrite the input"):
        check_inputs_kept([WorkUnit("k", outputs=("x/b.gz",), inputs=("x/a.gz",)), WorkUnit("j", outputs=("x/a.gz",))])
    check_inputs_kept([WorkUnit("k", outputs=("y/a.gz",), inputs=("x/a.gz",))])
