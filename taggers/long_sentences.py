"""blingfire's sentences of a long text, found a window of the text at a time.

blingfire splits a whole text with buffers of about 30 bytes per byte of it (its UTF-32 copy, a boundary table of
three integers per character, the offsets Python asks for); a text of hundreds of MB would take several GB. Here it
splits windows of ``WINDOW_CHARS`` characters. Of a window's sentences, those followed by a sentence that starts
``MARGIN_CHARS`` or more before the window's end are kept (a boundary depends on a few characters around it, never
on text thousands of characters away; white space after a sentence's end is no boundary until text follows it), and
the next window starts at the start of the last ``OVERLAP_SENTENCES`` kept, which it must find again with the same
bounds before its own count: so each window starts where the splitter agrees with what came before. A window in
which no sentence ends before the margin is doubled.
"""

from __future__ import annotations

import re
from typing import Iterator, List, Tuple

import blingfire

__all__ = ["window_sentence_bounds"]

WINDOW_CHARS = 1 << 20
MARGIN_CHARS = 1 << 12
OVERLAP_SENTENCES = 4


# a character blingfire does not take for white space (its __FAIsWhiteSpace__; NUL it reads as a space): a window
# without one holds no sentence, and blingfire's Python wrapper fails on it
_BLINGFIRE_TEXT = re.compile("[^\x00-\x20\xa0\u2000-\u200f\u202f\u205f\u2060\u2420\u2424\u3000\ufeff]")


def _split(text: str, start: int, end: int) -> List[Tuple[int, int]]:
    if _BLINGFIRE_TEXT.search(text, start, end) is None:
        return []
    _, offsets = blingfire.text_to_sentences_and_offsets(text[start:end])
    return [(start + a, start + b) for a, b in offsets]


def window_sentence_bounds(text: str) -> Iterator[Tuple[int, int]]:
    """``(start, end)`` of each sentence blingfire finds in ``text`` (blank ones included), a window at a time.

    Where a window does not find the previous window's last sentences again (which did not happen on any text we
    tried), its own sentences after them are taken: the result is still a split of the whole text."""
    n = len(text)
    if n and _BLINGFIRE_TEXT.search(text) is None:
        # what blingfire's wrapper makes of a text it finds no sentence in: one span from its unset offsets
        yield 0, 1 if ord(text[0]) < 0x80 else n
        return
    tail: List[Tuple[int, int]] = []  # the last sentences kept, which the next window starts with
    start, window = 0, WINDOW_CHARS
    while True:
        end = n if n - start <= window else start + window
        found = _split(text, start, end)
        if tail:
            agreed = len(tail) if found[: len(tail)] == tail else 0
            found = found[agreed:] if agreed else [s for s in found if s[0] >= tail[-1][1]]
        if end == n:
            yield from found
            return
        # a sentence is kept when the next one starts before the margin: its end is settled by what follows it
        limit = end - MARGIN_CHARS
        keep = 0
        while keep + 1 < len(found) and found[keep + 1][0] <= limit:
            keep += 1
        if not keep:
            window *= 2
            continue
        yield from found[:keep]
        tail = (tail + found[:keep])[-OVERLAP_SENTENCES:]
        start, window = tail[0][0], WINDOW_CHARS
