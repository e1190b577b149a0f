"""Document and attribute records (Dolma's JSON lines) and batched, validated reading of documents files.

Only ``id`` and ``text`` are required in a document; other fields are typed loosely so real-world files with
odd metadata still load. Stages that rewrite documents decode them as plain dicts so fields they do not know
pass through untouched.
"""

from __future__ import annotations

import re
import sys
import zlib
from dataclasses import dataclass
from typing import IO, Any, Dict, Iterator, List, Optional, Tuple, Union

import msgspec

from dolma.core import io as dio
from dolma.core.errors import InputError
from dolma.core.longlines import decode_long_line, map_large_blocks, release_free_memory
from dolma.core.manifest import MANIFEST_SUFFIX

__all__ = [
    "DocumentRecord",
    "AttributesRecord",
    "BadLine",
    "LineBatch",
    "DocumentsReader",
    "encode_lines",
    "QUARANTINE_SUFFIX",
    "QuarantineLine",
    "quarantine_lines",
    "is_side_file",
]

# bad lines a unit skipped (`on_error: skip`) go to `<output><QUARANTINE_SUFFIX>`
QUARANTINE_SUFFIX = ".quarantine.jsonl.gz"


class DocumentRecord(msgspec.Struct, omit_defaults=True):
    id: str
    text: str
    source: Any = None
    version: Any = None
    added: Any = None
    created: Any = None
    metadata: Any = None


class AttributesRecord(msgspec.Struct):
    id: str
    attributes: Dict[str, Any]


@dataclass(frozen=True)
class BadLine:
    """A line that could not be read as a document: where, why, and its bytes (for the quarantine file)."""

    line: int
    raw: bytes
    reason: str
    oversized: bool = False  # over max_document_bytes: quarantined whatever on_error says; raw is its first KiB
    size: int = 0  # an oversized line's length with its newline (the others: len(raw) + 1)

    @property
    def recovered_id(self) -> Optional[str]:
        """The line's ``id`` when it is a JSON object with a string id despite being bad otherwise (for an
        oversized line, when its first KiB holds a string ``id`` key)."""
        if self.oversized:
            m = _ID_KEY.search(self.raw)
            if m is None:
                return None
            try:
                return msgspec.json.decode(m.group(1))
            except msgspec.DecodeError:
                return None
        try:
            obj = msgspec.json.decode(self.raw)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None
        value = obj.get("id") if isinstance(obj, dict) else None
        return value if isinstance(value, str) else None


@dataclass
class LineBatch:
    """Consecutive lines of one file, starting at 1-based line ``first_line``."""

    first_line: int
    items: List[Union[DocumentRecord, BadLine]]
    nbytes: int  # decompressed bytes of these lines


class QuarantineLine(msgspec.Struct):
    """One quarantined line: where it was, why it was refused, and its text (invalid UTF-8 replaced)."""

    file: str
    line: Optional[int]
    reason: str
    raw: str


def quarantine_lines(path: str, bad: List[BadLine]) -> bytes:
    """The quarantine file's lines for ``bad`` lines of ``path``."""
    return encode_lines([QuarantineLine(path, b.line, b.reason, b.raw.decode("utf-8", "replace")) for b in bad])


def is_side_file(path: str) -> bool:
    """A stage's own manifest or quarantine file, never an input even when it sits among inputs."""
    return path.endswith((MANIFEST_SUFFIX, QUARANTINE_SUFFIX))


def encode_lines(objects: List[Any], encoder: msgspec.json.Encoder = msgspec.json.Encoder()) -> bytes:
    """JSON lines, each ending in a newline."""
    return encoder.encode_lines(objects)


_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError)
_STREAM_ERRORS = (EOFError, OSError, zlib.error, ValueError)
_PIECE_BYTES = 1 << 20  # decompressed bytes read at a time (at most): a compressed file's pieces of 64 KiB decompress to less, so a whole one is taken without a copy
_OVERSIZED_PREFIX = 1024  # what an oversized line's BadLine (and its quarantine line) keeps of it
_COUNT_BYTES = 1 << 22  # bytes whose newlines are counted at a time
LONG_LINE_BYTES = 16 << 20  # a line longer than this has its text decoded in pieces (see dolma.core.longlines)
TEXT_PIECE_BYTES = 1 << 20  # the JSON of a long line's text decoded at a time
_ID_KEY = re.compile(rb'[{,]\s*"id"\s*:\s*("(?:[^"\\]|\\.){0,512}")')  # a top-level-looking string id in a line's first KiB


def _stream_errors() -> Tuple[type, ...]:
    """What a broken compressed stream raises: our list, and zstandard's error once zstandard is loaded."""
    zstd = sys.modules.get("zstandard")
    return _STREAM_ERRORS + ((zstd.ZstdError,) if zstd is not None else ())


def _invalid_utf8_at(raw: bytes) -> Optional[int]:
    """Offset of the first byte of ``raw`` that is not valid UTF-8, or ``None`` when all of it is."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def _why(exc: Exception, raw: bytes, record_type: Any) -> str:
    """Why ``raw`` could not be decoded as ``record_type``. The kind of fault is found from the bytes by our own
    checks (UTF-8, then JSON syntax, then shape and required fields), never from the decoder's exception class or
    message: decoders move faults between classes from release to release (msgspec 0.23 reports invalid UTF-8 as
    a JSON error), and the reasons we print must not change with them. Only the detail after the reason (where
    the JSON broke, which type was expected) is the decoder's own text."""
    bad_byte = _invalid_utf8_at(raw)
    if bad_byte is not None:
        return f"invalid UTF-8 (byte {bad_byte})"
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as syntax:
        return f"invalid JSON: {syntax}"
    if isinstance(record_type, type) and issubclass(record_type, msgspec.Struct):
        if not isinstance(value, dict):
            return f"not a JSON object: found {type(value).__name__}"
        fields = {field.encode_name: field for field in msgspec.structs.fields(record_type)}
        for name, item in value.items():  # a wrong type is reported before a missing field, as decoders do
            if name in fields and not _converts(item, fields[name].type):
                return f"wrong type: {exc}"
        for name, field in fields.items():
            if field.required and name not in value:
                return f"missing required field `{name}`"
    return f"wrong type: {exc}"


def _count_newlines(block: Union[bytes, bytearray]) -> int:
    """``block.count(b"\\n")``, by numpy where the process has imported it already (0.5 against 1.7 ms per 4 MB
    batch: 0.04 CPU-s of a 143 MB dedupe run); a stage without numpy does not import it for this."""
    np = sys.modules.get("numpy")
    if np is None:
        return block.count(b"\n")
    # the arrays are temporaries of at most a batch each (a long line's block whole would be one more copy of it):
    # the bytearray is free to be resized again once this returns
    view = np.frombuffer(block, dtype=np.uint8)
    return sum(int(np.count_nonzero(view[at : at + _COUNT_BYTES] == 10)) for at in range(0, len(view), _COUNT_BYTES))


def _converts(value: Any, type_: Any) -> bool:
    try:
        msgspec.convert(value, type_)
    except msgspec.ValidationError:
        return False
    return True


class DocumentsReader:
    """Reads a documents file in batches of about ``batch_bytes`` decompressed bytes.

    The fast path decodes a whole chunk of lines in one msgspec call; when that fails (or blank lines break
    the line count) the chunk is decoded line by line so each bad line is reported with its number. A
    truncated or corrupt compressed file raises :class:`InputError` at the line where it broke off.
    After the file is read, ``sha256``/``stored_bytes`` describe its stored (compressed) bytes.
    A line longer than ``max_document_bytes`` (when given) comes back as an ``oversized`` :class:`BadLine` holding
    only its first KiB: it is never decoded, and never held whole. A line longer than ``long_line_bytes`` (when given)
    is decoded with its text ``piece_bytes`` of JSON at a time and its bytes released before the text is joined
    (:func:`~dolma.core.longlines.decode_long_line`): the same record in about two times its size, not three.
    """

    long_line_bytes: Optional[int] = LONG_LINE_BYTES  # class attributes, so a test can make every line long
    piece_bytes: int = TEXT_PIECE_BYTES

    def __init__(
        self,
        path: str,
        batch_bytes: int = 1 << 22,
        record_type: Any = DocumentRecord,
        max_document_bytes: Optional[int] = None,
    ) -> None:
        self.path = path
        self.batch_bytes = batch_bytes
        self.max_document_bytes = max_document_bytes
        self._record_type = record_type
        self._decoder = msgspec.json.Decoder(record_type)
        self._hashing: Optional[dio.HashingReader] = None

    @property
    def sha256(self) -> str:
        assert self._hashing is not None, "read the file first"
        return self._hashing.sha256.hexdigest()

    @property
    def stored_bytes(self) -> int:
        assert self._hashing is not None, "read the file first"
        return self._hashing.bytes_read

    def __iter__(self) -> Iterator[LineBatch]:
        self._hashing = dio.HashingReader(dio.open_raw(self.path))
        with dio.open_read(self.path, raw=self._hashing, buffered=False) as stream:  # type: ignore[arg-type]
            yield from self._batches(stream)

    def _batches(self, stream: IO[bytes]) -> Iterator[LineBatch]:
        """Batches of whole lines. The stream is read in small pieces, so that when a compressed file turns out
        truncated or corrupt, every line before the break is still decoded and handed on, and the error names the
        first line that could not be read and how many were. A line longer than ``max_document_bytes`` is never
        held whole: once its unfinished part passes the limit, the rest of it is read past (see ``_skip_line``)."""
        next_line = 1
        # the bytes read and not yet handed on: whole lines, then the unfinished last one. One growing buffer (a
        # very long line is reallocated in place, not re-joined), so a line's bytes are held once
        buf = bytearray()
        limit = self.max_document_bytes
        broken: Optional[BaseException] = None
        trim_at = self.batch_bytes
        # read1: at most one read of the decompressor per call, so an error never takes bytes already decompressed
        read = getattr(stream, "read1", stream.read)
        while broken is None:
            start = len(buf)
            while len(buf) - start < self.batch_bytes:
                try:
                    piece = read(min(_PIECE_BYTES, self.batch_bytes - (len(buf) - start)))
                except _stream_errors() as exc:
                    broken = exc
                    break
                if not piece:
                    break
                buf += piece
            if len(buf) == start and broken is None:
                break
            cut = buf.rfind(b"\n", start) + 1
            if not cut:  # still inside one line
                map_large_blocks()  # a line longer than a batch: let its buffer grow without copies
                if len(buf) >= trim_at:  # where it could not, the copies it left: back to the system
                    release_free_memory()
                    trim_at = len(buf) + len(buf) // 4
                if limit is not None and len(buf) > limit and broken is None:
                    bad, rest, broken = self._skip_line(read, buf, next_line)
                    next_line += 1
                    yield LineBatch(bad.line, [bad], bad.size)
                    cut = rest.rfind(b"\n") + 1  # whole lines read past the long one's newline
                    if cut:
                        batch = self._decode(rest[:cut], next_line)
                        next_line += len(batch.items)
                        yield batch
                    buf = bytearray(rest[cut:])
                continue
            tail = buf[cut:]
            del buf[cut:]
            batch = self._decode(buf, next_line)
            buf = tail  # a very long line: its bytes go before the stage holds its text
            next_line += len(batch.items)
            yield batch
        if broken is not None:
            read = next_line - 1
            raise InputError(
                self.path, next_line,
                f"corrupt or truncated file: {read:,} line(s) read, this one could not be "
                f"({type(broken).__name__}: {broken})",
            ) from broken
        if buf:  # a last line without a trailing newline
            buf += b"\n"
            yield self._decode(buf, next_line)

    def _skip_line(self, read: Any, head: bytearray, line: int) -> Tuple[BadLine, bytes, Optional[BaseException]]:
        """Read past the rest of a line that has grown over ``max_document_bytes`` (``head``: what was read of it):
        its :class:`BadLine` (holding only its first bytes), what follows its newline, and the stream's error if it
        broke first."""
        prefix = bytes(head[:_OVERSIZED_PREFIX])
        size = len(head)
        head.clear()
        rest = b""
        broken: Optional[BaseException] = None
        while True:
            try:
                piece = read(_PIECE_BYTES)
            except _stream_errors() as exc:
                broken = exc
                break
            if not piece:
                break
            nl = piece.find(b"\n")
            if nl >= 0:
                size += nl
                rest = piece[nl + 1 :]
                break
            size += len(piece)
        reason = f"document of {size:,} bytes is over max_document_bytes ({self.max_document_bytes:,}): not read"
        return BadLine(line, prefix, reason, oversized=True, size=size + 1), rest, broken

    def _decode(self, block: Union[bytes, bytearray], first_line: int) -> LineBatch:
        """The records of ``block``'s lines (a bytearray may be emptied: its first line's memory can go early)."""
        limit = self.max_document_bytes
        long_line = self.long_line_bytes
        if long_line is not None and isinstance(block, bytearray) and len(block) > long_line:
            # only a block's first line can be much longer than a batch (a long line always starts a block)
            end = block.find(b"\n") + 1
            if end - 1 > long_line and (limit is None or end - 1 <= limit):
                return self._decode_long(block, end, first_line)
        return self._decode_lines(block, first_line)

    def _decode_lines(self, block: Union[bytes, bytearray], first_line: int) -> LineBatch:
        n_lines = _count_newlines(block)
        limit = self.max_document_bytes
        # a line over the limit can only be here when the block is (it ended within the piece that crossed it)
        if limit is None or len(block) <= limit:
            try:
                items: List[Any] = self._decoder.decode_lines(block)
                if len(items) == n_lines:
                    return LineBatch(first_line, items, len(block))
            except _DECODE_ERRORS:
                pass
        items = []
        for offset, piece in enumerate(block.split(b"\n")[:n_lines]):
            raw = bytes(piece)
            if limit is not None and len(raw) > limit:
                reason = f"document of {len(raw):,} bytes is over max_document_bytes ({limit:,}): not read"
                items.append(BadLine(first_line + offset, raw[:_OVERSIZED_PREFIX], reason, oversized=True, size=len(raw) + 1))
                continue
            if not raw.strip():
                items.append(BadLine(first_line + offset, raw, "empty line"))
                continue
            try:
                items.append(self._decoder.decode(raw))
            except _DECODE_ERRORS as exc:
                items.append(BadLine(first_line + offset, raw, _why(exc, raw, self._record_type)))
        return LineBatch(first_line, items, len(block))

    def _decode_long(self, block: bytearray, end: int, first_line: int) -> LineBatch:
        """``block``, whose first line (``end`` bytes with its newline) is long: that line decoded in pieces (or
        whole, when it does not decode that way), then the lines after it."""
        nbytes = len(block)
        rest = bytes(block[end:])
        del block[end:]
        release_free_memory()  # what growing the line's buffer left behind on the heap
        record = decode_long_line(block, self._record_type, self.piece_bytes)
        items = self._decode_lines(block, first_line).items if record is None else [record]
        if rest:
            items += self._decode_lines(rest, first_line + 1).items
        return LineBatch(first_line, items, nbytes)
