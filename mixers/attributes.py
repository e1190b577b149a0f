"""A documents file's attribute files, read in step with it: line ``n`` of each attributes file belongs to line
``n`` of the documents file and must carry the same id; a file that is missing, shorter or longer is an error that
names both files."""

from __future__ import annotations

import collections
import itertools
from typing import Any, Dict, Iterator, List, Optional, Set

import msgspec

from dolma.core import io as dio
from dolma.core.errors import InputError
from dolma.core.manifest import FileEntry
from dolma.core.outputs import input_entry
from dolma.core.records import BadLine, DocumentsReader

__all__ = ["AttributeLines", "decode_raw"]

_DECODE = msgspec.json.Decoder().decode


def decode_raw(attributes: Dict[str, Any], names: Optional[Set[str]]) -> None:
    """Decode the raw attribute values among ``names`` (all of them when None) in place."""
    for k in attributes if names is None else names:
        v = attributes.get(k)
        if type(v) is msgspec.Raw:
            attributes[k] = _DECODE(v)


class _AttributeLine(msgspec.Struct):
    attributes: Dict[str, msgspec.Raw]
    id: Any = None


class AttributeLines:
    """An attributes file read line by line in step with its documents file. Values stay raw JSON (copied to
    the output as they are) except those named in ``decode`` (all of them when ``decode`` is None)."""

    def __init__(self, path: str, doc_path: str, decode: Optional[Set[str]]) -> None:
        self.path = path
        self.doc_path = doc_path
        self.decode = decode
        if not dio.exists(path):
            raise InputError(path, None, f"attributes file for {doc_path} does not exist")
        self._reader = DocumentsReader(path, record_type=_AttributeLine)
        self._items = self._rows()
        self.taken = 0

    def _rows(self) -> Iterator[Any]:
        """The file's rows, one at a time; a row handed out is held here no more (nor by its batch), so the raw
        values of a long line are freed as soon as the document that took them lets them go."""
        for batch in self._reader:
            rows = collections.deque(batch.items)
            batch.items = []
            while rows:
                yield rows.popleft()

    def take(self, n: int, first_line: int) -> List[Any]:
        """The rows of the next ``n`` lines (those of a batch of documents starting at ``first_line``)."""
        rows = list(itertools.islice(self._items, n))
        self.taken += len(rows)
        if len(rows) < n:
            raise InputError(
                self.path, self.taken + 1, f"attributes file ends before its documents file {self.doc_path} (line {self.taken + 1})"
            )
        return rows

    def check(self, row: Any, doc_id: str, line: int) -> Dict[str, Any]:
        """The attributes of the document ``doc_id`` at ``line`` from its row, which must carry the same id."""
        if isinstance(row, BadLine):
            raise InputError(self.path, line, f"{row.reason} (documents file {self.doc_path}:{line})")
        if row.id != doc_id:
            raise InputError(self.path, line, f"id {row.id!r} does not match id {doc_id!r} at {self.doc_path}:{line}")
        attrs = row.attributes
        decode = self.decode
        if decode is None:
            return {k: _DECODE(v) for k, v in attrs.items()}
        for k in decode:
            v = attrs.get(k)
            if v is not None:
                attrs[k] = _DECODE(v)
        return attrs

    def finish(self) -> None:
        """After the documents file's last line: the attributes file must end too."""
        extra = next(self._items, None)
        if extra is not None:
            raise InputError(self.path, self.taken + 1, f"attributes file has more lines than its documents file {self.doc_path} ({self.taken})")

    def entry(self) -> FileEntry:
        return input_entry(self._reader)
