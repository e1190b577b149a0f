"""A mix unit's staged output: parts made of independently compressed blocks, and the record that lists them.

A unit writes its JSON lines as blocks (gzip members, zstd frames or plain bytes) of about 1 MiB into parts
``<prefix>-pNNNN<extension>.part``, starting a new part before one would pass ``max_size_in_bytes``; since every
block stands alone, parts joined by plain byte concatenation are a valid file. Each part is published through the
unit's :class:`~dolma.core.outputs.UnitOutputs` as soon as it is full, and described by a :class:`PartRecord`.
"""

from __future__ import annotations

import mmap
from typing import Any, Dict, List, Optional, Union

import msgspec

from dolma.core import io as dio
from dolma.core.manifest import FileEntry
from dolma.core.outputs import UnitOutputs
from dolma.core.paths import join

__all__ = ["PartRecord", "UnitRecord", "write_record", "BlockCompressor", "PartWriter", "COUNT_KEYS"]

_MEMBER_BYTES = 1 << 20  # uncompressed bytes per compressed block
_GZIP_HEADER_BYTES = 10  # a gzip header without optional fields (what igzip writes)
# every part's manifest has these counts; drops add `dropped: <reason>` keys
COUNT_KEYS = ("documents_in", "bytes_in", "documents_kept", "documents_out", "bytes_out", "documents_quarantined",
              "spans_replaced", "copies_added")


class PartRecord(msgspec.Struct):
    staged: str
    final: Optional[str]  # the shard it was published in
    bytes: int
    sha256: str
    counts: Dict[str, int]


class UnitRecord(msgspec.Struct):
    config_hash: str
    inputs: List[FileEntry]
    parts: List[PartRecord]
    seconds: float
    environment: Optional[Dict[str, str]] = None  # Python and output-library versions (dolma.core.environment)


def write_record(path: str, record: UnitRecord) -> None:
    dio.write_bytes_atomic(path, msgspec.json.encode(record))


def _count_lines(data: Union[bytes, bytearray, mmap.mmap], start: int, end: int) -> int:
    """Newlines in ``data[start:end]`` (a mapping has no ``count``: its lines are found one by one)."""
    if not isinstance(data, mmap.mmap):
        return data.count(b"\n", start, end)
    lines = 0
    at = data.find(b"\n", start, end)
    while at >= 0:
        lines += 1
        at = data.find(b"\n", at + 1, end)
    return lines


class BlockCompressor:
    """Compresses one block at a time into a stand-alone gzip member or zstd frame (``extension`` says which;
    neither: the bytes as they are), handed back as pieces to write one after the other. A gzip member is its
    header and then its body: ``igzip.compress`` joins the two, which would hold a long line's compressed bytes
    twice."""

    def __init__(self, extension: str, gzip_level: int) -> None:
        self.extension = extension
        self.level = gzip_level
        self._zstd: Any = None
        self._gzip_header = b""
        if extension.endswith(".gz"):
            from isal import igzip

            self._gzip_header = igzip.compress(b"", compresslevel=gzip_level, mtime=0)[:_GZIP_HEADER_BYTES]
        elif extension.endswith(".zst"):
            import zstandard

            self._zstd = zstandard.ZstdCompressor(level=3)

    def compress(self, data: Any) -> List[bytes]:
        """``data`` compressed (as pieces whose concatenation is ``igzip.compress(data, level, mtime=0)``, or the
        zstd frame, or ``data``)."""
        if self._gzip_header:
            from isal import igzip_lib

            return [self._gzip_header, igzip_lib.compress(data, self.level, flag=igzip_lib.COMP_GZIP_NO_HDR)]
        if self._zstd is not None:
            return [self._zstd.compress(data)]
        return [data]


class PartWriter:
    """Writes compressed blocks into the staged parts of one unit (opened and published through ``files``),
    starting a new part before one would pass ``limit``."""

    def __init__(self, files: UnitOutputs, staging: str, prefix: str, limit: int, compressor: BlockCompressor) -> None:
        self.files = files
        self.staging = staging
        self.prefix = prefix
        self.limit = limit
        self.compressor = compressor
        self.parts: List[PartRecord] = []
        self._writer: Optional[dio.AtomicWriter] = None
        self._size = 0
        self.counts: Dict[str, int] = {}

    def _open(self) -> None:
        # `.part` keeps AtomicWriter from compressing: the blocks are compressed already
        path = join(self.staging, f"{self.prefix}-p{len(self.parts):04d}{self.compressor.extension}.part")
        self._writer = self.files.open(path)
        self._size = 0
        self.counts = dict.fromkeys(COUNT_KEYS, 0)

    def _close(self) -> None:
        if self._writer is None:
            return
        if self._size == 0:  # a unit that kept nothing still publishes a valid (empty) shard
            for piece in self.compressor.compress(b""):
                self._writer.write(piece)
        entry = self.files.commit(self._writer.path)
        self.parts.append(PartRecord(entry.path, None, entry.bytes, entry.sha256, self.counts))
        self._writer = None

    def ensure_open(self) -> Dict[str, int]:
        """The counts of the part being written (opened if needed)."""
        if self._writer is None:
            self._open()
        return self.counts

    def write_lines(self, data: Union[bytes, bytearray, mmap.mmap]) -> None:
        """JSON lines go into blocks of about ``_MEMBER_BYTES`` (at least one line each, whole lines only); a
        block that does not fit starts a new part. Blocks are views of ``data``, not copies (a block can be one
        line of hundreds of MB)."""
        budget = min(_MEMBER_BYTES, max(self.limit // 2, 1))
        start, n = 0, len(data)
        while start < n:
            end = data.rfind(b"\n", start, start + budget) + 1 if start + budget < n else n
            if end <= start:  # one line longer than the budget
                end = data.find(b"\n", start) + 1
            self._write_block(data, start, end)
            start = end

    def _write_block(self, data: Union[bytes, bytearray, mmap.mmap], start: int, end: int) -> None:
        raw = memoryview(data)[start:end]
        compressed = self.compressor.compress(raw)
        size = sum(len(piece) for piece in compressed)
        lines = _count_lines(data, start, end)
        if size > self.limit and lines > 1:  # too big for any part: halve it
            cut = sum(len(x) for x in bytes(raw).splitlines(keepends=True)[: lines // 2])
            del compressed, raw
            self._write_block(data, start, start + cut)
            self._write_block(data, start + cut, end)
            return
        if self._writer is not None and self._size and self._size + size > self.limit:
            self._close()
        if self._writer is None:
            self._open()
        assert self._writer is not None
        for piece in compressed:
            self._writer.write(piece)
        self._size += size
        self.counts["documents_out"] += lines
        self.counts["bytes_out"] += end - start

    def finish(self) -> List[PartRecord]:
        """Publish the last part; the records of all of them."""
        self._close()
        return self.parts
