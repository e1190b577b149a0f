"""``dolma report``: a release datasheet from the manifests every stage leaves, as Markdown and one HTML page.

It reads every ``*.manifest.json`` below a folder (local or ``s3://``), and a sample of the attribute files the
tag stage wrote, and shows: documents, bytes and tokens per source before and after each stage; the removal
waterfall by filter rule; duplicate rates; the realised mixture against its targets; the language mix; length
distributions; PII and toxicity counts; contamination by evaluation sets (with `contamination_matches.jsonl`); the tokenizer. Plots are matplotlib PNGs, written beside the Markdown and
embedded in the HTML, so the page is self-contained.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Tuple

import msgspec

from dolma.core import io as dio
from dolma.core.runner import Command
from dolma.core.config import ConfigStruct
from dolma.core.errors import ConfigError
from dolma.core.manifest import MANIFEST_SUFFIX, Manifest
from dolma.core.paths import DOCUMENTS_DIR, glob_paths, join
from dolma.core.version import __version__
from dolma.release.contamination import contamination_section, find_contamination

__all__ = ["ReportConfig", "build_report", "REPORT"]

log = logging.getLogger("dolma")

STAGE_ORDER = ["import", "warc", "tag", "dedupe", "mix", "tokens", "export"]
_LANG_CODE = re.compile(r"^(?:__label__)?[a-z]{2,3}(?:[-_][A-Za-z]{2,4})?$")
_TOXIC = re.compile(r"toxic|nsfw|hate|profan|obscen")
_PII_TYPES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS")
_LENGTH_KEYS = ("__char_length_v1__length", "__gopher_v1__character_count", "__char_length_with_paragraphs_v1__document")


class ReportConfig(ConfigStruct):
    path: str = ""
    """The folder whose manifests (found recursively) describe the release."""
    output: Optional[str] = None
    """Where report.md, report.html and plots/ go (default: `<path>/report`)."""
    title: str = "Corpus release datasheet"
    """The datasheet's title."""
    max_attribute_files: int = 50
    """Attribute files read per attribute set for the language, length, PII and toxicity sections."""


@dataclass
class _Loaded:
    manifest: Manifest
    path: str

    @property
    def stage(self) -> str:
        return self.manifest.stage


def load_manifests(root: str) -> List[_Loaded]:
    found = [p for p in glob_paths(join(root, "**", "*" + MANIFEST_SUFFIX))]
    loaded = []
    for path in found:
        try:
            loaded.append(_Loaded(msgspec.json.decode(dio.read_bytes(path), type=Manifest), path))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("report: skipping %s: not a manifest (%s)", path, exc)
    return loaded


def source_of(manifest: Manifest) -> str:
    """The source a unit belongs to: a mix stream's name, or the folder above its inputs' `documents` folder
    (``all sources`` when its inputs come from several, as a tokens group's do)."""
    config = manifest.config or {}
    stream = config.get("stream")
    if isinstance(stream, dict) and stream.get("name"):
        return str(stream["name"])
    for key in ("source_name", "source"):
        if isinstance(config.get(key), str) and config[key]:
            return config[key]
    paths = [i.path for i in manifest.inputs] or [o.path for o in manifest.outputs]
    found = {_source_of_path(p) for p in paths}
    return found.pop() if len(found) == 1 else "all sources"


def _source_of_path(path: str) -> str:
    parts = path.split("/")
    if DOCUMENTS_DIR in parts[:-1]:
        i = len(parts) - 2 - parts[:-1][::-1].index(DOCUMENTS_DIR)
        if i > 0:
            return parts[i - 1]
    name = parts[-1]
    return re.split(r"[-_.]\d", name, maxsplit=1)[0] or name


@dataclass
class _StageTotals:
    files: int = 0
    seconds: float = 0.0
    counts: Counter = field(default_factory=Counter)


def stage_totals(loaded: List[_Loaded]) -> Dict[str, _StageTotals]:
    totals: Dict[str, _StageTotals] = {}
    for item in loaded:
        t = totals.setdefault(item.stage, _StageTotals())
        t.files += 1
        t.seconds += item.manifest.seconds
        t.counts.update({k: v for k, v in item.manifest.counts.items() if isinstance(v, int) and k not in ("part", "parts")})
    return dict(sorted(totals.items(), key=lambda kv: _stage_rank(kv[0])))


def _stage_rank(stage: str) -> Tuple[int, str]:
    return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER), stage)


def per_source(loaded: List[_Loaded]) -> Dict[str, Dict[str, Counter]]:
    table: Dict[str, Dict[str, Counter]] = defaultdict(dict)
    for item in loaded:
        counts = table[source_of(item.manifest)].setdefault(item.stage, Counter())
        counts.update({k: v for k, v in item.manifest.counts.items() if isinstance(v, int)})
    return dict(sorted(table.items()))


# --- attributes ----------------------------------------------------------------------------------------------


@dataclass
class AttributeFindings:
    documents: int = 0
    languages: Counter = field(default_factory=Counter)
    lengths: List[float] = field(default_factory=list)
    pii_spans: Counter = field(default_factory=Counter)
    pii_documents: int = 0
    toxic_documents: Counter = field(default_factory=Counter)
    scored_documents: Counter = field(default_factory=Counter)


class _AttrLine(msgspec.Struct):
    attributes: Dict[str, Any]


def _attribute_files(loaded: List[_Loaded], limit: int) -> List[str]:
    by_set: Dict[str, List[str]] = defaultdict(list)
    for item in loaded:
        if item.stage == "tag":
            folder = str(item.manifest.config.get("attribute_set", ""))
            by_set[folder].extend(o.path for o in item.manifest.outputs)
    return [p for paths in by_set.values() for p in sorted(paths)[:limit]]


def scan_attributes(files: Iterable[str]) -> AttributeFindings:
    found = AttributeFindings()
    decoder = msgspec.json.Decoder(_AttrLine)
    for path in files:
        if not dio.exists(path):
            continue
        with dio.open_read(path) as f:
            for raw in f:
                try:
                    attributes = decoder.decode(raw).attributes
                except (msgspec.DecodeError, msgspec.ValidationError):
                    continue
                found.documents += 1
                _scan_document(attributes, found)
    return found


def _scan_document(attributes: Dict[str, Any], found: AttributeFindings) -> None:
    best: Dict[str, Tuple[float, str]] = {}  # language tagger → (score, language)
    has_pii = False
    length_seen = False
    for key, spans in attributes.items():
        if not isinstance(spans, list) or not spans:
            continue
        parts = key.split("__")
        tagger, kind = (parts[-2], parts[-1]) if len(parts) >= 3 else ("", key)
        if "lang" in tagger and _LANG_CODE.match(kind):
            score = _float(spans[0])
            if score is not None and score > best.get(tagger, (-1.0, ""))[0]:
                best[tagger] = (score, kind.replace("__label__", ""))
        elif kind in _PII_TYPES:
            found.pii_spans[kind] += len(spans)
            has_pii = True
        elif _TOXIC.search(tagger) or _TOXIC.search(kind):
            score = max((s for s in map(_float, spans) if s is not None), default=None)
            if score is not None:
                found.scored_documents[f"{tagger}__{kind}"] += 1
                if score >= 0.5:
                    found.toxic_documents[f"{tagger}__{kind}"] += 1
        if not length_seen and key.endswith(_LENGTH_KEYS):
            score = _float(spans[0])
            if score is not None:
                found.lengths.append(score)
                length_seen = True
    if best:
        # the first language tagger (in key order) speaks for the document
        found.languages[next(iter(best.values()))[1]] += 1
    found.pii_documents += has_pii


def _float(span: Any) -> Optional[float]:
    try:
        return float(span[2])
    except (TypeError, ValueError, IndexError):
        return None


# --- rendering -----------------------------------------------------------------------------------------------


class _Doc:
    """Builds the Markdown and the HTML side by side."""

    def __init__(self, title: str) -> None:
        self.md: List[str] = [f"# {title}", ""]
        self.html: List[str] = [f"<h1>{html.escape(title)}</h1>"]
        self.plots: Dict[str, bytes] = {}
        self.files: Dict[str, bytes] = {}  # written beside report.md (an audit list)

    def heading(self, text: str) -> None:
        self.md += [f"## {text}", ""]
        self.html.append(f"<h2>{html.escape(text)}</h2>")

    def para(self, text: str) -> None:
        self.md += [text, ""]
        self.html.append(f"<p>{html.escape(text)}</p>")

    def table(self, header: List[str], rows: List[List[Any]]) -> None:
        cells = [[_cell(c) for c in row] for row in rows]
        self.md.append("| " + " | ".join(header) + " |")
        self.md.append("| " + " | ".join("---" for _ in header) + " |")
        self.md += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
        self.md.append("")
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in cells
        )
        self.html.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def plot(self, name: str, png: Optional[bytes], caption: str) -> None:
        if png is None:
            return
        self.plots[name] = png
        self.md += [f"![{caption}](plots/{name}.png)", ""]
        data = base64.b64encode(png).decode("ascii")
        self.html.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    def page(self, title: str) -> str:
        return _HTML_TEMPLATE.format(title=html.escape(title), body="\n".join(self.html))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


_HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1000px; margin: 2em auto;
       padding: 0 1em; color: #1d2330; line-height: 1.45; }}
h1 {{ border-bottom: 3px solid #2d6cdf; padding-bottom: .3em; }}
h2 {{ margin-top: 1.8em; border-bottom: 1px solid #d5d9e0; padding-bottom: .2em; }}
table {{ border-collapse: collapse; margin: .8em 0; font-size: .92em; }}
th, td {{ border: 1px solid #d5d9e0; padding: .35em .7em; text-align: right; }}
th {{ background: #eef2f8; }} td:first-child, th:first-child {{ text-align: left; }}
tr:nth-child(even) td {{ background: #f8f9fb; }}
figure {{ margin: 1em 0; }} img {{ max-width: 100%; border: 1px solid #e3e6eb; }}
figcaption {{ color: #5b6472; font-size: .9em; }}
.decon pre {{ white-space: pre-wrap; background: #f8f9fb; border: 1px solid #e3e6eb; padding: .5em; font-size: .85em; }}
mark {{ background: #ffe58a; }}
</style></head><body>
{body}
</body></html>
"""


def _png(draw: Any) -> Optional[bytes]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=110)
    draw(ax)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _waterfall_plot(start: int, drops: List[Tuple[str, int]], copies: int, end: int) -> Optional[bytes]:
    def draw(ax: Any) -> None:
        labels = ["documents in", *[r for r, _ in drops]]
        level = start
        bottoms, heights, colors = [0], [start], ["#2d6cdf"]
        for _, n in drops:
            level -= n
            bottoms.append(level)
            heights.append(n)
            colors.append("#e0565b")
        if copies:
            labels.append("up-sampling copies")
            bottoms.append(level)
            heights.append(copies)
            colors.append("#f0a340")
        labels.append("documents out")
        bottoms.append(0)
        heights.append(end)
        colors.append("#3aa675")
        ax.bar(range(len(labels)), heights, bottom=bottoms, color=colors)
        ax.set_xticks(range(len(labels)), [textwrap_label(lbl) for lbl in labels], fontsize=7)
        ax.set_ylabel("documents")
        ax.set_title("Documents through the mix: removed, copies added")

    return _png(draw)


def textwrap_label(label: str, width: int = 18) -> str:
    return "\n".join(label[i : i + width] for i in range(0, len(label), width))


def _bar_plot(title: str, labels: List[str], values: List[float], ylabel: str) -> Optional[bytes]:
    def draw(ax: Any) -> None:
        ax.bar(range(len(labels)), values, color="#2d6cdf")
        ax.set_xticks(range(len(labels)), labels, fontsize=8, rotation=30 if len(labels) > 6 else 0)
        ax.set_ylabel(ylabel)
        ax.set_title(title)

    return _png(draw)


def _mixture_plot(names: List[str], realised: List[float], target: List[Optional[float]], unit: str) -> Optional[bytes]:
    def draw(ax: Any) -> None:
        x = list(range(len(names)))
        ax.bar([i - 0.2 for i in x], realised, width=0.4, label="realised", color="#2d6cdf")
        if any(t is not None for t in target):
            ax.bar([i + 0.2 for i in x], [t or 0 for t in target], width=0.4, label="target", color="#f0a340")
        ax.set_xticks(x, names)
        ax.set_ylabel(f"share of {unit}")
        ax.set_title("Mixture")
        ax.legend()

    return _png(draw)


def _length_plot(lengths: List[float]) -> Optional[bytes]:
    import numpy as np

    def draw(ax: Any) -> None:
        values = np.maximum(np.asarray(lengths, dtype=float), 1.0)
        bins = np.logspace(0, np.log10(values.max() + 1), 40)
        ax.hist(values, bins=bins, color="#2d6cdf")
        ax.set_xscale("log")
        ax.set_xlabel("characters per document (log scale)")
        ax.set_ylabel("documents")
        ax.set_title("Document lengths (tagged sample)")

    return _png(draw)


# --- the report ----------------------------------------------------------------------------------------------


def build_report(config: ReportConfig) -> Tuple[str, str, Dict[str, bytes]]:
    """(markdown, html, plots by name)."""
    doc = _build(config)
    return "\n".join(doc.md), doc.page(config.title), doc.plots


def _build(config: ReportConfig) -> _Doc:
    if not config.path:
        raise ConfigError("missing the folder to report on: dolma report DIR")
    loaded = load_manifests(config.path)
    if not loaded:
        raise ConfigError(f"{config.path}: no *{MANIFEST_SUFFIX} files below it; run the stages first")
    doc = _Doc(config.title)
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    doc.para(f"Generated {generated} by dolma-toolkit {__version__} from {len(loaded):,} manifests below {config.path}.")

    totals = stage_totals(loaded)
    doc.heading("Stages")
    doc.para("MB out is the documents a stage writes; — where it writes none (tag and dedupe write attributes, "
             "tokens writes token files), and tokens — where a stage counts none.")
    doc.table(
        ["stage", "files", "documents in", "documents out", "quarantined", "MB in", "MB out", "tokens", "seconds"],
        [
            [stage, t.files, t.counts.get("documents_in", 0), t.counts.get("documents_out", 0),
             t.counts.get("documents_quarantined", 0), _mb(t.counts, "bytes_in"), _mb(t.counts, "bytes_out"),
             _count(t.counts, "tokens"), t.seconds]
            for stage, t in totals.items()
        ],
    )

    sources = per_source(loaded)
    doc.heading("Sources")
    doc.para("Documents (and MB, tokens) per source as each stage saw them: in = before the stage, out = after it; "
             "— where the stage writes no documents (or counts no tokens).")
    stages = list(totals)
    rows = []
    for source, by_stage in sources.items():
        for stage in stages:
            c = by_stage.get(stage)
            if c and any(c.get(k) for k in ("documents_in", "documents", "documents_out", "bytes_in", "bytes_out",
                                            "tokens")):
                rows.append([source, stage, c.get("documents_in", c.get("documents", 0)), c.get("documents_out", 0),
                             _mb(c, "bytes_in"), _mb(c, "bytes_out"), _count(c, "tokens")])
    doc.table(["source", "stage", "documents in", "documents out", "MB in", "MB out", "tokens"], rows)

    _removal_section(doc, loaded, totals)
    _removals_section(doc, config.path)
    _rules_section(doc, loaded)
    _dedupe_section(doc, loaded)
    _mixture_section(doc, loaded)
    _attribute_sections(doc, loaded, config.max_attribute_files)
    contamination_section(doc, find_contamination(loaded), _png)
    _tokenizer_section(doc, loaded)
    _environment_section(doc, loaded)
    return doc


def _mb(counts: Dict[str, int], key: str) -> Any:
    """Megabytes of ``counts[key]``; — when the stage does not count it (it writes no documents)."""
    return counts[key] / 1e6 if key in counts else "—"


def _count(counts: Dict[str, int], key: str) -> Any:
    return counts[key] if key in counts else "—"


def _removal_section(doc: _Doc, loaded: List[_Loaded], totals: Dict[str, _StageTotals]) -> None:
    mix = totals.get("mix")
    if mix is None:
        return
    # in the order the mix applies them: filter rules (most documents first), min_text_length, sampling
    order = {"min_text_length": 1, "sampling": 2}
    drops = sorted(((k.split(":", 1)[1].strip(), v) for k, v in mix.counts.items() if k.startswith("dropped:")),
                   key=lambda kv: (order.get(kv[0], 0), -kv[1]))
    c = mix.counts
    start = c.get("documents_in", 0)
    quarantined = c.get("documents_quarantined", 0)
    kept = c.get("documents_kept", 0)
    copies = c.get("copies_added", 0)
    out = c.get("documents_out", 0)
    share = (lambda n: n / start if start else 0.0)
    doc.heading("What was removed")
    doc.para(f"Documents in − removed − quarantined = kept; kept + up-sampling copies = out: {start:,} − "
             f"{sum(n for _, n in drops):,} − {quarantined:,} = {kept:,}; {kept:,} + {copies:,} = {out:,}.")
    doc.table(["step", "documents", "share of input"],
              [["documents in", start, share(start)]]
              + [[f"removed: {rule}", -n, share(n)] for rule, n in drops]
              + ([["quarantined", -quarantined, share(quarantined)]] if quarantined else [])
              + [["kept", kept, share(kept)]]
              + ([["up-sampling copies (added)", f"+{copies:,}", share(copies)]] if copies else [])
              + [["documents out", out, share(out)]])
    if c.get("spans_replaced"):
        doc.para(f"{c['spans_replaced']:,} spans were replaced (e.g. duplicate paragraphs, PII).")
    removed = drops + ([("quarantined", quarantined)] if quarantined else [])
    doc.plot("waterfall", _waterfall_plot(start, removed, copies, out), "Documents through the mix")


def _rule_expressions(stream: Any) -> Dict[str, str]:
    """The expressions of a mix stream's rules (from its manifest's config), by rule label."""
    out: Dict[str, str] = {}
    if not isinstance(stream, dict):
        return out
    f = stream.get("filter") if isinstance(stream.get("filter"), dict) else {}
    for kind in ("include", "exclude"):
        for i, e in enumerate(f.get(kind) or []):
            out[f"{kind}[{i}]"] = str(e)
    for i, r in enumerate(stream.get("span_replacement") or []):
        if isinstance(r, dict):
            out[f"span_replacement[{i}]"] = str(r.get("span", ""))
    return out


def _rules_section(doc: _Doc, loaded: List[_Loaded]) -> None:
    """Per mix stream and rule: documents holding the attribute keys the rule reads, documents it matched, and
    documents it dropped (the mix's `rule <label>: ...` counts)."""
    counts: Dict[str, Counter] = defaultdict(Counter)
    expressions: Dict[str, Dict[str, str]] = {}
    for item in loaded:
        if item.stage != "mix":
            continue
        name = source_of(item.manifest)
        counts[name].update({k: v for k, v in item.manifest.counts.items() if isinstance(v, int)})
        expressions.setdefault(name, _rule_expressions((item.manifest.config or {}).get("stream")))
    rows = []
    for name in sorted(expressions):
        c = counts[name]
        for label, expression in expressions[name].items():
            present = c.get(f"rule {label}: keys present")
            dropped = c.get(f"rule {label}: dropped", 0) if label.startswith("exclude") else "—"
            if present == 0:
                present = "0 (never applied)"
            rows.append([name, label, expression, "—" if present is None else present,
                         c.get(f"rule {label}: matched", 0), dropped])
    if not rows:
        return
    doc.heading("Mix rules")
    doc.para("Per rule: documents holding every attribute key it reads (— when it reads none by name), documents "
             "it matched (rules run in order until one decides), documents it dropped. A rule whose keys no "
             "document holds never applied: the mix warned about it.")
    doc.table(["stream", "rule", "expression", "documents with its keys", "matched", "dropped"], rows)


def _dedupe_section(doc: _Doc, loaded: List[_Loaded]) -> None:
    sets: Dict[str, Counter] = defaultdict(Counter)
    for item in loaded:
        if item.stage == "dedupe":
            config = item.manifest.config
            name = str(config.get("set") or config.get("name") or config.get("attribute_set") or "dedupe")
            sets[name].update({k: v for k, v in item.manifest.counts.items() if isinstance(v, int)})
    if not sets:
        return
    doc.heading("Duplicates")
    rows = []
    for name, c in sorted(sets.items()):
        docs = c.get("documents_in", 0)
        marked = c.get("documents_marked", 0)
        rows.append([name, docs, marked, marked / docs if docs else 0.0, c.get("spans", 0),
                     c.get("bytes_marked", 0) / 1e6])
    doc.table(["attribute set", "documents", "with duplicates", "duplicate rate", "spans marked", "MB marked"], rows)


def _target_unit(target: Dict[str, Any], mixture_unit: str) -> Optional[str]:
    if target.get("tokens") is not None:
        return "tokens"
    if target.get("bytes") is not None:
        return "bytes"
    if target.get("share") is not None:
        return mixture_unit
    return None


def _target_cell(target: Dict[str, Any], mixture_unit: str) -> str:
    if target.get("share") is not None:
        return f"{float(target['share']):.3f} of {mixture_unit}"
    for unit in ("tokens", "bytes"):
        if target.get(unit) is not None:
            return f"{int(target[unit]):,} {unit}"
    return "—"


def _mixture_section(doc: _Doc, loaded: List[_Loaded]) -> None:
    """Each stream's realised share next to its target, in the target's unit: whitespace tokens or UTF-8 bytes of
    the output text (the mix counts them for targeted streams); without those counts, bytes of the output lines,
    and the header says so."""
    streams: Dict[str, Counter] = defaultdict(Counter)
    targets: Dict[str, Dict[str, Any]] = {}
    mixture_unit = "tokens"
    for item in loaded:
        if item.stage != "mix":
            continue
        name = source_of(item.manifest)
        streams[name].update({k: v for k, v in item.manifest.counts.items() if isinstance(v, int)})
        stream = item.manifest.config.get("stream")
        target = stream.get("target") if isinstance(stream, dict) else None
        if isinstance(target, dict):
            targets[name] = target
        mixture = (item.manifest.resolved_config or {}).get("mixture")
        if isinstance(mixture, dict) and mixture.get("unit") in ("tokens", "bytes"):
            mixture_unit = mixture["unit"]
    if not streams:
        return
    names = sorted(streams)
    units = {u for n in names if (u := _target_unit(targets.get(n, {}), mixture_unit))}
    unit = units.pop() if len(units) == 1 else "tokens"
    key = "text_tokens_out" if unit == "tokens" else "text_bytes_out"
    if all(key in streams[n] for n in names):
        measure = {n: streams[n][key] for n in names}
        label = f"{unit} of text"
    else:
        measure = {n: streams[n].get("bytes_out", 0) for n in names}
        label = "bytes of output lines (no token count)" if unit == "tokens" else "bytes of output lines"
    total = sum(measure.values()) or 1
    doc.heading("Mixture")
    doc.table(
        ["stream", "documents out", "MB out", f"realised ({label})", "realised share", "target"],
        [[n, streams[n].get("documents_out", 0), _mb(streams[n], "bytes_out"), measure[n], measure[n] / total,
          _target_cell(targets.get(n, {}), mixture_unit)] for n in names],
    )
    shares = [float(targets[n]["share"]) if targets.get(n, {}).get("share") is not None else None for n in names]
    doc.plot("mixture", _mixture_plot(names, [measure[n] / total for n in names], shares, label),
             "Realised mixture against its target")


def _attribute_sections(doc: _Doc, loaded: List[_Loaded], limit: int) -> None:
    files = _attribute_files(loaded, limit)
    if not files:
        return
    found = scan_attributes(files)
    doc.heading("Content (from a sample of the attribute files)")
    doc.para(f"{found.documents:,} documents' attributes read from {len(files)} attribute file(s).")
    if found.languages:
        top = found.languages.most_common(15)
        doc.table(["language", "documents", "share"], [[lang, n, n / found.documents] for lang, n in top])
        doc.plot("languages", _bar_plot("Language mix", [l for l, _ in top], [n for _, n in top], "documents"),
                 "Top languages")
    if found.lengths:
        doc.plot("lengths", _length_plot(found.lengths), "Document length distribution")
    if found.pii_spans:
        doc.table(["PII type", "spans"], [[k, v] for k, v in sorted(found.pii_spans.items())]
                  + [["documents with any PII", found.pii_documents]])
    if found.scored_documents:
        doc.table(["toxicity attribute", "documents scored", "score ≥ 0.5", "share"],
                  [[k, n, found.toxic_documents[k], found.toxic_documents[k] / n] for k, n in sorted(found.scored_documents.items())])


def _tokenizer_section(doc: _Doc, loaded: List[_Loaded]) -> None:
    seen: Dict[str, Dict[str, Any]] = {}
    for item in loaded:
        if item.stage == "tokens":
            info = item.manifest.config.get("tokenizer") if isinstance(item.manifest.config, dict) else None
            if isinstance(info, dict):
                seen[msgspec.json.encode(info, order="sorted").decode()] = info
    if not seen:
        return
    doc.heading("Tokenizer")
    for info in seen.values():
        doc.table(["property", "value"], [[k, msgspec.json.encode(v).decode() if not isinstance(v, str) else v]
                                         for k, v in info.items()])


def _environment_section(doc: _Doc, loaded: List[_Loaded]) -> None:
    """The Python and library versions the manifests record, with the stages that used each version: a library
    listed with two versions means outputs of the release were made under both."""
    stages_by_version: Dict[str, Dict[str, set]] = {}
    for item in loaded:
        for library, version in (item.manifest.environment or {}).items():
            stages_by_version.setdefault(library, {}).setdefault(version, set()).add(item.stage)
    if not stages_by_version:
        return
    doc.heading("Environment")
    mixed = sorted(library for library, versions in stages_by_version.items() if len(versions) > 1)
    doc.para(
        "Python and the library versions that can change output bytes, as every stage's manifests record them."
        + (f" **Made under more than one version:** {', '.join(mixed)}." if mixed else "")
    )
    doc.table(
        ["library", "version", "stages"],
        [[library, version, ", ".join(sorted(stages, key=_stage_rank))]
         for library, versions in stages_by_version.items() for version, stages in sorted(versions.items())],
    )


def _removals_section(doc: _Doc, root: str) -> None:
    """Documents taken out of the release after it was built (`dolma remove`): one row per removal record."""
    records = sorted(glob_paths(join(root, "removals", "*.json")))
    if not records:
        return
    doc.heading("Removals")
    doc.para("Documents removed from the published release with `dolma remove`; only the files holding them were "
             "rewritten, every other decision (filters, dedupe, sampling) stands as recorded. Each record "
             "(`removals/NNNN.json`) lists the ids, the output lines and token ranges removed and each changed file "
             "before and after.")
    rows = []
    for path in records:
        record = msgspec.json.decode(dio.read_bytes(path))
        tokens = sum(t["end"] - t["start"] for line in record["lines"] for t in line["tokens"])
        rows.append([record["number"], record["created"], record["reason"], len(record["requested"]),
                     len(record["documents"]), len(record["lines"]), tokens, len(record["files"])])
    doc.table(["removal", "when", "reason", "ids asked", "documents removed", "output lines", "tokens", "files changed"],
              rows)


def write_report(config: ReportConfig) -> str:
    doc = _build(config)
    markdown, page = "\n".join(doc.md), doc.page(config.title)
    out = config.output or join(config.path, "report")
    for name, png in doc.plots.items():
        with dio.AtomicWriter(join(out, "plots", f"{name}.png")) as w:
            w.write(png)
    for name, data in doc.files.items():
        dio.write_bytes_atomic(join(out, name), data)
    dio.write_bytes_atomic(join(out, "report.md"), markdown.encode("utf-8") + b"\n")
    dio.write_bytes_atomic(join(out, "report.html"), page.encode("utf-8"))
    return out


def run_report(config: ReportConfig) -> int:
    out = write_report(config)
    log.info("report: %s and %s", os.path.join(out, "report.md"), os.path.join(out, "report.html"))
    return 0


REPORT = Command(ReportConfig, run_report, "a release datasheet (Markdown + HTML) from every stage's manifests",
                 positional="path")
