"""The dedupe stage: mark documents, paragraphs or paragraph n-grams seen earlier in the corpus.

Determinism: files are taken in sorted order (the order of ``documents`` entries, each glob's matches sorted)
and lines in file order; the first occurrence of a key is kept and every later one is marked, whatever the
number of processes. Each work unit (one file) runs in three steps:

1. read and hash: decode the file, cut it into keys and hash them (xxh3-64) — in parallel across workers;
2. test-and-set: wait for the file's turn (every earlier file has done its step 2), then probe and insert the
   file's distinct keys into the one filter, whose bits are in shared memory — numpy-vectorised; a key's later
   occurrences in the file are marked without probing;
3. write: build the attributes and publish them atomically with a manifest — in parallel again.

Only step 2 is sequential. A file that fails before its turn passes the turn on, and every later file then
fails too (its result would depend on the missing keys); the filter is saved only when every file succeeded,
and a rerun first re-inserts the keys of files already done, so it gives the same bytes as one clean run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import hashlib
import itertools
import logging
import mmap
import multiprocessing
import operator
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

import msgspec
import numpy as np
import xxhash

from dolma.core import io as dio
from dolma.core.errors import ConfigError, DolmaError, InputError, UnitsFailed
from dolma.core.longlines import release_free_memory, reuse_freed_memory
from dolma.core.runner import work_processes
from dolma.core.units import MiB, Progress, Resources, RunReport, Stage, WorkUnit
from dolma.core.manifest import FileEntry, config_hash, manifest_path, new_manifest, read_manifest, write_manifest, written
from dolma.core.outputs import UnitOutputs, input_entry
from dolma.core.paths import has_glob
from dolma.core.records import QUARANTINE_SUFFIX, BadLine, DocumentRecord, DocumentsReader
from dolma.dedup.bloom import (
    BloomFilter,
    BloomParams,
    describe,
    fill_false_positive_rate,
    key_hashes,
    with_h2,
    inserted_keys,
    suggested_count,
)
from dolma.dedup import kernels
from dolma.dedup.config import DedupeConfig
from dolma.dedup.attributes import (
    Value,
    attribute_chunks,
    attributes_path,
    documents_files,
    format_scored_spans,
    format_unit_spans,
)
from dolma.dedup.first_occurrence import Firsts, side_file, side_path
from dolma.dedup.keys import KeyPath, ngram_keys, utf8_words, word_boundary, words
from dolma.dedup.ngrams import ngram_hashes
from dolma.dedup.paragraphs import split_paragraphs, unicode_space

__all__ = ["DedupeStage", "DedupeError", "Plan", "resolve_params", "RATE_TOLERANCE"]

RATE_TOLERANCE = 10.0
"""A run fails when its filter's false positive rate, estimated from the bits set, exceeds the rate asked for
(`desired_false_positive_rate`) by more than this factor."""

log = logging.getLogger("dolma")

_ENCODER = msgspec.json.Encoder()
_ID = operator.attrgetter("id")
_RECORD_FIELDS = set(DocumentRecord.__struct_fields__)


@dataclass(frozen=True)
class Plan:
    """A unit's place in the input order, its output, and whether it is only replayed (already done)."""

    index: int
    output: str
    replay: bool = False


class DedupeError(DolmaError):
    """A file could not take its turn; never retried, since the turn has passed."""



@dataclass
class _FileKeys:
    """Everything step 2 and 3 need from a file: one entry per line, one row per key."""

    ids: List[str] = field(default_factory=list)
    bad: List[BadLine] = field(default_factory=list)
    text_len: List[int] = field(default_factory=list)  # per line, in code points (document mode)
    text_bytes: List[int] = field(default_factory=list)  # per line, UTF-8 bytes (document mode)
    hashes: List[np.ndarray] = field(default_factory=list)
    owner: List[np.ndarray] = field(default_factory=list)  # key → line index (documents) or paragraph row
    para_doc: List[np.ndarray] = field(default_factory=list)  # paragraph row → line index
    para_start: List[np.ndarray] = field(default_factory=list)
    para_end: List[np.ndarray] = field(default_factory=list)
    para_bytes: List[np.ndarray] = field(default_factory=list)
    part: List[np.ndarray] = field(default_factory=list)  # key → its partition (when every partition is kept)
    long_text: bool = False  # a text was cut into pieces (longer than _PIECE_CHARS)
    rows: int = 0  # paragraphs so far
    lines: int = 0
    nbytes: int = 0
    good: int = 0

    def all_hashes(self) -> np.ndarray:
        """The keys' hashes: ``(n, 2)`` for exact dedupe, the ``h1`` column alone for a Bloom filter (its ``h2`` is
        derived where it is needed)."""
        if not self.hashes:
            return np.zeros(0, dtype=np.uint64)
        return self.column("hashes", np.uint64)

    def column(self, name: str, dtype: Any = np.int64) -> np.ndarray:
        """The per-key or per-paragraph column ``name`` (``hashes``, ``owner``, ``para_doc``...) as one array, kept
        so: the batches' pieces are freed as soon as it is joined, so a file's columns are never held twice (a very
        large document has millions of paragraphs)."""
        parts: List[np.ndarray] = getattr(self, name)
        if len(parts) != 1:
            parts[:] = [self.cat(parts, dtype)]
            if self.long_text:  # the pieces, a few per piece of the text, lie scattered on the C heap between
                release_free_memory()  # arrays still held: glibc keeps their pages unless asked
        return parts[0]

    @staticmethod
    def cat(parts: List[np.ndarray], dtype: Any = np.int64) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


class _Turns:
    """Hands the test-and-set step from one file to the next, across the forked worker processes (a fork context's
    locks are unnamed semaphores: no resource tracker process is started for them)."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self.cond = ctx.Condition()
        self.next = ctx.RawValue("q", 0)
        self.failed = ctx.RawValue("q", -1)  # index of the first file that failed before its turn

    def wait(self, index: int) -> int:
        """Block until it is ``index``'s turn; the index of an earlier failed file, or -1."""
        with self.cond:
            while self.next.value != index:
                self.cond.wait(1.0)
            return self.failed.value

    def done(self, index: int, failed: bool = False) -> None:
        with self.cond:
            if failed and self.failed.value < 0:
                self.failed.value = index
            if self.next.value == index:
                self.next.value = index + 1
            self.cond.notify_all()


class DedupeStage(Stage[Plan]):
    name = "dedupe"
    # files take turns on the shared filter: a file whose worker died may hold the turn, or have set some of its
    # keys, so the run stops and a rerun replays it from the start (see `_Turns`)
    rerun_lost_units = False
    ordered = True  # files take the filter in input order, so the marks are deterministic
    fork_workers = True  # the driver holds only the filter's shared memory, which a forked worker maps as is

    @property
    def resources(self) -> Resources:  # type: ignore[override]
        """384 MB (~280 MB measured at the peak of a dedupe run) and 1.9-2.1 bytes per byte of a document measured
        above that while it deduplicated one 50 or 200 MB document (paragraphs with a Bloom filter, the quickstart's
        exact paragraphs, documents; bench/large_document_memory.py): 2.5."""
        return Resources.for_documents(384 * MiB, 2.5, self.config.max_document_bytes)

    def __init__(self, config: DedupeConfig) -> None:
        d = config.dedupe
        if not config.documents:
            raise ConfigError("missing required key `documents`: give at least one documents path or glob")
        if (d.documents is None) == (d.paragraphs is None):
            raise ConfigError("set exactly one of `dedupe.documents` and `dedupe.paragraphs`")
        section: Any = d.documents if d.documents is not None else d.paragraphs
        self.key: Optional[KeyPath] = None
        if d.documents is not None:
            self.key = KeyPath(d.documents.key)
        self.ngram = d.paragraphs.by_ngram if d.paragraphs is not None and d.paragraphs.by_ngram else None
        if self.ngram is not None and self.ngram.ngram_length <= 0:
            self.ngram = None  # Dolma's default `by_ngram: {ngram_length: 0}` means exact paragraphs
        suffix = f"_{d.partition_index}" if d.num_partitions > 1 else ""  # Dolma names each partition's output
        self.set_name = (d.name or section.attribute_name) + suffix
        self.attribute = section.attribute_name + suffix
        self.config = config
        self.exact = d.exact
        for pattern in config.documents:
            _check_can_sit_in(pattern, d.document_dir)
        # exact dedupe keeps no filter: its keys are 128-bit hashes, compared by sorting; a dry run looks at no file
        # (the filter may be on another machine): its shape comes from the config alone
        self._params: Optional[BloomParams] = (
            BloomParams(m=0, k=0) if d.exact else planned_params(config) if config.dryrun else resolve_params(config)
        )
        self.insert = not config.bloom_filter.read_only
        self.split_all = False  # keep every partition's keys, each with its partition (the one-pass flow)
        self.order: List[str] = []
        self.turns: Optional[_Turns] = None
        self._filter: Optional[BloomFilter] = None
        self._shm: Any = None
        self._covered: Optional[Set[str]] = None  # documents files whose keys the saved filter already holds
        self._decided: Dict[str, Tuple[np.ndarray, int]] = {}
        self._record_type: Any = _record_type(self.key)

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_filter=None, _shm=None, _decided={}, _record_type=None)
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._record_type = _record_type(self.key)

    # --- planning (in the parent) -------------------------------------------------------------------------

    def units(self) -> List[WorkUnit]:
        d = self.config.dedupe
        files = documents_files(self.config.documents)
        self.order = files
        self._inputs_hash = hashlib.sha256("\n".join(files).encode()).hexdigest()
        units = []
        for i, path in enumerate(files):
            out = attributes_path(path, d.document_dir, self.set_name)
            units.append(
                WorkUnit(key=path, size=dio.schedule_size(path), payload=Plan(i, out), outputs=(out,), inputs=(path,))
            )
        return units

    def output_config(self) -> Dict[str, Any]:
        """What determines an output's content, and so its manifest's hash: the settings, the filter's shape and
        starting file, and every input in order (a file's marks depend on all files before it)."""
        d = self.config.dedupe
        return {
            "stage": self.name,
            "set": self.set_name,
            "attribute": self.attribute,
            "key": self.key.text if self.key else None,
            "paragraph_separator": d.paragraphs.paragraph_separator if d.paragraphs else None,
            "by_ngram": msgspec.to_builtins(self.ngram) if self.ngram else None,
            "skip_empty": d.skip_empty,
            "min_length": d.min_length,
            "min_words": d.min_words,
            "partition": [d.partition_index, d.num_partitions, d.file_partition],
            "bloom_filter": None if self.exact else {
                "m": self.params.m, "k": self.params.k, "seed": self.params.seed,
                "file": self.config.bloom_filter.file, "read_only": not self.insert},
            "exact": self.exact,
            **({"first_occurrences": True} if self.exact else {}),  # exact runs write them beside the attributes
            "on_error": self.config.on_error,
            "inputs_sha256": self._inputs_hash,
            "deterministic": True,
        }

    def is_done(self, unit: WorkUnit) -> bool:
        if unit.payload.replay:  # done, but its keys must go into the filter again
            return False
        out = unit.payload.output
        manifest = read_manifest(manifest_path(out))
        return manifest is not None and manifest.config_hash == config_hash(self.output_config()) and dio.exists(out)

    # --- around the units (driver): the filter is loaded, shared with the workers, and saved ----------------

    @property
    def params(self) -> BloomParams:
        """The filter's shape; only a dry run, which runs nothing, may leave it unknown."""
        if self._params is None:
            raise DolmaError("the Bloom filter's shape is not known on a dry run")
        return self._params

    def describe_filter(self) -> str:
        """The filter's shape, for the plan line (a dry run may know it only as the existing file's)."""
        if self._params is None:
            return f"shaped by the existing {self.config.bloom_filter.file} (not opened on a dry run)"
        return describe(self._params)

    def describe_plan(self) -> str:
        return f"{Stage.describe_plan(self)}; Bloom filter {self.describe_filter()}"

    def extra_outputs(self) -> List[str]:
        """The Bloom filter file, when this run saves it."""
        return [self.config.bloom_filter.file] if self.insert and self.config.bloom_filter.file else []

    @contextlib.contextmanager
    def running(self, units: List[WorkUnit]) -> Iterator[Optional[List[WorkUnit]]]:
        """Decide what runs (done files are replayed into the filter, in order, so later files see the same
        filter as in one clean run), then hold the filter — in shared memory when worker processes share it —
        for the run."""
        config, bloom_file = self.config, self.config.bloom_filter.file or ""
        # a run killed while saving the filter left its temporary file: remove that one only (a neighbouring
        # partition's filter may be being written now); the executor cleans the attribute folders
        dio.remove_stale_temps_of([bloom_file])
        todo: List[WorkUnit] = []
        done = 0
        for unit in units:
            if not config.ignore_existing and self.is_done(unit):
                done += 1
                if self.insert:
                    todo.append(dataclasses.replace(unit, payload=dataclasses.replace(unit.payload, replay=True)))
            else:
                todo.append(unit)
        self._covered = _filter_inputs(bloom_file, self.output_config()) if self.insert else None
        if done == len(units) and (
            not self.insert or (self._covered is not None and {u.key for u in units} <= self._covered)
        ):
            log.info("dedupe: all %d file(s) already done; nothing to do", len(units))
            yield None
            return
        if done == len(units):
            log.info("dedupe: all %d file(s) done but the Bloom filter was not saved with them; rebuilding it", done)
        elif done:
            log.info("dedupe: %d of %d file(s) already done; their keys are re-inserted, in order", done, len(units))
        shared = work_processes(config) > 1 and len(todo) > 1
        reuse_freed_memory()  # before the workers fork: they inherit it
        if shared:
            self._preload()
        try:
            if shared:
                # an anonymous shared mapping, which the forked workers inherit: unlike a named SharedMemory segment
                # it needs no resource tracker (a Python process of its own, ~40 ms of CPU) and leaves nothing behind
                self._shm = mmap.mmap(-1, self.params.nbytes)
                self._filter = BloomFilter(self.params, self._shm)
                if self.insert:
                    self.turns = _Turns()
            else:
                self._filter = BloomFilter.in_memory(self.params)
            if dio.exists(bloom_file):
                self._filter.load(bloom_file)
            log.info("dedupe: Bloom filter %s, %s", describe(self.params), "read-write" if self.insert else "read-only")
            yield todo
        finally:
            self._filter = None
            if self._shm is not None:
                self._shm.close()
                self._shm = None

    def _preload(self) -> None:
        """Import here what every worker imports on its first file (the gzip codec; for n-grams the word pattern's
        ``regex``, compiled), so that the forked workers inherit it instead of each importing it (~10 and ~30 ms)."""
        from isal import igzip, isal_zlib  # noqa: F401

        if self.ngram is not None:
            word_boundary()

    def finish(self, units: List[WorkUnit], report: RunReport) -> None:
        """Save the filter once every file succeeded, then its manifest: the documents files whose keys it holds.
        Written after the filter, so a run killed in between leaves a filter without a manifest, which the next
        run rebuilds instead of trusting."""
        if not self.insert:
            return
        if not report.ok:
            log.warning("dedupe: some files failed, so the Bloom filter was not saved; a rerun redoes them in order")
            return
        assert self._filter is not None
        bloom_file = self.config.bloom_filter.file or ""
        fill = self._check_rate(report.totals().get("bloom_keys", 0))
        saved = written(self._filter.save(bloom_file))
        assert saved is not None
        earlier = self._covered or set()
        inputs = [FileEntry(path, 0, "") for path in sorted(earlier - {u.key for u in units})]
        inputs += [FileEntry(u.key, u.size, "") for u in units]
        manifest = new_manifest("dedupe", self.output_config(), inputs, [saved], {"files": len(inputs)}, 0.0, self.config)
        write_manifest(manifest_path(saved.path), manifest)
        log.info("dedupe: saved the Bloom filter to %s (%.1f%% of bits set)", bloom_file, 100 * fill)

    def _check_rate(self, offered: int) -> float:
        """The fraction of the filter's bits set. Fails the run when the filter, as filled, gives false positives
        well above the rate asked for: every key inserted from now on (and every key of this run that came after the
        filter filled) risks being marked a duplicate it is not. Paragraph n-grams insert many keys per document, so a filter sized from a count of
        documents is the usual cause."""
        bf = self.config.bloom_filter
        assert self._filter is not None
        fill = self._filter.fill_ratio()
        rate = fill_false_positive_rate(fill, self.params.k)
        # the filter may hold keys of earlier runs (estimated from its bits); a saturated filter's estimate is
        # useless, so the keys this run offered count too
        keys = max(inserted_keys(fill, self.params), offered)
        asked = bf.desired_false_positive_rate
        log.info("dedupe: Bloom filter %.1f%% full, about %s keys, false positive rate %.2g", 100 * fill, f"{keys:,}", rate)
        if asked > 0 and rate > RATE_TOLERANCE * asked:
            print(
                f"dolma dedupe: the Bloom filter is {100 * fill:.1f}% full after about {keys:,} keys were inserted, so "
                f"its false positive rate is {rate:.2g}, not the {asked:g} asked for (later keys may be marked as "
                f"duplicates they are not); set `bloom_filter.estimated_doc_count: {suggested_count(keys)}` (the keys "
                f"inserted{', n-grams' if self.ngram else ''}, not documents) and use a new `bloom_filter.file`; "
                "the filter was not saved",
                file=sys.stderr,
            )
            raise UnitsFailed("Bloom filter overfull")
        if asked <= 0 and rate > 0.01:
            log.warning(
                "dedupe: the Bloom filter's false positive rate is %.2g (%.1f%% full, about %s keys); a larger "
                "`bloom_filter.size_in_bytes` lowers it", rate, 100 * fill, f"{keys:,}",
            )
        return fill

    # --- work (in a worker) -------------------------------------------------------------------------------

    def run(self, unit: WorkUnit, progress: Progress) -> Dict[str, int]:
        started = time.monotonic()
        plan: Plan = unit.payload
        if unit.key not in self._decided:
            try:
                keys, reader = self._read(unit.key, progress)
            except BaseException as exc:
                self._turn_failed(plan.index)
                if isinstance(exc, DolmaError) and not isinstance(exc, (InputError, ConfigError)):
                    raise DedupeError(str(exc)) from exc  # e.g. a transient storage error: the turn has passed
                raise
            self._decided[unit.key] = self._test_and_set(plan.index, keys)
            self._last: Optional[Tuple[_FileKeys, DocumentsReader]] = (keys, reader)
        assert self._last is not None
        keys, reader = self._last
        # distinct keys this file offered the filter (inserted, or found already there): what sizing must count
        seen, distinct = self._decided[unit.key]
        offered = distinct if self.insert else 0
        if not plan.replay:
            counts = self._write(plan.output, keys, keys.column("owner", np.int32), seen, input_entry(reader), started)
        # done: the marks kept for a retry of the write go, so the next file does not hold this one's keys
        self._decided.pop(unit.key, None)
        self._last = None
        if plan.replay:
            return {"files_replayed": 1, "bloom_keys": offered}
        counts["bloom_keys"] = offered
        return counts

    def _turn_failed(self, index: int) -> None:
        if self.turns is not None and self.insert:
            self.turns.wait(index)
            self.turns.done(index, failed=True)

    def _test_and_set(self, index: int, keys: _FileKeys) -> Tuple[np.ndarray, int]:
        """Each key's mark, and the number of distinct keys."""
        assert self._filter is not None
        hashes = keys.all_hashes()
        if self.turns is None or not self.insert:  # one process, or nothing is inserted: order cannot matter
            return self._filter.mark(hashes, insert=self.insert)
        failed = self.turns.wait(index)
        try:
            if 0 <= failed < index:
                raise DedupeError(
                    f"{self.order[index]}: not deduplicated because an earlier file failed ({self.order[failed]}); "
                    "its marks would depend on that file's keys"
                )
            return self._filter.mark(hashes, insert=True)
        finally:
            self.turns.done(index)

    # --- step 1: read and hash ----------------------------------------------------------------------------

    def _read(self, path: str, progress: Progress) -> Tuple[_FileKeys, DocumentsReader]:
        if self._hashes_json_texts():
            try:
                return self._read_json_texts(path, progress)
            except _NotPlain as undone:  # the file again, decoded as usual: its bad lines reported as usual
                progress.update(docs=-undone.docs, nbytes=-undone.nbytes)
        keys = _FileKeys()
        reader = DocumentsReader(path, record_type=self._record_type, max_document_bytes=self.config.max_document_bytes)
        for batch in reader:
            try:  # every line decoded (the usual case): no Python step per line
                ids = list(map(_ID, batch.items))
            except AttributeError:  # a bad line (it has no id)
                records = self._sort_lines(path, batch.items, keys)
            else:
                keys.ids += ids
                records = list(zip(range(keys.lines, keys.lines + len(ids)), batch.items))
            if self.key is not None:
                self._document_keys(path, batch.items, records, keys)
            else:
                self._paragraph_keys(records, keys)
            keys.lines += len(batch.items)
            keys.nbytes += batch.nbytes
            progress.update(docs=len(batch.items), nbytes=batch.nbytes)
        return keys, reader

    def _every_text_is_a_key(self) -> bool:
        """Documents keyed by their whole text, none left out (no emptiness, length or word limits)."""
        d = self.config.dedupe
        return self.key is not None and self.key.is_text and not (d.skip_empty or d.min_length or d.min_words)

    def _hashes_json_texts(self) -> bool:
        """Whether every document's whole text is its key, hashed by the C kernels from the text's JSON (never a
        ``str``: about 0.35 of 2.2 CPU-s on the 563 MB bench corpus)."""
        return self._every_text_is_a_key() and kernels.ENABLED and not self.exact

    def _read_json_texts(self, path: str, progress: Progress) -> Tuple[_FileKeys, DocumentsReader]:
        """:meth:`_read` for :meth:`_hashes_json_texts`, while every line is a document whose text decodes beyond
        doubt; a line that does not (a bad line, a text msgspec must judge) raises :class:`_NotPlain`."""
        keys = _FileKeys()
        reader = DocumentsReader(path, record_type=_JsonTextRecord, max_document_bytes=self.config.max_document_bytes)
        for batch in reader:
            try:
                ids = list(map(_ID, batch.items))
            except AttributeError:
                raise _NotPlain(keys.lines, keys.nbytes) from None
            hashed = kernels.json_text_hashes([item.text for item in batch.items], self.params.seed)
            if hashed is None:
                raise _NotPlain(keys.lines, keys.nbytes)
            hashes, nbytes, points = hashed
            keys.ids += ids
            keys.text_len += points.tolist()
            keys.text_bytes += nbytes.tolist()
            keys.good += len(ids)
            owner = np.arange(keys.lines, keys.lines + len(ids), dtype=np.int64)
            self._add_keys(keys, hashes, owner, self._doc_partition(ids))
            keys.lines += len(ids)
            keys.nbytes += batch.nbytes
            progress.update(docs=len(ids), nbytes=batch.nbytes)
        return keys, reader

    def _sort_lines(self, path: str, items: List[Any], keys: _FileKeys) -> List[Tuple[int, Any]]:
        """The decoded lines of a batch holding bad ones, each with its index in the file; the bad lines are kept
        aside (or fail the run)."""
        records = []
        for offset, item in enumerate(items):
            if isinstance(item, BadLine):
                if self.config.on_error == "fail" and not item.oversized:
                    raise InputError(path, item.line, item.reason)
                keys.bad.append(item)
                keys.ids.append(item.recovered_id or "")
            else:
                records.append((keys.lines + offset, item))
                keys.ids.append(item.id)
        return records

    def _add_keys(self, keys: _FileKeys, hashes: np.ndarray, owner: np.ndarray, doc_ids: Optional[np.ndarray]) -> None:
        """Keep the keys of this run's partition, or (``split_all``) every key with its partition."""
        d = self.config.dedupe
        part: Optional[np.ndarray] = None
        if d.num_partitions > 1:
            if d.file_partition:
                assert doc_ids is not None
                part = doc_ids % np.uint64(d.num_partitions)
            else:  # by the top half of h2 (exact keys: of their second half)
                h2 = hashes[:, 1] if self.exact else with_h2(hashes)[:, 1]
                part = (h2 >> np.uint64(32)) % np.uint64(d.num_partitions)
        if self.split_all and part is not None:  # (one partition: every key is in it, nothing to note)
            keys.part.append(part)
        elif part is not None:
            mask = part == np.uint64(d.partition_index)
            hashes, owner = hashes[mask], owner[mask]
        # half the memory: an h1 stands for its h2, and a file's lines and paragraphs are counted in 32 bits
        keys.hashes.append(hashes)
        keys.owner.append(owner.astype(np.int32))

    def _doc_partition(self, ids: Sequence[str]) -> Optional[np.ndarray]:
        if self.config.dedupe.num_partitions == 1 or not self.config.dedupe.file_partition:
            return None
        return np.fromiter((xxhash.xxh3_64_intdigest(i.encode()) for i in ids), dtype=np.uint64, count=len(ids))

    def _eligible(self, value: str) -> bool:
        d = self.config.dedupe
        if d.skip_empty and (not value or value.isspace()):
            return False
        if len(value) < d.min_length:
            return False
        return not (d.min_words and len(words(value)) < d.min_words)

    def _document_keys(self, path: str, items: List[Any], records: List[Tuple[int, Any]], keys: _FileKeys) -> None:
        assert self.key is not None
        # each text's length in code points and UTF-8 bytes (0 for a bad line), each text encoded once
        base = keys.lines
        text_len = [0] * len(items)
        text_bytes = [0] * len(items)
        encoded = [rec.text.encode() for _, rec in records]
        for (line, rec), data in zip(records, encoded):
            text_len[line - base] = len(rec.text)
            text_bytes[line - base] = len(data)
        keys.text_len += text_len
        keys.text_bytes += text_bytes
        keys.good += len(records)
        if self._every_text_is_a_key():
            values, owners = encoded, [line for line, _ in records]
        else:
            values, owners = [], []
            for (line, rec), data in zip(records, encoded):
                if self.key.is_text:
                    value: Any = rec.text
                else:
                    found, value = self.key.find(_as_dict(rec))
                    if not found:
                        raise InputError(path, line + 1, f"key {self.key.text} matches nothing in this document")
                    if not isinstance(value, str):
                        raise InputError(
                            path, line + 1,
                            f"key {self.key.text} is {type(value).__name__} {msgspec.json.encode(value)[:40].decode(errors='replace')}, not a string",
                        )
                if self._eligible(value):
                    values.append(data if self.key.is_text else value.encode())
                    owners.append(line)
        hashes = key_hashes(values, self.params.seed, self.exact)
        owner = np.asarray(owners, dtype=np.int64)
        self._add_keys(keys, hashes, owner, self._doc_partition([keys.ids[o] for o in owners]))

    def _paragraph_keys(self, records: List[Tuple[int, Any]], keys: _FileKeys) -> None:
        d = self.config.dedupe
        assert d.paragraphs is not None
        if not records:
            return
        keys.good += len(records)
        sep = d.paragraphs.paragraph_separator
        lines = [line for line, _ in records]
        texts = [rec.text for _, rec in records]
        ids = [rec.id for _, rec in records]
        if len(sep) != 1 or max(map(len, texts)) <= _PIECE_CHARS:  # the usual case: the batch at once
            self._paragraph_batch(lines, texts, None, ids, keys)
            return
        # a text of more than _PIECE_CHARS code points is cut after separators into pieces of about that size, and
        # pieces go in groups of about that size: a very large document's per-paragraph arrays stay bounded
        keys.long_text = True
        group: Tuple[List[int], List[str], List[int], List[str]] = ([], [], [], [])
        size = 0
        for line, text, id_ in zip(lines, texts, ids):
            for piece, offset in _pieces(text, sep, _PIECE_CHARS):
                for column, value in zip(group, (line, piece, offset, id_)):
                    column.append(value)  # type: ignore[attr-defined]
                size += len(piece)
                if size >= _PIECE_CHARS:
                    self._paragraph_batch(group[0], group[1], group[2], group[3], keys)
                    group, size = ([], [], [], []), 0
        if group[0]:
            self._paragraph_batch(group[0], group[1], group[2], group[3], keys)

    def _paragraph_batch(
        self, line_list: List[int], texts: List[str], offsets: Optional[List[int]], ids: List[str], keys: _FileKeys
    ) -> None:
        """The paragraph keys of ``texts``, the documents of lines ``line_list`` (or pieces of them, cut after a
        separator, that start ``offsets`` code points into their documents)."""
        d = self.config.dedupe
        assert d.paragraphs is not None
        lines = np.asarray(line_list, dtype=np.int64)
        paras = split_paragraphs(texts, d.paragraphs.paragraph_separator)
        if offsets is not None:
            paras.start += np.asarray(offsets, dtype=np.int64)[paras.doc]
        keep = ~(paras.last & (paras.length == 0))  # no paragraph after a final separator, none in an empty text
        if d.skip_empty:
            keep &= ~unicode_space(paras)
        if d.min_length:
            keep &= paras.length >= d.min_length
        if d.min_words:
            strings = paras.strings()
            idx = np.flatnonzero(keep)
            enough = np.fromiter((len(words(strings[i])) >= d.min_words for i in idx), dtype=bool, count=len(idx))
            keep[idx[~enough]] = False
        rows = np.flatnonzero(keep)
        all_kept = len(rows) == len(keep)
        base = keys.rows
        doc = paras.doc[rows]
        keys.para_doc.append(lines[doc].astype(np.int32))
        keys.para_start.append(paras.start[rows].astype(np.int32))
        keys.para_end.append((paras.start[rows] + paras.width[rows]).astype(np.int32))
        keys.para_bytes.append(paras.nbytes[rows].astype(np.int32))
        keys.rows += len(rows)
        doc_hash = self._doc_partition(ids)
        if self.ngram is None:
            hashes = paras.key_hashes(keep, self.params.seed, self.exact)
            owner = np.arange(base, base + len(rows), dtype=np.int64)
        else:
            kept = paras.parts if all_kept else list(itertools.compress(paras.parts, keep.tolist()))
            n, stride = self.ngram.ngram_length, self.ngram.stride
            if d.paragraphs.paragraph_separator == "\n" or not any(b"\n" in p for p in kept):
                hashes, owner = ngram_hashes(
                    kept, n, stride, self.ngram.skip_short_paragraphs, self.params.seed, self.exact
                )
                owner += base
            else:
                hashes, owner = self._ngram_keys_by_paragraph(kept, base)
        self._add_keys(keys, hashes, owner, None if doc_hash is None else doc_hash[doc][owner - base])

    def _ngram_keys_by_paragraph(self, kept: List[bytes], base: int) -> Tuple[np.ndarray, np.ndarray]:
        """N-gram keys paragraph by paragraph: for a separator other than a line feed when a paragraph holds one
        (the batched :func:`ngram_hashes` joins paragraphs by line feeds)."""
        assert self.ngram is not None
        grams: List[bytes] = []
        owners: List[int] = []
        n, stride = self.ngram.ngram_length, self.ngram.stride
        for r, part in enumerate(kept):
            tokens = utf8_words(part)
            if len(tokens) < n:
                if self.ngram.skip_short_paragraphs:
                    continue
                grams.append(part)
                owners.append(base + r)
                continue
            g = ngram_keys(tokens, n, stride)
            grams += g
            owners += [base + r] * len(g)
        return key_hashes(grams, self.params.seed, self.exact), np.asarray(owners, dtype=np.int64)

    # --- step 3: attributes -------------------------------------------------------------------------------

    def _write(
        self, output: str, keys: _FileKeys, owner: np.ndarray, seen: np.ndarray, entry: FileEntry, started: float,
        firsts: Optional[Firsts] = None,
    ) -> Dict[str, int]:
        """Publish the attributes of one documents file (``entry``) from its keys' owners and marks, and with
        ``firsts`` (exact mode) where each marked key first occurred, beside them."""
        values: Dict[int, Value] = {}
        bytes_marked = 0
        spans = 0
        if self.key is not None:
            for line in _sorted_unique(owner[seen]).tolist():
                values[line] = b"[[0,%d,1]]" % keys.text_len[line]
                bytes_marked += keys.text_bytes[line]
            spans = len(values)
        else:
            doc, start, end, pbytes = (keys.column(c) for c in ("para_doc", "para_start", "para_end", "para_bytes"))
            if self.ngram is None:
                rows = owner[seen]  # owners are ascending paragraph rows, so rows are in document order
            else:
                total = np.bincount(owner, minlength=keys.rows)
                dup = np.bincount(owner[seen], minlength=keys.rows)
                checked = total > 0
                frac = np.divide(dup, total, out=np.zeros(keys.rows), where=checked)
                rows = np.flatnonzero(checked & (frac >= self.ngram.overlap_threshold))
            bytes_marked = int(pbytes[rows].sum()) if self.ngram is None else int(pbytes[rows][frac[rows] > 0].sum())
            spans = len(rows)
            docs = doc[rows]
            cuts = np.concatenate(([0], np.flatnonzero(np.diff(docs)) + 1, [len(docs)])) if len(docs) else np.zeros(1, np.int64)
            marked = docs[cuts[:-1]].tolist()
            if self.ngram is None:
                values = dict(zip(marked, format_unit_spans(start[rows], end[rows], cuts, lazy=True)))
            else:
                values = dict(zip(marked, format_scored_spans(start[rows], end[rows], frac[rows], cuts, lazy=True)))
        counts = {
            "documents_in": keys.lines,
            "documents_out": keys.lines - len(keys.bad),
            "documents_quarantined": len(keys.bad),
            "bytes_in": keys.nbytes,
            "keys": int(len(seen)),
            "duplicates": int(seen.sum()),
            "documents_marked": len(values),
            "spans": spans,
            "bytes_marked": bytes_marked,
        }
        outputs = [output] if firsts is None else [output, self.first_occurrences_path(entry.path)]
        with UnitOutputs(self.name, self.config, quarantine=output + QUARANTINE_SUFFIX, started=started) as files:
            writer = files.open(output)
            for chunk in attribute_chunks(keys.ids, self.attribute, values, [b.line - 1 for b in keys.bad]):
                writer.write(chunk)
            if firsts is not None:
                side = files.open(outputs[1])
                for piece in self._first_occurrences(keys, owner, seen, firsts):
                    side.write(piece)
            files.quarantine(entry.path, keys.bad)
        files.write_manifest(manifest_path(output), self.output_config(), [entry], outputs, counts)
        return counts


    def first_occurrences_path(self, documents: str) -> str:
        """Where exact mode records the first occurrences of a documents file's duplicates."""
        return side_path(documents, self.config.dedupe.document_dir, self.set_name)

    def _first_occurrences(self, keys: _FileKeys, owner: np.ndarray, seen: np.ndarray, firsts: Firsts) -> List[Any]:
        spans = None if self.key is not None else (
            keys.column("para_doc"), keys.column("para_start"), keys.column("para_end"))
        threshold = self.ngram.overlap_threshold if self.ngram is not None else None
        return side_file(firsts, self.order, owner, seen, spans, keys.text_len, threshold)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` of integers, which come in ascending order here (a line's keys are together): no sort
    then, and no ``numpy.ma``, which ``np.unique`` imports (~40 ms in each forked worker)."""
    if len(values) > 1 and bool((values[1:] < values[:-1]).any()):
        values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


_PIECE_CHARS = 1 << 20
"""A text longer than this (code points) is cut into pieces of about this size, at separators, for its paragraphs."""


def _pieces(text: str, sep: str, size: int) -> Iterator[Tuple[str, int]]:
    """``text`` cut after a separator every ``size`` code points or so, each piece with its offset: every piece but
    the last ends with the separator, so its last paragraph is whole and what follows (an empty paragraph after a
    final separator) is dropped like any text's."""
    start = 0
    while len(text) - start > size:
        cut = text.find(sep, start + size)
        if cut < 0:
            break
        yield text[start : cut + len(sep)], start
        start = cut + len(sep)
    yield text[start:], start


class _JsonTextRecord(msgspec.Struct, gc=False):
    """A document whose text stays JSON, to be hashed by :func:`~dolma.dedup.kernels.json_text_hashes`."""

    id: str
    text: msgspec.Raw


class _NotPlain(Exception):
    """A file that :meth:`DedupeStage._read_json_texts` cannot read, after ``docs`` lines and ``nbytes`` bytes."""

    def __init__(self, docs: int, nbytes: int) -> None:
        super().__init__(docs, nbytes)
        self.docs, self.nbytes = docs, nbytes


class _TextRecord(msgspec.Struct, gc=False):
    """What paragraphs and `$.text` keys need; other fields are skipped by the decoder, not built. Two strings
    cannot form a reference cycle, so the garbage collector does not track the records (fewer collections)."""

    id: str
    text: str


def _record_type(key: Optional[KeyPath]) -> Any:
    if key is None or key.is_text:
        return _TextRecord
    if key.top in _RECORD_FIELDS:
        return DocumentRecord
    return msgspec.defstruct("KeyedDocument", [(str(key.top), Any, None)], bases=(DocumentRecord,), omit_defaults=True)


def _as_dict(rec: Any) -> Dict[str, Any]:
    return {name: getattr(rec, name) for name in rec.__struct_fields__}


def resolve_params(config: DedupeConfig) -> BloomParams:
    """The filter's shape: from the config, checked against the file's header when the file exists."""
    bf = config.bloom_filter
    if not bf.file:
        raise ConfigError("missing required key `bloom_filter.file`: where the filter is loaded from and saved to")
    asked = BloomParams.sized(bf.size_in_bytes, bf.estimated_doc_count, bf.desired_false_positive_rate)
    if dio.exists(bf.file):
        found = BloomFilter.read_params(bf.file)
        if asked is not None and (asked.m, asked.k) != (found.m, found.k):
            raise ConfigError(
                f"{bf.file}: the existing Bloom filter has {describe(found)}, but the config asks for "
                f"{describe(dataclasses.replace(asked, seed=found.seed))}; use the same sizing or another file"
            )
        return found
    if bf.read_only:
        raise ConfigError(f"`bloom_filter.read_only` needs an existing filter, and {bf.file} does not exist")
    if asked is None:
        raise ConfigError(
            "size the Bloom filter: set `bloom_filter.size_in_bytes`, or `bloom_filter.estimated_doc_count` and "
            "`bloom_filter.desired_false_positive_rate`"
        )
    return asked


def _check_can_sit_in(pattern: str, document_dir: str) -> None:
    """Refuse, from the config alone, a documents pattern with wildcards none of whose matches can sit inside a
    ``document_dir`` folder (no folder of it is, or is a wildcard that could match, that name): the run would refuse
    every file it lists. Dolma refuses these too ("does not contain expected document directory")."""
    if not has_glob(pattern):
        return  # may name a folder, which means every file below it: only listing can tell
    folders = pattern.split("/")[:-1]
    if not any(f == document_dir or ("**" in f) or fnmatch.fnmatchcase(document_dir, f) for f in folders):
        raise ConfigError(
            f"`documents`: {pattern} is not inside a {document_dir!r} folder, so attributes/ cannot mirror its files "
            "(set `dedupe.document_dir` to the folder that holds the documents)"
        )


def planned_params(config: DedupeConfig) -> Optional[BloomParams]:
    """The filter's shape from the config alone, for a dry run: the checks of :func:`resolve_params` that need no
    file. ``None`` for a read-only filter the config does not size (its file gives the shape)."""
    bf = config.bloom_filter
    if not bf.file:
        raise ConfigError("missing required key `bloom_filter.file`: where the filter is loaded from and saved to")
    asked = BloomParams.sized(bf.size_in_bytes, bf.estimated_doc_count, bf.desired_false_positive_rate)
    if asked is None and not bf.read_only:
        raise ConfigError(
            "size the Bloom filter: set `bloom_filter.size_in_bytes`, or `bloom_filter.estimated_doc_count` and "
            "`bloom_filter.desired_false_positive_rate`"
        )
    return asked


# the settings that decide which keys a file puts in the filter (not the names of the attributes they mark)
_KEY_SETTINGS = ("key", "paragraph_separator", "by_ngram", "skip_empty", "min_length", "min_words", "partition")


def _filter_inputs(bloom_file: str, settings: Dict[str, Any]) -> Optional[Set[str]]:
    """The documents files whose keys, as ``settings`` cut them, the saved filter holds, from its manifest; ``None``
    when there is no filter, it has no manifest (saved by a run killed before writing it, or by another tool), or
    its keys were cut otherwise (a filter file shared by a paragraph and an n-gram config holds the one's keys, not
    the other's, for the same files)."""
    manifest = read_manifest(manifest_path(bloom_file)) if dio.exists(bloom_file) else None
    if manifest is None:
        return None
    if any(manifest.config.get(k) != settings.get(k) for k in _KEY_SETTINGS):
        return None
    return {entry.path for entry in manifest.inputs}
