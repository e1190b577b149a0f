"""OmegaConf-style interpolation in config values, resolved by our own parser: nothing is ever evaluated.

Dolma loads its configs through OmegaConf, and its published configs use ``${oc.env:HOME}``. What is understood:

- ``${oc.env:VAR}``: the environment variable ``VAR`` (a string); unset, it is an error naming the key and the
  variable. ``${oc.env:VAR,default}``: the default when ``VAR`` is unset; the default is a string (``5`` → ``"5"``,
  ``''`` → ``""``), except ``null``, which gives no value; it may itself hold interpolations.
- ``${key.sub}``, ``${list_key[0]}``: another key of the same config (after the file and the flags are merged);
  ``${.sibling}`` and ``${..uncle}`` are relative to the key's own mapping, as in OmegaConf. A value that is only an
  interpolation takes the referenced value with its type (a number, a list...); inside a longer string it is
  written into the string (``${oc.env:HOME}/data``). Interpolations nest (``${oc.env:A,${oc.env:B}}``,
  ``${paths.${which}}``).
- ``\\${...}`` is the literal text ``${...}``; ``\\\\${x}`` is a backslash followed by ``x``'s value.
- Any other resolver (``${eval:...}``, ``${oc.decode:...}``) and any cycle (``a: ${b}``, ``b: ${a}``) is a
  one-line :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Optional, Tuple, Union

from dolma.core.errors import ConfigError

__all__ = ["interpolate", "RESOLVERS"]

RESOLVERS = ("oc.env",)
_RESOLVER_NAME = re.compile(r"\s*([A-Za-z_][\w.\-]*)\s*:")
_NULL = object()  # a resolver argument spelled `null`

Path = Tuple[Union[str, int], ...]


class _Interp:
    """``${...}``: a resolver call (``name`` and its argument pieces) or a key path (``name`` None)."""

    __slots__ = ("name", "args", "path", "text")

    def __init__(self, name: Optional[str], args: List[List[Any]], path: List[Any], text: str) -> None:
        self.name, self.args, self.path, self.text = name, args, path, text


class _Parser:
    """Splits a string into literal text and :class:`_Interp` pieces (OmegaConf's grammar, minus what evaluates)."""

    def __init__(self, text: str, where: str) -> None:
        self.s, self.i, self.where = text, 0, where

    def fail(self, why: str) -> ConfigError:
        return ConfigError(f"`{self.where}`: {why} in {self.s!r}")

    def top(self) -> List[Any]:
        out: List[Any] = []
        buf: List[str] = []
        s = self.s
        while self.i < len(s):
            if s.startswith("\\\\${", self.i):  # an escaped backslash, then an interpolation
                buf.append("\\")
                self.i += 2
            elif s.startswith("\\${", self.i):  # an escaped interpolation: literal text
                buf.append("${")
                self.i += 3
            elif s.startswith("${", self.i):
                if buf:
                    out.append("".join(buf))
                    buf = []
                out.append(self.interp())
            else:
                buf.append(s[self.i])
                self.i += 1
        if buf:
            out.append("".join(buf))
        return out

    def interp(self) -> _Interp:
        start = self.i
        self.i += 2  # ${
        m = _RESOLVER_NAME.match(self.s, self.i)
        if m:
            self.i = m.end()
            args = self.args()
            return _Interp(m.group(1), args, [], self.s[start : self.i])
        path = self.until("}")
        if self.i >= len(self.s) or self.s[self.i] != "}":
            raise self.fail("unclosed ${")
        self.i += 1
        return _Interp(None, [], path, self.s[start : self.i])

    def args(self) -> List[List[Any]]:
        """A resolver's comma-separated arguments, up to its closing brace."""
        out: List[List[Any]] = []
        while True:
            out.append(self.arg())
            if self.i >= len(self.s):
                raise self.fail("unclosed ${")
            c = self.s[self.i]
            self.i += 1
            if c == "}":
                return out

    def arg(self) -> List[Any]:
        """One argument: a quoted string, or text and interpolations up to ``,`` or ``}`` (outer spaces trimmed)."""
        s = self.s
        while self.i < len(s) and s[self.i] in " \t":
            self.i += 1
        if self.i < len(s) and s[self.i] in "'\"":
            quote = s[self.i]
            self.i += 1
            pieces: List[Any] = []
            buf: List[str] = []
            while True:
                if self.i >= len(s):
                    raise self.fail("unclosed quote")
                c = s[self.i]
                if c == "\\" and self.i + 1 < len(s) and s[self.i + 1] in (quote, "\\"):
                    buf.append(s[self.i + 1])
                    self.i += 2
                elif c == quote:
                    self.i += 1
                    break
                elif s.startswith("${", self.i):
                    if buf:
                        pieces.append("".join(buf))
                        buf = []
                    pieces.append(self.interp())
                else:
                    buf.append(c)
                    self.i += 1
            if buf:
                pieces.append("".join(buf))
            while self.i < len(s) and s[self.i] in " \t":
                self.i += 1
            return [_Quoted(pieces)]
        pieces = self.until(",}")
        # trim the spaces around an unquoted argument
        if pieces and isinstance(pieces[0], str):
            pieces[0] = pieces[0].lstrip()
        if pieces and isinstance(pieces[-1], str):
            pieces[-1] = pieces[-1].rstrip()
        return [p for p in pieces if p != ""]

    def until(self, stops: str) -> List[Any]:
        """Text and interpolations up to one of ``stops`` (a backslash escapes the next special character)."""
        pieces: List[Any] = []
        buf: List[str] = []
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c == "\\" and self.i + 1 < len(s) and s[self.i + 1] in "\\,}{:$[]'\" ":
                buf.append(s[self.i + 1])
                self.i += 2
            elif s.startswith("${", self.i):
                if buf:
                    pieces.append("".join(buf))
                    buf = []
                pieces.append(self.interp())
            elif c in stops:
                break
            else:
                buf.append(c)
                self.i += 1
        if buf:
            pieces.append("".join(buf))
        return pieces


class _Quoted:
    __slots__ = ("pieces",)

    def __init__(self, pieces: List[Any]) -> None:
        self.pieces = pieces


def _fmt(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<root>"


class _Resolver:
    def __init__(self, root: Dict[str, Any]) -> None:
        self.root = root
        self.done: Dict[Path, Any] = {}
        self.active: List[Path] = []

    # --- walking the tree ----------------------------------------------------------------------------------

    def node(self, value: Any, path: Path) -> Any:
        if isinstance(value, dict):
            return {k: self.value_at(path + (k,)) for k in value}
        if isinstance(value, list):
            return [self.value_at(path + (i,)) for i in range(len(value))]
        return value

    def raw(self, path: Path) -> Any:
        node: Any = self.root
        for p in path:
            node = node[p]
        return node

    def value_at(self, path: Path) -> Any:
        if path in self.done:
            return self.done[path]
        if path in self.active:
            cycle = " -> ".join(_fmt(p) for p in self.active[self.active.index(path) :] + [path])
            raise ConfigError(f"`{_fmt(path)}`: interpolation cycle: {cycle}")
        self.active.append(path)
        try:
            raw = self.raw(path)
            out = self.string(raw, path) if isinstance(raw, str) and "${" in raw else self.node(raw, path)
        finally:
            self.active.pop()
        self.done[path] = out
        return out

    # --- strings -------------------------------------------------------------------------------------------

    def string(self, text: str, path: Path) -> Any:
        pieces = _Parser(text, _fmt(path)).top()
        return self.join(pieces, path)

    def join(self, pieces: List[Any], path: Path) -> Any:
        if len(pieces) == 1 and isinstance(pieces[0], _Interp):
            return self.interp(pieces[0], path)
        # a mapping or list written into a string is written as Python writes it, as OmegaConf does
        return "".join(_to_text(self.interp(p, path)) if isinstance(p, _Interp) else p for p in pieces)

    def interp(self, it: _Interp, path: Path) -> Any:
        if it.name is None:
            key = "".join(str(self.join([p], path)) if isinstance(p, _Interp) else p for p in it.path)
            return self.select(key.strip(), path, it)
        if it.name not in RESOLVERS:
            raise ConfigError(
                f"`{_fmt(path)}`: unknown resolver `{it.name}` in {it.text} (supported: {', '.join(RESOLVERS)}; "
                "nothing in a config is evaluated)"
            )
        args = [self.arg(a, path) for a in it.args]
        if not args or len(args) > 2 or args[0] is _NULL or args[0] == "":
            raise ConfigError(f"`{_fmt(path)}`: {it.text}: oc.env takes a variable name and an optional default")
        var = str(args[0])
        if var in os.environ:
            return os.environ[var]
        if len(args) == 2:
            return None if args[1] is _NULL else _to_text(args[1])
        raise ConfigError(
            f"`{_fmt(path)}`: environment variable {var!r} is not set ({it.text}); set it, or give a default: "
            f"${{oc.env:{var},default}}"
        )

    def arg(self, pieces: List[Any], path: Path) -> Any:
        if len(pieces) == 1 and isinstance(pieces[0], _Quoted):
            return "".join(
                _to_text(self.interp(p, path)) if isinstance(p, _Interp) else p for p in pieces[0].pieces
            )
        if not pieces:
            return ""
        if len(pieces) == 1 and isinstance(pieces[0], str):
            return _primitive(pieces[0])
        return self.join(pieces, path)

    def select(self, key: str, path: Path, it: _Interp) -> Any:
        """The value of ``key``: absolute (``a.b[0]``) or relative to the mapping holding ``path`` (``.b``, ``..b``)."""
        if not key:
            raise ConfigError(f"`{_fmt(path)}`: empty interpolation {it.text}")
        base: Path = ()
        if key.startswith("."):
            dots = len(key) - len(key.lstrip("."))
            parent = path[:-1]
            if dots - 1 > len(parent):
                raise ConfigError(f"`{_fmt(path)}`: {it.text} goes above the top of the config")
            base = parent[: len(parent) - (dots - 1)]
            key = key[dots:]
        target = base + _parse_key(key, path, it)
        node: Any = self.root
        for i, p in enumerate(target):
            if isinstance(node, str) and "${" in node:
                node = self.value_at(target[:i])
            ok = (isinstance(node, dict) and p in node) or (
                isinstance(node, list) and isinstance(p, int) and -len(node) <= p < len(node)
            )
            if not ok:
                raise ConfigError(f"`{_fmt(path)}`: {it.text} names `{_fmt(target)}`, which is not in the config")
            node = node[p]
        return self.value_at(target) if target else self.node(self.root, ())


_KEY_PART = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]|\[([^\]]*)\]")


def _parse_key(key: str, path: Path, it: _Interp) -> Path:
    out: List[Union[str, int]] = []
    i = 0
    while i < len(key):
        if key[i] == ".":
            i += 1
            continue
        m = _KEY_PART.match(key, i)
        if m is None:
            raise ConfigError(f"`{_fmt(path)}`: cannot read the key in {it.text}")
        if m.group(1) is not None:
            part = m.group(1)
            out.append(int(part) if part.isdigit() else part)  # OmegaConf: `list.0` is element 0
        elif m.group(2) is not None:
            out.append(int(m.group(2)))
        else:
            out.append(m.group(3))
        i = m.end()
    return tuple(out)


_INT = re.compile(r"[+-]?(?:0|[1-9]\d*(?:_\d+)*)\Z")
_FLOAT = re.compile(r"[+-]?(?:\d+(?:_\d+)*\.\d*(?:_\d+)*|\.\d+|\d+(?:\.\d*)?[eE][+-]?\d+)\Z")


def _primitive(text: str) -> Any:
    """An unquoted resolver argument typed as OmegaConf's grammar types it (oc.env then writes it as text:
    ``true`` → ``"True"``, ``05`` → ``"5"``, ``1e3`` → ``"1000.0"``)."""
    low = text.lower()
    if low == "null":
        return _NULL
    if low in ("true", "false"):
        return low == "true"
    if _INT.match(text):
        return int(text.replace("_", ""))
    if _FLOAT.match(text):
        return float(text.replace("_", ""))
    return text


def _to_text(value: Any) -> str:
    if value is None or value is _NULL:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def interpolate(data: Dict[str, Any]) -> Dict[str, Any]:
    """``data`` with every ``${...}`` in its strings resolved (a new tree; ``data`` is not changed)."""
    if not _has_interpolation(data):
        return data
    out = _Resolver(data).node(data, ())
    assert isinstance(out, dict)
    return out


def _has_interpolation(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_has_interpolation(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_interpolation(v) for v in value)
    return False
