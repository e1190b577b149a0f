"""The dedupe stage (Bloom filter; document, paragraph and n-gram dedup) arrives with its own issue."""
