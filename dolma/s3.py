"""S3 (and S3-protocol servers: MinIO, R2, a local test server) through boto3.

Endpoint, region and credentials come from the standard AWS environment and config files, so
``AWS_ENDPOINT_URL=http://127.0.0.1:9000`` points every stage at a local server. One client per process.
"""

from __future__ import annotations

import os
from typing import IO, Any, Dict, List, Optional, Tuple

from dolma.errors import InputError
from dolma.paths import has_glob, match_glob, split_s3

__all__ = ["client", "glob", "exists", "size", "open_read", "open_write", "remove", "put_bytes"]

# multipart part size: memory per open output vs requests per object (S3 allows 5 MiB to 5 GiB)
PART_SIZE = 16 << 20

_CLIENT: Optional[Tuple[int, Any]] = None


def client() -> Any:
    """The process's S3 client (a new one after fork: boto3 clients must not cross processes)."""
    global _CLIENT
    if _CLIENT is None or _CLIENT[0] != os.getpid():
        import boto3
        from botocore.config import Config

        session = boto3.session.Session()
        config = Config(retries={"max_attempts": 8, "mode": "adaptive"})
        _CLIENT = (os.getpid(), session.client("s3", config=config))
    return _CLIENT[1]


def _list(bucket: str, prefix: str) -> List[str]:
    keys: List[str] = []
    paginator = client().get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", ()))
    return keys


def glob(pattern: str) -> List[str]:
    bucket, key = split_s3(pattern)
    scheme = pattern.split("://", 1)[0]
    base = f"{scheme}://{bucket}/"
    if not has_glob(key):
        if key and exists(pattern):
            return [pattern]
        folder = key.rstrip("/") + "/" if key else ""
        return [base + k for k in _list(bucket, folder) if not _hidden(k[len(folder) :])]
    prefix = key[: key.rfind("/", 0, _first_glob(key)) + 1]
    return match_glob(pattern, [base + k for k in _list(bucket, prefix)])


def _first_glob(key: str) -> int:
    return min(i for i in (key.find("*"), key.find("?"), key.find("[")) if i >= 0)


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


def _is_not_found(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def head(path: str) -> Optional[Dict[str, Any]]:
    from botocore.exceptions import ClientError

    bucket, key = split_s3(path)
    try:
        return client().head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _is_not_found(exc):
            return None
        raise


def exists(path: str) -> bool:
    return head(path) is not None


def size(path: str) -> int:
    info = head(path)
    if info is None:
        raise InputError(path, None, "no such object")
    return int(info["ContentLength"])


def open_read(path: str) -> IO[bytes]:
    import smart_open

    if head(path) is None:
        raise InputError(path, None, "no such object")
    return smart_open.open(path, "rb", compression="disable", transport_params={"client": client()})


def open_write(path: str) -> Any:
    """A multipart upload: the object appears only when ``close()`` completes it; ``terminate()`` aborts it."""
    import smart_open

    params = {"client": client(), "min_part_size": PART_SIZE}
    return smart_open.open(path, "wb", compression="disable", transport_params=params)


def put_bytes(path: str, data: bytes) -> None:
    bucket, key = split_s3(path)
    client().put_object(Bucket=bucket, Key=key, Body=data)


def remove(path: str) -> None:
    bucket, key = split_s3(path)
    client().delete_object(Bucket=bucket, Key=key)
