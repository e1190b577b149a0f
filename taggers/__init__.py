"""The tag stage: the tagger API, the registry with plugin loading, the built-in taggers and the stage itself."""

from dolma.core.data_types import DocResult, Document, DocumentWithMetadata, Span
from dolma.core.taggers import BaseTagger, BaseTaggerWithMetadata
from dolma.core.registry import TaggerRegistry, add_tagger

__all__ = [
    "BaseTagger",
    "BaseTaggerWithMetadata",
    "DocResult",
    "Document",
    "DocumentWithMetadata",
    "Span",
    "TaggerRegistry",
    "add_tagger",
]
