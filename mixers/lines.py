"""The mix's output lines: the JSON lines of a batch's documents, as msgspec writes them.

A long document's line is written field by field into one buffer, its text a slice at a time (an edited text, see
:mod:`dolma.mixers.edited_text`, a piece of the new text at a time, read from the old one), and each value that
was written is let go (the text, each attribute: the raw attribute lines they point into are freed as their last
value is written), unless a copy of the document (up-sampling) is still to be written. So while the line is built,
what it holds is in memory about once, not twice. msgspec writes a dict as its keys and values encoded one after
the other, and a string character by character, so the line is byte for byte what ``encode_lines`` writes.
"""

from __future__ import annotations

import mmap
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import msgspec

from dolma.core.longlines import release_free_memory
from dolma.mixers import span_arrays
from dolma.mixers.edited_text import EditedText, edited_measures

__all__ = ["encode_documents", "encode_dropped", "text_measures"]

_ENCODER = msgspec.json.Encoder()
_ENCODE = _ENCODER.encode
TEXT_SLICE_CHARS = 1 << 20  # characters of a long text encoded at a time


def encode_documents(docs: List[Dict[str, Any]]) -> Union[bytes, mmap.mmap]:
    """``encode_lines(docs)``: JSON lines, each ending in a newline. With a long document among them, the lines are
    measured first and written into an anonymous mapping of that size, whose pages take memory only as they are
    written (a growing buffer would be copied, on the heap, whenever it could not grow in place)."""
    long = [i for i, doc in enumerate(docs) if _is_long(doc.get("text"))]
    if not long:
        return _ENCODER.encode_lines(docs) if docs else b""
    parts: List[Any] = []  # encoded runs of short documents, and (long document, whether to let its values go)
    done = 0
    for i in long:
        if done < i:
            parts.append(_ENCODER.encode_lines(docs[done:i]))
        doc = docs[i]
        text = doc["text"]
        shared = any(other is not doc and other.get("text") is text for other in docs)  # its up-sampled copies
        del text
        parts.append((doc, not shared))
        done = i + 1
    if done < len(docs):
        parts.append(_ENCODER.encode_lines(docs[done:]))
    size = 0
    for part in parts:
        size += len(part) if isinstance(part, bytes) else _encode_long(part[0], None, release=False)
    release_free_memory()  # what encoding the pieces left on the heap
    out = mmap.mmap(-1, size)
    for part in parts:
        if isinstance(part, bytes):
            out.write(part)
        else:
            _encode_long(part[0], out.write, release=part[1])
    assert out.tell() == size
    del parts
    release_free_memory()
    return out


def encode_dropped(record: Dict[str, Any]) -> Union[bytes, bytearray]:
    """``encode(record) + b"\\n"`` for a dropped document's record (``reason``, ``provenance``, ``document``): a
    long document is written as in :func:`encode_documents`, its values let go (nothing reads it afterwards)."""
    doc = record["document"]
    if not _is_long(doc.get("text")):
        return _ENCODE(record) + b"\n"
    out = bytearray(b"{")
    for key, value in record.items():
        if key != "document":
            out += _ENCODE(key) + b":" + _ENCODE(value) + b","
    out += _ENCODE("document") + b":"
    _encode_long(doc, out.extend, release=True)
    del out[-1:]  # the document's newline: the record's closing brace comes first
    out += b"}\n"
    return out


def _is_long(text: Any) -> bool:
    """Whether a document's text takes the long path: an edited long text, or a long string."""
    return type(text) is EditedText or (type(text) is str and len(text) > span_arrays.LONG_TEXT_CHARS)


def _encode_long(doc: Dict[str, Any], write: Optional[Callable[[bytes], Any]], release: bool) -> int:
    """Write ``doc``'s line through ``write`` (None: only measure it); returns its length. With ``release``, each
    written value leaves ``doc`` (its key stays, holding an empty value)."""
    size = 0

    def put(data: Any) -> None:
        nonlocal size
        size += len(data)
        if write is not None:
            write(data)

    put(b"{")
    for n, key in enumerate(list(doc)):
        put((b"," if n else b"") + _ENCODE(key) + b":")
        value = doc[key]
        if type(value) is EditedText:  # the new text, from the old one's pieces (never joined)
            put(b'"')
            for piece in value.pieces(TEXT_SLICE_CHARS, consume=release):
                put(_ENCODE(piece)[1:-1])
            put(b'"')
            if release:
                doc[key] = ""
        elif type(value) is str and len(value) > TEXT_SLICE_CHARS:
            put(b'"')
            for k in range(0, len(value), TEXT_SLICE_CHARS):
                put(_ENCODE(value[k : k + TEXT_SLICE_CHARS])[1:-1])
            put(b'"')
            if release:
                doc[key] = ""
        elif type(value) is dict:  # item by item: a whole attributes object would be one more copy
            put(b"{")
            for m, name in enumerate(list(value)):
                put((b"," if m else b"") + _ENCODE(name) + b":")
                item = value[name]
                put(item if type(item) is msgspec.Raw else _ENCODE(item))  # raw JSON is written as it is
                del item
                if release:
                    value[name] = None
            put(b"}")
        else:
            put(_ENCODE(value))
        del value
    put(b"}\n")
    return size


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
