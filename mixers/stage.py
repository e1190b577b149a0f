"""The mix stage: merge attributes into documents, filter, replace spans, sample, and write sharded output.

Planning (in the parent, :mod:`dolma.mixers.plan`) lists each stream's documents files in sorted order; each file
is one work unit, so units run in parallel. A unit reads its file through the stream's rules
(:mod:`dolma.mixers.documents`), samples what they keep, and writes it as staged parts in
``<path>/.mix-staging/`` (:mod:`dolma.mixers.parts`), plus a record of its parts. When units finish,
:meth:`MixStage.finalise` publishes each stream's finished units as shards ``<path>/<name>-NNNN.jsonl.gz``, with a
manifest each (:mod:`dolma.mixers.shards`), and ``mixture.json`` says what each stream holds. Streams with a target
are measured first (:mod:`dolma.mixers.measure`), and sampled at the rate that meets it.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import logging
import sys
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import msgspec

from dolma.core import io as dio
from dolma.core.environment import output_environment
from dolma.core.errors import ConfigError, UnitsFailed
from dolma.core.manifest import FileEntry, config_hash, read_record
from dolma.core.outputs import UnitOutputs
from dolma.core.paths import join
from dolma.core.records import BadLine, QuarantineLine
from dolma.core.units import Progress, Resources, RunReport, Stage, WorkUnit
from dolma.mixers.config import MixConfig, StreamConfig
from dolma.mixers.documents import SEEN_PREFIX, Kept, StreamRules, bump, rule_count_key, stream_rules
from dolma.mixers.lines import LongLine, encode_document, encode_documents, encode_dropped, text_measures
from dolma.mixers.measure import measure
from dolma.mixers.parts import BlockCompressor, PartWriter, UnitRecord, block_budget, write_record
from dolma.mixers.plan import (
    MIXTURE_FILE, MixUnit, decisions_path, extension, mix_resources, plan_stream, record_path, staging_dir,
    unit_prefix, work_units,
)
from dolma.mixers.sampling import Sampler, copy_id
from dolma.mixers.shards import StreamShards
from dolma.mixers.targets import resolve_rates

__all__ = ["MixStage"]

log = logging.getLogger("dolma")



class MixStage(Stage[MixUnit]):
    name = "mix"
    @property
    def resources(self) -> Resources:  # type: ignore[override]
        return mix_resources(self.config)

    def __init__(self, config: MixConfig, rates: Optional[Dict[str, float]] = None) -> None:
        _validate(config)
        for stream in config.streams:
            # syntax errors surface now, before any file is read
            StreamRules(stream, config.on_error, config.regex_timeout, config.max_document_bytes)
        self.config = config
        self.rates = rates or {s.name: s.sample for s in config.streams}
        self.measured: Dict[str, Dict[str, int]] = {}  # what the measuring pass found, for mixture.json
        self._rules: List[StreamRules] = []
        self._samplers: List[Sampler] = []
        self._measured_out: List[bool] = []  # per stream: count the output's text bytes and tokens (it has a target)

    def __getstate__(self) -> Dict[str, Any]:
        return {**self.__dict__, "_rules": [], "_samplers": [], "_measured_out": []}

    def describe_plan(self) -> str:
        streams = self.config.streams
        patterns = sum(len(s.documents) for s in streams)
        return f"{self.name}: {len(streams)} stream(s) over {patterns} documents pattern(s); inputs are not listed on a dry run"

    # --- around the units (driver) -----------------------------------------------------------------------

    @contextlib.contextmanager
    def running(self, units: List[WorkUnit]) -> Iterator[Optional[List[WorkUnit]]]:
        """Targeted streams are measured first (a pass of their own), and their sampling rates follow."""
        if any(s.target is not None for s in self.config.streams):
            self.measured = measure(self.config)
            self.rates = resolve_rates(self.config, self.measured)
        yield units

    def finish(self, units: List[WorkUnit], report: RunReport) -> None:
        self.check_rules(units)
        self.publish(units, report)

    def check_rules(self, units: List[WorkUnit]) -> List[str]:
        """Warn about each rule reading an attribute key that no attribute line of its stream's finished units
        held (the rule could not apply: a typo, a missing attribute set), with the closest keys seen. With
        ``strict``, such a rule fails the run before anything is published. Returns the warnings."""
        problems: List[str] = []
        for s, stream in enumerate(self.config.streams):
            records = [self._record(u.payload) for u in units if u.payload.stream == s]
            finished = [r for r in records if r is not None]
            if not finished:
                continue
            counts: Dict[str, int] = {}
            for record in finished:
                for part in record.parts:
                    for k, v in part.counts.items():
                        counts[k] = counts.get(k, 0) + v
            problems += rule_problems(stream, counts)
        if problems and self.config.strict:
            print(f"dolma {self.name}: strict: {len(problems)} rule(s) read attribute keys that no document holds; "
                  "nothing published:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            raise UnitsFailed(f"{self.name}: strict: rules read attribute keys that no document holds")
        for problem in problems:
            log.warning("%s", problem)
        return problems

    def publish(self, units: List[WorkUnit], report: RunReport) -> None:
        """Publish each stream's finished units as shards, and write `mixture.json` (what each stream holds)."""
        streams: Dict[str, Any] = {}
        total_out = 0
        for s, stream in enumerate(self.config.streams):
            entry = streams[stream.name] = self._publish_stream(s, units)
            total_out += entry["counts"].get("bytes_out", 0)
        for entry in streams.values():
            entry["share_of_bytes_out"] = round(entry["counts"].get("bytes_out", 0) / total_out, 6) if total_out else 0.0
        data = msgspec.json.format(msgspec.json.encode({"streams": streams}), indent=2) + b"\n"
        for path in dict.fromkeys(s.output.path for s in self.config.streams):
            dio.write_bytes_atomic(join(path, MIXTURE_FILE), data)

    def _publish_stream(self, s: int, units: List[WorkUnit]) -> Dict[str, Any]:
        """Publish stream ``s``; its entry in `mixture.json`."""
        stream = self.config.streams[s]
        planned = sum(1 for u in units if u.payload.stream == s)
        published, shards = self.finalise(s)
        if published < planned:
            log.warning("stream %s: %d of %d unit(s) published; rerun to finish the rest", stream.name, published, planned)
        totals: Dict[str, int] = {}
        for shard in shards:
            for k, v in shard.items():
                if isinstance(v, int):
                    totals[k] = totals.get(k, 0) + v
        return {
            "output": stream.output.path,
            "shards": [sh["path"] for sh in shards],
            "sample_rate": self.rates[stream.name],
            "target": msgspec.to_builtins(stream.target),
            "measured_before_sampling": self.measured.get(stream.name),
            "counts": totals,
            "rules": rule_counts(stream, totals),
            "complete": published == planned,
        }

    # --- planning ---------------------------------------------------------------------------------------

    def units(self) -> List[WorkUnit]:
        return work_units(self.config)

    def stream_config(self, s: int) -> Dict[str, Any]:
        """What determines a stream's output bytes (hashed into each unit record)."""
        stream = self.config.streams[s]
        return {
            "stage": self.name,
            "stream": msgspec.to_builtins(stream),
            "sample_rate": self.rates[stream.name],
            "seed": self.config.seed,
            "gzip_level": self.config.gzip_level,
            "on_error": self.config.on_error,
        }

    def _unit_hash(self, unit: MixUnit) -> str:
        return config_hash({**self.stream_config(unit.stream), "documents": list(unit.documents), "unit": unit.index})

    def _record(self, unit: MixUnit) -> Optional[UnitRecord]:
        """The unit's record, if it ran with this config."""
        record = read_record(record_path(self.config.streams[unit.stream], unit), UnitRecord)
        if record is None or record.config_hash != self._unit_hash(unit):
            return None
        return record

    def is_done(self, unit: WorkUnit) -> bool:
        record = self._record(unit.payload)
        return record is not None and all(dio.exists(p.final or p.staged) for p in record.parts)

    # --- work -------------------------------------------------------------------------------------------

    def setup(self) -> None:
        config = self.config
        self._rules = [
            StreamRules(s, config.on_error, config.regex_timeout, config.max_document_bytes) for s in config.streams
        ]
        self._measured_out = [s.target is not None for s in self.config.streams]
        self._samplers = [Sampler(self.rates[s.name], self.config.seed, s.name) for s in self.config.streams]

    def run(self, unit: WorkUnit, progress: Progress) -> Dict[str, int]:
        if not self._rules:
            self.setup()
        mix_unit: MixUnit = unit.payload
        stream = self.config.streams[mix_unit.stream]
        prefix = unit_prefix(stream, mix_unit)
        inputs: List[FileEntry] = []
        totals: Dict[str, int] = {}
        quarantine = join(stream.output.path, "quarantine", prefix + ".jsonl.gz")
        with UnitOutputs(self.name, self.config, quarantine=quarantine) as files:
            compressor = BlockCompressor(extension(stream), self.config.gzip_level)
            out = PartWriter(files, staging_dir(stream), prefix, stream.output.max_size_in_bytes, compressor)
            side = _Refused(files, stream, prefix)
            for doc_path, attr_paths in zip(mix_unit.documents, mix_unit.attributes):
                for batch_counts, lines in self._output(mix_unit.stream, doc_path, attr_paths, inputs, side, progress):
                    counts = out.ensure_open()
                    for run in lines:
                        if isinstance(run, LongLine):
                            out.write_line(run)
                        else:
                            out.write_lines(run)
                    side.flush()
                    # input-side counts go to the part the batch started in
                    for k, v in batch_counts.items():
                        counts[k] = counts.get(k, 0) + v
                        totals[k] = totals.get(k, 0) + v
            parts = out.finish()
            side.flush()
        record = UnitRecord(self._unit_hash(mix_unit), inputs, parts, round(files.seconds, 3), output_environment())
        write_record(record_path(stream, mix_unit), record)
        totals["documents_out"] = sum(p.counts["documents_out"] for p in parts)
        totals["bytes_out"] = sum(p.counts["bytes_out"] for p in parts)
        totals["parts"] = len(parts)
        return totals

    def _output(
        self, s: int, doc_path: str, attr_paths: Sequence[str], inputs: List[FileEntry], side: "_Refused", progress: Progress
    ) -> Iterator[Tuple[Dict[str, int], List[Union[bytes, LongLine]]]]:
        """Per batch of ``doc_path``: its counts, and the JSON lines of the documents stream ``s`` keeps, sampled
        (runs of lines, and long lines to write a piece at a time)."""
        sampler = self._samplers[s]
        stream = self.config.streams[s]
        discard = stream.output.discard_fields
        for kept, counts in self._rules[s].batches(doc_path, attr_paths, inputs, side, progress):
            if sampler.identity and not discard:
                counts["documents_kept"] += len(kept)
                docs = [doc for _, doc in kept]
                for line, doc in kept:
                    side.kept(line, doc["id"], 1)
            else:
                docs = _sampled(kept, counts, sampler, discard, side, doc_path)
            if self._measured_out[s]:  # what a target is in: the output's text bytes and whitespace tokens
                measures = [text_measures(d["text"]) for d in docs]
                counts["text_bytes_out"] = counts.get("text_bytes_out", 0) + sum(m[0] for m in measures)
                counts["text_tokens_out"] = counts.get("text_tokens_out", 0) + sum(m[1] for m in measures)
            yield counts, encode_documents(docs, block_budget(stream.output.max_size_in_bytes))

    # --- finalisation (in the parent) --------------------------------------------------------------------

    def finalise(self, s: int) -> Tuple[int, List[Dict[str, Any]]]:
        """Publish the finished units of stream ``s`` in order, stopping at the first unfinished unit.
        Returns the number of units whose output is published and the per-shard counts."""
        planned = plan_stream(self.config, s)
        finished: List[Tuple[MixUnit, UnitRecord]] = []
        for unit in planned:
            record = self._record(unit)
            if record is None:
                break
            finished.append((unit, record))
        shards = StreamShards(self.name, self.config.streams[s], self.stream_config(s), self.config)
        return shards.publish(finished, len(planned))


def _sampled(
    kept: Kept, counts: Dict[str, int], sampler: Sampler, discard: List[str], side: "_Refused", doc_path: str
) -> List[Dict[str, Any]]:
    """The documents ``sampler`` keeps of ``kept``, each with its copies, without the ``discard`` fields."""
    out_docs: List[Dict[str, Any]] = []
    for line, doc in kept:
        n = 1 if sampler.identity else sampler.copies(doc["id"])
        if n == 0:
            bump(counts, "dropped: sampling")
            side.dropped(doc, "sampling", doc_path, line)
            continue
        counts["documents_kept"] += 1
        side.kept(line, doc["id"], n)
        for field in discard:
            doc.pop(field, None)
        out_docs.append(doc)
        if n > 1:
            base = doc["id"]
            for k in range(1, n):
                copy = dict(doc)
                copy["id"] = copy_id(base, k)
                out_docs.append(copy)
            counts["copies_added"] += n - 1
    return out_docs


class _Refused:
    """What a unit decides about each line of its documents file, written through its files: every decision
    (kept with its copies, dropped with its reason, quarantined) as a row of the unit's decisions file (what
    `dolma trace` and `dolma remove` read, see :func:`decisions_path`); dropped documents with their reason (in
    the stream's ``dropped_path``, when it has one; the file is created on the first) and quarantined lines.
    Kept rows come in output order, so a kept document's first output line in the unit is the sum of the copies
    of the kept rows before it."""

    def __init__(self, files: UnitOutputs, stream: StreamConfig, prefix: str) -> None:
        self._files = files
        folder = stream.output.dropped_path
        self._dropped = None if folder is None else join(folder, prefix + ".jsonl.gz")
        self._decisions = files.open(decisions_path(stream, prefix))
        self._rows = io.StringIO()
        self._csv = csv.writer(self._rows, lineterminator="\n")

    def kept(self, line: int, doc_id: str, copies: int) -> None:
        self._csv.writerow((line, doc_id, "kept", copies))

    def dropped(self, doc: Dict[str, Any], reason: str, path: str, line: int) -> None:
        self._csv.writerow((line, doc["id"], "dropped: " + reason, 0))
        if self._dropped is not None:
            record = {"reason": reason, "provenance": f"{path}:{line}", "document": doc}
            self._files.open(self._dropped).write(encode_dropped(record))

    def quarantine(self, path: str, line: int, reason: str, item: Any) -> None:
        doc_id = item.get("id") if isinstance(item, dict) else None
        self._csv.writerow((line, doc_id if isinstance(doc_id, str) else "", "quarantined", 0))
        raw = item.raw.decode("utf-8", "replace") if isinstance(item, BadLine) else encode_document(item).decode()
        self._files.quarantine_records([QuarantineLine(path, line, reason, raw)])

    def flush(self) -> None:
        """Write the rows decided so far."""
        text = self._rows.getvalue()
        if text:
            self._decisions.write(text.encode("utf-8", "surrogatepass"))
            self._rows.seek(0)
            self._rows.truncate()


def rule_counts(stream: StreamConfig, counts: Dict[str, int]) -> List[Dict[str, Any]]:
    """Each rule of ``stream`` with its counts: documents holding every attribute key it reads (null when it
    reads none by name), documents it matched (rules are evaluated in order until one decides), documents it
    dropped (excludes), and the keys it reads that no document held."""
    seen = {k[len(SEEN_PREFIX):] for k, v in counts.items() if k.startswith(SEEN_PREFIX) and v}
    out: List[Dict[str, Any]] = []
    for rule in stream_rules(stream):
        out.append({
            "rule": rule.label,
            "expression": rule.expression,
            "attribute_keys": list(rule.keys),
            "documents_with_keys": counts.get(rule_count_key(rule.label, "keys present"), 0) if rule.keys else None,
            "matched": counts.get(rule_count_key(rule.label, "matched"), 0),
            "dropped": counts.get(rule_count_key(rule.label, "dropped"), 0),
            "missing_keys": [k for k in rule.keys if k not in seen],
        })
    return out


def rule_problems(stream: StreamConfig, counts: Dict[str, int]) -> List[str]:
    """A line per rule of ``stream`` reading an attribute key that no document held, by ``counts``."""
    seen = sorted(k[len(SEEN_PREFIX):] for k, v in counts.items() if k.startswith(SEEN_PREFIX) and v)
    problems: List[str] = []
    for entry in rule_counts(stream, counts):
        if rule_count_key(entry["rule"], "keys present") not in counts:
            continue  # no document was read under this rule's counting (an empty input, or records made before it)
        for key in entry["missing_keys"]:
            close = difflib.get_close_matches(key, seen, n=3, cutoff=0.6)
            if close:
                hint = f"; did you mean {', '.join(repr(c) for c in close)}?"
            elif seen:
                hint = f"; keys seen: {', '.join(seen[:10])}{', ...' if len(seen) > 10 else ''}"
            else:
                hint = "; no attributes seen"
            problems.append(f"stream {stream.name!r}, {entry['rule']} `{entry['expression']}`: attribute key {key!r} "
                            f"is in no document of the stream, so the rule never applied{hint}")
    return problems


def _validate(config: MixConfig) -> None:
    if not config.streams:
        raise ConfigError("missing required key `streams`: give at least one stream to mix")
