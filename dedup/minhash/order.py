"""The keeper order: each document's sort key as bytes, so that comparing bytes compares keys.

A cluster keeps the member with the smallest key. The key is the configured fields in turn (``-`` before a field:
descending), then the document's global id (file index, line), so no two documents tie and no arrival order
matters. Per field: a present value is ``0x01`` + its encoding, a missing one ``0x02`` (missing sorts last either
way). Strings (non-strings are written as their JSON) are UTF-8 with ``0x00`` escaped as ``0x00 0xff`` and ended
by ``0x00 0x00``, which keeps their order and makes them prefix-free; ``length`` (code points) is 8 big-endian
bytes. A descending field's encoding has every byte inverted (``255 - b``), which reverses the order of
prefix-free encodings.
"""

from __future__ import annotations

from typing import Any, List, Sequence

import msgspec

__all__ = ["KeeperOrder"]

_INVERT = bytes(255 - b for b in range(256))


class KeeperOrder:
    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = [(f[1:], True) if f.startswith("-") else (f, False) for f in fields]

    def key(self, record: Any, length: int, gid: int) -> bytes:
        out: List[bytes] = []
        for name, descending in self.fields:
            value = length if name == "length" else _value(record, name)
            if value is None:
                out.append(b"\x02")
                continue
            if name == "length":
                enc = int(value).to_bytes(8, "big")
            else:
                text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
                enc = text.encode().replace(b"\x00", b"\x00\xff") + b"\x00\x00"
            out.append(b"\x01" + (enc.translate(_INVERT) if descending else enc))
        out.append(int(gid).to_bytes(8, "big"))
        return b"".join(out)


def _value(record: Any, name: str) -> Any:
    if name.startswith("metadata."):
        meta = getattr(record, "metadata", None)
        return meta.get(name[len("metadata."):]) if isinstance(meta, dict) else None
    return getattr(record, name, None)
