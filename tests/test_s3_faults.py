"""Transient S3 faults are retried and lose nothing; permanent ones fail at once with one clear line."""

import gzip
import json

import pytest

import dolma.core.units
import dolma.core.s3
from dolma.cli import main
from tests.conftest import read_jsonl, s3_put
from tests.s3_fault_proxy import FaultProxy
from tests.test_tag_stage import DOCS, PLUGIN, run_tag


def put_corpus(prefix: str, n_files: int = 3, docs_per_file: int = 400) -> None:
    for i in range(n_files):
        docs = [dict(DOCS[j % 3], id=f"{i}-{j}") for j in range(docs_per_file)]
        s3_put(f"{prefix}/documents/part-{i}.jsonl.gz", gzip.compress("".join(json.dumps(d) + "\n" for d in docs).encode()))


@pytest.fixture
def through_proxy(monkeypatch, s3_server):
    """Point boto3 at a fault-injecting proxy; returns a function taking the fault plan."""

    def start(plan, max_attempts: int) -> FaultProxy:
        proxy = FaultProxy(s3_server, plan)
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", str(max_attempts))
        monkeypatch.setenv("AWS_RETRY_MODE", "standard")
        monkeypatch.setattr(dolma.core.s3, "_CLIENT", None)  # a new client reads the new endpoint
        return proxy

    yield start
    dolma.core.s3._CLIENT = None


def outputs(prefix: str, n_files: int, monkeypatch, endpoint: str):
    """Read the attributes straight from the S3 server, not through the proxy."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setattr(dolma.core.s3, "_CLIENT", None)
    return [read_jsonl(f"{prefix}/attributes/e/part-{i}.jsonl.gz") for i in range(n_files)]


def test_flaky_s3_is_retried_and_nothing_is_lost(s3_prefix, s3_server, through_proxy, monkeypatch):
    put_corpus(s3_prefix, n_files=2)
    args = dict(documents=[f"{s3_prefix}/documents/*.gz"], taggers=["test_cool_words"], experiment="e")

    downloads = []

    # every 4th request answered 503 SlowDown, every 9th connection reset, every other download cut half way
    def plan(n, method, path):
        if n % 9 == 0:
            return "reset"
        if n % 4 == 0:
            return "503"
        if method == "GET" and "documents/part-" in path:
            downloads.append(n)
            return "cut" if len(downloads) % 2 else None
        return None

    with through_proxy(plan, max_attempts=6) as proxy:
        report = run_tag(**args)
        faults = proxy.faults()
    assert report.ok, report.failed
    assert {"503", "reset", "cut"} <= set(faults)
    got = outputs(s3_prefix, 2, monkeypatch, s3_server)
    assert [len(rows) for rows in got] == [400, 400]
    assert [r["id"] for r in got[1]] == [f"1-{j}" for j in range(400)]


def test_unit_is_retried_when_s3_stays_down_longer_than_request_retries(s3_prefix, s3_server, through_proxy, monkeypatch):
    put_corpus(s3_prefix, n_files=1)
    monkeypatch.setattr(dolma.core.units, "RETRY_BASE_SECONDS", 0.05)
    downloads = []

    def plan(n, method, path):
        if method == "GET" and "documents/part-" in path:
            downloads.append(n)
            return "503" if len(downloads) <= 4 else None  # the first 4 downloads fail
        return None

    with through_proxy(plan, max_attempts=2):
        report = run_tag(documents=[f"{s3_prefix}/documents/*.gz"], taggers=["test_cool_words"], experiment="e")
    assert report.ok, report.failed
    assert len(downloads) >= 5
    assert len(outputs(s3_prefix, 1, monkeypatch, s3_server)[0]) == 400


def test_unit_fails_with_a_clear_line_when_retries_run_out(s3_prefix, through_proxy, monkeypatch):
    put_corpus(s3_prefix, n_files=1)
    monkeypatch.setattr(dolma.core.units, "RETRY_BASE_SECONDS", 0.01)

    def always_503_on_download(n, method, path):
        return "503" if method == "GET" and "documents/part-" in path else None

    with through_proxy(always_503_on_download, max_attempts=2):
        report = run_tag(
            documents=[f"{s3_prefix}/documents/*.gz"], taggers=["test_cool_words"], experiment="e",
            executor={"max_retries": 1},
        )
    assert len(report.failed) == 1
    message = report.failed[0][1]
    assert message.startswith(f"{s3_prefix}/documents/part-0.jsonl.gz: S3 kept failing (SlowDown")
    assert message.endswith("(after 1 retries)")


def test_permanent_error_is_one_line_without_credentials(s3_server, capsys):
    code = main(["tag", "--documents", "s3://no-such-bucket-here/documents/*.gz", "--taggers", "test_cool_words",
                 "--tagger_modules", PLUGIN])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "s3://no-such-bucket-here/documents/: S3 refused the request (NoSuchBucket" in err
    assert "s3-secret-never-printed" not in err
