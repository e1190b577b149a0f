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
from itertools import repeat
from typing import Any, Dict, FrozenSet, Iterable, Iterator, List, Sequence, Tuple, Union

import numpy as np

from dolma.core.data_types import DocResult, Document, Span, TaggerOutput
from dolma.core.taggers import BaseTagger
from dolma.core.registry import add_tagger
from dolma.taggers.length import SPACE_CHAR, chunk_bounds
from dolma.taggers.span_arrays import SpanArray, offsets_dtype, span_values

__all__ = ["C4V1", "C4V2", "NAUGHTY_WORDS", "NAUGHTY_PHRASES", "C4Tagger", "FasterC4Tagger"]

MIN_WORDS_PER_LINE = 3
_NEWLINE = re.compile(r"\n")
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


def lowered_pieces(text: str) -> Iterator[str]:
    """``text.lower()`` a chunk of lines at a time: what the whole text gives, in pieces split at newlines (which
    no phrase the rules look for holds, and across which lower-casing has no context: a final sigma's depends on
    the letters next to it, and a newline is neither a letter nor ignorable)."""
    for start, end in chunk_bounds(text, _NEWLINE):
        yield text[start:end].lower()


class DocumentFlags:
    """Which of the document-level rules a text meets, found a chunk of lower-cased lines at a time."""

    __slots__ = ("curly_brace", "lorem_ipsum", "javascript_substring", "javascript_word", "naughty_word")

    def __init__(self, text: str, javascript_word: bool) -> None:
        self.curly_brace = "{" in text
        self.lorem_ipsum = self.javascript_substring = self.javascript_word = self.naughty_word = False
        for lowered in lowered_pieces(text):
            self.lorem_ipsum = self.lorem_ipsum or "lorem ipsum" in lowered
            self.javascript_substring = self.javascript_substring or "javascript" in lowered
            if javascript_word and not self.javascript_word:
                self.javascript_word = any("javascript" in words for words in words_in_chunks(lowered))
            self.naughty_word = self.naughty_word or has_naughty_word(lowered)


class LineTable:
    """Each line's span (``bounds[i]`` to ``bounds[i + 1]``, its newline included) and which lines have no end
    punctuation or too few words; built a chunk of lines at a time into arrays of one number per line."""

    def __init__(self, text: str) -> None:
        count = text.count("\n") + 1
        self.count = count
        self.bounds = np.zeros(count + 1, dtype=offsets_dtype(len(text) + 1))
        self.no_punctuation = np.empty(count, dtype=bool)
        self.too_few_words = np.empty(count, dtype=bool)
        first = 0
        for start, end in chunk_bounds(text, _NEWLINE):
            lines = text[start:end].split("\n")
            last = first + len(lines)
            bounds = self.bounds[first + 1 : last + 1]
            np.cumsum(np.fromiter(map(len, lines), dtype=bounds.dtype, count=len(lines)) + 1, out=bounds)
            bounds += self.bounds[first]
            ended = map(str.endswith, map(str.rstrip, lines), repeat(END_OF_LINE_PUNCTUATION))
            self.no_punctuation[first:last] = np.fromiter(ended, dtype=bool, count=len(lines))
            np.logical_not(self.no_punctuation[first:last], out=self.no_punctuation[first:last])
            words = map(len, map(str.split, lines, repeat(None), repeat(MIN_WORDS_PER_LINE - 1)))
            self.too_few_words[first:last] = np.fromiter(words, dtype=np.int64, count=len(lines)) < MIN_WORDS_PER_LINE
            first = last
        self.bounds[-1] = len(text)  # the last line has no newline

    def spans(self, which: "np.ndarray", arrays: bool) -> Union[SpanArray, List[List[Any]]]:
        """The spans of the lines ``which`` selects: with ``arrays``, as a SpanArray over the table when there are
        many, else as the plain list."""
        if arrays:
            return span_values(self.bounds[:-1], self.bounds[1:], 1.0, which)
        return SpanArray(self.bounds[:-1], self.bounds[1:], 1.0, which).tolist()


def _output(
    text: str, flags: Sequence[Tuple[str, bool]], flags_first: bool, arrays: bool
) -> TaggerOutput:
    """The attribute values, in the order a Span list would group into: line spans, then the document flags
    (``c4_v1``), or the other way round (``c4_v2``); a type without spans has no key. With ``arrays``, many line
    spans come as a :class:`SpanArray`."""
    n = len(text)
    table = LineTable(text)
    lines: TaggerOutput = {}
    for name, which in (
        ("lines_with_no_ending_punctuation", table.no_punctuation),
        ("lines_with_too_few_words", table.too_few_words),
    ):
        spans = table.spans(which, arrays)
        if len(spans):
            lines[name] = spans
    line_count = float(table.count)
    del table
    document: TaggerOutput = {name: [[0, n, 1.0]] for name, found in flags if found}
    out = {**document, **lines} if flags_first else {**lines, **document}
    out["line_count"] = [[0, n, line_count]]
    return out


@add_tagger("c4_v1")
class C4V1(BaseTagger):
    # the text, 6 bytes per line and a chunk of lower-cased lines: 2.0 measured, the reading's peak (200 MB of source
    # code, 35 characters per line)
    memory_per_document_byte = 4.0

    def _values(self, text: str, arrays: bool) -> TaggerOutput:
        found = DocumentFlags(text, javascript_word=True)
        flags = (
            ("has_naughty_word", found.naughty_word),
            ("has_javascript", found.javascript_word),
            ("has_lorem_ipsum", found.lorem_ipsum),
            ("has_curly_brace", found.curly_brace),
        )
        return _output(text, flags, flags_first=False, arrays=arrays)

    def predict(self, doc: Document) -> DocResult:
        spans = [
            Span(start, end, kind, score)
            for kind, values in self._values(doc.text, arrays=False).items()
            for start, end, score in values
        ]
        return DocResult(doc=doc, spans=spans)

    def tag(self, doc: Document) -> TaggerOutput:
        return self._values(doc.text, arrays=False)

    def tag_batch(self, docs: Sequence[Document]) -> List[TaggerOutput]:
        """As ``tag``, but a long document's line spans come as arrays (what the tag stage writes from)."""
        return [self._values(doc.text, arrays=True) for doc in docs]


@add_tagger("c4_v2")
class C4V2(C4V1):
    def _values(self, text: str, arrays: bool) -> TaggerOutput:
        found = DocumentFlags(text, javascript_word=False)
        flags = (
            ("has_curly_brace", found.curly_brace),
            ("has_lorem_ipsum", found.lorem_ipsum),
            ("has_javascript", found.javascript_substring),
            ("has_naughty_word", found.naughty_word),
        )
        return _output(text, flags, flags_first=True, arrays=arrays)


# Dolma's class names for the same taggers (code written against Dolma imports them from here)
C4Tagger = C4V1
FasterC4Tagger = C4V2
