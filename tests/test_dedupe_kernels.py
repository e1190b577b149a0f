"""Dedupe's C kernels (dolma.dedup.kernels) against what they stand in for: XXH3-64 against the xxhash library on
every length class, the filter's test-and-set against the numpy loop, and whole runs with and without them."""

from __future__ import annotations

import glob
import gzip
import os
import random
from typing import Any, List, Tuple

import msgspec
import numpy as np
import pytest
import xxhash

from dolma.cli import main
from dolma.dedup import kernels
from dolma.dedup.bloom import BloomFilter, BloomParams, hash_slices, key_hashes
from tests.conftest import write_documents

# XXH3's length classes: 0, 1-3, 4-8, 9-16, 17-128, 129-240, then stripes of 64 bytes and blocks of 1024
LENGTHS = list(range(0, 260)) + [511, 512, 513, 1023, 1024, 1025, 1087, 1088, 1089, 2047, 2048, 2049, 4000, 9999]
SEEDS = [0, 1, 0x9E3779B97F4A7C15, 2**64 - 1]


def _slices(rng: random.Random, data: bytes) -> Tuple[np.ndarray, np.ndarray]:
    starts = [rng.randrange(0, len(data) - n + 1) for n in LENGTHS]  # at every alignment
    return np.array(starts, dtype=np.int64), np.array([s + n for s, n in zip(starts, LENGTHS)], dtype=np.int64)


def test_the_kernels_are_built() -> None:
    assert kernels._native is not None, (
        "dolma.dedup._kernels was not built: install with a C compiler on PATH (pip install -e .) so that the "
        "suite checks the C kernels against their fallbacks"
    )
    assert kernels.ENABLED


@pytest.mark.parametrize("seed", SEEDS)
def test_xxh3_slices_is_xxh3_64(seed: int) -> None:
    rng = random.Random(seed % 1000)
    data = bytes(rng.getrandbits(8) for _ in range(12000))
    starts, ends = _slices(rng, data)
    got = kernels.xxh3_slices(data, starts, ends, seed)
    want = [xxhash.xxh3_64_intdigest(data[s:e], seed) for s, e in zip(starts.tolist(), ends.tolist())]
    assert got.dtype == np.uint64
    assert got.tolist() == want


def test_xxh3_slices_takes_any_buffer_and_text() -> None:
    text = "héllo wörld 日本語 🙂\n".encode() * 40
    view = memoryview(bytearray(text))
    starts, ends = np.array([0, 3, 17, 100], dtype=np.int64), np.array([len(text), 3, 300, 900], dtype=np.int64)
    want = [xxhash.xxh3_64_intdigest(text[s:e]) for s, e in zip(starts.tolist(), ends.tolist())]
    assert kernels.xxh3_slices(view, starts, ends).tolist() == want
    assert kernels.xxh3_slices(np.frombuffer(text, dtype=np.uint8), starts, ends).tolist() == want


@pytest.mark.parametrize(
    "starts, ends, message",
    [
        ([0, 5], [4, 4], r"slice 1 is \[5:4\] of a 10-byte buffer"),
        ([0, 2], [4, 11], r"slice 1 is \[2:11\] of a 10-byte buffer"),
        ([-1], [4], r"slice 0 is \[-1:4\]"),
    ],
)
def test_xxh3_slices_refuses_slices_outside_the_buffer(starts: List[int], ends: List[int], message: str) -> None:
    out = np.zeros(len(starts), dtype=np.uint64)
    with pytest.raises(ValueError, match=message):
        kernels._native.xxh3_slices(b"0123456789", np.array(starts, np.int64), np.array(ends, np.int64), 0, out)
    assert not out.any()  # checked before anything is written


def test_xxh3_slices_refuses_columns_of_other_lengths_or_widths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        kernels.xxh3_slices(b"abc", np.array([0, 1]), np.array([1]))
    with pytest.raises(ValueError, match="whole number of 8-byte items"):
        kernels._native.xxh3_slices(b"abc", b"\0" * 7, b"\0" * 8, 0, np.zeros(1, np.uint64))


@pytest.mark.parametrize("wide", [False, True])
def test_key_hashes_and_hash_slices_are_the_same_with_or_without_kernels(monkeypatch: Any, wide: bool) -> None:
    rng = random.Random(5)
    keys = [bytes(rng.getrandbits(8) for _ in range(rng.choice(LENGTHS[:300]))) for _ in range(200)]
    long_keys = [k * 40 for k in keys[:40]]
    for few in (keys[:3], keys, long_keys):  # a few keys or long ones are hashed one by one, more are joined first
        fast = key_hashes(few, 7, wide)
        monkeypatch.setattr(kernels, "ENABLED", False)
        slow = key_hashes(few, 7, wide)
        monkeypatch.setattr(kernels, "ENABLED", True)
        assert np.array_equal(fast, slow)
    data = b"".join(keys)
    ends = np.cumsum([len(k) for k in keys])
    starts = ends - [len(k) for k in keys]
    fast = hash_slices(data, starts, ends, 3, wide)
    monkeypatch.setattr(kernels, "ENABLED", False)
    assert np.array_equal(fast, hash_slices(data, starts, ends, 3, wide))


@pytest.mark.parametrize("m, k", [(64, 1), (4096, 7), (1 << 20, 13), (3 * 64 * 1000, 4)])
@pytest.mark.parametrize("insert", [True, False])
def test_bloom_mark_is_the_numpy_loop(monkeypatch: Any, m: int, k: int, insert: bool) -> None:
    rng = np.random.default_rng(m + k)
    params = BloomParams(m=m, k=k, seed=0)
    before = rng.integers(0, 2**64 - 1, size=3000, dtype=np.uint64, endpoint=True)
    keys = rng.integers(0, 2**64 - 1, size=5000, dtype=np.uint64, endpoint=True)
    keys = np.concatenate([keys, before[:700], keys[::3]])  # keys seen before, and repeats within the batch
    results = []
    for enabled in (True, False):
        monkeypatch.setattr(kernels, "ENABLED", enabled)
        bloom = BloomFilter.in_memory(params)
        bloom.mark(before)
        seen, distinct = bloom.mark(keys, insert=insert)
        results.append((seen, distinct, bloom.bits.copy()))
    (seen_c, distinct_c, bits_c), (seen_np, distinct_np, bits_np) = results
    assert np.array_equal(seen_c, seen_np)
    assert distinct_c == distinct_np
    assert np.array_equal(bits_c, bits_np)
    if m > 4096:  # a roomy filter: the keys seen before are found, the new ones are not (but for a repeat)
        assert seen_c[5000:5700].all()


def test_bloom_mark_refuses_to_insert_into_read_only_bits() -> None:
    params = BloomParams(m=4096, k=3)
    bits = np.zeros(params.nbytes, dtype=np.uint8)
    bits.flags.writeable = False
    keys = np.arange(10, dtype=np.uint64)
    with pytest.raises(ValueError, match="read-only"):
        kernels.bloom_mark(bits, params.m, params.k, keys, True, 1024)
    assert not kernels.bloom_mark(bits, params.m, params.k, keys, False, 1024).any()
    with pytest.raises(ValueError, match="m=99999 bits in 512 bytes"):
        kernels.bloom_mark(bits, 99999, params.k, keys, False, 1024)


def _corpus(root: str) -> None:
    rng = random.Random(11)
    vocab = ["", " ", "short", "héllo wörld", "日本語のテキスト", "x" * 200, "y" * 239 + "é", "z " * 700, "\u3000"]
    vocab += [" ".join(rng.choice(["the", "quick", "brown", "fox", "ü", "über"]) for _ in range(20)) for _ in range(40)]
    for f in range(3):
        docs = [{"id": f"{f}-{i}", "text": "\n".join(rng.choice(vocab) for _ in range(rng.randrange(0, 12)))}
                for i in range(150)]
        write_documents(f"{root}/documents/{f}.jsonl.gz", docs)


@pytest.mark.parametrize(
    "flags",
    [
        ["--dedupe.paragraphs.attribute_name", "dup"],
        ["--dedupe.paragraphs.attribute_name", "dup", "--dedupe.skip_empty", "true"],
        ["--dedupe.paragraphs.attribute_name", "dup", "--dedupe.paragraphs.by_ngram.ngram_length", "3",
         "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.5"],
        ["--dedupe.documents.attribute_name", "dup", "--dedupe.documents.key", "$.text"],
        ["--dedupe.paragraphs.attribute_name", "dup", "--dedupe.paragraphs.paragraph_separator", "\n\n"],
    ],
)
def test_a_run_gives_the_same_bytes_with_or_without_kernels(tmp_path: Any, monkeypatch: Any, flags: List[str]) -> None:
    outputs = []
    for enabled in (True, False):
        monkeypatch.setattr(kernels, "ENABLED", enabled)
        root = str(tmp_path / str(enabled))
        _corpus(root)
        assert main(["dedupe", "--documents", f"{root}/documents/*.jsonl.gz", "--bloom_filter.file", f"{root}/f.bin",
                     "--bloom_filter.size_in_bytes", "65536", "--processes", "2", *flags]) == 0
        files = sorted(glob.glob(f"{root}/attributes/dup/*.jsonl.gz")) + [f"{root}/f.bin"]
        outputs.append([open(p, "rb").read() for p in files])
        assert len(files) == 4 and all(os.path.getsize(p) for p in files)
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("n, distinct", [(0, 1), (1, 1), (5000, 300), (5000, 5000), ((1 << 20) + 1000, 200_000)])
def test_first_occurrences_is_the_numpy_table(monkeypatch: Any, n: int, distinct: int) -> None:
    from dolma.dedup.bloom import first_occurrences

    rng = np.random.default_rng(n)
    values = rng.integers(0, 2**64 - 1, size=distinct, dtype=np.uint64, endpoint=True)
    values[: min(8, distinct)] &= ~np.uint64(0xFFFFFFFF)  # equal top or low bits: slots and pieces collide
    h1 = values[rng.integers(0, distinct, size=n)]
    fast = first_occurrences(h1)
    monkeypatch.setattr(kernels, "ENABLED", False)
    slow = first_occurrences(h1)
    assert fast.dtype == slow.dtype == np.int32
    assert np.array_equal(fast, slow)
    if n:
        assert (h1[fast] == h1).all() and (fast <= np.arange(n)).all()


def test_first_occurrences_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="3 keys, 8 bytes of answers"):
        kernels._native.first_occurrences(np.zeros(3, np.uint64), np.zeros(2, np.int32), 1)
    with pytest.raises(ValueError, match="4 groups"):
        kernels._native.first_occurrences(np.zeros(3, np.uint64), np.zeros(3, np.int32), 4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unit_spans_is_the_numpy_formatting(monkeypatch: Any, seed: int) -> None:
    from dolma.dedup.attributes import format_unit_spans

    rng = np.random.default_rng(seed)
    n = 3000
    top = [10, 10**6, 2**40][seed]
    start = np.sort(rng.integers(0, top, size=n))
    end = start + rng.integers(0, 1000, size=n)
    start[:3] = [0, 9, 10]
    cuts = np.unique(np.concatenate(([0, n], rng.integers(1, n, size=200))))
    fast = format_unit_spans(start, end, cuts)
    monkeypatch.setattr(kernels, "ENABLED", False)
    slow = format_unit_spans(start, end, cuts)
    assert fast == slow
    assert fast[0] == ("[" + ",".join(f"[{s},{e},1]" for s, e in zip(start[: cuts[1]], end[: cuts[1]])) + "]").encode()


def test_unit_spans_refuses_bad_arguments() -> None:
    one = np.array([1], dtype=np.int64)
    with pytest.raises(ValueError, match=r"span 0 is \[-1, 1\]"):
        kernels.unit_spans(-one, one, np.array([0, 1]))
    with pytest.raises(ValueError, match="cuts from 0 to 2"):
        kernels.unit_spans(one, one, np.array([0, 2]))
    with pytest.raises(ValueError, match="cuts go down at group 1"):
        kernels.unit_spans(np.ones(2, np.int64), np.ones(2, np.int64), np.array([0, 2, 1, 2]))
    assert kernels.unit_spans(one, one, np.array([0, 0, 1])) == [b"[]", b"[[1,1,1]]"]


TEXTS = ["", "ascii only", "héllo wörld", "日本語", "🙂" * 50, "x" * 5000, "\x00\x7f", "é" * 300, "a\nb\n"]


@pytest.mark.parametrize("sep", [b"\n", "\u2028".encode(), b""])
def test_utf8_join_is_join_of_encode(sep: bytes) -> None:
    joined, sizes = kernels.utf8_join(TEXTS, sep)
    assert joined == sep.join(t.encode() for t in TEXTS)
    assert sizes.tolist() == [len(t.encode()) for t in TEXTS]
    assert kernels.utf8_join([], sep)[0] == b""
    with pytest.raises(TypeError, match="expected str, got int"):
        kernels.utf8_join(["a", 1], sep)  # type: ignore[list-item]


JSON_PIECES = [b"a", b"xyzw1234", b"\\n", b'\\"', b"\\\\", b"\\/", b"\\b\\f\\r\\t", b"\\u00e9", b"\\u0000",
               b"\\ud83d\\ude00", b"\\uD83D\\uDE00", b"\\ud800", b"\\udc00", b"\\uzzzz", b"\\q", "\u00e9".encode(),
               "\u65e5\u672c".encode(), "\U0001f642".encode(), b"\xff", b"\xc0\xaf", b"\xed\xa0\x80",
               b"\xf4\x90\x80\x80", b"\xe0\x80\x80", b"\xc3", b"\x01", b"\x7f", b" " * 9, b'"', b"\\"]


class _Raw(msgspec.Struct):
    id: str
    text: msgspec.Raw


class _Text(msgspec.Struct):
    id: str
    text: str


def test_json_text_hashes_takes_exactly_what_msgspec_decodes_and_agrees_with_it() -> None:
    raw_decoder, text_decoder = msgspec.json.Decoder(_Raw), msgspec.json.Decoder(_Text)
    rng = random.Random(3)
    taken = refused = 0
    for _ in range(6000):
        pieces = JSON_PIECES if rng.random() < 0.5 else JSON_PIECES[:10] + JSON_PIECES[15:18]  # only valid ones
        body = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 40)))  # past 16-byte blocks
        line = b'{"id":"1","text":"' + body + b'"}' if rng.random() < 0.97 else b'{"id":"1","text":[5]}'
        try:
            raw = raw_decoder.decode(line).text
        except msgspec.DecodeError:
            continue  # msgspec refuses the line whatever the text's type
        try:
            text = text_decoder.decode(line).text
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):  # msgspec < 0.19: invalid UTF-8
            text = None
        got = kernels.json_text_hashes([raw], 5)
        assert (got is None) == (text is None), line
        if got is None:
            refused += 1
            continue
        taken += 1
        hashes, sizes, points = got
        assert hashes.tolist() == [xxhash.xxh3_64_intdigest(text.encode(), 5)], line
        assert (sizes.tolist(), points.tolist()) == ([len(text.encode())], [len(text)]), line
    assert taken > 1000 and refused > 100


def test_documents_with_bad_lines_are_read_again_as_str_for_the_same_bytes(tmp_path: Any, monkeypatch: Any) -> None:
    from tests.conftest import write_bytes

    good = b"".join(b'{"id":"%d","text":"same \\u00e9\\n%d"}\n' % (i, i % 7) for i in range(3000))  # batches
    files = {
        "a": good,
        "b": good + b'{"id":"x","text":"bad \xff utf-8"}\n' + good[:500] + b"\n",  # cut mid-line, a blank line too
        "c": b'{"id":"n","text":5}\n' + good[:2000],
        "d": good.replace(b'"id":"7",', b'"id":"7","extra":[1,{"x":2}],'),  # other fields: skipped, still plain
    }
    outputs = []
    for enabled in (True, False):
        monkeypatch.setattr(kernels, "ENABLED", enabled)
        root = str(tmp_path / str(enabled))
        for name, data in files.items():
            write_bytes(f"{root}/documents/{name}.jsonl.gz", data)
        assert main(["dedupe", "--documents", f"{root}/documents/*.jsonl.gz", "--bloom_filter.file", f"{root}/f.bin",
                     "--bloom_filter.size_in_bytes", "65536", "--dedupe.documents.attribute_name", "dup",
                     "--dedupe.documents.key", "$.text", "--on_error", "skip", "--processes", "2"]) == 0
        written = sorted(glob.glob(f"{root}/attributes/dup/*"))
        # the quarantine names the documents file: the same once the run's folder is left out
        outputs.append([(os.path.basename(p), gzip.decompress(open(p, "rb").read()).replace(root.encode(), b""))
                        for p in written if "manifest" not in p])
    assert outputs[0] == outputs[1]
    assert [name for name, _ in outputs[0]] == ["a.jsonl.gz", "b.jsonl.gz", "b.jsonl.gz.quarantine.jsonl.gz",
                                                "c.jsonl.gz", "c.jsonl.gz.quarantine.jsonl.gz", "d.jsonl.gz"]
