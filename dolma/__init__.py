"""A toolkit for building LLM pretraining corpora the way Dolma was built.

The public names here are Dolma's, so a Dolma tagger plugin (``from dolma import BaseTagger, add_tagger``) runs
unchanged.
"""

from dolma.core.data_types import DocResult, Document, DocumentWithMetadata, Span
from dolma.core.taggers import BaseTagger, BaseTaggerWithMetadata
from dolma.core.registry import TaggerRegistry, add_tagger
from dolma.core.version import __version__

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
