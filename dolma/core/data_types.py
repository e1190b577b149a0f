"""Dolma-compatible import path for the tagger data types."""

from dolma.taggers.base import DocResult, Document, DocumentWithMetadata, Span, TaggerOutput

__all__ = ["DocResult", "Document", "DocumentWithMetadata", "Span", "TaggerOutput"]
