"""Cutting a long text into pieces that a tokenizer encodes to the same ids as the whole text.

A text of hundreds of MB encoded at once costs the encoder's buffers for all of it (HF ``tokenizers`` keeps tens of
bytes per token); a piece at a time it costs its ids and one piece. Pieces end before a space that follows a
non-space character, which :func:`piecewise_problem` proves harmless for a tokenizer (or says why it might not be).
Shared by the tokens stage and the token-counting taggers.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterator, Optional, Tuple

__all__ = ["GPT2_PATTERN", "CL100K_PATTERN", "piece_bounds", "piecewise_problem"]

# GPT-2's pre-tokenisation regex, which HF's ByteLevel pre-tokenizer (use_regex=true) also applies
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# the split regex of OLMo's Dolma 2 tokenizer (cl100k's), the other pre-tokenisation that pieces are proven for
CL100K_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                  r"\s*[\r\n]+|\s+(?!\S)|\s+")
# where a text may be cut: before a space that follows a character that is not white space
_PIECE_CUT = re.compile(r"(?<=\S) ")


def piece_bounds(text: str, start: int, end: int, piece_chars: int) -> Iterator[Tuple[int, int]]:
    """``(start, end)`` of consecutive pieces of ``text[start:end]``, each about ``piece_chars`` characters (at
    least), cut only before a space that follows a non-space character."""
    pos = start
    while pos < end:
        target = pos + max(piece_chars, 1)
        m = _PIECE_CUT.search(text, target, end) if target < end else None
        cut = end if m is None else m.start()
        yield pos, cut
        pos = cut


def piecewise_problem(spec: Dict[str, Any]) -> Optional[str]:
    """Why cutting a text into pieces before a space that follows a non-space character (:func:`piece_bounds`) might
    give other ids than encoding it whole; None when it cannot.

    For pre-tokenisation by GPT-2's regex or cl100k's (and so tiktoken's, which uses GPT-2's), the pre-token that
    holds the character before such a space ends there (no alternative of either regex runs from a non-space
    character into a space) and a new one starts at the space, whichever text follows; the regexes' one look-ahead,
    ``\\s+(?!\\S)``, looks at most one character past a run of white space, which the non-space character ends
    before the cut. BPE merges inside pre-tokens only. NFC leaves a space in place and composes nothing with it,
    and an added token can only be matched across the cut if it holds a space after a non-space character, or
    strips or bounds itself by the white space around it."""
    normalizer = spec.get("normalizer")
    if normalizer is not None and normalizer.get("type") != "NFC":
        return f"normalizer {normalizer.get('type')!r}"
    model = spec.get("model") or {}
    if model.get("type") != "BPE" or model.get("dropout"):
        return "not a BPE model without dropout"
    pre = spec.get("pre_tokenizer") or {}
    if pre.get("type") == "ByteLevel":
        if pre.get("add_prefix_space") or not pre.get("use_regex", True):
            return "ByteLevel pre-tokenizer with a prefix space or without its regex"
    elif pre.get("type") == "Sequence":
        steps = pre.get("pretokenizers") or []
        ok = (
            len(steps) == 2 and steps[0].get("type") == "Split" and steps[0].get("invert") is True
            and steps[0].get("behavior") == "Removed"
            and (steps[0].get("pattern") or {}).get("Regex") in (GPT2_PATTERN, CL100K_PATTERN)
            and steps[1].get("type") == "ByteLevel" and not steps[1].get("add_prefix_space")
            and steps[1].get("use_regex") is False
        )
        if not ok:
            return "pre-tokenizer sequence other than a GPT-2 or cl100k split and ByteLevel"
    else:
        return f"pre-tokenizer {pre.get('type')!r}"
    for t in spec.get("added_tokens") or []:
        if t.get("single_word") or t.get("lstrip") or t.get("rstrip") or re.search(r"\S ", t["content"]):
            return f"added token {t['content']!r}"
    return None
