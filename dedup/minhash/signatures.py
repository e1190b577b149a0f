"""Step 1, one unit per input file: read the documents, shingle them, compute MinHash signatures and band keys.

Publishes the file's signature file (per document: line, shingle hashes, keeper key; per line: id, text
length in code points and bytes; the bad lines) and, per partition, the band keys of its documents
(``key, gid`` rows, key modulo partitions). Signatures themselves are not kept: the band keys are what later
steps need.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import msgspec
import numpy as np

from dolma.core.errors import InputError
from dolma.core.records import BadLine, DocumentsReader
from dolma.core.units import Progress
from dolma.dedup.config import DedupeConfig
from dolma.dedup.minhash.common import Layout, Step, blob
from dolma.dedup.minhash.hashing import Permutations, band_keys, shingle_hashes, token_hashes, word_hashes
from dolma.dedup.minhash.order import KeeperOrder

__all__ = ["SignatureStep"]


def record_type(keep: List[str]) -> Any:
    """The fields a document is decoded into: id, text and what the keeper order reads."""
    names = {f.lstrip("-").split(".")[0] for f in keep} - {"id", "length"}
    return msgspec.defstruct("MinHashDocument", [("id", str), ("text", str)] + [(n, Any, None) for n in sorted(names)])


class SignatureStep(Step):
    step = "signatures"

    def __init__(self, config: DedupeConfig, layout: Layout, digest: str, files: List[str]) -> None:
        super().__init__(config, layout, digest, len(files))
        self.files = files
        self._perm: Any = None
        self._tokenizer: Any = None

    def __getstate__(self) -> Dict[str, Any]:
        return {**self.__dict__, "_perm": None, "_tokenizer": None}

    def unit_inputs(self, i: int) -> Tuple[str, ...]:
        return (self.files[i],)

    def unit_outputs(self, i: int) -> Tuple[str, ...]:
        return (self.layout.signatures(i),) + tuple(self.layout.bands(p, i) for p in range(self.m.partitions))

    def setup(self) -> None:
        self._perm = Permutations(self.m.num_bands * self.m.rows_per_band, self.m.seed)
        if self.m.shingle == "tokens" and self._tokenizer is None:
            from tokenizers import Tokenizer

            assert self.m.tokenizer is not None
            self._tokenizer = Tokenizer.from_file(self.m.tokenizer)

    def _unit_hashes(self, texts: List[str]) -> Tuple[np.ndarray, np.ndarray]:
        if self.m.shingle == "words":
            return word_hashes(texts)
        encoded = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return token_hashes([e.ids for e in encoded])

    def work(self, i: int, progress: Progress) -> Tuple[Dict[str, bytes], Dict[str, int]]:
        if self._perm is None:
            self.setup()
        m = self.m
        path = self.files[i]
        order = KeeperOrder(m.keep)
        reader = DocumentsReader(path, record_type=record_type(m.keep), max_document_bytes=self.config.max_document_bytes)
        ids: List[str] = []
        bad: List[int] = []
        bad_lines: List[List[Any]] = []
        text_len: List[int] = []
        text_bytes: List[int] = []
        lines: List[np.ndarray] = []
        nsh: List[np.ndarray] = []
        shingles: List[np.ndarray] = []
        sigs: List[np.ndarray] = []
        keys: List[bytes] = []
        base = np.uint64(i) << np.uint64(32)
        line = 0
        nbytes = 0
        for batch in reader:
            texts: List[str] = []
            good: List[int] = []
            for item in batch.items:
                if isinstance(item, BadLine):
                    if self.config.on_error == "fail" and not item.oversized:
                        raise InputError(path, item.line, item.reason)
                    bad.append(line)
                    bad_lines.append([line, item.raw.decode("latin-1"), item.reason, item.oversized, item.size])
                    ids.append(item.recovered_id or "")
                    text_len.append(0)
                    text_bytes.append(0)
                else:
                    text = item.text
                    n = len(text)
                    ids.append(item.id)
                    text_len.append(n)
                    text_bytes.append(n if text.isascii() else len(text.encode()))
                    texts.append(text)
                    good.append(line)
                    keys.append(order.key(item, n, int(base) | line))
                line += 1
            nbytes += batch.nbytes
            units, counts = self._unit_hashes(texts)
            sh, per_doc = shingle_hashes(units, counts, m.ngram)
            lines.append(np.asarray(good, dtype=np.int64))
            nsh.append(per_doc)
            shingles.append(sh)
            sigs.append(self._perm.signatures(sh, per_doc))
            progress.update(docs=len(batch.items), nbytes=batch.nbytes)
        all_lines = np.concatenate(lines) if lines else np.zeros(0, np.int64)
        all_nsh = np.concatenate(nsh) if nsh else np.zeros(0, np.int64)
        sig = np.concatenate(sigs) if sigs else np.zeros((0, m.num_bands * m.rows_per_band), np.uint32)
        signed = all_lines[all_nsh > 0].astype(np.uint64) | base
        bands = band_keys(sig, m.num_bands, m.rows_per_band, m.seed)  # (signed documents, bands)
        flat_keys = bands.reshape(-1)
        flat_gids = np.repeat(signed, m.num_bands)
        part = (flat_keys % np.uint64(m.partitions)).astype(np.int64)
        files: Dict[str, bytes] = {}
        key_ends = np.cumsum(np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys)))
        files[self.layout.signatures(i)] = blob(
            lines=all_lines, nsh=all_nsh,
            shingles=np.concatenate(shingles) if shingles else np.zeros(0, np.uint64),
            keys=np.frombuffer(b"".join(keys), dtype=np.uint8), key_ends=key_ends,
            text_len=np.asarray(text_len, dtype=np.int64), text_bytes=np.asarray(text_bytes, dtype=np.int64),
            bad=np.asarray(bad, dtype=np.int64),
            meta={"path": path, "ids": ids, "stored_bytes": reader.stored_bytes, "sha256": reader.sha256,
                  "bytes_in": nbytes, "bad_lines": bad_lines},
        )
        sort = np.argsort(part, kind="stable")
        cuts = np.searchsorted(part[sort], np.arange(m.partitions + 1))
        for p in range(m.partitions):
            rows = sort[cuts[p] : cuts[p + 1]]
            files[self.layout.bands(p, i)] = blob(key=flat_keys[rows], gid=flat_gids[rows])
        counts = {"documents_in": line, "bytes_in": nbytes, "documents_signed": int(len(signed)),
                  "documents_quarantined": len(bad), "shingles": int(all_nsh.sum())}
        return files, counts
