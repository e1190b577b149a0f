"""Walking a long text in pieces without copying it whole: consecutive pieces of about a chunk's size, each ending
just after a match of a pattern (a place no rule looks across). Where ``str.strip()`` would cut it is
:func:`dolma.core.longlines.strip_bounds`."""

from __future__ import annotations

import re
from typing import Iterator, Tuple

__all__ = ["pieces"]


def pieces(text: str, start: int, end: int, cut: "re.Pattern[str]", chunk: int) -> Iterator[Tuple[int, int]]:
    """``(start, stop)`` of consecutive pieces of ``text[start:end]``: each but the last ends just after the
    first match of ``cut`` that ends ``chunk`` or more characters into it (a piece is the rest of the text when
    no match follows)."""
    while start < end:
        found = cut.search(text, start + chunk, end) if start + chunk < end else None
        stop = found.end() if found else end
        yield start, stop
        start = stop
