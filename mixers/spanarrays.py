"""Span replacement for very long documents: spans as arrays, and the text rebuilt a slice at a time.

A 200 MB document can carry millions of spans. Decoded the plain way, each is a list of three numbers, then a tuple,
then a sorted tuple: hundreds of bytes per span, several times the text. Here a span rule that reads one attribute by
name (``$.attributes.NAME``, jq ``.attributes.NAME``) parses that attribute's raw JSON a chunk at a time into arrays
of starts and ends (24 bytes per span), and the new text is joined from slices gathered into chunks, after the old
text is let go. The result is that of :func:`~dolma.mixers.spans.collect_spans` and
:func:`~dolma.mixers.spans.replace_spans`; an attribute in any other shape is handed back to them.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import msgspec
import numpy as np

from dolma.core.longlines import release_free_memory
from dolma.mixers.spans import SpanRule, _replacement

__all__ = ["LONG_TEXT_CHARS", "Spans", "plain_attribute", "raw_spans", "replace_span_arrays"]

LONG_TEXT_CHARS = 1 << 22  # a text longer than this takes these paths
RAW_CHUNK_BYTES = 1 << 18  # JSON of spans decoded at a time (its Python objects are the transient cost)
TEXT_CHUNK_CHARS = 1 << 20  # slices of the new text joined at a time

_PLAIN = {
    "jsonpath": re.compile(r"\$\.attributes\.([A-Za-z0-9_]+)"),
    "jq": re.compile(r"\.attributes\.([A-Za-z_][A-Za-z0-9_]*)"),
}
_REGIONS_AT_A_TIME = 1 << 16
_SEPARATOR = re.compile(rb"\],\[")  # between two spans of a list of spans (numbers hold no brackets)
_TRIPLES = msgspec.json.Decoder(List[Tuple[float, float, float]])
_ANY = msgspec.json.Decoder()
_ENCODE = msgspec.json.Encoder().encode
_EXACT = float(1 << 53)  # integers up to this are exact as floats


def plain_attribute(expression: str, syntax: str) -> Optional[str]:
    """The attribute a span expression selects whole (``$.attributes.NAME``), or None."""
    m = _PLAIN.get(syntax, _PLAIN["jsonpath"]).fullmatch(expression.strip())
    return m.group(1) if m else None


def _chunks(content: Any, chunk_bytes: int) -> List[Tuple[int, int]]:
    """``(start, end)`` of runs of whole spans in ``content`` (a list of spans without its outer brackets)."""
    out: List[Tuple[int, int]] = []
    pos, n = 0, len(content)
    while pos < n:
        m = _SEPARATOR.search(content, pos + max(chunk_bytes, 1)) if pos + chunk_bytes < n else None
        end = n if m is None else m.start() + 1
        out.append((pos, end))
        pos = end + 1  # past the comma
    return out


Spans = Tuple[List[np.ndarray], List[np.ndarray], int]
"""A rule's spans: its starts and its ends (integer arrays, a chunk each), and the rule's index."""


def raw_spans(raw: msgspec.Raw, lo: float, hi: float, n: int
              ) -> Optional[Tuple[List[np.ndarray], List[np.ndarray], Optional[msgspec.Raw]]]:
    """The starts and ends, clamped to ``[0, n]`` (the text's length), of the spans of ``raw``, a JSON list of
    ``[start, end, score]`` numbers, whose score is in ``[lo, hi)`` (arrays, one per chunk of JSON), and the attribute
    as the plain path would write it after decoding it: None when that is ``raw`` itself (it is as msgspec writes
    it), else a new Raw. None for any other JSON (one span alone, spans of another length, values that are not
    numbers, integers too large for a float)."""
    offsets = np.int32 if n < (1 << 31) - 1 else np.int64
    chunk_bytes = RAW_CHUNK_BYTES
    view = memoryview(raw)  # type: ignore[arg-type]
    if bytes(view[:2]) == b"[]" and len(view) == 2:
        return [], [], None
    if len(view) < 4 or bytes(view[:2]) != b"[[" or bytes(view[-2:]) != b"]]":
        return None
    content = view[1:-1]
    starts: List[np.ndarray] = []
    ends: List[np.ndarray] = []
    canonical = True
    try:
        for a, b in _chunks(content, chunk_bytes):
            piece = b"[" + content[a:b] + b"]"
            triples = np.array(_TRIPLES.decode(piece), dtype=np.float64).reshape(-1, 3)
            if len(triples) and not (np.abs(triples) < _EXACT).all():
                return None
            keep = (lo <= triples[:, 2]) & (triples[:, 2] < hi)
            starts.append(np.clip(np.trunc(triples[keep, 0]), 0, n).astype(offsets))
            ends.append(np.clip(np.trunc(triples[keep, 1]), 0, n).astype(offsets))
            if canonical and _ENCODE(_ANY.decode(piece)) != piece:
                canonical = False
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    release_free_memory()  # what the chunks' Python objects left on the heap
    rewritten = None
    if not canonical:  # written again as the plain path would: decoded, then encoded
        parts = [_ENCODE(_ANY.decode(b"[" + content[a:b] + b"]"))[1:-1] for a, b in _chunks(content, chunk_bytes)]
        rewritten = msgspec.Raw(b"[" + b",".join(parts) + b"]")
    return starts, ends, rewritten


def replace_span_arrays(doc: Dict[str, Any], spans: List[Spans], rules: Sequence[SpanRule]) -> int:
    """Replace the spans in ``doc["text"]`` as :func:`~dolma.mixers.spans.replace_spans` does; returns the number of
    regions replaced. ``spans`` holds each rule's starts and ends (its index last), and is emptied. The old text
    leaves the document first, so once the slices are gathered it is freed (when nothing else holds it) before
    they are joined."""
    release_free_memory()  # what decoding the spans left on the heap
    text = doc["text"]
    n = len(text)
    small = np.int32 if n < (1 << 31) - 1 else np.int64  # offsets clamped to the text
    s = np.concatenate([np.clip(a, 0, n).astype(small) for starts, _, _ in spans for a in starts])
    e = np.concatenate([np.clip(b, 0, n).astype(small) for _, ends, _ in spans for b in ends])
    r = np.concatenate([np.full(len(a), i, np.int32) for starts, _, i in spans for a in starts])
    spans.clear()
    keep = e > s  # empty ones, and those outside the text, are dropped
    s, e, r = s[keep], e[keep], r[keep]
    del keep
    if not len(s):
        return 0
    order = np.lexsort((r, -e, s))  # by start, then the longest, then the first rule
    s, e, r = s[order], e[order], r[order]
    del order
    reach = np.maximum.accumulate(e)
    first = np.flatnonzero(np.concatenate(([True], s[1:] >= reach[:-1])))  # spans that start a region
    region_start, region_rule = s[first], r[first]
    region_end = reach[np.concatenate((first[1:] - 1, [len(s) - 1]))]
    del s, e, r, reach, first
    doc["text"] = ""
    chunk_chars = TEXT_CHUNK_CHARS
    chunks: List[str] = []
    pieces: List[str] = []
    size = 0
    pos = 0
    for at in range(0, len(region_start), _REGIONS_AT_A_TIME):  # as Python ints a batch at a time
        batch = slice(at, at + _REGIONS_AT_A_TIME)
        for start, end, rule in zip(region_start[batch].tolist(), region_end[batch].tolist(), region_rule[batch].tolist()):
            kept = text[pos:start]
            new = _replacement(rules[rule].replacement, text, start, end)
            pieces.append(kept)
            pieces.append(new)
            size += len(kept) + len(new)
            pos = end
            if size >= chunk_chars:
                chunks.append("".join(pieces))
                pieces.clear()
                size = 0
    pieces.append(text[pos:])
    chunks.append("".join(pieces))
    del pieces, text
    doc["text"] = "".join(chunks)
    del chunks
    release_free_memory()
    return len(region_start)
