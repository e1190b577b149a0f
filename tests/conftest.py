"""Shared fixtures: documents files written by the tests, and an S3-protocol server on loopback."""

from __future__ import annotations

import gzip
import json
import logging
import os
from typing import Any, Dict, Iterator, List

import pytest


def write_documents(path: str, docs: List[Dict[str, Any]]) -> str:
    """Write Dolma documents as JSON lines, compressed by extension (.gz, .zst or none)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = "".join(json.dumps(d) + "\n" for d in docs).encode("utf-8")
    write_bytes(path, data)
    return path


def write_bytes(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if path.endswith(".gz"):
        data = gzip.compress(data)
    elif path.endswith(".zst"):
        import zstandard

        data = zstandard.ZstdCompressor().compress(data)
    with open(path, "wb") as f:
        f.write(data)


def read_jsonl(path: str) -> List[Dict[str, Any]]:
    from dolma.core.io import read_bytes

    return [json.loads(line) for line in read_bytes(path).decode("utf-8").splitlines()]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 with bucket ``corpus``; AWS_* variables point boto3 (and workers) at it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the server logs every request at INFO
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._server.server_port}"  # port 0: the OS picked a free port
    saved = {k: os.environ.get(k) for k in _AWS_ENV}
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="s3-secret-never-printed",
        AWS_DEFAULT_REGION="us-east-1",
    )
    os.environ.pop("AWS_PROFILE", None)
    try:
        import boto3

        boto3.client("s3").create_bucket(Bucket="corpus")
        yield endpoint
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_AWS_ENV = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_PROFILE")


@pytest.fixture
def s3_prefix(s3_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh key prefix in the test bucket for one test."""
    return f"s3://corpus/{request.node.name}"


def s3_put(path: str, data: bytes) -> None:
    import boto3

    bucket, key = path[len("s3://") :].split("/", 1)
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=data)


def s3_keys(prefix: str) -> List[str]:
    import boto3

    bucket, key = prefix[len("s3://") :].split("/", 1)
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", ()))


@pytest.fixture(scope="session")
def lineage_release(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small quickstart release with its lineage index (tests/lineage_release.py), built once per session;
    tests that change it work on a copy."""
    from tests.lineage_release import build_lineage_release

    return build_lineage_release(tmp_path_factory.mktemp("lineage"))
