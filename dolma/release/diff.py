"""``dolma diff OLD --new NEW``: what changed between two releases.

Files added, removed and changed (by the sha256 in each ``release.json``); the documents added and removed per
stream, read from the mixed shards that differ (shards both releases hold unchanged are not read); the documents
and tokens each release holds, and the tokens of each token file that differs.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any, Dict

import msgspec
import numpy as np

from dolma.core import io as dio
from dolma.core.config import ConfigStruct
from dolma.core.errors import ConfigError
from dolma.core.paths import join
from dolma.core.runner import Command
from dolma.release.verify import read_release

__all__ = ["DiffConfig", "release_diff", "print_diff", "DIFF"]


def _stream(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].split(".jsonl", 1)[0].rsplit("-", 1)[0]


def _is_shard(rel: str) -> bool:
    return rel.startswith("mixed/") and rel.count("/") == 1 and ".jsonl" in rel and not rel.endswith(".json")


def _ids(root: str, rel: str) -> Counter:
    """The ids of a shard's lines (each id once per line)."""
    found: Counter = Counter()
    decoder = msgspec.json.Decoder()
    with dio.open_read(join(root, rel)) as f:
        for raw in f:
            found[decoder.decode(raw)["id"]] += 1
    return found


def _token_totals(root: str, files: Dict[str, Any]) -> Dict[str, int]:
    """Tokens per token file, from its size and its manifest's dtype."""
    itemsize = None
    totals: Dict[str, int] = {}
    for rel, entry in sorted(files.items()):
        if not (rel.startswith("tokens/") and rel.endswith(".npy")):
            continue
        if itemsize is None:
            manifest = msgspec.json.decode(dio.read_bytes(join(root, rel + ".manifest.json")))
            itemsize = np.dtype(manifest["config"]["dtype"]).itemsize
        totals[rel] = entry.bytes // itemsize
    return totals


def release_diff(old: str, new: str) -> Dict[str, Any]:
    a, b = read_release(old), read_release(new)
    fa = {e.path: e for e in a.files}
    fb = {e.path: e for e in b.files}
    added = sorted(set(fb) - set(fa))
    removed = sorted(set(fa) - set(fb))
    changed = sorted(p for p in set(fa) & set(fb) if fa[p].sha256 != fb[p].sha256)
    streams: Dict[str, Dict[str, int]] = {}
    for rel in sorted(set(added) | set(removed) | set(changed)):
        if not _is_shard(rel):
            continue
        before = _ids(old, rel) if rel in fa else Counter()
        after = _ids(new, rel) if rel in fb else Counter()
        entry = streams.setdefault(_stream(rel), {"documents_removed": 0, "documents_added": 0})
        entry["documents_removed"] += sum((before - after).values())
        entry["documents_added"] += sum((after - before).values())
    for name, side in (("old", fa), ("new", fb)):
        for rel in side:
            if _is_shard(rel):
                streams.setdefault(_stream(rel), {"documents_removed": 0, "documents_added": 0})
    tokens_a, tokens_b = _token_totals(old, fa), _token_totals(new, fb)
    token_files = {rel: {"old": tokens_a.get(rel), "new": tokens_b.get(rel)}
                   for rel in sorted(set(tokens_a) | set(tokens_b)) if tokens_a.get(rel) != tokens_b.get(rel)
                   or (rel in fa and rel in fb and fa[rel].sha256 != fb[rel].sha256)}
    return {
        "old": old, "new": new,
        "files": {"added": added, "removed": removed, "changed": changed, "unchanged": len(set(fa) & set(fb)) - len(changed)},
        "streams": dict(sorted(streams.items())),
        "tokens": {"old": sum(tokens_a.values()), "new": sum(tokens_b.values()), "files": token_files},
    }


def print_diff(diff: Dict[str, Any]) -> None:
    out = sys.stdout
    files = diff["files"]
    out.write(f"diff {diff['old']} → {diff['new']}: {len(files['changed'])} file(s) changed, {len(files['added'])} "
              f"added, {len(files['removed'])} removed, {files['unchanged']} unchanged\n")
    for kind in ("changed", "added", "removed"):
        for rel in files[kind]:
            out.write(f"  {kind:8} {rel}\n")
    for name, s in diff["streams"].items():
        out.write(f"  stream {name}: -{s['documents_removed']:,} +{s['documents_added']:,} document line(s)\n")
    t = diff["tokens"]
    out.write(f"  tokens {t['old']:,} → {t['new']:,} ({t['new'] - t['old']:+,})\n")
    for rel, n in t["files"].items():
        out.write(f"    {rel}: {n['old']} → {n['new']}\n")


class DiffConfig(ConfigStruct):
    old: str = ""
    """The release to compare from (local or s3://)."""
    new: str = ""
    """The release to compare to."""
    json: bool = False
    """Print JSON instead of text."""


def run_diff(config: DiffConfig) -> int:
    if not config.old or not config.new:
        raise ConfigError("give two releases: dolma diff OLD --new NEW")
    diff = release_diff(config.old, config.new)
    if config.json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(diff), indent=2).decode() + "\n")
    else:
        print_diff(diff)
    return 0


DIFF = Command(DiffConfig, run_diff, "compare two releases: files, documents per stream, tokens", positional="old")
