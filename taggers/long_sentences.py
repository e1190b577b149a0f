"""blingfire's sentences of a long text, found a window of the text at a time.

blingfire splits a whole text with buffers of about 30 bytes per byte of it (its UTF-32 copy, a boundary table of
three integers per character, the offsets Python asks for); a text of hundreds of MB would take several GB. Here it
splits windows of ``WINDOW_CHARS`` characters. Of a window's sentences, those followed by a sentence that starts
``MARGIN_CHARS`` or more before the window's end are kept (a boundary depends on the text around it: on every text
we compared, margins of 128 characters already gave blingfire's own sentences; white space after a sentence's end
is no boundary until text follows it), and
the next window starts ``MARGIN_CHARS`` before the first sentence not kept, so that its boundaries see the text
before them too. A sentence longer than a window is followed into the next windows the same way; where a sentence
ends but none starts before the margin (a run of white space), the window is doubled.
"""

from __future__ import annotations

import re
from typing import Iterator, List, Tuple

import blingfire

__all__ = ["window_sentence_bounds"]

WINDOW_CHARS = 1 << 18
MARGIN_CHARS = 1 << 12


# a character blingfire does not take for white space (its __FAIsWhiteSpace__; NUL it reads as a space): a window
# without one holds no sentence, and blingfire's Python wrapper fails on it
_BLINGFIRE_TEXT = re.compile("[^\x00-\x20\xa0\u2000-\u200f\u202f\u205f\u2060\u2420\u2424\u3000\ufeff]")


def _split(text: str, start: int, end: int) -> List[Tuple[int, int]]:
    if _BLINGFIRE_TEXT.search(text, start, end) is None:
        return []
    _, offsets = blingfire.text_to_sentences_and_offsets(text[start:end])
    return [(start + a, start + b) for a, b in offsets]


def window_sentence_bounds(text: str) -> Iterator[Tuple[int, int]]:
    """``(start, end)`` of each sentence blingfire finds in ``text`` (blank ones included), a window at a time."""
    n = len(text)
    if n and _BLINGFIRE_TEXT.search(text) is None:
        # what blingfire's wrapper makes of a text it finds no sentence in: one span from its unset offsets
        yield 0, 1 if ord(text[0]) < 0x80 else n
        return
    settled = 0  # every boundary before this is known, and a sentence starts here (unless `inside`)
    inside = -1  # or: the start of a sentence known to run on past `settled` (one longer than a window)
    start, window = 0, WINDOW_CHARS
    while True:
        end = n if n - start <= window else start + window
        # the window holds a margin of text before `settled`: what ends there was taken from an earlier window
        found = [s for s in _split(text, start, end) if s[1] > settled]
        if found:
            first = inside if inside >= 0 else settled
            if found[0][0] < first or inside >= 0:
                found[0] = (first, found[0][1])
        if end == n:
            yield from found
            return
        # a sentence is kept when the next one starts before the margin: its end is settled by what follows it
        limit = end - MARGIN_CHARS
        keep = 0
        while keep + 1 < len(found) and found[keep + 1][0] <= limit:
            keep += 1
        if keep:
            yield from found[:keep]
            settled, inside = found[keep][0], -1
        elif found and found[0][0] <= limit < found[0][1]:
            # a sentence runs on past the margin: the next window starts inside it
            settled, inside = limit, found[0][0]
        else:  # a sentence ends but none starts before the margin (white space follows): a longer window
            window *= 2
            continue
        start, window = max(0, settled - MARGIN_CHARS), WINDOW_CHARS
