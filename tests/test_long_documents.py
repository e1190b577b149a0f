"""Very long documents take low-memory paths (the reader decodes a long line's text in pieces); each must give
exactly what the plain path gives. The paths are switched on with tiny sizes here, so ordinary test documents
take them."""

from __future__ import annotations

import gzip
import json
import random
from typing import Any, Dict, List

import msgspec
import pytest

from dolma.core.longlines import cut_points, decode_long_line
from dolma.core.records import BadLine, DocumentRecord, DocumentsReader

_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyz ABCXYZ 0123456789 \n\t\r \"\\/'<>&.,;:!?-_ "
    "éàüßçñ ÆØÅ ½ ¼ ã õ €™ 中文字符 日本語 한국어 العربية עברית 😀🎉👍🏽 \u2028\u2029 \x00\x01\x1f\x7f"
)


def _text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(n))


def _line(rng: random.Random, i: int) -> str:
    doc: Dict[str, Any] = {"id": f"d{i}", "text": _text(rng, rng.randint(0, 300))}
    extras = [("source", "s"), ("metadata", {"a": [1, 2.5, None, True], "t": _text(rng, 20)}), ("added", "2024"),
              ("n", 10**30), ("f", -1.5e-7)]
    for key, value in rng.sample(extras, rng.randint(0, len(extras))):
        doc[key] = value
    items = list(doc.items())
    rng.shuffle(items)
    return json.dumps(dict(items), ensure_ascii=rng.random() < 0.5)


_BAD = [
    b'{"id": "b1", "text": "caf\xc3"}',  # invalid UTF-8 in the text
    b'{"id": 7, "text": "' + b"x" * 200 + b'"}',  # wrong id type
    b'{"id": "b3", "text": "' + b"y" * 200,  # cut short
    b'{"id": "b4", "text": "bad escape \\q ' + b"z" * 200 + b'"}',
    b'{"id": "b5", "text": "lone \\ud800 surrogate ' + b"w" * 200 + b'"}',
    b'{"id": "b6", "text": "x", "big": [' + b"1," * 200 + b'1]}',  # the largest value is not a string
    b'["not", "an", "object", "' + b"v" * 200 + b'"]',
    b'{"id": "b8", "text": ' + b"123456789" * 30 + b'}',
    b'{"text": "no id ' + b"u" * 200 + b'"}',
]


def _write(path: Any, lines: List[bytes]) -> str:
    with gzip.open(path, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    return str(path)


def _read(path: str, record_type: Any, **kw: Any) -> List[Any]:
    out: List[Any] = []
    for batch in DocumentsReader(path, record_type=record_type, batch_bytes=kw.pop("batch_bytes", 1 << 22), **kw):
        for item in batch.items:
            out.append((batch.first_line, batch.nbytes, item) if isinstance(item, BadLine) else item)
    return out


class _Doc(msgspec.Struct):  # the tokens stage's record
    text: str
    id: Any


@pytest.mark.parametrize("record_type", [DocumentRecord, Any, Dict[str, Any], _Doc])
def test_long_lines_decode_to_the_same_records(tmp_path, record_type):
    rng = random.Random(5)
    lines = [_line(rng, i).encode("utf-8") for i in range(150)] + _BAD
    rng.shuffle(lines)
    path = _write(tmp_path / "docs.jsonl.gz", lines)
    plain = [i for b in DocumentsReader(path, record_type=record_type, long_line_bytes=None) for i in b.items]
    assert any(isinstance(x, BadLine) for x in plain) and len(plain) == len(lines)
    for piece in (1, 2, 3, 7, 64):
        for batch_bytes in (50, 1 << 22):
            batches = list(DocumentsReader(path, record_type=record_type, long_line_bytes=8, piece_bytes=piece,
                                           batch_bytes=batch_bytes))
            assert [i for b in batches for i in b.items] == plain, (piece, batch_bytes)
            assert sum(b.nbytes for b in batches) == sum(len(x) + 1 for x in lines)


def test_a_long_line_is_read_in_pieces_and_its_bytes_let_go():
    text = "ab\\c\"d é 中 😀 " * 50
    line = bytearray(json.dumps({"id": "x", "text": text, "z": 1}).encode() + b"\n")
    assert decode_long_line(line, DocumentRecord, 5) == DocumentRecord("x", text)
    assert len(line) == 0  # released before the text was joined
    kept = bytearray(b'{"id": "x", "text": 5}\n')
    assert decode_long_line(kept, DocumentRecord, 5) is None and kept == b'{"id": "x", "text": 5}\n'


def test_cut_points_never_split_an_escape_or_a_character():
    rng = random.Random(1)
    for _ in range(300):
        s = _text(rng, rng.randint(0, 60))
        raw = json.dumps(s, ensure_ascii=rng.random() < 0.5).encode("utf-8")[1:-1]
        start = 0
        pieces = []
        for end in cut_points(raw, rng.randint(1, 9)):
            pieces.append(msgspec.json.decode(b'"' + raw[start:end] + b'"'))
            start = end
        assert "".join(pieces) == s
