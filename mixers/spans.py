"""Span replacement: rewrite the parts of a text that attributes mark, at code-point offsets.

Spans come as ``[start, end, score, ...]`` (end exclusive). A span is replaced when ``min_score <= score`` and,
if a ``max_score`` is set, ``score < max_score``. Spans are clamped to the text; empty ones are ignored.
Overlapping spans (one starts before the other ends) merge into one region that is replaced once, with the
replacement of the span that starts first (the longest one on a tie, then the first rule); adjacent spans
stay separate. ``{}`` in a replacement stands for the original text of the whole region.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

__all__ = ["SpanRule", "collect_spans", "replace_spans", "SpanError"]

Span = Tuple[int, int, int]  # start, end, rule index


class SpanError(ValueError):
    """A selected value is not a list of ``[start, end, score]`` spans."""


class SpanRule:
    __slots__ = ("select", "min_score", "max_score", "replacement", "expression")

    def __init__(
        self, expression: str, select: Any, min_score: Optional[float], max_score: Optional[float], replacement: str
    ) -> None:
        self.expression = expression
        self.select = select
        self.min_score = float("-inf") if min_score is None else min_score
        self.max_score = float("inf") if max_score is None else max_score
        self.replacement = replacement


def _is_number(v: Any) -> bool:
    return (type(v) is int or type(v) is float)


def _as_spans(value: Any) -> List[Any]:
    """A selected value is one span or a list of spans."""
    if type(value) is not list:
        raise SpanError(f"expected a list of [start, end, score] spans, got {type(value).__name__}")
    if value and _is_number(value[0]):
        return [value]
    return value


def collect_spans(doc: Any, rules: Sequence[SpanRule]) -> List[Span]:
    found: List[Span] = []
    for index, rule in enumerate(rules):
        lo, hi = rule.min_score, rule.max_score
        for value in rule.select(doc):
            spans = _as_spans(value)
            try:
                found.extend([(int(span[0]), int(span[1]), index) for span in spans if lo <= span[2] < hi])
            except (TypeError, IndexError, KeyError, ValueError):
                bad = next((x for x in spans if not _is_span(x)), spans)
                raise SpanError(f"{rule.expression}: expected [start, end, score] numbers, got {bad!r}") from None
    return found


def _is_span(x: Any) -> bool:
    return type(x) is list and len(x) >= 3 and all(_is_number(v) for v in x[:3])


def replace_spans(text: str, spans: List[Span], rules: Sequence[SpanRule]) -> Tuple[str, int]:
    """The new text and the number of regions replaced."""
    n = len(text)
    # clamped to the text, empty ones dropped; ordered by start, then longest first, then rule
    ordered = sorted([(a, -b, i) for s, e, i in spans if (b := e if e < n else n) > (a := s if s > 0 else 0)])
    if not ordered:
        return text, 0
    out: List[str] = []
    pos = 0
    start, end, rule = ordered[0][0], -ordered[0][1], ordered[0][2]
    for s, neg_end, i in ordered:
        if s < end:  # overlaps the region being built (the first span overlaps itself)
            if -neg_end > end:
                end = -neg_end
            continue
        out.append(text[pos:start])
        out.append(_replacement(rules[rule].replacement, text, start, end))
        pos = end
        start, end, rule = s, -neg_end, i
    out.append(text[pos:start])
    out.append(_replacement(rules[rule].replacement, text, start, end))
    out.append(text[end:])
    return "".join(out), len(out) // 2


def _replacement(replacement: str, text: str, start: int, end: int) -> str:
    return replacement.replace("{}", text[start:end]) if "{}" in replacement else replacement
