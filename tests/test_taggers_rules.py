"""The rule-based built-in taggers on hand-made texts; every expected number is worked out in a comment."""

from __future__ import annotations

from functools import lru_cache
from typing import Dict, List, Tuple

import pytest

from dolma.taggers import Document, TaggerRegistry
from dolma.taggers import gopher
from dolma.core.taggers import BaseTagger
from dolma.taggers.c4 import NAUGHTY_PHRASES, NAUGHTY_WORDS

Spans = Dict[str, List[Tuple[int, int, float]]]

BUILTIN = [
    "char_length_v1",
    "char_length_with_paragraphs_v1",
    "whitespace_tokenizer_v1",
    "whitespace_tokenizer_with_paragraphs_v1",
    "gopher_v1",
    "gopher_v2",
    "gopher_v3",
    "whitespace_tokenizer_v2",
    "whitespace_tokenizer_with_paragraphs_v2",
    "c4_v1",
    "c4_v2",
    "pii_regex_v1",
    "pii_regex_v2",
    "pii_regex_with_counts_v2",
    "pii_regex_with_counts_fast_v2",
    "pii_regex_v3",
    "pii_regex_with_counts_v3",
    "pii_regex_with_counts_fast_v3",
    "random_number_v1",
]


@lru_cache(maxsize=None)
def tagger(name: str) -> BaseTagger:
    return TaggerRegistry.get(name)()


def run(name: str, text: str, doc_id: str = "doc-1") -> Spans:
    result = tagger(name).predict(Document(source="test", id=doc_id, text=text))
    out: Spans = {}
    for span in result.spans:
        out.setdefault(span.type, []).append((span.start, span.end, span.score))
    return out


def doc_value(spans: Spans, kind: str) -> float:
    ((_, _, score),) = spans[kind]
    return score


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_taggers_are_registered(name: str) -> None:
    assert TaggerRegistry.has(name)
    assert isinstance(tagger(name), BaseTagger)


# ---- length ---------------------------------------------------------------------------------------------


def test_char_length() -> None:
    assert run("char_length_v1", "hello") == {"length": [(0, 5, 5.0)]}
    assert run("char_length_v1", "") == {"length": [(0, 0, 0.0)]}
    # code points, not bytes: a, the emoji (4 UTF-8 bytes), b, space, é
    assert run("char_length_v1", "a\U0001f600b \u00e9") == {"length": [(0, 5, 5.0)]}


def test_char_length_with_paragraphs() -> None:
    # "Hello world\n" is 12 characters at 0; "\n" at 12 is blank; "Second para here\n" is 17 at 13;
    # "  \n" at 30 is blank; "Last" is 4 at 33 (no newline); 37 in all
    text = "Hello world\n\nSecond para here\n  \nLast"
    assert run("char_length_with_paragraphs_v1", text) == {
        "paragraph": [(0, 12, 12.0), (13, 30, 17.0), (33, 37, 4.0)],
        "document": [(0, 37, 37.0)],
    }
    assert run("char_length_with_paragraphs_v1", "") == {"document": [(0, 0, 0.0)]}
    # multi-byte: "été\n" is 4 code points, "ok" 2
    assert run("char_length_with_paragraphs_v1", "\u00e9t\u00e9\nok") == {
        "paragraph": [(0, 4, 4.0), (4, 6, 2.0)],
        "document": [(0, 6, 6.0)],
    }


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("", 0),
        (" \n\t ", 0),
        # Hello , world ! It ' s 3 . 14
        ("Hello, world! It's 3.14", 10),
        # "..." is one run of punctuation: wait ... what ?!
        ("wait... what?!", 4),
        # a combining accent belongs to its word: café ok
        ("cafe\u0301 ok", 2),
        # Devanagari vowel signs and virama are marks, so each word is one token
        ("\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e", 2),
        # an emoji is a symbol between two words: a 😀 b
        ("a\U0001f600b", 3),
        # a superscript digit is not a word character for the `regex` module: x ²
        ("x\u00b2", 2),
        # snake_case is one word; the underscore is connector punctuation
        ("snake_case_name = 1", 3),
    ],
)
def test_whitespace_tokenizer(text: str, tokens: int) -> None:
    assert run("whitespace_tokenizer_v2", text) == {"length": [(0, len(text), float(tokens))]}


def test_whitespace_tokenizer_with_paragraphs() -> None:
    # "One two.\n" at 0..9 holds One two . ; "\n" at 9 is blank; "Three\n" at 10..16 holds Three
    assert run("whitespace_tokenizer_with_paragraphs_v2", "One two.\n\nThree\n") == {
        "paragraph": [(0, 9, 3.0), (10, 16, 1.0)],
        "document": [(0, 16, 4.0)],
    }
    assert run("whitespace_tokenizer_with_paragraphs_v2", "") == {"document": [(0, 0, 0.0)]}


# ---- gopher ---------------------------------------------------------------------------------------------

SCALARS = [
    "character_count",
    "word_count",
    "median_word_length",
    "symbol_to_word_ratio",
    "fraction_of_words_with_alpha_character",
    "required_word_count",
    "fraction_of_lines_starting_with_bullet_point",
    "fraction_of_lines_ending_with_ellipsis",
    "fraction_of_duplicate_lines",
    "fraction_of_characters_in_duplicate_lines",
]


def gopher_values(text: str, name: str = "gopher_v3") -> Dict[str, float]:
    # gopher_v3 is gopher_v1 at full precision with the true duplicate-line fraction; the tests of
    # gopher_v1 against Dolma's own values are in test_taggers_dolma_values.py
    spans = run(name, text)
    assert all(s == 0 and e == len(text) for values in spans.values() for s, e, _ in values)
    return {kind: doc_value(spans, kind) for kind in spans}


def most_common(n: int) -> str:
    return f"fraction_of_characters_in_most_common_{n}grams"


def duplicate(n: int) -> str:
    return f"fraction_of_characters_in_duplicate_{n}grams"


def test_gopher_repeated_pairs_bullets_and_ellipsis() -> None:
    # words: a b a b a b * x… -> 8 words, lengths 1 x7 and 2: 9 non-space characters; 16 characters
    values = gopher_values("a b a b a b\n* x\u2026")
    assert values == pytest.approx(
        {
            most_common(2): 3 * 2 / 9,  # "a b" three times
            most_common(3): 2 * 3 / 9,  # "a b a" and "b a b" twice each: the earlier one wins (same size)
            most_common(4): 2 * 4 / 9,  # "a b a b" twice
            duplicate(5): 0.0,  # the four 5-grams are all different
            duplicate(6): 0.0,
            duplicate(7): 0.0,
            duplicate(8): 0.0,  # no 9- or 10-grams in 8 words: no spans for them
            "character_count": 16,
            "word_count": 8,
            "median_word_length": 1.0,
            "symbol_to_word_ratio": 1 / 8,  # x… holds the ellipsis
            "fraction_of_words_with_alpha_character": 7 / 8,  # all but *
            "required_word_count": 0,
            "fraction_of_lines_starting_with_bullet_point": 1 / 2,
            "fraction_of_lines_ending_with_ellipsis": 1 / 2,
            "fraction_of_duplicate_lines": 0.0,
            "fraction_of_characters_in_duplicate_lines": 0.0,
        }
    )


def test_gopher_duplicate_ngrams() -> None:
    # 10 one-letter words; "a b c d e" twice. 5-grams at 0..5 are 5 characters each: 30 in all, and the
    # one at 0 repeats at 5: 10 duplicated; every 6-gram and longer is unique
    values = gopher_values("a b c d e a b c d e")
    assert values[most_common(2)] == pytest.approx(2 * 2 / 10)
    assert values[most_common(3)] == pytest.approx(2 * 3 / 10)
    assert values[most_common(4)] == pytest.approx(2 * 4 / 10)
    assert values[duplicate(5)] == pytest.approx(10 / 30)
    assert [values[duplicate(n)] for n in range(6, 11)] == [0.0] * 5
    assert values["character_count"] == 19 and values["word_count"] == 10


def test_gopher_all_unique_words_take_the_first_ngram() -> None:
    # "The cat and the dog": 15 non-space characters; no n-gram repeats, so the most common one is the
    # first: "The cat" 6, "The cat and" 9, "The cat and the" 12. Stop words are case-sensitive: and, the
    values = gopher_values("The cat and the dog")
    assert values[most_common(2)] == pytest.approx(6 / 15)
    assert values[most_common(3)] == pytest.approx(9 / 15)
    assert values[most_common(4)] == pytest.approx(12 / 15)
    assert values[duplicate(5)] == 0.0 and duplicate(6) not in values
    assert values["median_word_length"] == 3.0  # 3 3 3 3 3
    assert values["required_word_count"] == 2


def test_gopher_duplicate_lines_are_a_true_fraction() -> None:
    # lines "a b", "a b", "c": 2 of 3 duplicated, holding 2 x 2 of the 5 non-space characters
    # (Dolma counts the space too and reports 6 / 5)
    values = gopher_values("a b\na b\nc")
    assert values["fraction_of_duplicate_lines"] == pytest.approx(2 / 3)
    assert values["fraction_of_characters_in_duplicate_lines"] == pytest.approx(4 / 5)
    assert values["median_word_length"] == 1.0


def test_gopher_empty_and_blank_texts() -> None:
    assert gopher_values("") == {name: 0.0 for name in SCALARS}
    # " \n ": no words, so no n-gram spans; its two lines " " and " " are duplicates without characters
    values = gopher_values(" \n ")
    assert values == {
        **{name: 0.0 for name in SCALARS},
        "character_count": 3.0,
        "fraction_of_duplicate_lines": 1.0,
    }


def test_gopher_long_documents_use_the_same_rules() -> None:
    # 1,500 words, "a b c d e" 300 times: each most common n-gram occurs 300 times, every n-gram repeats
    text = "a b c d e " * 300
    assert 1500 >= gopher.NUMPY_MIN_WORDS
    values = gopher_values(text)
    assert [values[most_common(n)] for n in (2, 3, 4)] == pytest.approx([0.4, 0.6, 0.8])
    assert [values[duplicate(n)] for n in range(5, 11)] == [1.0] * 6
    # 1,200 distinct 4-character words: the first n-gram, 4n of 4,800 characters; nothing repeats
    values = gopher_values(" ".join(f"{i:04d}" for i in range(1200)))
    assert [values[most_common(n)] for n in (2, 3, 4)] == pytest.approx([8 / 4800, 12 / 4800, 16 / 4800])
    assert [values[duplicate(n)] for n in range(5, 11)] == [0.0] * 6
    assert values["fraction_of_words_with_alpha_character"] == 0.0


# ---- c4 -------------------------------------------------------------------------------------------------

C4_TEXT = "Hello world. This is fine.\nshort line\n{ javascript }\nLorem ipsum dolor sit amet!\n"


def test_c4_lines_and_flags() -> None:
    # lines: "Hello world. This is fine." 0..27 (with its newline), "short line" 27..38, "{ javascript }"
    # 38..53, "Lorem ipsum dolor sit amet!" 53..81, and an empty last line at 81
    expected = {
        "lines_with_no_ending_punctuation": [(27, 38, 1.0), (38, 53, 1.0), (81, 81, 1.0)],
        "lines_with_too_few_words": [(27, 38, 1.0), (81, 81, 1.0)],
        "has_javascript": [(0, 81, 1.0)],
        "has_lorem_ipsum": [(0, 81, 1.0)],
        "has_curly_brace": [(0, 81, 1.0)],
        "line_count": [(0, 81, 5.0)],
    }
    assert run("c4_v1", C4_TEXT) == expected
    assert run("c4_v2", C4_TEXT) == expected


def test_c4_empty_text_is_one_empty_line() -> None:
    expected = {
        "lines_with_no_ending_punctuation": [(0, 0, 1.0)],
        "lines_with_too_few_words": [(0, 0, 1.0)],
        "line_count": [(0, 0, 1.0)],
    }
    assert run("c4_v1", "") == expected
    assert run("c4_v2", "") == expected


def test_c4_javascript_is_a_word_in_v1_and_a_substring_in_v2() -> None:
    text = "Please enable JavaScript: it is needed."
    assert "has_javascript" not in run("c4_v1", text)  # the word is "javascript:"
    assert "has_javascript" in run("c4_v2", text)


@pytest.mark.parametrize("name", ["c4_v1", "c4_v2"])
@pytest.mark.parametrize(
    "text, naughty",
    [
        ("An anal retentive person.", True),  # a listed word
        ("AN ANAL RETENTIVE PERSON.", True),  # matched lower-cased
        ("Data analysis is fun.", False),  # words are matched whole
        ("It was anal, they said.", False),  # "anal," is not the listed word
        ("A football gagging incident.", True),  # phrases are matched as substrings: "ball gag"
        ("lorem ipsum dolor sit amet", False),
    ],
)
def test_c4_naughty_words(name: str, text: str, naughty: bool) -> None:
    assert ("has_naughty_word" in run(name, text)) is naughty


def test_c4_offsets_are_on_the_original_text() -> None:
    # "İİ" lower-cases to four code points; the offsets stay those of "İİ\nab." (3 + 3 characters)
    spans = run("c4_v2", "\u0130\u0130\nab.")
    assert spans["lines_with_no_ending_punctuation"] == [(0, 3, 1.0)]
    assert spans["lines_with_too_few_words"] == [(0, 3, 1.0), (3, 6, 1.0)]
    assert spans["line_count"] == [(0, 6, 2.0)]


def test_naughty_word_list() -> None:
    # the LDNOOBW English list: 403 entries, 124 of them phrases
    assert len(NAUGHTY_WORDS) == 279 and len(NAUGHTY_PHRASES) == 124
    assert "anal" in NAUGHTY_WORDS and "ball gag" in NAUGHTY_PHRASES


# ---- pii ------------------------------------------------------------------------------------------------
# The corrected taggers (`_v3`); Dolma's own values under its names are in test_taggers_dolma_values.py

PII_TEXT = "Contact john.doe@example.com or call 555-123-4567 today. Server at 192.168.1.20 is up.\n"


def test_pii_finds_email_phone_and_ip() -> None:
    # "Contact " is 8 characters, the address 20 (8..28); " or call " 9 more: the number is 37..49;
    # " today. Server at " 18 more: the IP is 67..79; 87 characters and 11 words in all
    pii = {
        "EMAIL_ADDRESS": [(8, 28, 1.0)],
        "PHONE_NUMBER": [(37, 49, 1.0)],
        "IP_ADDRESS": [(67, 79, 1.0)],
    }
    assert run("pii_regex_v3", PII_TEXT) == {**pii, "doc": [(0, 87, pytest.approx(3 / 11))]}
    assert run("pii_regex_with_counts_v3", PII_TEXT) == {
        **pii,
        "doc": [(0, 87, pytest.approx(3 / 11))],
        "doc_count": [(0, 87, 3.0)],
    }
    # 20 + 12 + 12 of the 87 characters are PII
    assert run("pii_regex_with_counts_fast_v3", PII_TEXT) == {
        **pii,
        "doc_count": [(0, 87, 3.0)],
        "doc_frac": [(0, 87, pytest.approx(44 / 87))],
    }


def test_pii_context_filter() -> None:
    # "doi" within 100 characters drops the IP (at 21..28) in the context-checking taggers only
    text = "doi: 10.1000/182 and 1.2.3.4 here\n"
    assert run("pii_regex_v3", text) == {"doc": [(0, 34, 0.0)]}
    assert run("pii_regex_with_counts_fast_v3", text)["IP_ADDRESS"] == [(21, 28, 1.0)]
    # a "#" does the same for a phone number
    assert "PHONE_NUMBER" not in run("pii_regex_v3", "ticket #12 call 555 123 4567\n")


def test_pii_phone_at_the_start_of_a_line_or_text() -> None:
    assert run("pii_regex_with_counts_fast_v3", "call\n555 123 4567\n")["PHONE_NUMBER"] == [(5, 17, 1.0)]
    assert run("pii_regex_v3", "(555) 123-4567 is mine\n")["PHONE_NUMBER"] == [(0, 14, 1.0)]
    # glued to a word, it is not a phone number
    assert "PHONE_NUMBER" not in run("pii_regex_v3", "id5551234567 x\n")


@pytest.mark.parametrize(
    "text, found",
    [
        ("write to a@b.co now\n", [(9, 15)]),
        ("(a@b.co) or x@y.org. \n", [(1, 7), (12, 19)]),  # the pattern's punctuation is not part of it
        ("<x@y.org> \n", [(0, 9)]),  # but other characters are, as in Dolma
        ("me@home. Later\n", []),  # no dot in the domain: the final dot is punctuation
        ("(@example.com now\n", []),  # the part before @ is "("
        ("x@. y\n", []),  # a domain of dots only
        ("end a@b.co", []),  # the pattern needs whitespace after the address
        ("@mention a@b@c.com x\n", [(11, 18)]),  # the last @ of a word: b@c.com
    ],
)
def test_pii_email_rules(text: str, found: List[Tuple[int, int]]) -> None:
    spans = run("pii_regex_with_counts_fast_v3", text)
    assert [(s, e) for s, e, _ in spans.get("EMAIL_ADDRESS", [])] == found


def test_pii_offsets_are_code_points() -> None:
    # "café — écrivez à " is 17 code points (more UTF-8 bytes); the address is 15 long
    text = "caf\u00e9 \u2014 \u00e9crivez \u00e0 jean@exemple.fr merci\n"
    assert run("pii_regex_with_counts_fast_v3", text)["EMAIL_ADDRESS"] == [(17, 32, 1.0)]


def test_pii_overlapping_spans_count_once_in_doc_frac() -> None:
    # the address 5..22 holds the IP 5..13: 17 of the 27 characters are PII
    text = "mail 10.0.0.1@host.org now\n"
    spans = run("pii_regex_with_counts_fast_v3", text)
    assert spans["EMAIL_ADDRESS"] == [(5, 22, 1.0)] and spans["IP_ADDRESS"] == [(5, 13, 1.0)]
    assert doc_value(spans, "doc_frac") == pytest.approx(17 / 27)
    assert doc_value(run("pii_regex_v3", text), "doc") == pytest.approx(2 / 3)  # 2 spans, 3 words


def test_pii_empty_and_wordless_texts() -> None:
    assert run("pii_regex_v3", "") == {"doc": [(0, 0, -1.0)]}
    assert run("pii_regex_with_counts_v3", "  \n") == {"doc": [(0, 3, -1.0)], "doc_count": [(0, 3, 0.0)]}
    assert run("pii_regex_with_counts_fast_v3", "") == {"doc_count": [(0, 0, 0.0)], "doc_frac": [(0, 0, -1.0)]}
    assert run("pii_regex_with_counts_fast_v3", "no pii here\n") == {
        "doc_count": [(0, 12, 0.0)],
        "doc_frac": [(0, 12, 0.0)],
    }


def test_pii_ip_rules() -> None:
    # octets stop at 255; four octets are found inside longer digit runs, as Dolma's pattern does
    spans = run("pii_regex_with_counts_fast_v3", "ok 10.0.0.255 bad 10.0.0.256 in 1234.5.6.7 x\n")
    texts = ["ok 10.0.0.255 bad 10.0.0.256 in 1234.5.6.7 x\n"[s:e] for s, e, _ in spans["IP_ADDRESS"]]
    assert texts == ["10.0.0.255", "10.0.0.25", "234.5.6.7"]


# ---- random number --------------------------------------------------------------------------------------


def test_random_number_depends_on_the_id_only() -> None:
    first = run("random_number_v1", "some text", doc_id="doc-1")
    again = run("random_number_v1", "other text!", doc_id="doc-1")
    ((_, end, value),) = first["random"]
    assert end == 9 and 0.0 <= value < 1.0
    assert again["random"][0][2] == value
    values = {doc_value(run("random_number_v1", "x", doc_id=f"doc-{i}"), "random") for i in range(200)}
    assert len(values) == 200 and all(0.0 <= v < 1.0 for v in values)
    # roughly uniform: about half below 0.5
    assert 60 < sum(v < 0.5 for v in values) < 140


def test_random_number_is_the_scaled_xxhash_of_the_id() -> None:
    # xxh64(b"a", seed 0) = 0xD24EC4F1A98C6E5B (a published test vector); its top 53 bits over 2**53
    assert doc_value(run("random_number_v1", "", doc_id="a"), "random") == (0xD24EC4F1A98C6E5B >> 11) / 2**53
