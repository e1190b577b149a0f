"""Document filters and span selectors built from a stream's config, in either syntax.

Dolma's rule: keep a document when there is no ``include`` or any include matches, and no ``exclude``
matches. A JSONPath expression matches when it selects something; a jq expression matches when it outputs
at least one value and every output is true by Dolma's reading (:func:`dolma_truthy`); an exclude with no
output does not match.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Set

from dolma.mixers.jq import compile_jq, dolma_truthy
from dolma.mixers.jsonpath import compile_jsonpath

__all__ = ["Matcher", "DocFilter", "compile_matcher", "compile_selector", "referenced_names", "NO_INCLUDE_MATCHED"]

NO_INCLUDE_MATCHED = "include: no pattern matched"


class Matcher:
    __slots__ = ("expression", "matches", "names")

    def __init__(self, expression: str, matches: Callable[[Any], bool], names: Optional[Set[str]]) -> None:
        self.expression = expression
        self.matches = matches
        self.names = names


def _jq_include(run: Callable[[Any], List[Any]]) -> Callable[[Any], bool]:
    def matches(doc: Any) -> bool:
        out = run(doc)
        return bool(out) and all(dolma_truthy(x) for x in out)

    return matches


def _jq_exclude(run: Callable[[Any], List[Any]]) -> Callable[[Any], bool]:
    def matches(doc: Any) -> bool:
        return any(dolma_truthy(x) for x in run(doc))

    return matches


def compile_matcher(expression: str, syntax: str, exclude: bool) -> Matcher:
    if syntax == "jq":
        program = compile_jq(expression)
        run = program.run
        return Matcher(expression, _jq_exclude(run) if exclude else _jq_include(run), program.names)
    path = compile_jsonpath(expression)
    return Matcher(expression, path.matches, path.names)


def referenced_names(expression: str, syntax: str) -> Optional[Set[str]]:
    """Field names an expression can read; None when it may read any (wildcards, recursion, iteration)."""
    return compile_jq(expression).names if syntax == "jq" else compile_jsonpath(expression).names


def compile_selector(expression: str, syntax: str) -> Callable[[Any], List[Any]]:
    """The values an expression selects from a document (each jq output is one value)."""
    if syntax == "jq":
        run = compile_jq(expression).run
        return lambda doc: [x for x in run(doc) if x is not None]
    return compile_jsonpath(expression).select


class DocFilter:
    """``reason(doc)``: ``None`` to keep the document, else the rule that drops it."""

    def __init__(self, include: Sequence[str], exclude: Sequence[str], syntax: str) -> None:
        self.include = [compile_matcher(e, syntax, exclude=False) for e in include]
        self.exclude = [compile_matcher(e, syntax, exclude=True) for e in exclude]

    @property
    def names(self) -> Optional[Set[str]]:
        out: Set[str] = set()
        for m in self.include + self.exclude:
            if m.names is None:
                return None
            out |= m.names
        return out

    def reason(self, doc: Any, matched: Optional[List[int]] = None) -> Optional[str]:
        """``matched``, when given, collects the rules that matched (includes are numbered first, then excludes);
        rules are evaluated in order and the first deciding one stops the evaluation, as without it."""
        if self.include:
            for i, m in enumerate(self.include):
                if m.matches(doc):
                    if matched is not None:
                        matched.append(i)
                    break
            else:
                return NO_INCLUDE_MATCHED
        for j, m in enumerate(self.exclude):
            if m.matches(doc):
                if matched is not None:
                    matched.append(len(self.include) + j)
                return "exclude: " + m.expression
        return None
