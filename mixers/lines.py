"""The mix's output lines: the JSON lines of a batch's documents, as msgspec writes them.

A long document's line is never held whole: it is a :class:`LongLine`, whose pieces (each value encoded in turn,
its text a slice at a time, an edited text, see :mod:`dolma.mixers.edited_text`, a piece of the new text at a time,
read from the old one) go straight to the output's compressor. On its last reading each value that was written is
let go (the text, each attribute: the raw attribute lines they point into are freed as their last value is
written), unless a copy of the document (up-sampling) is still to be written. msgspec writes a dict as its keys and
values encoded one after the other, and a string character by character, so the pieces join to the line
``encode_lines`` writes.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import msgspec

from dolma.core.longlines import release_free_memory
from dolma.mixers import span_arrays
from dolma.mixers.edited_text import EditedText, edited_measures
from dolma.mixers.packed import PackedRaw, packed_pieces

__all__ = ["LongLine", "encode_document", "encode_documents", "encode_dropped", "text_measures"]

_ENCODER = msgspec.json.Encoder()
_ENCODE = _ENCODER.encode
TEXT_SLICE_CHARS = 1 << 20  # characters of a long text encoded at a time


class LongLine:
    """The JSON line of a long document (its newline included), read as pieces: :meth:`pieces` joins to what
    ``encode_lines([doc])`` writes. Its last reading (``last``) lets the document's values go, with ``release``."""

    __slots__ = ("doc", "release", "_size")

    def __init__(self, doc: Dict[str, Any], release: bool) -> None:
        self.doc = doc
        self.release = release
        self._size: Optional[int] = None

    @property
    def size(self) -> int:
        """The line's length in bytes (measured by encoding it once, without holding it)."""
        if self._size is None:
            self._size = sum(len(piece) for piece in _line_pieces(self.doc, release=False))
            release_free_memory()  # what encoding the pieces left on the heap
        return self._size

    def pieces(self, last: bool) -> Iterator[Any]:
        """The line as bytes-like pieces, in order."""
        return _line_pieces(self.doc, release=last and self.release)


def encode_documents(docs: List[Dict[str, Any]], alone_over: int) -> List[Union[bytes, LongLine]]:
    """The lines of ``docs``, each ending in a newline: runs of lines joined (``encode_lines``), and the line of
    each long document longer than ``alone_over`` bytes as a :class:`LongLine` (one that is not is joined with its
    neighbours: the lines come out as they would all joined, cut only where a line is written alone anyway)."""
    long = [i for i, doc in enumerate(docs) if _is_long(doc.get("text"))]
    if not long:
        return [_ENCODER.encode_lines(docs)] if docs else []
    out: List[Union[bytes, LongLine]] = []
    joined: List[bytes] = []  # encoded lines not yet joined into a run
    done = 0
    for i in long:
        if done < i:
            joined.append(_ENCODER.encode_lines(docs[done:i]))
        doc = docs[i]
        text = doc["text"]
        shared = any(other is not doc and other.get("text") is text for other in docs)  # its up-sampled copies
        del text
        line = LongLine(doc, release=not shared)
        if _longer_than(doc) > alone_over or line.size > alone_over:  # measured only when it has to be
            if joined:
                out.append(b"".join(joined))
                joined = []
            out.append(line)
        else:
            joined.append(b"".join(line.pieces(last=True)))
        done = i + 1
    if done < len(docs):
        joined.append(_ENCODER.encode_lines(docs[done:]))
    if joined:
        out.append(b"".join(joined))
    return out


def _longer_than(doc: Dict[str, Any]) -> int:
    """A length the line of ``doc`` is known to pass without encoding it: its text's, when a string, and its raw
    attribute values'."""
    text = doc.get("text")
    size = len(text) if type(text) is str else 0
    attributes = doc.get("attributes")
    if type(attributes) is dict:
        size += sum(len(value) for value in attributes.values() if type(value) in (msgspec.Raw, PackedRaw))
    return size


def encode_dropped(record: Dict[str, Any]) -> Union[bytes, bytearray]:
    """``encode(record) + b"\\n"`` for a dropped document's record (``reason``, ``provenance``, ``document``): a
    long document is written from its line's pieces, its values let go (nothing reads it afterwards)."""
    doc = record["document"]
    if not _is_long(doc.get("text")):
        return _ENCODE(record) + b"\n"
    out = bytearray(b"{")
    for key, value in record.items():
        if key != "document":
            out += _ENCODE(key) + b":" + _ENCODE(value) + b","
    out += _ENCODE("document") + b":"
    for piece in _line_pieces(doc, release=True):
        out += piece
    del out[-1:]  # the document's newline: the record's closing brace comes first
    out += b"}\n"
    return out


def encode_document(doc: Any) -> bytes:
    """``encode(doc)`` for any line the mix holds (a long document's values may be packed, its text edited)."""
    if type(doc) is not dict or not _is_long(doc.get("text")):
        return _ENCODE(doc)
    return b"".join(_line_pieces(doc, release=False))[:-1]


def _is_long(text: Any) -> bool:
    """Whether a document's text takes the long path: an edited long text, or a long string."""
    return type(text) is EditedText or (type(text) is str and len(text) > span_arrays.LONG_TEXT_CHARS)


def _line_pieces(doc: Dict[str, Any], release: bool) -> Iterator[Any]:
    """``doc``'s line, a piece at a time. With ``release``, each written value leaves ``doc`` (its key stays,
    holding an empty value)."""
    yield b"{"
    for n, key in enumerate(list(doc)):
        yield (b"," if n else b"") + _ENCODE(key) + b":"
        value = doc[key]
        if type(value) is EditedText:  # the new text, from the old one's pieces (never joined)
            yield b'"'
            for piece in value.pieces(TEXT_SLICE_CHARS, consume=release):
                yield _ENCODE(piece)[1:-1]
            yield b'"'
            if release:
                doc[key] = ""
        elif type(value) is str and len(value) > TEXT_SLICE_CHARS:
            yield b'"'
            for k in range(0, len(value), TEXT_SLICE_CHARS):
                yield _ENCODE(value[k : k + TEXT_SLICE_CHARS])[1:-1]
            yield b'"'
            if release:
                doc[key] = ""
        elif type(value) is dict:  # item by item: a whole attributes object would be one more copy
            yield b"{"
            for m, name in enumerate(list(value)):
                yield (b"," if m else b"") + _ENCODE(name) + b":"
                item = value[name]
                if release:
                    value[name] = None
                if type(item) is PackedRaw:
                    yield from packed_pieces(item)
                else:
                    yield item if type(item) is msgspec.Raw else _ENCODE(item)  # raw JSON is written as it is
                del item
            yield b"}"
        else:
            yield _ENCODE(value)
        del value
    yield b"}\n"


def text_measures(text: Union[str, EditedText]) -> Tuple[int, int]:
    """``(len(text.encode("utf-8")), len(text.split()))`` (what a target counts), a slice at a time for a long text."""
    if type(text) is EditedText:
        return edited_measures(text, TEXT_SLICE_CHARS)
    if len(text) <= TEXT_SLICE_CHARS:
        return len(text.encode("utf-8")), len(text.split())
    size = words = 0
    after_word = False  # whether the previous slice ended inside a word
    for k in range(0, len(text), TEXT_SLICE_CHARS):
        piece = text[k : k + TEXT_SLICE_CHARS]
        size += len(piece.encode("utf-8"))
        words += len(piece.split()) - (after_word and not piece[0].isspace())
        after_word = not piece[-1].isspace()
    return size, words
