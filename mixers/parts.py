"""A mix unit's staged output: parts made of independently compressed blocks, and the record that lists them.

A unit writes its JSON lines as blocks (gzip members, zstd frames or plain bytes) of about 1 MiB into parts
``<prefix>-pNNNN<extension>.part``, starting a new part before one would pass ``max_size_in_bytes``; since every
block stands alone, parts joined by plain byte concatenation are a valid file. Each part is published through the
unit's :class:`~dolma.core.outputs.UnitOutputs` as soon as it is full, and described by a :class:`PartRecord`.

A block is whole lines of at most about 1 MiB, or one longer line. A line longer than 1 MiB is compressed as one
member (frame) per MiB of it, so that a long document's line is compressed as it is produced, never held whole
(:class:`~dolma.mixers.lines.LongLine`): neither isal nor zstd compress a stream fed in pieces to the bytes they
give for the same data in one call, but a member per fixed MiB is the same whichever way the line comes.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Iterator, List, Optional

import msgspec

from dolma.core import io as dio
from dolma.core.manifest import FileEntry
from dolma.core.outputs import UnitOutputs
from dolma.core.paths import join
from dolma.mixers.lines import LongLine

__all__ = ["PartRecord", "UnitRecord", "write_record", "BlockCompressor", "PartWriter", "COUNT_KEYS", "block_budget"]

_MEMBER_BYTES = 1 << 20  # uncompressed bytes per compressed block (per member of a longer line)
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


def block_budget(limit: int) -> int:
    """The bytes of lines a block holds at most (a part of at most ``limit`` bytes takes two at least): a line
    longer than this is a block alone."""
    return min(_MEMBER_BYTES, max(limit // 2, 1))


def _compressed_bound(size: int) -> int:
    """More than the compressed size of ``size`` bytes of a line, members and their headers included (deflate and
    zstd store what they cannot shrink, a few bytes per 64 KiB; a Huffman code spends at most 9 bits a byte)."""
    return size + size // 4 + 1024 * (size // _MEMBER_BYTES + 2)


def _slices(pieces: Iterable[Any], size: int) -> Iterator[Any]:
    """The bytes of ``pieces`` (bytes-like) cut into consecutive slices of ``size`` bytes, the last one shorter:
    views of a piece where a slice lies within it, else joined."""
    held = bytearray()
    for piece in pieces:
        view = memoryview(piece).cast("B")
        at = 0
        if held:
            at = min(size - len(held), len(view))
            held += view[:at]
            if len(held) < size:
                continue
            yield held
            held = bytearray()
        while len(view) - at >= size:
            yield view[at : at + size]
            at += size
        held += view[at:]
        del view
    if held:
        yield held


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

    def members(self, pieces: Iterable[Any]) -> Iterator[List[bytes]]:
        """The blocks of one line (given as bytes-like pieces): one per ``_MEMBER_BYTES`` of it, compressed."""
        for data in _slices(pieces, _MEMBER_BYTES):
            yield self.compress(data)

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

    def write_lines(self, data: bytes) -> None:
        """JSON lines go into blocks of about ``_MEMBER_BYTES`` (at least one line each, whole lines only); a
        block that does not fit starts a new part. Blocks are views of ``data``, not copies."""
        budget = block_budget(self.limit)
        start, n = 0, len(data)
        while start < n:
            end = data.rfind(b"\n", start, start + budget) + 1 if start + budget < n else n
            if end <= start:  # one line longer than the budget
                end = data.find(b"\n", start) + 1
            self._write_block(data, start, end)
            start = end

    def write_line(self, line: LongLine) -> None:
        """One line longer than a block's budget, as :meth:`write_lines` writes it, compressed as it is produced:
        where it may not fit in the part begun, it is measured, and compressed once first to know its size."""
        if self._writer is not None and self._size and self._size + _compressed_bound(line.size) > self.limit:
            compressed = sum(len(piece) for member in self.compressor.members(line.pieces(last=False)) for piece in member)
            if self._size + compressed > self.limit:
                self._close()
        if self._writer is None:
            self._open()
        assert self._writer is not None
        size = 0

        def counted(pieces: Iterator[Any]) -> Iterator[Any]:
            nonlocal size
            for piece in pieces:
                size += len(piece)
                yield piece

        for member in self.compressor.members(counted(line.pieces(last=True))):
            for piece in member:
                self._writer.write(piece)
                self._size += len(piece)
        self.counts["documents_out"] += 1
        self.counts["bytes_out"] += size

    def _write_block(self, data: bytes, start: int, end: int) -> None:
        raw = memoryview(data)[start:end]
        if len(raw) > _MEMBER_BYTES:  # one long line: a member per MiB of it
            compressed = [piece for member in self.compressor.members([raw]) for piece in member]
        else:
            compressed = self.compressor.compress(raw)
        size = sum(len(piece) for piece in compressed)
        lines = data.count(b"\n", start, end)
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
