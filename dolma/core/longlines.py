"""Decoding one very long JSON line (a document of hundreds of MB) in about twice its size instead of three times.

Decoding a line whole holds its bytes, msgspec's unescaped copy of its text and the text itself at once. Here the
line's top-level values are located without copying (``msgspec.Raw``), the largest one (the text) is decoded a
piece at a time, the line's bytes are released, and only then are the pieces joined: at most the line and its
decoded pieces, then the pieces and the joined text, are held together.

The result is the value ``msgspec.json.decode(line, type=record_type)`` gives; a line this path cannot decode
(not an object, the largest value not a string, anything invalid) is left untouched for the caller to decode
whole, which also says what is wrong with it. Also here: what stages measure of a long text without copying it
(:func:`strip_bounds`, :func:`utf8_length`), and handing the C heap's free memory back.
"""

from __future__ import annotations

import ctypes
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

import msgspec

__all__ = ["decode_long_line", "cut_points", "release_free_memory", "map_large_blocks", "strip_bounds", "utf8_length"]

_FIELDS = msgspec.json.Decoder(Dict[str, msgspec.Raw])
_STR = msgspec.json.Decoder(str)
_ANY = msgspec.json.Decoder()
# where a JSON string's raw content can be cut: before a byte that is in no escape (not a character that may follow
# a backslash, not a hex digit) and starts a character (not a UTF-8 continuation byte); or before a backslash that
# starts an escape (an even run of backslashes before it), unless it is the low half of a surrogate pair
_CUT = re.compile(rb'[^"\\/bfnrtu0-9a-fA-F\x80-\xbf]|(?<!\\)(?:\\\\)*(\\)(?!u[dD][c-fC-F])')


def _libc(name: str) -> Optional[Callable[..., int]]:
    """A C library function from the process's own symbols (libc's among them), not from a library found by name:
    ``ctypes.util.find_library`` runs ``ldconfig -p`` in a subprocess at every call."""
    try:
        return getattr(ctypes.CDLL(None), name)  # type: ignore[no-any-return]
    except (OSError, TypeError, AttributeError):  # not glibc (or no dlopen of the process)
        return None


_TRIM = _libc("malloc_trim")
_MALLOPT = _libc("mallopt")
_M_MMAP_THRESHOLD = -3
_MAPPED_BLOCK = 4 << 20
_mapping = False


def map_large_blocks() -> None:
    """From now on, have glibc map every block of 4 MiB or more on its own (``M_MMAP_THRESHOLD``; elsewhere
    nothing). A line's buffer then grows by remapping, in place: on the heap, a buffer that cannot grow where it
    is gets copied to a larger block and leaves the old one behind, several times its size in all. Called when
    the reader first meets a line longer than a batch."""
    global _mapping
    if not _mapping and _MALLOPT is not None:
        _MALLOPT(_M_MMAP_THRESHOLD, _MAPPED_BLOCK)
        if _reusing:  # back to glibc's default: a long line's freed bytes leave the process
            _MALLOPT(_M_TRIM_THRESHOLD, 128 << 10)
    _mapping = True


_M_TRIM_THRESHOLD = -1
_HEAP_BLOCK = 16 << 20
_HEAP_KEEP = 32 << 20
_reusing = False


def reuse_freed_memory() -> None:
    """Have glibc serve blocks up to 16 MiB from the heap and keep up to 32 MiB of freed heap (elsewhere nothing).
    A stage that allocates and frees arrays of a few MB per batch otherwise gets each from a fresh mapping, whose
    pages the kernel faults in and zeroes every time: dedupe's n-gram run on the 143 MB benchmark (2 processes)
    took 1.35 to 1.55 s of system time for about 300,000 page faults, and 0.85 to 1.0 s for 220,000 with this, at
    the same peak RSS (382 to 387 MB); 32 / 256 MiB saved no more and raised the peak to 390 MB. A line longer
    than a batch still switches to mapped blocks and the default trimming (:func:`map_large_blocks`). Called by
    the driver before it forks the workers, which inherit the settings."""
    global _reusing
    if _MALLOPT is not None and not _mapping:
        _MALLOPT(_M_MMAP_THRESHOLD, _HEAP_BLOCK)
        _MALLOPT(_M_TRIM_THRESHOLD, _HEAP_KEEP)
        _reusing = True


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere nothing). A long line's
    buffer grows by reallocation on the heap, and when it is freed glibc keeps the pages, so the next large
    allocation (the joined text, an array of token ids) would come on top of them: without this the line's bytes
    stay in the process's resident memory after they are let go."""
    if _TRIM is not None:
        _TRIM(0)


def cut_points(content: Any, piece_bytes: int) -> List[int]:
    """Offsets that cut the raw content of a JSON string (between its quotes) into pieces of about ``piece_bytes``
    (at least) that decode separately to the same characters, ending with ``len(content)``."""
    n = len(content)
    cuts: List[int] = []
    pos = 0
    while pos < n:
        target = pos + max(piece_bytes, 1)
        m = _CUT.search(content, target) if target < n else None
        pos = n if m is None else (m.start(1) if m.start(1) >= 0 else m.start())
        cuts.append(pos)
    return cuts


def _is_record(value: Any, record_type: Any) -> Any:
    if record_type is Any or record_type is object or record_type == Dict[str, Any]:
        return value
    return msgspec.convert(value, record_type)


def decode_long_line(line: bytearray, record_type: Any, piece_bytes: int) -> Optional[Any]:
    """The record of ``line`` (one JSON object, a trailing newline allowed) as ``record_type`` (``Any``,
    ``Dict[str, Any]`` or a msgspec Struct), with its largest value, a string, decoded ``piece_bytes`` of JSON at a
    time. ``line`` is emptied once read. ``None``, with ``line`` untouched, when the line does not decode this way."""
    if not (record_type is Any or record_type is object or record_type == Dict[str, Any]
            or (isinstance(record_type, type) and issubclass(record_type, msgspec.Struct))):
        return None
    try:
        fields = _FIELDS.decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if not fields:
        return None
    key = max(fields, key=lambda k: len(fields[k]))
    raw = memoryview(fields[key])
    if len(raw) < 2 or raw[0] != 0x22:  # not a string
        return None
    content = raw[1:-1]
    try:
        values: Dict[str, Any] = {k: ("" if k == key else _ANY.decode(v)) for k, v in fields.items()}
        _is_record(values, record_type)  # wrong types are found before the line is let go
        pieces: List[str] = []
        start = 0
        for end in cut_points(content, piece_bytes):
            pieces.append(_STR.decode(b'"' + content[start:end] + b'"'))
            start = end
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None
    del raw, content, fields
    line.clear()  # the raw values that pointed into it are gone: its memory goes before the text is joined
    release_free_memory()
    values[key] = "".join(pieces)
    del pieces
    release_free_memory()
    return _is_record(values, record_type)


def strip_bounds(text: str, chars: Optional[str] = None, step: int = 1 << 16) -> Tuple[int, int]:
    """``(start, end)`` with ``text[start:end] == text.strip(chars)``, found without copying ``text``."""
    n = len(text)
    start = 0
    while start < n:
        chunk = text[start : start + step]
        kept = chunk.lstrip(chars)
        if kept:
            start += len(chunk) - len(kept)
            break
        start += len(chunk)
    end = n
    while end > start:
        chunk = text[max(start, end - step) : end]
        kept = chunk.rstrip(chars)
        if kept:
            end -= len(chunk) - len(kept)
            break
        end -= len(chunk)
    return start, end


def utf8_length(text: str, start: int = 0, end: Optional[int] = None, step: int = 1 << 20) -> int:
    """``len(text[start:end].encode("utf-8", "surrogatepass"))``, a slice at a time."""
    end = len(text) if end is None else end
    return sum(len(text[k : min(k + step, end)].encode("utf-8", "surrogatepass")) for k in range(start, end, step))
