import gzip
import hashlib
import os
import pathlib
import shutil
import sys
import tempfile

import msgspec
import pytest

from dolma.core import io as dio
from dolma.core.errors import InputError
from dolma.core.records import BadLine, DocumentRecord, DocumentsReader, _count_newlines, _why
from tests.conftest import s3_keys, s3_put, write_bytes

PAYLOAD = b"".join(b'{"id": "%d", "text": "line %d \xc3\xa9"}\n' % (i, i) for i in range(20000))


@pytest.mark.parametrize("ext", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_atomic_writer_round_trip_and_checksum(tmp_path, ext):
    path = str(tmp_path / f"out/a{ext}")
    with dio.AtomicWriter(path) as w:
        w.write(PAYLOAD)
    assert os.listdir(tmp_path / "out") == [f"a{ext}"]  # no temporary file left
    assert dio.read_bytes(path) == PAYLOAD
    stored = open(path, "rb").read()
    assert w.sha256 == hashlib.sha256(stored).hexdigest() and w.bytes_written == len(stored)


@pytest.mark.parametrize("folder", ["disk", "tmpfs"])
def test_direct_writer_writes_any_size_past_the_page_cache(tmp_path, monkeypatch, folder):
    """``direct=True`` (the Bloom filter's file): the same bytes and checksum, whatever the pieces' sizes against the
    aligned buffer and blocks, and on a file system that refuses O_DIRECT (tmpfs) the ordinary way."""
    if folder == "tmpfs":
        if not os.path.isdir("/dev/shm"):
            pytest.skip("no /dev/shm")
        tmp_path = pathlib.Path(tempfile.mkdtemp(dir="/dev/shm"))
    monkeypatch.setattr(dio, "_DIRECT_BUFFER", 3 * 4096)  # many buffer flushes for a small payload
    data = os.urandom(5 * 4096 + 777)
    for size in (0, 1, 4096, 3 * 4096, len(data)):
        path = str(tmp_path / f"f{size}.bin")
        with dio.AtomicWriter(path, direct=True) as w:
            for a in range(0, size, 1000):  # pieces that straddle blocks and the buffer
                w.write(data[a : min(a + 1000, size)])
        assert open(path, "rb").read() == data[:size]
        assert w.sha256 == hashlib.sha256(data[:size]).hexdigest() and w.bytes_written == size
    with pytest.raises(RuntimeError):
        with dio.AtomicWriter(str(tmp_path / "gone.bin"), direct=True) as w:
            w.write(data)
            raise RuntimeError("boom")
    assert sorted(os.listdir(tmp_path)) == sorted(f"f{n}.bin" for n in (0, 1, 4096, 3 * 4096, len(data)))
    if folder == "tmpfs":
        shutil.rmtree(tmp_path)


def test_compressed_output_is_deterministic(tmp_path):
    a, b = str(tmp_path / "a.gz"), str(tmp_path / "b.gz")
    for p in (a, b):
        with dio.AtomicWriter(p) as w:
            w.write(PAYLOAD)
    assert open(a, "rb").read() == open(b, "rb").read()


def test_atomic_writer_failure_leaves_nothing(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    with pytest.raises(RuntimeError):
        with dio.AtomicWriter(str(path)) as w:
            w.write(PAYLOAD)
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_reader_hashes_stored_bytes(tmp_path):
    path = str(tmp_path / "a.jsonl.gz")
    write_bytes(path, PAYLOAD)
    reader = DocumentsReader(path, batch_bytes=4096)
    batches = list(reader)
    docs = [item for b in batches for item in b.items]
    assert len(docs) == 20000 and docs[0].id == "0" and docs[-1].text == "line 19999 é"
    assert [b.first_line for b in batches][:2] == [1, 1 + len(batches[0].items)]
    assert reader.sha256 == hashlib.sha256(open(path, "rb").read()).hexdigest()
    assert reader.stored_bytes == os.path.getsize(path)


@pytest.mark.parametrize("ext", [".jsonl.gz", ".jsonl.zst"])
def test_truncated_compressed_file_is_an_error_naming_file_and_line(tmp_path, ext):
    path = str(tmp_path / f"a{ext}")
    write_bytes(path, PAYLOAD)
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        for _ in DocumentsReader(path, batch_bytes=4096):
            pass
    assert err.value.path == path and err.value.line is not None and err.value.line > 1
    assert "truncated" in str(err.value)


def test_corrupt_gzip_is_an_error(tmp_path):
    path = str(tmp_path / "a.jsonl.gz")
    open(path, "wb").write(b"this is not gzip at all\n")
    with pytest.raises(InputError, match=r"a.jsonl.gz:1: corrupt or truncated file"):
        list(DocumentsReader(path))


def test_last_line_without_newline_and_long_lines(tmp_path):
    path = str(tmp_path / "a.jsonl")
    long_text = "x" * 100_000
    write_bytes(path, b'{"id": "1", "text": "%s"}\n{"id": "2", "text": "end"}' % long_text.encode())
    items = [i for b in DocumentsReader(path, batch_bytes=1024) for i in b.items]
    assert [i.id for i in items] == ["1", "2"] and items[0].text == long_text


def test_bad_lines_are_reported_with_numbers_and_reasons(tmp_path):
    path = str(tmp_path / "a.jsonl")
    lines = [
        b'{"id": "1", "text": "ok"}',
        b'{"id": "2", "text": "broken',
        b'{"id": 3, "text": "int id"}',
        b'{"text": "no id"}',
        b'{"id": "5"}',
        b'{"id": "6", "text": "bad \xff utf8"}',
        b"",
        b"[1, 2]",
        b'{"id": "9", "text": "ok", "extra": {"kept": true}}',
    ]
    write_bytes(path, b"\n".join(lines) + b"\n")
    items = [i for b in DocumentsReader(path) for i in b.items]
    assert len(items) == 9
    bad = {i.line: i.reason for i in items if isinstance(i, BadLine)}
    assert sorted(bad) == [2, 3, 4, 5, 6, 7, 8]
    assert bad[2].startswith("invalid JSON")
    assert "expected `str`, got `int`" in bad[3].lower() and "$.id" in bad[3]
    assert bad[4] == "missing required field `id`"
    assert bad[5] == "missing required field `text`"
    assert bad[6].startswith("invalid UTF-8")
    assert bad[7] == "empty line"
    assert bad[8].startswith("not a JSON object") or "object" in bad[8]
    assert items[8].id == "9"


def test_s3_write_read_and_abort(s3_prefix):
    path = f"{s3_prefix}/out/a.jsonl.gz"
    with dio.AtomicWriter(path) as w:
        w.write(PAYLOAD)
    assert dio.read_bytes(path) == PAYLOAD
    assert dio.exists(path) and dio.file_size(path) == w.bytes_written
    failed = f"{s3_prefix}/out/failed.jsonl.gz"
    with pytest.raises(RuntimeError):
        with dio.AtomicWriter(failed) as w:
            w.write(os.urandom(20 << 20))  # over one part: the multipart upload has started
            raise RuntimeError("boom")
    assert not dio.exists(failed)
    import boto3

    assert not boto3.client("s3").list_multipart_uploads(Bucket="corpus").get("Uploads")
    assert s3_keys(f"{s3_prefix}/out/") == [path.split("/", 3)[3]]


def test_s3_reader(s3_prefix):
    path = f"{s3_prefix}/documents/a.jsonl.gz"
    stored = gzip.compress(PAYLOAD)
    s3_put(path, stored)
    reader = DocumentsReader(path)
    assert sum(len(b.items) for b in reader) == 20000
    assert reader.sha256 == hashlib.sha256(stored).hexdigest() and reader.stored_bytes == len(stored)
    with pytest.raises(InputError, match="no such object"):
        list(DocumentsReader(f"{s3_prefix}/documents/missing.jsonl.gz"))


def test_stale_temps_of_one_file_leave_its_neighbours_alone(tmp_path):
    from dolma.core.io import remove_stale_temps_of

    mine = tmp_path / ".f-p0of2.bin.tmp-0123456789ab"
    neighbour = tmp_path / ".f-p1of2.bin.tmp-0123456789ab"  # another partition's filter, being written now
    for path in (mine, neighbour):
        path.write_bytes(b"x")
    assert remove_stale_temps_of([str(tmp_path / "f-p0of2.bin"), str(tmp_path / "missing/f.bin")]) == 1
    assert not mine.exists() and neighbour.exists()


@pytest.mark.parametrize(
    "raw,reason",
    [
        (b'{"id": "1", "text": "bad \xff utf8"}', "invalid UTF-8 (byte 25)"),
        (b'{"id": "1", "te\xc3xt": "ok"}', "invalid UTF-8 (byte 15)"),
        (b'{"id": "1", "text": "cut', "invalid JSON"),
        (b'"just a string"', "not a JSON object"),
        (b'{"text": "no id"}', "missing required field `id`"),
        (b'{"id": 7}', "wrong type"),
    ],
)
@pytest.mark.parametrize("decoder_error", [msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError])
def test_bad_line_reasons_come_from_the_bytes_not_the_decoders_exception(raw, reason, decoder_error):
    """Decoders move faults between exception classes across releases (msgspec 0.23 reports invalid UTF-8 as a
    JSON error): whatever the decoder raised, the reason is what is wrong with the bytes."""
    exc = decoder_error("utf-8", b"", 0, 1, "x") if decoder_error is UnicodeDecodeError else decoder_error("x")
    assert _why(exc, raw, DocumentRecord).startswith(reason)


def test_newlines_counted_by_numpy_leave_the_buffer_resizable(monkeypatch):
    import numpy

    monkeypatch.setitem(sys.modules, "numpy", numpy)
    block = bytearray(b'{"id": "1"}\n\n  \r\n{"id": "2"}\n' * 1000)
    assert _count_newlines(block) == block.count(b"\n") == 4000
    del block[10:]  # no numpy view of it is left
    monkeypatch.delitem(sys.modules, "numpy")  # a process without numpy counts the plain way
    assert _count_newlines(b"a\nb\n") == 2
