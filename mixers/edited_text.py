"""A long text after span replacement, kept as the old text and its replaced regions instead of a new string.

Joining the new text of a document of hundreds of MB would hold it next to the old text (and then next to its copy
in the output line). Here the new text is only ever read a piece at a time, from the old one: to measure it
(``min_text_length``, a target's bytes and words) and to write it (the output line, a dropped document's record).
Its pieces join to what :func:`~dolma.mixers.spans.replace_spans` returns.
"""

from __future__ import annotations

from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from dolma.core.longlines import release_free_memory

__all__ = ["EditedText", "Regions", "TEXT_PIECE_CHARS", "edited_length", "edited_measures"]

TEXT_PIECE_CHARS = 1 << 20  # characters of the new text read at a time
TRIM_CHARS = 1 << 24  # characters of the new text read between two hand-backs of the C heap's free memory
_REGIONS_AT_A_TIME = 1 << 16  # regions per batch (turned into Python ints a batch at a time)
_PARTS_AT_A_TIME = 1 << 12  # slices and replacements joined into a piece at most


Regions = Iterator[Tuple[np.ndarray, np.ndarray, np.ndarray]]
"""Batches of regions: their starts, ends and rules (arrays), in order."""


class EditedText:
    """``text`` with each region ``[start, end)`` (sorted, disjoint) replaced by ``replacements[rule]``, where ``{}``
    stands for the region's old text. The regions are held as arrays of starts, ends and rules, a batch each, so
    that the last reading (:meth:`pieces` with ``consume``) lets each batch go once read; or they are read again
    at each reading from where they come (:meth:`from_source`: a span attribute's raw JSON, never held as arrays)."""

    __slots__ = ("text", "batches", "source", "replacements")

    def __init__(self, text: str, starts: np.ndarray, ends: np.ndarray, rules: np.ndarray, replacements: Sequence[str]) -> None:
        self.text = text
        self.batches: List[Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]] = [
            (starts[at : at + _REGIONS_AT_A_TIME].copy(), ends[at : at + _REGIONS_AT_A_TIME].copy(),
             rules[at : at + _REGIONS_AT_A_TIME].copy())
            for at in range(0, len(starts), _REGIONS_AT_A_TIME)
        ]
        self.source: Optional[Callable[[], Regions]] = None
        self.replacements = [r.split("{}") for r in replacements]  # literal parts around each `{}`

    @classmethod
    def from_source(cls, text: str, source: Callable[[], Regions], replacements: Sequence[str]) -> "EditedText":
        """The regions are ``source()``'s batches, produced anew at each reading (a reading with ``consume`` lets
        ``source`` go)."""
        empty = np.zeros(0, np.int64)
        edited = cls(text, empty, empty, empty, replacements)
        edited.source = source
        return edited

    def _regions(self, consume: bool) -> Regions:
        if self.source is not None:
            source = self.source
            if consume:
                self.source = None
                self.batches.append(None)  # read: a later reading fails
            yield from source()
            return
        for i in range(len(self.batches)):
            batch = self.batches[i]
            if batch is None:
                raise RuntimeError("an edited text was read again after a reading that let its regions go")
            if consume:
                self.batches[i] = None
            yield batch
            del batch

    def pieces(self, chunk_chars: int, consume: bool = False) -> Iterator[str]:
        """The new text as non-empty strings, in order, each of at most ``chunk_chars`` characters (plus, at most,
        one replacement's text around ``{}``). With ``consume``, the text cannot be read again: each batch of
        regions is let go once read (the regions are not held to the end, next to the whole new text written)."""
        text = self.text
        out: List[str] = []
        size = 0
        since_trim = 0

        def add(part: str) -> Iterator[str]:
            nonlocal size, since_trim
            if not part:
                return
            out.append(part)
            size += len(part)
            if size >= chunk_chars or len(out) >= _PARTS_AT_A_TIME:  # many short slices: their objects add up
                joined = "".join(out)
                out.clear()
                since_trim += size
                size = 0
                yield joined
                if since_trim >= TRIM_CHARS:  # the slices' and pieces' memory, left free on the heap between
                    release_free_memory()  # long-lived small objects, would otherwise add up to a good part of the text
                    since_trim = 0

        def copy(a: int, b: int) -> Iterator[str]:  # the old text's [a, b), a slice of at most chunk_chars at a time
            while a < b:
                take = min(b - a, max(chunk_chars - size, 1))
                yield from add(text[a : a + take])
                a += take

        pos = 0
        for starts, ends, rules in self._regions(consume):
            regions = zip(starts.tolist(), ends.tolist(), rules.tolist())
            del starts, ends, rules
            for start, end, rule in regions:
                yield from copy(pos, start)
                parts = self.replacements[rule]
                yield from add(parts[0])
                for literal in parts[1:]:
                    yield from copy(start, end)
                    yield from add(literal)
                pos = end
        yield from copy(pos, len(text))
        if size:
            yield "".join(out)


def edited_measures(text: EditedText, chunk_chars: int) -> Tuple[int, int]:
    """The new text's UTF-8 bytes and whitespace-separated words (``len(t.encode())``, ``len(t.split())``)."""
    size = words = 0
    after_word = False  # whether the text so far ends inside a word
    for piece in text.pieces(chunk_chars):
        size += len(piece.encode("utf-8", "surrogatepass"))
        words += len(piece.split()) - (after_word and not piece[0].isspace())
        after_word = not piece[-1].isspace()
    return size, words


def edited_length(text: EditedText, chars: str, chunk_chars: int) -> int:
    """``len(t.strip(chars).encode("utf-8"))`` of the new text ``t``."""
    total = lead = trail = 0
    leading = True  # only ``chars`` so far
    for piece in text.pieces(chunk_chars):
        n = len(piece.encode("utf-8", "surrogatepass"))
        total += n
        if leading:
            rest = piece.lstrip(chars)
            lead += n - len(rest.encode("utf-8", "surrogatepass"))
            if not rest:
                continue
            leading = False
            piece, n = rest, len(rest.encode("utf-8", "surrogatepass"))
        kept = piece.rstrip(chars)
        trail = n - len(kept.encode("utf-8", "surrogatepass")) if kept else trail + n
    return total - lead - trail
