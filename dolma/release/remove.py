"""``dolma remove``: take documents out of a published release, rebuilding only the files that hold them.

The documents (ids, a file of ids, or a filter expression over the mixed documents) are found through the lineage
index: each one's output lines (it and its sampled copies) and their token ranges. Only the mixed shards holding
those lines and the token files holding those tokens are rewritten: a shard is its old lines without them, a token
file its old tokens without those ranges, and its index the old rows without theirs, later rows moved up (and the
lines of rows pointing into a rewritten shard renumbered). Every other file keeps its bytes. No decision is made
again: the recorded sampling and dedupe stay as they were, so a removed document's dropped duplicates stay dropped.

The manifests of the rewritten files, ``mixed/mixture.json`` and the token group's first manifest get the new
sizes, checksums and counts (``dropped: removed`` on the mix side); ``removals/NNNN.json`` records what was
asked, what was removed, when, the reason given, and each changed file before and after; the datasheet is written
again with its "Removals" section, and ``release.json`` last. With ``output`` the corrected release goes to a new
folder (unchanged files hard-linked locally, copied server-side on S3) and the original is left as it was;
without, the release is changed in place: the new files are staged, a journal commits them, then they are swapped
in, so that running a killed removal again finishes it (:mod:`dolma.release.remove_journal`).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Literal, Optional, Set, Tuple

import msgspec
import numpy as np

from dolma.core import io as dio
from dolma.core.config import ConfigStruct
from dolma.core.errors import ConfigError
from dolma.core.locks import OutputLocks
from dolma.core.manifest import FileEntry, Manifest
from dolma.core.paths import glob_paths, is_s3, join, split_s3
from dolma.release.lineage import MIXED_DIR, MIXTURE_FILE, fetch_text, file_entry_of
from dolma.release.lookup import (
    REMOVALS_DIR, ChangedFile, Lineage, Output, Removal, RemovedLine, resolve, token_rows,
)
from dolma.release import remove_journal as journal
from dolma.release.verify import RELEASE_MANIFEST, ReleaseManifest

__all__ = ["RemoveConfig", "remove_documents", "run_remove", "Matcher"]

Matcher = Callable[[str, str], Callable[[Any], bool]]
"""``(expression, syntax)`` → whether a document matches, the mix's way (the CLI passes
:func:`dolma.mixers.filters.compile_matcher`'s: the release layer imports no stage)."""

log = logging.getLogger("dolma")

_BLOCK = 1 << 20  # uncompressed bytes per gzip member of a rewritten shard, as the mix writes them
_COUNT_SIDE = ("text_bytes_out", "text_tokens_out")


class RemoveConfig(ConfigStruct):
    path: str = ""
    """The release folder (local or s3://)."""
    ids: List[str] = msgspec.field(default_factory=list)
    """Document ids to remove (a sampled copy's id removes its document, with every copy)."""
    ids_file: Optional[str] = None
    """A file of ids, one per line (local or s3://)."""
    filter: Optional[str] = None
    """Remove every document of the mixed shards this expression matches (reads every shard once)."""
    syntax: Literal["jsonpath", "jq"] = "jsonpath"
    """The syntax of `filter`: jsonpath or jq."""
    reason: str = ""
    """Why (required): recorded in the removal record and the datasheet."""
    output: Optional[str] = None
    """Write the corrected release here (a new folder); default: change the release in place (staged, then swapped
    in: a removal killed half-way is finished by running it again)."""
    report: bool = True
    """Write the datasheet again, with its Removals section (false: leave it, e.g. to write it once after several
    removals with `dolma report`)."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _json(value: Any) -> bytes:
    return msgspec.json.format(msgspec.json.encode(value), indent=2) + b"\n"


class _Plan:
    """What one removal takes out: output lines per shard, token ranges per token file."""

    def __init__(self) -> None:
        self.documents: List[str] = []
        self.not_in_output: Dict[str, str] = {}
        self.outputs: List[Output] = []
        self.lines: Dict[str, Set[int]] = {}
        self.ranges: Dict[str, Set[Tuple[int, int]]] = {}

    def add(self, out: Output) -> None:
        self.outputs.append(out)
        self.lines.setdefault(out.shard, set()).add(out.line)
        for t in out.tokens:
            self.ranges.setdefault(t.file, set()).add((t.start, t.end))


def _plan(lineage: Lineage, ids: List[str]) -> _Plan:
    plan = _Plan()
    for doc_id in dict.fromkeys(ids):
        decisions = lineage.decisions(doc_id)
        if not decisions:
            base = next((r[2] for r in lineage.rows(doc_id) if r[0] == "O"), None)
            decisions = lineage.decisions(base) if base is not None else []
            doc_id = base if base is not None else doc_id
        if not decisions:
            raise ConfigError(f"{lineage.root}: no document {doc_id!r} in the release's lineage index")
        if doc_id in plan.documents:
            continue
        current = [o for d in decisions for o in lineage.outputs(d) if o.removed_by is None]
        if not current:
            removed = lineage.removed_by(doc_id)
            plan.not_in_output[doc_id] = (f"removed by removal {removed}" if removed is not None
                                          else "; ".join(sorted({d.decision for d in decisions})))
            continue
        plan.documents.append(doc_id)
        for out in current:
            plan.add(out)
    return plan


def _ids_by_filter(root: str, expression: str, syntax: str, compile: Matcher) -> List[str]:
    """The documents whose output lines in any mixed shard ``expression`` matches (a sampled copy: its document)."""
    matches = compile(expression, syntax)
    found: List[str] = []
    for shard in sorted(glob_paths(join(root, MIXED_DIR, "*.jsonl*"))):
        if shard.endswith(".manifest.json"):
            continue
        with dio.open_read(shard) as f:
            for raw in f:
                doc = msgspec.json.decode(raw)
                if matches(doc):
                    found.append(doc["id"])
    return found


class _Writer:
    """Where the new release's files go (the new folder, or in place the staging folder), and the record of what
    changed."""

    def __init__(self, root: str, output: Optional[str]) -> None:
        self.root = root
        self.out = (output or root).rstrip("/")
        self.folder = self.out if output is not None else journal.staging(root)
        self.changed: Dict[str, ChangedFile] = {}
        self.entries: Dict[str, FileEntry] = {}  # new entries of changed files, by release-relative path

    def current(self, rel: str) -> str:
        """Where ``rel`` is to be read now: as this removal wrote it, or as it was."""
        return join(self.folder if rel in self.entries else self.root, rel)

    def write(self, rel: str, data: bytes, before: Optional[FileEntry]) -> FileEntry:
        """``data`` as the stored bytes of ``rel`` (no compression added: a ``.part`` name keeps it raw)."""
        path = join(self.folder, rel)
        with dio.AtomicWriter(path, compress=False) as w:
            w.write(data)
        entry = FileEntry(rel, len(data), w.sha256 or "")
        self.entries[rel] = entry
        self.changed[rel] = ChangedFile(rel, before, entry)
        return entry


def _shard_lines(path: str) -> List[bytes]:
    return fetch_text(path).splitlines(keepends=True)


def _compressor(extension: str, level: int) -> Callable[[bytes], bytes]:
    """One block into a stand-alone gzip member (no time stamp) or zstd frame, as the mix writes its shards."""
    if extension.endswith(".gz"):
        from isal import igzip

        return lambda data: igzip.compress(data, compresslevel=level, mtime=0)
    if extension.endswith(".zst"):
        import zstandard

        return zstandard.ZstdCompressor(level=3).compress
    return lambda data: data


def _gzip_blocks(lines: List[bytes], extension: str, level: int) -> bytes:
    """Lines as the mix stores them: blocks of whole lines of about 1 MiB, each compressed on its own."""
    compress = _compressor(extension, level)
    out: List[bytes] = []
    block: List[bytes] = []
    size = 0
    for line in lines:
        if block and size + len(line) > _BLOCK:
            out.append(compress(b"".join(block)))
            block, size = [], 0
        block.append(line)
        size += len(line)
    if block or not out:
        out.append(compress(b"".join(block)))
    return b"".join(out)


def remove_documents(config: RemoveConfig, compile: Optional[Matcher] = None) -> Removal:
    """Carry out the removal ``config`` asks for, holding the lock of the folder it writes; its record. ``compile``
    evaluates ``filter``."""
    if not config.path:
        raise ConfigError("missing the release folder: dolma remove DIR --ids ID ... --reason WHY")
    if not config.reason.strip():
        raise ConfigError("`reason`: say why these documents are removed (it goes into the removal record)")
    root = config.path.rstrip("/")
    if config.output is not None and config.output.rstrip("/") == root:
        raise ConfigError("`output`: give a new folder, or leave it out to change the release in place")
    if not dio.exists(join(root, RELEASE_MANIFEST)):
        raise ConfigError(f"{root}: no {RELEASE_MANIFEST} here; is this a release folder?")
    if config.output is not None and dio.exists(join(root, journal.JOURNAL)):
        raise ConfigError(f"{root}: an in-place removal was killed half-way ({journal.JOURNAL}); finish it first by "
                          "running it again (without --output)")
    out = (config.output or root).rstrip("/")
    created = not is_s3(out) and not os.path.isdir(out)
    if created:
        os.makedirs(out)
    try:
        with OutputLocks([out]):  # one writer per release
            return _remove(config, root, compile)
    except BaseException:
        if created and not os.listdir(out):  # refused before writing anything: leave no empty folder
            os.rmdir(out)
        raise


def _request(config: RemoveConfig) -> journal.Request:
    return journal.Request(ids=list(config.ids), ids_file=config.ids_file, filter=config.filter, syntax=config.syntax,
                           reason=config.reason, report=config.report)


def _recover(config: RemoveConfig, root: str) -> Optional[Removal]:
    """Before an in-place removal: finish one killed after its commit (its record, when this run asks for the same
    removal), or delete what one killed before it staged."""
    found = journal.read_journal(root)
    if found is None:
        deleted = journal.roll_back(root)
        if deleted:
            log.warning("remove: deleted %d file(s) staged by a removal killed before its commit (it did not "
                        "happen)", deleted)
        return None
    log.warning("remove: finishing removal %d, killed after its commit", found.number)
    _swap_in(root, found)
    record = msgspec.json.decode(fetch_text(join(root, REMOVALS_DIR, f"{found.number:04d}.json")), type=Removal)
    return record if found.request == _request(config) else None


def _swap_in(root: str, committed: journal.Journal) -> None:
    """The committed removal's staged files moved in, then the datasheet and ``release.json`` written, then the
    journal deleted. ``release.json`` is still the one before the removal until its last step (or already the new
    one, whose listing of the unchanged files is the same)."""
    release = msgspec.json.decode(fetch_text(join(root, RELEASE_MANIFEST)), type=ReleaseManifest)
    journal.swap(root, committed)
    if committed.request.report:
        _write_report(root, release)
    _write_release(root, release, {e.path: e for e in release.files}, {e.path: e for e in committed.files})
    journal.finish(root)


def _remove(config: RemoveConfig, root: str, compile: Optional[Matcher]) -> Removal:
    started = time.monotonic()
    if config.output is None:
        finished = _recover(config, root)
        if finished is not None:
            return finished
    lineage = Lineage(root)
    release_bytes = fetch_text(join(root, RELEASE_MANIFEST))
    release = msgspec.json.decode(release_bytes, type=ReleaseManifest)
    ids = list(config.ids)
    if config.ids_file:
        ids += [line.strip() for line in fetch_text(config.ids_file).decode("utf-8").splitlines() if line.strip()]
    if config.filter:
        if compile is None:
            raise ConfigError("`filter`: no expression evaluator given (run it through `dolma remove`)")
        ids += _ids_by_filter(root, config.filter, config.syntax, compile)
    if not ids:
        raise ConfigError("nothing to remove: give --ids, --ids_file or --filter")
    plan = _plan(lineage, ids)
    writer = _Writer(root, config.output)
    listed = {e.path: e for e in release.files}
    removed_lines = _rewrite_shards(lineage, plan, writer, listed)
    _rewrite_tokens(lineage, plan, writer, listed)
    number = len(lineage.removals) + 1
    record = Removal(
        number=number, created=_now(), reason=config.reason, requested=list(dict.fromkeys(ids)),
        documents=plan.documents, not_in_output=plan.not_in_output, lines=removed_lines,
        files=sorted(writer.changed.values(), key=lambda c: c.path),
        release_before=FileEntry(RELEASE_MANIFEST, len(release_bytes), _sha(release_bytes)),
    )
    record_rel = f"{REMOVALS_DIR}/{number:04d}.json"
    writer.write(record_rel, _json(record), None)
    if config.output is not None:
        _copy_unchanged(root, writer.out, listed, set(writer.entries))
        if config.report:
            _write_report(writer.out, release)
        _write_release(writer.out, release, listed, writer.entries)
    else:  # the commit point: from here a rerun finishes this removal
        committed = journal.Journal(number=number, request=_request(config), files=list(writer.entries.values()))
        journal.commit(root, committed)
        _swap_in(root, committed)
    log.info("remove: %d document(s), %d output line(s), %d file(s) rewritten in %.1fs", len(plan.documents),
             len(removed_lines), len(record.files), time.monotonic() - started)
    return record


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _rewrite_shards(lineage: Lineage, plan: _Plan, writer: _Writer, listed: Dict[str, FileEntry]) -> List[RemovedLine]:
    root = lineage.root
    removed: List[RemovedLine] = []
    by_output = {(o.shard, o.line): o for o in plan.outputs}
    mixture_rel = f"{MIXED_DIR}/{MIXTURE_FILE}"
    mixture = msgspec.json.decode(fetch_text(join(root, mixture_rel)))
    for shard in sorted(plan.lines):
        path = resolve(root, shard)
        manifest_rel = shard + ".manifest.json"
        manifest = msgspec.json.decode(fetch_text(resolve(root, manifest_rel)), type=Manifest)
        lines = _shard_lines(path)
        gone = plan.lines[shard]
        if max(gone) > len(lines):
            raise ConfigError(f"{shard}: the lineage index points at line {max(gone)}, but it holds {len(lines)}")
        delta: Dict[str, int] = {}
        kept_lines = []
        for n, raw in enumerate(lines, start=1):
            if n not in gone:
                kept_lines.append(raw)
                continue
            out = by_output[(shard, n)]
            doc = msgspec.json.decode(raw)
            if doc.get("id") != out.id:
                raise ConfigError(f"{shard}:{n}: holds {doc.get('id')!r}, the lineage index says {out.id!r}")
            removed.append(RemovedLine(out.id, out.base_id, shard, n, len(raw), out.tokens))
            _bump(delta, "documents_out", -1)
            _bump(delta, "bytes_out", -len(raw))
            _bump(delta, "documents_removed", 1)
            if out.id == out.base_id:
                _bump(delta, "documents_kept", -1)
                _bump(delta, "dropped: removed", 1)
            else:
                _bump(delta, "copies_added", -1)
            if "text_bytes_out" in manifest.counts:
                text = doc.get("text", "")
                _bump(delta, "text_bytes_out", -len(text.encode("utf-8")))
                _bump(delta, "text_tokens_out", -len(text.split()))
        extension = shard[shard.index(".jsonl"):]
        level = int(manifest.config.get("gzip_level", 2))
        entry = writer.write(shard, _gzip_blocks(kept_lines, extension, level), listed.get(shard))
        manifest.outputs = [FileEntry(manifest.outputs[0].path, entry.bytes, entry.sha256)]
        _apply(manifest.counts, delta)
        writer.write(manifest_rel, _json(manifest), listed.get(manifest_rel))
        stream = mixture["streams"][shard.rsplit("/", 1)[-1].rsplit("-", 1)[0]]
        _apply(stream["counts"], delta)
    total = sum(s["counts"].get("bytes_out", 0) for s in mixture["streams"].values())
    for s in mixture["streams"].values():
        s["share_of_bytes_out"] = round(s["counts"].get("bytes_out", 0) / total, 6) if total else 0.0
    data = msgspec.json.format(msgspec.json.encode(mixture), indent=2) + b"\n"
    writer.write(mixture_rel, data, listed.get(mixture_rel))
    return removed


def _bump(counts: Dict[str, int], key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


def _apply(counts: Dict[str, int], delta: Dict[str, int]) -> None:
    for k, v in delta.items():
        counts[k] = counts.get(k, 0) + v


def _rewrite_tokens(lineage: Lineage, plan: _Plan, writer: _Writer, listed: Dict[str, FileEntry]) -> None:
    """Token files holding removed ranges lose them; the index of every token file of a group that read a rewritten
    shard is renumbered where its rows point past a removed line."""
    root = lineage.root
    shards = set(plan.lines)
    removed_before = {s: sorted(lines) for s, lines in plan.lines.items()}
    new_shards = {s: writer.entries[s] for s in shards}
    group_totals: Dict[str, Dict[str, int]] = {}  # first token file of a group -> its totals' change
    if lineage.index.token_groups:
        groups = [g for g, read in lineage.index.token_groups.items() if shards & set(read)]
        groups += sorted({npy.rsplit("-", 1)[0] for npy in plan.ranges} - set(groups))
        manifests = sorted(p for g in groups for p in glob_paths(join(root, g + "-*.npy.manifest.json")))
    else:  # an index made before it recorded the groups: every token file's manifest says what it read
        manifests = sorted(glob_paths(join(root, "tokens", "*.npy.manifest.json")))
    for manifest_path in manifests:
        manifest = msgspec.json.decode(fetch_text(manifest_path), type=Manifest)
        read = {lineage.relative(e.path) for e in manifest.inputs}
        npy = lineage.relative(manifest_path[: -len(".manifest.json")])
        if not (read & shards) and npy not in plan.ranges:
            continue
        csv_rel = npy[: -len(".npy")] + ".csv.gz"
        rows = token_rows(resolve(root, csv_rel))
        cut = plan.ranges.get(npy, set())
        new_rows: List[Tuple[int, int, str, str, int]] = []
        shift = 0
        keep: List[Tuple[int, int]] = []
        documents = 0
        for start, end, doc_id, src, loc in rows:
            if (start, end) in cut:
                shift += end - start
                documents += 1
                continue
            keep.append((start, end))
            rel_src = lineage.relative(src)
            if rel_src in removed_before:
                loc -= _count_below(removed_before[rel_src], loc)
            new_rows.append((start - shift, end - shift, doc_id, src, loc))
        if len(cut) != documents:
            raise ConfigError(f"{csv_rel}: {len(cut) - documents} removed token range(s) are not rows of this index")
        if new_rows == rows:
            continue
        dtype = np.dtype(manifest.config["dtype"])
        csv_entry = writer.write(csv_rel, _csv_gz(new_rows), listed.get(csv_rel))
        outputs = {e.path.rsplit("/", 1)[-1]: e for e in manifest.outputs}
        npy_name = npy.rsplit("/", 1)[-1]
        if cut:
            tokens = np.frombuffer(fetch_text(resolve(root, npy)), dtype=dtype)
            data = b"".join(tokens[s:e].tobytes() for s, e in _merge(keep))
            npy_entry = writer.write(npy, data, listed.get(npy))
            outputs[npy_name] = FileEntry(outputs[npy_name].path, npy_entry.bytes, npy_entry.sha256)
        csv_name = csv_rel.rsplit("/", 1)[-1]
        outputs[csv_name] = FileEntry(outputs[csv_name].path, csv_entry.bytes, csv_entry.sha256)
        manifest.outputs = [outputs[e.path.rsplit("/", 1)[-1]] for e in manifest.outputs]
        manifest.inputs = [_new_input(lineage, e, new_shards) for e in manifest.inputs]
        if cut:
            _bump(manifest.counts, "documents", -documents)
            _bump(manifest.counts, "tokens", -shift)
            _bump(manifest.counts, "documents_removed", documents)
            _bump(manifest.counts, "tokens_removed", shift)
            first = npy.rsplit("-", 1)[0] + "-00000.npy"
            totals = group_totals.setdefault(first, {})
            _bump(totals, "documents_out", -documents)
        rel_manifest = lineage.relative(manifest_path)
        writer.write(rel_manifest, _json(manifest), listed.get(rel_manifest))
    for first, delta in group_totals.items():
        rel_manifest = first + ".manifest.json"
        manifest = msgspec.json.decode(fetch_text(writer.current(rel_manifest)), type=Manifest)
        manifest.inputs = [_new_input(lineage, e, new_shards) for e in manifest.inputs]
        _apply(manifest.counts, delta)
        before = writer.changed[rel_manifest].before if rel_manifest in writer.changed else listed.get(rel_manifest)
        writer.write(rel_manifest, _json(manifest), before)


def _new_input(lineage: Lineage, entry: FileEntry, new_shards: Dict[str, FileEntry]) -> FileEntry:
    new = new_shards.get(lineage.relative(entry.path))
    return entry if new is None else FileEntry(entry.path, new.bytes, new.sha256)


def _count_below(sorted_lines: List[int], line: int) -> int:
    import bisect

    return bisect.bisect_left(sorted_lines, line)


def _merge(ranges: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """Adjacent kept ranges joined, so the tokens are copied in few slices."""
    merged: List[Tuple[int, int]] = []
    for s, e in sorted(ranges):
        if merged and merged[-1][1] == s:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def _csv_gz(rows: List[Tuple[int, int, str, str, int]]) -> bytes:
    """A token index as the tokens stage writes it (csv rows, gzip level 2, no time stamp)."""
    import csv

    from isal import igzip

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return igzip.compress(buffer.getvalue().encode("utf-8", "surrogateescape"), compresslevel=2, mtime=0)


def _copy_unchanged(root: str, out: str, listed: Dict[str, FileEntry], skip: Set[str]) -> None:
    """Every listed file the removal does not rewrite, into the new release: a hard link (a copy across file
    systems) locally, a server-side copy on S3."""
    for rel in listed:
        if rel in skip:
            continue
        src, dst = join(root, rel), join(out, rel)
        if is_s3(dst):
            from dolma.core import s3

            if is_s3(src):
                bucket, key = split_s3(src)
                dbucket, dkey = split_s3(dst)
                s3.client().copy_object(Bucket=dbucket, Key=dkey, CopySource={"Bucket": bucket, "Key": key})
            else:
                with open(src, "rb") as f, dio.AtomicWriter(dst, compress=False) as w:
                    shutil.copyfileobj(f, w, 1 << 20)
        elif is_s3(src):
            with dio.open_raw(src) as f, dio.AtomicWriter(dst, compress=False) as w:
                shutil.copyfileobj(f, w, 1 << 20)
        else:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)


def _write_report(out: str, release: ReleaseManifest) -> None:
    from dolma.release.report import ReportConfig, write_report

    recipe = release.config if isinstance(release.config, dict) else {}
    keys = dict(recipe.get("report") or {})
    title = keys.pop("title", None) or f"{recipe.get('name', 'release')}: corpus release datasheet"
    report = msgspec.convert({"path": out, "output": join(out, "report"), "title": title, **keys}, ReportConfig)
    write_report(report)


def _write_release(out: str, release: ReleaseManifest, listed: Dict[str, FileEntry],
                   entries: Dict[str, FileEntry]) -> None:
    """``release.json``: the old entries, the rewritten files' new ones, the report's files as written now."""
    files = dict(listed)
    files.update(entries)
    for path in glob_paths(join(out, "report", "**")):
        rel = path[len(out) + 1:]
        files[rel] = file_entry_of(path, rel)
    manifest = msgspec.structs.replace(release, created=_now(), files=[files[k] for k in sorted(files)])
    dio.write_bytes_atomic(join(out, RELEASE_MANIFEST), _json(manifest))


def run_remove(config: RemoveConfig, compile: Optional[Matcher] = None) -> int:
    record = remove_documents(config, compile)
    out = config.output or config.path
    print(f"{out}: removal {record.number}: {len(record.documents)} document(s), {len(record.lines)} output line(s); "
          f"{len(record.files)} file(s) rewritten; record {out.rstrip('/')}/{REMOVALS_DIR}/{record.number:04d}.json")
    for doc_id, why in record.not_in_output.items():
        print(f"  {doc_id}: not in the release's output ({why})", file=sys.stderr)
    return 0
