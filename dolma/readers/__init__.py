"""Readers and converters at the edge of a corpus: ``dolma import`` (Parquet, Hugging Face datasets, JSONL with
other field names, folders of text / Markdown / HTML files), ``dolma warc`` (web archives) and ``dolma export``
(documents to Parquet or a Hugging Face dataset folder).

Every input becomes Dolma documents shards under ``<destination>/documents/``, each document carrying its origin
(file and row, line or offset) in ``metadata.origin``, so every later stage works on one format and every
document can be traced back to the record it came from.
"""
