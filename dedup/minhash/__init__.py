"""Near-duplicate documents by MinHash-LSH with verified clusters (``dedupe.minhash``; docs/near_dedup.md)."""
