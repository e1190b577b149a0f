"""The low-memory paths for very long documents (gopher's hash counting, c4's line arrays, span arrays written a
chunk at a time) give what the straightforward computations give, with chunks and partitions small enough that
every boundary case occurs."""

from __future__ import annotations

import random
from typing import List, Tuple

import msgspec
import numpy as np
import pytest

from dolma.core.data_types import Document
from dolma.taggers import c4, gopher, length, repeats, span_arrays, word_ids
from tests.conftest import write_documents


def random_text(rng: random.Random, vocabulary: List[str], pieces: int) -> str:
    separators = [" ", "  ", "\n", "\n\n", "\t", "\u3000", " \n", "\x1c", ".\n", "!\n", "\u2026\n"]
    words = []
    for _ in range(pieces):
        words.append(rng.choice(vocabulary))
        words.append(rng.choice(separators))
    return "".join(words[: rng.randint(0, len(words))])


# ---- repeats ----------------------------------------------------------------------------------------------


def chunked(values: np.ndarray, size: int):
    def chunks():
        for a in range(0, len(values), size):
            yield values[a : a + size], np.arange(a, min(a + size, len(values)))

    return chunks


@pytest.mark.parametrize("seed", range(4))
def test_partitions_sort_every_hash_once_with_its_payload_in_sequence_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # a few distinct values spread over the whole 64-bit range, so every partition gets some
    distinct = rng.integers(0, 2**63, size=rng.integers(1, 40), dtype=np.int64).view(np.uint64) * np.uint64(2)
    values = distinct[rng.integers(0, len(distinct), size=rng.integers(1, 300))]
    for parts in (1, 2, 3, 7):
        seen = []
        for hashes, positions in repeats.sorted_partitions(chunked(values, 5), len(values), parts, np.int64):
            assert (np.diff(hashes.astype(object)) >= 0).all()
            assert (values[positions] == hashes).all()
            same = hashes[1:] == hashes[:-1]
            assert (positions[1:][same] > positions[:-1][same]).all()  # equal hashes in sequence order
            seen.extend(positions.tolist())
            unique, counts = np.unique(hashes, return_counts=True)
            assert repeats.repeated(hashes).tolist() == (counts[np.searchsorted(unique, hashes)] > 1).tolist()
            if len(hashes):
                top, firsts = repeats.most_common(hashes)
                assert top == counts.max()
                assert sorted(hashes[firsts].tolist()) == sorted(unique[counts == top].tolist())
                assert (hashes[firsts - 1] != hashes[firsts])[firsts > 0].all()  # each is the first of its value
        assert sorted(seen) == list(range(len(values)))


def fed(hashes: np.ndarray, chunk: int, piece: int = 7) -> word_ids.WordIds:
    """WordIds of ``hashes``, given ``piece`` at a time."""
    ids = word_ids.WordIds(len(hashes), chunk)
    pieces = [hashes[a : a + piece] for a in range(0, len(hashes), piece)]
    for p in pieces:
        ids.extend(p)
    ids.finish(pieces.__getitem__)
    return ids


@pytest.mark.parametrize("chunk", [1, 2, 5, 64])
def test_word_ids_hash_equal_runs_of_words_equally(monkeypatch, chunk: int) -> None:
    monkeypatch.setattr(word_ids, "_MIN_PENDING", 3)  # the distinct hashes merged every few pieces
    rng = random.Random(chunk)
    words = [rng.choice("abcd") for _ in range(200)]
    ids = fed(repeats.word_hashes(words), chunk)
    for n in (1, 2, 3, 5, 10):
        hashes = np.concatenate([h for _, h in ids.runs(n)]).tolist()
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        assert len(hashes) == len(grams)
        first_hash = dict(zip(grams, hashes))
        assert [first_hash[g] for g in grams] == hashes  # equal n-grams, equal hashes
        assert len(set(hashes)) == len(set(grams))  # and different ones differ


@pytest.mark.parametrize("seed", range(4))
def test_word_ids_are_exact_when_distinct_hashes_share_their_low_half(monkeypatch, seed: int) -> None:
    monkeypatch.setattr(word_ids, "_MIN_PENDING", 5)
    rng = np.random.default_rng(seed)
    # 0, 1 and 2 share their low 32 bits with other values (as the fresh ids 0..k could be), 3 and 4 do not
    low = np.array([0, 1, 2, 3, 4], dtype=np.uint64)
    high = rng.integers(1, 2**31, size=(5, 3)).astype(np.uint64) << np.uint64(32)
    distinct = np.concatenate([low[:3, None] + high[:3], low[3:, None] + high[3:, :1]], axis=None)
    hashes = distinct[rng.integers(0, len(distinct), size=300)]
    ids = fed(hashes, 16).ids
    pairs = set(zip(hashes.tolist(), ids.tolist()))
    assert len(pairs) == len(set(hashes.tolist())) == len(set(ids.tolist()))  # a word, an id; an id, a word
    unshared = np.isin(hashes & np.uint64(0xFFFFFFFF), low[3:])
    assert (ids[unshared] == hashes[unshared].astype(np.uint32)).all()  # unshared low halves kept as ids


# ---- gopher ------------------------------------------------------------------------------------------------

# many distinct words (most n-grams unique, so the first n-gram is the most common), or a few (ties between the
# most common n-grams of different partitions, duplicate lines), with the characters gopher's rules look at
VOCABULARIES = [
    [f"w{i}" for i in range(500)] + ["the", "#x", "\u2026", "-", "*"],
    ["a", "bb", "the", "of", "x\u00e9", "\u65e5\u672c", "#tag", "\u2026", "*", "-"],
    ["a", "b"],
]


def small_pieces(monkeypatch, chars: int, positions: int, partition: int) -> None:
    monkeypatch.setattr(gopher, "LONG_WORD", 3)  # most words' lengths kept aside
    monkeypatch.setattr(gopher, "CHUNK_CHARS", chars)
    monkeypatch.setattr(length, "CHUNK_CHARS", chars)
    monkeypatch.setattr(gopher, "CHUNK_POSITIONS", positions)
    monkeypatch.setattr(gopher, "MIN_PARTITION_HASHES", partition)
    monkeypatch.setattr(gopher, "SORT_BYTES_PER_CHAR", 0.0)


@pytest.mark.parametrize("seed", range(9))
def test_gopher_long_text_path_gives_the_whole_text_values(monkeypatch, seed: int) -> None:
    rng = random.Random(seed)
    text = random_text(rng, VOCABULARIES[seed % 3], rng.randint(1, 300))
    expected = {(d, e): gopher.gopher_statistics(text, d, e) for d in (False, True) for e in (False, True)}
    for chars, positions, partition in ((2, 3, 17), (5, 1, 60), (64, 7, 1 << 16)):
        small_pieces(monkeypatch, chars, positions, partition)
        for (dolma, empty), values in expected.items():
            assert gopher._large_text_statistics(text, dolma, empty) == values, (chars, positions, partition)


def test_gopher_most_common_ngram_is_the_earliest_of_those_tied(monkeypatch) -> None:
    # "c d", "d aaa" and "aaa bbb" each occur three times; "c d" first: its 2 characters count (of 26)
    text = "x c d aaa bbb c d aaa bbb c d aaa bbb y"
    expected = gopher.gopher_statistics(text)
    assert dict(expected)["fraction_of_characters_in_most_common_2grams"] == pytest.approx(3 * 2 / 26)
    for partition in (1, 2, 3, 100):
        small_pieces(monkeypatch, 4, 2, partition)
        assert gopher._large_text_statistics(text, False, False) == expected


def test_gopher_word_and_line_counts_agree_with_split() -> None:
    text = "a\u3000b\x1cc\u00a0d \u200be\n\nf"
    words, with_alpha = gopher._word_counts(text)
    assert words == len(text.split())
    assert with_alpha == sum(any(ch.isalpha() for ch in word) for word in text.split())
    assert gopher._median({3: 1, 1: 2, 7: 1}, 4) == 2.0 and gopher._median({5: 3}, 3) == 5.0


# ---- c4 ----------------------------------------------------------------------------------------------------


def plain_line_spans(text: str) -> Tuple[List[Tuple[int, int]], List[Tuple[int, int]], int]:
    """C4's line rules, one line at a time (what Dolma does)."""
    no_punctuation, too_few = [], []
    lines = text.split("\n")
    start = 0
    for i, line in enumerate(lines):
        end = start + len(line) + (i < len(lines) - 1)
        if not line.rstrip().endswith((".", "?", "!", '"')):
            no_punctuation.append((start, end))
        if len(line.split()) < 3:
            too_few.append((start, end))
        start = end
    return no_punctuation, too_few, len(lines)


C4_VOCABULARY = ["a", "b.", "end!", "q?", '"', "{", "lorem", "ipsum", "javascript", "Java", "\u03a3", "\u0130", "anal", "ball", "gag"]


@pytest.mark.parametrize("seed", range(6))
def test_c4_line_table_and_flags_match_the_plain_rules(monkeypatch, seed: int) -> None:
    rng = random.Random(seed)
    texts = [random_text(rng, C4_VOCABULARY, rng.randint(0, 80)) for _ in range(30)]
    texts += ["", "\n", "a b c\n", "Lorem\nipsum", "lorem ipsum", "ball gag", "x javascript: y"]
    expected = [(c4.C4V1().tag(Document("s", "i", t)), c4.C4V2().tag(Document("s", "i", t))) for t in texts]
    monkeypatch.setattr(length, "CHUNK_CHARS", 3)  # the line table and the lower-cased text in small pieces
    monkeypatch.setattr(span_arrays, "MIN_SPAN_ARRAY", 1)
    monkeypatch.setattr(span_arrays, "CHUNK_SPANS", 2)
    for text, (v1, v2) in zip(texts, expected):
        no_punctuation, too_few, count = plain_line_spans(text)
        table = c4.LineTable(text)
        assert table.count == count
        for which, plain in ((table.no_punctuation, no_punctuation), (table.too_few_words, too_few)):
            assert table.spans(which, arrays=False) == [[s, e, 1.0] for s, e in plain]
            assert table.spans(which, arrays=True) == [[s, e, 1.0] for s, e in plain]
        lowered = text.lower()
        flags = c4.DocumentFlags(text, javascript_word=True)
        assert flags.lorem_ipsum == ("lorem ipsum" in lowered)
        assert flags.javascript_substring == ("javascript" in lowered)
        assert flags.javascript_word == ("javascript" in lowered.split())
        assert flags.naughty_word == c4.has_naughty_word(lowered)
        doc = Document("s", "i", text)
        # unchanged by the small pieces; tag_batch gives the same values as arrays
        assert [c4.C4V1().tag(doc), c4.C4V2().tag(doc)] == [v1, v2]
        batch = c4.C4V1().tag_batch([doc])[0], c4.C4V2().tag_batch([doc])[0]
        for out in batch:
            assert all(isinstance(v, span_arrays.SpanArray) for k, v in out.items() if k.startswith("lines_"))
        assert [{k: list(v) for k, v in out.items()} for out in batch] == [v1, v2]
        assert [list(out) for out in batch] == [list(v1), list(v2)]  # the keys in the same order


def test_lower_casing_in_pieces_is_lower_casing_the_text(monkeypatch) -> None:
    # a final sigma depends on its neighbours; pieces end at newlines, which no context crosses
    text = "\u039f\u0394\u039f\u03a3\n\u03a3\u039f\u03a3 \u03a3\n\u0130X\u03a3.\n\u03a3"
    monkeypatch.setattr(length, "CHUNK_CHARS", 1)
    pieces = list(c4.lowered_pieces(text))
    assert len(pieces) == 4 and "\n".join(pieces) == text.lower()


# ---- span arrays -------------------------------------------------------------------------------------------


def test_span_arrays_read_and_encode_as_their_lists(monkeypatch) -> None:
    starts, ends = np.array([0, 5, 9], dtype=np.uint32), np.array([5, 9, 12], dtype=np.uint32)
    spans = span_arrays.SpanArray(starts, ends, 1.0)
    plain = [[0, 5, 1.0], [5, 9, 1.0], [9, 12, 1.0]]
    assert len(spans) == 3 and list(spans) == plain and spans == plain and spans.tolist() == plain
    assert spans + [[1, 2, 3.0]] == plain + [[1, 2, 3.0]] and [[1, 2, 3.0]] + spans == [[1, 2, 3.0]] + plain
    for size in (1, 2, 3, 10):
        monkeypatch.setattr(span_arrays, "CHUNK_SPANS", size)
        assert b"".join(spans.json_pieces(msgspec.json.encode)) == msgspec.json.encode(plain)
    empty = span_arrays.SpanArray(starts[:0], ends[:0], 1.0)
    assert b"".join(empty.json_pieces(msgspec.json.encode)) == b"[]"
    # spans picked by a mask: chunks where none is picked give no stray comma
    picked = span_arrays.SpanArray(starts, ends, 1.0, np.array([True, False, True]))
    assert len(picked) == 2 and picked == [plain[0], plain[2]]
    for size in (1, 2, 3):
        monkeypatch.setattr(span_arrays, "CHUNK_SPANS", size)
        assert b"".join(picked.json_pieces(msgspec.json.encode)) == msgspec.json.encode([plain[0], plain[2]])
    assert span_arrays.span_values(starts, ends, 1.0) == plain
    assert isinstance(span_arrays.span_values(starts, ends, 1.0), list)  # short: a plain list


def test_tag_stage_writes_span_arrays_as_the_lists_bytes(tmp_path, monkeypatch) -> None:
    from tests.test_tag_stage import tagged_bytes

    rng = random.Random(7)
    docs = [
        {"id": f"d{i}", "text": random_text(rng, C4_VOCABULARY, rng.randint(0, 60)), "source": "s"}
        for i in range(20)
    ]
    docs.insert(3, {"id": "bad", "text": 5, "source": "s"})  # a quarantined line keeps its place
    write_documents(str(tmp_path / "documents" / "a.jsonl.gz"), docs)

    def tag(folder: str) -> bytes:
        return tagged_bytes(tmp_path, ["c4_v2", "gopher_v1", "c4_v1"], folder, on_error="skip")

    plain = tag("plain")
    monkeypatch.setattr(span_arrays, "MIN_SPAN_ARRAY", 1)
    monkeypatch.setattr(span_arrays, "CHUNK_SPANS", 3)
    written = []
    pieces = span_arrays.SpanArray.json_pieces
    monkeypatch.setattr(span_arrays.SpanArray, "json_pieces", lambda self, encode: written.append(self) or pieces(self, encode))
    arrays = tag("arrays")
    assert len(written) > 20  # (the stage ran in this process, and wrote the lines' spans from arrays)
    assert arrays.replace(b"arrays__", b"plain__") == plain
    assert b"lines_with_no_ending_punctuation" in plain


# ---- token counts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dolma_v1_tokenizer", "dolma_v2_tokenizer", "tokenizers_AI2_OLMo_v1"])
def test_token_counts_of_long_texts_in_pieces_are_the_whole_texts_counts(monkeypatch, name: str) -> None:
    from dolma.core.registry import TaggerRegistry
    from dolma.taggers import token_counts

    tagger = TaggerRegistry.get(name)()
    assert tagger._piecewise  # the shipped tokenizers are all ones pieces are proven for
    rng = random.Random(name)
    alphabet = ["a", "b", "é", "1", "23", " ", "  ", "   ", "\n", "\t", ".", "'s", "'", "中", "🙂", "\u00a0", "<|endoftext|>"]
    texts = ["", " ", "  x  "] + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200))) for _ in range(60)]
    whole = tagger.counts(texts)
    monkeypatch.setattr(token_counts, "LONG_TEXT_CHARS", 0)
    for piece in (1, 2, 7):
        monkeypatch.setattr(token_counts, "PIECE_CHARS", piece)
        assert tagger.counts(texts) == whole, piece


def test_tokenizer_repetitions_of_long_texts_in_pieces_are_the_whole_texts(monkeypatch) -> None:
    from dolma.core.registry import TaggerRegistry
    from dolma.taggers import repetitions

    tagger = TaggerRegistry.get("tokenizer_repetitions_v1")()
    assert tagger._piecewise
    rng = random.Random(11)
    units = ["ab ", "ab", " the cat", "x", "中文", "🙂 ", "  ", "\n", "1 2 3 ", "'s "]
    texts = ["", " ", "word"]
    for _ in range(40):
        parts = []
        for _ in range(rng.randint(0, 12)):
            parts.append(rng.choice(units) * rng.choice([1, 1, 3, 4, 7]))
            parts.append(rng.choice([" ", "\n", "", " . "]))
        texts.append("".join(parts))

    def spans(text: str):
        return [(s.start, s.end, s.type, s.score) for s in tagger.predict(Document(source="s", id="i", text=text)).spans]

    whole = [spans(text) for text in texts]
    assert any(len(s) > 3 for s in whole)  # repetitions were found
    monkeypatch.setattr(repetitions, "LONG_TEXT_CHARS", 0)
    for piece in (1, 3, 16):
        monkeypatch.setattr(repetitions, "PIECE_CHARS", piece)
        assert [spans(text) for text in texts] == whole, piece


# ---- language ID in groups ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cld2_en_paragraph_with_doc_score_v2", "ft_lang_id_en_paragraph_with_doc_score_v2",
                                  "ft_lang_id_paragraph_v1", "cld2_doc_v2"])
def test_language_units_sent_in_groups_give_the_same_attributes(monkeypatch, name: str) -> None:
    from dolma.core.registry import TaggerRegistry
    from dolma.taggers import language

    tagger = TaggerRegistry.get(name)()
    rng = random.Random(name)
    lines = ["The cat sat on the mat.", "Le chat est sur le tapis.", "Der Hund schläft.", "   ", "", "12345",
             "El perro duerme en la casa.", "これは日本語です。"]
    docs = [Document(source="s", id=str(k), text="\n".join(rng.choice(lines) for _ in range(rng.randint(0, 9))))
            for k in range(12)]
    expected = tagger.tag_batch(docs)
    spans = [tagger.predict(doc).spans for doc in docs]
    for group in (1, 2, 5):
        monkeypatch.setattr(language, "DETECT_GROUP", group)
        assert tagger.tag_batch(docs) == expected, group
        assert [tagger.predict(doc).spans for doc in docs] == spans, group


# ---- language ID of long texts: scores in arrays -----------------------------------------------------------

LANGUAGE_LINES = ["The cat sat on the mat.", "Le chat est sur le tapis.", "Der Hund schläft.", "   ", "", "12345",
                  "El perro duerme en la casa.", "これは日本語です。", "\t", "Ok"]


@pytest.mark.parametrize("name", ["cld2_en_paragraph_with_doc_score_v2", "ft_lang_id_en_paragraph_with_doc_score_v2",
                                  "cld3_en_paragraph_with_doc_score_v2", "ft_lang_id_paragraph_v1",
                                  "cld2_paragraph_v2", "langdetect_en_paragraph_v1"])
def test_long_texts_paragraph_scores_as_arrays_are_the_lists(monkeypatch, name: str) -> None:
    # (not Lingua's: its values vary in their last bits from run to run)
    from dolma.core.registry import TaggerRegistry
    from dolma.taggers import language, unit_scores

    tagger = TaggerRegistry.get(name)()
    tagger.DETECT_BLANK = name == "cld2_paragraph_v2"  # blank lines asked too, as Lingua's taggers ask them
    rng = random.Random(name)
    texts = ["", "\n", "  \n\n", "x"] + ["\n".join(rng.choice(LANGUAGE_LINES) for _ in range(rng.randint(1, 14)))
                                         for _ in range(10)]
    docs = [Document(source="s", id=str(k), text=text) for k, text in enumerate(texts)]
    expected = tagger.tag_batch(docs)
    monkeypatch.setattr(language, "LONG_TEXT_CHARS", 0)
    for group in (1, 3, 4096):
        monkeypatch.setattr(language, "DETECT_GROUP", group)
        outputs = tagger.tag_batch(docs)
        assert any(isinstance(v, unit_scores.ScoredSpans) for out in outputs for v in out.values())
        assert [list(out) for out in outputs] == [list(out) for out in expected], group  # keys in the same order
        assert outputs == expected, group
        for out, plain in zip(outputs, expected):  # written as the same JSON bytes
            for key, values in out.items():
                if isinstance(values, span_arrays.SpanArray):
                    assert b"".join(values.json_pieces(msgspec.json.encode)) == msgspec.json.encode(plain[key])


def test_unit_scores_keep_exact_scores_and_the_units_given() -> None:
    from dolma.taggers import unit_scores

    assert unit_scores.compact_scores([0.5, 0.25]).dtype == np.float32  # exact in 32 bits
    assert unit_scores.compact_scores([0.1, 0.25]).dtype == np.float64
    same = unit_scores.compact_scores([0.1] * 5)
    assert same.tolist() == [0.1] * 5 and same.base.nbytes == 8  # one value, read five times
    assert msgspec.json.encode(unit_scores.compact_scores([0.0, -0.0]).tolist()) == b"[0.0,-0.0]"  # not the same JSON
    table = unit_scores.UnitScores(100, 8)
    table.add_group([(0, 3), (3, 9), (9, 10)], [[("en", 0.5), ("fr", 0.1)], [("fr", 0.2)], [("en", 0.75), ("en", 0.1)]])
    table.add_group([(10, 20)], [[("de", 1.0)]])
    spans = table.spans()
    assert list(spans) == ["en", "fr", "de"]
    assert spans["en"] == [[0, 3, 0.5], [9, 10, 0.75], [9, 10, 0.1]] and len(spans["en"]) == 3
    assert spans["fr"] == [[0, 3, 0.1], [3, 9, 0.2]] and spans["de"] == [[10, 20, 1.0]]
    assert table.spans(negate=True)["not_fr"] == [[0, 3, 1.0 - 0.1], [3, 9, 1.0 - 0.2]]
    assert spans["en"].weighted_sum() == sum((e - s) * v for s, e, v in spans["en"].tolist())


def test_fasttext_line_of_a_long_text_in_chunks_is_the_plain_line(monkeypatch) -> None:
    from dolma.taggers import fasttext_lang

    rng = random.Random(3)
    alphabet = ["a", "B", "\u03a3", "\u03c3", "\u0130", "\u00c9", "'", ".", " ", "  ", "\n", "\t", "\u3000", "\u00a0", "x\u0301", "1"]
    texts = ["", " ", "\n \n", "\u03a3", " \u03a3 \u03a3\u03a3 \n"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(80)]
    expected = [[fasttext_lang.fasttext_text(t, lowercase) + "\n" for t in texts] for lowercase in (False, True)]
    monkeypatch.setattr(fasttext_lang, "LONG_TEXT_CHARS", 0)
    for chunk in (1, 2, 5, 100):
        monkeypatch.setattr(fasttext_lang, "CHUNK_CHARS", chunk)
        for lowercase, plain in zip((False, True), expected):
            lines = [fasttext_lang.fasttext_line(t, lowercase) for t in texts]
            assert all(isinstance(line, bytearray) for line in lines)
            assert [line.decode("utf-8") for line in lines] == plain, chunk


@pytest.mark.parametrize("name", ["ft_lang_id_doc_v1", "ft_lang_id_en_doc_v2", "lang_ensemble_v1"])
def test_fasttext_scores_of_long_lines_are_the_plain_scores(monkeypatch, name: str) -> None:
    from dolma.core.registry import TaggerRegistry
    from dolma.taggers import fasttext_lang

    tagger = TaggerRegistry.get(name)()
    rng = random.Random(name)
    texts = ["", "  \n", "\u03a3\u039f\u03a3 \u039f\u03a3"] + [" \n".join(rng.choice(LANGUAGE_LINES) for _ in range(rng.randint(1, 14)))
                                                             for _ in range(8)]
    docs = [Document(source="s", id=str(k), text=text) for k, text in enumerate(texts)]
    expected = tagger.tag_batch(docs)
    monkeypatch.setattr(fasttext_lang, "LONG_TEXT_CHARS", 0)
    monkeypatch.setattr(fasttext_lang, "CHUNK_CHARS", 4)
    assert tagger.tag_batch(docs) == expected


def test_tag_stage_writes_long_texts_language_scores_as_the_lists_bytes(tmp_path, monkeypatch) -> None:
    from dolma.taggers import language
    from tests.test_tag_stage import tagged_bytes

    rng = random.Random(5)
    docs = [{"id": f"d{i}", "text": "\n".join(rng.choice(LANGUAGE_LINES) for _ in range(rng.randint(0, 12))), "source": "s"}
            for i in range(8)]
    write_documents(str(tmp_path / "documents" / "a.jsonl.gz"), docs)
    taggers = ["ft_lang_id_en_paragraph_with_doc_score_v2", "cld2_paragraph_v2", "ft_lang_id_paragraph_v1"]

    def tag(folder: str) -> bytes:
        return tagged_bytes(tmp_path, taggers, folder)

    plain = tag("plain")
    monkeypatch.setattr(language, "LONG_TEXT_CHARS", 0)
    monkeypatch.setattr(language, "DETECT_GROUP", 16)  # (two units a group for every-language layouts)
    written = []
    pieces = span_arrays.SpanArray.json_pieces
    monkeypatch.setattr(span_arrays.SpanArray, "json_pieces", lambda self, encode: written.append(self) or pieces(self, encode))
    assert tag("arrays").replace(b"arrays__", b"plain__") == plain
    assert len(written) > 100  # (the stage ran in this process, and wrote the scores from arrays)
    assert b"plain__ft_lang_id_paragraph_v1__fr" in plain and b"doc_not_en" in plain


# ---- uniseg word counts of long texts ----------------------------------------------------------------------

UNISEG_ALPHABET = ["a", "Bc", "1", "2.5", " ", "  ", "\n", "\r", "\r\n", "'", ".", ",", ":", "\u0301", "\u200d", "\u00ad",
                   "\U0001f1fa", "\U0001f1f8", "\u05d0", '"', "\u30a2", "_", "\u3000", "\U0001f44d", "\t", "\u00a0"]


@pytest.mark.parametrize("name", ["uniseg_length_v1", "uniseg_length_paragraphs_v1", "uniseg_length_paragraphs_with_empty_v1",
                                  "uniseg_length_paragraphs_with_doc_length_v1"])
def test_uniseg_counts_of_long_texts_in_pieces_are_the_whole_texts(monkeypatch, name: str) -> None:
    from dolma.core.registry import TaggerRegistry
    from dolma.taggers import uniseg_length, unit_arrays

    tagger = TaggerRegistry.get(name)()
    rng = random.Random(name)
    texts = ["", " ", "\n\n", " a ", "a\n"] + ["".join(rng.choice(UNISEG_ALPHABET) for _ in range(rng.randint(0, 120)))
                                               for _ in range(60)]
    docs = [Document(source="s", id=str(k), text=text) for k, text in enumerate(texts)]
    expected = [tagger.tag(doc) for doc in docs]
    monkeypatch.setattr(uniseg_length, "LONG_TEXT_CHARS", 0)
    monkeypatch.setattr(unit_arrays, "CHUNK_SPANS", 2)
    for chunk in (1, 3, 50):
        monkeypatch.setattr(uniseg_length, "CHUNK_CHARS", chunk)
        outputs = tagger.tag_batch(docs)
        assert [list(out) for out in outputs] == [list(out) for out in expected], chunk
        assert outputs == expected, chunk
        for out, plain in zip(outputs, expected):  # written as the same JSON bytes
            for key, values in out.items():
                if isinstance(values, span_arrays.SpanArray):
                    assert b"".join(values.json_pieces(msgspec.json.encode)) == msgspec.json.encode(plain[key])
        if name == "uniseg_length_v1":
            assert [tagger.tag(doc) for doc in docs] == expected, chunk


# ---- langdetect: a long text's prefix ---------------------------------------------------------------------

LANGDETECT_PIECES = ["the", "cat", "sat", "le", "chat", "der", "Hund", "http://x.org/a?b=c", "https://", "me@mail.com", "@",
                     "a\u0301", "o\u0323", "Vi\u1ec7t", " ", " ", " ", "\n", "\t", "日本語", "-_."]


@pytest.mark.parametrize("name", ["langdetect_doc_v1", "langdetect_doc_en_v1"])
def test_langdetect_of_a_long_texts_prefix_is_the_whole_texts(monkeypatch, name: str) -> None:
    from dolma.core.registry import TaggerRegistry
    from dolma.taggers import langdetect_lang

    tagger = TaggerRegistry.get(name)()
    tagger.detector.max_text_length = 40  # what langdetect reads of a text, so that prefixes are short
    rng = random.Random(name)
    texts = ["", " ", "http://x.org " * 9 + "the cat sat"] + ["".join(rng.choice(LANGDETECT_PIECES) for _ in range(rng.randint(0, 80)))
                                                             for _ in range(40)]
    docs = [Document(source="s", id=str(k), text=text) for k, text in enumerate(texts)]
    expected = tagger.tag_batch(docs)
    assert any(expected)
    monkeypatch.setattr(langdetect_lang, "LONG_TEXT_CHARS", 0)
    for size in (1, 7, 40):
        monkeypatch.setattr(langdetect_lang, "PREFIX_CHARS", size)
        assert tagger.tag_batch(docs) == expected, size
    assert len(tagger._prefix(texts[2] * 10)) < len(texts[2] * 10)
