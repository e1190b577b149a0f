"""The dedupe stage's vectorised parts against plain-Python definitions: paragraph cutting, whitespace, attribute
JSON, the filter's probing of distinct keys, and the filter file's version check."""

from __future__ import annotations

import glob
import gzip
import json
import os
import random
from typing import Any, List, Tuple

import msgspec
import numpy as np
import pytest

from dolma.cli import main
from dolma.dedup.attributes import attribute_lines, format_unit_spans
from dolma.dedup.bloom import HEADER_SIZE, BloomFilter, BloomParams, hash_keys, key_hashes
from dolma.dedup.keys import ngram_keys, utf8_words
from dolma.dedup.ngrams import ngram_hashes
from dolma.dedup.paragraphs import split_paragraphs, unicode_space
from tests.conftest import read_jsonl, write_documents

PIECES = ["a", "héllo", "日本語", "🙂x", " ", "\u3000", "\u00a0", "\x1c", "", "\n", "\n\n", "word word"]


def _texts(seed: int, count: int = 60) -> List[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(PIECES, size=int(rng.integers(0, 12))).tolist()) for _ in range(count)]


@pytest.mark.parametrize("sep", ["\n", "\n\n", "日", "🙂"])
@pytest.mark.parametrize("seed", [0, 1])
def test_split_paragraphs_matches_str_split(sep: str, seed: int) -> None:
    texts = _texts(seed) + ["", sep, "x" + sep, sep + sep]
    paras = split_paragraphs(texts, sep)
    rows = []
    for d, text in enumerate(texts):
        pieces = text.split(sep)
        pos = 0
        for i, p in enumerate(pieces):
            last = i == len(pieces) - 1
            width = len(p) + (0 if last else len(sep))
            rows.append((d, pos, len(p), width, len((p + ("" if last else sep)).encode()), last, p))
            pos += width
    assert len(paras.parts) == len(rows)
    assert paras.doc.tolist() == [r[0] for r in rows]
    assert paras.start.tolist() == [r[1] for r in rows]
    assert paras.length.tolist() == [r[2] for r in rows]
    assert paras.width.tolist() == [r[3] for r in rows]
    assert paras.nbytes.tolist() == [r[4] for r in rows]
    assert paras.last.tolist() == [r[5] for r in rows]
    assert paras.parts == [r[6].encode() for r in rows]
    assert paras.strings() == [r[6] for r in rows]
    assert unicode_space(paras).tolist() == [not r[6] or r[6].isspace() for r in rows]


@pytest.mark.parametrize("sep", ["\n", "\n\n", "日"])
@pytest.mark.parametrize("size", [1, 7, 64, 1 << 16])
def test_paragraph_groups_are_the_parts_in_order(sep: str, size: int) -> None:
    texts = _texts(3) + ["", sep, "x" + sep, sep + sep]
    groups = list(split_paragraphs(texts, sep).groups(size))
    assert [p for g in groups for p in g] == split_paragraphs(texts, sep).parts
    if sep == "\n" and size < 64:  # cut lazily, a few bytes of the batch at a time
        assert len(groups) > 1


def test_multi_character_separator_end_to_end(tmp_path: Any) -> None:
    # "\n\n" joined after a text ending in "\n" must not cut inside the first text
    root = str(tmp_path / "c")
    write_documents(f"{root}/documents/a.jsonl.gz", [{"id": "1", "text": "p\n\nq\n"}, {"id": "2", "text": "q\n\nz"}])
    assert main(["dedupe", "--documents", f"{root}/documents/*.gz", "--bloom_filter.file", f"{root}/f.bin",
                 "--bloom_filter.size_in_bytes", "4096", "--dedupe.paragraphs.attribute_name", "dup",
                 "--dedupe.paragraphs.paragraph_separator", "\n\n"]) == 0
    got = [line["attributes"]["dup"] for line in read_jsonl(f"{root}/attributes/dup/a.jsonl.gz")]
    assert got == [[], []]  # "q\n" (last paragraph of 1) differs from "q" (first of 2)
    write_documents(f"{root}/documents/a.jsonl.gz", [{"id": "1", "text": "p\n\nq\n"}, {"id": "2", "text": "z\n\nq\n"}])
    os.remove(f"{root}/f.bin")
    assert main(["dedupe", "--documents", f"{root}/documents/*.gz", "--bloom_filter.file", f"{root}/f.bin",
                 "--bloom_filter.size_in_bytes", "4096", "--dedupe.paragraphs.attribute_name", "dup",
                 "--dedupe.paragraphs.paragraph_separator", "\n\n", "--ignore_existing"]) == 0
    got = [line["attributes"]["dup"] for line in read_jsonl(f"{root}/attributes/dup/a.jsonl.gz")]
    assert got == [[], [[3, 5, 1]]]  # the paragraph "q\n" again


@pytest.mark.parametrize("extra", [
    [],
    ["--dedupe.skip_empty", "true", "--dedupe.min_words", "2"],
    ["--dedupe.paragraphs.by_ngram.ngram_length", "3", "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.5"],
    ["--dedupe.paragraphs.paragraph_separator", "\u2029"],
    ["--dedupe.exact", "true", "--dedupe.skip_empty", "true"],  # the quickstart's: first occurrences written too
    ["--dedupe.exact", "true", "--dedupe.paragraphs.by_ngram.ngram_length", "3"],
])
def test_long_documents_cut_into_pieces_give_the_same_attributes(tmp_path: Any, monkeypatch: Any, extra: List[str]) -> None:
    """With tiny thresholds every text is cut into pieces, every document's spans are formatted and written in
    pieces (as a very large document's are) and first occurrences written as views: the same bytes."""
    from dolma.dedup import attributes, stage

    rng = random.Random(9)
    words = ["a", "bb", "é", "日本", " ", "  ", "x.y", "\u2029", "\n", "\n", "\n\n", "q r s t", "\u00a0"]
    docs = [{"id": str(i), "text": "".join(rng.choice(words) for _ in range(rng.randint(0, 400)))} for i in range(40)]
    docs.append({"id": "end", "text": docs[3]["text"] + "\n"})
    got, firsts = {}, {}
    for piece in (1 << 22, 7):  # 7 code points: every long text in many pieces, pieces grouped a few at a time
        monkeypatch.setattr(stage, "_PIECE_CHARS", piece)
        if piece == 7:  # a document's spans formatted 3 at a time, and written apart from its line
            monkeypatch.setattr(attributes, "_SPANS_AT_ONCE", 3)
            monkeypatch.setattr(attributes, "_BIG_VALUE", 20)
        root = str(tmp_path / f"c{piece}")
        write_documents(f"{root}/documents/a.jsonl.gz", docs)
        assert main(["dedupe", "--documents", f"{root}/documents/*.gz", "--bloom_filter.file", f"{root}/f.bin",
                     "--bloom_filter.size_in_bytes", "65536", "--dedupe.paragraphs.attribute_name", "dup", *extra]) == 0
        with gzip.open(f"{root}/attributes/dup/a.jsonl.gz") as f:
            got[piece] = f.read()
        side = glob.glob(f"{root}/first_occurrences/dup/*")
        firsts[piece] = [{**msgspec.msgpack.decode(gzip.open(path).read()), "files": None} for path in side]  # (paths differ)
    assert got[7] == got[1 << 22]
    assert firsts[7] == firsts[1 << 22]
    assert any(json.loads(line)["attributes"]["dup"] for line in got[7].splitlines())
    assert ("--dedupe.exact" in extra) == bool(firsts[7])


def test_large_groups_of_spans_are_formatted_in_pieces(monkeypatch: Any) -> None:
    from dolma.dedup import attributes

    rng = np.random.default_rng(4)
    start = np.sort(rng.integers(0, 10**7, 300))
    end = start + rng.integers(0, 50, 300)
    cuts = np.array([0, 1, 120, 121, 290, 300])
    whole = format_unit_spans(start, end, cuts)
    monkeypatch.setattr(attributes, "_SPANS_AT_ONCE", 16)  # groups of 119 and 169 spans cut into pieces
    assert format_unit_spans(start, end, cuts) == whole
    monkeypatch.setattr(attributes, "_BIG_VALUE", 100)  # those groups' lines written around their values
    lines = attributes.attribute_lines([str(i) for i in range(7)], "a", dict(enumerate(whole)), bad=[4])
    expected = [{"id": str(i), "attributes": {} if i == 4 else {"a": json.loads(whole[i]) if i < len(whole) else []}}
                for i in range(7)]
    assert [json.loads(x) for x in lines.splitlines()] == expected


@pytest.mark.parametrize("spans_at_once", [1 << 16, 16])
def test_scored_spans_are_msgspec_json(spans_at_once: int, monkeypatch: Any) -> None:
    from dolma.dedup import attributes

    monkeypatch.setattr(attributes, "_SPANS_AT_ONCE", spans_at_once)  # 16: large groups formatted in pieces
    encoder = msgspec.json.Encoder()
    rng = np.random.default_rng(8)
    for _ in range(100):
        n = int(rng.integers(1, 200))
        start = np.sort(rng.integers(0, int(10 ** rng.integers(0, 12)), n))
        end = start + rng.integers(0, 500, n)
        score = np.minimum(rng.integers(0, 60, n) / rng.integers(1, 60, n), 1.0)  # 1.0, 0.5, 0.3333333333333333...
        cuts = np.unique(np.concatenate(([0, n], rng.integers(1, n + 1, int(rng.integers(0, 5))))))
        want = [encoder.encode([[int(s), int(e), float(f)] for s, e, f in zip(start[a:b], end[a:b], score[a:b])])
                for a, b in zip(cuts[:-1], cuts[1:])]
        assert attributes.format_scored_spans(start, end, score, cuts) == want


def test_attribute_lines_are_msgspec_json() -> None:
    rng = np.random.default_rng(3)
    ids = ["a", 'q"uote', "new\nline", "日本", "\\"]
    spans = {i: sorted(rng.integers(0, 10**int(rng.integers(1, 9)), size=(int(rng.integers(1, 6)), 2)).tolist())
             for i in (0, 2, 3)}
    start = np.array([s for i in sorted(spans) for s, _ in spans[i]])
    end = np.array([e for i in sorted(spans) for _, e in spans[i]])
    cuts = np.cumsum([0] + [len(spans[i]) for i in sorted(spans)])
    values = dict(zip(sorted(spans), format_unit_spans(start, end, cuts)))
    got = attribute_lines(ids, "dup", values, bad=[4])
    expected = []
    for i, name in enumerate(ids):
        attrs = {} if i == 4 else {"dup": [[s, e, 1] for s, e in spans.get(i, [])]}
        expected.append({"id": name, "attributes": attrs})
    assert got == msgspec.json.Encoder().encode_lines(expected)
    assert [json.loads(x) for x in got.splitlines()] == expected
    assert format_unit_spans(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(1, np.int64)) == []


def test_distinct_keys_probed_once_and_repeats() -> None:
    params = BloomParams.sized(0, 10_000, 1e-6)
    bloom = BloomFilter.in_memory(params)
    rng = np.random.default_rng(5)
    keys = [str(x).encode() for x in rng.integers(0, 2000, size=5000)]
    seen = bloom.test_and_set(hash_keys(keys))
    earlier = set()
    expected = []
    for k in keys:
        expected.append(k in earlier)
        earlier.add(k)
    assert seen.tolist() == expected  # first occurrence kept, every later one marked
    more = [str(x).encode() for x in rng.integers(1000, 3000, size=3000)]
    probe = bloom.test_and_set(hash_keys(more), insert=False)
    assert probe.tolist() == [k in earlier for k in more]  # read-only: repeats answer like their first occurrence
    assert bloom.test_and_set(hash_keys([b"new", b"new"]), insert=False).tolist() == [False, False]
    assert len(bloom.test_and_set(hash_keys([]))) == 0


@pytest.mark.parametrize("piece", [1 << 20, 64])
def test_first_occurrences_by_table(piece: int, monkeypatch: Any) -> None:
    from dolma.dedup import bloom

    monkeypatch.setattr(bloom, "_PIECE", piece)  # 64: keys split into eighths, each table built in pieces
    rng = np.random.default_rng(2)
    for distinct, n in ((1, 10), (50, 5000), (3000, 4000), (10_000, 10_000)):
        pool = rng.integers(0, 2**63, distinct, dtype=np.int64).astype(np.uint64)
        h1 = pool[rng.integers(0, distinct, n)]
        h1[::7] &= np.uint64(0xFFFF)  # keys equal in their top bits: slots collide round after round
        first_seen: dict = {}
        want = [first_seen.setdefault(int(x), i) for i, x in enumerate(h1)]
        assert bloom.first_occurrences(h1).tolist() == want


def test_hash_keys_seed_and_shape() -> None:
    h = hash_keys([b"a", b"b"], seed=7)
    assert h.shape == (2, 2) and h.dtype == np.uint64
    assert not np.array_equal(h, hash_keys([b"a", b"b"]))
    assert np.array_equal(hash_keys([b"b"], seed=7)[0], h[1])


@pytest.mark.parametrize("seed", [0, 7, 2**64 - 1])
def test_key_hashes_are_xxh3_with_the_seed(seed: int) -> None:
    import xxhash

    keys = [b"", b"a", "p\u00e4ragraph".encode() * 9]
    assert key_hashes(keys, seed).tolist() == [xxhash.xxh3_64_intdigest(k, seed=seed) for k in keys]
    halves = key_hashes(keys, seed, wide=True).tolist()
    assert [(hi << 64) | lo for hi, lo in halves] == [xxhash.xxh3_128_intdigest(k, seed=seed) for k in keys]


def test_version_one_filter_is_refused(tmp_path: Any, capsys: Any) -> None:
    root = str(tmp_path / "v")
    write_documents(f"{root}/documents/a.jsonl.gz", [{"id": "1", "text": "x"}])
    params = BloomParams.sized(4096)
    assert params is not None
    header = bytearray(params.header())
    header[8:12] = (1).to_bytes(4, "little")
    header[32:48] = b"xxh3_128".ljust(16, b"\0")
    with open(f"{root}/f.bin", "wb") as f:
        f.write(bytes(header) + bytes(params.nbytes))
    assert len(header) == HEADER_SIZE
    assert main(["dedupe", "--documents", f"{root}/documents/*.gz", "--bloom_filter.file", f"{root}/f.bin",
                 "--dedupe.paragraphs.attribute_name", "dup"]) == 2
    err = capsys.readouterr().err
    assert "format version 1 (keys hashed with xxh3_128)" in err and "rebuild the filter" in err


@pytest.mark.parametrize("alphabet", [
    "aEb1_.,;:'\" \t\n-",
    "aeiouAEIOUbcY09_'.:;,\r\n\x0b\x0c\x1c\x1f\x00\x7f !#",
    "abcxyzABC0123456789_ \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x00\x01\x7f!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~",
])
def test_ascii_words_match_the_unicode_word_boundaries(alphabet: str) -> None:
    """The ASCII fast path of `words` gives exactly the `regex` module's segments."""
    import random

    from dolma.dedup.keys import unicode_words, words

    rng = random.Random(len(alphabet))
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert words(text) == unicode_words(text), repr(text)
    for text in ("can't l'avion 2.0 3,456.789 U.S.A. a:b _x_ 'a 'b x'1 1'1 a.'e", "snake_case.attr(1, 2); x = y'"):
        assert words(text) == unicode_words(text)
    assert words("l'avion 'a 1'a") == ["l'avion", "'", "a", "1", "'", "a"]  # UAX #29: no apostrophe-vowel join


def test_utf8_words_are_the_words_encoded() -> None:
    import random

    from dolma.dedup.keys import utf8_words, words

    rng = random.Random(7)
    alphabet = "ab1_.,;:'\" \t\n\x1c\x1f\x0b-éü日本\u00a0\u2019\u3000x"
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert utf8_words(text.encode()) == [w.encode() for w in words(text)], repr(text)


def _ngrams_by_paragraph(parts: List[bytes], n: int, stride: int, skip: bool, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    grams, owners = [], []
    for r, part in enumerate(parts):
        tokens = utf8_words(part)
        if len(tokens) < n:
            if not skip:
                grams.append(part)
                owners.append(r)
            continue
        g = ngram_keys(tokens, n, stride)
        grams += g
        owners += [r] * len(g)
    return key_hashes(grams, seed), np.asarray(owners, dtype=np.int64)


@pytest.mark.parametrize("alphabet", [
    ["a", "b", "the", "U.S.A", "can't", "2.0", "1,000", "\r", "\x00", "é", "日本", "\u0301", "👍🏽", "\u200d", " ",
     "  ", "\t", ",", ".", "\x1c", "x_y", "\u00a0", "don’t"],
    list("ab1 2_.:;,'\x00\t\r\x0b\x1c\x1f-!Z9"),
])
@pytest.mark.parametrize("group_bytes", [1 << 20, 40])
def test_batched_ngram_keys_are_the_per_paragraph_keys(alphabet: List[str], group_bytes: int, monkeypatch: Any) -> None:
    from dolma.dedup import ngrams

    monkeypatch.setattr(ngrams, "_GROUP_BYTES", group_bytes)  # 40: paragraphs segmented a few at a time
    rng = random.Random(5)
    for _ in range(150):
        parts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))).encode()
                 for _ in range(rng.randint(1, 8))]
        for n, stride, skip in ((1, 0, False), (3, 0, False), (3, 2, True), (5, 3, False), (2, 1, True)):
            want = _ngrams_by_paragraph(parts, n, stride, skip, 7)
            got = ngram_hashes(parts, n, stride, skip, 7)
            assert np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1]), (parts, n, stride, skip)
