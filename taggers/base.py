"""The tagger API: documents in, scored spans out.

Names and meanings follow Dolma (``dolma.core.data_types`` and ``dolma.core.taggers``) so a Dolma plugin
module runs unchanged: a tagger subclasses :class:`BaseTagger`, implements :meth:`BaseTagger.predict`, and is
registered with ``@add_tagger("name")``. Taggers that are faster on many documents at once override
:meth:`BaseTagger.predict_batch`; the tag stage calls :meth:`BaseTagger.tag_batch`, which hot taggers override
to return attribute values directly, without a :class:`Span` object per value.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Optional, Sequence

import msgspec

__all__ = [
    "Document",
    "DocumentWithMetadata",
    "Span",
    "DocResult",
    "BaseTagger",
    "BaseTaggerWithMetadata",
    "TaggerOutput",
    "TaggerOptions",
]

# attribute values written for one document by one tagger: {"<type>": [[start, end, score], ...]}
TaggerOutput = Dict[str, List[List[Any]]]


class Document:
    """A document as a tagger sees it."""

    __slots__ = ("source", "version", "id", "text", "added", "created")

    def __init__(
        self,
        source: str,
        id: str,
        text: str,
        version: Optional[str] = None,
        added: Optional[str] = None,
        created: Optional[str] = None,
    ) -> None:
        self.source = source
        self.version = version
        self.id = id
        self.text = text
        self.added = added
        self.created = created

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"source": self.source, "id": self.id, "text": self.text}
        if self.version is not None:
            out["version"] = self.version
        return out

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "Document":
        return cls(source=d.get("source", ""), id=d["id"], text=d["text"], version=d.get("version"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, source={self.source!r}, text={self.text[:40]!r}...)"


class DocumentWithMetadata(Document):
    """A document that also carries its ``metadata`` object (for taggers that read e.g. ``metadata.url``)."""

    __slots__ = ("metadata",)

    def __init__(self, *args: Any, metadata: Optional[Dict[str, Any]] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metadata: Dict[str, Any] = metadata or {}

    def to_json(self) -> Dict[str, Any]:
        return {**super().to_json(), "metadata": self.metadata}

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "DocumentWithMetadata":
        return cls(
            source=d.get("source", ""),
            id=d["id"],
            text=d["text"],
            version=d.get("version"),
            metadata=d.get("metadata"),
        )


class Span:
    """A scored region of a document's text; ``start``/``end`` are code-point offsets, end exclusive."""

    __slots__ = ("start", "end", "type", "score", "experiment", "tagger", "location")

    def __init__(
        self,
        start: int,
        end: int,
        type: str,
        score: float = 1.0,
        experiment: Optional[str] = None,
        tagger: Optional[str] = None,
        location: str = "text",
    ) -> None:
        self.start = start
        self.end = end
        self.type = type
        self.score = float(score)
        self.experiment = experiment
        self.tagger = tagger
        self.location = location

    def mention(self, text: str, window: int = 0) -> str:
        return text[max(0, self.start - window) : min(len(text), self.end + window)]

    def select(self, doc: Document) -> str:
        return doc.text[self.start : self.end]

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"start": self.start, "end": self.end, "type": self.type, "score": self.score}
        if self.experiment is not None:
            out["experiment"] = self.experiment
        if self.tagger is not None:
            out["tagger"] = self.tagger
        return out

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "Span":
        return cls(
            start=d["start"],
            end=d["end"],
            type=d["type"],
            score=d.get("score", 1.0),
            experiment=d.get("experiment"),
            tagger=d.get("tagger"),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Span) and (self.start, self.end, self.type, self.score) == (
            other.start,
            other.end,
            other.type,
            other.score,
        )

    def __repr__(self) -> str:
        return f"Span(start={self.start}, end={self.end}, type={self.type!r}, score={self.score!r})"


class DocResult:
    """What a tagger found in one document."""

    __slots__ = ("doc", "spans")

    def __init__(self, doc: Document, spans: List[Span]) -> None:
        self.doc = doc
        self.spans = spans

    def to_json(self) -> Dict[str, Any]:
        return {"doc": self.doc.to_json(), "spans": [s.to_json() for s in self.spans]}

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "DocResult":
        return cls(doc=Document.from_json(d["doc"]), spans=[Span.from_json(s) for s in d["spans"]])

    def __repr__(self) -> str:
        return f"DocResult(doc={self.doc!r}, spans={self.spans!r})"


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
