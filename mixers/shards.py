"""Publishing a stream's finished units as shards (in the driver, after the units ran).

The parts of the finished units, in unit order, are joined greedily into shards ``<name>-NNNN<extension>`` of at
most ``max_size_in_bytes`` stored bytes by plain byte concatenation (a part is never split); a shard of one part is
its part, moved. Each shard gets a manifest, and the records of the units in it say where their parts went, so a
rerun publishes nothing twice. Names and bytes therefore depend only on the inputs and the config, never on the
number of processes or the order units finish in.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Tuple

from dolma.core import io as dio
from dolma.core.errors import InputError
from dolma.core.manifest import FileEntry, manifest_path, new_manifest, write_manifest
from dolma.core.paths import is_s3, join, split_s3
from dolma.mixers.config import StreamConfig
from dolma.mixers.parts import PartRecord, UnitRecord, write_record
from dolma.mixers.plan import MixUnit, extension, record_path, shard_name, staging_dir

__all__ = ["StreamShards", "join_parts", "sum_counts"]

Finished = List[Tuple[MixUnit, UnitRecord]]


def sum_counts(parts: List[PartRecord]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for p in parts:
        for k, v in p.counts.items():
            counts[k] = counts.get(k, 0) + v
    return counts


def join_parts(parts: List[Tuple[int, PartRecord]], limit: int) -> List[List[Tuple[int, PartRecord]]]:
    """Consecutive parts joined greedily into groups of at most ``limit`` stored bytes (a part is never split)."""
    groups: List[List[Tuple[int, PartRecord]]] = []
    size = 0
    for item in parts:
        n = item[1].bytes
        if groups and size + n <= limit:
            groups[-1].append(item)
            size += n
        else:
            groups.append([item])
            size = n
    return groups


class StreamShards:
    """One stream's shards. ``stage`` and ``stream_config`` (what determines the stream's bytes) go into each
    shard's manifest, with ``resolved_config`` (the whole command config)."""

    def __init__(self, stage: str, stream: StreamConfig, stream_config: Dict[str, Any], resolved_config: Any) -> None:
        self.stage = stage
        self.stream = stream
        self.stream_config = stream_config
        self.resolved_config = resolved_config

    def publish(self, finished: Finished, planned: int) -> Tuple[int, List[Dict[str, Any]]]:
        """Publish the parts of the ``finished`` units (the first ones of the ``planned`` units, in order).
        Returns the number of units whose output is published and the per-shard counts.

        While a later unit is unfinished, the last shard could still take its first part, so that shard
        stays staged: every published shard is the one a complete run publishes."""
        groups = join_parts([(i, part) for i, (_, record) in enumerate(finished) for part in record.parts],
                            self.stream.output.max_size_in_bytes)
        published = len(finished)
        if len(finished) < planned and groups:
            published = groups.pop()[0][0]  # units from the first one in the held shard on are not published
        shards = [self._shard(number, group, finished) for number, group in enumerate(groups)]
        return published, shards

    def _shard(self, number: int, group: List[Tuple[int, PartRecord]], finished: Finished) -> Dict[str, Any]:
        final = join(self.stream.output.path, shard_name(self.stream.name, number, extension(self.stream)))
        members = [finished[i] for i in dict.fromkeys(i for i, _ in group)]
        parts = [part for _, part in group]
        if not (all(p.final == final for p in parts) and dio.exists(final)):
            self._publish(final, members, parts)
        for p in parts:
            if dio.exists(p.staged):
                dio.remove(p.staged)
        return {"path": final, **sum_counts(parts)}

    def _publish(self, final: str, members: Finished, parts: List[PartRecord]) -> None:
        if len(parts) == 1 and parts[0].final is None:
            part = parts[0]
            _rename(part.staged, final)
            output = FileEntry(final, part.bytes, part.sha256)
        else:
            output = self._concatenate(final, parts)
        counts = sum_counts(parts)
        inputs = list({e.path: e for _, record in members for e in record.inputs}.values())
        seconds = round(sum(record.seconds for _, record in members), 3)
        manifest = new_manifest(self.stage, self.stream_config, inputs, [output], counts, seconds, self.resolved_config)
        write_manifest(manifest_path(final), manifest)
        for p in parts:
            p.final = final
        for unit, record in members:
            write_record(record_path(self.stream, unit), record)

    def _concatenate(self, final: str, parts: List[PartRecord]) -> FileEntry:
        """Join ``parts`` into ``final`` (through a staged file, moved into place when complete)."""
        joined = join(staging_dir(self.stream), os.path.basename(final) + ".part")
        with dio.AtomicWriter(joined) as writer:
            for p in parts:
                if not dio.exists(p.staged):
                    raise InputError(p.staged, None, f"staged output disappeared before it was published in {final}")
                with dio.open_raw(p.staged) as f:
                    while chunk := f.read(1 << 24):
                        writer.write(chunk)
        _rename(joined, final)
        return FileEntry(final, writer.bytes_written, writer.sha256 or "")


def _rename(src: str, dst: str) -> None:
    if is_s3(src):
        from dolma.core import s3
        bucket, key = split_s3(src)
        dbucket, dkey = split_s3(dst)
        s3.client().copy_object(Bucket=dbucket, Key=dkey, CopySource={"Bucket": bucket, "Key": key})
        s3.remove(src)
    elif os.path.exists(src):
        os.replace(src, dst)
    elif not os.path.exists(dst):
        raise InputError(src, None, "staged output disappeared before it was published")
