"""A stream's rules applied to its documents: which documents of a documents file the stream keeps, and how.

For each batch of a documents file, :meth:`StreamRules.batches` merges the attributes of the stream's attribute
sets into each document, drops the documents its filter refuses, replaces scored spans, drops those left shorter
than ``min_text_length``, and records each kept document's provenance. Both the mix and its measuring pass read
their inputs through it, so they keep the same documents.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Protocol, Sequence, Set, Tuple, Union

import msgspec
import numpy as np

from dolma.core.errors import InputError
from dolma.core.longlines import strip_bounds, utf8_length
from dolma.core.manifest import FileEntry
from dolma.core.outputs import input_entry
from dolma.core.records import BadLine, DocumentsReader, LineBatch
from dolma.core.utils import UNICODE_WHITE_SPACE
from dolma.core.units import Progress
from dolma.mixers.attributes import AttributeLines, decode_raw
from dolma.mixers.config import StreamConfig
from dolma.mixers.edited_text import TEXT_PIECE_CHARS, EditedText, edited_length
from dolma.mixers.errors import EvaluationError, RegexTimeout
from dolma.mixers.filters import DocFilter, compile_selector, referenced_names
from dolma.mixers.jq import DEFAULT_REGEX_TIMEOUT, regex_deadline
from dolma.mixers.packed import pack_row
from dolma.mixers import span_arrays
from dolma.mixers.span_arrays import Spans, plain_attribute, raw_spans, replace_span_arrays
from dolma.mixers.spans import SpanError, SpanRule, collect_spans, replace_spans

__all__ = ["StreamRules", "Refused", "Kept", "bump", "document_problem", "record_provenance", "Rule", "stream_rules",
           "SEEN_PREFIX", "rule_count_key"]

SEEN_PREFIX = "attribute seen: "
"""Count key prefix: documents whose attributes hold this key (counted for streams with rules reading attributes)."""


class Rule(NamedTuple):
    """A rule of a stream, as its counts name it: ``label`` (``include[0]``, ``exclude[1]``,
    ``span_replacement[0]``), its expression, and the attribute keys it reads: the names it references, when it
    reads ``attributes``, that have an underscore as attribute keys do (``<set>__<tagger>__<attribute>``,
    ``bff_duplicate_paragraph_spans``), so sub-keys (``toxicity``), jq literals and ``metadata.lang`` are left out;
    none when the expression may read any name (wildcards, recursion)."""

    label: str
    expression: str
    keys: Tuple[str, ...]


def rule_count_key(label: str, what: str) -> str:
    """The count key of a rule's ``what`` (``keys present``, ``matched``, ``dropped``)."""
    return f"rule {label}: {what}"


def _attribute_keys(expression: str, syntax: str) -> Tuple[str, ...]:
    names = referenced_names(expression, syntax)
    if names is None or "attributes" not in names:
        return ()
    return tuple(sorted(n for n in names if "_" in n and n != "attributes"))


def stream_rules(stream: StreamConfig) -> List[Rule]:
    """The rules of ``stream``, in the order their counts are kept."""
    rules: List[Rule] = []
    f = stream.filter
    if f is not None:
        rules += [Rule(f"include[{i}]", e, _attribute_keys(e, f.syntax)) for i, e in enumerate(f.include)]
        rules += [Rule(f"exclude[{i}]", e, _attribute_keys(e, f.syntax)) for i, e in enumerate(f.exclude)]
    rules += [Rule(f"span_replacement[{i}]", r.span, _attribute_keys(r.span, r.syntax))
              for i, r in enumerate(stream.span_replacement)]
    return rules

Kept = List[Tuple[int, Dict[str, Any]]]
"""The documents of a batch that a stream keeps, with their line numbers."""


class Refused(Protocol):
    """Where a unit puts what it refuses: documents a rule drops, and lines that are not documents."""

    def dropped(self, doc: Dict[str, Any], reason: str, path: str, line: int) -> None: ...

    def quarantine(self, path: str, line: int, reason: str, item: Any) -> None: ...


def bump(counts: Dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def document_problem(doc: Any) -> Optional[str]:
    """Why a line is not a document (None: it is one)."""
    if isinstance(doc, BadLine):
        return doc.reason
    if type(doc) is not dict:
        return f"not a JSON object: {type(doc).__name__}"
    if type(doc.get("id")) is not str:
        return "missing required field `id`" if "id" not in doc else "`id` must be a string"
    if type(doc.get("text")) is not str:
        return "missing required field `text`" if "text" not in doc else "`text` must be a string"
    return None


def record_provenance(doc: Dict[str, Any], path: str, line: int) -> None:
    """``metadata.provenance`` of a kept document: the file and line it came from."""
    metadata = doc.get("metadata")
    if metadata is None:
        doc["metadata"] = {"provenance": f"{path}:{line}"}
    elif isinstance(metadata, dict):
        metadata["provenance"] = f"{path}:{line}"
    else:
        raise InputError(path, line, f"`metadata` must be an object to record provenance, not {type(metadata).__name__}")


def text_length(text: Union[str, EditedText]) -> int:
    """What ``min_text_length`` compares, as Dolma measures it: the UTF-8 bytes of the text with the white space
    (Unicode's White_Space characters) at either end trimmed (a long text measured without copying it)."""
    if type(text) is EditedText:
        return edited_length(text, UNICODE_WHITE_SPACE, TEXT_PIECE_CHARS)
    if len(text) <= span_arrays.LONG_TEXT_CHARS:
        return len(text.strip(UNICODE_WHITE_SPACE).encode("utf-8", "surrogatepass"))
    return utf8_length(text, *strip_bounds(text, UNICODE_WHITE_SPACE))


class StreamRules:
    """A stream's filter, span replacements and minimum text length, compiled (closures: built in each worker,
    never pickled); ``on_error`` says whether a line that is not a document fails the unit or is quarantined."""

    def __init__(
        self,
        stream: StreamConfig,
        on_error: str,
        regex_timeout: float = DEFAULT_REGEX_TIMEOUT,
        max_document_bytes: Optional[int] = None,
    ) -> None:
        f = stream.filter
        # jq expressions can run user regexes (`test`): each document's get `regex_timeout` seconds in all
        jq = (f is not None and f.syntax == "jq") or any(r.syntax == "jq" for r in stream.span_replacement)
        self.regex_timeout: Optional[float] = regex_timeout if jq else None
        self.name = stream.name
        self.filter = DocFilter(f.include, f.exclude, f.syntax) if f is not None else None
        self.spans = [
            SpanRule(r.span, compile_selector(r.span, r.syntax), r.min_score, r.max_score, r.replacement)
            for r in stream.span_replacement
        ]
        self.min_len = stream.output.min_text_length or 0
        self.skip_bad = on_error == "skip"
        self.max_document_bytes = max_document_bytes
        # attribute values are decoded only when an expression can read them, the rest pass through as raw
        # JSON; span selectors' values only for documents the filter keeps (None: any name may be read)
        self.filter_names: Optional[Set[str]] = set() if self.filter is None else self.filter.names
        names: Optional[Set[str]] = set()
        for r in stream.span_replacement:
            more = referenced_names(r.span, r.syntax)
            names = None if names is None or more is None else names | more
        self.span_names = names
        # the attribute names rules read (None: any), whose values stay raw JSON (long documents pack the others)
        self.read_names = None if self.filter_names is None or names is None else self.filter_names | names
        # per span rule: the attribute it selects whole, if that is all it does (long texts' spans are read as arrays)
        plain = [plain_attribute(r.span, r.syntax) for r in stream.span_replacement]
        # names the other span rules read (None: any), whose values they need decoded
        others: Optional[Set[str]] = set()
        for r, name in zip(stream.span_replacement, plain):
            more = referenced_names(r.span, r.syntax) if name is None else set()
            others = None if others is None or more is None else others | more
        self.plain_spans = [name if others is not None and name not in others else None for name in plain]
        # per rule: its count keys, and the attribute keys whose presence is counted
        self.rules = stream_rules(stream)
        self._filter_rules = len(f.include) + len(f.exclude) if f is not None else 0
        self._matched = [rule_count_key(r.label, "matched") for r in self.rules]
        self._dropped = [rule_count_key(r.label, "dropped") for r in self.rules]
        self._present = [(rule_count_key(r.label, "keys present"), r.keys) for r in self.rules if r.keys]

    def batches(
        self, doc_path: str, attr_paths: Sequence[str], inputs: List[FileEntry], side: Optional[Refused], progress: Progress
    ) -> Iterator[Tuple[Kept, Dict[str, int]]]:
        """Per batch of ``doc_path``: the (line, document) pairs the stream keeps, and the batch's counts. Once
        the file is read, its entry and its attribute files' go to ``inputs``."""
        reader = DocumentsReader(doc_path, record_type=Any, max_document_bytes=self.max_document_bytes)
        attr_readers = [AttributeLines(p, doc_path, self.filter_names) for p in attr_paths]
        for batch in reader:
            kept, counts = self._batch(batch, doc_path, attr_readers, side)
            progress.update(docs=len(batch.items), nbytes=batch.nbytes)
            yield kept, counts
        for a in attr_readers:
            a.finish()
        inputs.append(input_entry(reader))
        inputs.extend(a.entry() for a in attr_readers)

    def _batch(
        self, batch: LineBatch, doc_path: str, attr_readers: List[AttributeLines], side: Optional[Refused]
    ) -> Tuple[Kept, Dict[str, int]]:
        counts = {"documents_in": len(batch.items), "bytes_in": batch.nbytes, "documents_kept": 0,
                  "documents_quarantined": 0, "spans_replaced": 0, "copies_added": 0}
        for count_key, _ in self._present:
            counts[count_key] = 0
        long = [i for i, doc in enumerate(batch.items) if _long_text(doc)] if self.read_names is not None else []
        attr_rows = []
        for a in attr_readers:  # a long document's values that no rule reads are packed before the next file's row
            rows = a.take(len(batch.items), batch.first_line)
            for i in long:
                pack_row(rows[i], self.read_names)  # type: ignore[arg-type]
            attr_rows.append(rows)
            del rows
        keysets: Dict[Tuple[str, ...], int] = {}  # documents per set of attribute keys (few distinct sets)
        kept: Kept = []
        for offset, doc in enumerate(batch.items):
            line = batch.first_line + offset
            problem = document_problem(doc)
            if problem is not None:
                if not self.skip_bad and not (isinstance(doc, BadLine) and doc.oversized):
                    raise InputError(doc_path, line, problem)
                counts["documents_quarantined"] += 1
                if side is not None:
                    side.quarantine(doc_path, line, problem, doc)
                continue
            if attr_rows:
                _merge_attributes(doc, attr_readers, attr_rows, offset, line)
            if self._present:
                attributes = doc.get("attributes")
                if type(attributes) is dict:
                    keyset = tuple(attributes)
                    keysets[keyset] = keysets.get(keyset, 0) + 1
            if self.regex_timeout is not None:
                regex_deadline(self.regex_timeout)
            try:
                reason = self._refusal(doc, counts, bool(attr_rows))
            except RegexTimeout as exc:
                if not self.skip_bad:
                    raise InputError(doc_path, line, f"stream {self.name!r}: {exc}") from None
                counts["documents_quarantined"] += 1
                if side is not None:
                    side.quarantine(doc_path, line, f"stream {self.name!r}: {exc}", doc)
                continue
            except (EvaluationError, SpanError) as exc:
                raise InputError(doc_path, line, f"stream {self.name!r}: {exc}") from None
            finally:
                if self.regex_timeout is not None:
                    regex_deadline(None)
            if reason is not None:
                bump(counts, "dropped: " + reason)
                if side is not None:
                    side.dropped(doc, reason, doc_path, line)
                continue
            record_provenance(doc, doc_path, line)
            kept.append((line, doc))
        if keysets:
            self._count_keys(keysets, counts)
        return kept, counts

    def _count_keys(self, keysets: Dict[Tuple[str, ...], int], counts: Dict[str, int]) -> None:
        """From the documents per set of attribute keys: documents holding each key, and holding all the keys of
        each rule."""
        for keyset, n in keysets.items():
            for key in keyset:
                counts[SEEN_PREFIX + key] = counts.get(SEEN_PREFIX + key, 0) + n
            held = set(keyset)
            for count_key, keys in self._present:
                if held.issuperset(keys):
                    counts[count_key] += n

    def _refusal(self, doc: Dict[str, Any], counts: Dict[str, int], has_attributes: bool) -> Optional[str]:
        """Why the stream drops ``doc`` (None: it keeps it), after replacing its spans in place."""
        if self.filter is not None:
            matched: List[int] = []
            reason = self.filter.reason(doc, matched)
            for i in matched:
                bump(counts, self._matched[i])
            if reason is not None:
                if matched and matched[-1] >= len(self.filter.include):
                    bump(counts, self._dropped[matched[-1]])
                return reason
        if self.spans and len(doc["text"]) > span_arrays.LONG_TEXT_CHARS:
            self._replace_long(doc, counts, has_attributes)
        elif self.spans:
            if has_attributes:
                decode_raw(doc["attributes"], self.span_names)
            spans = collect_spans(doc, self.spans)
            for i in {i for _, _, i in spans}:
                bump(counts, self._matched[self._filter_rules + i])
            if spans:
                doc["text"], replaced = replace_spans(doc["text"], spans, self.spans)
                counts["spans_replaced"] += replaced
        if self.min_len and text_length(doc["text"]) < self.min_len:
            return "min_text_length"
        return None


    def _replace_long(self, doc: Dict[str, Any], counts: Dict[str, int], has_attributes: bool) -> None:
        """Span replacement for a long text: what the rules select as arrays (see :mod:`dolma.mixers.span_arrays`),
        through the plain path for rules or attributes of another shape."""
        attributes = doc.get("attributes")
        if len(self.spans) == 1 and self._replace_in_order(doc, attributes, counts, has_attributes):
            return
        arrays: List[Spans] = []
        fast: Set[str] = set()
        slow: List[int] = []
        for i, (rule, name) in enumerate(zip(self.spans, self.plain_spans)):
            raw = attributes.get(name) if name is not None and has_attributes and type(attributes) is dict else None
            got = raw_spans(raw, rule.min_score, rule.max_score, len(doc["text"])) if type(raw) is msgspec.Raw else None
            if got is None:
                slow.append(i)
                continue
            starts, ends, rewritten = got
            if rewritten is not None:  # as the plain path writes it: decoded, then encoded
                attributes[name] = rewritten  # type: ignore[index]
            fast.add(name)  # type: ignore[arg-type]
            arrays.append((starts, ends, i))
            del got, starts, ends  # held by `arrays` alone, which replace_span_arrays empties
        if slow:
            if has_attributes:
                names = set(attributes) if self.span_names is None else self.span_names  # type: ignore[arg-type]
                decode_raw(attributes, names - fast)  # type: ignore[arg-type]
            found = collect_spans(doc, [self.spans[i] for i in slow])
            for j, i in enumerate(slow):
                n = len(doc["text"])  # clamped as the plain path clamps them (spans outside the text are dropped)
                mine = [(min(max(a, 0), n + 1), max(min(b, n), -1)) for a, b, k in found if k == j]
                arrays.append(([np.array([a for a, _ in mine], np.int64)], [np.array([b for _, b in mine], np.int64)], i))
        arrays = [a for a in arrays if sum(len(x) for x in a[0])]
        for i in sorted({i for _, _, i in arrays}):
            bump(counts, self._matched[self._filter_rules + i])
        if arrays:
            counts["spans_replaced"] += replace_span_arrays(doc, arrays, self.spans)

    def _replace_in_order(self, doc: Dict[str, Any], attributes: Any, counts: Dict[str, int], has_attributes: bool) -> bool:
        """The stream's one span rule, when it reads one raw attribute whose spans come in the order regions are
        built in (as dedupe writes them): the new text's regions are read from that attribute at each reading, never
        held as arrays (several bytes a span, a good part of the text for millions of spans). False: not so."""
        rule, name = self.spans[0], self.plain_spans[0]
        raw = attributes.get(name) if name is not None and has_attributes and type(attributes) is dict else None
        if type(raw) is not msgspec.Raw:
            return False
        n = len(doc["text"])
        found = span_arrays.in_order(raw, rule.min_score, rule.max_score, n)
        if found is None:
            return False
        if found.rewritten is not None:  # as the plain path writes it: decoded, then encoded
            attributes[name] = raw = found.rewritten
        if found.spans:
            bump(counts, self._matched[self._filter_rules])
        if found.regions:
            lo, hi = rule.min_score, rule.max_score
            regions = partial(span_arrays.ordered_regions, raw, lo, hi, n, 0)
            doc["text"] = EditedText.from_source(doc["text"], regions, [rule.replacement])
            counts["spans_replaced"] += found.regions
        return True


def _long_text(doc: Any) -> bool:
    """Whether a line read is a document whose text takes the long paths."""
    return type(doc) is dict and type(doc.get("text")) is str and len(doc["text"]) > span_arrays.LONG_TEXT_CHARS


def _merge_attributes(
    doc: Dict[str, Any], readers: List[AttributeLines], rows: List[List[Any]], offset: int, line: int
) -> None:
    """Put the attributes of ``doc`` (its row at ``offset`` in each reader's ``rows``) into ``doc["attributes"]``;
    a lone attribute set's row becomes it as it is, when the document has none of its own."""
    if len(readers) == 1 and "attributes" not in doc:
        doc["attributes"] = readers[0].check(rows[0][offset], doc["id"], line)
        return
    merged = doc.get("attributes")
    if not isinstance(merged, dict):
        merged = doc["attributes"] = {}
    for reader, reader_rows in zip(readers, rows):
        merged.update(reader.check(reader_rows[offset], doc["id"], line))
