"""Attribute values that a long document only carries into the output, held compressed until they are written.

A 200 MB document's attribute lines can be larger than its text (c4_v2's line spans, a span per duplicate
paragraph: 1.45 times the text on the benchmark), and the mix held them raw from when it read them to when it wrote
them, next to the old text and the new one. A value that no rule of the stream reads is only copied to the output
as it is, so for a long document (:func:`pack_row`) each such value of a long attribute line is compressed a MiB at
a time (a tenth of it or less for JSON numbers) and the line's bytes let go; :func:`packed_pieces` gives its JSON
back a MiB at a time when the output line is written. The values rules read stay raw JSON, copied out of the line.
"""

from __future__ import annotations

from typing import Any, Iterator, List, Set

import msgspec
from isal import igzip_lib

__all__ = ["PackedRaw", "pack_row", "packed_pieces", "PACK_BYTES"]

PACK_BYTES = 1 << 16  # a value of an attribute line packed is compressed when longer than this, copied otherwise
_CHUNK_BYTES = 1 << 20  # JSON compressed (and given back) at a time


class PackedRaw:
    """Raw JSON, compressed a chunk at a time (each chunk alone, so that it is given back a chunk at a time)."""

    __slots__ = ("chunks", "size")

    def __init__(self, raw: Any) -> None:
        view = memoryview(raw).cast("B")
        self.size = len(view)
        self.chunks: List[bytes] = [
            igzip_lib.compress(view[at : at + _CHUNK_BYTES], level=1, flag=igzip_lib.COMP_DEFLATE)
            for at in range(0, len(view), _CHUNK_BYTES)
        ]

    def __len__(self) -> int:
        return self.size


def packed_pieces(value: PackedRaw) -> Iterator[bytes]:
    """The JSON of ``value``, a chunk at a time."""
    for chunk in value.chunks:
        yield igzip_lib.decompress(chunk, flag=igzip_lib.DECOMP_DEFLATE)


def pack_row(row: Any, read: Set[str]) -> None:
    """Pack the values of an attribute line's row (``row.attributes``, raw values viewing the line's bytes) that
    rules do not ``read``, and copy the others out of the line, so that nothing holds the line's bytes any more;
    a row without a value to pack is left as it is."""
    attributes = getattr(row, "attributes", None)
    if type(attributes) is not dict or not any(
        type(v) is msgspec.Raw and len(v) > PACK_BYTES and k not in read for k, v in attributes.items()
    ):
        return
    for key, value in attributes.items():
        if type(value) is not msgspec.Raw:
            continue
        if len(value) > PACK_BYTES and key not in read:
            attributes[key] = PackedRaw(value)
        else:
            attributes[key] = msgspec.Raw(bytes(value))
        del value
