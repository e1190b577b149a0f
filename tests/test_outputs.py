"""dolma.core.outputs.UnitOutputs: a unit's files are published together with their manifests, or not at all."""

import hashlib
import json
import os

import pytest

from dolma.core import io as dio
from dolma.core.manifest import FileEntry, config_hash, manifest_path, read_manifest
from dolma.core.outputs import UnitOutputs, input_entry
from dolma.core.records import QUARANTINE_SUFFIX, BadLine, DocumentsReader, quarantine_lines
from tests.conftest import s3_keys, write_documents

BAD = [BadLine(2, b'{"id": "x", "text": ', "invalid JSON: truncated"), BadLine(5, b"\xff", "invalid UTF-8 (byte 0)")]


def _tree(folder):
    """Every file below ``folder`` (relative paths), temporary ones included."""
    return sorted(os.path.relpath(os.path.join(d, n), folder) for d, _, names in os.walk(folder) for n in names)


def _sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _unit(tmp_path, bad=BAD):
    """Runs a small unit: two targets, a part committed early, bad lines; returns the paths it writes."""
    out = tmp_path / "out"
    paths = {"a": str(out / "a.jsonl.gz"), "b": str(out / "sub/b.jsonl"), "part": str(out / "part-0.bin")}
    files = UnitOutputs("test", {"whole": "config"}, quarantine=paths["a"] + QUARANTINE_SUFFIX)
    with files:
        files.open(paths["part"]).write(b"\x00\x01")
        assert files.commit(paths["part"]) == FileEntry(paths["part"], 2, hashlib.sha256(b"\x00\x01").hexdigest())
        files.open(paths["a"]).write(b'{"id": "1"}\n')
        assert files.open(paths["a"]) is files.open(paths["a"])  # opened once, then looked up by path
        files.open(paths["b"]).write(b"plain\n")
        files.quarantine("in.jsonl", bad[:1])
        files.quarantine("in.jsonl", [])
        files.quarantine("in.jsonl", bad[1:])
    return files, paths


def test_commit_publishes_every_file_then_writes_manifests(tmp_path):
    files, paths = _unit(tmp_path)
    quarantine = paths["a"] + QUARANTINE_SUFFIX
    assert _tree(tmp_path / "out") == ["a.jsonl.gz", "a.jsonl.gz" + QUARANTINE_SUFFIX, "part-0.bin", "sub/b.jsonl"]
    assert dio.read_bytes(paths["a"]) == b'{"id": "1"}\n' and open(paths["b"], "rb").read() == b"plain\n"
    assert dio.read_bytes(quarantine) == quarantine_lines("in.jsonl", BAD[:1]) + quarantine_lines("in.jsonl", BAD[1:])
    for path in (paths["a"], paths["b"], quarantine):
        written = files.quarantine_entry if path == quarantine else files.entry(path)
        assert written == FileEntry(path, os.path.getsize(path), _sha(path))

    inputs = [FileEntry("in.jsonl", 10, "0" * 64)]
    files.write_manifest(manifest_path(paths["a"]), {"k": 1}, inputs, [paths["a"], paths["part"]], {"docs": 3})
    files.write_manifest(manifest_path(paths["b"]), {"k": 2}, inputs, [paths["b"]], {"docs": 3}, quarantine=False)
    first, second = read_manifest(manifest_path(paths["a"])), read_manifest(manifest_path(paths["b"]))
    assert first.stage == "test" and first.config == {"k": 1} and first.config_hash == config_hash({"k": 1})
    assert first.inputs == inputs and first.counts == {"docs": 3} and first.resolved_config == {"whole": "config"}
    assert first.outputs == [files.entry(paths["a"]), files.entry(paths["part"])]
    assert first.quarantine == files.quarantine_entry and second.quarantine is None
    assert second.outputs == [files.entry(paths["b"])] and first.seconds == second.seconds >= 0


def test_no_bad_lines_no_quarantine_file(tmp_path):
    files, paths = _unit(tmp_path, bad=[])
    assert not os.path.exists(paths["a"] + QUARANTINE_SUFFIX) and files.quarantine_entry is None
    files.write_manifest(manifest_path(paths["a"]), {}, [], [paths["a"]], {})
    assert json.load(open(manifest_path(paths["a"])))["quarantine"] is None


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_an_exception_aborts_everything(tmp_path, error):
    out = tmp_path / "out"
    files = UnitOutputs("test", {}, quarantine=str(out / "q" / "unit.jsonl.gz"))
    with pytest.raises(error):
        with files:
            files.open(str(out / "part-0.bin")).write(b"first part")
            files.commit(str(out / "part-0.bin"))  # published, so removed again when the unit fails
            files.open(str(out / "part-1.bin")).write(b"second part")
            files.open(str(out / "a.jsonl.gz")).write(b"x\n" * 1000)
            files.quarantine("in.jsonl", BAD)
            assert len(_tree(out)) == 4  # three temporary files and the part
            raise error()
    assert _tree(out) == []  # no output, no quarantine, no temporary file
    with pytest.raises(RuntimeError):
        files.write_manifest(str(out / "m.manifest.json"), {}, [], [], {})
    with pytest.raises(RuntimeError):
        files.open(str(out / "late.bin"))


def test_a_commit_that_fails_half_way_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "out"
    files = UnitOutputs("test", {}, quarantine=str(out / "q.jsonl.gz"))
    with pytest.raises(OSError, match="disk full"):
        with files:
            files.open(str(out / "a.bin")).write(b"a")
            last = files.open(str(out / "b.bin"))
            last.write(b"b")
            files.quarantine("in.jsonl", BAD)

            def fail() -> None:
                last.abort()  # what AtomicWriter.commit does when it fails
                raise OSError("disk full")

            monkeypatch.setattr(last, "commit", fail)
    assert _tree(out) == []  # a.bin was committed first, and is removed again


def test_a_path_is_written_once(tmp_path):
    with UnitOutputs("test", {}) as files:
        files.open(str(tmp_path / "a.bin")).write(b"a")
        files.commit(str(tmp_path / "a.bin"))
        with pytest.raises(ValueError, match="already committed"):
            files.open(str(tmp_path / "a.bin"))
        with pytest.raises(ValueError, match="no quarantine file"):
            files.quarantine("in.jsonl", BAD)
    assert _tree(tmp_path) == ["a.bin"]


def test_input_entry(tmp_path):
    path = write_documents(str(tmp_path / "docs/a.jsonl.gz"), [{"id": "1", "text": "one"}])
    reader = DocumentsReader(path)
    list(reader)
    assert input_entry(reader) == FileEntry(path, os.path.getsize(path), _sha(path))


def test_s3_commit_and_abort(s3_prefix):
    out = f"{s3_prefix}/out"
    with UnitOutputs("test", {}, quarantine=f"{out}/a.jsonl.gz{QUARANTINE_SUFFIX}") as files:
        files.open(f"{out}/a.jsonl.gz").write(b'{"id": "1"}\n')
        files.quarantine("in.jsonl", BAD)
    files.write_manifest(manifest_path(f"{out}/a.jsonl.gz"), {}, [], [f"{out}/a.jsonl.gz"], {})
    assert read_manifest(manifest_path(f"{out}/a.jsonl.gz")).quarantine == files.quarantine_entry
    assert dio.read_bytes(f"{out}/a.jsonl.gz") == b'{"id": "1"}\n'
    published = s3_keys(f"{out}/")

    with pytest.raises(RuntimeError, match="boom"):
        with UnitOutputs("test", {}, quarantine=f"{out}/b.quarantine.jsonl.gz") as files:
            files.open(f"{out}/b-0.bin").write(b"part")
            files.commit(f"{out}/b-0.bin")
            files.open(f"{out}/b-1.jsonl.gz").write(os.urandom(1 << 20))
            files.quarantine("in.jsonl", BAD)
            raise RuntimeError("boom")
    assert s3_keys(f"{out}/") == published
    import boto3

    assert not boto3.client("s3").list_multipart_uploads(Bucket="corpus").get("Uploads")


def test_schedule_size(tmp_path, s3_prefix):
    path = tmp_path / "a.bin"
    path.write_bytes(b"12345")
    assert dio.schedule_size(str(path)) == 5
    assert dio.schedule_size(f"{s3_prefix}/never-asked.bin") == 0  # no request per S3 object
