"""kill -9 at any moment, then the same command again: the same bytes as one uninterrupted run."""

import os

import pytest

from tests.resume_check import kill_and_resume, run_to_completion, snapshot
from tests.conftest import write_documents


@pytest.fixture(scope="module")
def tag_job(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    for i in range(4):
        docs = [{"id": f"{i}-{j}", "text": f"Document {j} of file {i}.\n" * (20 + j % 50)} for j in range(1500)]
        write_documents(str(root / f"documents/part-{i}.jsonl.gz"), docs)
    argv = ["tag", "--documents", f"{root}/documents/*.gz", "--experiment", "q", "--processes", "2",
            "--taggers", "c4_v2", "char_length_with_paragraphs_v1"]
    seconds = run_to_completion(argv)
    expected = snapshot(str(root / "attributes"))
    assert len(expected) == 4
    return argv, str(root / "attributes"), expected, seconds


@pytest.mark.parametrize("fraction,victim", [(0.5, "driver"), (0.75, "worker")])
def test_killed_run_resumes_to_identical_bytes(tag_job, fraction, victim):
    argv, out, expected, seconds = tag_job
    result = kill_and_resume(argv, out, expected, delay=seconds * fraction, victim=victim)
    assert result.identical
    assert result.leftovers == []


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume_stages")
    for i in range(4):
        docs = [{"id": f"{i}-{j}", "text": f"Paragraph {j % 40} repeats.\nDocument {j} of file {i}.\n" * 8}
                for j in range(1200)]
        write_documents(str(root / f"documents/part-{i}.jsonl.gz"), docs)
    return root


def _stage_job(stage, small_corpus, tmp_path):
    """The command of ``stage`` over the small corpus, the folder its outputs go to, and a reset of them."""
    out = str(tmp_path / "out")
    if stage == "dedupe":
        argv = ["dedupe", "--documents", f"{small_corpus}/documents/*.gz", "--processes", "2",
                "--dedupe.paragraphs.attribute_name", "dup", "--dedupe.document_dir", "documents",
                "--bloom_filter.file", f"{out}/filter.bin", "--bloom_filter.estimated_doc_count", "100000",
                "--bloom_filter.desired_false_positive_rate", "0.0001"]
        root = str(small_corpus / "attributes")
    elif stage == "tokens":
        argv = ["tokens", "--documents", f"{small_corpus}/documents/*.gz", "--destination", out,
                "--processes", "2", "--ring_size", "1"]
        root = out
    elif stage == "mix":
        import yaml

        config = {"streams": [{"name": "m", "documents": [f"{small_corpus}/documents/*.gz"],
                               "output": {"path": out, "max_size_in_bytes": 300_000}, "sample": 0.7}],
                  "processes": 2}
        (tmp_path / "mix.yaml").write_text(yaml.safe_dump(config))
        argv = ["mix", "-c", str(tmp_path / "mix.yaml")]
        root = out
    else:
        argv = ["import", "--documents", f"{small_corpus}/documents/*.gz", "--destination", out, "--source", "s",
                "--format", "jsonl", "--processes", "2", "--output.max_size_in_bytes", "400000"]
        root = out

    def reset():
        import shutil

        shutil.rmtree(str(small_corpus / "attributes"), ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)

    return argv, root, out, reset


@pytest.mark.parametrize("stage", ["dedupe", "tokens", "mix", "import"])
def test_other_stages_resume_to_identical_bytes(small_corpus, tmp_path, stage):
    argv, root, _, reset = _stage_job(stage, small_corpus, tmp_path)
    reset()
    seconds = run_to_completion(argv)
    expected = snapshot(root)
    assert expected
    result = kill_and_resume(argv, root, expected, delay=seconds * 0.6, victim="driver", reset=reset)
    assert result.identical and result.leftovers == []


@pytest.mark.parametrize("stage", ["dedupe", "tokens", "mix", "import"])
def test_a_rerun_removes_what_a_run_killed_while_publishing_left(small_corpus, tmp_path, stage):
    """A kill while the driver itself writes (a mix's shards, the dedupe filter) leaves temporary files in folders
    no unfinished unit writes to; the rerun must find and remove them, and redo what they were for."""
    argv, root, out, reset = _stage_job(stage, small_corpus, tmp_path)
    reset()
    run_to_completion(argv)
    expected = snapshot(root)
    filter_bytes = open(f"{out}/filter.bin", "rb").read() if stage == "dedupe" else None
    planted = []
    for dirpath, dirnames, names in os.walk(out if stage != "dedupe" else root):
        if any(n.endswith((".gz", ".npy", ".json")) for n in names):
            planted.append(os.path.join(dirpath, ".shard-0000.jsonl.gz.tmp-0123456789ab"))
    if stage == "dedupe":  # killed while saving the filter: its temporary file, and no filter
        os.remove(f"{out}/filter.bin")
        planted.append(f"{out}/.filter.bin.tmp-0123456789ab")
    assert planted
    for path in planted:
        with open(path, "wb") as f:
            f.write(b"half-written")
    run_to_completion(argv)
    assert snapshot(root) == expected
    assert not [p for p in planted if os.path.exists(p)]
    if stage == "dedupe":
        assert open(f"{out}/filter.bin", "rb").read() == filter_bytes


def test_dedupe_stops_when_a_worker_dies_and_a_rerun_gives_the_same_bytes(small_corpus, tmp_path):
    """Dedupe's files take turns on the shared filter, so a dead worker's file cannot just run again: the run must
    stop (not wait for a turn that never comes) and the rerun must give the bytes of one clean run."""
    import signal
    import subprocess
    import sys
    import time

    argv, root, _, reset = _stage_job("dedupe", small_corpus, tmp_path)
    reset()
    run_to_completion(argv)
    expected = snapshot(root)
    reset()
    proc = subprocess.Popen([sys.executable, "-m", "dolma.cli", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    workers = []
    deadline = time.monotonic() + 60
    while not workers and proc.poll() is None and time.monotonic() < deadline:
        for child in open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split():
            try:
                if b"spawn_main" in open(f"/proc/{child}/cmdline", "rb").read():
                    workers.append(int(child))
            except OSError:
                pass
        time.sleep(0.02)
    if workers:
        time.sleep(0.3)
        try:
            os.kill(workers[0], signal.SIGKILL)
        except ProcessLookupError:  # the run finished first
            pass
        _, stderr = proc.communicate(timeout=60)  # no hang
        assert proc.returncode in (0, 1), stderr[-2000:]
        if proc.returncode == 1:  # the kill landed while a file was being deduplicated
            assert b".gz: worker process died (killed by SIGKILL)" in stderr
    else:
        proc.communicate(timeout=60)
    run_to_completion(argv)
    assert snapshot(root) == expected
