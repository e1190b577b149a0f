"""Dolma's text helpers (``dolma.core.utils``) for code written against Dolma: text split into
:class:`~dolma.core.data_types.TextSlice` regions, and plugin imports.

Offsets are code points into the original text, end exclusive, so ``text[s.start:s.end] == s.text``.
"""

from __future__ import annotations

import re
from typing import Iterable, List

import regex

from dolma.core.data_types import TextSlice
from dolma.core.registry import load_plugins

__all__ = ["split_paragraphs", "split_sentences", "split_words", "import_modules", "UNICODE_WHITE_SPACE"]

# the characters with Unicode's White_Space property (what Rust's char::is_whitespace and `regex`'s \s test;
# str.isspace() also counts the separators \x1c-\x1f and no others)
UNICODE_WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))

_LINE = re.compile(r"[^\n]*\n|[^\n]+")
# where a sentence ends: whitespace after closing punctuation, or a line break
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# Unicode word boundaries (UAX #29), the same segmentation the dedupe stage's n-grams use
_WORD_BOUNDARY = regex.compile(r"(?V1w)\b")


def split_paragraphs(text: str, remove_empty: bool = True) -> List[TextSlice]:
    """Lines, each with its ``\\n``; ``remove_empty`` drops those that are only whitespace."""
    out = [TextSlice(text, m.start(), m.end()) for m in _LINE.finditer(text)]
    return [s for s in out if not s.text.isspace()] if remove_empty else out


def split_sentences(text: str, remove_empty: bool = True) -> List[TextSlice]:
    """Sentences: split where whitespace follows ``.``, ``!`` or ``?``, and at line breaks; each slice is stripped
    of surrounding whitespace."""
    out: List[TextSlice] = []
    start = 0
    for end, next_start in [*((m.start(), m.end()) for m in _SENTENCE_END.finditer(text)), (len(text), len(text))]:
        piece = text[start:end]
        s = start + len(piece) - len(piece.lstrip())
        e = max(s, start + len(piece.rstrip()))
        if e > s or not remove_empty:
            out.append(TextSlice(text, s, e))
        start = next_start
    return out


def split_words(text: str, remove_empty: bool = True) -> List[TextSlice]:
    """Words and punctuation runs between Unicode word boundaries; whitespace is dropped."""
    out: List[TextSlice] = []
    pos = 0
    for piece in _WORD_BOUNDARY.split(text):
        if piece and (not piece.isspace() or not remove_empty):
            out.append(TextSlice(text, pos, pos + len(piece)))
        pos += len(piece)
    return out


def import_modules(modules_path: Iterable[str]) -> None:
    """Import tagger plugins: module names, ``.py`` files or package folders (our ``tagger_modules``)."""
    load_plugins(list(modules_path or []))
