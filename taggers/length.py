"""Length taggers: characters and word-like tokens, per document and per non-blank paragraph.

A paragraph is a line that holds a non-whitespace character, with its trailing newline; its span covers
that newline and its score counts it, as in Dolma. A token is a run of word characters or a run of other
non-space characters: Dolma's ``\\w+|[^\\w\\s]+`` under the ``regex`` module, whose ``\\w`` (letters, marks,
decimal and letter numbers, connector punctuation, joiners) and ``\\s`` (Unicode White_Space) we reproduce
with a lookup table over code points, which numpy applies to a whole text at once.

``whitespace_tokenizer_v1`` and ``whitespace_tokenizer_with_paragraphs_v1`` give Dolma 1.2.1's values:
``len(pattern.split(text))``, which is the token count plus one (an empty text has one "token"), per
document and per paragraph; the ``with_paragraphs`` document value is the sum of its paragraphs' values,
so it gains one per paragraph. ``whitespace_tokenizer_v2`` and ``whitespace_tokenizer_with_paragraphs_v2``
(names Dolma does not use) are the corrected counts: the number of tokens, and a document total that is
the token count of the document.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from dolma.core.data_types import DocResult, Document, Span, TaggerOutput
from dolma.core.taggers import BaseTagger
from dolma.core.registry import add_tagger
from dolma.core.utils import UNICODE_WHITE_SPACE
from dolma.taggers.unit_arrays import PARAGRAPH, is_long, paragraph_arrays, scored_span_values

__all__ = [
    "WHITE_SPACE",
    "WORD",
    "SPACE",
    "ALPHA",
    "char_flags",
    "code_points",
    "count_tokens",
    "paragraph_bounds",
    "iter_paragraph_bounds",
    "WhitespaceLengthV1",
    "WhitespaceLengthParagraphsV1",
    "WhitespaceTokenizerV2",
    "WhitespaceTokenizerWithParagraphsV2",
    "BytesLengthV1",
    "DocCountLengthV1",
    "CharLengthStripWsV1",
]

# bits of char_flags(): Unicode White_Space, the `regex` module's \w, str.isspace(), str.isalpha()
WHITE_SPACE, WORD, SPACE, ALPHA = 1, 2, 4, 8

_WHITE_SPACE_CHARS = UNICODE_WHITE_SPACE
_WORD_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "Pc"})
# the zero-width (non-)joiners and the Other_Alphabetic symbols (circled and squared Latin letters)
_EXTRA_WORD = frozenset(
    chr(c)
    for lo, hi in ((0x200C, 0x200D), (0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))
    for c in range(lo, hi + 1)
)


def _is_word(ch: str) -> bool:
    return ch in _EXTRA_WORD or unicodedata.category(ch) in _WORD_CATEGORIES


@lru_cache(maxsize=None)
def char_flags() -> "np.ndarray":
    """The flag bits of every code point (built once per process, in about half a second)."""
    size = sys.maxunicode + 1

    def where(predicate: Callable[[str], bool]) -> "np.ndarray":
        return np.fromiter(map(predicate, map(chr, range(size))), dtype=bool, count=size)

    flags = where(_is_word).astype(np.uint8) * WORD
    flags[[ord(ch) for ch in _WHITE_SPACE_CHARS]] |= WHITE_SPACE
    flags |= where(str.isspace).astype(np.uint8) * SPACE
    flags |= where(str.isalpha).astype(np.uint8) * ALPHA
    return flags


def code_points(text: str) -> "np.ndarray":
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


# characters classified at a time: the per-character arrays stay this small whatever the text's length (a
# document of hundreds of MB is counted in memory well below its own size)
CHUNK_CHARS = 1 << 20


def token_start_chunks(text: str) -> Iterator[Tuple[int, "np.ndarray"]]:
    """``(offset, starts)`` per chunk of ``text``: True where a token starts, a non-space character of another class
    than the one before it (the class carries over from one chunk to the next)."""
    flags = char_flags()
    previous = None
    for offset in range(0, len(text), CHUNK_CHARS):
        kind = flags[code_points(text[offset : offset + CHUNK_CHARS])] & (WHITE_SPACE | WORD)
        starts = np.empty(len(kind), dtype=bool)
        starts[:1] = True if previous is None else kind[:1] != previous
        np.not_equal(kind[1:], kind[:-1], out=starts[1:])
        starts &= kind != WHITE_SPACE
        previous = kind[-1]
        yield offset, starts


SPACE_CHAR = re.compile(r"\s")  # one str.isspace character: what str.split() splits at


def chunk_bounds(
    text: str, separator: "re.Pattern[str]", chars: Optional[int] = None, start: int = 0, end: Optional[int] = None
) -> Iterator[Tuple[int, int]]:
    """``(start, end)`` of consecutive pieces of ``text[start:end]`` (default: all of it) of about ``chars``
    characters (default ``CHUNK_CHARS``), each but the last ending at a match of ``separator`` (which belongs to no
    piece): splitting the pieces splits the text. An empty range is one empty piece."""
    size = CHUNK_CHARS if chars is None else chars
    end = len(text) if end is None else end
    while True:
        m = separator.search(text, start + size, end) if start + size < end else None
        if m is None:
            yield start, end
            return
        yield start, m.start()
        start = m.end()


def count_tokens(text: str) -> int:
    return sum(int(np.count_nonzero(starts)) for _, starts in token_start_chunks(text))


def tokens_before(text: str, positions: "np.ndarray") -> "np.ndarray":
    """For each of the sorted ``positions`` (0..len(text)), how many tokens start before it."""
    out = np.zeros(len(positions), dtype=np.int64)
    total = 0
    for offset, starts in token_start_chunks(text):
        running = np.cumsum(starts)
        lo, hi = np.searchsorted(positions, [offset, offset + len(starts)], side="right")
        out[lo:hi] = total + running[positions[lo:hi] - offset - 1]
        total += int(running[-1])
    return out


def paragraph_bounds(text: str) -> List[Tuple[int, int]]:
    """``(start, end)`` of each line holding a non-whitespace character, its newline included."""
    return [m.span() for m in PARAGRAPH.finditer(text)]


def iter_paragraph_bounds(text: str) -> Iterator[Tuple[int, int]]:
    """:func:`paragraph_bounds` one at a time (a long text's list of them would outweigh the text)."""
    return (m.span() for m in PARAGRAPH.finditer(text))


@add_tagger("char_length_v1")
class CharLengthV1(BaseTagger):
    def predict(self, doc: Document) -> DocResult:
        n = len(doc.text)
        return DocResult(doc=doc, spans=[Span(0, n, "length", n)])


@add_tagger("char_length_strip_ws_v1")
class CharLengthStripWsV1(BaseTagger):
    """Characters left once leading and trailing whitespace (``str.isspace``) is dropped; the span is the text."""

    def predict(self, doc: Document) -> DocResult:
        return DocResult(doc=doc, spans=[Span(0, len(doc.text), "length_no_ws", len(doc.text.strip()))])


@add_tagger("bytes_length_v1")
class BytesLengthV1(BaseTagger):
    """The text's size in UTF-8 bytes (a lone surrogate, which UTF-8 cannot hold, fails as in Dolma)."""

    def predict(self, doc: Document) -> DocResult:
        return DocResult(doc=doc, spans=[Span(0, len(doc.text), "bytes", len(doc.text.encode("utf-8")))])


@add_tagger("doc_count_v1")
class DocCountLengthV1(BaseTagger):
    """A score of 1 per document, so that summing the attribute counts documents."""

    def predict(self, doc: Document) -> DocResult:
        return DocResult(doc=doc, spans=[Span(0, len(doc.text), "docs", 1)])


@add_tagger("char_length_with_paragraphs_v1")
class CharLengthWithParagraphsV1(BaseTagger):
    def predict(self, doc: Document) -> DocResult:
        n = len(doc.text)
        spans = [Span(start, end, "paragraph", end - start) for start, end in paragraph_bounds(doc.text)]
        spans.append(Span(0, n, "document", n))
        return DocResult(doc=doc, spans=spans)

    def tag_batch(self, docs: Sequence[Document]) -> List[TaggerOutput]:
        """As ``tag``; a long text's paragraphs come as arrays (``dolma.taggers.unit_arrays``)."""
        return [self._long_values(doc.text) if is_long(doc.text) else self.tag(doc) for doc in docs]

    @staticmethod
    def _long_values(text: str) -> TaggerOutput:
        starts, ends = paragraph_arrays(text)
        out: TaggerOutput = {"paragraph": scored_span_values(starts, ends, ends - starts)} if len(starts) else {}
        out["document"] = [[0, len(text), float(len(text))]]
        return out


@add_tagger("whitespace_tokenizer_v2")
class WhitespaceTokenizerV2(BaseTagger):
    """The number of tokens."""

    # what a text (and, with paragraphs, each paragraph) scores on top of its token count
    EXTRA = 0

    def __init__(self) -> None:
        char_flags()  # build the table now, not on the first document

    def predict(self, doc: Document) -> DocResult:
        return DocResult(doc=doc, spans=[Span(0, len(doc.text), "length", count_tokens(doc.text) + self.EXTRA)])


@add_tagger("whitespace_tokenizer_with_paragraphs_v2")
class WhitespaceTokenizerWithParagraphsV2(WhitespaceTokenizerV2):
    """The number of tokens of each non-blank paragraph and of the document."""

    def predict(self, doc: Document) -> DocResult:
        text = doc.text
        bounds = paragraph_bounds(text)
        spans: List[Span] = []
        if bounds:
            # tokens never cross a newline, so a paragraph's count is a difference of running totals
            running = tokens_before(text, np.array(bounds, dtype=np.int64).ravel()).reshape(-1, 2)
            counts = (running[:, 1] - running[:, 0] + self.EXTRA).tolist()
            spans = [Span(s, e, "paragraph", c) for (s, e), c in zip(bounds, counts)]
        spans.append(Span(0, len(text), "document", sum(span.score for span in spans)))
        return DocResult(doc=doc, spans=spans)


@add_tagger("whitespace_tokenizer_v1")
class WhitespaceTokenizerV1(WhitespaceTokenizerV2):
    """Dolma's value: the token count plus one."""

    EXTRA = 1


@add_tagger("whitespace_tokenizer_with_paragraphs_v1")
class WhitespaceTokenizerWithParagraphsV1(WhitespaceTokenizerWithParagraphsV2):
    """Dolma's values: each paragraph's token count plus one, and the document value their sum."""

    EXTRA = 1


# Dolma's class names for the same taggers (code written against Dolma imports them from here)
WhitespaceLengthV1 = WhitespaceTokenizerV1
WhitespaceLengthParagraphsV1 = WhitespaceTokenizerWithParagraphsV1
