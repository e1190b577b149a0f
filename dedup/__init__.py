"""The dedupe stage: a Bloom filter shared by all worker processes marks documents, paragraphs or paragraph
n-grams seen earlier in the corpus, deterministically (the first occurrence in input order is kept)."""

from dolma.dedup.bloom import BloomFilter, BloomParams, hash_keys
from dolma.dedup.config import DedupeConfig

__all__ = ["BloomFilter", "BloomParams", "DedupeConfig", "hash_keys"]
