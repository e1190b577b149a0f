"""S3 (and S3-protocol servers: MinIO, R2, a local test server) through boto3.

Endpoint, region and credentials come from the standard AWS environment and config files, so
``AWS_ENDPOINT_URL=http://127.0.0.1:9000`` points every stage at a local server. One client per process.

Every request is retried by botocore with backoff (``AWS_MAX_ATTEMPTS``, default 8; ``AWS_RETRY_MODE``, default
``adaptive``), and reads that break mid-stream are resumed by smart_open. What still fails becomes a
:class:`TransientStorageError` (5xx, throttling, resets, timeouts: the executor retries the unit) or a
:class:`StorageError` (access denied, no such bucket: fails at once). Messages name the path and the error
code, never credentials.
"""

from __future__ import annotations

import io
import logging
import os
from contextlib import contextmanager
from typing import IO, Any, Dict, Iterator, List, Optional, Tuple

from dolma.core.errors import InputError, StorageError, TransientStorageError
from dolma.core.globs import has_glob, match_glob, split_s3

__all__ = ["client", "glob", "exists", "size", "open_read", "open_write", "remove", "put_bytes", "get_bytes",
           "errors_as_storage"]

# multipart part size: memory per open output vs requests per object (S3 allows 5 MiB to 5 GiB)
PART_SIZE = 16 << 20

_CLIENT: Optional[Tuple[int, Any]] = None
log = logging.getLogger("dolma")
_TRANSIENT_CODES = {
    "500", "502", "503", "504", "InternalError", "ServiceUnavailable", "SlowDown", "Throttling",
    "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed", "RequestLimitExceeded",
}


def client() -> Any:
    """The process's S3 client (a new one after fork: boto3 clients must not cross processes)."""
    global _CLIENT
    if _CLIENT is None or _CLIENT[0] != os.getpid():
        import boto3
        from botocore.config import Config

        retries = {
            "max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS", "8")),
            "mode": os.environ.get("AWS_RETRY_MODE", "adaptive"),
        }
        config = Config(retries=retries, connect_timeout=10, read_timeout=60)  # type: ignore[arg-type]
        _CLIENT = (os.getpid(), boto3.session.Session().client("s3", config=config))
    return _CLIENT[1]


def _error_code(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _storage_error(exc: BaseException, path: str) -> StorageError:
    from botocore.exceptions import ClientError

    cause: Optional[BaseException] = exc
    while cause is not None and not isinstance(cause, ClientError):  # smart_open wraps boto's errors
        cause = cause.__cause__ or cause.__context__
    if cause is not None:
        exc = cause
        code = _error_code(exc)
        message = getattr(exc, "response", {}).get("Error", {}).get("Message", "") or code
        if code in _TRANSIENT_CODES:
            return TransientStorageError(f"{path}: S3 kept failing ({code}: {message})")
        return StorageError(f"{path}: S3 refused the request ({code}: {message})")
    # connection resets, timeouts, endpoint unreachable, reads that could not be resumed
    return TransientStorageError(f"{path}: S3 unreachable or failing ({type(exc).__name__}: {exc})")


@contextmanager
def errors_as_storage(path: str) -> Iterator[None]:
    """Turn boto/network exceptions raised inside into StorageError/TransientStorageError naming ``path``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError, OSError) as exc:
        raise _storage_error(exc, path) from exc


def _list(bucket: str, prefix: str) -> List[str]:
    keys: List[str] = []
    with errors_as_storage(f"s3://{bucket}/{prefix}"):
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


def head(path: str) -> Optional[Dict[str, Any]]:
    from botocore.exceptions import ClientError

    bucket, key = split_s3(path)
    with errors_as_storage(path):
        try:
            return client().head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise


def get_bytes(path: str) -> bytes:
    """A small object's stored bytes in one request (``open_read`` costs a HEAD and a GET)."""
    from botocore.exceptions import ClientError

    bucket, key = split_s3(path)
    with errors_as_storage(path):
        try:
            return client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise InputError(path, None, "no such object") from None
            raise


def exists(path: str) -> bool:
    return head(path) is not None


def size(path: str) -> int:
    info = head(path)
    if info is None:
        raise InputError(path, None, "no such object")
    return int(info["ContentLength"])


class _Reader(io.RawIOBase):
    """A smart_open S3 reader whose failures (after its own resumes) are StorageErrors naming the path."""

    def __init__(self, path: str, stream: Any) -> None:
        self._path = path
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with errors_as_storage(self._path):
            data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


def open_read(path: str) -> IO[bytes]:
    import smart_open

    if head(path) is None:
        raise InputError(path, None, "no such object")
    with errors_as_storage(path):
        stream = smart_open.open(path, "rb", compression="disable", transport_params={"client": client()})
    return _Reader(path, stream)  # type: ignore[return-value]


class _Writer:
    """Uploads an object that appears only when :meth:`close` succeeds; :meth:`terminate` leaves nothing.

    Small objects (under one part) go up in one PUT at close; larger ones stream as a multipart upload, one part
    per ``PART_SIZE`` bytes, completed at close and aborted by terminate.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._bucket, self._key = split_s3(path)
        self._buffer = bytearray()
        self._upload_id: Optional[str] = None
        self._parts: List[Dict[str, Any]] = []

    def write(self, data: Any) -> int:
        self._buffer += data
        if len(self._buffer) >= PART_SIZE:
            self._upload_part()
        return len(data)

    def _upload_part(self) -> None:
        with errors_as_storage(self._path):
            if self._upload_id is None:
                _abort_stale_uploads(self._path)
                response = client().create_multipart_upload(Bucket=self._bucket, Key=self._key)
                self._upload_id = response["UploadId"]
            number = len(self._parts) + 1
            response = client().upload_part(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=bytes(self._buffer)
            )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})
        self._buffer.clear()

    def close(self) -> None:
        if self._upload_id is None:
            put_bytes(self._path, bytes(self._buffer))
            return
        if self._buffer:
            self._upload_part()
        with errors_as_storage(self._path):
            client().complete_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )

    def terminate(self) -> None:
        self._buffer.clear()
        if self._upload_id is not None:
            try:
                client().abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
            except Exception:  # best effort: an unfinished upload is invisible either way
                log.warning("%s: could not abort multipart upload %s", self._path, self._upload_id)


def _abort_stale_uploads(path: str) -> None:
    """Abort multipart uploads to this exact key that a killed run left behind (invisible, but billed)."""
    bucket, key = split_s3(path)
    with errors_as_storage(path):
        uploads = client().list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", [])
        for upload in uploads:
            if upload["Key"] == key:
                client().abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"])


def open_write(path: str) -> _Writer:
    return _Writer(path)


def put_bytes(path: str, data: bytes) -> None:
    bucket, key = split_s3(path)
    with errors_as_storage(path):
        client().put_object(Bucket=bucket, Key=key, Body=data)


def remove(path: str) -> None:
    bucket, key = split_s3(path)
    with errors_as_storage(path):
        client().delete_object(Bucket=bucket, Key=key)
