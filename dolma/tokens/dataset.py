"""Reading token files the way OLMo's ``MemMapDataset`` does, with numpy only.

Files are taken in the order given; each holds ``tokens // seq_len`` instances of ``seq_len`` consecutive
tokens (its tail is dropped), and instance ``i`` of the dataset is found by a binary search over the files'
cumulative instance counts. The dtype and the EOS id come from the manifests ``dolma tokens`` writes beside each
file (or are given). Document boundaries inside an instance come from the EOS token (OLMo's ``doc_lens``) or,
with ids and sources, from the ``.csv.gz`` index.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from dolma.core.errors import ConfigError, InputError
from dolma.core.manifest import manifest_path, read_manifest
from dolma.core.paths import glob_paths, has_glob, is_s3, split_s3

__all__ = ["TokenDataset", "IndexRow", "document_lengths"]

_TOKEN_SUFFIX = ".npy"
_INDEX_SUFFIX = ".csv.gz"


@dataclass(frozen=True)
class IndexRow:
    """A document (or a piece of one) in an instance: ``start``/``end`` are offsets inside the instance."""

    start: int
    end: int
    id: str
    src: str
    loc: int


def document_lengths(tokens: np.ndarray, eos_token_id: int) -> np.ndarray:
    """Lengths of the documents in a sequence, each ending at an EOS (the last one may run past the end), as
    OLMo's ``doc_lens``: they sum to ``len(tokens)``."""
    ends = np.flatnonzero(tokens == eos_token_id) + 1
    if len(ends) == 0 or ends[-1] != len(tokens):
        ends = np.append(ends, len(tokens))
    return np.diff(ends, prepend=0)


def _expand(paths: Sequence[str]) -> List[str]:
    files: List[str] = []
    for p in paths:
        if has_glob(p) or (not is_s3(p) and os.path.isdir(p)) or p.endswith("/"):
            found = [f for f in glob_paths(p if has_glob(p) else p.rstrip("/") + "/*" + _TOKEN_SUFFIX) if f.endswith(_TOKEN_SUFFIX)]
            if not found:
                raise ConfigError(f"no token files ({_TOKEN_SUFFIX}) match {p!r}")
            files.extend(found)
        else:
            files.append(p)
    return files


def _file_bytes(path: str) -> int:
    if is_s3(path):
        from dolma.core import s3
        return s3.size(path)
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        raise InputError(path, None, "no such token file") from None


class TokenDataset:
    """Fixed-length sequences over token files; ``ds[i]`` is an int64 array of ``seq_len`` token ids."""

    def __init__(
        self,
        paths: Union[str, Sequence[str]],
        seq_len: int,
        dtype: Optional[Union[str, np.dtype]] = None,
        eos_token_id: Optional[int] = None,
    ) -> None:
        if seq_len < 1:
            raise ConfigError(f"seq_len must be positive, got {seq_len}")
        self.paths = _expand([paths] if isinstance(paths, str) else list(paths))
        if not self.paths:
            raise ConfigError("a TokenDataset needs at least one token file")
        self.seq_len = seq_len
        meta = [self._manifest_config(p) for p in self.paths]
        self.dtype = self._agree("dtype", dtype, [m.get("dtype") for m in meta])
        eos = self._agree("eos_token_id", eos_token_id, [(m.get("tokenizer") or {}).get("eos_token_id") for m in meta])
        self.eos_token_id: Optional[int] = None if eos is None else int(eos)
        vocab = self._agree("vocab_size", None, [(m.get("tokenizer") or {}).get("vocab_size") for m in meta])
        self.vocab_size: Optional[int] = None if vocab is None else int(vocab)
        self.dtype = np.dtype(self.dtype) if self.dtype is not None else None
        if self.dtype is None:
            raise ConfigError(f"{self.paths[0]}: no manifest says the token dtype; pass dtype=")
        itemsize = self.dtype.itemsize
        sizes = [_file_bytes(p) for p in self.paths]
        for path, size in zip(self.paths, sizes):
            if size % itemsize:
                raise InputError(path, None, f"{size} bytes is not a whole number of {self.dtype.name} tokens")
        counts = np.array([size // itemsize // seq_len for size in sizes], dtype=np.int64)
        self._ends = np.cumsum(counts)  # instance i is in the first file whose end is > i
        self._maps: Dict[int, np.ndarray] = {}
        self._index: Dict[int, Any] = {}

    @staticmethod
    def _manifest_config(path: str) -> Dict[str, Any]:
        manifest = read_manifest(manifest_path(path))
        return manifest.config if manifest is not None else {}

    def _agree(self, key: str, given: Any, found: List[Any]) -> Any:
        known = {str(np.dtype(v)) if key == "dtype" else v for v in found if v is not None}
        if given is not None:
            want = str(np.dtype(given)) if key == "dtype" else given
            if known - {want}:
                raise ConfigError(f"{key}={want} was given, but the token files' manifests say {sorted(known, key=str)}")
            return given
        if len(known) > 1:
            raise ConfigError(f"the token files' manifests disagree on {key}: {sorted(known, key=str)}")
        return next(iter(known), None)

    def __getstate__(self) -> Dict[str, Any]:
        # memory maps would be pickled as copies of their data: each DataLoader worker opens its own
        return {**self.__dict__, "_maps": {}, "_index": {}}

    def __len__(self) -> int:
        return int(self._ends[-1])

    def locate(self, index: int) -> tuple[int, int]:
        """(file number, first token offset in that file) of instance ``index``."""
        n = len(self)
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError(f"instance {index} is out of range for a dataset of {n}")
        f = int(np.searchsorted(self._ends, i, side="right"))
        local = i - (int(self._ends[f - 1]) if f else 0)
        return f, local * self.seq_len

    def _tokens(self, f: int, start: int) -> np.ndarray:
        path = self.paths[f]
        assert self.dtype is not None
        if is_s3(path):
            from dolma.core import s3
            bucket, key = split_s3(path)
            nbytes = self.seq_len * self.dtype.itemsize
            first = start * self.dtype.itemsize
            body = s3.client().get_object(Bucket=bucket, Key=key, Range=f"bytes={first}-{first + nbytes - 1}")["Body"]
            return np.frombuffer(body.read(), dtype=self.dtype)
        mm = self._maps.get(f)
        if mm is None:
            mm = self._maps[f] = np.memmap(path, dtype=self.dtype, mode="r")
        return mm[start : start + self.seq_len]

    def __getitem__(self, index: int) -> np.ndarray:
        f, start = self.locate(int(index))
        return self._tokens(f, start).astype(np.int64)

    def document_lengths(self, index: int) -> np.ndarray:
        if self.eos_token_id is None:
            raise ConfigError("document lengths need eos_token_id (from the manifests or given)")
        return document_lengths(self[index], self.eos_token_id)

    def documents(self, index: int) -> List[IndexRow]:
        """The index rows that overlap instance ``index``, clipped to it (offsets relative to the instance)."""
        f, start = self.locate(int(index))
        starts, ends, rows = self._load_index(f)
        end = start + self.seq_len
        first = int(np.searchsorted(ends, start, side="right"))
        out: List[IndexRow] = []
        for k in range(first, len(rows)):
            if starts[k] >= end:
                break
            doc_id, src, loc = rows[k]
            out.append(IndexRow(max(int(starts[k]), start) - start, min(int(ends[k]), end) - start, doc_id, src, loc))
        return out

    def _load_index(self, f: int) -> Any:
        cached = self._index.get(f)
        if cached is None:
            path = self.paths[f][: -len(_TOKEN_SUFFIX)] + _INDEX_SUFFIX
            from dolma.core import io as dio
            if not dio.exists(path):
                raise InputError(path, None, "no index file next to the token file")
            text = dio.read_bytes(path).decode("utf-8")  # decompressed by its extension
            starts: List[int] = []
            ends: List[int] = []
            rows = []
            for line, row in enumerate(csv.reader(io.StringIO(text)), 1):
                if len(row) != 5:
                    raise InputError(path, line, f"expected 5 fields start,end,id,src,loc, got {len(row)}")
                try:
                    starts.append(int(row[0]))
                    ends.append(int(row[1]))
                    rows.append((row[2], row[3], int(row[4])))
                except ValueError as exc:
                    raise InputError(path, line, f"not a number: {exc}") from None
            cached = self._index[f] = (np.array(starts, np.int64), np.array(ends, np.int64), rows)
        return cached

