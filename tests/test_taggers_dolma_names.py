"""Taggers registered under Dolma"s names give Dolma"s attribute types, spans and scores.

The expected values are literal outputs of the reference Dolma 1.2.1 (``pip install dolma==1.2.1``), obtained by
running, from a folder without our ``dolma/`` package, ``TaggerRegistry.get(name)().predict(Document(...))`` on
each text of ``TEXTS`` and writing down ``(span.start, span.end, span.type, span.score)`` for every span. CI has no
reference install, so the values are recorded here rather than recomputed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Dict, List, Tuple

import pytest

from dolma.core.taggers import BaseTagger
from dolma.taggers import Document, TaggerRegistry

SpanTuple = Tuple[int, int, str, float]

TEXTS: Dict[str, str] = {
    "empty": "",
    "spaces": "  \n\t \n",
    "plain": "Hello world.",
    "paragraphs": "First paragraph here.\n\n  Second one, indented.  \nThird line without newline",
    "unicode": "Ünïcödé текст 中文字符 🙂\nçà va? ¿Qué?\n",
    "punct": "Title\n---\n!!! ??? ...\n\n🙂🚀 ☀ ✂\n«»\n— –\nend\n",
    "only_punct": "***\n",
    "nonascii_letters": "ééé\n...\n",
    "symbols": "$$$ +++ <>\n^^^ `~|\n",
    "ws_edges": "\u3000 padded \xa0\r\n",
}

# name -> text key -> Dolma 1.2.1's spans
EXPECTED: Dict[str, Dict[str, List[SpanTuple]]] = {
    "char_length_strip_ws_v1": {
        "empty": [(0, 0, "length_no_ws", 0.0)],
        "spaces": [(0, 6, "length_no_ws", 0.0)],
        "plain": [(0, 12, "length_no_ws", 12.0)],
        "paragraphs": [(0, 75, "length_no_ws", 75.0)],
        "unicode": [(0, 34, "length_no_ws", 33.0)],
        "punct": [(0, 41, "length_no_ws", 40.0)],
        "only_punct": [(0, 4, "length_no_ws", 3.0)],
        "nonascii_letters": [(0, 8, "length_no_ws", 7.0)],
        "symbols": [(0, 19, "length_no_ws", 18.0)],
        "ws_edges": [(0, 12, "length_no_ws", 6.0)],
    },
    "bytes_length_v1": {
        "empty": [(0, 0, "bytes", 0.0)],
        "spaces": [(0, 6, "bytes", 6.0)],
        "plain": [(0, 12, "bytes", 12.0)],
        "paragraphs": [(0, 75, "bytes", 75.0)],
        "unicode": [(0, 34, "bytes", 58.0)],
        "punct": [(0, 41, "bytes", 57.0)],
        "only_punct": [(0, 4, "bytes", 4.0)],
        "nonascii_letters": [(0, 8, "bytes", 11.0)],
        "symbols": [(0, 19, "bytes", 19.0)],
        "ws_edges": [(0, 12, "bytes", 15.0)],
    },
    "doc_count_v1": {
        "empty": [(0, 0, "docs", 1.0)],
        "spaces": [(0, 6, "docs", 1.0)],
        "plain": [(0, 12, "docs", 1.0)],
        "paragraphs": [(0, 75, "docs", 1.0)],
        "unicode": [(0, 34, "docs", 1.0)],
        "punct": [(0, 41, "docs", 1.0)],
        "only_punct": [(0, 4, "docs", 1.0)],
        "nonascii_letters": [(0, 8, "docs", 1.0)],
        "symbols": [(0, 19, "docs", 1.0)],
        "ws_edges": [(0, 12, "docs", 1.0)],
    },
    "not_alphanum_paragraph_v1": {
        "empty": [(0, 0, "all_punct", 0.0)],
        "spaces": [(0, 6, "all_punct", 0.0)],
        "plain": [(0, 12, "all_punct", 0.0)],
        "paragraphs": [(0, 75, "all_punct", 0.0)],
        "unicode": [(0, 34, "all_punct", 0.0)],
        "punct": [(6, 10, "all_punct", 1.0), (10, 22, "all_punct", 1.0), (23, 30, "all_punct", 1.0), (30, 33, "all_punct", 1.0), (33, 37, "all_punct", 1.0)],
        "only_punct": [(0, 4, "all_punct", 1.0)],
        "nonascii_letters": [(4, 8, "all_punct", 1.0)],
        "symbols": [(0, 11, "all_punct", 1.0), (11, 19, "all_punct", 1.0)],
        "ws_edges": [(0, 12, "all_punct", 0.0)],
    },
}



@lru_cache(maxsize=None)
def tagger(name: str) -> BaseTagger:
    return TaggerRegistry.get(name)()


def spans_of(name: str, key: str) -> List[SpanTuple]:
    result = tagger(name).predict(Document(source="test", id=key, text=TEXTS[key]))
    return [(span.start, span.end, span.type, span.score) for span in result.spans]


@pytest.mark.parametrize("name,key", [(name, key) for name in EXPECTED for key in TEXTS])
def test_same_spans_as_dolma(name: str, key: str) -> None:
    assert spans_of(name, key) == EXPECTED[name][key]


def test_every_dolma_name_here_is_registered() -> None:
    for name in EXPECTED:
        assert TaggerRegistry.has(name), name
