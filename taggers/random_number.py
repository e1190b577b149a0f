"""``random_number_v1``: a uniform number in [0, 1) per document, for sampling with a mixer filter.

Differs from Dolma 1.2.1 on purpose: Dolma draws from a random generator seeded by the worker's process id,
so a rerun, or the same document in another shard, gets another number. Here the number is the document
id's 64-bit xxhash, scaled to [0, 1): the same id always gets the same number, in any process or run, and a
different ``seed`` gives an independent draw.
"""

from __future__ import annotations

import xxhash

from dolma.core.data_types import DocResult, Document, Span
from dolma.core.taggers import BaseTagger
from dolma.core.registry import add_tagger

__all__ = ["RandomNumberV1", "random_number"]

_UNIT = 2.0**-53


def random_number(doc_id: str, seed: int = 0) -> float:
    """A number in [0, 1) that depends only on ``doc_id`` and ``seed``."""
    return (xxhash.xxh64_intdigest(doc_id.encode("utf-8", "surrogatepass"), seed) >> 11) * _UNIT


@add_tagger("random_number_v1")
class RandomNumberV1(BaseTagger):
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def predict(self, doc: Document) -> DocResult:
        return DocResult(doc=doc, spans=[Span(0, len(doc.text), "random", random_number(doc.id, self.seed))])
