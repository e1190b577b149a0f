"""The files MinHash's steps hand each other: named numpy arrays in one file, and per-unit completion records.

A blob is ``b"DMH1"``, an 8-byte little-endian header length, a JSON header (each array's dtype, shape and offset,
plus free ``meta``), then the arrays' bytes. Writing the same arrays gives the same bytes. Files are written
through :class:`~dolma.core.outputs.UnitOutputs`, so a failed unit publishes none of them.
"""

from __future__ import annotations

import mmap
import os
from typing import Any, Dict, Mapping, Optional, Tuple

import msgspec
import numpy as np

from dolma.core import io as dio
from dolma.core.errors import InputError
from dolma.core.paths import is_s3

__all__ = ["pack", "unpack", "read_blob", "read_done", "write_done", "empty"]

_MAGIC = b"DMH1"


def pack(arrays: Mapping[str, np.ndarray], meta: Optional[Dict[str, Any]] = None) -> bytes:
    header: Dict[str, Any] = {"arrays": {}, "meta": meta or {}}
    chunks = []
    offset = 0
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        header["arrays"][name] = [a.dtype.str, list(a.shape), offset]
        chunks.append(a.tobytes())
        offset += a.nbytes
    head = msgspec.json.encode(header)
    return _MAGIC + len(head).to_bytes(8, "little") + head + b"".join(chunks)


def unpack(data: bytes, path: str = "") -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    if data[:4] != _MAGIC:
        raise InputError(path, 1, "not a MinHash state file (run it again with `ignore_existing: true`)")
    size = int.from_bytes(data[4:12], "little")
    header = msgspec.json.decode(bytes(data[12 : 12 + size]))
    base = 12 + size
    arrays = {}
    for name, (dtype, shape, offset) in header["arrays"].items():
        count = int(np.prod(shape)) if shape else 1
        arrays[name] = np.frombuffer(data, dtype=np.dtype(dtype), count=count, offset=base + offset).reshape(shape)
    return arrays, header["meta"]


def read_blob(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """A blob's arrays and meta; a local file is memory-mapped, so only the parts used are read."""
    if is_s3(path):
        return unpack(dio.read_bytes(path), path)
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return unpack(b"", path)
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise OSError(exc.errno, f"{path}: {exc.strerror}") from None
    return unpack(data, path)  # type: ignore[arg-type]


def empty(dtype: Any = np.uint64) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


def write_done(path: str, digest: str, counts: Dict[str, int]) -> None:
    """Record that a unit finished with settings ``digest``; its counts go with it (a skipped unit's counts are
    read back from here)."""
    dio.write_bytes_atomic(path, msgspec.json.encode({"config_hash": digest, "counts": counts}))


def read_done(path: str, digest: str) -> Optional[Dict[str, int]]:
    """The counts of a unit finished with settings ``digest``; ``None`` when it did not (or with other settings)."""
    if not dio.exists(path):
        return None
    try:
        record = msgspec.json.decode(dio.read_bytes(path))
    except msgspec.DecodeError:
        return None
    if not isinstance(record, dict) or record.get("config_hash") != digest:
        return None
    return dict(record.get("counts") or {})
