"""Dolma's module name for the sampling tagger: ``RandomNumberTagger`` is our ``random_number_v1``."""

from dolma.taggers.random_number import RandomNumberV1

__all__ = ["RandomNumberTagger"]

RandomNumberTagger = RandomNumberV1
