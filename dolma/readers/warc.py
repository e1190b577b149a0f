"""WARC and ARC files → documents: one work unit per archive, read as a stream (constant memory).

The archive framing is parsed here rather than with fastwarc: fastwarc stops with ``OSError: Invalid WARC
header`` at the first malformed record and cannot resume, while a crawl archive must survive one bad record.
Our parser re-synchronises on the next ``WARC/`` version line, counts what it skipped as ``broken`` and goes on.
Parsing costs a few microseconds per record; the HTML extractor (resiliparse, or trafilatura) dominates.

Counts per unit: ``records`` (everything read), ``records_other_type`` (warcinfo, request, metadata, revisit
...), and over the ``documents_in`` (response and resource records, and broken ones):
``documents_out + non_html + empty + broken = documents_in``.
"""

from __future__ import annotations

import io
import logging
import re
import zlib
from dataclasses import dataclass
from typing import IO, Any, Dict, Iterator, List, Optional, Tuple, Union

from dolma.core import io as dio
try:  # isal's zlib is a drop-in replacement, several times faster at inflating
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover
    _zlib = zlib  # type: ignore[no-redef]
from dolma.core.manifest import FileEntry
from dolma.readers.mapping import derived_id
from dolma.readers.sources import Batch

__all__ = ["WarcRecord", "Broken", "iter_records", "WarcExtractor", "archive_stem"]

log = logging.getLogger("dolma")

_MAX_HEADER_LINES = 512
_BATCH_DOCS = 256
_CHARSET = re.compile(rb"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_ARCHIVE_EXTS = (".warc.gz", ".warc.zst", ".warc", ".arc.gz", ".arc", ".gz", ".zst")
_READ_ERRORS = (EOFError, OSError, zlib.error, ValueError)


def archive_stem(rel: str) -> str:
    low = rel.lower()
    for ext in _ARCHIVE_EXTS:
        if low.endswith(ext):
            return rel[: len(rel) - len(ext)]
    return rel


@dataclass
class WarcRecord:
    offset: int  # of its first byte, in the decompressed archive
    headers: Dict[str, str]  # names lower-cased
    block: bytes
    arc: bool = False  # an ARC record: ``headers`` holds url, date and content-type from its header line


@dataclass
class Broken:
    offset: int
    reason: str


class _TolerantGzip(dio.FramedReader):
    """Multi-member gzip decompression that, on a truncated or corrupt member, hands out everything decoded
    before it and then ends, recording why in ``error`` (a buffered gzip reader would lose that data)."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__(raw, lambda: _zlib.decompressobj(31), "gzip member")
        self.error: Optional[str] = None

    def truncated(self) -> None:
        self.error = "the compressed file ends inside a gzip member"

    def readinto(self, buffer: Any) -> int:
        if self.error is not None and not self._pending:
            return 0
        try:
            return super().readinto(buffer)
        except _zlib.error as exc:
            self.error = f"corrupt gzip data: {exc}"
            return 0


def _open_archive(path: str, raw: IO[bytes]) -> Tuple[IO[bytes], Optional[_TolerantGzip]]:
    if dio.compression_of(path) == "gzip":
        tolerant = _TolerantGzip(raw)
        return io.BufferedReader(tolerant, 1 << 20), tolerant
    return dio.open_read(path, raw=raw), None


class _Lines:
    """readline/read over a decompressed stream, tracking the offset and allowing one line of push-back."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.offset = 0
        self._back: Optional[bytes] = None

    def readline(self) -> bytes:
        if self._back is not None:
            line, self._back = self._back, None
        else:
            line = self._stream.readline()
        self.offset += len(line)
        return line

    def unread(self, line: bytes) -> None:
        self._back = line
        self.offset -= len(line)

    def read(self, n: int) -> bytes:
        data = self._stream.read(n)
        self.offset += len(data)
        return data


def iter_records(stream: IO[bytes]) -> Iterator[Union[WarcRecord, Broken]]:
    """Records of a WARC or ARC stream; malformed ones come back as :class:`Broken` and reading goes on at the
    next record. A stream that ends inside a record ends with a ``Broken`` for it."""
    lines = _Lines(stream)
    while True:
        line = lines.readline()
        if not line:
            return
        if not line.strip():
            continue
        start = lines.offset - len(line)
        if line.startswith(b"WARC/"):
            item = _warc_record(lines, start)
        elif line.startswith(b"filedesc://") or b"://" in line.split(b" ", 1)[0]:
            item = _arc_record(lines, line, start)
        else:
            item = Broken(start, "expected a WARC/ version line or an ARC header line")
        yield item
        if isinstance(item, Broken):
            if item.reason.startswith("truncated"):
                return
            _resync(lines)


def _resync(lines: _Lines) -> None:
    while True:
        line = lines.readline()
        if not line:
            return
        if line.startswith(b"WARC/"):
            lines.unread(line)
            return


def _warc_record(lines: _Lines, start: int) -> Union[WarcRecord, Broken]:
    headers: Dict[str, str] = {}
    last = ""
    for _ in range(_MAX_HEADER_LINES):
        line = lines.readline()
        if not line:
            return Broken(start, "truncated: the archive ends inside a record header")
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t") and last:
            headers[last] += " " + line.strip().decode("utf-8", "replace")
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            return Broken(start, f"malformed header line {line[:80]!r}")
        last = name.strip().decode("utf-8", "replace").lower()
        headers[last] = value.strip().decode("utf-8", "replace")
    else:
        return Broken(start, f"more than {_MAX_HEADER_LINES} header lines")
    length = headers.get("content-length", "")
    if not length.isdigit():
        return Broken(start, f"bad Content-Length {length!r}")
    block = lines.read(int(length))
    if len(block) < int(length):
        return Broken(start, f"truncated: {len(block)} of {length} content bytes")
    return WarcRecord(start, headers, block)


def _arc_record(lines: _Lines, line: bytes, start: int) -> Union[WarcRecord, Broken]:
    fields = line.strip().split(b" ")
    if len(fields) < 5 or not fields[-1].isdigit():
        return Broken(start, f"malformed ARC header line {line[:80]!r}")
    length = int(fields[-1])
    block = lines.read(length)
    if len(block) < length:
        return Broken(start, f"truncated: {len(block)} of {length} content bytes")
    url = fields[0].decode("utf-8", "replace")
    if url.startswith("filedesc://"):
        return WarcRecord(start, {"warc-type": "warcinfo"}, block, arc=True)
    date = fields[2].decode("ascii", "replace")
    if len(date) == 14 and date.isdigit():
        date = f"{date[:4]}-{date[4:6]}-{date[6:8]}T{date[8:10]}:{date[10:12]}:{date[12:14]}Z"
    headers = {"warc-type": "response", "warc-target-uri": url, "warc-date": date, "content-type": "application/http"}
    return WarcRecord(start, headers, block, arc=True)


@dataclass
class _Payload:
    content_type: str  # the MIME type, lower case, without parameters
    charset: Optional[str]
    body: bytes


def _http_payload(block: bytes) -> Union[_Payload, str]:
    """The body of an HTTP response block, de-chunked and decompressed; a reason string when it is malformed."""
    cut = block.find(b"\r\n\r\n")
    sep = 4
    if cut < 0:
        cut, sep = block.find(b"\n\n"), 2
    if cut < 0:
        return "HTTP headers without an end"
    head = block[:cut].split(b"\n")
    if not head[0].startswith(b"HTTP/"):
        return f"not an HTTP response: {head[0][:60]!r}"
    headers: Dict[bytes, bytes] = {}
    for line in head[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    body = block[cut + sep :]
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        dechunked = _dechunk(body)
        if dechunked is None:
            return "bad chunked transfer encoding"
        body = dechunked
    encoding = headers.get(b"content-encoding", b"").lower()
    if encoding in (b"gzip", b"x-gzip", b"deflate"):
        try:
            body = zlib.decompress(body, 47 if encoding != b"deflate" else 15)
        except zlib.error as exc:
            return f"bad {encoding.decode()} content encoding: {exc}"
    elif encoding not in (b"", b"identity"):
        return f"unsupported content encoding {encoding.decode('ascii', 'replace')!r}"
    return _payload_of(headers.get(b"content-type", b""), body)


def _payload_of(content_type: bytes, body: bytes) -> _Payload:
    mime = content_type.split(b";", 1)[0].strip().lower().decode("ascii", "replace")
    m = _CHARSET.search(content_type)
    return _Payload(mime, m.group(1).decode("ascii") if m else None, body)


def _dechunk(body: bytes) -> Optional[bytes]:
    out: List[bytes] = []
    pos = 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            size = int(body[pos:eol].split(b";", 1)[0], 16)
        except ValueError:
            return None
        if size == 0:
            return b"".join(out)
        out.append(body[eol + 2 : eol + 2 + size])
        pos = eol + 2 + size + 2


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith(b"<!doctype html") or head.startswith(b"<html") or b"<html" in head


class WarcExtractor:
    """Turns one archive into batches of documents (see the module docstring for the counts)."""

    def __init__(
        self, source_name: str, linearize: Any, html_types: List[str], store_html: bool
    ) -> None:
        self.source_name = source_name
        self.linearize = linearize
        self.html_types = set(t.lower() for t in html_types)
        self.store_html = store_html

    def read(self, path: str, inputs: List[FileEntry]) -> Iterator[Batch]:
        hashing = dio.HashingReader(dio.open_raw(path))
        dropped: Dict[str, int] = {}
        other: Dict[str, int] = {}
        docs: List[Dict[str, Any]] = []
        nbytes = 0
        first_broken: Optional[Broken] = None
        last: Any = None
        stream, tolerant = _open_archive(path, hashing)  # type: ignore[arg-type]
        with stream:
            records = iter_records(stream)
            while True:
                try:
                    item = next(records, None)
                except _READ_ERRORS as exc:  # a corrupt or truncated compressed stream: stop here, never fail
                    item = Broken(-1, f"truncated or corrupt compressed data: {exc}")
                    records = iter(())
                if item is None:
                    if tolerant is not None and tolerant.error and not (isinstance(last, Broken) and last.reason.startswith("truncated")):
                        item = Broken(-1, tolerant.error)  # the damage hid no record we could see: count it once
                        tolerant.error = None
                    else:
                        break
                last = item
                other["records"] = other.get("records", 0) + 1
                outcome = self._document(path, item)
                if isinstance(outcome, dict):
                    docs.append(outcome)
                    nbytes += len(outcome["text"])
                elif outcome == "records_other_type":
                    other[outcome] = other.get(outcome, 0) + 1
                else:
                    dropped[outcome] = dropped.get(outcome, 0) + 1
                if isinstance(item, Broken) and first_broken is None:
                    first_broken = item
                if len(docs) >= _BATCH_DOCS:
                    yield Batch(docs, [], nbytes, _drain(dropped), _drain(other))
                    docs, nbytes = [], 0
            while hashing.read(1 << 20):  # hash what a broken archive left unread, for the manifest
                pass
        if first_broken is not None:
            where = f"offset {first_broken.offset}" if first_broken.offset >= 0 else "the end"
            log.warning("%s: broken record(s) skipped, the first at %s: %s", path, where, first_broken.reason)
        yield Batch(docs, [], nbytes, _drain(dropped), _drain(other))
        inputs.append(FileEntry(path, hashing.bytes_read, hashing.sha256.hexdigest()))

    def _document(self, path: str, item: Union[WarcRecord, Broken]) -> Union[Dict[str, Any], str]:
        """A document, or the count its record falls under."""
        if isinstance(item, Broken):
            return "broken"
        h = item.headers
        kind = h.get("warc-type", "").lower()
        if kind not in ("response", "resource"):
            return "records_other_type"
        # WARC 1.0 writes both as `<...>` (and some writers the URI too): the brackets are syntax, not part of them
        record_id = _unbracket(h.get("warc-record-id", ""))
        url = _unbracket(h.get("warc-target-uri", ""))
        if (not record_id and not item.arc) or not url:
            return "broken"
        if kind == "response":
            payload = _http_payload(item.block)
            if isinstance(payload, str):
                return "broken"
        else:
            payload = _payload_of(h.get("content-type", "").encode("latin-1", "replace"), item.block)
        if not payload.body.strip():
            return "empty"
        is_html = payload.content_type in self.html_types or (not payload.content_type and _looks_like_html(payload.body))
        if not is_html:
            return "non_html"
        try:
            text = self.linearize(payload.body, payload.charset)
        except Exception:  # the extractor failing on one page is that page's problem
            log.debug("%s: offset %d: HTML extraction failed", path, item.offset, exc_info=True)
            return "broken"
        if not text.strip():
            return "empty"
        if not record_id:  # ARC records have no id: derive one from the archive offset
            record_id = derived_id(self.source_name, path.rsplit("/", 1)[-1], item.offset)
        doc_id = record_id[9:] if record_id.startswith("urn:uuid:") else record_id
        date = h.get("warc-date")
        metadata: Dict[str, Any] = {
            "url": url,
            "warc_date": date,
            "warc_record_id": record_id,
            "content_type": payload.content_type,
        }
        if self.store_html:
            metadata["html"] = _decode(payload.body, payload.charset)
        metadata["origin"] = {"file": path, "offset": item.offset}
        doc: Dict[str, Any] = {"id": doc_id, "text": text, "source": self.source_name}
        if date:
            doc["created"] = date
        doc["metadata"] = metadata
        return doc


def _unbracket(value: str) -> str:
    """A WARC header value without the angle brackets around it: ``<https://a/>`` → ``https://a/``."""
    value = value.strip()
    return value[1:-1].strip() if len(value) >= 2 and value[0] == "<" and value[-1] == ">" else value


def _decode(body: bytes, charset: Optional[str]) -> str:
    try:
        return body.decode(charset or "utf-8", "replace")
    except LookupError:  # an unknown charset name
        return body.decode("utf-8", "replace")


def _drain(counts: Dict[str, int]) -> Dict[str, int]:
    out = dict(counts)
    counts.clear()
    return out
