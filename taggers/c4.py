"""C4's quality rules (Raffel et al. 2020) as Dolma's ``c4_v1`` and ``c4_v2`` report them.

Lines are ``text.split("\\n")``; a line's span covers its newline, and an empty text is one empty line.
Each line without a final ``.``, ``?``, ``!`` or ``"`` (after stripping whitespace) and each line with fewer
than three words gets a span of score 1; the document gets ``line_count`` and, when they apply, score-1
flags: ``has_naughty_word`` (a whitespace-delimited lower-cased word on the list, or a listed phrase anywhere
in the lower-cased text), ``has_javascript``, ``has_lorem_ipsum`` and ``has_curly_brace``. ``c4_v1`` flags
JavaScript when ``javascript`` is a whole word, ``c4_v2`` when it occurs anywhere.

Differs from Dolma 1.2.1 on purpose: Dolma's ``c4_v2`` measures line offsets on the lower-cased text, which
is longer than the original when it holds characters such as ``İ``; we measure them on the original.
"""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Any, Dict, FrozenSet, Iterable, Iterator, List, Tuple

from dolma.core.data_types import DocResult, Document, Span
from dolma.core.taggers import BaseTagger
from dolma.core.registry import add_tagger
from dolma.taggers.length import SPACE_CHAR, chunk_bounds

__all__ = ["C4V1", "C4V2", "NAUGHTY_WORDS", "NAUGHTY_PHRASES", "C4Tagger", "FasterC4Tagger"]

MIN_WORDS_PER_LINE = 3
END_OF_LINE_PUNCTUATION = (".", "?", "!", '"')


def _load_list(name: str) -> List[str]:
    text = files("dolma.taggers").joinpath("data", name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _phrase_pattern(phrases: Iterable[str]) -> "re.Pattern[str]":
    """Finds any of ``phrases`` (each holding a space) as a substring.

    The pattern starts at the phrase's first space, which ``re`` finds with a fast scan, follows a trie of
    what comes after that space, and checks the whole phrase with a look-behind; much faster than trying
    every phrase, or an alternation of them, at every position.
    """
    trie: Dict[str, Any] = {}  # a character's child node; "" holds the phrases ending here
    for phrase in phrases:
        node = trie
        for ch in phrase[phrase.index(" ") + 1 :]:
            node = node.setdefault(ch, {})
        node.setdefault("", []).append(phrase)

    def emit(node: Dict[str, Any]) -> str:
        alternatives = [f"(?<={re.escape(phrase)})" for phrase in node.get("", [])]
        alternatives += [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"

    first_chars = re.escape("".join(sorted(ch for ch in trie if ch)))
    return re.compile(f" (?=[{first_chars}]){emit(trie)}")


_NAUGHTY = _load_list("naughty_words_en.txt")
NAUGHTY_WORDS: FrozenSet[str] = frozenset(entry for entry in _NAUGHTY if " " not in entry)
NAUGHTY_PHRASES: FrozenSet[str] = frozenset(entry for entry in _NAUGHTY if " " in entry)
_NAUGHTY_PHRASE = _phrase_pattern(sorted(NAUGHTY_PHRASES))


def words_in_chunks(text: str) -> Iterator[List[str]]:
    """``text.split()`` as a list per chunk of about a million characters, so a long text is never held as one list
    of words."""
    for start, end in chunk_bounds(text, SPACE_CHAR):
        yield text[start:end].split()


def has_naughty_word(lowered: str) -> bool:
    """``lowered`` is the lower-cased text: a listed word is one of its ``split()`` words; a phrase, anywhere."""
    if any(not NAUGHTY_WORDS.isdisjoint(words) for words in words_in_chunks(lowered)):
        return True
    return _NAUGHTY_PHRASE.search(lowered) is not None


def line_spans(text: str) -> Tuple[List[Span], List[Span], int]:
    """Spans of lines without end punctuation, spans of lines with too few words, and the line count."""
    no_punctuation: List[Span] = []
    too_few_words: List[Span] = []
    lines = text.split("\n")
    last = len(lines) - 1
    start = 0
    for i, line in enumerate(lines):
        end = start + len(line) + (i < last)
        if not line.rstrip().endswith(END_OF_LINE_PUNCTUATION):
            no_punctuation.append(Span(start, end, "lines_with_no_ending_punctuation"))
        if len(line.split(None, MIN_WORDS_PER_LINE - 1)) < MIN_WORDS_PER_LINE:
            too_few_words.append(Span(start, end, "lines_with_too_few_words"))
        start = end
    return no_punctuation, too_few_words, len(lines)


@add_tagger("c4_v1")
class C4V1(BaseTagger):
    memory_per_document_byte = 13.0  # a span per line without punctuation (11.3, 11.7 measured on source code)

    def predict(self, doc: Document) -> DocResult:
        text = doc.text
        n = len(text)
        lowered = text.lower()
        no_punctuation, too_few_words, line_count = line_spans(text)
        spans = no_punctuation + too_few_words
        if has_naughty_word(lowered):
            spans.append(Span(0, n, "has_naughty_word"))
        if any("javascript" in words for words in words_in_chunks(lowered)):
            spans.append(Span(0, n, "has_javascript"))
        if "lorem ipsum" in lowered:
            spans.append(Span(0, n, "has_lorem_ipsum"))
        if "{" in text:
            spans.append(Span(0, n, "has_curly_brace"))
        spans.append(Span(0, n, "line_count", line_count))
        return DocResult(doc=doc, spans=spans)


@add_tagger("c4_v2")
class C4V2(BaseTagger):
    memory_per_document_byte = 13.0  # a span per line without punctuation (11.3, 11.7 measured on source code)

    def predict(self, doc: Document) -> DocResult:
        text = doc.text
        n = len(text)
        lowered = text.lower()
        spans: List[Span] = []
        if "{" in text:
            spans.append(Span(0, n, "has_curly_brace"))
        if "lorem ipsum" in lowered:
            spans.append(Span(0, n, "has_lorem_ipsum"))
        if "javascript" in lowered:
            spans.append(Span(0, n, "has_javascript"))
        if has_naughty_word(lowered):
            spans.append(Span(0, n, "has_naughty_word"))
        no_punctuation, too_few_words, line_count = line_spans(text)
        spans += no_punctuation
        spans += too_few_words
        spans.append(Span(0, n, "line_count", line_count))
        return DocResult(doc=doc, spans=spans)


# Dolma's class names for the same taggers (code written against Dolma imports them from here)
C4Tagger = C4V1
FasterC4Tagger = C4V2
