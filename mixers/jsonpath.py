"""JSONPath as Dolma's mixer configs write it, compiled once into Python closures.

A compiled path maps a document to the list of values it selects; a filter "matches" when that list is not
empty. Semantics follow the reference mixer (jsonpath_rust): ``[?(...)]`` on an object tests the object itself
(``$.attributes[?(@.x[0][2] < 0.5)]``), on an array it tests each element; ``@.x`` alone means "exists" (a
``null`` value exists); ``!`` negates; ``<``/``>`` compare numbers with numbers and strings with strings and
are false otherwise; ``!=`` is the negation of ``==``, so it is true for a missing value. Strings may be quoted
with ``'`` or ``"``. ``$@`` is read as ``$`` and ``@.['name']`` as ``@['name']`` (Dolma's configs use both).
"""

from __future__ import annotations

import operator
import re
from typing import Any, Callable, List, Optional, Set, Tuple

from dolma.mixers.errors import ExpressionError

__all__ = ["compile_jsonpath", "JsonPath", "values_equal"]

Values = List[Any]
Step = Callable[[Values], Values]
Predicate = Callable[[Any, Any], bool]  # (current value @, document root $) -> bool
_MISSING = object()
_NAME = re.compile(r"[A-Za-z0-9_\-$]+")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class JsonPath:
    """A compiled path: ``select(doc)`` returns the selected values (``[]`` when nothing matches)."""

    __slots__ = ("expression", "select", "names", "matches")

    def __init__(
        self,
        expression: str,
        select: Callable[[Any], Values],
        names: Optional[Set[str]],
        matches: Optional[Callable[[Any], bool]] = None,
    ) -> None:
        self.expression = expression
        self.select = select
        self.names = names  # the field names it can look at; None when wildcards may reach any field
        # whether it selects anything (a shortcut where one exists)
        self.matches: Callable[[Any], bool] = matches or (lambda doc: bool(select(doc)))


def values_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``1 == 1.0`` but ``true != 1``."""
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb and a is b
    return a == b


def _is_number(v: Any) -> bool:
    t = type(v)
    return t is int or t is float


# --- evaluation helpers ------------------------------------------------------------------------------------


def _child(values: Values, name: str) -> Values:
    out = []
    for v in values:
        if type(v) is dict:
            got = v.get(name, _MISSING)
            if got is not _MISSING:
                out.append(got)
    return out


def _index(values: Values, i: int) -> Values:
    out = []
    for v in values:
        if type(v) is list and -len(v) <= i < len(v):
            out.append(v[i])
    return out


def _wildcard(values: Values) -> Values:
    out: Values = []
    for v in values:
        if type(v) is dict:
            out.extend(v.values())
        elif type(v) is list:
            out.extend(v)
    return out


def _descendants(values: Values) -> Values:
    """Each value and everything below it, depth first."""
    out: Values = []
    stack = list(reversed(values))
    while stack:
        v = stack.pop()
        out.append(v)
        if type(v) is dict:
            stack.extend(reversed(list(v.values())))
        elif type(v) is list:
            stack.extend(reversed(v))
    return out


def _slice(values: Values, start: Optional[int], stop: Optional[int], step: Optional[int]) -> Values:
    out: Values = []
    for v in values:
        if type(v) is list:
            out.extend(v[start:stop:step])
    return out


def _filter(values: Values, pred: Predicate, root: Any) -> Values:
    out: Values = []
    for v in values:
        if type(v) is dict:
            if pred(v, root):
                out.append(v)
        elif type(v) is list:
            out.extend(e for e in v if pred(e, root))
    return out


def _simple_getter(steps: List[Tuple[str, Any]]) -> Callable[[Any], Any]:
    """A path of plain keys and indexes as one loop returning one value or ``_MISSING``."""
    keys = tuple(k for _, k in steps)  # str: a key; int: an index
    shape = tuple(type(k) for k in keys)
    if shape == (str,):
        only = keys[0]
        return lambda v: v.get(only, _MISSING) if type(v) is dict else _MISSING
    if shape == (str, str):  # $.attributes.name
        k0, k1 = keys
        return lambda v: v.get(k1, _MISSING) if type(v) is dict and type(v := v.get(k0)) is dict else _MISSING
    if shape == (str, int, int):  # @.name[0][2]
        k0, i1, i2 = keys

        def get3(v: Any) -> Any:
            if type(v) is not dict or type(v := v.get(k0)) is not list:
                return _MISSING
            try:
                v = v[i1]
                return v[i2] if type(v) is list else _MISSING
            except IndexError:
                return _MISSING

        return get3

    def get(v: Any) -> Any:
        for k in keys:
            if type(k) is str:
                if type(v) is not dict:
                    return _MISSING
                v = v.get(k, _MISSING)
                if v is _MISSING:
                    return v
            else:
                if type(v) is not list:
                    return _MISSING
                try:
                    v = v[k]
                except IndexError:
                    return _MISSING
        return v

    return get


# --- parser ------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.names: Optional[Set[str]] = set()

    def name(self, name: str) -> None:
        if self.names is not None:
            self.names.add(name)

    def fail(self, problem: str, at: Optional[int] = None) -> ExpressionError:
        return ExpressionError("JSONPath", self.text, self.i if at is None else at, problem)

    def peek(self, s: str) -> bool:
        return self.text.startswith(s, self.i)

    def ws(self) -> None:
        while self.i < len(self.text) and self.text[self.i].isspace():
            self.i += 1

    def expect(self, s: str) -> None:
        self.ws()
        if not self.peek(s):
            found = self.text[self.i : self.i + 1] or "end of expression"
            raise self.fail(f"expected {s!r}, found {found!r}")
        self.i += len(s)

    # path := root step*; returns (steps, simple) where simple lists plain key/index steps when possible
    def path(self) -> Tuple[List[Any], Optional[List[Tuple[str, Any]]]]:
        steps: List[Any] = []
        simple: Optional[List[Tuple[str, Any]]] = []
        while self.i < len(self.text):
            if self.peek(".."):
                self.i += 2
                steps.append(("descend", None))
                self.names = None
                simple = None
                if self.peek("["):
                    continue
                steps.append(self.member())
            elif self.peek("."):
                self.i += 1
                if self.peek("["):  # `.['name']` reads as `['name']`, as in the reference mixer
                    continue
                step = self.member()
                steps.append(step)
                if step[0] != "key":
                    simple = None
                elif simple is not None:
                    simple.append(step)
            elif self.peek("["):
                step = self.bracket()
                steps.append(step)
                if step[0] in ("key", "index") and simple is not None:
                    simple.append(step)
                else:
                    simple = None
            else:
                break
        return steps, simple

    def member(self) -> Tuple[str, Any]:
        if self.peek("*"):
            self.i += 1
            self.names = None
            return ("wildcard", None)
        m = _NAME.match(self.text, self.i)
        if m is None:
            raise self.fail("expected a field name after '.'")
        self.i = m.end()
        self.name(m.group())
        return ("key", m.group())

    def bracket(self) -> Tuple[str, Any]:
        start = self.i
        self.i += 1
        self.ws()
        if self.peek("?"):
            self.i += 1
            self.expect("(")
            pred = self.or_expr()
            self.expect(")")
            self.expect("]")
            return ("filter", pred)
        if self.peek("*"):
            self.i += 1
            self.expect("]")
            self.names = None
            return ("wildcard", None)
        items: List[Tuple[str, Any]] = []
        while True:
            self.ws()
            items.append(self.bracket_item())
            self.ws()
            if self.peek(","):
                self.i += 1
                continue
            if self.peek("]"):
                self.i += 1
                break
            raise self.fail("expected ',' or ']' in brackets")
        if not items:
            raise self.fail("empty brackets", start)
        return items[0] if len(items) == 1 else ("union", items)

    def bracket_item(self) -> Tuple[str, Any]:
        if self.peek("'") or self.peek('"'):
            key = self.string()
            self.name(key)
            return ("key", key)
        parts: List[Optional[int]] = []
        while True:
            self.ws()
            m = re.compile(r"-?\d+").match(self.text, self.i)
            if m is not None:
                parts.append(int(m.group()))
                self.i = m.end()
            else:
                parts.append(None)
            self.ws()
            if self.peek(":") and len(parts) < 3:
                self.i += 1
                continue
            break
        if len(parts) == 1:
            if parts[0] is None:
                raise self.fail("expected an index, a quoted name, '*' or '?(...)' in brackets")
            return ("index", parts[0])
        while len(parts) < 3:
            parts.append(None)
        return ("slice", tuple(parts))

    def string(self) -> str:
        quote = self.text[self.i]
        start = self.i
        self.i += 1
        out = []
        while self.i < len(self.text) and self.text[self.i] != quote:
            c = self.text[self.i]
            if c == "\\" and self.i + 1 < len(self.text):
                self.i += 1
                c = self.text[self.i]
            out.append(c)
            self.i += 1
        if self.i >= len(self.text):
            raise self.fail("unterminated string", start)
        self.i += 1
        return "".join(out)

    # filter expressions ------------------------------------------------------------------------------------

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while True:
            self.ws()
            if not self.peek("||"):
                break
            self.i += 2
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda v, root: any(p(v, root) for p in parts)

    def and_expr(self) -> Predicate:
        parts = [self.unary()]
        while True:
            self.ws()
            if not self.peek("&&"):
                break
            self.i += 2
            parts.append(self.unary())
        if len(parts) == 1:
            return parts[0]
        return lambda v, root: all(p(v, root) for p in parts)

    def unary(self) -> Predicate:
        self.ws()
        if self.peek("!") and not self.peek("!="):
            self.i += 1
            inner = self.unary()
            return lambda v, root: not inner(v, root)
        return self.comparison()

    def comparison(self) -> Predicate:
        self.ws()
        if self.peek("("):
            self.i += 1
            inner = self.or_expr()
            self.expect(")")
            return inner
        at = self.i
        left = self.operand()
        self.ws()
        for op in ("==", "!=", "<=", ">=", "<", ">", "nin ", "in "):
            if self.peek(op):
                self.i += len(op)
                self.ws()
                right = self.operand()
                return _compare(op.strip(), left, right)
        if left[0] == "literal":
            raise self.fail("a literal alone is not a condition; compare it with something", at)
        get = left[1]
        return lambda v, root: bool(get(v, root))

    def operand(self) -> Tuple[str, Callable[[Any, Any], Values], Any]:
        """``(kind, values, fast)``: fast is the one-value getter of a plain relative path, or a literal's value."""
        self.ws()
        at = self.i
        if self.peek("@") or self.peek("$"):
            relative = self.peek("@")
            self.i += 1
            if not relative and self.peek("@"):
                self.i += 1
            steps, simple = self.path()
            if simple is not None:
                get = _simple_getter(simple)
                if relative:
                    return ("path", lambda v, root: [] if (x := get(v)) is _MISSING else [x], get)
                return ("path", lambda v, root: [] if (x := get(root)) is _MISSING else [x], None)
            run = _compile_steps(steps)
            if relative:
                return ("path", lambda v, root: run([v], root), None)
            return ("path", lambda v, root: run([root], root), None)
        value = self.literal()
        if value is _MISSING:
            raise self.fail("expected '@', '$', a number, a string, true, false, null or a [list]", at)
        return ("literal", lambda v, root, _x=[value]: _x, value)

    def literal(self) -> Any:
        if self.peek("'") or self.peek('"'):
            return self.string()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.peek(word):
                self.i += len(word)
                return value
        if self.peek("["):
            self.i += 1
            items = []
            self.ws()
            while not self.peek("]"):
                item = self.literal()
                if item is _MISSING:
                    raise self.fail("expected a literal in the list")
                items.append(item)
                self.ws()
                if self.peek(","):
                    self.i += 1
                    self.ws()
                elif not self.peek("]"):
                    raise self.fail("expected ',' or ']' in the list")
            self.i += 1
            return items
        m = _NUMBER.match(self.text, self.i)
        if m is not None:
            self.i = m.end()
            text = m.group()
            return float(text) if any(c in text for c in ".eE") else int(text)
        return _MISSING


def _compare(op: str, left: Tuple[str, Any], right: Tuple[str, Any]) -> Predicate:
    lget, rget = left[1], right[1]
    if op in ("==", "!="):
        negate = op == "!="

        def eq(v: Any, root: Any) -> bool:
            rs = rget(v, root)
            found = any(values_equal(a, b) for a in lget(v, root) for b in rs)
            return found != negate

        return eq
    if op in ("in", "nin"):
        negate = op == "nin"

        def member(v: Any, root: Any) -> bool:
            found = False
            for a in lget(v, root):
                for coll in rget(v, root):
                    if type(coll) is list and any(values_equal(a, b) for b in coll):
                        found = True
            return found != negate

        return member
    test = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op]
    if left[0] == "path" and left[2] is not None and right[0] == "literal" and (_is_number(right[2]) or type(right[2]) is str):
        return _order_path_literal(test, left[2], right[2])
    if right[0] == "path" and right[2] is not None and left[0] == "literal" and (_is_number(left[2]) or type(left[2]) is str):
        flipped = {operator.lt: operator.gt, operator.le: operator.ge, operator.gt: operator.lt, operator.ge: operator.le}[test]
        return _order_path_literal(flipped, right[2], left[2])

    def order(v: Any, root: Any) -> bool:
        for a in lget(v, root):
            for b in rget(v, root):
                if (_is_number(a) and _is_number(b)) or (type(a) is str and type(b) is str):
                    if test(a, b):
                        return True
        return False

    return order


def _order_path_literal(test: Callable[[Any, Any], bool], get: Callable[[Any], Any], literal: Any) -> Predicate:
    """``@.a.b[0] < literal``: the common filter, without building value lists."""
    if type(literal) is str:
        return lambda v, root: type(a := get(v)) is str and test(a, literal)

    def order(v: Any, root: Any) -> bool:
        a = get(v)
        t = type(a)
        return (t is float or t is int) and test(a, literal)

    return order


def _compile_steps(steps: List[Any]) -> Callable[[Values, Any], Values]:
    funcs: List[Callable[[Values, Any], Values]] = []
    for kind, arg in steps:
        if kind == "key":
            funcs.append(lambda vs, root, _k=arg: _child(vs, _k))
        elif kind == "index":
            funcs.append(lambda vs, root, _i=arg: _index(vs, _i))
        elif kind == "wildcard":
            funcs.append(lambda vs, root: _wildcard(vs))
        elif kind == "descend":
            funcs.append(lambda vs, root: _descendants(vs))
        elif kind == "slice":
            funcs.append(lambda vs, root, _s=arg: _slice(vs, *_s))
        elif kind == "filter":
            funcs.append(lambda vs, root, _p=arg: _filter(vs, _p, root))
        elif kind == "union":
            parts = [_compile_steps([item]) for item in arg]
            funcs.append(lambda vs, root, _parts=parts: [x for p in _parts for x in p(vs, root)])

    def run(values: Values, root: Any) -> Values:
        for f in funcs:
            if not values:
                return values
            values = f(values, root)
        return values

    return run


def compile_jsonpath(expression: str) -> JsonPath:
    """Parse ``expression`` (it must start with ``$``); syntax errors name the position."""
    parser = _Parser(expression.strip())
    text = parser.text
    if not text.startswith("$"):
        raise parser.fail("a JSONPath expression starts with '$'", 0)
    parser.i = 2 if text.startswith("$@") else 1
    steps, simple = parser.path()
    parser.ws()
    if parser.i != len(text):
        raise parser.fail(f"unexpected {text[parser.i]!r}")
    if simple is not None:
        get = _simple_getter(simple)
        return JsonPath(expression, lambda doc: [] if (x := get(doc)) is _MISSING else [x], parser.names)
    run = _compile_steps(steps)
    matches = None
    if steps and steps[-1][0] == "filter" and all(kind in ("key", "index") for kind, _ in steps[:-1]):
        matches = _filter_matches(_simple_getter(steps[:-1]), steps[-1][1])
    return JsonPath(expression, lambda doc: run([doc], doc), parser.names, matches)


def _filter_matches(get: Callable[[Any], Any], pred: Predicate) -> Callable[[Any], bool]:
    """``matches`` of ``$.a.b[?(...)]``: the filter applied to one value, without building value lists."""

    def matches(doc: Any) -> bool:
        v = get(doc)
        if type(v) is dict:
            return pred(v, doc)
        if type(v) is list:
            return any(pred(e, doc) for e in v)
        return False

    return matches
