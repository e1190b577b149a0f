"""Units a model scores: the whole document, its paragraphs, or its sentences, as code-point bounds."""

from __future__ import annotations

from typing import List, Literal, Tuple

import blingfire

from dolma.taggers.length import paragraph_bounds

__all__ = ["Level", "sentence_bounds", "unit_bounds"]

Level = Literal["document", "paragraph", "sentence"]


def sentence_bounds(text: str) -> List[Tuple[int, int]]:
    """``(start, end)`` of each non-blank sentence (blingfire's splitter; its offsets are code points)."""
    if not text.strip():
        return []
    _, offsets = blingfire.text_to_sentences_and_offsets(text)
    return [(start, end) for start, end in offsets if text[start:end].strip()]


def unit_bounds(text: str, level: Level) -> List[Tuple[int, int]]:
    """The units of ``text`` at ``level``; a document is one unit even when blank."""
    if level == "paragraph":
        return paragraph_bounds(text)
    if level == "sentence":
        return sentence_bounds(text)
    return [(0, len(text))]
