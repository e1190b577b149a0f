"""A jq subset for mixer filters and span selectors, parsed once into Python closures (no ``eval``).

Each compiled node is a function from an input value to the list of values it outputs (jq's streams).
Supported: ``.``, ``..``, ``.foo``, ``."foo"``, ``.[e]``, ``.[a:b]``, ``.[]``, postfix ``?``, ``|``, ``,``,
``//``, ``and``/``or``, comparisons, ``+ - * / %``, unary minus, literals, ``[...]``, ``{...}``,
``if/elif/else/end``, ``try``, and the builtins in ``_BUILTINS`` / ``_FUNCTIONS``. Variables, ``reduce``,
``def`` and string interpolation are rejected when the config loads.

Indexing ``null`` gives ``null`` as in jq (``.attributes.missing[0][2]`` is ``null``); indexing a number, a
string with a key, or a boolean is an error unless suppressed with ``?``.
"""

from __future__ import annotations

import json
import math
import re
import time
from functools import cmp_to_key
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import regex

from dolma.mixers.errors import EvaluationError, ExpressionError, RegexTimeout

__all__ = ["compile_jq", "JqProgram", "dolma_truthy", "regex_deadline", "DEFAULT_REGEX_TIMEOUT"]

Node = Callable[[Any], List[Any]]


class JqProgram:
    """A compiled jq program: ``run(value)`` returns its outputs."""

    __slots__ = ("expression", "run", "names")

    def __init__(self, expression: str, run: Node, names: Optional[Set[str]]) -> None:
        self.expression = expression
        self.run = run
        self.names = names  # the field names it can look at; None when it may reach any field


def dolma_truthy(value: Any) -> bool:
    """How Dolma's mixer reads a jq result: null, false, 0, "", [] and {} are false; the rest true."""
    if value is None or value is False:
        return False
    if type(value) in (int, float, str, list, dict):
        return bool(value)
    return True


def _truthy(value: Any) -> bool:
    """jq's own truthiness (inside ``if``, ``and``, ``select``...): only null and false are false."""
    return value is not None and value is not False


_TYPE_RANK = {type(None): 0, bool: 1, int: 3, float: 3, str: 4, list: 5, dict: 6}


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if type(v) is bool:
        return "boolean"
    return {int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(type(v), "unknown")


def _compare(a: Any, b: Any) -> int:
    """jq's total order: null < false < true < numbers < strings < arrays < objects."""
    ra, rb = _TYPE_RANK[type(a)], _TYPE_RANK[type(b)]
    if type(a) is bool:
        ra += int(a)
    if type(b) is bool:
        rb += int(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra in (3, 4):
        return (a > b) - (a < b)
    if ra == 5:
        for x, y in zip(a, b):
            c = _compare(x, y)
            if c:
                return c
        return (len(a) > len(b)) - (len(a) < len(b))
    if ra == 6:
        ka, kb = sorted(a), sorted(b)
        if ka != kb:
            return _compare(ka, kb)
        for k in ka:
            c = _compare(a[k], b[k])
            if c:
                return c
    return 0


_SORT_KEY = cmp_to_key(_compare)


def _num(v: Any) -> bool:
    return type(v) is int or type(v) is float


def _norm(x: Any) -> Any:
    """Integral floats become ints, as jq prints them."""
    if type(x) is float and x.is_integer() and abs(x) < 1e17:
        return int(x)
    return x


# --- runtime operations ------------------------------------------------------------------------------------


def _index(v: Any, k: Any) -> Any:
    if v is None:
        if k is None or type(k) in (str, int, float, dict):
            return None
    elif type(v) is dict:
        if type(k) is str:
            return v.get(k)
    elif type(v) is list:
        if _num(k):
            i = int(math.floor(k))
            if i < 0:
                i += len(v)
            return v[i] if 0 <= i < len(v) else None
        if type(k) is dict:  # slice object {start, end}
            return v[_slice_bound(k.get("start"), len(v)) : _slice_bound(k.get("end"), len(v))]
    elif type(v) is str and type(k) is dict:
        return v[_slice_bound(k.get("start"), len(v)) : _slice_bound(k.get("end"), len(v))]
    shown = json.dumps(k) if type(k) is str else _type_name(k)
    raise EvaluationError(f"cannot index {_type_name(v)} with {shown}")


def _slice_bound(b: Any, n: int) -> Optional[int]:
    if b is None:
        return None
    if not _num(b):
        raise EvaluationError("slice bounds must be numbers")
    return int(math.floor(b))


def _iterate(v: Any) -> List[Any]:
    if type(v) is list:
        return v
    if type(v) is dict:
        return list(v.values())
    raise EvaluationError(f"cannot iterate over {_type_name(v)}")


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    if _num(a) and _num(b):
        return _norm(a + b)
    if type(a) is type(b) and type(a) in (str, list):
        return a + b
    if type(a) is dict and type(b) is dict:
        return {**a, **b}
    raise EvaluationError(f"{_type_name(a)} and {_type_name(b)} cannot be added")


def _sub(a: Any, b: Any) -> Any:
    if _num(a) and _num(b):
        return _norm(a - b)
    if type(a) is list and type(b) is list:
        return [x for x in a if not any(_compare(x, y) == 0 for y in b)]
    raise EvaluationError(f"{_type_name(a)} and {_type_name(b)} cannot be subtracted")


def _mul(a: Any, b: Any) -> Any:
    if _num(a) and _num(b):
        return _norm(a * b)
    if type(a) is str and _num(b):
        return a * int(b) if b > 0 else None
    if type(a) is dict and type(b) is dict:
        return {**a, **b}
    raise EvaluationError(f"{_type_name(a)} and {_type_name(b)} cannot be multiplied")


def _div(a: Any, b: Any) -> Any:
    if _num(a) and _num(b):
        if b == 0:
            raise EvaluationError(f"{a} and {b} cannot be divided because the divisor is zero")
        return _norm(a / b)
    if type(a) is str and type(b) is str:
        return a.split(b) if b else list(a)
    raise EvaluationError(f"{_type_name(a)} and {_type_name(b)} cannot be divided")


def _mod(a: Any, b: Any) -> Any:
    if _num(a) and _num(b):
        if int(b) == 0:
            raise EvaluationError(f"{a} and {b} cannot be divided because the divisor is zero")
        r = abs(int(a)) % abs(int(b))
        return -r if int(a) < 0 else r
    raise EvaluationError(f"{_type_name(a)} and {_type_name(b)} cannot be divided")


_BINARY: Dict[str, Callable[[Any, Any], Any]] = {
    "+": _add,
    "-": _sub,
    "*": _mul,
    "/": _div,
    "%": _mod,
    "==": lambda a, b: _compare(a, b) == 0,
    "!=": lambda a, b: _compare(a, b) != 0,
    "<": lambda a, b: _compare(a, b) < 0,
    "<=": lambda a, b: _compare(a, b) <= 0,
    ">": lambda a, b: _compare(a, b) > 0,
    ">=": lambda a, b: _compare(a, b) >= 0,
}


def _length(v: Any) -> Any:
    if v is None:
        return 0
    if type(v) is bool:
        raise EvaluationError("boolean has no length")
    if _num(v):
        return abs(v)
    return len(v)


def _add_all(v: Any) -> Any:
    acc = None
    for x in _iterate(v):
        acc = _add(acc, x)
    return acc


def _tostring(v: Any) -> str:
    return v if type(v) is str else json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def _tonumber(v: Any) -> Any:
    if _num(v):
        return v
    if type(v) is str:
        try:
            return _norm(float(v))
        except ValueError:
            pass
    raise EvaluationError(f"cannot parse {_tostring(v)!r} as a number")


def _need(v: Any, kind: type, what: str) -> Any:
    if type(v) is not kind:
        raise EvaluationError(f"{_type_name(v)} cannot be used with {what}")
    return v


def _contains(a: Any, b: Any) -> bool:
    if type(a) is dict and type(b) is dict:
        return all(k in a and _contains(a[k], v) for k, v in b.items())
    if type(a) is list and type(b) is list:
        return all(any(_contains(x, y) for x in a) for y in b)
    if type(a) is str and type(b) is str:
        return b in a
    if _TYPE_RANK[type(a)] == _TYPE_RANK[type(b)]:
        return _compare(a, b) == 0
    raise EvaluationError(f"{_type_name(a)} and {_type_name(b)} cannot have their containment checked")


def _math(fn: Callable[[float], float]) -> Callable[[Any], List[Any]]:
    def run(v: Any) -> List[Any]:
        if not _num(v):
            _raise(f"{_type_name(v)} ({json.dumps(v)[:20]}) number required")
        try:
            return [_norm(fn(v))]
        except (ValueError, OverflowError):  # sqrt(-1), log(0): C's NaN / -inf, which jq writes as null
            return [None]

    return run


def _round(x: float) -> float:
    """C's round(): halves away from zero (jq's ``round``)."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def _has(v: Any, k: Any) -> bool:
    if v is None:
        return False
    if type(v) is dict and type(k) is str:
        return k in v
    if type(v) is list and _num(k):
        return 0 <= k < len(v)
    return _raise(f"Cannot check whether {_type_name(v)} has a {_type_name(k)} key")


def _reverse(v: Any) -> Any:
    """jq's ``def reverse: [.[length - 1 - range(0; length)]]``: an array reversed, anything of length 0 ``[]``,
    an error otherwise (a string cannot be indexed by number)."""
    if type(v) is list:
        return v[::-1]
    if v is None or _length(v) == 0:
        return []
    return _raise(f"Cannot index {_type_name(v)} with number")


def _abs(v: Any) -> Any:
    """jq 1.8's ``def abs: if type == "number" and . < 0 then -. else . end``, where ``null < 0`` and booleans
    ``< 0`` too, so negating them fails; strings, arrays and objects pass through."""
    if _num(v):
        return _norm(abs(v))
    if v is None or type(v) is bool:
        return _raise(f"{_type_name(v)} ({json.dumps(v)}) cannot be negated")
    return v


def _entries(v: Any) -> List[Dict[str, Any]]:
    if type(v) is list:
        return [{"key": i, "value": x} for i, x in enumerate(v)]
    return [{"key": k, "value": x} for k, x in _need(v, dict, "to_entries").items()]


def _raise(message: str) -> Any:
    raise EvaluationError(message)


def _type_filter(name: str) -> Callable[[Any], List[Any]]:
    return lambda v: [v] if _type_name(v) == name else []


# zero-argument builtins: value -> list of outputs
_BUILTINS: Dict[str, Callable[[Any], List[Any]]] = {
    "empty": lambda v: [],
    "not": lambda v: [not _truthy(v)],
    "length": lambda v: [_length(v)],
    "utf8bytelength": lambda v: [len(_need(v, str, "utf8bytelength").encode("utf-8"))],
    "add": lambda v: [_add_all(v)],
    "any": lambda v: [any(_truthy(x) for x in _iterate(v))],
    "all": lambda v: [all(_truthy(x) for x in _iterate(v))],
    "keys": lambda v: [sorted(v) if type(v) is dict else list(range(len(_need(v, list, "keys"))))],
    "values": lambda v: [] if v is None else [v],
    "type": lambda v: [_type_name(v)],
    "tostring": lambda v: [_tostring(v)],
    "tonumber": lambda v: [_tonumber(v)],
    "tojson": lambda v: [json.dumps(v, separators=(",", ":"), ensure_ascii=False)],
    "fromjson": lambda v: [json.loads(_need(v, str, "fromjson"))],
    "ascii_downcase": lambda v: [_need(v, str, "ascii_downcase").lower()],
    "ascii_upcase": lambda v: [_need(v, str, "ascii_upcase").upper()],
    "max": lambda v: [max(_need(v, list, "max"), key=_SORT_KEY) if _need(v, list, "max") else None],
    "min": lambda v: [min(_need(v, list, "min"), key=_SORT_KEY) if _need(v, list, "min") else None],
    "sort": lambda v: [sorted(_need(v, list, "sort"), key=_SORT_KEY)],
    "unique": lambda v: [_unique(_need(v, list, "unique"))],
    "reverse": lambda v: [_reverse(v)],
    "first": lambda v: [_index(v, 0)],
    "last": lambda v: [_index(v, -1)],
    "floor": _math(math.floor),
    "ceil": _math(math.ceil),
    "round": _math(_round),
    "sqrt": _math(math.sqrt),
    "fabs": _math(abs),
    "abs": lambda v: [_abs(v)],
    "log": _math(math.log),
    "exp": _math(math.exp),
    "to_entries": lambda v: [_entries(v)],
    "arrays": _type_filter("array"),
    "objects": _type_filter("object"),
    "strings": _type_filter("string"),
    "numbers": _type_filter("number"),
    "booleans": _type_filter("boolean"),
    "nulls": _type_filter("null"),
    "iterables": lambda v: [v] if type(v) in (list, dict) else [],
    "scalars": lambda v: [v] if type(v) not in (list, dict) else [],
    "isnan": lambda v: [_num(v) and math.isnan(v)],
    "recurse": lambda v: _recurse(v),
}


def _unique(items: List[Any]) -> List[Any]:
    out: List[Any] = []
    for x in sorted(items, key=_SORT_KEY):
        if not out or _compare(out[-1], x) != 0:
            out.append(x)
    return out


def _recurse(v: Any) -> List[Any]:
    out: List[Any] = []
    stack = [v]
    while stack:
        x = stack.pop()
        out.append(x)
        if type(x) is list:
            stack.extend(reversed(x))
        elif type(x) is dict:
            stack.extend(reversed(list(x.values())))
    return out


def _regex_flags(flags: Any) -> int:
    if flags is None:
        return 0
    out = 0
    for c in _need(flags, str, "regex flags"):
        if c == "i":
            out |= regex.IGNORECASE
        elif c == "x":
            out |= regex.VERBOSE
        elif c == "s":
            out |= regex.DOTALL
        elif c not in "gnpl":
            raise EvaluationError(f"{flags!r} is not a valid regex flag string")
    return out


_REGEX_CACHE: Dict[Tuple[str, int], Any] = {}

DEFAULT_REGEX_TIMEOUT = 1.0
"""Seconds the user regexes of one document may run, in all, unless the config says otherwise."""


class _Budget:
    """The time left to the user regexes of the document being evaluated (one per process: a worker evaluates one
    document at a time). Outside :func:`regex_deadline` each regex call gets the whole default limit."""

    limit = DEFAULT_REGEX_TIMEOUT
    deadline: Optional[float] = None


def regex_deadline(limit: Optional[float]) -> None:
    """Start the time budget of a document: its user regexes may run ``limit`` seconds in all (None: end it)."""
    if limit is None:
        _Budget.deadline = None
        return
    _Budget.limit = limit
    _Budget.deadline = time.monotonic() + limit


def _regex(pattern: Any, flags: Any) -> Any:
    key = (_need(pattern, str, "test"), _regex_flags(flags))
    rx = _REGEX_CACHE.get(key)
    if rx is None:
        try:
            rx = _REGEX_CACHE[key] = regex.compile(*key)
        except regex.error as exc:
            raise EvaluationError(f"invalid regex {pattern!r}: {exc}") from None
    return rx


def _test(v: Any, pattern: Any, flags: Any = None) -> bool:
    """jq's ``test``, through the ``regex`` module with a time limit (user patterns can backtrack
    catastrophically): past the document's budget it raises :class:`RegexTimeout` naming the pattern."""
    rx = _regex(pattern, flags)
    text = _need(v, str, "test")
    deadline = _Budget.deadline
    left = _Budget.limit if deadline is None else deadline - time.monotonic()
    try:
        if left <= 0:
            raise TimeoutError
        return rx.search(text, timeout=left) is not None
    except TimeoutError:
        raise RegexTimeout(f"regex {pattern!r} ran past the {_Budget.limit:g}s limit per document "
                           "(catastrophic backtracking? see `regex_timeout`)") from None


def _ltrim(v: Any, s: Any) -> Any:
    return v[len(s) :] if type(v) is str and type(s) is str and v.startswith(s) else v


def _rtrim(v: Any, s: Any) -> Any:
    return v[: len(v) - len(s)] if type(v) is str and type(s) is str and s and v.endswith(s) else v


def _join(v: Any, sep: Any) -> str:
    parts = []
    for x in _iterate(v):
        parts.append("" if x is None else x if type(x) is str else _tostring(x))
    return _need(sep, str, "join").join(parts)


# functions whose arguments are evaluated against the input, one call per combination of argument outputs
_VALUE_FUNCTIONS: Dict[Tuple[str, int], Callable[..., Any]] = {
    ("has", 1): _has,
    ("contains", 1): _contains,
    ("inside", 1): lambda v, b: _contains(b, v),
    ("startswith", 1): lambda v, s: _need(v, str, "startswith").startswith(_need(s, str, "startswith")),
    ("endswith", 1): lambda v, s: _need(v, str, "endswith").endswith(_need(s, str, "endswith")),
    ("test", 1): _test,
    ("test", 2): _test,
    ("split", 1): lambda v, s: _need(v, str, "split").split(s) if s else list(v),
    ("join", 1): _join,
    ("ltrimstr", 1): _ltrim,
    ("rtrimstr", 1): _rtrim,
    ("index", 1): lambda v, s: (None if (i := _need(v, str, "index").find(s)) < 0 else i),
    ("pow", 2): lambda v, a, b: _norm(math.pow(a, b)),
}


# --- lexer ---------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<var>\$[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.|\?//|//=|\|=|\+=|-=|\*=|/=|%=|==|!=|<=|>=|//|[.\[\]{}()|,:;<>+\-*/%?=])
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "if", "then", "elif", "else", "end", "try", "catch", "reduce", "foreach", "def", "as",
             "label", "import", "include", "true", "false", "null"}


class _Tok:
    __slots__ = ("kind", "text", "pos")

    def __init__(self, kind: str, text: str, pos: int) -> None:
        self.kind, self.text, self.pos = kind, text, pos


def _lex(expr: str) -> List[_Tok]:
    out: List[_Tok] = []
    i = 0
    while i < len(expr):
        m = _TOKEN.match(expr, i)
        if m is None:
            if expr[i] == '"':
                raise ExpressionError("jq", expr, i, "unterminated string")
            raise ExpressionError("jq", expr, i, f"unexpected character {expr[i]!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, m.group(), i))
        i = m.end()
    out.append(_Tok("eof", "", len(expr)))
    return out


# --- parser ------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.toks = _lex(expr)
        self.k = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.k]

    def fail(self, problem: str, tok: Optional[_Tok] = None) -> ExpressionError:
        return ExpressionError("jq", self.expr, (tok or self.tok).pos, problem)

    def at(self, *texts: str) -> bool:
        t = self.tok
        return t.kind in ("op", "ident") and t.text in texts

    def take(self, text: str) -> _Tok:
        if not self.at(text):
            found = self.tok.text or "end of expression"
            raise self.fail(f"expected {text!r}, found {found!r}")
        t = self.tok
        self.k += 1
        return t

    def program(self) -> Node:
        if self.tok.kind == "eof":
            raise self.fail("empty expression")
        node = self.pipe()
        if self.tok.kind != "eof":
            raise self.fail(f"unexpected {self.tok.text!r}")
        return node

    def pipe(self) -> Node:
        left = self.comma()
        if self.at("as"):
            raise self.fail("variables (`as $x`) are not supported")
        if self.at("|"):
            self.k += 1
            right = self.pipe()
            return lambda v: [y for x in left(v) for y in right(x)]
        return left

    def comma(self) -> Node:
        left = self.alternative()
        while self.at(","):
            self.k += 1
            right = self.alternative()
            left = (lambda a, b: lambda v: a(v) + b(v))(left, right)
        return left

    def alternative(self) -> Node:
        left = self.or_()
        if self.at("//"):
            self.k += 1
            right = self.alternative()

            def alt(v: Any) -> List[Any]:
                try:
                    good = [x for x in left(v) if _truthy(x)]
                except EvaluationError:
                    good = []
                return good if good else right(v)

            return alt
        if self.tok.kind == "op" and self.tok.text in ("=", "|=", "+=", "-=", "*=", "/=", "%=", "//="):
            raise self.fail("assignment operators are not supported in filters")
        return left

    def or_(self) -> Node:
        left = self.and_()
        while self.at("or"):
            self.k += 1
            right = self.and_()
            left = _or(left, right)
        return left

    def and_(self) -> Node:
        left = self.compare()
        while self.at("and"):
            self.k += 1
            right = self.compare()
            left = _and(left, right)
        return left

    def compare(self) -> Node:
        left = self.additive()
        if self.tok.kind == "op" and self.tok.text in ("==", "!=", "<", "<=", ">", ">="):
            op = _BINARY[self.tok.text]
            self.k += 1
            right = self.additive()
            return _binary(op, left, right)
        return left

    def additive(self) -> Node:
        left = self.multiplicative()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = _BINARY[self.tok.text]
            self.k += 1
            left = _binary(op, left, self.multiplicative())
        return left

    def multiplicative(self) -> Node:
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/", "%"):
            op = _BINARY[self.tok.text]
            self.k += 1
            left = _binary(op, left, self.unary())
        return left

    def unary(self) -> Node:
        if self.at("-"):
            self.k += 1
            inner = self.postfix()

            def neg(v: Any) -> List[Any]:
                out = []
                for x in inner(v):
                    if not _num(x):
                        raise EvaluationError(f"{_type_name(x)} cannot be negated")
                    out.append(-x)
                return out

            return neg
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            t = self.tok
            if t.kind == "field":
                self.k += 1
                node = _chain(node, _field(t.text[1:]))
            elif t.kind == "op" and t.text == "." and self.toks[self.k + 1].kind == "string":
                self.k += 1
                node = _chain(node, _field(self.string()))
            elif t.kind == "op" and t.text == "." and self.toks[self.k + 1].text == "[":
                self.k += 1
            elif self.at("["):
                node = _chain_bracket(node, self.bracket())
            elif self.at("?"):
                self.k += 1
                node = _try(node)
            else:
                return node

    def bracket(self) -> Callable[[Any, Any], List[Any]]:
        """``[]``, ``[e]`` or ``[a:b]``: a function (input of the bracket, the original input) -> outputs."""
        self.take("[")
        if self.at("]"):
            self.k += 1
            return lambda x, v: _iterate(x)
        start: Optional[Node] = None if self.at(":") else self.pipe()
        if self.at(":"):
            self.k += 1
            end: Optional[Node] = None if self.at("]") else self.pipe()
            self.take("]")
            s, e = start, end
            return lambda x, v: [
                _index(x, {"start": a, "end": b}) for a in (s(v) if s else [None]) for b in (e(v) if e else [None])
            ]
        self.take("]")
        key = start
        assert key is not None
        return lambda x, v: [_index(x, k) for k in key(v)]

    def string(self) -> str:
        t = self.tok
        if t.kind != "string":
            raise self.fail("expected a string")
        if "\\(" in t.text:
            raise self.fail("string interpolation is not supported")
        self.k += 1
        try:
            return json.loads(t.text)
        except json.JSONDecodeError as exc:
            raise self.fail(f"invalid string: {exc.msg}", t) from None

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "number":
            self.k += 1
            value = _norm(float(t.text)) if any(c in t.text for c in ".eE") else int(t.text)
            return lambda v: [value]
        if t.kind == "string":
            s = self.string()
            return lambda v: [s]
        if t.kind == "field":
            self.k += 1
            return _field(t.text[1:])
        if t.kind == "var":
            raise self.fail("variables are not supported")
        if t.kind == "op":
            if t.text == ".":
                self.k += 1
                if self.tok.kind == "string":
                    return _field(self.string())
                if self.at("["):
                    return _chain_bracket(lambda v: [v], self.bracket())
                return lambda v: [v]
            if t.text == "..":
                self.k += 1
                return _recurse
            if t.text == "(":
                self.k += 1
                inner = self.pipe()
                self.take(")")
                return inner
            if t.text == "[":
                self.k += 1
                if self.at("]"):
                    self.k += 1
                    return lambda v: [[]]
                inner = self.pipe()
                self.take("]")
                return lambda v: [inner(v)]
            if t.text == "{":
                return self.object()
        if t.kind == "ident":
            return self.word()
        if t.kind == "eof":
            raise self.fail("unexpected end of expression")
        raise self.fail(f"unexpected {t.text!r}")

    def object(self) -> Node:
        self.take("{")
        entries: List[Tuple[Node, Node]] = []
        while not self.at("}"):
            t = self.tok
            if t.kind == "ident" or t.kind == "string":
                name = t.text if t.kind == "ident" else self.string()
                if t.kind == "ident":
                    self.k += 1
                key: Node = (lambda n: lambda v: [n])(name)
                default_value: Node = _field(name)
            elif self.at("("):
                self.k += 1
                key = self.pipe()
                self.take(")")
                default_value = key
                if not self.at(":"):
                    raise self.fail("expected ':' after a computed key")
            else:
                raise self.fail("expected a key in the object")
            if self.at(":"):
                self.k += 1
                value = self.alternative_no_comma()
            else:
                value = default_value
            entries.append((key, value))
            if self.at(","):
                self.k += 1
            elif not self.at("}"):
                raise self.fail("expected ',' or '}' in the object")
        self.k += 1

        def build(v: Any) -> List[Any]:
            results: List[Dict[str, Any]] = [{}]
            for key, value in entries:
                nxt = []
                for partial in results:
                    for k in key(v):
                        if type(k) is not str:
                            raise EvaluationError(f"object keys must be strings, not {_type_name(k)}")
                        for x in value(v):
                            nxt.append({**partial, k: x})
                results = nxt
            return list(results)

        return build

    def alternative_no_comma(self) -> Node:
        node = self.alternative()
        if self.at("|"):
            self.k += 1
            right = self.alternative_no_comma()
            left = node
            return lambda v: [y for x in left(v) for y in right(x)]
        return node

    def word(self) -> Node:
        t = self.tok
        name = t.text
        if name in ("true", "false", "null"):
            self.k += 1
            value = {"true": True, "false": False, "null": None}[name]
            return lambda v: [value]
        if name == "if":
            return self.conditional()
        if name == "try":
            self.k += 1
            body = self.postfix()
            handler: Optional[Node] = None
            if self.at("catch"):
                self.k += 1
                handler = self.postfix()
            return _try(body, handler)
        if name in _KEYWORDS:
            raise self.fail(f"`{name}` is not supported here")
        self.k += 1
        args: List[Node] = []
        if self.at("("):
            self.k += 1
            args.append(self.pipe())
            while self.at(";"):
                self.k += 1
                args.append(self.pipe())
            self.take(")")
        return self.call(name, args, t)

    def conditional(self) -> Node:
        self.take("if")
        cond = self.pipe()
        self.take("then")
        then = self.pipe()
        if self.at("elif"):
            self.toks[self.k] = _Tok("ident", "if", self.tok.pos)
            otherwise = self.conditional()
            return _if(cond, then, otherwise)
        otherwise_node: Node = lambda v: [v]
        if self.at("else"):
            self.k += 1
            otherwise_node = self.pipe()
        self.take("end")
        return _if(cond, then, otherwise_node)

    def call(self, name: str, args: List[Node], tok: _Tok) -> Node:
        n = len(args)
        if n == 0 and name in _BUILTINS:
            return _BUILTINS[name]
        if n == 1:
            f = args[0]
            if name == "select":
                return lambda v: [v for x in f(v) if _truthy(x)]
            if name == "map":
                return lambda v: [[y for x in _iterate(v) for y in f(x)]]
            if name == "map_values":
                return lambda v: [{k: ys[0] for k, x in v.items() if (ys := f(x))}] if type(v) is dict else [[ys[0] for x in _iterate(v) if (ys := f(x))]]
            if name == "any":
                return lambda v: [any(_truthy(y) for x in _iterate(v) for y in f(x))]
            if name == "all":
                return lambda v: [all(_truthy(y) for x in _iterate(v) for y in f(x))]
            if name == "first":
                return lambda v: f(v)[:1]
            if name == "last":
                return lambda v: f(v)[-1:]
            if name in ("min_by", "max_by", "sort_by", "unique_by"):
                return _by(name, f)
            if name == "recurse":
                return lambda v: _recurse_f(v, f)
        if n == 2 and name in ("any", "all"):  # any(generator; condition), stopping at the first decisive one
            gen, cond = args
            if name == "any":
                return lambda v: [any(_truthy(y) for x in gen(v) for y in cond(x))]
            return lambda v: [all(_truthy(y) for x in gen(v) for y in cond(x))]
        if (name, n) in _VALUE_FUNCTIONS:
            fn = _VALUE_FUNCTIONS[(name, n)]
            return _cartesian(fn, args)
        if n == 0 and (name, 1) in _VALUE_FUNCTIONS or n == 1 and name in _BUILTINS:
            raise self.fail(f"{name}/{n} is not defined (wrong number of arguments)", tok)
        raise self.fail(f"{name}/{n} is not defined", tok)


# --- node combinators ----------------------------------------------------------------------------------------


def _field(name: str) -> Node:
    def get(v: Any) -> List[Any]:
        if type(v) is dict:
            return [v.get(name)]
        if v is None:
            return [None]
        raise EvaluationError(f"cannot index {_type_name(v)} with {json.dumps(name)}")

    return get


def _chain(left: Node, right: Node) -> Node:
    return lambda v: [y for x in left(v) for y in right(x)]


def _chain_bracket(left: Node, bracket: Callable[[Any, Any], List[Any]]) -> Node:
    return lambda v: [y for x in left(v) for y in bracket(x, v)]


def _try(body: Node, handler: Optional[Node] = None) -> Node:
    def run(v: Any) -> List[Any]:
        try:
            return body(v)
        except EvaluationError as exc:
            return handler(str(exc)) if handler is not None else []

    return run


def _or(left: Node, right: Node) -> Node:
    def run(v: Any) -> List[Any]:
        out: List[Any] = []
        for x in left(v):
            if _truthy(x):
                out.append(True)
            else:
                out.extend(_truthy(r) for r in right(v))
        return out

    return run


def _and(left: Node, right: Node) -> Node:
    def run(v: Any) -> List[Any]:
        out: List[Any] = []
        for x in left(v):
            if not _truthy(x):
                out.append(False)
            else:
                out.extend(_truthy(r) for r in right(v))
        return out

    return run


def _binary(op: Callable[[Any, Any], Any], left: Node, right: Node) -> Node:
    # jq evaluates the right side in the outer loop
    return lambda v: [op(a, b) for b in right(v) for a in left(v)]


def _if(cond: Node, then: Node, otherwise: Node) -> Node:
    return lambda v: [y for c in cond(v) for y in (then(v) if _truthy(c) else otherwise(v))]


def _cartesian(fn: Callable[..., Any], args: List[Node]) -> Node:
    def run(v: Any) -> List[Any]:
        combos: List[List[Any]] = [[]]
        for a in args:
            combos = [c + [x] for c in combos for x in a(v)]
        return [fn(v, *c) for c in combos]

    return run


def _by(name: str, f: Node) -> Node:
    def run(v: Any) -> List[Any]:
        items = _need(v, list, name)
        keyed = [(f(x), x) for x in items]
        order = sorted(keyed, key=lambda kx: _SORT_KEY(kx[0]))
        if name == "sort_by":
            return [[x for _, x in order]]
        if name == "unique_by":
            out: List[Any] = []
            last: Any = object()
            for k, x in order:
                if not out or _compare(k, last) != 0:
                    out.append(x)
                    last = k
            return [out]
        if not order:
            return [None]
        return [order[0][1] if name == "min_by" else order[-1][1]]

    return run


def _recurse_f(v: Any, f: Node) -> List[Any]:
    out: List[Any] = []
    stack = [v]
    while stack:
        x = stack.pop()
        out.append(x)
        try:
            children = f(x)
        except EvaluationError:
            children = []
        stack.extend(reversed(children))
    return out


# builtins that never look inside the values of an object they are given
_NAME_SAFE = {"select", "not", "length", "has", "startswith", "endswith", "test", "ascii_downcase", "ascii_upcase",
              "tonumber", "floor", "ceil", "round", "sqrt", "fabs", "abs", "log", "exp", "type", "first", "last",
              "empty", "split", "join", "ltrimstr", "rtrimstr", "index", "isnan", "keys", "utf8bytelength", "pow",
              "if", "then", "elif", "else", "end", "and", "or", "try", "catch", "true", "false", "null"}


def _names(parser: "_Parser") -> Optional[Set[str]]:
    names: Set[str] = set()
    toks = parser.toks
    for i, t in enumerate(toks):
        if t.kind == "field":
            names.add(t.text[1:])
        elif t.kind == "string":
            names.add(json.loads(t.text))
        elif t.kind == "ident" and t.text not in _NAME_SAFE:
            return None
        elif t.kind == "op" and (t.text == ".." or (t.text == "[" and toks[i + 1].text == "]")):
            return None
    return names


def compile_jq(expression: str) -> JqProgram:
    """Parse ``expression``; a syntax error names the position."""
    parser = _Parser(expression)
    return JqProgram(expression, parser.program(), _names(parser))
