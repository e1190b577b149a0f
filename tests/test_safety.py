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


# --- one writer per output folder ------------------------------------------------------------------------------


def _lock(folder, pid, since=1_700_000_000.0, host=None):
    import socket

    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, ".dolma.lock"), "w") as f:
        json.dump({"host": host or socket.gethostname(), "pid": pid, "since": since, "run": "other"}, f)


def _tag(root, *flags):
    return main(["tag", "--documents", f"{root}/documents/*.gz", "--taggers", "char_length_v1", "--experiment", "e",
                 *flags])


def test_a_second_run_on_the_same_outputs_fails_at_once_naming_the_holder(tmp_path, capsys):
    import socket
    import subprocess

    root = corpus(tmp_path)
    before = snapshot(root / "documents")
    holder = subprocess.Popen(["sleep", "30"])
    try:
        _lock(str(root / "attributes" / "e"), holder.pid)
        line = refused(capsys, _tag(root), f"{root}/attributes/e", f"pid {holder.pid}", socket.gethostname())
        assert "since 2023-11-14 22:13:20 UTC" in line and "--wait_for_lock" in line
        assert not os.path.exists(root / "attributes" / "e" / "a-0000.jsonl.gz")
    finally:
        holder.kill()
        holder.wait()
    assert snapshot(root / "documents") == before


def test_the_lock_of_a_killed_run_is_taken_over_and_released_at_the_end(tmp_path):
    import subprocess

    root = corpus(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    _lock(str(root / "attributes" / "e"), dead.pid)
    with open(root / "attributes" / "e" / ".a-0000.jsonl.gz.tmp-0123456789ab", "wb") as f:
        f.write(b"left by the killed run")
    assert _tag(root) == 0
    assert os.path.exists(root / "attributes" / "e" / "a-0000.jsonl.gz")
    assert sorted(os.listdir(root / "attributes" / "e")) == [
        "a-0000.jsonl.gz", "a-0000.jsonl.gz.manifest.json", "a-0001.jsonl.gz", "a-0001.jsonl.gz.manifest.json"]


def test_wait_for_lock_waits_for_the_holder(tmp_path):
    import subprocess
    import threading
    import time

    root = corpus(tmp_path)
    holder = subprocess.Popen(["sleep", "2"])
    reaper = threading.Thread(target=holder.wait)  # as its own parent would, or its pid stays a zombie's
    reaper.start()
    _lock(str(root / "attributes" / "e"), holder.pid)
    start = time.monotonic()
    try:
        assert _tag(root, "--wait_for_lock") == 0
    finally:
        reaper.join()
    assert time.monotonic() - start >= 1.5
    assert not os.path.exists(root / "attributes" / "e" / ".dolma.lock")


def test_folders_made_for_the_locks_go_when_the_run_left_them_empty(tmp_path):
    from dolma.core.locks import OutputLocks

    existing = tmp_path / "existing"
    existing.mkdir()
    written = tmp_path / "new" / "written"
    scratch = tmp_path / "new" / "scratch" / "run"
    with OutputLocks([str(existing), str(written), str(scratch)]):
        assert all(os.path.exists(f / ".dolma.lock") for f in (existing, written, scratch))
        (written / "out.jsonl.gz").write_bytes(b"kept")
    assert sorted(os.listdir(tmp_path / "new")) == ["written"]  # scratch/run and scratch were made empty: gone
    assert os.listdir(written) == ["out.jsonl.gz"]
    assert existing.is_dir() and os.listdir(existing) == []  # a folder the run found stays, empty or not


def test_stale_temp_cleanup_spares_a_folder_that_a_live_run_holds(tmp_path):
    import subprocess

    from dolma.core import executor
    from dolma.core.config import resolve
    from dolma.taggers.config import TagConfig
    from dolma.taggers.stage import TagStage

    root = corpus(tmp_path)
    out = root / "attributes" / "e"
    os.makedirs(out)
    live = out / ".a-0000.jsonl.gz.tmp-0123456789ab"
    live.write_bytes(b"another run is writing this")
    holder = subprocess.Popen(["sleep", "30"])
    try:
        _lock(str(out), holder.pid)
        stage = TagStage(resolve(TagConfig, {"documents": [f"{root}/documents/*.gz"], "taggers": ["char_length_v1"],
                                             "experiment": "e"}))
        stage.setup_plugins()
        stage.is_done = lambda unit: True  # nothing to run: only the cleanup of the units' folders
        executor.execute(stage, stage.units(), 1, False)
        assert live.exists()
    finally:
        holder.kill()
        holder.wait()
    executor.execute(stage, stage.units(), 1, False)  # the holder is gone: its temporary file is stale
    assert not live.exists()


def test_locks_are_released_on_failure_and_on_ctrl_c(tmp_path, monkeypatch, capsys):
    from dolma.taggers.stage import TagStage

    root = corpus(tmp_path)
    with open(root / "documents" / "a-0001.jsonl.gz", "wb") as f:
        f.write(b"not gzip at all")
    assert _tag(root) == 1
    assert not os.path.exists(root / "attributes" / "e" / ".dolma.lock")

    def interrupted(self, unit, progress):
        raise KeyboardInterrupt

    monkeypatch.setattr(TagStage, "run", interrupted)
    assert _tag(root, "--ignore_existing") == 130
    assert not os.path.exists(root / "attributes" / "e" / ".dolma.lock")


def test_s3_locks_conditional_create_lease_renewal_and_takeover(s3_prefix, monkeypatch):
    import time

    import boto3

    from dolma.core import locks

    folder = f"{s3_prefix}/attributes/e"
    bucket, key = "corpus", folder.split("/", 3)[3] + "/.dolma.lock"
    client = boto3.client("s3")
    monkeypatch.setattr(locks, "RENEW_SECONDS", 0.2)
    with locks.OutputLocks([folder]):
        first = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        with pytest.raises(locks.LockHeld, match=f"pid {os.getpid()}"):
            with locks.OutputLocks([folder]):
                pass
        time.sleep(1.0)
        renewed = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        assert renewed["expires"] > first["expires"] and renewed["run"] == first["run"]
    assert s3_keys(folder) == []  # released
    expired = {"host": "elsewhere", "pid": 1, "since": 1.0, "expires": time.time() - 1, "run": "dead"}
    client.put_object(Bucket=bucket, Key=key, Body=json.dumps(expired).encode())
    with locks.OutputLocks([folder]) as taken:
        now = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        assert now["run"] == taken.holder["run"]
    live = dict(expired, expires=time.time() + 60)
    client.put_object(Bucket=bucket, Key=key, Body=json.dumps(live).encode())
    with pytest.raises(locks.LockHeld, match="host elsewhere, pid 1"):
        with locks.OutputLocks([folder]):
            pass


# --- precise corruption reports ----------------------------------------------------------------------------------


def _big_docs(n=3000):
    return [{"id": f"b{i}", "text": os.urandom(120).hex(), "source": "web"} for i in range(n)]


def _truncated_gz(path, cut=0.4):
    """A .jsonl.gz cut short; returns how many whole lines its readable part holds."""
    import zlib

    write_documents(path, _big_docs())
    with open(path, "rb") as f:
        data = f.read()
    data = data[: int(len(data) * cut)]
    with open(path, "wb") as f:
        f.write(data)
    return zlib.decompressobj(31).decompress(data).count(b"\n")


def _corrupt_zst(path):
    import zstandard

    lines = "".join(json.dumps(d) + "\n" for d in _big_docs()).encode()
    data = bytearray(zstandard.ZstdCompressor(write_checksum=True).compress(lines))
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64  # inside a compressed block
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(bytes(data))


@pytest.mark.parametrize("stage", ["tag", "tokens", "dedupe", "mix"])
def test_a_truncated_gz_is_reported_after_its_last_good_line_in_every_stage(tmp_path, capsys, stage):
    root = tmp_path / "c"
    bad = str(root / "documents" / "bad.jsonl.gz")
    good = _truncated_gz(bad)
    assert good > 1000
    before = snapshot(root)
    docs = f"{root}/documents/*.gz"
    if stage == "tag":
        argv = ["tag", "--documents", docs, "--taggers", "char_length_v1", "--experiment", "e"]
    elif stage == "tokens":
        argv = ["tokens", "--documents", docs, "--destination", str(tmp_path / "tok")]
    elif stage == "dedupe":
        argv = ["dedupe", "--documents", docs, "--bloom_filter.file", str(tmp_path / "f.bin"),
                "--bloom_filter.size_in_bytes", "1048576", "--dedupe.name", "d",
                "--dedupe.documents.attribute_name", "dup", "--dedupe.documents.key", "$.text"]
    else:
        config = {"streams": [{"name": "m", "documents": [docs], "output": {"path": str(tmp_path / "mix")}}]}
        (tmp_path / "mix.json").write_text(json.dumps(config))
        argv = ["-c", str(tmp_path / "mix.json"), "mix"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"{bad}:{good + 1}: corrupt or truncated file: {good:,} line(s) read" in err, err
    assert snapshot(root) == before


def test_a_corrupt_zst_is_reported_with_a_line(tmp_path, capsys):
    root = tmp_path / "c"
    bad = str(root / "documents" / "bad.jsonl.zst")
    _corrupt_zst(bad)
    assert main(["tag", "--documents", f"{root}/documents/*", "--taggers", "char_length_v1", "--experiment", "e"]) == 1
    err = capsys.readouterr().err
    import re

    m = re.search(re.escape(bad) + r":(\d+): corrupt or truncated file: ([\d,]+) line\(s\) read", err)
    assert m, err
    assert int(m.group(1)) == int(m.group(2).replace(",", "")) + 1 > 1
    assert "corrupt zstd frame" in err and "Traceback" not in err


def test_tokens_on_error_skip_drops_only_the_bad_file_from_its_group(tmp_path, capsys):
    import gzip

    root = tmp_path / "c"
    for i in range(7):
        write_documents(str(root / "documents" / f"ok-{i}.jsonl.gz"), [dict(d, id=f"{i}-{d['id']}") for d in DOCS])
    bad = str(root / "documents" / "bad.jsonl.gz")
    _truncated_gz(bad)
    before = snapshot(root)
    dest = str(tmp_path / "tok")
    argv = ["tokens", "--documents", f"{root}/documents/*.gz", "--destination", dest, "--ring_size", "8"]
    assert main(argv) == 1
    assert main([*argv, "--on_error", "skip"]) == 0
    manifest = json.load(open(os.path.join(dest, "part-0-00000.npy.manifest.json")))
    assert manifest["counts"]["documents_out"] == 7 * len(DOCS) and manifest["counts"]["files_dropped"] == 1
    assert sorted(os.path.basename(e["path"]) for e in manifest["inputs"]) == [f"ok-{i}.jsonl.gz" for i in range(7)]
    quarantined = [json.loads(x) for x in gzip.open(os.path.join(dest, "part-0.quarantine.jsonl.gz"), "rt")]
    assert [q["file"] for q in quarantined] == [bad]
    assert "file left out of its group" in quarantined[0]["reason"]
    assert snapshot(root) == before


# --- no tracebacks for users; no credentials in messages ---------------------------------------------------------


def test_disk_full_in_a_stage_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    import errno

    from dolma.core import io as dio

    root = corpus(tmp_path)
    before = snapshot(root / "documents")
    real_write = dio._HashingWriter.write

    def full(self, data):  # the disk fills up under the compressor, as a real write would fail
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dio._HashingWriter, "write", full)
    assert _tag(root) == 1
    err = capsys.readouterr().err
    assert f"{root}/attributes/e/a-0000.jsonl.gz: no space left on device" in err, err
    assert "Traceback" not in err
    monkeypatch.setattr(dio._HashingWriter, "write", real_write)
    assert snapshot(root / "documents") == before
    assert not (root / "attributes").exists()  # nothing half-written, not even the empty folders the run made


@pytest.mark.parametrize("code, reason", [(13, "permission denied"), (30, "read-only file system")])
def test_permission_denied_and_read_only_are_one_line(tmp_path, monkeypatch, capsys, code, reason):
    from dolma.core import io as dio

    root = corpus(tmp_path)
    real_open = open

    def refusing_open(path, *args, **kwargs):
        if str(path).startswith(str(root / "attributes")):
            raise OSError(code, os.strerror(code), path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(dio, "open", refusing_open, raising=False)
    assert _tag(root) == 1
    err = capsys.readouterr().err
    assert f"{root}/attributes/e/a-0000.jsonl.gz: {reason}" in err, err
    assert "Traceback" not in err


def test_disk_full_in_the_pipeline_and_sample_corpus_is_one_line_and_debug_shows_the_traceback(
    tmp_path, monkeypatch, capsys
):
    import errno

    import yaml

    from dolma.core import io as dio

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dio._HashingWriter, "write", full)
    code = main(["sample-corpus", "--destination", str(tmp_path / "s"), "--max_files", "3", "--web_pages", "0"])
    err = capsys.readouterr().err
    assert code == 1 and "no space left on device" in err and "Traceback" not in err, err
    assert err.strip().startswith("dolma: ") and str(tmp_path / "s") in err

    recipe = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "..", "configs", "quickstart.yaml")))
    recipe.update(output=str(tmp_path / "release"), processes=1)
    recipe["embedded_corpus"] = {"max_files": 3, "web_pages": 0}
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    assert main(["pipeline", "-c", str(tmp_path / "recipe.yaml")]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.startswith("dolma")]
    assert lines and "no space left on device" in lines[-1] and "Traceback" not in err, err
    assert main(["pipeline", "-c", str(tmp_path / "recipe.yaml"), "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_credentials_in_the_endpoint_url_are_never_shown(tmp_path, monkeypatch, capsys):
    from dolma.core import s3

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://someone:hunter2-secret@127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-secret-key-value")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setattr(s3, "_CLIENT", None)
    for flags in ([], ["--debug"]):
        code = main(["tag", "--documents", "s3://corpus/x/documents/*.gz", "--taggers", "char_length_v1",
                     "--experiment", "e", *flags])
        err = capsys.readouterr().err
        assert code in (1, 2), err
        assert "hunter2-secret" not in err and "the-secret-key-value" not in err, err
        assert "someone:" not in err
    assert "***@127.0.0.1" in err or "unreachable" in err


def test_scrub():
    from dolma.core.errors import scrub

    assert scrub("http://u:p4ss@host:1/x and s3://bucket/key") == "http://***@host:1/x and s3://bucket/key"
    assert scrub("https://token@host/") == "https://***@host/"


def test_two_real_runs_on_the_same_outputs_the_second_fails_and_the_first_finishes(tmp_path, capsys):
    import subprocess
    import sys
    import time

    root = corpus(tmp_path)
    before = snapshot(root / "documents")
    plugin = tmp_path / "slow_plugin.py"
    plugin.write_text(
        "import time\n"
        "from dolma import add_tagger\n"
        "from dolma.core.data_types import DocResult, Span\n"
        "from dolma.core.taggers import BaseTagger\n\n"
        "@add_tagger('test_slow')\n"
        "class Slow(BaseTagger):\n"
        "    def predict(self, doc):\n"
        "        time.sleep(0.5)\n"
        "        return DocResult(doc=doc, spans=[Span(start=0, end=len(doc.text), type='slow', score=1.0)])\n"
    )
    argv = ["tag", "--documents", f"{root}/documents/*.gz", "--taggers", "test_slow", "--experiment", "e",
            "--tagger_modules", str(plugin)]
    first = subprocess.Popen([sys.executable, "-m", "dolma.cli", *argv], stderr=subprocess.PIPE,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    lock = root / "attributes" / "e" / ".dolma.lock"
    deadline = time.monotonic() + 60
    while not lock.exists() and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    assert lock.exists(), first.stderr.read().decode() if first.poll() is not None else "no lock"
    refused(capsys, main(argv), f"pid {first.pid}")
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err.decode()
    assert not lock.exists()
    assert len(list((root / "attributes" / "e").glob("*.jsonl.gz"))) == 2
    assert snapshot(root / "documents") == before


def test_a_run_on_s3_outputs_held_by_another_live_run_fails_naming_it(s3_prefix, capsys):
    import gzip
    import time

    import boto3

    data = gzip.compress("".join(json.dumps(d) + "\n" for d in DOCS).encode())
    s3_put(f"{s3_prefix}/documents/a-0000.jsonl.gz", data)
    key = s3_prefix.split("/", 3)[3] + "/attributes/e/.dolma.lock"
    holder = {"host": "worker-7", "pid": 4242, "since": 1_700_000_000.0, "expires": time.time() + 60, "run": "x"}
    boto3.client("s3").put_object(Bucket="corpus", Key=key, Body=json.dumps(holder).encode())
    argv = ["tag", "--documents", f"{s3_prefix}/documents/*.gz", "--taggers", "char_length_v1", "--experiment", "e"]
    refused(capsys, main(argv), "host worker-7, pid 4242, since 2023-11-14 22:13:20 UTC")
    assert s3_keys(f"{s3_prefix}/attributes/") == [key]
    holder["expires"] = time.time() - 1  # the holder's lease ran out: it is gone
    boto3.client("s3").put_object(Bucket="corpus", Key=key, Body=json.dumps(holder).encode())
    assert main(argv) == 0
    prefix = s3_prefix.split("/", 3)[3]
    assert s3_keys(f"{s3_prefix}/attributes/") == [
        f"{prefix}/attributes/e/a-0000.jsonl.gz", f"{prefix}/attributes/e/a-0000.jsonl.gz.manifest.json"]


def test_dedupe_locks_the_folder_of_the_bloom_filter_it_saves(tmp_path, capsys):
    import subprocess

    root = corpus(tmp_path)
    argv = ["dedupe", "--documents", f"{root}/documents/*.gz", "--bloom_filter.file", str(tmp_path / "bf" / "f.bin"),
            "--bloom_filter.size_in_bytes", "1048576", "--dedupe.name", "d",
            "--dedupe.documents.attribute_name", "dup", "--dedupe.documents.key", "$.text"]
    holder = subprocess.Popen(["sleep", "30"])
    try:
        _lock(str(tmp_path / "bf"), holder.pid)
        refused(capsys, main(argv), f"{tmp_path}/bf", f"pid {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
    assert main(argv) == 0
    assert sorted(os.listdir(tmp_path / "bf")) == ["f.bin", "f.bin.manifest.json"]  # no lock left


# --- bounded memory: documents over max_document_bytes ------------------------------------------------------------


def _oversized_corpus(root):
    """Five documents; d1 and the last one (no trailing newline) are ~300 KB, the rest a few bytes."""
    docs = [dict(d) for d in DOCS]
    docs[1]["text"] = "long text here. " * 20_000
    docs[4]["text"] = "another long one! " * 20_000
    data = "".join(json.dumps(d) + "\n" for d in docs).rstrip("\n").encode()
    path = root / "documents" / "a-0000.jsonl.gz"
    os.makedirs(path.parent, exist_ok=True)
    import gzip

    path.write_bytes(gzip.compress(data))
    return str(path), docs


@pytest.mark.parametrize("batch_bytes", [1 << 12, 1 << 22])
def test_the_reader_never_holds_a_line_over_max_document_bytes(tmp_path, batch_bytes):
    from dolma.core.records import BadLine, DocumentsReader

    path, docs = _oversized_corpus(tmp_path)
    items = [(b.first_line, i) for b in DocumentsReader(path, batch_bytes=batch_bytes, max_document_bytes=100_000) for i in b.items]
    kinds = [type(i).__name__ for _, i in items]
    assert kinds == ["DocumentRecord", "BadLine", "DocumentRecord", "DocumentRecord", "BadLine"], kinds
    bad = [i for _, i in items if isinstance(i, BadLine)]
    assert [b.line for b in bad] == [2, 5] and all(b.oversized and len(b.raw) <= 1024 for b in bad)
    assert [b.recovered_id for b in bad] == ["d1", "d4"]
    assert bad[0].size == len(json.dumps(docs[1])) + 1
    assert "over max_document_bytes (100,000): not read" in bad[0].reason and "320,0" in bad[0].reason
    assert [i.id for _, i in items if not isinstance(i, BadLine)] == ["d0", "d2", "d3"]
    # no limit: everything is read
    assert [i.id for b in DocumentsReader(path, batch_bytes=batch_bytes) for i in b.items] == [d["id"] for d in docs]


@pytest.mark.parametrize("stage", ["tag", "dedupe", "mix", "tokens"])
def test_an_oversized_document_is_quarantined_even_when_on_error_is_fail(tmp_path, capsys, stage):
    import gzip

    root = tmp_path / "c"
    path, docs = _oversized_corpus(root)
    before = snapshot(root / "documents")
    docs_glob = f"{root}/documents/*.gz"
    limit = ["--max_document_bytes", "100000"]
    if stage == "tag":
        argv = ["tag", "--documents", docs_glob, "--taggers", "char_length_v1", "--experiment", "e", *limit]
        quarantine = f"{root}/attributes/e/a-0000.jsonl.gz.quarantine.jsonl.gz"
    elif stage == "tokens":
        argv = ["tokens", "--documents", docs_glob, "--destination", str(tmp_path / "tok"), *limit]
        quarantine = str(tmp_path / "tok" / "part-0.quarantine.jsonl.gz")
    elif stage == "dedupe":
        argv = ["dedupe", "--documents", docs_glob, "--bloom_filter.file", str(tmp_path / "f.bin"),
                "--bloom_filter.size_in_bytes", "1048576", "--dedupe.name", "d",
                "--dedupe.documents.attribute_name", "dup", "--dedupe.documents.key", "$.text", *limit]
        quarantine = f"{root}/attributes/d/a-0000.jsonl.gz.quarantine.jsonl.gz"
    else:
        config = {"streams": [{"name": "m", "documents": [docs_glob], "output": {"path": str(tmp_path / "mix")}}]}
        (tmp_path / "mix.json").write_text(json.dumps(config))
        argv = ["-c", str(tmp_path / "mix.json"), "mix", *limit]
        quarantine = str(tmp_path / "mix" / "quarantine" / "m-u0000.jsonl.gz")
    assert main(argv) == 0, capsys.readouterr().err
    q = [json.loads(x) for x in gzip.open(quarantine, "rt")]
    assert [(x["line"], "over max_document_bytes" in x["reason"]) for x in q] == [(2, True), (5, True)], q
    assert all(len(x["raw"]) <= 1024 for x in q)
    if stage in ("tag", "dedupe"):  # attributes stay aligned with the documents, line by line
        name = "e" if stage == "tag" else "d"
        attrs = [json.loads(x) for x in gzip.open(f"{root}/attributes/{name}/a-0000.jsonl.gz", "rt")]
        assert [a["id"] for a in attrs] == [d["id"] for d in docs]
        assert attrs[1]["attributes"] == {} and attrs[4]["attributes"] == {}
    if stage == "mix":
        mixed = [json.loads(x) for x in gzip.open(tmp_path / "mix" / "m-0000.jsonl.gz", "rt")]
        assert [d["id"] for d in mixed] == ["d0", "d2", "d3"]
    assert snapshot(root / "documents") == before


def test_max_document_bytes_must_be_positive_or_null(capsys):
    assert main(["tag", "--documents", "x/*.gz", "--taggers", "char_length_v1", "--max_document_bytes", "0"]) == 2
    assert "max_document_bytes" in capsys.readouterr().err


def test_ray_reservations_cover_a_document_of_max_document_bytes():
    from dolma.core.units import MiB
    from dolma.taggers.config import TagConfig
    from dolma.taggers.stage import TagStage

    def tag(taggers, limit):
        return TagStage(TagConfig(documents=["d/*.gz"], taggers=taggers, max_document_bytes=limit)).resources.memory

    # the most demanding tagger decides; a plugin's default is 4 bytes per byte
    assert tag(["char_length_v1"], 64 * MiB) == 256 * MiB + 4 * 64 * MiB
    assert tag(["char_length_v1", "gopher_v1", "c4_v2"], 64 * MiB) == 256 * MiB + 5 * 64 * MiB
    assert tag(["gopher_v1"], 8 * MiB) == 256 * MiB + 5 * 8 * MiB
    assert tag(["gopher_v1"], None) == 256 * MiB  # no limit: only the baseline can be promised
