"""The datasheet's contamination section, and ``contamination_matches.jsonl``: every match of the ``decon`` tagger.

Read from what the stages left, without the decon package: the tag manifests name each ``decon`` tagger's
attribute files, documents files and index folder (its ``index.json`` and ``items.jsonl.gz`` are plain files); the
mix manifests say which attribute files a stream read and which rules used the tagger's keys. A flagged document is
counted as removed when a stream read its attributes with an ``exclude`` rule on the tagger's keys, and its matched
spans as cut when a ``span_replacement`` reads them. The words the two texts share (in n-grams of the index's size)
are recounted here to highlight them; words are runs of letters, digits and ``_``, compared lower-case.
"""

from __future__ import annotations

import html
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

import msgspec
import numpy as np

from dolma.core import io as dio
from dolma.core.paths import join

__all__ = ["Match", "find_contamination", "contamination_section", "MATCHES_FILE"]

MATCHES_FILE = "contamination_matches.jsonl"
_WORD = re.compile(r"\w+")
_SAMPLES_PER_SET = 3
_SHOWN_CHARS = 700
_BINS = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


@dataclass
class _Tagged:
    """One attribute file a ``decon`` tagger wrote."""

    attributes: str
    documents: str
    prefix: str  # `<key prefix>__<tagger name>`
    index: str
    options: Dict[str, Any]


@dataclass
class Match:
    """One match, as the audit file lists it."""

    set: str
    split: str
    item: str
    item_number: int
    score: float
    bar: float
    document: str
    file: str
    line: int
    start: int
    end: int
    document_text: str
    item_text: str
    shared_ngrams: int = 0
    item_ngrams: int = 0
    removed: bool = False
    cut: bool = False


@dataclass
class _Index:
    info: Dict[str, Any]
    items: List[Dict[str, Any]]
    words: np.ndarray


@dataclass
class Contamination:
    tagged: List[_Tagged] = field(default_factory=list)
    indexes: Dict[str, Optional[_Index]] = field(default_factory=dict)
    matches: List[Match] = field(default_factory=list)
    documents_scanned: int = 0
    flagged: Dict[str, Dict[Tuple[str, int], int]] = field(default_factory=dict)  # set → (file, line) → bytes
    removed: Dict[str, Dict[Tuple[str, int], int]] = field(default_factory=dict)
    rule_drops: Dict[str, int] = field(default_factory=dict)  # "stream: rule" → documents the mix dropped


class _Line(msgspec.Struct):
    attributes: Dict[str, msgspec.Raw]
    id: Any = None


class _DocLine(msgspec.Struct):
    id: Any = None
    text: str = ""


def _tagged(loaded: Iterable[Any]) -> Tuple[List[_Tagged], int]:
    found: List[_Tagged] = []
    scanned = 0
    for item in loaded:
        m = item.manifest
        if m.stage != "tag" or not isinstance(m.config, dict) or not m.inputs or not m.outputs:
            continue
        counted = False
        for name, spec in (m.config.get("tagger_options") or {}).items():
            if not isinstance(spec, dict) or spec.get("tagger") != "decon":
                continue
            options = spec.get("options") or {}
            found.append(_Tagged(m.outputs[0].path, m.inputs[0].path, f"{m.config.get('key_prefix', '')}__{name}",
                                 str(options.get("index", "")), options))
            if not counted:
                scanned += int(m.counts.get("documents_in", 0))
                counted = True
    return found, scanned


def _load_index(folder: str) -> Optional[_Index]:
    try:
        info = msgspec.json.decode(dio.read_bytes(join(folder, "index.json")))
        items = [msgspec.json.decode(line) for line in dio.read_bytes(join(folder, "items.jsonl.gz")).splitlines()]
        with np.load(io.BytesIO(dio.read_bytes(join(folder, "ngrams.npz"))), allow_pickle=False) as z:
            words = z["words"]
    except (OSError, msgspec.DecodeError, KeyError, ValueError):
        return None
    return _Index(info, items, words)


def _mix_rules(loaded: Iterable[Any], prefixes: Set[str]) -> Tuple[Dict[str, Set[str]], Dict[str, Set[str]], Dict[str, int]]:
    """Attribute files read by a stream that excludes on a decon key (→ the prefixes it used), those read by a
    stream that cuts decon spans, and per stream and rule the documents its exclude rules dropped."""
    excluded: Dict[str, Set[str]] = defaultdict(set)
    cut: Dict[str, Set[str]] = defaultdict(set)
    drops: Counter = Counter()
    for item in loaded:
        m = item.manifest
        if m.stage != "mix" or not isinstance(m.config, dict):
            continue
        stream = m.config.get("stream") or {}
        rules = (stream.get("filter") or {}).get("exclude") or []
        spans = [str(r.get("span", "")) for r in stream.get("span_replacement") or [] if isinstance(r, dict)]
        for prefix in prefixes:
            key = f"{prefix}__"
            for i, rule in enumerate(rules):
                if key in str(rule):
                    for entry in m.inputs:
                        excluded[entry.path].add(prefix)
                    drops[f"{stream.get('name', '?')}: {rule}"] += int(m.counts.get(f"rule exclude[{i}]: dropped", 0))
            if any(key in s and not s.endswith(("__item", "__contaminated")) for s in spans):
                for entry in m.inputs:
                    cut[entry.path].add(prefix)
    return excluded, cut, dict(drops)


def _words(text: str) -> List[Tuple[int, int, str]]:
    return [(w.start(), w.end(), w.group().lower()) for w in _WORD.finditer(text)]


def _shared(doc_text: str, item_text: str, n: int) -> Tuple[List[Tuple[int, int]], List[Tuple[int, int]], int, int]:
    """Character ranges of the words in n-grams both texts hold (in each text), shared and total item n-grams."""
    dw, iw = _words(doc_text), _words(item_text)
    grams_of = lambda ws: [tuple(w[2] for w in ws[i : i + n]) for i in range(len(ws) - n + 1)]  # noqa: E731
    dg, ig = grams_of(dw), grams_of(iw)
    common = set(dg) & set(ig)

    def ranges(ws: List[Tuple[int, int, str]], gs: List[Tuple[str, ...]]) -> List[Tuple[int, int]]:
        marked = np.zeros(len(ws) + 1, dtype=np.int32)
        for i, g in enumerate(gs):
            if g in common:
                marked[i] += 1
                marked[i + n] -= 1
        on = np.cumsum(marked)[: len(ws)] > 0
        out: List[Tuple[int, int]] = []
        for (s, e, _), flag in zip(ws, on):
            if flag:
                out.append((s, e))
        return out

    return ranges(dw, dg), ranges(iw, ig), len(common & set(ig)), len(set(ig))


def find_contamination(loaded: List[Any]) -> Optional[Contamination]:
    """Every match the decon taggers of a release wrote, with both texts; None when no decon tagger ran."""
    tagged, scanned = _tagged(loaded)
    if not tagged:
        return None
    found = Contamination(tagged=tagged, documents_scanned=scanned)
    excluded, cut, found.rule_drops = _mix_rules(loaded, {t.prefix for t in tagged})
    decode = msgspec.json.Decoder(_Line).decode
    spans_of = msgspec.json.Decoder(List[List[float]]).decode
    for t in sorted(tagged, key=lambda x: (x.attributes, x.prefix)):
        if t.index not in found.indexes:
            found.indexes[t.index] = _load_index(t.index)
        index = found.indexes[t.index]
        if not dio.exists(t.attributes):
            continue
        wanted: Dict[int, Tuple[List[List[float]], List[List[float]]]] = {}
        with dio.open_read(t.attributes) as f:
            for line, raw in enumerate(f, start=1):
                attrs = decode(raw).attributes
                spans = attrs.get(f"{t.prefix}__match")
                if spans is not None:
                    items = attrs.get(f"{t.prefix}__item")
                    wanted[line] = (spans_of(spans), spans_of(items) if items is not None else [])
        if not wanted:
            continue
        texts: Dict[int, _DocLine] = {}
        doc_decode = msgspec.json.Decoder(_DocLine).decode
        with dio.open_read(t.documents) as f:
            for line, raw in enumerate(f, start=1):
                if line in wanted:
                    texts[line] = doc_decode(raw)
        is_removed = t.prefix in excluded.get(t.attributes, ())
        is_cut = t.prefix in cut.get(t.attributes, ())
        for line, (spans, items) in sorted(wanted.items()):
            doc = texts.get(line, _DocLine())
            size = len(doc.text.encode("utf-8"))
            for (start, end, score), (_, _, number) in zip(spans, items or [[0, 0, -1]] * len(spans)):
                found.matches.append(_match(t, index, doc, line, int(start), int(end), score, int(number), is_removed, is_cut))
                s = found.matches[-1].set
                found.flagged.setdefault(s, {})[(t.documents, line)] = size
                if is_removed:
                    found.removed.setdefault(s, {})[(t.documents, line)] = size
    return found


def _match(t: _Tagged, index: Optional[_Index], doc: _DocLine, line: int, start: int, end: int, score: float,
           number: int, removed: bool, cut: bool) -> Match:
    item = index.items[number] if index is not None and 0 <= number < len(index.items) else {}
    item_text = "\n".join(item.get(k, "") for k in ("question", "answer", "passage") if item.get(k))
    words = int(index.words[number]) if index is not None and 0 <= number < len(index.words) else 0
    o = t.options
    bar = float(np.interp(words, [o.get("exact_below", 15), o.get("ease_until", 40)], [1.0, o.get("threshold", 0.3)]))
    n = int(index.info.get("ngram_size", 5)) if index is not None else 5
    span = doc.text[start:end]
    _, _, shared, total = _shared(span, item_text, n)
    return Match(set=str(item.get("set", "?")), split=str(item.get("split", "")), item=str(item.get("id", number)),
                 item_number=number, score=float(score), bar=bar, document=str(doc.id), file=t.documents, line=line,
                 start=start, end=end, document_text=span, item_text=item_text, shared_ngrams=shared,
                 item_ngrams=total, removed=removed, cut=cut)


def matches_jsonl(found: Contamination) -> bytes:
    encoder = msgspec.json.Encoder()
    return b"".join(encoder.encode(m) + b"\n" for m in found.matches)


# --- rendering -----------------------------------------------------------------------------------------------


def _highlight_md(text: str, ranges: List[Tuple[int, int]]) -> str:
    out, last = [], 0
    for s, e in _merge(ranges, text):
        out += [_md_escape(text[last:s]), "**", _md_escape(text[s:e]), "**"]
        last = e
    out.append(_md_escape(text[last:]))
    return "".join(out)


def _highlight_html(text: str, ranges: List[Tuple[int, int]]) -> str:
    out, last = [], 0
    for s, e in _merge(ranges, text):
        out += [html.escape(text[last:s]), "<mark>", html.escape(text[s:e]), "</mark>"]
        last = e
    out.append(html.escape(text[last:]))
    return "".join(out)


def _merge(ranges: List[Tuple[int, int]], text: str) -> List[Tuple[int, int]]:
    """Adjacent marked words joined when only spaces and punctuation lie between them (one mark per run)."""
    merged: List[Tuple[int, int]] = []
    for s, e in ranges:
        if merged and not _WORD.search(text[merged[-1][1]:s]) and "\n" not in text[merged[-1][1]:s]:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", text).replace("\n", " ⏎ ")


def _clip(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + " …"


def _samples(matches: List[Match]) -> List[Match]:
    """The lowest-scoring, a middle and the highest-scoring match (the borderline ones are the ones to audit)."""
    ranked = sorted(matches, key=lambda m: (m.score, m.document, m.start))
    if len(ranked) <= _SAMPLES_PER_SET:
        return ranked
    picks = sorted({0, len(ranked) // 2, len(ranked) - 1})
    return [ranked[i] for i in picks]


def contamination_section(doc: Any, found: Optional[Contamination], png: Any) -> None:
    """Write the section into the report ``doc`` (the report's Markdown/HTML builder); ``png(draw)`` renders a plot."""
    if found is None:
        return
    doc.heading("Contamination")
    indexes = [i for i in found.indexes.values() if i is not None]
    sets: Dict[str, int] = {}
    for index in indexes:
        for s in index.info.get("sets", []):
            sets[s["name"]] = sets.get(s["name"], 0) + int(s.get("items_indexed", 0))
    ngram = indexes[0].info.get("ngram_size", "?") if indexes else "?"
    opts = found.tagged[0].options
    doc.para(
        f"The decon tagger looked for {sum(sets.values()):,} evaluation items ({len(sets)} set(s)) in "
        f"{found.documents_scanned:,} documents: word {ngram}-grams, probing every {opts.get('probe_every')}th, an "
        f"{'IDF-weighted' if opts.get('weighting', 'idf') == 'idf' else 'plain'} overlap score of at least "
        f"{opts.get('threshold')} for items of {opts.get('ease_until')} words "
        f"or more, a whole copy for items of at most {opts.get('exact_below')} words. "
        + (f"{len(found.matches):,} match(es) in all; every one is listed, with both texts, in {MATCHES_FILE}."
           if found.matches else f"No match ({MATCHES_FILE} is empty).")
    )
    missing = [k for k, v in found.indexes.items() if v is None]
    if missing:
        doc.para(f"Index not readable (items shown by number only): {', '.join(missing)}.")
    by_set: Dict[str, List[Match]] = defaultdict(list)
    for m in found.matches:
        by_set[m.set].append(m)
    names = sorted(set(sets) | set(by_set))
    rows = []
    for name in names:
        matches = by_set.get(name, [])
        items = len({m.item_number for m in matches})
        flagged = found.flagged.get(name, {})
        removed = found.removed.get(name, {})
        cut_bytes = sum(len(m.document_text.encode("utf-8")) for m in matches if m.cut and not m.removed)
        total = sets.get(name, 0)
        rows.append([name, total, items, items / total if total else 0.0, len(flagged), sum(flagged.values()) / 1e6,
                     len(removed), sum(removed.values()) / 1e6, cut_bytes / 1e6])
    doc.table(["benchmark", "items indexed", "items found", "share found", "documents flagged", "MB flagged",
               "documents removed", "MB removed", "MB of spans cut"], rows)
    if found.rule_drops:
        doc.para("Mix rules on the decon attributes dropped: "
                 + "; ".join(f"{rule} → {n:,} document(s)" for rule, n in sorted(found.rule_drops.items())) + ".")
    if found.matches:
        doc.table(["benchmark", *[f"[{lo:.1f}, {hi:.1f})" for lo, hi in zip(_BINS, _BINS[1:])], "1.0 (whole)"],
                  [[name, *_histogram([m.score for m in by_set[name]])] for name in names if by_set.get(name)])
        doc.plot("contamination_scores", _score_plot(by_set, png), "Match scores per benchmark")
        for name in names:
            for m in _samples(by_set.get(name, [])):
                _sample(doc, m, indexes[0].info.get("ngram_size", 5) if indexes else 5)
    doc.files[MATCHES_FILE] = matches_jsonl(found)


def _histogram(scores: List[float]) -> List[int]:
    values = np.asarray(scores)
    counts = [int(((values >= lo) & (values < hi - 1e-9 if hi == 1.0 else values < hi)).sum())
              for lo, hi in zip(_BINS, _BINS[1:])]
    return counts + [int((values >= 1.0 - 1e-9).sum())]


def _score_plot(by_set: Dict[str, List[Match]], png: Any) -> Optional[bytes]:
    def draw(ax: Any) -> None:
        for name, matches in sorted(by_set.items()):
            ax.hist([m.score for m in matches], bins=np.linspace(0.0, 1.0, 21), alpha=0.7, label=name)
        ax.set_xlabel("overlap score (share of the item's n-gram weight in the match)")
        ax.set_ylabel("matches")
        ax.set_title("Contamination: match scores")
        ax.legend()

    return png(draw)


def _sample(doc: Any, m: Match, n: int) -> None:
    doc_ranges, item_ranges, _, _ = _shared(_clip(m.document_text), _clip(m.item_text), n)
    fate = "removed" if m.removed else ("span cut" if m.cut else "kept")
    head = (f"{m.set} {m.split} item {m.item}, score {m.score:.3f} (bar {m.bar:.3f}), {m.shared_ngrams}/"
            f"{m.item_ngrams} n-grams of the item shared; document {m.document} ({m.file}:{m.line}, characters "
            f"{m.start}–{m.end}), {fate}")
    doc.md += [f"**{_md_escape(head)}**", "",
               "> document: " + _highlight_md(_clip(m.document_text), doc_ranges), ">",
               "> item: " + _highlight_md(_clip(m.item_text), item_ranges), ""]
    doc.html.append(
        f"<p><b>{html.escape(head)}</b></p><div class=\"decon\"><p>document</p><pre>"
        f"{_highlight_html(_clip(m.document_text), doc_ranges)}</pre><p>item</p><pre>"
        f"{_highlight_html(_clip(m.item_text), item_ranges)}</pre></div>"
    )
