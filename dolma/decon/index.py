"""The contamination index: every n-gram of every evaluation item, with the items it occurs in and its weight.

A folder of three files, each published atomically:

- ``items.jsonl.gz``: the indexed items, one per line (``set``, ``split``, ``id``, ``question``, ``answer``,
  ``passage``); an item's number is its line number counted from 0, what the tagger's ``item`` spans hold.
- ``ngrams.npz``: ``keys`` (the distinct n-gram hashes, sorted), ``offsets`` and ``postings`` (the items of key
  ``k`` are ``postings[offsets[k]:offsets[k+1]]``), ``idf`` per key (``ln(1 + items / items holding it)``), and
  per item ``weight`` (the idf sum of its distinct n-grams), ``words`` and ``grams`` (its word and n-gram counts).
- ``index.json``: the format, the n-gram size, the hash version, and per set the items read, indexed and left out
  as too short; ``ngrams.npz`` is written before it, so a folder with ``index.json`` is complete.
"""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from dataclasses import dataclass
from typing import Any, Dict, List

import msgspec
import numpy as np

from dolma.core import io as dio
from dolma.core.errors import ConfigError
from dolma.core.paths import join
from dolma.decon.config import IndexConfig
from dolma.decon.evalsets import EvalItem, read_set, resolve_preset
from dolma.decon.ngrams import HASH_VERSION, grams

__all__ = ["DeconIndex", "build_index", "write_index", "load_index", "index_digest", "FORMAT"]

log = logging.getLogger("dolma")

FORMAT = "dolma-decon-index"
_VERSION = 1


@dataclass
class DeconIndex:
    ngram_size: int
    keys: np.ndarray  # uint64, sorted, distinct
    offsets: np.ndarray  # int64 [keys + 1]
    postings: np.ndarray  # int32 item numbers
    idf: np.ndarray  # float64 per key
    weight: np.ndarray  # float64 per item
    words: np.ndarray  # int32 per item
    grams: np.ndarray  # int32 per item
    item_sets: np.ndarray  # int16 per item: its set's number in ``sets``
    sets: List[str]
    info: Dict[str, Any]

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """The key number of each hash, or -1 where the index does not hold it."""
        if len(self.keys) == 0:
            return np.full(len(hashes), -1, dtype=np.int64)
        pos = np.searchsorted(self.keys, hashes)
        np.minimum(pos, len(self.keys) - 1, out=pos)
        return np.where(self.keys[pos] == hashes, pos, -1)


def build_index(config: IndexConfig) -> tuple[DeconIndex, List[EvalItem]]:
    """Read every set and index the items long enough to judge."""
    n = config.ngram_size
    items: List[EvalItem] = []
    item_keys: List[np.ndarray] = []
    words: List[int] = []
    set_info: List[Dict[str, Any]] = []
    for set_number, eval_set in enumerate(config.sets):
        read = short = 0
        batch: List[EvalItem] = []
        for item in read_set(eval_set):
            read += 1
            batch.append(item)
        for start in range(0, len(batch), 1024):
            chunk = batch[start : start + 1024]
            texts = [item.text() for item in chunk]
            g, single = grams(texts, n), grams(texts, 1)
            for i, item in enumerate(chunk):
                lo, hi = g.doc_first_word[i], g.doc_first_word[i + 1]
                if hi - lo < config.min_words or len(np.unique(single.hashes[lo:hi])) < config.min_unique_words:
                    short += 1
                    continue
                items.append(item)
                item_keys.append(np.unique(g.hashes[lo:hi][g.valid[lo:hi]]))
                words.append(int(hi - lo))
        set_info.append({"name": eval_set.name, "items_read": read, "items_indexed": read - short,
                         "items_too_short": short, "path": resolve_preset(eval_set).path, "preset": eval_set.preset})
        log.info("decon index: %s: %d item(s) read, %d indexed, %d too short", eval_set.name, read, read - short, short)
    set_of = {s.name: i for i, s in enumerate(config.sets)}
    sizes = np.array([len(k) for k in item_keys], dtype=np.int64)
    flat = np.concatenate(item_keys) if item_keys else np.zeros(0, dtype=np.uint64)
    owner = np.repeat(np.arange(len(item_keys), dtype=np.int32), sizes)
    order = np.lexsort((owner, flat))
    flat, owner = flat[order], owner[order]
    keys, first, df = np.unique(flat, return_index=True, return_counts=True)
    offsets = np.append(first, len(flat)).astype(np.int64)
    idf = np.log1p(len(items) / np.maximum(df, 1)).astype(np.float64)
    key_of = np.repeat(np.arange(len(keys)), df)
    weight = np.bincount(owner, weights=idf[key_of], minlength=len(items)).astype(np.float64)
    info = {
        "format": FORMAT,
        "version": _VERSION,
        "hash_version": HASH_VERSION,
        "ngram_size": n,
        "min_words": config.min_words,
        "min_unique_words": config.min_unique_words,
        "items": len(items),
        "keys": int(len(keys)),
        "sets": set_info,
    }
    index = DeconIndex(
        ngram_size=n, keys=keys, offsets=offsets, postings=owner, idf=idf, weight=weight,
        words=np.array(words, dtype=np.int32), grams=sizes.astype(np.int32),
        item_sets=np.array([set_of[item.set] for item in items], dtype=np.int16),
        sets=[s.name for s in config.sets], info=info,
    )
    return index, items


def write_index(index: DeconIndex, items: List[EvalItem], folder: str) -> None:
    """Publish the index: items, then arrays, then ``index.json`` (the mark of a complete index)."""
    with dio.AtomicWriter(join(folder, "items.jsonl.gz")) as w:
        encoder = msgspec.json.Encoder()
        for start in range(0, len(items), 4096):
            w.write(b"".join(encoder.encode(item) + b"\n" for item in items[start : start + 4096]))
    items_sha = w.sha256
    arrays = _npz({"keys": index.keys, "offsets": index.offsets, "postings": index.postings, "idf": index.idf,
                   "weight": index.weight, "words": index.words, "grams": index.grams, "item_sets": index.item_sets})
    dio.write_bytes_atomic(join(folder, "ngrams.npz"), arrays)
    digest = hashlib.sha256(f"{items_sha}:{hashlib.sha256(arrays).hexdigest()}".encode()).hexdigest()
    info = {**index.info, "digest": digest}
    dio.write_bytes_atomic(join(folder, "index.json"), msgspec.json.format(msgspec.json.encode(info)) + b"\n")


def _npz(arrays: Dict[str, np.ndarray]) -> bytes:
    """What ``np.savez`` writes, without its time stamps: the same arrays give the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, array in arrays.items():
            entry = io.BytesIO()
            np.lib.format.write_array(entry, np.ascontiguousarray(array), allow_pickle=False)
            z.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), entry.getvalue())
    return buf.getvalue()


def index_digest(folder: str) -> str:
    """The digest ``index.json`` records of the index's content (what the tag manifests' config hash covers)."""
    path = join(folder, "index.json")
    if not dio.exists(path):
        raise ConfigError(f"{folder}: no contamination index here (index.json is missing); build one with `dolma decon index`")
    return str(msgspec.json.decode(dio.read_bytes(path)).get("digest", ""))


def load_index(folder: str) -> DeconIndex:
    """An index written by :func:`write_index`; a folder without one is a one-line error."""
    info_path = join(folder, "index.json")
    if not dio.exists(info_path):
        raise ConfigError(f"{folder}: no contamination index here (index.json is missing); build one with `dolma decon index`")
    info = msgspec.json.decode(dio.read_bytes(info_path))
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ConfigError(f"{info_path}: not a contamination index")
    if info.get("version") != _VERSION or info.get("hash_version") != HASH_VERSION:
        raise ConfigError(f"{info_path}: index version {info.get('version')}/{info.get('hash_version')} is not "
                          f"{_VERSION}/{HASH_VERSION}; rebuild it with this version's `dolma decon index`")
    with np.load(io.BytesIO(dio.read_bytes(join(folder, "ngrams.npz"))), allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    return DeconIndex(ngram_size=int(info["ngram_size"]), sets=[s["name"] for s in info["sets"]], info=info, **arrays)
