"""Paragraphs made only of punctuation, spaces and pictographs (Dolma's ``not_alphanum_paragraph_v1``).

A paragraph (a line holding a non-whitespace character, its newline included) is tagged ``all_punct`` with score 1
when it holds no ASCII letter or digit and every character is POSIX punctuation as the ``regex`` module reads
``[[:punct:]]`` on Unicode text, a whitespace character, or a pictograph from U+1F300–U+1F64F, U+1F680–U+1F6FF,
U+2600–U+26FF or U+2700–U+27BF. A paragraph with letters of another script (``é``, ``ж``, ``中``) but no ASCII
letter or digit is not tagged (it fails the second test), as in Dolma. A document with no such paragraph gets
one ``all_punct`` span over the whole text with score 0.
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np
import regex

from dolma.core.data_types import DocResult, Document, Span, TaggerOutput
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger
from dolma.taggers.length import paragraph_bounds
from dolma.taggers.span_arrays import span_values
from dolma.taggers.unit_arrays import is_long, iter_bounds, paragraph_arrays

__all__ = ["NotAlphanumParagraphV1"]

_ASCII_ALNUM = regex.compile(r"[A-Za-z0-9]")
# one character class (rather than an alternation under a repeat) accepts the same lines in linear time;
# `$` also matches before a final newline, which \s covers anyway
_ONLY_PUNCT = regex.compile(r"^[[:punct:]\s\U0001F300-\U0001F64F\U0001F680-\U0001F6FF\u2600-\u26FF\u2700-\u27BF]+$")


def _all_punct(para: str) -> bool:
    return not _ASCII_ALNUM.search(para) and _ONLY_PUNCT.search(para) is not None


@add_tagger("not_alphanum_paragraph_v1")
class NotAlphanumParagraphV1(BaseTagger):
    def predict(self, doc: Document) -> DocResult:
        text = doc.text
        bounds = paragraph_bounds(text)
        spans = [Span(start, end, "all_punct", 1) for start, end in bounds if _all_punct(text[start:end])]
        if not spans:
            spans.append(Span(0, len(text), "all_punct", 0))
        return DocResult(doc=doc, spans=spans)

    def tag_batch(self, docs: Sequence[Document]) -> List[TaggerOutput]:
        """As ``tag``; a long text's paragraphs are looked at in arrays (``dolma.taggers.unit_arrays``)."""
        return [self._long_values(doc.text) if is_long(doc.text) else self.tag(doc) for doc in docs]

    @staticmethod
    def _long_values(text: str) -> TaggerOutput:
        starts, ends = paragraph_arrays(text)
        tagged = np.fromiter(
            (_all_punct(text[a:b]) for a, b in iter_bounds(starts, ends)), dtype=bool, count=len(starts)
        )
        if not tagged.any():
            return {"all_punct": [[0, len(text), 0.0]]}
        return {"all_punct": span_values(starts, ends, 1.0, tagged)}
