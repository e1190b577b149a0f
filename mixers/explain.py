"""One document through a stream's rules, step by step: what `dolma trace` shows of the mix.

The mix itself stops at the first rule that decides (:class:`dolma.mixers.documents.StreamRules`); here every filter
rule is evaluated and reported (fired or not), the spans the replacements remove are listed with their text, then
the length check and the sampling, and the decision they make together, which is the mix's.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import msgspec

from dolma.mixers.config import StreamConfig
from dolma.mixers.documents import stream_rules, text_length
from dolma.mixers.filters import DocFilter, compile_matcher, compile_selector
from dolma.mixers.sampling import Sampler
from dolma.mixers.spans import SpanRule, collect_spans, replace_spans

__all__ = ["explain_document"]

_EXCERPT = 160


def _excerpt(text: str, start: int, end: int) -> str:
    piece = text[start:end]
    return piece if len(piece) <= _EXCERPT else piece[: _EXCERPT - 1] + "…"


def explain_document(stream_config: Dict[str, Any], doc: Dict[str, Any], rate: float, seed: int) -> Dict[str, Any]:
    """``doc`` (its attributes merged in, as the mix merges them) through the stream whose config (as a shard
    manifest records it) is ``stream_config``, sampled at ``rate`` with the mix's ``seed``.

    Returns ``rules`` (each filter and span rule: label, expression, attribute keys it reads, fired; span rules
    with the number of spans), ``spans_removed`` (start, end, rule, replacement, text), ``length``, ``sampling``
    and ``decision`` (``kept`` or ``dropped: <reason>``, the mix's wording)."""
    stream = msgspec.convert(stream_config, StreamConfig)
    keys = {r.label: list(r.keys) for r in stream_rules(stream)}
    rules: List[Dict[str, Any]] = []
    reason: Optional[str] = None
    f = stream.filter
    if f is not None:
        labelled = ([(f"include[{i}]", e, False) for i, e in enumerate(f.include)]
                    + [(f"exclude[{i}]", e, True) for i, e in enumerate(f.exclude)])
        for label, expression, exclude in labelled:
            fired = bool(compile_matcher(expression, f.syntax, exclude).matches(doc))
            rules.append({"rule": label, "expression": expression, "keys": keys[label], "fired": fired})
        reason = DocFilter(f.include, f.exclude, f.syntax).reason(doc)
    removed: List[Dict[str, Any]] = []
    text = doc.get("text", "")
    if reason is None and stream.span_replacement:
        span_rules = [SpanRule(r.span, compile_selector(r.span, r.syntax), r.min_score, r.max_score, r.replacement)
                      for r in stream.span_replacement]
        spans = collect_spans(doc, span_rules)
        for i, r in enumerate(stream.span_replacement):
            label = f"span_replacement[{i}]"
            count = sum(1 for _, _, k in spans if k == i)
            rules.append({"rule": label, "expression": r.span, "keys": keys[label], "fired": count > 0, "spans": count})
        removed = [{"rule": f"span_replacement[{k}]", "start": s, "end": e, "replacement": span_rules[k].replacement,
                    "text": _excerpt(text, s, e)} for s, e, k in sorted(spans)]
        if spans:
            text, _ = replace_spans(text, spans, span_rules)
    min_len = stream.output.min_text_length or 0
    length = text_length(text)
    short = bool(min_len and length < min_len)
    if reason is None and short:
        reason = "min_text_length"
    copies = Sampler(rate, seed, stream.name).copies(doc["id"])
    if reason is None and copies == 0:
        reason = "sampling"
    return {
        "rules": rules,
        "spans_removed": removed,
        "length": {"min_text_length": min_len, "length_after_spans": length, "fired": short},
        "sampling": {"rate": rate, "copies": copies},
        "decision": "kept" if reason is None else "dropped: " + reason,
    }
