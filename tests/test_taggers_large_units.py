"""Taggers with a span per paragraph, line, sentence or match give a long text's values as arrays
(``dolma.taggers.unit_arrays``): the same attribute JSON as the plain path, with thresholds, chunks and batches small
enough that every boundary case occurs."""

from __future__ import annotations

import random
from typing import List, Tuple

import msgspec
import numpy as np
import pytest

from dolma.core.data_types import Document, TaggerOutput
from dolma.core.registry import TaggerRegistry
from dolma.taggers import span_arrays, unit_arrays
from dolma.taggers.length import paragraph_bounds


def encoded(output: TaggerOutput) -> List[Tuple[str, bytes]]:
    """Each key with the JSON bytes the tag stage writes for its value (a SpanArray a chunk at a time)."""
    out = []
    for key, value in output.items():
        if isinstance(value, span_arrays.SpanArray):
            out.append((key, b"".join(value.json_pieces(msgspec.json.encode))))
        else:
            out.append((key, msgspec.json.encode(value)))
    return out


def texts(seed: int, pieces: List[str], count: int = 40) -> List[str]:
    rng = random.Random(seed)
    out = ["", "\n", " \n\n", "x", "a\n", "!!!\n\n...", "\u3000\n\u00a0x\n"]
    for _ in range(count):
        out.append("".join(rng.choice(pieces) for _ in range(rng.randint(0, 120))))
    return out


PIECES = ["a", "bb", " ", "  ", "\n", "\n\n", "\t", "\u3000", "\x1c", ".", "!?", "--", "\u2603", "\u00e9", "1",
          "ab ab ab ab", "x x x x ", "....", "\u2026", "\U0001F600", " \n", "\r\n", "Fuck off.", "The cat sat. "]


def small_pieces(monkeypatch, chars: int, spans: int) -> None:
    monkeypatch.setattr(unit_arrays, "LONG_TEXT_CHARS", 0)
    monkeypatch.setattr(unit_arrays, "CHUNK_CHARS", chars)
    monkeypatch.setattr(span_arrays, "MIN_SPAN_ARRAY", 1)
    monkeypatch.setattr(span_arrays, "CHUNK_SPANS", spans)
    monkeypatch.setattr(unit_arrays, "CHUNK_SPANS", spans)
    monkeypatch.setattr(unit_arrays.SpanCollector, "BATCH", spans)


def test_paragraph_arrays_are_the_paragraph_bounds(monkeypatch) -> None:
    for chars in (1, 2, 5, 1 << 20):
        monkeypatch.setattr(unit_arrays, "CHUNK_CHARS", chars)
        for text in texts(1, PIECES):
            starts, ends = unit_arrays.paragraph_arrays(text)
            assert list(zip(starts.tolist(), ends.tolist())) == paragraph_bounds(text), (chars, text)


def test_scored_span_arrays_encode_as_their_lists(monkeypatch) -> None:
    starts, ends = np.array([0, 5, 9], dtype=np.uint32), np.array([5, 9, 12], dtype=np.uint32)
    spans = unit_arrays.ScoredSpanArray(starts, ends, np.array([5.0, 0.25, 3.0]))
    plain = [[0, 5, 5.0], [5, 9, 0.25], [9, 12, 3.0]]
    assert len(spans) == 3 and spans == plain
    for size in (1, 2, 3, 10):
        monkeypatch.setattr(unit_arrays, "CHUNK_SPANS", size)
        assert b"".join(spans.json_pieces(msgspec.json.encode)) == msgspec.json.encode(plain)
    assert isinstance(unit_arrays.scored_span_values(starts, ends, np.zeros(3)), list)  # short: a plain list
    with pytest.raises(ValueError):
        unit_arrays.ScoredSpanArray(starts, ends, np.zeros(2))


def test_span_collector_keeps_every_span_in_order(monkeypatch) -> None:
    monkeypatch.setattr(unit_arrays.SpanCollector, "BATCH", 3)
    collector = unit_arrays.SpanCollector(100, np.float64)
    assert [a.tolist() for a in collector.arrays()] == [[], [], []]
    for k in range(10):
        collector.add(k, k + 2, k / 4)
    starts, ends, scores = collector.arrays()
    assert starts.tolist() == list(range(10)) and ends.tolist() == list(range(2, 12))
    assert scores.tolist() == [k / 4 for k in range(10)]


@pytest.mark.parametrize(
    "name",
    [
        "char_length_with_paragraphs_v1", "not_alphanum_paragraph_v1", "olmo_pretokenizer_with_paragraphs_v1",
        "repetitions_v1", "paragraph_repetitions_v1", "tokenizer_repetitions_v1", "paragraph_tokenizer_repetitions_v1",
    ],
)
def test_long_text_path_writes_the_plain_values(monkeypatch, name: str) -> None:
    tagger = TaggerRegistry.get(name)()
    if name.startswith("tokenizer"):  # the whole text tokenized at once, as a short text is
        monkeypatch.setattr("dolma.taggers.repetitions.LONG_TEXT_CHARS", 1 << 30)
    docs = [Document(source="s", id=str(k), text=text) for k, text in enumerate(texts(name.__len__(), PIECES))]
    docs.append(Document(source="s", id="punct", text="...\n!!\n\n--\n"))  # every paragraph tagged
    expected = [encoded(tagger.tag(doc)) for doc in docs]
    assert expected == [encoded(out) for out in tagger.tag_batch(docs)]  # short texts: the plain path
    for chars, spans in ((1, 1), (3, 2), (7, 5), (1 << 20, 1 << 16)):
        small_pieces(monkeypatch, chars, spans)
        outputs = tagger.tag_batch(docs)
        assert any(isinstance(v, span_arrays.SpanArray) for out in outputs for v in out.values())
        assert [encoded(out) for out in outputs] == expected, (chars, spans)


PROSE = ["The cat sat on the mat.", "You are a fucking idiot!", "Mr. Smith went to Washington.", "what the hell",
         "Is it?", "\n", "\n\n", " ", "  ", "e.g. this one", "Σ", "İSTANBUL", "ΟΔΟΣ.", "x", "a-b", "\u3000", "3.14",
         "shit"]


@pytest.mark.parametrize("name", ["profanity_document_v1", "profanity_sentence_v1"])
def test_profanity_of_long_texts_in_pieces_is_the_whole_texts(monkeypatch, name: str) -> None:
    pytest.importorskip("profanity_check")
    from dolma.taggers import length, long_sentences, toxicity

    tagger = TaggerRegistry.get(name)()
    docs = [Document(source="s", id=str(k), text=text) for k, text in enumerate(texts(5, PROSE, count=30))]
    expected = [encoded(tagger.tag(doc)) for doc in docs]
    assert any(b"profanity" in str(e).encode() for e in expected)
    for chars, window, batch in ((1, 40, 1), (7, 100, 2), (64, 1 << 20, 3)):
        small_pieces(monkeypatch, chars, batch)
        monkeypatch.setattr(length, "CHUNK_CHARS", chars)
        monkeypatch.setattr(long_sentences, "WINDOW_CHARS", window)
        monkeypatch.setattr(long_sentences, "MARGIN_CHARS", window // 4)
        monkeypatch.setattr(toxicity, "SENTENCES_AT_A_TIME", batch)
        monkeypatch.setattr(toxicity, "CHARS_AT_A_TIME", window)
        assert [encoded(out) for out in tagger.tag_batch(docs)] == expected, (chars, window, batch)


def test_sentence_windows_give_the_whole_texts_sentences(monkeypatch) -> None:
    from dolma.taggers import long_sentences
    from dolma.taggers.segments import sentence_bounds

    odd = ["\x05", "\x05\x05", "\u3000\x05", "a\x05\x05\x05\x05b. C", "x. " + "\u3000" * 40 + "y. Z"]
    for text in texts(6, PROSE, count=60) + odd:
        whole = sentence_bounds(text)
        for window in (40, 100, 1 << 20):
            monkeypatch.setattr(long_sentences, "WINDOW_CHARS", window)
            monkeypatch.setattr(long_sentences, "MARGIN_CHARS", window // 4)
            found = [(a, b) for a, b in long_sentences.window_sentence_bounds(text) if text[a:b].strip()]
            assert found == whole, (window, text)


SECRET_LINES = [
    'aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"', 'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
    'password = "hunter2hunter2"', "token: ghp_abcdefghijklmnopqrstuvwxyz0123456789", "x = 1", "", "   ",
    'slack = "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx"', "# pragma: allowlist nextline secret",
    'api_key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"', "  secret = 'f8c3de3d-1fea-4d7c-a8b0-29f63c4c3454'",
]


def test_code_secrets_in_batches_of_lines_are_the_whole_files(monkeypatch) -> None:
    pytest.importorskip("detect_secrets")
    from detect_secrets.core.scan import _process_line_based_plugins
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.settings import default_settings

    from dolma.taggers import code_secrets

    def whole_file(text: str) -> list:  # detect-secrets on all the lines at once
        found = SecretsCollection()
        with default_settings():
            lines = list(enumerate(text.splitlines(), 1))
            for secret in _process_line_based_plugins(lines=lines, filename="code_str.yml"):
                found["code_str.yml"].add(secret)
        return [(s.line_number, s.type, s.secret_value or "") for _, s in found]

    rng = random.Random(8)
    separators = ["\n", "\n", "\r\n", "\r", "\x0c", "\u2028"]
    texts_ = [
        "".join(rng.choice(SECRET_LINES) + rng.choice(separators) for _ in range(rng.randint(0, 40))) for _ in range(12)
    ]
    expected = [whole_file(text) for text in texts_]
    assert sum(map(len, expected)) > 20
    def placed(text: str, secrets: list) -> list:  # Dolma's placement, from the whole lines list
        lines, spans = text.splitlines(), []
        for number, kind, value in secrets:
            start = text.find(lines[number - 1]) + lines[number - 1].find(value)
            if text[start : start + len(value)] == value:
                spans.append((start, start + len(value), "SECRET_" + kind.replace(" ", "_"), 1.0))
        words = len(text.split())
        return spans + [(0, len(text), "doc", len(spans) / words if words else -1.0)]

    tagger = TaggerRegistry.get("code_secrets_v1")()
    spans = [placed(text, secrets) for text, secrets in zip(texts_, expected)]
    for chars, lines in ((1, 1), (5, 2), (60, 7), (1 << 20, 1 << 14)):
        monkeypatch.setattr(unit_arrays, "CHUNK_CHARS", chars)
        monkeypatch.setattr(code_secrets, "LINES_AT_A_TIME", lines)
        assert [code_secrets.find_secrets(text) for text in texts_] == expected, (chars, lines)
        got = [[(s.start, s.end, s.type, s.score) for s in tagger.predict(Document("s", "i", t)).spans] for t in texts_]
        assert got == spans


def test_tokenizer_repetitions_grow_their_ids_and_find_offsets_again(monkeypatch) -> None:
    from dolma.taggers import repetitions

    tagger = TaggerRegistry.get("tokenizer_repetitions_v1")()
    # more tokens than the ids array first holds (a third of the characters), and runs in many pieces
    text = "".join(("中文字 " if k % 7 else "ab ab ab ab cd ") * (k % 4 + 1) for k in range(900))
    whole = encoded(tagger.tag(Document("s", "i", text)))
    monkeypatch.setattr(repetitions, "LONG_TEXT_CHARS", 0)
    for piece in (5, 64, 1000):
        monkeypatch.setattr(repetitions, "PIECE_CHARS", piece)
        assert encoded(tagger.tag(Document("s", "i", text))) == whole, piece


def test_rows_compared_with_the_row_above_without_a_padded_copy() -> None:
    from dolma.taggers.repetitions.utils import _rows_equal_above

    rng = np.random.default_rng(0)
    for _ in range(500):
        values = rng.integers(-1, 3, size=int(rng.integers(3, 60))).astype(np.int32)
        for period in range(1, len(values) // 3 + 1):
            rows = len(values) // period + 1
            grid = np.full(rows * period, -1, dtype=np.int32)
            grid[: len(values)] = values
            grid = grid.reshape(rows, period)
            expected = np.vstack([grid[0] == grid[-1], grid[1:] == grid[:-1]])
            assert (_rows_equal_above(values, period, -1) == expected).all()


def test_tag_stage_writes_the_long_path_as_the_plain_bytes(tmp_path, monkeypatch) -> None:
    from tests.conftest import write_documents
    from tests.test_tag_stage import tagged_bytes

    rng = random.Random(9)
    docs = [{"id": f"d{i}", "text": text, "source": "s"} for i, text in enumerate(texts(9, PIECES, count=12))]
    write_documents(str(tmp_path / "documents" / "a.jsonl.gz"), docs)
    taggers = ["char_length_with_paragraphs_v1", "repetitions_v1", "not_alphanum_paragraph_v1"]

    def tag(folder: str) -> bytes:
        return tagged_bytes(tmp_path, taggers, folder)

    plain = tag("plain")
    small_pieces(monkeypatch, rng.choice([1, 3]), 2)
    written = []
    chunks = unit_arrays.ScoredSpanArray.chunks
    monkeypatch.setattr(unit_arrays.ScoredSpanArray, "chunks", lambda self: written.append(self) or chunks(self))
    arrays = tag("arrays")
    assert len(written) > 10  # (the stage ran in this process, and wrote spans from arrays)
    assert arrays.replace(b"arrays__", b"plain__") == plain
    assert b"plain__repetitions_v1__repetition" in plain and b"plain__char_length_with_paragraphs_v1__paragraph" in plain
