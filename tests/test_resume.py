"""kill -9 at any moment, then the same command again: the same bytes as one uninterrupted run."""

import pytest

from dolma.resume_check import kill_and_resume, run_to_completion, snapshot
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
