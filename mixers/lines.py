"""The mix's output lines: the JSON lines of a batch's documents, as msgspec writes them.

A long document's line is written field by field into one buffer, its text a slice at a time, and each value that
was written is let go (the text, each attribute: the raw attribute lines they point into are freed as their last
value is written), unless a copy of the document (up-sampling) is still to be written. So while the line is built,
what it holds is in memory about once, not twice. msgspec writes a dict as its keys and values encoded one after
the other, and a string character by character, so the line is byte for byte what ``encode_lines`` writes.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple, Union

import msgspec

from dolma.core.longlines import release_free_memory
from dolma.mixers import spanarrays

__all__ = ["encode_documents", "encode_dropped", "text_measures"]

_ENCODER = msgspec.json.Encoder()
_ENCODE = _ENCODER.encode
TEXT_SLICE_CHARS = 1 << 20  # characters of a long text encoded at a time


def encode_documents(docs: List[Dict[str, Any]]) -> Union[bytes, bytearray]:
    """``encode_lines(docs)``: JSON lines, each ending in a newline."""
    limit = spanarrays.LONG_TEXT_CHARS
    long = [i for i, doc in enumerate(docs) if type(doc.get("text")) is str and len(doc["text"]) > limit]
    if not long:
        return _ENCODER.encode_lines(docs) if docs else b""
    out = bytearray()
    done = 0
    for i in long:
        if done < i:
            out += _ENCODER.encode_lines(docs[done:i])
        doc = docs[i]
        text = doc["text"]
        shared = any(other is not doc and other.get("text") is text for other in docs)  # its up-sampled copies
        del text
        _encode_long(doc, out, release=not shared)
        done = i + 1
    if done < len(docs):
        out += _ENCODER.encode_lines(docs[done:])
    release_free_memory()
    return out


def encode_dropped(record: Dict[str, Any]) -> Union[bytes, bytearray]:
    """``encode(record) + b"\\n"`` for a dropped document's record (``reason``, ``provenance``, ``document``): a
    long document is written as in :func:`encode_documents`, its values let go (nothing reads it afterwards)."""
    doc = record["document"]
    text = doc.get("text")
    if not (type(text) is str and len(text) > spanarrays.LONG_TEXT_CHARS):
        return _ENCODE(record) + b"\n"
    del text
    out = bytearray(b"{")
    for key, value in record.items():
        if key != "document":
            out += _ENCODE(key) + b":" + _ENCODE(value) + b","
    out += _ENCODE("document") + b":"
    _encode_long(doc, out, release=True)
    del out[-1:]  # the document's newline: the record's closing brace comes first
    out += b"}\n"
    return out


def _encode_long(doc: Dict[str, Any], out: bytearray, release: bool) -> None:
    """``doc``'s line onto ``out``; with ``release``, each written value leaves ``doc`` (its key stays, holding
    an empty value)."""
    out += b"{"
    for n, key in enumerate(list(doc)):
        if n:
            out += b","
        out += _ENCODE(key)
        out += b":"
        value = doc[key]
        if type(value) is str and len(value) > TEXT_SLICE_CHARS:
            out += b'"'
            for k in range(0, len(value), TEXT_SLICE_CHARS):
                out += _ENCODE(value[k : k + TEXT_SLICE_CHARS])[1:-1]
            out += b'"'
            if release:
                doc[key] = ""
        elif type(value) is dict and release:
            out += b"{"
            for m, name in enumerate(list(value)):
                if m:
                    out += b","
                out += _ENCODE(name)
                out += b":"
                out += _ENCODE(value[name])
                value[name] = None
            out += b"}"
        else:
            out += _ENCODE(value)
        del value
    out += b"}\n"


def text_measures(text: str) -> Tuple[int, int]:
    """``(len(text.encode("utf-8")), len(text.split()))`` (what a target counts), a slice at a time for a long text."""
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
