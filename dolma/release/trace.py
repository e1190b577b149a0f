"""``dolma trace``: one document's whole path through a release, from its source line to its tokens.

Asked by document id, by token file and offset (what a trainer logs), by documents file and line, or by mixed
shard and line, it prints the source record, every attribute the document got, its duplicate spans, each mix rule
and whether it fired, the spans the mix removed with their text, the sampling decision, the output lines and the
token ranges — or the stage and rule that dropped it. The mix's recorded decision (its decisions file, through the
lineage index) is shown beside the one recomputed from the stream's rules, so a disagreement is visible.

It reads the lineage index's bucket of the id (:mod:`dolma.release.lookup`), the document's line in its documents
file and in each of its attribute files, one shard manifest per stream and ``mixture.json``; with a token offset,
that token file's index. Nothing else, locally or on S3.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

import msgspec
import numpy as np

from dolma.core import io as dio
from dolma.core.config import ConfigStruct
from dolma.core.errors import ConfigError
from dolma.core.paths import ATTRIBUTES_DIR, CorpusPath, first_occurrences_path, glob_paths, join
from dolma.release.lineage import MIXED_DIR, MIXTURE_FILE, fetch_text
from dolma.release.lookup import Decision, Lineage, Output, documents_manifest, read_line, resolve, token_rows

__all__ = ["TraceConfig", "trace", "print_trace", "Explain"]

Explain = Callable[[Dict[str, Any], Dict[str, Any], float, int], Dict[str, Any]]
"""The mix's account of one document: ``(stream config, document with attributes, rate, seed)`` → rules fired,
spans removed, length, sampling, decision (:func:`dolma.mixers.explain.explain_document`, which the CLI passes in:
the release layer imports no stage)."""

_Span = Tuple[int, List[Dict[str, Any]]]  # a marked span's keys, and where they first occurred
_EXCERPT = 160
_SHOWN = 8  # duplicate and removed spans printed per document (--json has them all)


class TraceConfig(ConfigStruct):
    path: str = ""
    """The release folder (local or s3://)."""
    id: Optional[str] = None
    """A document id (a sampled copy's id `<id>-dupK` finds its document)."""
    tokens: Optional[str] = None
    """A token file (`tokens/part-0-00003.npy`, relative to the release or as the trainer saw it), with `offset`."""
    offset: Optional[int] = None
    """A token position in `tokens` (0-based)."""
    source: Optional[str] = None
    """A documents file (relative to the release, or its recorded path) or a mixed shard, with `line`."""
    line: Optional[int] = None
    """A line (1-based) of `source`."""
    json: bool = False
    """Print JSON instead of text."""


def _decode(raw: bytes, where: str) -> Dict[str, Any]:
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{where}: not a JSON line: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: not a JSON object")
    return value


class _Release:
    """What trace reads once per release: the lineage, ``mixture.json``, each stream's config."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        self.lineage = Lineage(self.root)
        self.mixture = _decode(fetch_text(join(self.root, MIXED_DIR, MIXTURE_FILE)), MIXTURE_FILE)["streams"]
        self._streams: Dict[str, Tuple[Dict[str, Any], Dict[str, Any]]] = {}
        self._manifests: Dict[str, Optional[Dict[str, Any]]] = {}
        self.side_reads = 0  # first-occurrence files read

    def stream(self, name: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """The stream's config and the mix's resolved config, from one of its shards' manifests."""
        if name not in self._streams:
            shards = self.mixture.get(name, {}).get("shards") or []
            if not shards:
                raise ConfigError(f"{self.root}: stream {name!r} has no shard whose manifest gives its rules")
            shard = self.lineage.relative(shards[0])
            manifest = _decode(fetch_text(resolve(self.root, shard) + ".manifest.json"), shard)
            self._streams[name] = (manifest["config"]["stream"], manifest["config"])
        return self._streams[name]

    def attribute_manifest(self, path: str) -> Dict[str, Any]:
        """The manifest of the stage that wrote an attribute file (empty when it has none)."""
        if path not in self._manifests:
            manifest = path + ".manifest.json"
            self._manifests[path] = _decode(fetch_text(manifest), manifest) if dio.exists(manifest) else None
        return self._manifests[path] or {}

    def first_occurrences(self, source: str, name: str, line: int) -> Optional[Dict[Tuple[int, int], _Span]]:
        """Where each marked span of documents file ``source``'s line ``line`` first occurred (its keys, and the
        earlier spans), by span, from exact dedupe set ``name``'s first-occurrences file (docs/dedupe.md); None
        when there is no such file."""
        parsed = CorpusPath.parse(source)
        path = first_occurrences_path(parsed.prefix or "", name, parsed.rel)
        if not dio.exists(path):
            return None
        self.side_reads += 1
        record = msgspec.msgpack.decode(fetch_text(path))
        rows = {k: np.frombuffer(v, dtype="<i4") for k, v in record["spans"].items()}
        files, documents = record["files"], record["documents"]
        doc_file = np.frombuffer(documents["file"], dtype="<i4")
        doc_line = np.frombuffer(documents["line"], dtype="<i4")
        a, b = np.searchsorted(rows["line"], [line, line + 1])
        found: Dict[Tuple[int, int], _Span] = {}
        for r in range(int(a), int(b)):
            d = int(rows["first"][r])
            span = found.setdefault((int(rows["start"][r]), int(rows["end"][r])), (int(rows["keys"][r]), []))
            span[1].append({"file": files[int(doc_file[d])], "line": int(doc_line[d]), "id": documents["id"][d],
                            "start": int(rows["first_start"][r]), "end": int(rows["first_end"][r]),
                            "keys": int(rows["first_keys"][r])})
        return found


def _attribute_files(source: str) -> List[Tuple[str, str]]:
    """(set, path) of each attribute file mirroring documents file ``source``."""
    parsed = CorpusPath.parse(source)
    if parsed.prefix is None:
        return []
    found = glob_paths(join(parsed.prefix + ATTRIBUTES_DIR, "*", parsed.rel))
    return sorted((p[len(parsed.prefix + ATTRIBUTES_DIR) + 1:].split("/", 1)[0], p) for p in found)


def _marks_duplicates(key: str) -> bool:
    """Whether a dedupe attribute key marks duplicates: every exact-dedupe key; of MinHash's keys
    (`<prefix>__minhash__<field>`, docs/near_dedup.md) only `duplicate` — the others describe clusters."""
    return "__minhash__" not in key or key.endswith("__minhash__duplicate")


def _excerpt(text: str, start: int = 0, end: Optional[int] = None) -> str:
    piece = text[start:end]
    return piece if len(piece) <= _EXCERPT else piece[: _EXCERPT - 1] + "…"


def _document(release: _Release, decision: Decision, explain: Explain) -> Dict[str, Any]:
    root = release.root
    source = resolve(root, decision.source)
    doc = _decode(read_line(source, decision.line), f"{source}:{decision.line}")
    manifest = documents_manifest(source)
    entry: Dict[str, Any] = {
        "id": decision.id,
        "stream": decision.stream,
        "source": {
            "file": decision.source,
            "line": decision.line,
            "source": doc.get("source"),
            "origin": (doc.get("metadata") or {}).get("origin") if isinstance(doc.get("metadata"), dict) else None,
            "written_by": None if manifest is None else {
                "stage": manifest.get("stage"),
                "inputs": [i.get("path") for i in manifest.get("inputs", [])][:5],
            },
            "text_chars": len(doc.get("text", "")),
        },
    }
    # attributes: every set mirroring the file, with the stage that wrote it
    stages: Dict[str, str] = {}  # attribute key -> set
    sets: List[Dict[str, Any]] = []
    paths: Dict[str, str] = {}  # set -> its attribute file
    rows: Dict[str, Dict[str, Any]] = {}
    for name, path in _attribute_files(source):
        row = _decode(read_line(path, decision.line), f"{path}:{decision.line}")
        if row.get("id") != decision.id:
            raise ConfigError(f"{path}:{decision.line}: attributes of {row.get('id')!r}, not of {decision.id!r}")
        attributes = row.get("attributes") or {}
        rows[name] = attributes
        stage = release.attribute_manifest(path).get("stage") or "?"
        for key in attributes:
            stages[key] = name
        sets.append({"set": name, "stage": stage, "file": release.lineage.relative(path), "attributes": attributes})
        paths[name] = path
    entry["attributes"] = sets
    dedupe_sets = {s["set"] for s in sets if s["stage"] == "dedupe"}
    text = doc.get("text", "")
    entry["duplicates"] = [
        {"set": s["set"], "key": key, "start": span[0], "end": span[1], "score": span[2],
         "text": _excerpt(text, int(span[0]), int(span[1]))}
        for s in sets if s["set"] in dedupe_sets for key, spans in s["attributes"].items() if _marks_duplicates(key)
        for span in spans
    ]
    entry["first_occurrences"] = _first_occurrences(release, source, decision, paths, entry["duplicates"])
    stream, mix_config = release.stream(decision.stream)
    for name in stream.get("attributes") or []:
        merged = doc.setdefault("attributes", {})
        if isinstance(merged, dict):
            merged.update(rows.get(name, {}))
    info = release.lineage.index.streams.get(decision.stream, {})
    rate = float(info.get("sample_rate", stream.get("sample", 1.0)))
    mix = explain(stream, doc, rate, int(info.get("seed", mix_config.get("seed", 0))))
    for rule in mix["rules"]:
        rule["reads"] = {k: stages.get(k) for k in rule.pop("keys")}
    entry.update(rules=mix["rules"], spans_removed=mix["spans_removed"], length=mix["length"],
                 sampling=mix["sampling"], recomputed=mix["decision"],
                 stage=_stage(mix, stream, dedupe_sets))
    entry["recorded"] = decision.decision
    removed = release.lineage.removed_by(decision.id)
    outputs = release.lineage.outputs(decision) if decision.decision == "kept" else []
    entry["outputs"] = [_output(o) for o in outputs]
    if removed is not None:
        removal = next(r for r in release.lineage.removals if r.number == removed)
        entry["removed"] = {"removal": removed, "created": removal.created, "reason": removal.reason}
    return entry


_BLOOM = ("a Bloom filter records membership only: which earlier document held these spans is not recorded "
          "(`dedupe.exact: true` records first occurrences)")


def _first_occurrences(release: _Release, source: str, decision: Decision, paths: Dict[str, str],
                       duplicates: List[Dict[str, Any]]) -> Dict[str, str]:
    """Each exact dedupe set's record of where the document's duplicate spans first occurred, set on the spans
    (``first``: the documents file, line, id and span of the earlier text, and the mix's decision on that
    document); per dedupe set with duplicate spans, whether that is recorded, and why not."""
    notes: Dict[str, str] = {}
    looked_up: Dict[Tuple[str, str, int], Optional[str]] = {}
    for name, path in paths.items():
        spans = [d for d in duplicates if d["set"] == name and "__minhash__" not in d["key"]]
        if not spans:
            continue
        if not (release.attribute_manifest(path).get("config") or {}).get("exact"):
            notes[name] = _BLOOM
            continue
        row = release.first_occurrences(source, name, decision.line)
        if row is None:
            notes[name] = "exact dedupe, but its run recorded no first occurrences (made before they were)"
            continue
        notes[name] = "recorded"
        for d in spans:
            keys, firsts = row.get((int(d["start"]), int(d["end"])), (None, []))
            d["keys"] = keys
            d["first"] = [_first(release, f, looked_up) for f in firsts]
    return notes


def _first(
    release: _Release, first: Dict[str, Any], looked_up: Dict[Tuple[str, str, int], Optional[str]]
) -> Dict[str, Any]:
    """A first occurrence with its file relative to the release and the mix's decision on its document (looked up
    for the first few distinct documents: one index bucket each)."""
    rel = release.lineage.relative(first["file"])
    key = (first["id"], rel, first["line"])
    if key not in looked_up and len(looked_up) < _SHOWN:
        looked_up[key] = next((d.decision for d in release.lineage.decisions(first["id"])
                               if (d.source, d.line) == (rel, first["line"])), None)
    return {**first, "file": rel, "decision": looked_up.get(key)}


def _stage(mix: Dict[str, Any], stream: Dict[str, Any], dedupe_sets: set) -> str:
    """Which step decided: ``kept``, ``rule``, ``dedupe`` (a rule reading a dedupe attribute set), ``length``,
    ``length after dedupe`` (spans a dedupe attribute marked were removed first) or ``sampling``."""
    decision = mix["decision"]
    if decision == "kept":
        return "kept"
    if decision == "dropped: sampling":
        return "sampling"
    if decision == "dropped: min_text_length":
        dedupe_rules = {f"span_replacement[{i}]" for i, r in enumerate(stream.get("span_replacement") or [])
                        if any(s in r["span"] for s in dedupe_sets) or "bff_duplicate" in r["span"]}
        return "length after dedupe" if any(s["rule"] in dedupe_rules for s in mix["spans_removed"]) else "length"
    filters = [r for r in mix["rules"] if not r["rule"].startswith("span")]
    decided = [r for r in filters if r["fired"] and r["rule"].startswith("exclude")] or filters
    reads = decided[0]["reads"] if decided else {}
    return "dedupe" if any(s in dedupe_sets for s in reads.values()) else "rule"


def _output(o: Output) -> Dict[str, Any]:
    return {"id": o.id, "shard": o.shard, "line": o.line, "removed_by": o.removed_by,
            "tokens": [{"file": t.file, "start": t.start, "end": t.end} for t in o.tokens],
            "token_count": sum(t.end - t.start for t in o.tokens)}


def _find_base(release: _Release, copy: str, shard: str, line: int) -> str:
    """The document id behind output line ``shard:line`` (id ``copy``)."""
    for r in release.lineage.rows(copy):
        if r[0] == "O":
            out = Output(r[1], r[2], r[3], int(r[4]))
            if release.lineage.current(out).removed_by is None and out.shard == shard and out.line == line:
                return r[2]
    raise ConfigError(f"{shard}:{line}: id {copy!r} is not in the lineage index")


def trace(config: TraceConfig, explain: Explain) -> Dict[str, Any]:
    """The trace of the document ``config`` asks for, as plain data."""
    if not config.path:
        raise ConfigError("missing the release folder: dolma trace DIR --id ID (or --tokens FILE --offset N, "
                          "or --source FILE --line N)")
    asked = [config.id is not None, config.tokens is not None, config.source is not None]
    if sum(asked) != 1:
        raise ConfigError("give exactly one of --id, --tokens (with --offset), --source (with --line)")
    release = _Release(config.path)
    lineage = release.lineage
    query: Dict[str, Any] = {}
    want: Optional[Tuple[str, int]] = None  # a documents file and line the trace is about
    doc_id = config.id
    token_hit: Optional[Dict[str, Any]] = None
    if config.tokens is not None:
        if config.offset is None:
            raise ConfigError("--tokens needs --offset (a token position in that file)")
        rel = lineage.relative(config.tokens)
        rel = rel[: -len(".csv.gz")] + ".npy" if rel.endswith(".csv.gz") else rel
        query = {"tokens": rel, "offset": config.offset}
        rows = token_rows(resolve(release.root, rel[: -len(".npy")] + ".csv.gz"))
        lineage.reads += 1
        hit = next((r for r in rows if r[0] <= config.offset < r[1]), None)
        if hit is None:
            total = rows[-1][1] if rows else 0
            raise ConfigError(f"{rel}: offset {config.offset} is past its last document (it holds {total} tokens)")
        shard = lineage.relative(hit[3])
        doc_id = _find_base(release, hit[2], shard, hit[4])
        token_hit = {"id": hit[2], "shard": shard, "line": hit[4], "file": rel, "offset": config.offset,
                     "row": {"start": hit[0], "end": hit[1]}}
    elif config.source is not None:
        if config.line is None:
            raise ConfigError("--source needs --line (1-based)")
        rel = lineage.relative(config.source)
        query = {"source": rel, "line": config.line}
        record = _decode(read_line(resolve(release.root, rel), config.line), f"{rel}:{config.line}")
        doc_id = record.get("id")
        if not isinstance(doc_id, str):
            raise ConfigError(f"{rel}:{config.line}: no string `id`")
        provenance = (record.get("metadata") or {}).get("provenance") if isinstance(record.get("metadata"), dict) else None
        if provenance is not None and rel.startswith(MIXED_DIR + "/"):  # a mixed shard: its line's document
            path, _, line = provenance.rpartition(":")
            doc_id = _find_base(release, doc_id, rel, config.line)
            want = (lineage.relative(path), int(line))
        else:
            want = (rel, config.line)
    else:
        query = {"id": doc_id}
    assert doc_id is not None
    decisions = lineage.decisions(doc_id)
    if not decisions:
        base = next((r[2] for r in lineage.rows(doc_id) if r[0] == "O"), None)
        if base is not None:  # a sampled copy's id
            decisions = lineage.decisions(base)
    if want is not None:
        decisions = [d for d in decisions if (d.source, d.line) == want]
    if not decisions:
        raise ConfigError(f"{config.path}: no document {doc_id!r} in the lineage index")
    documents = [_document(release, d, explain) for d in decisions]
    if token_hit is not None:
        _locate_token(documents, token_hit)
    return {"release": release.root, "query": query, "documents": documents, "token": token_hit,
            "files_read": _files_read(release, documents)}


def _locate_token(documents: List[Dict[str, Any]], hit: Dict[str, Any]) -> None:
    """Where the token is in its document: the document's pieces across token files, in order."""
    for doc in documents:
        for out in doc["outputs"]:
            if out["shard"] != hit["shard"] or out["line"] != hit["line"]:
                continue
            before = 0
            for piece in out["tokens"]:
                if piece["file"] == hit["file"] and piece["start"] <= hit["offset"] < piece["end"]:
                    hit["offset_in_document"] = before + hit["offset"] - piece["start"]
                    hit["document_tokens"] = out["token_count"]
                    hit["pieces"] = len(out["tokens"])
                    return
                before += piece["end"] - piece["start"]


def _files_read(release: _Release, documents: List[Dict[str, Any]]) -> int:
    """Files read: index buckets and token indexes, plus per document its line, attribute lines and manifests."""
    per_doc = sum(1 + len(d["attributes"]) + 1 for d in documents)
    return release.lineage.reads + per_doc + 2 + len(release._streams) + len(release._manifests) + release.side_reads


def print_trace(result: Dict[str, Any]) -> None:
    out = sys.stdout
    q = result["query"]
    out.write(f"trace {' '.join(f'{k}={v}' for k, v in q.items())} in {result['release']}\n")
    hit = result.get("token")
    if hit is not None:
        where = f" (token {hit.get('offset_in_document', '?')} of {hit.get('document_tokens', '?')} in the document, " \
                f"{hit.get('pieces', '?')} piece(s))"
        out.write(f"  token {hit['file']}[{hit['offset']}] is in row {hit['row']['start']}-{hit['row']['end']} of "
                  f"{hit['id']} = {hit['shard']}:{hit['line']}{where}\n")
    for doc in result["documents"]:
        src = doc["source"]
        out.write(f"\ndocument {doc['id']} (stream {doc['stream']})\n")
        out.write(f"  source     {src['file']}:{src['line']}  source={src['source']}  {src['text_chars']:,} chars\n")
        if src["origin"]:
            out.write(f"  origin     {src['origin']}\n")
        if src["written_by"]:
            out.write(f"  written by {src['written_by']['stage']} from {', '.join(map(str, src['written_by']['inputs']))}\n")
        for s in doc["attributes"]:
            out.write(f"  attributes {s['set']} ({s['stage']}, {s['file']})\n")
            for key, spans in s["attributes"].items():
                shown = spans if len(spans) <= 3 else [*spans[:3], f"… {len(spans)} spans"]
                out.write(f"    {key}: {shown}\n")
        for d in doc["duplicates"][:_SHOWN]:
            out.write(f"  duplicate  [{d['start']}, {d['end']}) score {d['score']} ({d['set']}): {d['text']!r}\n")
            for f in d.get("first") or []:
                keys = f"{f['keys']} of its {d['keys']} keys: " if d.get("keys", 1) != 1 else ""
                if f["id"] == doc["id"] and (f["file"], f["line"]) == (src["file"], src["line"]):
                    out.write(f"             {keys}repeats [{f['start']}, {f['end']}) earlier in this document\n")
                    continue
                decided = f" — {f['decision']}" if f["decision"] else ""
                out.write(f"             {keys}duplicate of {f['id']} at {f['file']}:{f['line']} "
                          f"(span [{f['start']}, {f['end']})){decided}\n")
        _more(out, doc["duplicates"], "duplicate span(s)")
        for name, note in doc["first_occurrences"].items():
            if note != "recorded":
                out.write(f"             ({name}: {note})\n")
        for r in doc["rules"]:
            extra = f", {r['spans']} span(s)" if "spans" in r else ""
            out.write(f"  rule       {r['rule']} {'FIRED' if r['fired'] else 'no'}{extra}: {r['expression']}\n")
        for s in doc["spans_removed"][:_SHOWN]:
            out.write(f"  removed    [{s['start']}, {s['end']}) by {s['rule']} → {s['replacement']!r}: {s['text']!r}\n")
        _more(out, doc["spans_removed"], "removed span(s)")
        length = doc["length"]
        if length["min_text_length"]:
            out.write(f"  length     {length['length_after_spans']:,} after spans (UTF-8 bytes, trimmed), minimum "
                      f"{length['min_text_length']:,}: {'DROPPED' if length['fired'] else 'ok'}\n")
        out.write(f"  sampling   rate {doc['sampling']['rate']:.6g}: {doc['sampling']['copies']} cop(ies)\n")
        agree = "" if doc["recorded"] == doc["recomputed"] else f" (recomputed now: {doc['recomputed']}!)"
        out.write(f"  decision   {doc['recorded']} — {doc['stage']}{agree}\n")
        if "removed" in doc:
            r = doc["removed"]
            out.write(f"  REMOVED    by removal {r['removal']} on {r['created']}: {r['reason']}\n")
        for o in doc["outputs"]:
            if o["removed_by"] is not None:
                out.write(f"  output     {o['id']}: removed by removal {o['removed_by']}\n")
                continue
            pieces = ", ".join(f"{t['file']}[{t['start']}:{t['end']}]" for t in o["tokens"]) or "no tokens"
            out.write(f"  output     {o['id']} → {o['shard']}:{o['line']} → {pieces} ({o['token_count']:,} tokens)\n")
    out.write(f"\n{result['files_read']} file(s) read\n")


def _more(out: Any, items: List[Any], what: str) -> None:
    if len(items) > _SHOWN:
        out.write(f"             … {len(items) - _SHOWN} more {what} (all of them with --json)\n")


def run_trace(config: TraceConfig, explain: Explain) -> int:
    result = trace(config, explain)
    if config.json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(result), indent=2).decode() + "\n")
    else:
        print_trace(result)
    return 0
