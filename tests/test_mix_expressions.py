"""JSONPath and jq compilers: Dolma's filter forms, semantics on nulls and missing values, syntax errors."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from dolma.mixers.errors import EvaluationError, ExpressionError
from dolma.mixers.filters import NO_INCLUDE_MATCHED, DocFilter
from dolma.mixers.jq import compile_jq, dolma_truthy
from dolma.mixers.jsonpath import compile_jsonpath

DOC: Dict[str, Any] = {
    "id": "d1",
    "text": "hello zz world",
    "metadata": {"length": 5},
    "attributes": {
        "exp__t__score": [[0, 5, 0.9]],
        "exp__t__empty": [],
        "exp__t__null": None,
        "exp__t__flag": False,
        "exp__t__label": "yes",
        "exp__t__tox": {"toxicity": 0.3},
        "exp__t__para": [[0, 2, 1.0], [2, 4, 1.0], [6, 8, 0.5]],
    },
}


@pytest.mark.parametrize(
    "expr, matches",
    [
        ("$.attributes[?(@.exp__t__score[0][2] < 0.5)]", False),
        ("$.attributes[?(@.exp__t__score[0][2] >= 0.9)]", True),
        ("$.metadata[?(@.length < 10000)]", True),
        ("$.attributes.exp__t__null", True),  # a null value exists
        ("$.attributes.exp__t__missing", False),
        ("$.attributes[?(@.exp__t__null == null)]", True),
        ("$.attributes[?(!@.exp__t__flag)]", False),  # ! is "does not exist"; false exists
        ("$.attributes[?(!@.exp__t__missing)]", True),
        ("$.attributes[?(@.exp__t__flag == false)]", True),
        ("$.attributes[?(@.exp__t__flag == 0)]", False),  # booleans are not numbers
        ("$.attributes[?(@.exp__t__label == 'yes' && @.exp__t__flag == false)]", True),
        ('$.attributes[?(@.exp__t__label == "no" || @.exp__t__score[0][2] > 0.5)]', True),
        ("$.attributes[?(@.exp__t__missing[0][2] != 0.9)]", True),  # != is true for a missing value
        ("$.attributes[?(@.exp__t__missing[0][2] < 0.9)]", False),
        ("$.attributes[?(@.exp__t__label > 1)]", False),  # strings do not order against numbers
        ("$.attributes[?(@.exp__t__tox.toxicity > 0.2)]", True),
        ("$..toxicity", True),
        ("$.attributes.exp__t__empty[*][2]", False),
        ("$.attributes.exp__t__para[?(@[2] < 0.6)]", True),
        ("$@.attributes[?(@.exp__t__score && @.exp__t__score[0] && @.exp__t__score[0][2] >= 0.9)]", True),
        ("$[?(@.id == 'd1')]", True),
        ("$.attributes[?(@.exp__t__label in ['yes', 'maybe'])]", True),
        ("$.attributes[?((@.exp__t__flag == true) || !(@.exp__t__label == 'no'))]", True),
        ("$.attributes.exp__t__para[-1][2]", True),
        ("$.attributes['exp__t__label']", True),
        # `.[` reads as `[`, as in Dolma 1.2.1's mixer (Dolma's v1.7 blocklist configs write `@.['name']`)
        ("$.attributes.['exp__t__label']", True),
        ("$.attributes[?(@['exp__t__label'] && @.['exp__t__score'][0][2] >= 0.9)]", True),
        ("$.attributes[?(@['exp__t__label'] && @.['exp__t__score'][0][2] < 0.5)]", False),
        ("$.attributes[?(@.['exp__t__missing'])]", False),
    ],
)
def test_jsonpath_matches(expr: str, matches: bool) -> None:
    assert compile_jsonpath(expr).matches(DOC) is matches


def test_jsonpath_selects_values() -> None:
    assert compile_jsonpath("$.attributes.exp__t__para[*][2]").select(DOC) == [1.0, 1.0, 0.5]
    assert compile_jsonpath("$.attributes.exp__t__para[0:2]").select(DOC) == [[0, 2, 1.0], [2, 4, 1.0]]
    assert compile_jsonpath("$.attributes.exp__t__score").select(DOC) == [[[0, 5, 0.9]]]


@pytest.mark.parametrize(
    "expr, outputs",
    [
        (".attributes.exp__t__score[0][2] > 0.5", [True]),
        (".attributes.exp__t__missing[0][2] > 0.5", [False]),  # null indexes to null, as in jq
        (".attributes.exp__t__flag.foo?", []),
        (".attributes.exp__t__para | map(.[1] - .[0]) | add", [6]),
        (".attributes.exp__t__para[] | select(.[2] > 0.6) | .[0]", [0, 2]),
        ('.id | startswith("d")', [True]),
        ('.text | test("Z+"; "i")', [True]),
        (".attributes.exp__t__missing // [] | length", [0]),
        ("if .attributes.exp__t__flag then 1 elif .id == \"d1\" then 2 else 3 end", [2]),
        ('.attributes | has("exp__t__null")', [True]),
        ("[.attributes.exp__t__para[][2]] | max", [1.0]),
        (".attributes.exp__t__label and (.attributes.exp__t__flag | not)", [True]),
        ("(.attributes.exp__t__empty | length == 0) or (.x / 0 > 1)", [True]),  # or short-circuits
        ("{a: .id, b: (.metadata.length * 2)}", [{"a": "d1", "b": 10}]),
        ('."attributes"["exp__t__label"]', ["yes"]),
        (".attributes.exp__t__para[0][:2]", [[0, 2]]),
        ("try (.id | .x) catch \"caught\"", ["caught"]),
        ("1, 2 | . * 3", [3, 6]),
        (".attributes.exp__t__tox | to_entries | .[0].key", ["toxicity"]),
    ],
)
def test_jq_outputs(expr: str, outputs: Any) -> None:
    assert compile_jq(expr).run(DOC) == outputs


def test_jq_runtime_error_without_question_mark() -> None:
    with pytest.raises(EvaluationError, match='cannot index boolean with "foo"'):
        compile_jq(".attributes.exp__t__flag.foo").run(DOC)


@pytest.mark.parametrize("value, truth", [(None, False), (False, False), (0, False), (0.0, False), ("", False),
                                          ([], False), ({}, False), (True, True), (1, True), ("x", True), ([0], True)])
def test_dolma_truthiness(value: Any, truth: bool) -> None:
    assert dolma_truthy(value) is truth


@pytest.mark.parametrize(
    "syntax, expr, position, problem",
    [
        ("jsonpath", "$.attributes[?(@.x < )]", 21, "expected '@'"),
        ("jsonpath", "attributes.x", 0, "starts with '$'"),
        ("jsonpath", "$.a[?(@.x == 1]", 14, "expected ')'"),
        ("jsonpath", "$.a['x]", 4, "unterminated string"),
        ("jsonpath", "$.a.+x", 4, "expected a field name after '.'"),
        ("jq", ".x |", 4, "unexpected end"),
        ("jq", ".x | sum", 5, "sum/0 is not defined"),
        ("jq", ".a as $x | $x", 3, "variables"),
        ("jq", '"abc', 0, "unterminated string"),
        ("jq", ".x ]", 3, "unexpected ']'"),
    ],
)
def test_syntax_errors_name_expression_and_position(syntax: str, expr: str, position: int, problem: str) -> None:
    compile_ = compile_jq if syntax == "jq" else compile_jsonpath
    with pytest.raises(ExpressionError) as info:
        compile_(expr)
    assert info.value.position == position
    assert problem in info.value.problem
    assert expr in str(info.value)


def test_filter_include_exclude_rules_jsonpath() -> None:
    f = DocFilter(["$.attributes[?(@.exp__t__score[0][2] > 0.95)]", "$.metadata[?(@.length < 10)]"],
                  ["$.attributes.exp__t__missing"], "jsonpath")
    assert f.reason(DOC) is None  # second include matches, no exclude matches
    f = DocFilter(["$.attributes[?(@.exp__t__score[0][2] > 0.95)]"], [], "jsonpath")
    assert f.reason(DOC) == NO_INCLUDE_MATCHED
    f = DocFilter([], ["$.attributes.exp__t__missing", "$.attributes.exp__t__null"], "jsonpath")
    assert f.reason(DOC) == "exclude: $.attributes.exp__t__null"


def test_filter_jq_uses_dolma_truthiness() -> None:
    assert DocFilter([".attributes.exp__t__empty"], [], "jq").reason(DOC) == NO_INCLUDE_MATCHED  # [] is false
    assert DocFilter(["0"], [], "jq").reason(DOC) == NO_INCLUDE_MATCHED
    assert DocFilter([".attributes.exp__t__para[][2] > 0.4"], [], "jq").reason(DOC) is None  # all outputs true
    assert DocFilter([".attributes.exp__t__para[][2] > 0.6"], [], "jq").reason(DOC) == NO_INCLUDE_MATCHED
    assert DocFilter([], ["empty"], "jq").reason(DOC) is None  # no output: exclude does not match
    assert DocFilter([], [".attributes.exp__t__para[][2] > 0.6"], "jq").reason(DOC) is not None  # any true output
    assert DocFilter([], [".attributes.exp__t__null"], "jq").reason(DOC) is None


@pytest.mark.parametrize(
    "expr",
    [
        "$.attributes[?(@.exp__t__score[0][2] < 0.95)]",
        "$.attributes[?(0.5 > @.exp__t__score[0][2])]",
        "$.attributes[?(@.exp__t__label >= 'yes')]",
        "$.attributes[?(@.exp__t__label < 2)]",
        "$.attributes[?(@.exp__t__flag < 1)]",  # booleans do not order
        "$.attributes.exp__t__para[?(@[2] < 0.6)]",
        "$.attributes.exp__t__para[5][?(@ > 0)]",
        "$.attributes.exp__t__tox[?(@.toxicity > 0.2)]",
        "$[?(@.metadata.length <= 5)]",
        "$.attributes[?(@.exp__t__missing[0][2] < 0.9)]",
        "$.text[?(@ > 'a')]",
    ],
)
def test_jsonpath_filter_shortcut_agrees_with_select(expr: str) -> None:
    """`matches` of `$.a.b[?(...)]` has a shortcut; it must say what a non-empty `select` says."""
    path = compile_jsonpath(expr)
    for doc in (DOC, {"attributes": {"exp__t__score": [[0, 1, "x"]], "exp__t__para": {"a": 1}}}, {"attributes": []}, {}):
        assert path.matches(doc) is bool(path.select(doc)), doc
