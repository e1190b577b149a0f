"""``dolma dedupe`` with ``dedupe.minhash``: near-duplicate documents, marked in attributes the mix filters on.

The command's own units are the last step (one attributes file per input file); before them, inside
:meth:`MinHashStage.running`, the earlier steps run as stages of their own on the same executor (the local pool or
Ray): signatures (per file) → buckets (per band-key partition) → verify (per edge partition) → label propagation
rounds (per node partition) → clusters (per label partition). Every step reads only files of the steps before it
and writes files of its own in the state folder, so no step needs one machine to hold all documents or edges, and
every output is a function of the inputs and the config alone: same bytes at any process count, locally and on Ray.
A rerun skips the units of every step already done with the same settings.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import msgspec
import numpy as np

from dolma.core import io as dio
from dolma.core.errors import ConfigError, DolmaError, UnitsFailed
from dolma.core.executor import execute
from dolma.core.manifest import FileEntry, config_hash, manifest_path, read_manifest
from dolma.core.outputs import UnitOutputs
from dolma.core.paths import CorpusPath
from dolma.core.records import QUARANTINE_SUFFIX, BadLine, DocumentsReader
from dolma.core.runner import check_inputs_kept, summarise, work_processes
from dolma.core.units import Progress, RunReport, Stage, WorkUnit
from dolma.dedup.attributes import attributes_path, documents_files
from dolma.dedup.config import DedupeConfig, MinHashConfig
from dolma.dedup.minhash.candidates import BucketStep, VerifyStep
from dolma.dedup.minhash.clusters import TOP_CLUSTERS, ClusterStep
from dolma.dedup.minhash.common import LINE_BITS, REFERENCE, Layout, Step, settings_digest
from dolma.dedup.minhash.components import PropagateStep
from dolma.dedup.minhash.hashing import s_curve, threshold_at
from dolma.dedup.minhash.signatures import SignatureStep
from dolma.dedup.minhash.store import read_blob

__all__ = ["MinHashStage", "attribute_keys"]

log = logging.getLogger("dolma")

_ENCODER = msgspec.json.Encoder()
LIGHT_ROWS = 1 << 20
"""Rows (band keys, label messages) below which a step runs locally in the driver process."""
EXCERPT_CHARS = 160
"""Characters of each largest cluster's keeper shown in the summary."""


def attribute_keys(prefix: str) -> Dict[str, str]:
    """The attribute keys MinHash writes, by field."""
    return {f: f"{prefix}__minhash__{f}" for f in ("cluster_id", "cluster_size", "duplicate", "similarity")}


class MinHashStage(Stage[Tuple[int, str]]):
    name = "dedupe"

    def __init__(self, config: DedupeConfig) -> None:
        d = config.dedupe
        if not config.documents:
            raise ConfigError("missing required key `documents`: give at least one documents path or glob")
        assert d.minhash is not None
        if d.num_partitions != 1:
            raise ConfigError("`dedupe.num_partitions` is for exact dedupe; MinHash splits its work by `dedupe.minhash.partitions`")
        if d.minhash.shingle == "tokens" and d.minhash.tokenizer and not dio.exists(d.minhash.tokenizer):
            raise ConfigError(f"`dedupe.minhash.tokenizer`: {d.minhash.tokenizer} does not exist")
        self.config = config
        self.m: MinHashConfig = d.minhash
        self.set_name = d.name or self.m.attribute_name or "minhash"
        self.keys = attribute_keys(self.m.attribute_name or self.set_name)
        self.files: List[str] = []
        self.layout: Optional[Layout] = None
        self.digest = ""
        self._skip_summary = False

    # --- planning (driver) -----------------------------------------------------------------------------------

    def describe_plan(self) -> str:
        m = self.m
        return (f"{Stage.describe_plan(self)}; MinHash {m.shingle} {m.ngram}-grams, {m.num_bands} bands × "
                f"{m.rows_per_band} rows (found with 50% at Jaccard {threshold_at(0.5, m.num_bands, m.rows_per_band):.3f}, "
                f"90% at {threshold_at(0.9, m.num_bands, m.rows_per_band):.3f}, "
                f"{100 * s_curve(m.threshold, m.num_bands, m.rows_per_band):.1f}% at {m.threshold}), verified at "
                f"Jaccard >= {m.threshold}, {m.partitions} partitions")

    def units(self) -> List[WorkUnit[Tuple[int, str]]]:
        d = self.config.dedupe
        files = documents_files(self.config.documents)
        if len(files) >= 1 << 31:
            raise ConfigError(f"`documents`: {len(files):,} files; MinHash numbers at most 2**31")
        self.files = files
        units = []
        for i, path in enumerate(files):
            out = attributes_path(path, d.document_dir, self.set_name)
            units.append(WorkUnit(key=path, size=dio.schedule_size(path), payload=(i, out), outputs=(out,), inputs=(path,)))
        first = CorpusPath.parse(files[0], d.document_dir)
        reference, reference_files = self._reference()
        self.layout = Layout(self.m.state_dir or (first.prefix or "") + f"minhash/{self.set_name}", reference,
                             reference_files)
        self.digest = settings_digest(self.config, files)
        return units

    def _reference(self) -> Tuple[Optional[Layout], int]:
        """The reference run's layout and file count, checked against this config."""
        if not self.m.reference:
            return None, 0
        layout = Layout(self.m.reference)
        path = layout.summary()
        if not dio.exists(path):
            raise ConfigError(f"`dedupe.minhash.reference`: {path} does not exist (the state_dir of a finished MinHash run)")
        summary = msgspec.json.decode(dio.read_bytes(path))
        theirs = summary.get("settings") or {}
        ours = msgspec.to_builtins(self.m)
        differ = [k for k in _SHARED_SETTINGS if theirs.get(k) != ours.get(k)]
        if differ or "files" not in summary:
            raise ConfigError(
                f"`dedupe.minhash.reference`: {self.m.reference} was made with other settings "
                f"({', '.join(f'{k}: {theirs.get(k)!r}, here {ours.get(k)!r}' for k in differ) or 'an older format'})"
            )
        return layout, int(summary["files"])

    def extra_outputs(self) -> List[str]:
        return [self.layout.summary()] if self.layout is not None else []

    def output_config(self) -> Dict[str, Any]:
        assert self.layout is not None
        return {
            "stage": self.name,
            "set": self.set_name,
            "attributes": self.keys,
            "minhash": msgspec.to_builtins(self.m),
            "summary": self.layout.summary(),
            "state_sha256": self.digest,
            "on_error": self.config.on_error,
            "deterministic": True,
        }

    def is_done(self, unit: WorkUnit) -> bool:
        out = unit.payload[1]
        manifest = read_manifest(manifest_path(out))
        return manifest is not None and manifest.config_hash == config_hash(self.output_config()) and dio.exists(out)

    # --- the steps before the attributes (driver) ------------------------------------------------------------

    def _run(self, step: Step, rows: int = LIGHT_ROWS) -> List[Dict[str, int]]:
        """Run ``step``'s units; locally, a step over fewer than :data:`LIGHT_ROWS` rows in all runs in this
        process (starting worker processes would take longer than the work)."""
        units = step.units()
        check_inputs_kept(units)
        c = self.config
        processes = work_processes(c) if rows >= LIGHT_ROWS or c.executor.backend == "ray" else 1
        report = execute(step, units, processes, c.ignore_existing, debug=c.debug, executor=c.executor)
        if not report.ok:
            summarise(step.name, report)
            raise UnitsFailed(f"{step.name}: {len(report.failed)} unit(s) failed")
        log.info("%s: %d unit(s) done, %d skipped in %.1fs", step.name, len(report.done), len(report.skipped),
                 report.seconds)
        return [step.counts_of(i) for i in range(step.count)]

    @contextlib.contextmanager
    def running(self, units: List[WorkUnit]) -> Iterator[Optional[List[WorkUnit]]]:
        assert self.layout is not None
        if not self.config.ignore_existing and all(self.is_done(u) for u in units) and dio.exists(self.layout.summary()):
            log.info("dedupe: all %d file(s) already done; nothing to do", len(units))
            self._skip_summary = True
            yield units
            return
        started = time.monotonic()
        args = (self.config, self.layout, self.digest)
        totals = _sum(self._run(SignatureStep(*args, self.files)))
        totals.update(_sum(self._run(BucketStep(*args, len(self.files)), totals["documents_signed"] * self.m.num_bands)))
        totals.update(_sum(self._run(VerifyStep(*args, self.m.partitions))))
        final = -1
        rows = 2 * totals["edges_kept"]
        for k in range(self.m.max_iterations):
            counts = _sum(self._run(PropagateStep(*args, k), rows))
            rows = counts.get("messages", 0)
            if rows == 0:
                final = k
                break
        if final < 0:
            raise DolmaError(
                f"dedupe: label propagation did not converge in {self.m.max_iterations} rounds (raise "
                "`dedupe.minhash.max_iterations`: a cluster's verified edges form a chain longer than that)"
            )
        totals.update(_sum(self._run(ClusterStep(*args, final))))
        totals["propagation_rounds"] = final + 1
        self._totals = totals
        log.info("dedupe: MinHash steps done in %.1fs: %s", time.monotonic() - started,
                 ", ".join(f"{k} {v:,}" for k, v in sorted(totals.items())))
        yield units

    # --- the attributes (worker) ----------------------------------------------------------------------------

    def run(self, unit: WorkUnit[Tuple[int, str]], progress: Progress) -> Dict[str, int]:
        assert self.layout is not None
        started = time.monotonic()
        index, output = unit.payload
        sig, meta = read_blob(self.layout.signatures(index))
        ids: List[str] = meta["ids"]
        text_len = sig["text_len"].tolist()
        text_bytes = sig["text_bytes"]
        lo, hi = np.uint64(index) << LINE_BITS, np.uint64(index + 1) << LINE_BITS
        members: Dict[int, Tuple[int, int, float]] = {}
        for q in range(self.m.partitions):
            arrays, _ = read_blob(self.layout.clusters(q))
            gid = arrays["gid"]
            a, b = np.searchsorted(gid, lo), np.searchsorted(gid, hi)
            for g, c, s, sim in zip(gid[a:b].tolist(), arrays["cluster"][a:b].tolist(),
                                    arrays["size"][a:b].tolist(), arrays["similarity"][a:b].tolist()):
                members[g & 0xFFFFFFFF] = (c, s, sim)
        bad = set(sig["bad"].tolist())
        k = self.keys
        lines = []
        marked = bytes_marked = keepers = 0
        for line, doc_id in enumerate(ids):
            if line in bad:
                lines.append({"id": doc_id, "attributes": {}})
                continue
            n = text_len[line]
            found = members.get(line)
            if found is None:
                attrs = {k["cluster_id"]: [], k["cluster_size"]: [[0, n, 1]], k["duplicate"]: [], k["similarity"]: []}
            else:
                cluster, size, sim = found
                dup = cluster != ((index << 32) | line)
                attrs = {k["cluster_id"]: [[0, n, cluster]], k["cluster_size"]: [[0, n, size]],
                         k["duplicate"]: [[0, n, 1]] if dup else [], k["similarity"]: [[0, n, sim]]}
                if dup:
                    marked += 1
                    bytes_marked += int(text_bytes[line])
                else:
                    keepers += 1
            lines.append({"id": doc_id, "attributes": attrs})
        body = _ENCODER.encode_lines(lines)
        counts = {
            "documents_in": len(ids), "documents_out": len(ids) - len(bad), "documents_quarantined": len(bad),
            "bytes_in": int(meta["bytes_in"]), "documents_marked": marked, "spans": marked,
            "bytes_marked": bytes_marked, "clusters": keepers, "documents_clustered": len(members),
        }
        quarantined = [BadLine(int(line) + 1, raw.encode("latin-1"), reason, bool(oversized), int(size))
                       for line, raw, reason, oversized, size in meta.get("bad_lines", [])]
        with UnitOutputs(self.name, self.config, quarantine=output + QUARANTINE_SUFFIX, started=started) as files:
            files.open(output).write(body)
            files.quarantine(meta["path"], quarantined)
        entry = FileEntry(meta["path"], int(meta["stored_bytes"]), str(meta["sha256"]))
        files.write_manifest(manifest_path(output), self.output_config(), [entry], [output], counts)
        progress.update(docs=len(ids), nbytes=int(meta["bytes_in"]))
        return counts

    # --- after the attributes (driver): the summary the datasheet shows ---------------------------------------

    def finish(self, units: List[WorkUnit], report: RunReport) -> None:
        if self._skip_summary or not report.ok:
            return
        assert self.layout is not None
        hist: Dict[int, int] = {}
        largest: List[List[Any]] = []
        capped: List[List[int]] = []
        for q in range(self.m.partitions):
            _, meta = read_blob(self.layout.clusters(q))
            for size, count in meta["histogram"].items():
                hist[int(size)] = hist.get(int(size), 0) + count
            largest += meta["largest"]
            capped += meta["capped"]
        largest.sort(key=lambda t: (-t[0], t[1]))
        largest = largest[:TOP_CLUSTERS]
        totals = getattr(self, "_totals", {})
        described = self._describe([g for g in [t[1] for t in largest] + [t[0] for t in capped] if g < REFERENCE])
        summary = {
            "set": self.set_name,
            "files": len(self.files),
            "documents": totals.get("documents_in", 0),
            "documents_signed": totals.get("documents_signed", 0),
            "candidate_edges": totals.get("candidate_edges", 0),
            "edges_kept": totals.get("edges_kept", 0),
            "edges_rejected": totals.get("edges_rejected", 0),
            "propagation_rounds": totals.get("propagation_rounds", 0),
            "clusters": sum(hist.values()),
            "duplicates": sum((s - 1) * c for s, c in hist.items()),
            "cluster_sizes": {str(s): hist[s] for s in sorted(hist)},
            "largest": [{"size": size, "found": found, "keeper": described.get(keeper, _reference_doc(keeper))}
                        for size, keeper, found in largest],
            "capped": [{"keeper": described.get(keeper, _reference_doc(keeper)), "found": found, "kept": kept}
                       for keeper, found, kept in sorted(capped, key=lambda t: (-t[1], t[0]))],
            "settings": msgspec.to_builtins(self.m),
        }
        dio.write_bytes_atomic(self.layout.summary(), msgspec.json.format(msgspec.json.encode(summary), indent=2) + b"\n")
        log.info("dedupe: %s near-duplicate cluster(s), %s duplicate(s) marked; summary in %s",
                 f"{summary['clusters']:,}", f"{summary['duplicates']:,}", self.layout.summary())

    def _describe(self, gids: List[int]) -> Dict[int, Dict[str, Any]]:
        """Documents by file, line, id and the start of their text (one pass over each file named)."""
        out: Dict[int, Dict[str, Any]] = {}
        for f in sorted({g >> 32 for g in gids}):
            wanted = {g & 0xFFFFFFFF: g for g in gids if g >> 32 == f}
            seen = 0
            for batch in DocumentsReader(self.files[f]):
                for offset, item in enumerate(batch.items):
                    g = wanted.get(seen + offset)
                    if g is not None:
                        text = "" if isinstance(item, BadLine) else item.text
                        out[g] = {"file": self.files[f], "line": seen + offset + 1, "id": getattr(item, "id", ""),
                                  "excerpt": " ".join(text[: EXCERPT_CHARS * 2].split())[:EXCERPT_CHARS]}
                seen += len(batch.items)
                if seen > max(wanted):
                    break
        return out


# the settings a reference run must share: they decide its signatures, band keys and partitions
_SHARED_SETTINGS = ("shingle", "tokenizer", "ngram", "num_bands", "rows_per_band", "seed", "partitions")


def _reference_doc(gid: int) -> Dict[str, Any]:
    """A keeper from the reference run (its text is not read again)."""
    return {"file": "(reference run)", "line": (gid & 0xFFFFFFFF) + 1, "id": "", "excerpt": ""}


def _sum(counts: List[Dict[str, int]]) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for c in counts:
        for k, v in c.items():
            out[k] = out.get(k, 0) + v
    return out
