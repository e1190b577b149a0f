"""A toolkit for building LLM pretraining corpora the way Dolma was built.

The public names here are Dolma's, so a Dolma tagger plugin (``from dolma import BaseTagger, add_tagger``) runs
unchanged.
"""

from dolma.taggers.base import BaseTagger, BaseTaggerWithMetadata, DocResult, Document, DocumentWithMetadata, Span
from dolma.taggers.registry import TaggerRegistry, add_tagger
from dolma.version import __version__

__all__ = [
    "BaseTagger",
    "BaseTaggerWithMetadata",
    "DocResult",
    "Document",
    "DocumentWithMetadata",
    "Span",
    "TaggerRegistry",
    "add_tagger",
    "__version__",
]
