"""Deterministic sampling by a hash of the document id.

A rate below 1 keeps the documents whose hash falls under the rate; a rate above 1 emits ``floor(rate)``
copies of every document, plus one more for the hash-chosen fraction. Copies after the first get the id
``<id>-dup<k>``. The hash is seeded with the run's seed and the stream name, so streams sample independently
and a rerun (with any number of processes) picks the same documents.
"""

from __future__ import annotations

import math

import xxhash

__all__ = ["Sampler", "copy_id"]

_SCALE = float(1 << 64)


def copy_id(doc_id: str, k: int) -> str:
    return doc_id if k == 0 else f"{doc_id}-dup{k}"


class Sampler:
    def __init__(self, rate: float, seed: int, stream: str) -> None:
        if not rate >= 0 or math.isinf(rate):
            raise ValueError(f"sampling rate must be a finite number >= 0, got {rate}")
        self.rate = rate
        self.whole = int(math.floor(rate))
        self.fraction = rate - self.whole
        self._salt = f"{seed}:{stream}:".encode("utf-8")

    @property
    def identity(self) -> bool:
        return self.rate == 1.0

    def copies(self, doc_id: str) -> int:
        """How many times the document is written (0 drops it)."""
        if self.fraction == 0.0:
            return self.whole
        u = xxhash.xxh3_64_intdigest(self._salt + doc_id.encode("utf-8", "surrogatepass")) / _SCALE
        return self.whole + (1 if u < self.fraction else 0)
