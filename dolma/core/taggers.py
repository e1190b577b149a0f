"""The tagger API: documents in, scored spans out.

Names and meanings follow Dolma (``dolma.core.data_types`` and ``dolma.core.taggers``) so a Dolma plugin
module runs unchanged: a tagger subclasses :class:`BaseTagger`, implements :meth:`BaseTagger.predict`, and is
registered with ``@add_tagger("name")``. Taggers that are faster on many documents at once override
:meth:`BaseTagger.predict_batch`; the tag stage calls :meth:`BaseTagger.tag_batch`, which hot taggers override
to return attribute values directly, without a :class:`Span` object per value.
"""

from __future__ import annotations

from typing import Any, ClassVar, List, Optional, Sequence

import msgspec

from dolma.core.data_types import DocResult, Document, DocumentWithMetadata, TaggerOutput

__all__ = ["TaggerOptions", "BaseTagger", "BaseTaggerWithMetadata"]


class TaggerOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of a tagger's options schema (see :attr:`BaseTagger.Options`): unknown options are errors."""


class BaseTagger:
    """Subclass and implement :meth:`predict`; instances are built once per worker with no arguments."""

    # Taggers that need ``metadata`` get DocumentWithMetadata instances (see BaseTaggerWithMetadata).
    wants_metadata: bool = False

    # A tagger with settings names a msgspec Struct here (fields with defaults). The tag stage validates
    # ``tagger_options.<name>`` from the config against it and builds the tagger as ``cls(options)``;
    # ``cls()`` must still work and means the defaults. Taggers without options are built as ``cls()``.
    Options: ClassVar[Optional[type]] = None

    # Peak memory above the worker's baseline per byte of the document being tagged: the tag stage reserves
    # this times ``max_document_bytes`` for its workers on Ray (ours are measured by bench/large_document_memory.py;
    # a plugin that holds more per document, a model's features for instance, says so here).
    memory_per_document_byte: ClassVar[float] = 4.0

    @classmethod
    def content_of(cls, options: Any) -> Optional[str]:
        """A digest of what the options point to (an index file), when the output depends on its content and not
        only on the options: it joins the manifests' config hash, so rebuilding that file in place reruns the
        tagging. None (the default): the options say it all."""
        return None

    @classmethod
    def train(cls, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{cls.__name__} cannot be trained")

    @classmethod
    def test(cls, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{cls.__name__} cannot be tested")

    def predict(self, doc: Document) -> DocResult:
        raise NotImplementedError(f"{type(self).__name__} must implement predict()")

    def predict_batch(self, docs: Sequence[Document]) -> List[DocResult]:
        """Tag many documents; override when a tagger is faster on batches (models, vectorised code)."""
        return [self.predict(doc) for doc in docs]

    @staticmethod
    def group_by_type(result: DocResult) -> TaggerOutput:
        """Spans as attribute values, keyed by span type, in the order the tagger produced them."""
        out: TaggerOutput = {}
        for span in result.spans:
            out.setdefault(span.type, []).append([span.start, span.end, span.score])
        return out

    def tag(self, doc: Document) -> TaggerOutput:
        return self.group_by_type(self.predict(doc))

    def tag_batch(self, docs: Sequence[Document]) -> List[TaggerOutput]:
        """Attribute values of many documents, what the tag stage writes: ``group_by_type`` of each result.

        An override must return exactly that (same types in the same order, same values) — it exists so that
        taggers writing hundreds of values per document (a score per language) skip building Span objects.
        """
        return [self.group_by_type(result) for result in self.predict_batch(docs)]


class BaseTaggerWithMetadata(BaseTagger):
    """A tagger whose ``predict`` receives :class:`DocumentWithMetadata`."""

    wants_metadata = True

    def predict(self, doc: DocumentWithMetadata) -> DocResult:  # type: ignore[override]
        raise NotImplementedError(f"{type(self).__name__} must implement predict()")
