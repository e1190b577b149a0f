"""Errors of the expression compilers."""

from __future__ import annotations

from dolma.core.errors import ConfigError

__all__ = ["ExpressionError", "EvaluationError", "RegexTimeout"]


class ExpressionError(ConfigError):
    """An expression that does not parse: names the syntax, the expression and the 0-based position."""

    def __init__(self, syntax: str, expression: str, position: int, problem: str) -> None:
        self.expression = expression
        self.position = position
        self.problem = problem
        caret = " " * (position + 4) + "^"
        super().__init__(f"invalid {syntax} expression at position {position}: {problem}\n    {expression}\n{caret}")


class EvaluationError(Exception):
    """An expression failed on a document (jq's runtime errors: indexing a number, adding a string to an array)."""


class RegexTimeout(EvaluationError):
    """A user regex ran past the per-document time limit (catastrophic backtracking: ``(a+)+$``)."""
