"""The documents taggers read and the spans they return (Dolma's ``dolma.core.data_types``)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import msgspec

__all__ = [
    "Document",
    "DocumentWithMetadata",
    "Span",
    "DocResult",
    "TaggerOutput",
    "TextSlice",
    "InputSpec",
    "InputSpecWithMetadata",
]

# attribute values written for one document by one tagger: {"<type>": [[start, end, score], ...]}
TaggerOutput = Dict[str, List[List[Any]]]


class InputSpec(msgspec.Struct):
    """A documents line as Dolma's readers decode it (``Document.to_spec`` / ``from_spec``)."""

    id: str
    text: str
    source: str = ""
    version: Optional[str] = None


class InputSpecWithMetadata(InputSpec):
    metadata: Optional[Dict[str, Any]] = None


class TextSlice:
    """A region of a text: ``doc[start:end]`` (Dolma's ``TextSlice``; what ``dolma.core.utils`` splitters return)."""

    __slots__ = ("doc", "start", "end")

    def __init__(self, doc: str, start: int, end: int) -> None:
        self.doc = doc
        self.start = start
        self.end = end

    @property
    def text(self) -> str:
        return self.doc[self.start : self.end]

    def to_json(self, text: bool = True) -> Dict[str, Any]:
        return {"start": self.start, "end": self.end, **({"text": self.text} if text else {})}

    def __repr__(self) -> str:
        return f"TextSlice(start={self.start}, end={self.end}, text={self.text!r})"


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

    def to_spec(self) -> InputSpec:
        return InputSpec(source=self.source, version=self.version, id=self.id, text=self.text)

    @classmethod
    def from_spec(cls, spec: InputSpec) -> "Document":
        return cls(source=spec.source, version=spec.version, id=spec.id, text=spec.text)

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

    def to_spec(self) -> InputSpecWithMetadata:
        return InputSpecWithMetadata(
            source=self.source, version=self.version, id=self.id, text=self.text, metadata=self.metadata
        )

    @classmethod
    def from_spec(cls, spec: InputSpec) -> "DocumentWithMetadata":
        return cls(
            source=spec.source,
            version=spec.version,
            id=spec.id,
            text=spec.text,
            metadata=getattr(spec, "metadata", None),
        )

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

    def to_spec(self) -> Dict[str, List[List[Any]]]:
        """The span as an attribute entry, ``{"<experiment>__<tagger>__<type>": [[start, end, score]]}``; needs
        ``experiment`` and ``tagger`` (an AssertionError otherwise, as in Dolma)."""
        assert self.experiment is not None, "a span needs an experiment to become an attribute"
        assert self.tagger is not None, "a span needs a tagger to become an attribute"
        return {f"{self.experiment}__{self.tagger}__{self.type}": [[self.start, self.end, self.score]]}

    def to_json(self, text: Optional[str] = None, window: int = 0) -> Dict[str, Any]:
        out: Dict[str, Any] = {"start": self.start, "end": self.end, "type": self.type, "score": self.score}
        if text is not None:
            out["mention"] = self.mention(text, window)
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

    def to_json(self, with_doc: bool = False, window: int = 0) -> Dict[str, Any]:
        """Dolma's shape: the spans, each with its ``mention`` (the text it covers); the document only with
        ``with_doc`` (``from_json`` needs it)."""
        out: Dict[str, Any] = {"spans": [s.to_json(text=self.doc.text, window=window) for s in self.spans]}
        if with_doc:
            out["doc"] = self.doc.to_json()
        return out

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "DocResult":
        return cls(doc=Document.from_json(d["doc"]), spans=[Span.from_json(s) for s in d["spans"]])

    def __repr__(self) -> str:
        return f"DocResult(doc={self.doc!r}, spans={self.spans!r})"
