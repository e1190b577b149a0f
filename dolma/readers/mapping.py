"""Field mapping: records of any shape (Arrow record batches or JSON objects) → Dolma documents.

A document is built as ``id, text, source, added, created, version, metadata`` plus the keys of the ``extra``
field; ``metadata.origin`` records where the record came from. Records that cannot become a document (no text,
an id that is not a string) come back as :class:`Rejected` with their position and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import msgspec
import xxhash

from dolma.core.errors import InputError
from dolma.readers.config import FieldMap
from dolma.core.records import BadLine

__all__ = ["Rejected", "FieldMapper", "derived_id"]

_ROLES = ("id", "text", "source", "added", "created", "version", "extra")
_JSON = msgspec.json.Decoder()


@dataclass(frozen=True)
class Rejected:
    """A record that is not a document: its file, 1-based line (JSON lines) or ``None``, and why."""

    file: str
    line: Optional[int]
    reason: str
    raw: str
    oversized: bool = False  # over max_document_bytes: quarantined whatever on_error says

    def error(self) -> InputError:
        return InputError(self.file, self.line, self.reason)


def derived_id(source: str, rel: str, position: Union[int, str]) -> str:
    """An id that depends only on the source name, the input's path below its root and the record's position,
    so the same import gives the same ids wherever the files live."""
    return xxhash.xxh3_128_hexdigest(f"{source}\x00{rel}\x00{position}".encode("utf-8", "surrogatepass"))


def _as_object(value: Any) -> Optional[Dict[str, Any]]:
    """A dict, or the JSON text of an object (how Parquet and Arrow exports store free-form metadata)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, (str, bytes)) and value[:1] in ("{", b"{"):
        try:
            obj = _JSON.decode(value)
        except msgspec.DecodeError:
            return None
        return obj if isinstance(obj, dict) else None
    return None


def _describe(value: Any) -> str:
    return "null" if value is None else f"not a string ({type(value).__name__})"


class FieldMapper:
    def __init__(self, fields: FieldMap, source: str) -> None:
        self.fields = fields
        self.source = source
        self.roles: Dict[str, str] = {role: name for role in _ROLES if (name := getattr(fields, role)) is not None}
        self.mapped = set(self.roles.values())
        self.meta_all = "*" in fields.metadata
        self.meta_named = [m for m in fields.metadata if m != "*"]
        for name in self.meta_named:
            if name in self.mapped:
                role = next(r for r, n in self.roles.items() if n == name)
                raise ValueError(f"field `{name}` is mapped to `{role}` and listed in `metadata`")

    # --- columnar inputs ---------------------------------------------------------------------------------

    def check_columns(self, columns: Sequence[str], path: str) -> None:
        """Fail the file when a required or explicitly listed field is not one of its columns."""
        have = set(columns)
        wanted = [(self.fields.text, "text")]
        if self.fields.id is not None:
            wanted.append((self.fields.id, "id"))
        wanted.extend((name, "metadata") for name in self.meta_named)
        for name, role in wanted:
            if name not in have:
                hint = "; set `fields.id: null` to derive ids from the origin" if role == "id" else ""
                raise InputError(
                    path, None, f"field `{name}` (mapped to `{role}`) is not a column; columns: {', '.join(columns)}{hint}"
                )

    def map_batch(self, batch: Any, first_row: int, path: str, rel: str) -> Tuple[List[Dict[str, Any]], List[Rejected]]:
        """Documents from an Arrow record batch whose first row is ``first_row`` (0-based) of ``path``."""
        names = batch.schema.names
        n = batch.num_rows
        column = {name: batch.column(i) for i, name in enumerate(names)}
        values: Dict[str, List[Any]] = {}
        for role, name in self.roles.items():
            if name in column:
                values[role] = column[name].to_pylist()
        meta_cols = [c for c in names if c not in self.mapped] if self.meta_all else self.meta_named
        metas: List[Dict[str, Any]] = batch.select(meta_cols).to_pylist() if meta_cols else [{} for _ in range(n)]
        empty: List[Any] = [None] * n
        docs: List[Dict[str, Any]] = []
        rejected: List[Rejected] = []
        cols = [values.get(role, empty) for role in _ROLES]
        for i, (id_, text, source, added, created, version, extra) in enumerate(zip(*cols)):
            row = first_row + i
            doc = self._build(id_, text, source, added, created, version, extra, metas[i], rel, row, {"file": path, "row": row})
            if isinstance(doc, str):
                rejected.append(Rejected(path, None, f"row {row}: {doc}", _row_text(batch, i)))
            else:
                docs.append(doc)
        return docs, rejected

    # --- JSON lines --------------------------------------------------------------------------------------

    def map_rows(
        self, items: Sequence[Union[Dict[str, Any], BadLine]], first_line: int, path: str, rel: str
    ) -> Tuple[List[Dict[str, Any]], List[Rejected]]:
        """Documents from decoded JSON lines, the first at 1-based ``first_line`` (``BadLine`` for lines that
        are not JSON objects)."""
        docs: List[Dict[str, Any]] = []
        rejected: List[Rejected] = []
        roles = self.roles
        for line, item in enumerate(items, first_line):
            if isinstance(item, BadLine):
                rejected.append(Rejected(path, item.line, item.reason, item.raw.decode("utf-8", "replace"), item.oversized))
                continue
            get = item.get
            if self.meta_all:
                meta = {k: v for k, v in item.items() if k not in self.mapped}
            else:
                meta = {k: item[k] for k in self.meta_named if k in item}
            text_name = roles["text"]
            if text_name not in item:
                doc: Any = f"field `{text_name}` (mapped to `text`) is missing"
            elif "id" in roles and roles["id"] not in item:
                doc = f"field `{roles['id']}` (mapped to `id`) is missing; set `fields.id: null` to derive ids"
            else:
                doc = self._build(
                    *(get(roles[r]) if r in roles else None for r in _ROLES), meta, rel, line, {"file": path, "line": line}
                )
            if isinstance(doc, str):
                rejected.append(Rejected(path, line, doc, msgspec.json.encode(item).decode()))
            else:
                docs.append(doc)
        return docs, rejected

    # --- one record --------------------------------------------------------------------------------------

    def _build(
        self,
        id_: Any,
        text: Any,
        source: Any,
        added: Any,
        created: Any,
        version: Any,
        extra: Any,
        meta: Dict[str, Any],
        rel: str,
        position: int,
        origin: Dict[str, Any],
    ) -> Union[Dict[str, Any], str]:
        if not isinstance(text, str):
            return f"field `{self.fields.text}` (mapped to `text`) is {_describe(text)}"
        if "id" not in self.roles:
            id_ = derived_id(self.source, rel, position)
        elif not isinstance(id_, str):
            if isinstance(id_, int) and not isinstance(id_, bool):
                id_ = str(id_)
            else:
                return f"field `{self.roles['id']}` (mapped to `id`) is {_describe(id_)}"
        doc: Dict[str, Any] = {"id": id_, "text": text, "source": source if source is not None else self.source}
        if added is not None:
            doc["added"] = added
        if created is not None:
            doc["created"] = created
        if version is not None:
            doc["version"] = version
        nested = meta.pop("metadata", None) if "metadata" in meta else None
        if nested is not None:
            obj = _as_object(nested)
            if obj is not None:
                meta = {**obj, **meta}
            else:
                meta["metadata"] = nested
        meta["origin"] = origin
        doc["metadata"] = meta
        if extra is not None:
            obj = _as_object(extra)
            if obj is None:
                return f"field `{self.roles['extra']}` (mapped to `extra`) is not a JSON object"
            for k, v in obj.items():
                doc.setdefault(k, v)
        return doc


def _row_text(batch: Any, i: int) -> str:
    try:
        return msgspec.json.encode(batch.slice(i, 1).to_pylist()[0]).decode()
    except (TypeError, msgspec.EncodeError):
        return repr(batch.slice(i, 1).to_pylist()[0])
