"""Walking a long text in pieces without copying it whole: where ``str.strip()`` would cut it, and consecutive
pieces of about a chunk's size, each ending just after a match of a pattern (a place no rule looks across)."""

from __future__ import annotations

import re
from typing import Iterator, Tuple

__all__ = ["strip_bounds", "pieces"]

_NOT_SPACE = re.compile(r"\S")  # (re's \s is str.isspace, what strip() strips)


def strip_bounds(text: str) -> Tuple[int, int]:
    """``(start, end)`` with ``text[start:end] == text.strip()`` (``(0, 0)`` for a blank text)."""
    first = _NOT_SPACE.search(text)
    if first is None:
        return 0, 0
    end = len(text)
    while text[end - 1].isspace():
        end -= 1
    return first.start(), end


def pieces(text: str, start: int, end: int, cut: "re.Pattern[str]", chunk: int) -> Iterator[Tuple[int, int]]:
    """``(start, stop)`` of consecutive pieces of ``text[start:end]``: each but the last ends just after the
    first match of ``cut`` that ends ``chunk`` or more characters into it (a piece is the rest of the text when
    no match follows)."""
    while start < end:
        found = cut.search(text, start + chunk, end) if start + chunk < end else None
        stop = found.end() if found else end
        yield start, stop
        start = stop
