"""The intermediate files of one-pass dedupe: each input file's keys bucketed by partition, what its attributes
need (its layout), and each partition's marks. All are written atomically; all integers are little-endian.

Keys file (one per input file), so that a partition's job reads only its own keys (one seek, one read)::

    offset      size     field
    0           8        magic b"DOLMAKEY"
    8           4        version (1)
    12          4        P, the number of partitions
    16          4        W, 64-bit words per key (2: ``h1, h2`` of a Bloom filter key, or the two halves of xxh3_128)
    20          4        reserved, zero
    24          8 * P    keys in each partition
    24 + 8P     ...      partition 0's keys (``count * W`` uint64, in input order), then partition 1's, ...

The same buckets can hold MinHash band signatures (one partition per band, ``W`` words per signature): a band's
job then reads only its band.

Marks file (one per partition): the bits of every key of the partition, file after file in input order, each file's
bits packed from a byte boundary; an offsets table lets an attributes job seek straight to its file (the block file
of :func:`write_blocks`, which the first-occurrences records use too)::

    0           8        magic b"DOLMASEE"
    8           8        F, the number of input files
    16          8 * (F + 1)   byte offset of each file's block, from the end of this table
    ...         ...      the blocks (here each file's bits, ``numpy.packbits`` order)

Layout file (one per input file): the ids, bad lines, paragraph spans and each key's owner (line or paragraph),
in partition order as in the keys file, as msgpack with the arrays as raw bytes.
"""

from __future__ import annotations

import struct
from typing import Any, Dict, List, Sequence, Tuple

import msgspec
import numpy as np

from dolma.core import io as dio
from dolma.core.errors import InputError
from dolma.core.globs import is_s3, split_s3

__all__ = [
    "array_bytes", "write_keys", "read_partition_keys", "write_marks", "read_marks", "write_blocks", "read_block", "read_range",
    "write_layout", "read_layout", "bucket",
]

_KEYS_MAGIC = b"DOLMAKEY"
_MARKS_MAGIC = b"DOLMASEE"
_KEYS_HEADER = struct.Struct("<8sIIII")


def write_keys(path: str, buckets: Sequence[np.ndarray]) -> int:
    """Write one input file's keys, ``buckets[p]`` being partition ``p``'s ``(count, W)`` uint64 keys; the bytes."""
    width = buckets[0].shape[1] if buckets else 2
    counts = np.array([len(b) for b in buckets], dtype="<u8")
    with dio.AtomicWriter(path) as w:
        w.write(_KEYS_HEADER.pack(_KEYS_MAGIC, 1, len(buckets), width, 0))
        w.write(counts.tobytes())
        for bucket in buckets:
            w.write(array_bytes(np.ascontiguousarray(bucket, dtype="<u8")))
    return _KEYS_HEADER.size + 8 * len(buckets) + int(counts.sum()) * width * 8


def read_partition_keys(path: str, partition: int) -> np.ndarray:
    """Partition ``partition``'s keys of one keys file, reading only them (and the header)."""
    head = read_range(path, 0, _KEYS_HEADER.size)
    if len(head) < _KEYS_HEADER.size or head[:8] != _KEYS_MAGIC:
        raise InputError(path, None, "not a dedupe keys file (bad magic bytes)")
    _, version, parts, width, _ = _KEYS_HEADER.unpack(head)
    if version != 1 or not 0 <= partition < parts:
        raise InputError(path, None, f"keys file version {version} with {parts} partitions, asked for {partition}")
    counts = np.frombuffer(read_range(path, _KEYS_HEADER.size, 8 * parts), dtype="<u8").astype(np.int64)
    size = int(counts[partition]) * width * 8
    data = read_range(path, _KEYS_HEADER.size + 8 * parts + int(counts[:partition].sum()) * width * 8, size)
    if len(data) != size:
        raise InputError(path, None, f"keys file is truncated ({len(data)} of {size} bytes of partition {partition})")
    return np.frombuffer(data, dtype="<u8").astype(np.uint64).reshape(-1, width)


def read_range(path: str, offset: int, size: int) -> bytes:
    """``size`` bytes at ``offset`` (fewer at the end of the file): a seek locally, a ranged GET on S3."""
    if size <= 0:
        return b""
    if is_s3(path):
        from dolma.core import s3

        bucket, key = split_s3(path)
        with s3.errors_as_storage(path):
            body = s3.client().get_object(Bucket=bucket, Key=key, Range=f"bytes={offset}-{offset + size - 1}")["Body"]
            return body.read()
    with dio.open_raw(path) as f:
        f.seek(offset)
        return f.read(size)


def write_blocks(path: str, magic: bytes, blocks: Sequence[bytes]) -> None:
    """A file of one block per input file: ``magic``, the number of blocks, their offsets table, the blocks."""
    offsets = np.zeros(len(blocks) + 1, dtype="<u8")
    np.cumsum([len(b) for b in blocks], out=offsets[1:])
    with dio.AtomicWriter(path) as w:
        w.write(magic + struct.pack("<Q", len(blocks)))
        w.write(offsets.tobytes())
        for block in blocks:
            w.write(block)


def read_block(path: str, magic: bytes, what: str, index: int) -> bytes:
    """Block ``index`` of a file :func:`write_blocks` wrote (the header, its two offsets, the block: three reads)."""
    head = read_range(path, 0, 16)
    if len(head) < 16 or head[:8] != magic:
        raise InputError(path, None, f"not a dedupe {what} file (bad magic bytes)")
    (files,) = struct.unpack("<Q", head[8:])
    if not 0 <= index < files:
        raise InputError(path, None, f"{what} of {files} files, asked for file {index}")
    start, end = struct.unpack("<QQ", read_range(path, 16 + 8 * index, 16))
    data = read_range(path, 16 + 8 * (files + 1) + start, end - start)
    if len(data) != end - start:
        raise InputError(path, None, f"{what} file is truncated (file {index})")
    return data


def write_marks(path: str, marks: Sequence[np.ndarray]) -> None:
    """Write a partition's marks: ``marks[i]`` the booleans of input file ``i``'s keys in this partition."""
    write_blocks(path, _MARKS_MAGIC, [np.packbits(m).tobytes() for m in marks])


def read_marks(path: str, index: int, count: int) -> np.ndarray:
    """Input file ``index``'s ``count`` marks in a partition's marks file."""
    data = read_block(path, _MARKS_MAGIC, "marks", index)
    if len(data) * 8 < count:
        raise InputError(path, None, f"marks file is truncated (file {index})")
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=count).astype(bool)


class _Array(msgspec.Struct, array_like=True):
    dtype: str
    data: bytes  # written from a memoryview of the array, which msgspec encodes as these bytes without a copy


def _pack(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return _Array(value.dtype.str, array_bytes(value))
    return value


def array_bytes(array: np.ndarray) -> memoryview:
    """The bytes of ``array`` (C order) as a view: written or encoded without a copy when it is contiguous."""
    return memoryview(np.ascontiguousarray(array).reshape(-1).view(np.uint8))


def write_layout(path: str, fields: Dict[str, Any]) -> None:
    """Write the layout of an input file: ``fields`` maps names to numpy arrays, lists and numbers."""
    dio.write_bytes_atomic(path, msgspec.msgpack.encode({k: _pack(v) for k, v in fields.items()}))


def read_layout(path: str, arrays: Sequence[str]) -> Dict[str, Any]:
    """The fields of a layout file; those named in ``arrays`` come back as numpy arrays."""
    out: Dict[str, Any] = msgspec.msgpack.decode(dio.read_bytes(path), type=Dict[str, Any])
    for name in arrays:  # each array's bytes freed once copied: a very large document's arrays are not held twice
        dtype, data = out.pop(name)
        out[name] = np.frombuffer(data, dtype=np.dtype(dtype)).copy()
        del data
    return out


def bucket(part: np.ndarray, partitions: int) -> Tuple[np.ndarray, List[slice]]:
    """A stable order that groups keys by partition (input order kept within each), and each partition's slice."""
    small = part.astype(np.uint16) if partitions <= 1 << 16 else part  # 16-bit keys: numpy's O(n) radix sort
    order = np.argsort(small, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(partitions + 1))
    return order, [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
