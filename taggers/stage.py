"""The tag stage: run taggers over documents files and write the mirrored attributes files.

One work unit is one documents file. Every tagger runs in the same pass over it; each attribute set
(``experiment``, or one set per tagger when no experiment is named) goes to its own file with one line per
document, in the documents' order, so attributes stay line-aligned with their documents.
"""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

import msgspec

from dolma.core import io as dio
from dolma.core.errors import ConfigError, InputError
from dolma.core.units import MiB, Progress, Resources, Stage, WorkUnit
from dolma.core.manifest import config_hash, manifest_path, read_manifest
from dolma.core.outputs import UnitOutputs, input_entry
from dolma.core.paths import ATTRIBUTES_DIR, CorpusPath, glob_paths, glob_root
from dolma.core.records import QUARANTINE_SUFFIX, BadLine, DocumentRecord, DocumentsReader, is_side_file
from dolma.core.data_types import Document, DocumentWithMetadata, TaggerOutput
from dolma.core.taggers import BaseTagger
from dolma.taggers.config import TagConfig
from dolma.taggers.span_arrays import SpanArray
from dolma.core.registry import TaggerSpec, load_plugins, tagger_spec

__all__ = ["TagStage", "AttributeSet", "variable_name"]

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")


def variable_name(name: str) -> str:
    """Dolma's attribute-name spelling: anything but letters, digits and ``_`` becomes ``_``."""
    return _NOT_IDENTIFIER.sub("_", name)


@dataclass(frozen=True)
class AttributeSet:
    """Taggers whose attributes share one output file; keys are ``<key_prefix>__<tagger>__<type>``."""

    folder: str  # the name under attributes/
    key_prefix: str
    taggers: Tuple[str, ...]


@dataclass(frozen=True)
class _Output:
    path: str
    attribute_set: AttributeSet



class TagStage(Stage[Tuple["_Output", ...]]):
    name = "tag"
    @property
    def resources(self) -> Resources:  # type: ignore[override]
        """256 MB (a worker peaked at ~180 MB with lid.176 and the Gopher taggers on ordinary documents) and what
        its most demanding tagger holds per byte of a document as large as ``max_document_bytes``; for big models
        of one's own, set `executor.memory_per_worker_mb`."""
        per_byte = max(spec.cls.memory_per_document_byte for spec in self._resolve_specs().values())
        return Resources.for_documents(256 * MiB, per_byte, self.config.max_document_bytes)

    def __init__(self, config: TagConfig) -> None:
        if not config.documents:
            raise ConfigError("missing required key `documents`: give at least one documents path or glob")
        if not config.taggers:
            raise ConfigError("missing required key `taggers`: name at least one tagger (`dolma list` shows them)")
        self.config = config
        self.sets = self._attribute_sets(config)
        self._taggers: Dict[str, BaseTagger] = {}
        self._specs: Dict[str, TaggerSpec] = {}

    def __getstate__(self) -> Dict[str, Any]:
        # tagger classes may live in plugin modules a fresh worker has not imported yet: rebuilt in setup()
        return {**self.__dict__, "_taggers": {}, "_specs": {}}

    @staticmethod
    def _attribute_sets(config: TagConfig) -> List[AttributeSet]:
        if config.experiment is not None:
            taggers = tuple(dict.fromkeys(config.taggers))
            return [AttributeSet(config.experiment, variable_name(config.experiment), taggers)]
        return [AttributeSet(name, variable_name(name), (name,)) for name in dict.fromkeys(config.taggers)]

    # --- planning (in the parent) -------------------------------------------------------------------------

    def setup_plugins(self) -> None:
        """Import plugins and check every tagger name, before any file is read."""
        load_plugins(self.config.tagger_modules)
        self._resolve_specs()

    def _resolve_specs(self) -> Dict[str, TaggerSpec]:
        if not self._specs:
            options = self.config.tagger_options
            self._specs = {name: tagger_spec(name, options.get(name)) for name in dict.fromkeys(self.config.taggers)}
        return self._specs

    def units(self) -> List[WorkUnit]:
        units: List[WorkUnit] = []
        seen: Dict[str, str] = {}
        planned: Set[str] = set()
        for i, pattern in enumerate(self.config.documents):
            matches = glob_paths(pattern)
            if not matches:
                raise ConfigError(f"`documents`: no files match {pattern!r}")
            root = glob_root(pattern)
            for path in matches:
                if is_side_file(path):
                    continue  # our own side files, when outputs are written next to the inputs
                if path in planned:
                    continue  # matched by two patterns: tag it once
                planned.add(path)
                outputs = tuple(_Output(self._output_path(path, i, root, s), s) for s in self.sets)
                for out in outputs:
                    if out.path in seen and seen[out.path] != path:
                        raise ConfigError(f"{seen[out.path]} and {path} would both write {out.path}")
                    seen[out.path] = path
                size = dio.schedule_size(path)
                units.append(WorkUnit(key=path, size=size, payload=outputs, outputs=tuple(o.path for o in outputs),
                                      inputs=(path,)))
        return units

    def _output_path(self, path: str, index: int, root: str, attribute_set: AttributeSet) -> str:
        dest = self.config.destination
        if dest is None:
            return CorpusPath.parse(path).sibling(ATTRIBUTES_DIR, attribute_set.folder)
        folder = dest[index] if len(dest) > 1 else dest[0]
        rel = path[len(root) :] if path.startswith(root) else path.rsplit("/", 1)[-1]
        return folder.rstrip("/") + "/" + rel

    def _config_for(self, attribute_set: AttributeSet) -> Dict[str, Any]:
        """What determines an output's content, and so its manifest's hash."""
        config: Dict[str, Any] = {
            "stage": self.name,
            "attribute_set": attribute_set.folder,
            "key_prefix": attribute_set.key_prefix,
            "taggers": list(attribute_set.taggers),
            "on_error": self.config.on_error,
        }
        specs = self._resolve_specs()
        # only taggers with options or instance names add to the hash, so other outputs keep their hashes
        options = {name: d for name in attribute_set.taggers if (d := specs[name].describe())}
        if options:
            config["tagger_options"] = options
        return config

    def is_done(self, unit: WorkUnit) -> bool:
        for out in unit.payload:
            manifest = read_manifest(manifest_path(out.path))
            if manifest is None or manifest.config_hash != config_hash(self._config_for(out.attribute_set)):
                return False
            if not dio.exists(out.path):
                return False
        return True

    # --- work (in a worker) -------------------------------------------------------------------------------

    def setup(self) -> None:
        load_plugins(self.config.tagger_modules)
        self._taggers = {name: spec.build() for name, spec in self._resolve_specs().items()}

    def run(self, unit: WorkUnit, progress: Progress) -> Dict[str, int]:
        outputs: Sequence[_Output] = unit.payload
        counts = {"documents_in": 0, "documents_out": 0, "documents_quarantined": 0, "bytes_in": 0, "spans": 0}
        reader = DocumentsReader(unit.key, max_document_bytes=self.config.max_document_bytes)
        # bad lines go beside the first attribute set's file
        with UnitOutputs(self.name, self.config, quarantine=outputs[0].path + QUARANTINE_SUFFIX) as files:
            writers = [files.open(out.path) for out in outputs]
            for batch in reader:
                items = batch.items
                bad = [item for item in items if isinstance(item, BadLine)]
                failing = [b for b in bad if not b.oversized]
                if failing and self.config.on_error == "fail":
                    raise InputError(unit.key, failing[0].line, failing[0].reason)
                records: List[DocumentRecord] = [item for item in items if not isinstance(item, BadLine)]
                with _gc_paused():
                    counts["spans"] += self._tag_and_write(unit.key, batch.first_line, items, records, writers)
                files.quarantine(unit.key, bad)
                counts["documents_in"] += len(items)
                counts["documents_out"] += len(records)
                counts["documents_quarantined"] += len(bad)
                counts["bytes_in"] += batch.nbytes
                progress.update(docs=len(items), nbytes=batch.nbytes)
        inputs = [input_entry(reader)]
        for out in outputs:
            config = self._config_for(out.attribute_set)
            files.write_manifest(manifest_path(out.path), config, inputs, [out.path], counts)
        return counts

    def _tag_and_write(
        self, path: str, first_line: int, items: List[Any], records: List[DocumentRecord], writers: List[dio.AtomicWriter]
    ) -> int:
        """Tag a batch and write its attribute lines; returns the number of values written."""
        spans = 0
        for writer, attrs in zip(writers, self._tag(path, first_line, items, records)):
            _write_lines(writer, _attribute_lines(items, attrs))
            spans += sum([sum(map(len, doc_attrs.values())) for doc_attrs in attrs])
        return spans

    def _tag(
        self, path: str, first_line: int, items: List[Any], records: List[DocumentRecord]
    ) -> List[List[Dict[str, List[List[Any]]]]]:
        """For each attribute set, one attributes dict per good record."""
        docs: Optional[List[Document]] = None
        docs_meta: Optional[List[DocumentWithMetadata]] = None
        per_set: List[List[Dict[str, List[List[Any]]]]] = []
        for attribute_set in self.sets:
            attrs: List[Dict[str, List[List[Any]]]] = [{} for _ in records]
            for name in attribute_set.taggers:
                tagger = self._taggers[name]
                if tagger.wants_metadata:
                    if docs_meta is None:
                        docs_meta = [_to_document_with_metadata(r) for r in records]
                    batch: Sequence[Document] = docs_meta
                else:
                    if docs is None:
                        docs = [Document(_source(r), r.id, r.text, r.version, r.added, r.created) for r in records]
                    batch = docs
                outputs = self._tag_batch(tagger, name, batch, path, first_line, items)
                keys = _PrefixedKeys(f"{attribute_set.key_prefix}__{variable_name(name)}__")
                if len(attribute_set.taggers) == 1:
                    attrs = [{keys[kind]: values for kind, values in output.items()} for output in outputs]
                else:  # two tagger names may spell the same key (`a-b`, `a_b`): their values join
                    for out, output in zip(attrs, outputs):
                        for kind, values in output.items():
                            key = keys[kind]
                            if key in out:
                                out[key] = out[key] + values
                            else:
                                out[key] = values
            per_set.append(attrs)
        return per_set

    @staticmethod
    def _tag_batch(
        tagger: BaseTagger, name: str, docs: Sequence[Document], path: str, first_line: int, items: List[Any]
    ) -> List[TaggerOutput]:
        try:
            outputs = tagger.tag_batch(docs)
        except Exception as exc:
            # find the document that breaks the tagger, to name its line
            lines = [first_line + i for i, item in enumerate(items) if not isinstance(item, BadLine)]
            for doc, line in zip(docs, lines):
                try:
                    tagger.predict(doc)
                except Exception as doc_exc:
                    raise InputError(path, line, f"tagger {name} failed: {type(doc_exc).__name__}: {doc_exc}") from doc_exc
            raise InputError(path, None, f"tagger {name} failed: {type(exc).__name__}: {exc}") from exc
        if len(outputs) != len(docs):
            raise InputError(path, None, f"tagger {name} returned {len(outputs)} results for {len(docs)} documents")
        return outputs


# stands for a SpanArray in a line's JSON: encoded JSON holds no NUL byte (strings escape it as \u0000)
_SPAN_ARRAY_MARK = b"\x00"


def _write_lines(writer: dio.AtomicWriter, lines: List[Dict[str, Any]]) -> None:
    """Encode attribute lines and write them; a SpanArray among the values is written a chunk of spans at a time
    where it belongs, so a document's millions of line spans never exist as Python lists or one JSON string."""
    arrays: List[SpanArray] = []

    def mark(value: Any) -> msgspec.Raw:
        if isinstance(value, SpanArray):
            arrays.append(value)
            return msgspec.Raw(_SPAN_ARRAY_MARK)
        raise NotImplementedError

    encoder = msgspec.json.Encoder(enc_hook=mark)
    data = encoder.encode_lines(lines)
    if not arrays:
        writer.write(data)
        return
    pieces = data.split(_SPAN_ARRAY_MARK)
    del data
    for piece, spans in zip(pieces, arrays):
        writer.write(piece)
        for json in spans.json_pieces(encoder.encode):
            writer.write(json)
    writer.write(pieces[-1])


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch is tagged.

    A batch's attribute values are up to millions of small lists (a score per language per document), and
    their allocation starts collections that walk every live one: they cost more than the model itself on
    ft_lang_id_doc_v1. Tagging and encoding a batch make no reference cycles worth collecting; the values are
    freed by reference counting once written, and the collector resumes with its usual thresholds.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _PrefixedKeys(Dict[str, str]):
    """Span type → attribute key (``<prefix><type>``), each built once."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def __missing__(self, kind: str) -> str:
        key = self[kind] = self.prefix + kind
        return key


def _attribute_lines(items: List[Any], attrs: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One attributes line per input line; ``attrs`` holds one dict per good record, in order."""
    lines: List[Dict[str, Any]] = []
    good = iter(attrs)
    for item in items:
        if isinstance(item, BadLine):
            # keep a line so the attributes file stays aligned with its documents file
            lines.append({"id": item.recovered_id or "", "attributes": {}})
        elif isinstance(item.source, str):  # Dolma's attribute lines repeat the source
            lines.append({"id": item.id, "attributes": next(good), "source": item.source})
        else:
            lines.append({"id": item.id, "attributes": next(good)})
    return lines


def _source(record: DocumentRecord) -> str:
    return record.source if isinstance(record.source, str) else ""


def _to_document_with_metadata(r: DocumentRecord) -> DocumentWithMetadata:
    return DocumentWithMetadata(
        _source(r),
        r.id,
        r.text,
        r.version,
        r.added,
        r.created,
        metadata=r.metadata if isinstance(r.metadata, dict) else None,
    )
