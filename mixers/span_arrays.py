"""Span replacement for very long documents: spans as arrays, and the new text never joined.

A 200 MB document can carry millions of spans. Decoded the plain way, each is a list of three numbers, then a tuple,
then a sorted tuple: hundreds of bytes per span, several times the text. Here a span rule that reads one attribute by
name (``$.attributes.NAME``, jq ``.attributes.NAME``) parses that attribute's raw JSON a chunk at a time into arrays
of starts and ends (24 bytes per span), and the new text is the old one with its regions replaced, read a piece at a
time (:class:`~dolma.mixers.edited_text.EditedText`), never joined. The result is that of
:func:`~dolma.mixers.spans.collect_spans` and :func:`~dolma.mixers.spans.replace_spans`; an attribute in any other
shape is handed back to them.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import msgspec
import numpy as np

from dolma.core.longlines import release_free_memory
from dolma.mixers.edited_text import EditedText, Regions
from dolma.mixers.spans import SpanRule

__all__ = ["LONG_TEXT_CHARS", "Spans", "InOrder", "in_order", "ordered_regions", "plain_attribute", "raw_spans",
           "replace_span_arrays"]

LONG_TEXT_CHARS = 1 << 22  # a text longer than this takes these paths
RAW_CHUNK_BYTES = 1 << 18  # JSON of spans decoded at a time (its Python objects are the transient cost)
_UNPACK_AT_A_TIME = 1 << 20  # sorted spans unpacked at a time
_KEY_BITS = 64  # a span's start, end and rule packed into one unsigned integer

_PLAIN = {
    "jsonpath": re.compile(r"\$\.attributes\.([A-Za-z0-9_]+)"),
    "jq": re.compile(r"\.attributes\.([A-Za-z_][A-Za-z0-9_]*)"),
}
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


class _NotSpans(Exception):
    """The raw attribute is not a list of ``[start, end, score]`` numbers this module reads."""


def _raw_chunks(raw: msgspec.Raw, lo: float, hi: float, n: int, canonical: Optional[List[bool]] = None
                ) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """Per chunk of ``raw``'s JSON, the starts and ends (clamped to ``[0, n]``) of its spans whose score is in
    ``[lo, hi)``; raises :class:`_NotSpans` for any other JSON. With ``canonical``, its one flag is cleared when a
    chunk is not as msgspec writes it."""
    offsets = np.int32 if n < (1 << 31) - 1 else np.int64
    view = memoryview(raw)  # type: ignore[arg-type]
    if bytes(view[:2]) == b"[]" and len(view) == 2:
        return
    if len(view) < 4 or bytes(view[:2]) != b"[[" or bytes(view[-2:]) != b"]]":
        raise _NotSpans
    content = view[1:-1]
    try:
        for a, b in _chunks(content, RAW_CHUNK_BYTES):
            piece = b"[" + content[a:b] + b"]"
            triples = np.array(_TRIPLES.decode(piece), dtype=np.float64).reshape(-1, 3)
            if len(triples) and not (np.abs(triples) < _EXACT).all():
                raise _NotSpans
            keep = (lo <= triples[:, 2]) & (triples[:, 2] < hi)
            if canonical is not None and canonical[0] and _ENCODE(_ANY.decode(piece)) != piece:
                canonical[0] = False
            yield np.clip(np.trunc(triples[keep, 0]), 0, n).astype(offsets), np.clip(np.trunc(triples[keep, 1]), 0, n).astype(offsets)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise _NotSpans from None


def _rewritten(raw: msgspec.Raw, canonical: bool) -> Optional[msgspec.Raw]:
    """The attribute as the plain path writes it after decoding it (decoded, then encoded): None when that is
    ``raw`` itself (``canonical``: it is as msgspec writes it)."""
    if canonical:
        return None
    content = memoryview(raw)[1:-1]  # type: ignore[arg-type]
    parts = [_ENCODE(_ANY.decode(b"[" + content[a:b] + b"]"))[1:-1] for a, b in _chunks(content, RAW_CHUNK_BYTES)]
    return msgspec.Raw(b"[" + b",".join(parts) + b"]")


def raw_spans(raw: msgspec.Raw, lo: float, hi: float, n: int
              ) -> Optional[Tuple[List[np.ndarray], List[np.ndarray], Optional[msgspec.Raw]]]:
    """The starts and ends, clamped to ``[0, n]`` (the text's length), of the spans of ``raw``, a JSON list of
    ``[start, end, score]`` numbers, whose score is in ``[lo, hi)`` (arrays, one per chunk of JSON), and the attribute
    as the plain path would write it after decoding it: None when that is ``raw`` itself (it is as msgspec writes
    it), else a new Raw. None for any other JSON (one span alone, spans of another length, values that are not
    numbers, integers too large for a float)."""
    starts: List[np.ndarray] = []
    ends: List[np.ndarray] = []
    canonical = [True]
    try:
        for a, b in _raw_chunks(raw, lo, hi, n, canonical):
            starts.append(a)
            ends.append(b)
    except _NotSpans:
        return None
    release_free_memory()  # what the chunks' Python objects left on the heap
    return starts, ends, _rewritten(raw, canonical[0])


class InOrder(NamedTuple):
    """What :func:`in_order` found of a rule's spans that are in the order regions are built in."""

    spans: int  # spans whose score is in range
    regions: int  # regions they replace
    rewritten: Optional[msgspec.Raw]  # the attribute as the plain path writes it (None: as it is)


def in_order(raw: msgspec.Raw, lo: float, hi: float, n: int) -> Optional[InOrder]:
    """For one rule's spans (as :func:`raw_spans` reads them): when, clamped and without the empty ones, they
    are already in the order :func:`replace_span_arrays` sorts them in (by start, then the longest first), their
    counts; None when they are not, or are not spans. Read a chunk at a time: nothing of them is held."""
    canonical = [True]
    spans = regions = 0
    try:
        for got in _regions_of(_raw_chunks(raw, lo, hi, n, canonical), 0, spans_seen=True):
            if got is None:
                return None
            kept, starts, _, _ = got
            spans += kept
            regions += len(starts)
    except _NotSpans:
        return None
    release_free_memory()
    return InOrder(spans, regions, _rewritten(raw, canonical[0]))


def ordered_regions(raw: msgspec.Raw, lo: float, hi: float, n: int, rule: int) -> Regions:
    """The regions of one rule's spans that :func:`in_order` found in order, a batch per chunk of JSON: what
    :func:`replace_span_arrays` makes of them (for :meth:`EditedText.from_source`, read anew at each reading)."""
    for got in _regions_of(_raw_chunks(raw, lo, hi, n), rule, spans_seen=False):
        assert got is not None
        _, starts, ends, rules = got
        if len(starts):
            yield starts, ends, rules


def _regions_of(chunks: Iterator[Tuple[np.ndarray, np.ndarray]], rule: int, spans_seen: bool
                ) -> Iterator[Optional[Tuple[int, np.ndarray, np.ndarray, np.ndarray]]]:
    """Per chunk of spans in order: the spans in it (before the empty ones are left out) and the regions
    completed in it (a region ends where a span starts at or after the reach of the spans before it); the last
    region comes after the last chunk. None (and no more) where a span is out of order (only with
    ``spans_seen``, which checks it)."""
    last_start, last_end = -1, 0  # the previous span (the order is checked across chunks)
    open_start = -1  # the region not yet ended (-1: none)
    reach = 0
    for starts, ends in chunks:
        kept = len(starts)
        real = ends > starts
        s, e = starts[real].astype(np.int64), ends[real].astype(np.int64)
        del starts, ends, real
        if not len(s):
            yield kept, s, s, s.astype(np.uint8)
            continue
        if spans_seen:
            before_s = np.concatenate(([last_start], s[:-1]))
            before_e = np.concatenate(([last_end], e[:-1]))
            if not ((s > before_s) | ((s == before_s) & (e <= before_e))).all():
                yield None
                return
            del before_s, before_e
        last_start, last_end = int(s[-1]), int(e[-1])
        reaches = np.maximum.accumulate(np.maximum(e, reach))
        before = np.concatenate(([reach], reaches[:-1]))
        first = s >= before  # spans that start a region
        if open_start < 0:
            first[0] = True
        at = np.flatnonzero(first)
        # each region started here ends where the next one starts; the one open before ends at the first start
        region_starts = s[at]
        region_ends = before[at]
        if open_start >= 0:
            region_starts = np.concatenate(([open_start], region_starts))
        else:
            region_ends = region_ends[1:]
        open_start = int(region_starts[-1])
        reach = int(reaches[-1])
        done_starts, done_ends = region_starts[:-1], region_ends
        yield kept, done_starts, done_ends, np.full(len(done_starts), rule, np.uint8)
    if open_start >= 0:
        yield 0, np.array([open_start], np.int64), np.array([reach], np.int64), np.array([rule], np.uint8)


def _sorted_spans(spans: List[Spans], n: int, rules: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The starts, ends and rule indexes of ``spans`` (emptied) clamped to ``[0, n]``, without the empty ones, in
    the order regions are built in: by start, then the longest, then the first rule. Each span is packed into one
    64-bit key in that order (start, ``n - end``, rule), a chunk at a time, and the keys are sorted in place: a
    few times less memory than sorting the three arrays by a permutation."""
    small = np.int32 if n < (1 << 31) - 1 else np.int64  # offsets clamped to the text
    rule_type = np.uint8 if rules <= 1 << 8 else np.uint16 if rules <= 1 << 16 else np.uint32
    offset_bits, rule_bits = max(n.bit_length(), 1), max((rules - 1).bit_length(), 0)
    if 2 * offset_bits + rule_bits > _KEY_BITS:  # a text of billions of characters: sorted by a permutation
        s = np.concatenate([np.clip(a, 0, n).astype(small) for starts, _, _ in spans for a in starts])
        e = np.concatenate([np.clip(b, 0, n).astype(small) for _, ends, _ in spans for b in ends])
        r = np.concatenate([np.full(len(a), i, rule_type) for starts, _, i in spans for a in starts])
        spans.clear()
        keep = e > s
        s, e, r = s[keep], e[keep], r[keep]
        order = np.lexsort((r, -e, s))
        return s[order], e[order], r[order]
    keys = np.empty(sum(len(a) for starts, _, _ in spans for a in starts), np.uint64)  # pages taken as filled
    count = 0
    for starts, ends, i in spans:
        for a, b in zip(starts, ends):
            a, b = np.clip(a, 0, n), np.clip(b, 0, n)
            keep = b > a
            a, b = a[keep], b[keep]
            packed = a.astype(np.uint64) << np.uint64(offset_bits + rule_bits)
            packed |= (n - b).astype(np.uint64) << np.uint64(rule_bits)
            packed |= np.uint64(i)
            keys[count : count + len(packed)] = packed
            count += len(packed)
    spans.clear()
    keys = keys[:count]
    keys.sort()  # equal keys are equal spans: the order among them does not matter
    s, e, r = np.empty(count, small), np.empty(count, small), np.empty(count, rule_type)
    offset_mask, rule_mask = np.uint64((1 << offset_bits) - 1), np.uint64((1 << rule_bits) - 1)
    for at in range(0, count, _UNPACK_AT_A_TIME):
        part = keys[at : at + _UNPACK_AT_A_TIME]
        s[at : at + len(part)] = part >> np.uint64(offset_bits + rule_bits)
        e[at : at + len(part)] = n - ((part >> np.uint64(rule_bits)) & offset_mask).astype(np.int64)
        r[at : at + len(part)] = part & rule_mask
    return s, e, r


def replace_span_arrays(doc: Dict[str, Any], spans: List[Spans], rules: Sequence[SpanRule]) -> int:
    """Replace the spans in ``doc["text"]`` as :func:`~dolma.mixers.spans.replace_spans` does, by an
    :class:`~dolma.mixers.edited_text.EditedText` (the old text and the regions replaced: the new text is never
    joined); returns the number of regions replaced. ``spans`` holds each rule's starts and ends (its index last),
    and is emptied."""
    release_free_memory()  # what decoding the spans left on the heap
    text = doc["text"]
    n = len(text)
    s, e, r = _sorted_spans(spans, n, len(rules))
    if not len(s):
        return 0
    reach = np.maximum.accumulate(e, out=e)  # how far the spans so far reach
    del e
    last = np.empty(len(s), bool)  # spans that end a region: the next one starts at or after its reach
    np.greater_equal(s[1:], reach[:-1], out=last[:-1])
    last[-1] = True
    region_end = reach[last]
    del reach
    first = np.empty(len(s), bool)  # spans that start a region
    first[0] = True
    first[1:] = last[:-1]
    del last
    region_start, region_rule = s[first], r[first]
    del s, r, first
    doc["text"] = EditedText(text, region_start, region_end, region_rule, [rule.replacement for rule in rules])
    release_free_memory()  # what sorting the spans left on the heap
    return len(region_start)
