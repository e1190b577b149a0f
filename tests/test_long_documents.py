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


class _Doc(msgspec.Struct):  # the tokens stage's record
    text: str
    id: Any


@pytest.mark.parametrize("record_type", [DocumentRecord, Any, Dict[str, Any], _Doc])
def test_long_lines_decode_to_the_same_records(tmp_path, monkeypatch, record_type):
    rng = random.Random(5)
    lines = [_line(rng, i).encode("utf-8") for i in range(150)] + _BAD
    rng.shuffle(lines)
    path = _write(tmp_path / "docs.jsonl.gz", lines)
    monkeypatch.setattr(DocumentsReader, "long_line_bytes", None)
    plain = [i for b in DocumentsReader(path, record_type=record_type) for i in b.items]
    assert any(isinstance(x, BadLine) for x in plain) and len(plain) == len(lines)
    monkeypatch.setattr(DocumentsReader, "long_line_bytes", 8)
    for piece in (1, 2, 3, 7, 64):
        monkeypatch.setattr(DocumentsReader, "piece_bytes", piece)
        for batch_bytes in (50, 1 << 22):
            batches = list(DocumentsReader(path, record_type=record_type, batch_bytes=batch_bytes))
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


# --- tokens: a long text encoded a piece at a time ----------------------------------------------------------------

_TOKEN_FRAGMENTS = [
    "Hello", "world", "It's", "they'll", "'S", "'ve", "don't", " ", "  ", "   ", " " * 5, " " * 25, "\n", "\n\n",
    "\r\n", "\t", "\u00a0", "\u3000", "\u2028", "\x1c", "12345", "3.14", "１２３", "日本語", "中文，标点。", "한국어",
    "Русский", "العربية", "e\u0301", "\u0301", "\u212b", "\u037e", "ﬁ", "😀", "👨‍👩‍👧", "<|endoftext|>", "|||EMAIL_ADDRESS|||",
    "|||IP_ADDRESS|||", "<|im_start|>", "||", "def f(x):", "...", "—", "“q”", "’s", ".\n", "!\r\n", "x  ", "\x00", "\u200b",
]


def _token_texts(n: int, seed: int) -> List[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(_TOKEN_FRAGMENTS, k=rng.randint(1, 60))) for _ in range(n)]


@pytest.mark.parametrize("name,fast", [
    ("gpt2", True), ("gpt2", False), ("allenai/gpt-neox-olmo-dolma-v1_5", True),
    ("allenai/eleuther-ai-gpt-neox-20b-pii-special", True), ("allenai/gpt-neox-olmo-dolma-v1_5", False),
    ("allenai/dolma2-tokenizer", False),
])
def test_a_text_encoded_in_pieces_has_the_ids_of_the_whole(name, fast):
    pytest.importorskip("tiktoken")
    np = pytest.importorskip("numpy")
    from dolma.tokens.tokenizer import Tokenizer

    tok = Tokenizer(name, fast=fast)
    assert tok.long_text_chars is not None, "pieces are proven for the built-in tokenizers"
    texts = _token_texts(120 if fast else 40, seed=len(name) + fast)
    whole = tok.encode_plain(texts)
    tok.long_text_chars = 0
    for piece in (1, 2, 7):
        tok.piece_chars = piece
        for text, ids in zip(texts, whole):
            pieces = list(tok.encode_long(text, 0, len(text)))
            got = np.concatenate(pieces) if pieces else np.zeros(0, np.uint32)
            assert np.array_equal(got, ids), (piece, text)
        text = texts[0]
        assert list(map(list, tok.encode_long(text, 2, len(text) - 1))) and np.array_equal(
            np.concatenate(list(tok.encode_long(text, 2, len(text) - 1))), tok.encode_plain([text[2:-1]])[0])


def test_pieces_are_not_used_where_they_are_not_proven(tmp_path):
    pytest.importorskip("tiktoken")
    from dolma.tokens.tokenizer import Tokenizer, gpt2_tokenizer_json

    spec = json.loads(gpt2_tokenizer_json())
    spec["added_tokens"].append({"id": len(spec["model"]["vocab"]), "content": "a b", "single_word": False,
                                 "lstrip": False, "rstrip": False, "normalized": False, "special": False})
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(spec))
    assert Tokenizer(str(path)).long_text_chars is None
    assert Tokenizer("gpt2", segment_before_tokenization=True).is_long(10**9) is False


def test_tokens_of_long_documents_are_byte_identical(tmp_path, monkeypatch):
    pytest.importorskip("tiktoken")
    import glob
    import os

    import dolma.tokens.tokenizer as tokenizer_module
    from dolma.cli import main
    from tests.conftest import write_documents

    rng = random.Random(3)
    rows = [{"id": f"d{i}", "text": rng.choice(["", " \n ", "  lead", "trail \n", ""]) + _text(rng, rng.randint(0, 400))
             + rng.choice(["", " ", "\n\n"])} for i in range(60)]
    write_documents(str(tmp_path / "documents" / "a.jsonl.gz"), rows)

    def run(dest: str) -> Dict[str, bytes]:
        argv = ["tokens", "--documents", str(tmp_path / "documents" / "*.gz"), "--destination", dest, "--processes", "1",
                "--batch_size", "7"]
        assert main(argv) == 0
        return {os.path.basename(p): open(p, "rb").read() for p in glob.glob(os.path.join(dest, "part-*"))
                if not p.endswith(".manifest.json")}

    plain = run(str(tmp_path / "plain"))
    used = []
    real = tokenizer_module.Tokenizer.encode_long

    def encode_long(self: Any, text: str, start: int, end: int) -> Any:
        used.append(end - start)
        return real(self, text, start, end)

    monkeypatch.setattr(tokenizer_module.Tokenizer, "encode_long", encode_long)
    monkeypatch.setattr(tokenizer_module, "LONG_TEXT_CHARS", 0)
    monkeypatch.setattr(tokenizer_module, "PIECE_CHARS", 3)
    monkeypatch.setattr(DocumentsReader, "long_line_bytes", 8)
    monkeypatch.setattr(DocumentsReader, "piece_bytes", 5)
    assert run(str(tmp_path / "pieces")) == plain
    assert len(used) > 40  # the documents took the long path


def test_strip_bounds_and_utf8_length_match_strip_and_encode():
    from dolma.core.longlines import strip_bounds, utf8_length
    from dolma.core.utils import UNICODE_WHITE_SPACE

    rng = random.Random(2)
    for _ in range(300):
        text = "".join(rng.choice(["a", " ", "\n", "\u3000", "\x1c", "b c", "é", "😀"]) for _ in range(rng.randint(0, 30)))
        for chars in (None, UNICODE_WHITE_SPACE):
            start, end = strip_bounds(text, chars, step=rng.randint(1, 4))
            assert text[start:end] == text.strip(chars) and (start < end or not text.strip(chars))
            assert utf8_length(text, start, end, step=rng.randint(1, 5)) == len(text.strip(chars).encode("utf-8"))


# --- mix: a long text's spans as arrays ---------------------------------------------------------------------------


def _spans(rng: random.Random, n: int, odd: bool = True) -> Any:
    kind = rng.random() if odd else 1.0
    if kind < 0.08:
        return []
    if kind < 0.14:
        return [rng.randint(-3, n + 3), rng.randint(-3, n + 3), 1.0]  # one span alone
    if kind < 0.18:
        return [[0, 4, 1.0, "extra"]]  # spans of four values
    if kind < 0.2:
        return [[True, 3, 1.0]]
    out = []
    for _ in range(rng.randint(1, 12)):
        a = rng.randint(-3, n + 3)
        out.append([a, a + rng.randint(-2, 40), rng.choice([1, 1.0, 0.5, 0.25, 0.75, 0.3, 2, 0.9])])
    if rng.random() < 0.2:
        out.append([1.7, 9.2, 1.0])  # float offsets are truncated
    return out


def _mix_corpus(root: Any) -> None:
    rng = random.Random(11)
    docs, a_lines, b_lines = [], [], []
    for i in range(50):
        text = _text(rng, rng.randint(0, 200))
        doc: Dict[str, Any] = {"id": f"d{i}", "text": text, "source": "s", "metadata": {"k": i}}
        docs.append(json.dumps(doc).encode())
        a = {"a__x__spans": _spans(rng, len(text)), "a__x__other": [[0, 3, 1]], "a__x__score": [[0, 1, i / 50]]}
        compact = rng.random() < 0.5  # as msgspec writes it, or with spaces (the plain path rewrites those)
        a_lines.append(json.dumps({"id": f"d{i}", "attributes": a}, separators=(",", ":") if compact else None).encode())
        ordered = sorted(_spans(rng, len(text), odd=False), key=lambda t: (t[0], -t[1]))  # as dedupe writes them
        b = {"b__y__spans": _spans(rng, len(text), odd=False), "b__z__ordered": ordered}
        b_lines.append(msgspec.json.encode({"id": f"d{i}", "attributes": b}))
    _write(root / "documents" / "p.jsonl.gz", docs)
    _write(root / "attributes" / "a" / "p.jsonl.gz", a_lines)
    _write(root / "attributes" / "b" / "p.jsonl.gz", b_lines)


_RULES = [
    {"span": "$.attributes.a__x__spans", "min_score": 0.5, "replacement": ""},
    {"span": "$.attributes.b__y__spans", "min_score": 0.3, "max_score": 0.9, "replacement": "[{}]"},
    {"span": ".attributes.a__x__other", "syntax": "jq", "min_score": 0, "replacement": "#"},
    {"span": "$.attributes.b__y__spans[0:100]", "max_score": 0.6, "replacement": "<{}>"},  # not a plain attribute: the plain path
]
_ONE_RULE = [{"span": "$.attributes.b__z__ordered", "min_score": 0.3, "max_score": 0.9, "replacement": "[{}]"}]
_UNORDERED = [{"span": "$.attributes.b__y__spans", "min_score": 0.3, "replacement": ""}]


@pytest.mark.parametrize("key_bits,sampling,compression,rules,part_bytes", [
    (64, {"sample": 1.0}, "gz", _RULES, 1 << 30),
    (8, {"sample": 1.7}, "zst", _RULES, 1 << 30),  # keys too short to pack: sorted by a permutation; copies and sampling drops
    (64, {"target": {"tokens": 300}}, "none", _RULES, 1 << 30),  # a target: the output's text measured
    (64, {"sample": 1.0}, "gz", _ONE_RULE, 3000),  # spans in order: regions read from the raw attribute; many parts
    (64, {"sample": 1.6}, "zst", _ONE_RULE, 1 << 30),
    (64, {"target": {"tokens": 300}}, "gz", _UNORDERED, 700),  # one rule, spans out of order: sorted as arrays
])
def test_a_long_texts_spans_as_arrays_give_the_same_mix(tmp_path, monkeypatch, key_bits, sampling, compression, rules,
                                                        part_bytes):
    """The same files, byte for byte, with every text long: lines written a piece at a time (a compressed member
    per 40 bytes of a line, so that lines are longer than a member), spans read as arrays or in order, the
    attribute values no rule reads packed."""
    import glob
    import os

    from dolma.cli import main
    from dolma.mixers import span_arrays
    from dolma.mixers.packed import PackedRaw

    (tmp_path / "documents").mkdir()
    (tmp_path / "attributes" / "a").mkdir(parents=True)
    (tmp_path / "attributes" / "b").mkdir(parents=True)
    _mix_corpus(tmp_path)
    monkeypatch.setattr("dolma.mixers.parts._MEMBER_BYTES", 40)  # in both runs: lines longer than a member

    def run(name: str) -> Dict[str, bytes]:
        out = tmp_path / name
        config = {"streams": [{
            "name": "s", "documents": [str(tmp_path / "documents" / "*.gz")], "attributes": ["a", "b"],
            "output": {"path": str(out), "max_size_in_bytes": part_bytes, "min_text_length": 5,
                       "dropped_path": str(out / "dropped")},
            "filter": {"exclude": ["$.attributes[?(@.a__x__score[0][2] > 0.9)]"]},
            "span_replacement": rules, "compression": {"output": compression}, **sampling,
        }], "processes": 1}
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(config))
        assert main(["mix", "-c", str(path)]) == 0
        files = {os.path.relpath(p, out): open(p, "rb").read() for p in glob.glob(str(out / "**" / "*"), recursive=True)
                 if os.path.isfile(p) and not p.endswith((".manifest.json", "mixture.json"))}
        mixture = json.loads((out / "mixture.json").read_text())["streams"]["s"]
        return {**files, "counts": json.dumps(mixture["counts"], sort_keys=True).encode(),
                "rules": json.dumps(mixture["rules"]).encode(), "rate": json.dumps(mixture["sample_rate"]).encode(),
                "measured": json.dumps(mixture["measured_before_sampling"], sort_keys=True).encode()}

    plain = run("plain")
    used = []
    ordered = []
    real, real_ordered = span_arrays.raw_spans, span_arrays.ordered_regions
    monkeypatch.setattr("dolma.mixers.documents.raw_spans", lambda *a: used.append(1) or real(*a))
    monkeypatch.setattr(span_arrays, "ordered_regions", lambda *a: ordered.append(1) or real_ordered(*a))
    monkeypatch.setattr(span_arrays, "LONG_TEXT_CHARS", 0)
    monkeypatch.setattr(span_arrays, "RAW_CHUNK_BYTES", 7)
    monkeypatch.setattr(span_arrays, "_KEY_BITS", key_bits)
    monkeypatch.setattr(span_arrays, "_UNPACK_AT_A_TIME", 2)
    monkeypatch.setattr("dolma.mixers.edited_text.TEXT_PIECE_CHARS", 3)
    monkeypatch.setattr("dolma.mixers.documents.TEXT_PIECE_CHARS", 3)
    monkeypatch.setattr("dolma.mixers.lines.TEXT_SLICE_CHARS", 2)
    monkeypatch.setattr("dolma.mixers.packed.PACK_BYTES", 0)  # every value no rule reads is packed
    monkeypatch.setattr("dolma.mixers.packed._CHUNK_BYTES", 5)
    packed = []
    real_pack = PackedRaw.__init__
    monkeypatch.setattr(PackedRaw, "__init__", lambda self, raw: packed.append(1) or real_pack(self, raw))
    assert run("arrays") == plain
    assert len(packed) > 40
    if rules is _ONE_RULE:
        assert len(ordered) > 30 and not used
    elif rules is _UNORDERED:  # spans out of order are sorted as arrays (a few are in order by chance)
        assert len(used) > 20 and ordered
    else:
        assert len(used) > 30 and not ordered
    counts = json.loads(plain["counts"])
    assert counts["spans_replaced"] > 50
    assert any(k.startswith("dropped/") for k in plain)  # documents the filter and min_text_length dropped
    assert sum(k.endswith(compression if compression != "none" else "jsonl") for k in plain) > (3 if part_bytes < 5000 else 0)
    if "sample" in sampling and sampling["sample"] > 1:
        assert counts["copies_added"] > 0
    if "target" in sampling:
        assert json.loads(plain["measured"])["text_tokens"] > 300 and json.loads(plain["rate"]) < 1


@pytest.mark.parametrize("extension", [".jsonl.gz", ".jsonl.zst", ".jsonl"])
def test_a_line_is_compressed_a_member_per_fixed_slice_however_it_comes(extension, monkeypatch):
    """A line longer than a member is compressed as one member (frame) per ``_MEMBER_BYTES`` of it, the same
    members whether it comes whole or in pieces of any size, and they decompress to the line."""
    import zstandard

    from dolma.mixers import parts

    monkeypatch.setattr(parts, "_MEMBER_BYTES", 1000)
    rng = random.Random(5)
    line = _text(rng, 9000).encode("utf-8") + b"\n"
    compressor = parts.BlockCompressor(extension, 2)
    whole = [b"".join(member) for member in compressor.members([line])]
    assert len(whole) == -(-len(line) // 1000)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(line)), rng.randint(1, 40)))
        pieces = [line[a:b] for a, b in zip([0, *cuts], [*cuts, len(line)])]
        assert [b"".join(member) for member in compressor.members(pieces)] == whole
    joined = b"".join(whole)
    if extension.endswith(".gz"):
        assert gzip.decompress(joined) == line
    elif extension.endswith(".zst"):
        import io

        assert zstandard.ZstdDecompressor().stream_reader(io.BytesIO(joined), read_across_frames=True).read() == line
    else:
        assert joined == line


def test_text_measures_match_the_whole_text(monkeypatch):
    from dolma.mixers import lines

    rng = random.Random(4)
    for slice_chars in (1, 2, 5):
        monkeypatch.setattr(lines, "TEXT_SLICE_CHARS", slice_chars)
        for _ in range(200):
            text = _text(rng, rng.randint(0, 40))
            assert lines.text_measures(text) == (len(text.encode("utf-8")), len(text.split()))


@pytest.mark.parametrize("alone_over", [0, 40, 1 << 20])
def test_long_lines_encode_as_msgspec_does_and_let_their_values_go(monkeypatch, alone_over):
    """Runs of lines and long lines (written a piece at a time) join to ``encode_lines``; a long line no longer
    than ``alone_over`` is joined with its neighbours, the others come alone."""
    from dolma.mixers import lines

    monkeypatch.setattr(span_arrays_module(), "LONG_TEXT_CHARS", 3)
    monkeypatch.setattr(lines, "TEXT_SLICE_CHARS", 2)
    rng = random.Random(6)
    docs = [{"id": f"d{i}", "text": _text(rng, rng.randint(0, 30)), "attributes": {"a": msgspec.Raw(b"[[0,1,1.0]]"), "b": [1]},
             "metadata": {"x": i}} for i in range(30)]
    docs.insert(5, dict(docs[4], id="copy"))  # an up-sampled copy shares the text and the attributes
    want = msgspec.json.Encoder().encode_lines(docs)
    long = [d for d in docs if len(d["text"]) > 3 and d["id"] not in ("d4", "copy")]
    alone = [len(msgspec.json.encode(d)) + 1 > alone_over for d in docs if len(d["text"]) > 3]
    runs = lines.encode_documents(docs, alone_over)
    assert sum(isinstance(run, lines.LongLine) for run in runs) == sum(alone)
    assert all(run.size > alone_over for run in runs if isinstance(run, lines.LongLine))
    got = b"".join(run if isinstance(run, bytes) else b"".join(run.pieces(last=True)) for run in runs)
    assert got == want
    assert long
    assert all(d["text"] == "" and list(d["attributes"].values()) == [None, None] for d in long)
    assert docs[4]["text"] and docs[5]["text"] and docs[4]["attributes"]["a"] is not None  # copies keep theirs


def span_arrays_module() -> Any:
    from dolma.mixers import span_arrays

    return span_arrays


@pytest.mark.parametrize("raw,expected", [
    (b"[]", ([], [], None)),
    (b"[[0,5,1.0],[3,9,0.2],[-2,4,1]]", ([0, 0], [5, 4], None)),  # clamped to the text (6 characters)
    (b"[[0, 5, 1.0],[1.9,7.5,1e0]]", ([0, 1], [5, 6], b"[[0,5,1.0],[1.9,7.5,1.0]]")),
    (b"[0,5,1.0]", None),  # one span alone
    (b"[[0,5,1.0,7]]", None),
    (b"[[true,5,1.0]]", None),
    (b'[["0",5,1.0]]', None),
    (b"[[9007199254740993,9007199254740995,1.0]]", None),  # not exact as a float
    (b'{"a":1}', None),
])
def test_raw_spans(raw, expected, monkeypatch):
    np = pytest.importorskip("numpy")
    from dolma.mixers import span_arrays

    monkeypatch.setattr(span_arrays, "RAW_CHUNK_BYTES", 3)
    got = span_arrays.raw_spans(msgspec.Raw(raw), 0.5, float("inf"), 6)
    if expected is None:
        assert got is None
        return
    starts, ends, rewritten = got
    assert np.concatenate(starts or [np.zeros(0, np.int64)]).tolist() == expected[0]
    assert np.concatenate(ends or [np.zeros(0, np.int64)]).tolist() == expected[1]
    assert (bytes(rewritten) if rewritten is not None else None) == expected[2]


# --- mix: an edited text, read a piece at a time --------------------------------------------------------------------


def test_an_edited_text_reads_as_the_replaced_text(monkeypatch):
    """Its pieces join to what replace_spans returns, and its measures are those of the joined text (white space
    at the ends, many short slices, replacements holding the region's text)."""
    np = pytest.importorskip("numpy")
    from dolma.core.utils import UNICODE_WHITE_SPACE
    from dolma.mixers import edited_text, span_arrays
    from dolma.mixers.spans import SpanRule, replace_spans

    monkeypatch.setattr(edited_text, "_PARTS_AT_A_TIME", 3)
    monkeypatch.setattr(edited_text, "TRIM_CHARS", 4)
    monkeypatch.setattr(edited_text, "_REGIONS_AT_A_TIME", 2)
    rng = random.Random(8)
    rules = [SpanRule("a", None, None, None, ""), SpanRule("b", None, None, None, " <{}|{}> "),
             SpanRule("c", None, None, None, "\u3000")]
    for _ in range(300):
        text = "".join(rng.choice(["a", " ", "\n", "\u3000", "é", "😀", "b c", "\u2028"]) for _ in range(rng.randint(0, 40)))
        spans = [(rng.randint(-2, len(text) + 2), rng.randint(-2, len(text) + 2), rng.randrange(3)) for _ in range(rng.randint(1, 8))]
        want, replaced = replace_spans(text, spans, rules)
        doc = {"text": text}
        arrays = [([np.array([a for a, _, k in spans if k == i], np.int64)], [np.array([b for _, b, k in spans if k == i], np.int64)], i)
                  for i in range(3)]
        assert span_arrays.replace_span_arrays(doc, arrays, rules) == replaced
        edited = doc["text"]
        if not replaced:
            assert edited == text
            continue
        assert isinstance(edited, edited_text.EditedText)
        for chunk in (1, 2, 5, 1000):
            pieces = list(edited.pieces(chunk))
            assert "".join(pieces) == want and all(0 < len(p) < chunk + len(" <") for p in pieces)
            assert edited_text.edited_length(edited, UNICODE_WHITE_SPACE, chunk) == len(want.strip(UNICODE_WHITE_SPACE).encode("utf-8"))
            assert edited_text.edited_measures(edited, chunk) == (len(want.encode("utf-8")), len(want.split()))
        assert "".join(edited.pieces(3, consume=True)) == want  # the last reading lets the regions go
        with pytest.raises(RuntimeError):
            list(edited.pieces(3))


@pytest.mark.parametrize("extension", [".jsonl.gz", ".jsonl.zst", ".jsonl"])
def test_a_block_is_compressed_as_one_member(extension):
    """A block's pieces join to the one-call member the mix always wrote (gzip: igzip.compress, header and body)."""
    import zstandard
    from isal import igzip

    from dolma.mixers.parts import BlockCompressor

    data = ("".join(_text(random.Random(3), 5000)) * 20).encode("utf-8")
    for level in (0, 1, 2, 3):
        got = b"".join(BlockCompressor(extension, level).compress(memoryview(data)))
        if extension.endswith(".gz"):
            assert got == igzip.compress(data, compresslevel=level, mtime=0)
        elif extension.endswith(".zst"):
            assert got == zstandard.ZstdCompressor(level=3).compress(data)
        else:
            assert got == data


def test_a_long_documents_unread_attribute_values_are_packed_and_written_back_as_they_were(monkeypatch):
    """``pack_row`` compresses the values of a long attribute line no rule reads and copies the others out of the
    line (which nothing views afterwards); the document's line is written as before."""
    from dolma.mixers import lines, packed

    monkeypatch.setattr(packed, "PACK_BYTES", 10)
    monkeypatch.setattr(packed, "_CHUNK_BYTES", 7)
    monkeypatch.setattr(span_arrays_module(), "LONG_TEXT_CHARS", 3)

    class Row(msgspec.Struct):
        attributes: Dict[str, msgspec.Raw]
        id: Any = None

    attributes = b'{"big":[[0,5,1.0],[6,9,0.5]],"read":[[0,1,1.0],[2,3,1.0]],"small":[1]}'
    line = bytearray(b'{"id":"d","attributes":' + attributes + b"}")
    row = msgspec.json.decode(line, type=Row)
    packed.pack_row(row, {"read"})
    assert type(row.attributes["big"]) is packed.PackedRaw and len(row.attributes["big"].chunks) == 3
    assert all(type(v) is msgspec.Raw for k, v in row.attributes.items() if k != "big")
    line += b" "  # nothing views the line's bytes any more: it can be resized (freed)
    untouched = msgspec.json.decode(b'{"attributes":{"read":[[0,1,1.0],[2,3,1.0]]}}', type=Row)
    before = untouched.attributes["read"]
    packed.pack_row(untouched, {"read"})
    assert untouched.attributes["read"] is before  # nothing to pack: the row is left as it is
    doc = {"id": "d", "text": "abcdef", "attributes": row.attributes}
    want = b'{"id":"d","text":"abcdef","attributes":' + attributes + b"}"
    assert lines.encode_document(doc) == want
    runs = lines.encode_documents([doc], 0)
    assert b"".join(r if isinstance(r, bytes) else b"".join(r.pieces(last=True)) for r in runs) == want + b"\n"
