"""The built-in rule taggers' shortcuts give what the plain formulations give, on many generated texts."""

from __future__ import annotations

import random
import re
from itertools import accumulate

import pytest

from dolma.taggers import gopher, length, pii

# Dolma's patterns, the plain way
EMAIL = re.compile(r"[.\s@,?!;:)(]*([^\s@]+@[^\s@,?!;:)(]+?)[.\s@,?!;:)(]?\s")
PHONE = re.compile(r"(?<!\S)\(?\d{3}\)?[-. ]*\d{3}[-. ]?\d{4}")
IP = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)")


def texts(seed: int, alphabet: list, count: int, longest: int) -> list:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest))) for _ in range(count)]


def test_email_shortcut_matches_the_pattern() -> None:
    alphabet = list("ab.@,?!;:)( \n\t") + ["x.com", "@@", ". ", "\u00e9", "\u3000"]
    for text in texts(0, alphabet, 20_000, 16):
        expected = []
        for m in EMAIL.finditer(text):
            local, domain = m.group(1).split("@", 1)
            if local != "(" and "." in domain and domain.strip("."):
                expected.append(m.span(1))
        assert pii._emails(text) == expected, text


def test_phone_and_ip_runs_match_a_full_scan() -> None:
    alphabet = list("0123456789 ()-.\nx\t") + ["555", "1234", "\u0663\u0664\u0665", "25", "."]
    for text in texts(1, alphabet, 20_000, 16):
        assert pii._within_runs(pii._PHONE, pii._PHONE_RUN, text) == [m.span() for m in PHONE.finditer(text)]
        assert pii._within_runs(pii._IP, pii._IP_RUN, text) == [m.span() for m in IP.finditer(text)]


def test_ngram_statistics_python_and_numpy_agree() -> None:
    rng = random.Random(2)
    for _ in range(300):
        vocabulary = ["a", "bb", "c", "the", "of", "x\u00e9", "yy"][: rng.randint(1, 7)]
        words = [rng.choice(vocabulary) for _ in range(rng.randint(1, 60))]
        prefix = [0, *accumulate(map(len, words))]
        python = gopher.ngram_statistics_python(words, prefix)
        numpy = gopher.ngram_statistics_numpy(words, prefix)
        assert [name for name, _ in python] == [name for name, _ in numpy]
        assert [value for _, value in python] == pytest.approx([value for _, value in numpy], abs=1e-12)


def test_tokens_match_the_regex_module() -> None:
    regex = pytest.importorskip("regex")
    tokens = regex.compile(r"\w+|[^\w\s]+")
    # characters assigned in every Unicode version in use: letters, marks, digits, symbols, spaces
    alphabet = list("ab c\n\t.,!-_'1\u00e9\u0301\u0915\u093f\u094d\u200d\u00b2\u2460\u24b6\x1c\xa0\u00df")
    alphabet += ["\u0663", "\u2003", "\U0001f600", "\U0001d400", "\u3042\u3099"]
    for text in texts(3, alphabet, 20_000, 30):
        assert length.count_tokens(text) == len(tokens.findall(text)), text


# Dolma 1.2.1's e-mail and phone patterns as it writes them (whole matches are its spans)
DOLMA_EMAIL = re.compile("[.\\s@,?!;:)(]*([^\\s@]+@[^\\s@,?!;:)(]+?)[.\\s@,?!;:)(]?[\\s\n\r]")
DOLMA_PHONE = re.compile("\\s+\\(?(\\d{3})\\)?[-\\. ]*(\\d{3})[-. ]?(\\d{4})")


def by_paragraph(pattern: "re.Pattern[str]", text: str) -> list:
    # Dolma's fast tagger: each non-blank line (with its newline) searched alone
    spans = []
    for m in re.finditer(r"([^\n]*\n|[^\n]+$)", text):
        if m.group().strip():
            spans.extend((x.start() + m.start(), x.end() + m.start(), x.span(1)) for x in pattern.finditer(m.group()))
    return spans


def test_dolma_email_matches_are_the_patterns() -> None:
    alphabet = list("ab.@,?!;:)( \n\t") + ["x.com", "@@", ". ", "\u00e9", "\u3000", "\n\n"]
    for text in texts(4, alphabet, 20_000, 16):
        whole = [(m.start(), m.end(), *m.span(1)) for m in DOLMA_EMAIL.finditer(text)]
        assert pii._dolma_email_matches(text, by_line=False) == whole, text
        fast = [(s, e) for s, e, _ in by_paragraph(DOLMA_EMAIL, text)]
        assert [(s, e) for s, e, _, _ in pii._dolma_email_matches(text, by_line=True)] == fast, text


def test_dolma_phone_matches_are_the_pattern() -> None:
    alphabet = list("0123456789 ()-.\nx\t") + ["555", "1234", "\u0663\u0664\u0665", "  ", "\n\n", "\u3000"]
    for text in texts(5, alphabet, 20_000, 18):
        assert pii._dolma_phones(text, by_line=False) == [m.span() for m in DOLMA_PHONE.finditer(text)], text
        assert pii._dolma_phones(text, by_line=True) == [(s, e) for s, e, _ in by_paragraph(DOLMA_PHONE, text)], text


@pytest.mark.parametrize("seed", range(6))
def test_long_texts_are_counted_a_chunk_at_a_time_with_the_same_values(monkeypatch, seed):
    """Texts over LARGE_TEXT_CHARS take gopher's chunked path, and token counts go a chunk at a time: with tiny
    chunks (so every boundary case occurs), each gives the values of the whole-text computation."""
    from dolma.core.data_types import Document

    rng = random.Random(seed)
    vocab = ["the", "of", "and", "a", "b", "x1", "#tag", "…", "é", "日本", "-", "*", "to", "be", "that"]
    seps = [" ", "  ", "\n", "\n\n", "\t", "\u3000", " \n", "\x1c"]
    pieces = []
    for _ in range(rng.randint(1, 400)):
        pieces.append(rng.choice(vocab))
        pieces.append(rng.choice(seps))
    if rng.random() < 0.5:
        pieces = pieces[:-1]
    text = ("\n" if seed % 2 else "") + "".join(pieces) + ("\n" if seed % 3 == 0 else "")
    expected = {
        (dolma, empty): gopher.gopher_statistics(text, dolma, empty) for dolma in (False, True) for empty in (False, True)
    }
    from dolma.taggers import c4

    doc = Document(source="s", id="i", text=text + " javascript fuck")
    c4_values = [c4.C4V1().tag(doc), c4.C4V2().tag(doc)]
    tokens = length.count_tokens(text)
    words = len(text.split())
    paragraphs = length.WhitespaceTokenizerWithParagraphsV2().predict(Document(source="s", id="i", text=text))
    # chunks of characters and of positions, and partitions of the hashes, down to one item each
    for chunk, positions, partition in ((1, 2, 97), (3, 3, 40), (7, 2, 1 << 16), (64, 1 << 20, 150)):
        monkeypatch.setattr(gopher, "CHUNK_CHARS", chunk)
        monkeypatch.setattr(length, "CHUNK_CHARS", chunk)
        monkeypatch.setattr(gopher, "CHUNK_POSITIONS", positions)
        monkeypatch.setattr(gopher, "MIN_PARTITION_HASHES", partition)
        monkeypatch.setattr(gopher, "SORT_BYTES_PER_CHAR", 0.0)
        monkeypatch.setattr(gopher, "LONG_WORD", 2)
        for (dolma, empty), values in expected.items():
            assert gopher._large_text_statistics(text, dolma, empty) == values, (chunk, dolma, empty)
        assert length.count_tokens(text) == tokens
        assert pii._per_word(words, text) == (1.0 if words else -1.0)  # PII per word counts the words in chunks
        assert [c4.C4V1().tag(doc), c4.C4V2().tag(doc)] == c4_values
        again = length.WhitespaceTokenizerWithParagraphsV2().predict(Document(source="s", id="i", text=text))
        assert [(s.start, s.end, s.score) for s in again.spans] == [(s.start, s.end, s.score) for s in paragraphs.spans]


def test_first_block_comment_is_the_c_comment_regex_match_in_linear_time():
    from dolma.taggers.code import first_block_comment

    classic = re.compile(r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/")  # the textbook C-comment pattern, as an oracle
    rng = random.Random(5)
    for _ in range(3000):
        text = "".join(rng.choice(["/", "*", "a", " ", "\n", "/*", "*/"]) for _ in range(rng.randint(0, 14)))
        m = classic.search(text)
        assert first_block_comment(text) == (None if m is None else m.span()), text
    # a text of a million unclosed comment openings: the regex would try each one to the end
    assert first_block_comment("/* a " * 200_000) is None
