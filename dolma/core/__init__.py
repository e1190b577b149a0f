"""What every stage uses: records and their files, paths and I/O (local and S3), typed configs, the executor (a local
process pool or Ray), manifests and environment provenance, errors, and the command runner; plus the tagger API
(``data_types``, ``taggers``, ``registry``) under the module names Dolma gives it, so Dolma plugins import unchanged.

Nothing here imports a stage (``dolma.taggers``, ``dolma.dedup``, ``dolma.mixers``, ``dolma.tokens``, ``dolma.readers``).
"""

from dolma.core.data_types import DocResult, Document, DocumentWithMetadata, Span, TextSlice
from dolma.core.taggers import BaseTagger, BaseTaggerWithMetadata

__all__ = ["BaseTagger", "BaseTaggerWithMetadata", "DocResult", "Document", "DocumentWithMetadata", "Span", "TextSlice"]
