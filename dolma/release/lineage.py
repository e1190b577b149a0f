"""The lineage index of a release: for every document id, where it came from, what the mix decided, where its lines
are in the mixed shards and where its tokens are in the token files — so that `dolma trace` and `dolma remove`
read a few small files instead of whole shards.

Built once after the mix and the tokens (`dolma pipeline` does it; `dolma lineage DIR` builds it for a release made
before), from what those stages wrote: each mix unit's decisions file (``mixed/decisions/<stream>-uNNNN.csv.gz``,
one row per line read), each unit's record of its parts (``mixed/.mix-staging/<stream>-uNNNN.json``: which shard
each part went to and how many lines it holds) and each token file's index (``tokens/*.csv.gz``). No shard and no
token file is read.

``lineage/ids-NNNNN.csv.gz`` hold the rows, each in the bucket ``xxh3_64(id) % buckets``:

    D,<id>,<stream>,<documents file>,<line>,<decision>,<copies>      what the mix decided about a line it read
    O,<id>,<base id>,<shard>,<line>                                  an output line (a copy has its own id)
    T,<id>,<token file>,<start>,<end>,<shard>,<line>                 a token range of an output line

Paths are relative to the release (``root`` in ``lineage/index.json`` is the release's path as its stages recorded
it), lines are 1-based, token ranges are end-exclusive. ``lineage/index.json`` lists the files the index was built
from and the buckets, with sizes and sha256; `dolma verify` checks both. A removal (`dolma remove`) leaves the
index as it is and records what it took out in ``removals/NNNN.json``; readers apply those records on top
(:mod:`dolma.release.lookup`).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List, Optional, Tuple

import msgspec
import xxhash

from dolma.core import io as dio
from dolma.core.config import ConfigStruct
from dolma.core.environment import output_environment
from dolma.core.errors import ConfigError, InputError
from dolma.core.manifest import FileEntry
from dolma.core.paths import glob_paths, is_s3, join
from dolma.core.runner import Command

__all__ = [
    "LINEAGE_DIR", "INDEX_FILE", "MIXED_DIR", "TOKENS_DIR", "MIXTURE_FILE", "copy_id", "LineageIndex", "build_lineage", "bucket_of", "bucket_path",
    "relative_to", "read_index", "file_entry_of", "fetch", "fetch_text", "LINEAGE",
]

LINEAGE_DIR = "lineage"
INDEX_FILE = f"{LINEAGE_DIR}/index.json"
MIXED_DIR = "mixed"  # a release's layout (dolma pipeline)
# what the mix writes there (dolma.mixers.plan; the release layer reads stages' files, never their code)
MIXTURE_FILE = "mixture.json"
DECISIONS_DIR = "decisions"
STAGING_DIR = ".mix-staging"
TOKENS_DIR = "tokens"
ROWS_PER_BUCKET = 32_768  # what one lookup reads at most, until MAX_BUCKETS
MAX_BUCKETS = 4_096  # buckets are written at the same time: one open file each
_FLUSH = 1 << 20


class LineageIndex(msgspec.Struct, kw_only=True):
    root: str
    """The release's path as its stages recorded it in the files (mixture.json, token indexes)."""
    buckets: int
    streams: Dict[str, Dict[str, Any]]
    """Per stream: its sample rate and seed (what `dolma trace` recomputes the sampling from)."""
    token_groups: Dict[str, List[str]] = {}
    """Per token group (``tokens/part-<g>``): the shards it read (what `dolma remove` renumbers)."""
    inputs: List[FileEntry]
    outputs: List[FileEntry]
    counts: Dict[str, int]
    created: str
    environment: Optional[Dict[str, str]] = None
    format: int = 1


def copy_id(doc_id: str, k: int) -> str:
    """The id of a document's ``k``-th sampled copy, as the mix names it (``dolma.mixers.sampling.copy_id``)."""
    return doc_id if k == 0 else f"{doc_id}-dup{k}"


def bucket_of(doc_id: str, buckets: int) -> int:
    return xxhash.xxh3_64_intdigest(doc_id.encode("utf-8", "surrogatepass")) % buckets


def bucket_path(root: str, bucket: int) -> str:
    return join(root, LINEAGE_DIR, f"ids-{bucket:05d}.csv.gz")


def relative_to(recorded_root: str, path: str) -> str:
    """``path`` (as a stage recorded it) relative to the release; a path outside it stays as it is."""
    prefix = recorded_root.rstrip("/") + "/"
    return path[len(prefix):] if path.startswith(prefix) else path


def fetch(path: str) -> bytes:
    """The stored bytes of a small file (an index, a manifest), in one request on S3."""
    if is_s3(path):
        from dolma.core import s3

        return s3.get_bytes(path)
    with dio.open_raw(path) as f:
        return f.read()


def fetch_text(path: str) -> bytes:
    """A small file's bytes, decompressed by its extension (``.gz``: any number of gzip members)."""
    data = fetch(path)
    if path.endswith(".gz"):
        from isal import igzip

        return igzip.decompress(data)
    if path.endswith(".zst"):
        return dio.read_bytes(path)
    return data


def file_entry_of(path: str, name: str) -> FileEntry:
    """Size and sha256 of the stored bytes of ``path`` (local or S3), listed as ``name``."""
    import hashlib

    data = fetch(path)
    return FileEntry(name, len(data), hashlib.sha256(data).hexdigest())


def read_index(root: str) -> LineageIndex:
    path = join(root, INDEX_FILE)
    if not dio.exists(path):
        raise ConfigError(f"{root}: no {INDEX_FILE}; build it with `dolma lineage {root}`")
    try:
        return msgspec.json.decode(fetch(path), type=LineageIndex)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(f"{path}: not a lineage index: {exc}") from None


def _csv_rows(path: str) -> Iterator[List[str]]:
    with dio.open_read(path) as f:
        yield from csv.reader(io.TextIOWrapper(f, encoding="utf-8", errors="surrogateescape", newline=""))


class _Buckets:
    """Rows written into their buckets, buffered."""

    def __init__(self, root: str, buckets: int) -> None:
        self.root = root
        self.n = buckets
        self._writers = [dio.AtomicWriter(bucket_path(root, b)) for b in range(buckets)]
        self._buffers = [io.StringIO() for _ in range(buckets)]
        self._csv = [csv.writer(b, lineterminator="\n") for b in self._buffers]
        self.rows = 0

    def add(self, doc_id: str, row: Tuple[Any, ...]) -> None:
        b = bucket_of(doc_id, self.n)
        self._csv[b].writerow(row)
        self.rows += 1
        if self._buffers[b].tell() > _FLUSH:
            self._flush(b)

    def _flush(self, b: int) -> None:
        self._writers[b].write(self._buffers[b].getvalue().encode("utf-8", "surrogateescape"))
        self._buffers[b].seek(0)
        self._buffers[b].truncate()

    def commit(self) -> List[FileEntry]:
        entries = []
        for b, writer in enumerate(self._writers):
            self._flush(b)
            writer.commit()
            entries.append(FileEntry(f"{LINEAGE_DIR}/ids-{b:05d}.csv.gz", writer.bytes_written, writer.sha256 or ""))
        return entries

    def abort(self) -> None:
        for writer in self._writers:
            writer.abort()


_UNIT = re.compile(r"-u(\d{4,})\.csv\.gz$")


def _units(root: str, stream: str) -> List[Tuple[str, str]]:
    """The (decisions file, unit record) of each unit of ``stream``, in unit order."""
    found = []
    folder = join(root, MIXED_DIR, DECISIONS_DIR)
    for path in glob_paths(join(folder, "*.csv.gz")):
        name = path.rsplit("/", 1)[-1]
        match = _UNIT.search(name)
        if match and name[: match.start()] == stream:
            found.append((int(match.group(1)), path, join(root, MIXED_DIR, STAGING_DIR, name[: -len(".csv.gz")] + ".json")))
    return [(d, r) for _, d, r in sorted(found)]


def build_lineage(root: str) -> LineageIndex:
    """Build ``root``'s lineage index from its mix's decisions and records and its token indexes."""
    root = root.rstrip("/")
    if glob_paths(join(root, "removals", "*.json")):
        raise ConfigError(f"{root}: documents were removed from this release (removals/); its lineage index stays "
                          "as built, with the removals applied on top, since the mix's records describe the shards "
                          "as they were first written")
    mixture_path = join(root, MIXED_DIR, MIXTURE_FILE)
    if not dio.exists(mixture_path):
        raise ConfigError(f"{root}: no {MIXED_DIR}/{MIXTURE_FILE}; lineage needs a release with a mix")
    mixture = msgspec.json.decode(dio.read_bytes(mixture_path))["streams"]
    outputs = {s["output"].rstrip("/") for s in mixture.values()}
    if len(outputs) != 1:
        raise ConfigError(f"{mixture_path}: streams write to {sorted(outputs)}; lineage needs one mix folder")
    recorded_root = outputs.pop().rsplit("/", 1)[0]
    seed = _mix_seed(root, mixture)
    rows = sum(s["counts"].get("documents_in", 0) + 2 * s["counts"].get("documents_out", 0) for s in mixture.values())
    buckets = min(MAX_BUCKETS, max(1, -(-rows // ROWS_PER_BUCKET)))
    inputs: List[FileEntry] = [file_entry_of(mixture_path, f"{MIXED_DIR}/{MIXTURE_FILE}")]
    counts = {"documents_read": 0, "output_lines": 0, "token_ranges": 0}
    out = _Buckets(root, buckets)
    try:
        for stream in mixture:
            _add_stream(root, recorded_root, stream, out, inputs, counts)
        for index in sorted(glob_paths(join(root, TOKENS_DIR, "*.csv.gz"))):
            rel = relative_to(root, index)
            npy = rel[: -len(".csv.gz")] + ".npy"
            for start, end, doc_id, src, loc in _csv_rows(index):
                out.add(doc_id, ("T", doc_id, npy, start, end, relative_to(recorded_root, src), loc))
                counts["token_ranges"] += 1
            inputs.append(file_entry_of(index, rel))
        groups = _token_groups(root, recorded_root)
        entries = out.commit()
    except BaseException:
        out.abort()
        raise
    streams = {name: {"sample_rate": s["sample_rate"], "seed": seed} for name, s in mixture.items()}
    index = LineageIndex(root=recorded_root, buckets=buckets, streams=streams, token_groups=groups, inputs=inputs,
                         outputs=entries,
                         counts={**counts, "rows": out.rows}, created=_now(), environment=output_environment())
    dio.write_bytes_atomic(join(root, INDEX_FILE), msgspec.json.format(msgspec.json.encode(index), indent=2) + b"\n")
    return index


def _token_groups(root: str, recorded_root: str) -> Dict[str, List[str]]:
    """The shards each token group read, from its first file's manifest."""
    groups: Dict[str, List[str]] = {}
    for path in sorted(glob_paths(join(root, TOKENS_DIR, "*-00000.npy.manifest.json"))):
        manifest = msgspec.json.decode(fetch(path))
        group = relative_to(root, path)[: -len("-00000.npy.manifest.json")]
        groups[group] = sorted(relative_to(recorded_root, e["path"]) for e in manifest.get("inputs", []))
    return groups


def _mix_seed(root: str, mixture: Dict[str, Any]) -> int:
    """The mix's seed, from a shard's manifest (what determined its bytes)."""
    for stream in mixture.values():
        for shard in stream["shards"]:
            manifest = join(root, MIXED_DIR, shard.rsplit("/", 1)[-1] + ".manifest.json")
            if dio.exists(manifest):
                return int(msgspec.json.decode(dio.read_bytes(manifest))["config"]["seed"])
    return 0


def _add_stream(
    root: str, recorded_root: str, stream: str, out: _Buckets, inputs: List[FileEntry], counts: Dict[str, int]
) -> None:
    shard_lines: Dict[str, int] = {}  # lines so far in each shard of the stream
    units = _units(root, stream)
    if not units:
        raise ConfigError(f"{root}: stream {stream!r} has no decisions files in {MIXED_DIR}/{DECISIONS_DIR}/; "
                          "the mix ran before they existed: rerun it with --ignore_existing")
    for decisions, record_file in units:
        if not dio.exists(record_file):
            raise InputError(record_file, None, "the unit's record is missing; the mix did not finish")
        record = msgspec.json.decode(fetch(record_file))
        # where each of the unit's output lines went: its parts, in order, each at the end of its shard so far
        starts: List[Tuple[int, str, int]] = []  # (first output ordinal of the part, shard, first line in the shard)
        ordinal = 0
        for part in record["parts"]:
            if part.get("final") is None:
                raise InputError(record_file, None, "a part of the unit was never published in a shard")
            shard = relative_to(recorded_root, part["final"])
            starts.append((ordinal, shard, shard_lines.get(shard, 0) + 1))
            n = part["counts"].get("documents_out", 0)
            shard_lines[shard] = shard_lines.get(shard, 0) + n
            ordinal += n
        source = relative_to(recorded_root, record["inputs"][0]["path"])
        position, p = 0, 0
        for line, doc_id, decision, copies in _csv_rows(decisions):
            out.add(doc_id, ("D", doc_id, stream, source, line, decision, copies))
            counts["documents_read"] += 1
            for k in range(int(copies)):
                while p + 1 < len(starts) and starts[p + 1][0] <= position:
                    p += 1
                first, shard, first_line = starts[p]
                copy = copy_id(doc_id, k)
                out.add(copy, ("O", copy, doc_id, shard, first_line + position - first))
                position += 1
                counts["output_lines"] += 1
        if position != ordinal:
            raise InputError(decisions, None, f"{position} output line(s) decided, but the unit's parts hold {ordinal}")
        inputs.append(file_entry_of(decisions, relative_to(root, decisions)))
        inputs.append(file_entry_of(record_file, relative_to(root, record_file)))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class LineageConfig(ConfigStruct):
    path: str = ""
    """The release folder (local or s3://)."""


def run_lineage(config: LineageConfig) -> int:
    if not config.path:
        raise ConfigError("missing the release folder: dolma lineage DIR")
    index = build_lineage(config.path)
    print(f"{config.path}/{INDEX_FILE}: {index.counts['rows']:,} rows in {index.buckets} bucket(s) "
          f"({index.counts['documents_read']:,} documents read by the mix, {index.counts['output_lines']:,} output "
          f"lines, {index.counts['token_ranges']:,} token ranges)")
    return 0


LINEAGE = Command(LineageConfig, run_lineage, "build a release's lineage index (what `dolma trace` and `dolma remove` read)",
                  positional="path")
