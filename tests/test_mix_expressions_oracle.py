"""Our jq and JSONPath against the real ones: the `jq` binding of libjq and `jsonpath-ng`, on Dolma-style filters
over generated documents (nulls, missing keys, empty lists, numbers and booleans, strings that look like numbers,
nested arrays). Skipped where the oracles are not installed (they are in the `dev` extra). Deliberate differences
are tested on their own below, and listed in docs/compat.md."""

from __future__ import annotations

import json
import random
from typing import Any, Dict, List

import pytest

from dolma.mixers.errors import EvaluationError
from dolma.mixers.filters import compile_matcher
from dolma.mixers.jq import compile_jq
from dolma.mixers.jsonpath import compile_jsonpath

SCORES: List[Any] = [0, 1, 0.2, 0.5, 0.7, 1.0, -1, True, False, None, "0.3", [0.1], {"s": 1}]


def _documents(n: int = 250, seed: int = 0) -> List[Dict[str, Any]]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        attributes: Dict[str, Any] = {}
        for key in ("a", "b", "c"):
            r = rng.random()
            if r < 0.15:
                continue  # missing
            attributes[key] = None if r < 0.25 else [] if r < 0.35 else [
                [rng.randint(0, 9), rng.randint(10, 20), rng.choice(SCORES)] for _ in range(rng.randint(1, 3))
            ]
        doc: Dict[str, Any] = {"id": str(i), "text": rng.choice(["", "t", "some text"]), "attributes": attributes}
        if rng.random() < 0.7:
            doc["metadata"] = {"n": rng.choice([0, 1, 2.5, True, False, None, "x"]),
                               "tags": rng.choice([[], [1, [2, 3]], None, ["a"]])}
        docs.append(doc)
    return docs


DOCS = _documents()


def _canonical(values: List[Any]) -> str:
    """JSON with numbers compared as numbers (``1 == 1.0``) and booleans kept apart from them."""

    def norm(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, list):
            return [norm(x) for x in v]
        return {k: norm(x) for k, x in v.items()}

    return json.dumps([norm(v) for v in values], sort_keys=True)


# jq as Dolma's mixer configs write it (`syntax: jq`), and the forms around them
JQ_EXPRESSIONS = [
    ".attributes.a[0][2] >= 0.5",
    "select(.attributes.a[0][2] < 0.5)",
    "(.attributes.a // [])[0][2] // 0",
    ".attributes.a and .attributes.a[0] and .attributes.a[0][2] >= 1.0",
    "[.attributes.a[]? | select(.[2] > 0.5)] | length > 0",
    ".attributes | has(\"a\")",
    ".attributes.a == null",
    ".attributes.a[0][2] == 1",
    ".attributes.a[0][2] == true",
    ".attributes.a[0][2] != 1",
    "(.attributes.a[0][2] // 1) >= 0.5 and .id != \"3\"",
    ".attributes.a[0][2] | type",
    "if .attributes.a then 1 else 0 end",
    ".attributes.a | length",
    ".attributes.a[0][2] + 1",
    ".attributes.a[0][2] > .attributes.b[0][2]",
    "(.attributes.a[0][2] < 0.5) or (.attributes.b[0][2] > 0.5)",
    "[.attributes[] | length]",
    ".metadata.n",
    ".metadata.n > 1",
    ".metadata.tags[1][0]",
    ".metadata.tags | length",
    ".missing.deep[0]",
    "(.text | length) > 3",
    ".attributes.a | map(.[2])",
    "[.attributes.a[]?[2]] | add",
    ".attributes.a[-1][2]",
    ".attributes.a[0:2] | length",
    "any(.attributes.a[]?; .[2] == 0.5)",
    "all(.attributes.a[]?; .[2] > 0.3)",
    ".attributes.c[0][2] | tostring",
    "try (.attributes.a[0][2] + 1) catch \"err\"",
    ".attributes.a[0][2]? // \"none\"",
    "[.attributes.a[]?[2] | numbers] | max",
    "([.attributes.a[]? | .[1] - .[0]] | add) // 0",
]


@pytest.mark.parametrize("expression", JQ_EXPRESSIONS)
def test_jq_matches_libjq(expression: str) -> None:
    jq = pytest.importorskip("jq")
    reference = jq.compile(expression)
    ours = compile_jq(expression)
    outcomes = set()
    for doc in DOCS:
        try:
            want = _canonical(reference.input_value(doc).all())
        except ValueError:  # libjq's runtime errors
            want = "error"
        try:
            got = _canonical(ours.run(doc))
        except EvaluationError:
            got = "error"
        assert got == want, f"{expression} on {doc}"
        outcomes.add(want)
    assert len(outcomes) > 1 or expression == ".missing.deep[0]"  # the documents exercise the expression


# conditions of Dolma's object filters, `$.attributes[?(COND)]`
JSONPATH_CONDITIONS = [
    "@.a[0][2] < 0.5",
    "@.a[0][2] >= 0.5",
    "@.a",
    "@.a && @.a[0] && @.a[0][2] >= 1.0",
    "@.a[0][2] == 1",
    "@.a[0][2] != 1",
    "@.a[0][2] == true",
    "@.a[0][2] == null",
    "@.a[0][2] == '0.3'",
    "@.a[0][2] > @.b[0][2]",
    "@.a[0][2] < 0.5 || @.b[0][2] > 0.5",
    "!@.a",
    "@.a[0][2] <= 0",
]


@pytest.mark.parametrize("condition", JSONPATH_CONDITIONS)
def test_jsonpath_object_filter_matches_jsonpath_ng(condition: str) -> None:
    # Dolma (jsonpath_rust) tests a filter on an object against the object itself; jsonpath-ng tests the elements
    # of an array, so the oracle gets the attributes object inside a one-element array (see docs/compat.md)
    ng = pytest.importorskip("jsonpath_ng.ext")
    reference = ng.parse(f"$[?({condition})]")
    ours = compile_jsonpath(f"$.attributes[?({condition})]")
    outcomes = set()
    for doc in DOCS:
        want = bool(reference.find([doc["attributes"]]))
        assert bool(ours.select(doc)) == want, f"{condition} on {doc['attributes']}"
        outcomes.add(want)
    assert outcomes == {True, False}


JSONPATH_PATHS = [
    "$.attributes.a",
    "$.attributes.a[0][2]",
    "$.attributes.a[*][2]",
    "$.attributes.a[?(@[2] >= 0.5)]",
    "$.attributes.a[?(@[2] == true)]",
    "$.attributes.*",
    "$.attributes.a[-1]",
    "$.attributes.a[0:2]",
    "$.metadata.n",
    "$.metadata.tags[1][0]",
    "$.metadata.tags[*]",
    "$.missing.deep[0]",
]


@pytest.mark.parametrize("path", JSONPATH_PATHS)
def test_jsonpath_selection_matches_jsonpath_ng(path: str) -> None:
    ng = pytest.importorskip("jsonpath_ng.ext")
    reference = ng.parse(path)
    ours = compile_jsonpath(path)
    for doc in DOCS:
        assert _canonical(ours.select(doc)) == _canonical([m.value for m in reference.find(doc)]), f"{path} on {doc}"


# --- the deliberate differences (docs/compat.md) ------------------------------------------------------------


def test_object_filter_tests_the_object_itself_as_dolma_does() -> None:
    doc = {"attributes": {"x": [[0, 5, 0.2]]}}
    assert compile_jsonpath("$.attributes[?(@.x[0][2] < 0.5)]").select(doc) == [doc["attributes"]]
    ng = pytest.importorskip("jsonpath_ng.ext")
    assert ng.parse("$.attributes[?(@.x[0][2] < 0.5)]").find(doc) == []  # jsonpath-ng: no match on an object


def test_dolma_truthiness_of_jq_results() -> None:
    # Dolma's mixer drops a document whose jq result is false, null, 0, "", [] or {}; jq itself calls 0 true
    include = compile_matcher(".attributes.a | length", "jq", exclude=False)
    assert not include.matches({"attributes": {"a": []}}) and include.matches({"attributes": {"a": [[0, 1, 1]]}})


SCALARS: List[Any] = [None, {"a": None}, {"a": "s"}, {"a": "4"}, {"a": 1.5}, {"a": -2.5}, {"a": 0}, {"a": -2},
                      {"a": [3, 1, 2]}, {"a": []}, {"a": {"b": 1, "a": 2}}, {"a": True}, {"a": False}]

# builtins, over every type: outputs and errors must be libjq's
JQ_BUILTINS = [
    ".a[]", ".a.b", ".a < \"x\"", ".a < null", ".a > false", ".a | length", ".a | tostring", ".a | keys", ".a | add",
    ".a | not", ".a | sort", ".a | tonumber", ".a | type", ".a[1:]", ".a | floor", ".a | ceil", ".a | round",
    ".a | fabs", ".a | abs", ".a | sqrt", ".a * 2", ".a + null", ".a - 1", ".a / 2", ".a % 2", ".a | ascii_downcase",
    ".a | test(\"s\")", ".a // empty", "[.a[]?]", ".a | to_entries", ".a | has(\"b\")", ".a | has(0)", ".a | unique",
    ".a | min", ".a | max", ".a | join(\",\")", ".a | split(\"s\")", ".a == 1.5", ".a | values", ".a | nulls",
    ".a | strings", ".a | arrays", ".a | objects", ".a | iterables", ".a | scalars", ".a | booleans",
    ".a | numbers", ".a | tojson", ".a | reverse", ".a | contains(1)", ".a | first", ".a | last", ".a | utf8bytelength",
    ".a | startswith(\"s\")", ".a | map(. + 1)", ".a | sort_by(.)", ".a | min_by(.)", ".a | unique_by(.)",
    ".a | select(. == null)", ".a | if . then 1 elif . == false then 2 else 3 end", ".a | [.[]?] | length",
    ".a | try (. + 1) catch \"failed\"", ".a | tojson | fromjson", ".a and true", ".a or false", "[.a, 1] | add",
    "{k: .a} | .k", "[.a] | .[0]", ".a | .. | numbers", ".a | any", ".a | all", ".a | recurse | numbers",
]


@pytest.mark.parametrize("expression", JQ_BUILTINS)
def test_jq_builtins_match_libjq_on_every_type(expression: str) -> None:
    jq = pytest.importorskip("jq")
    reference = jq.compile(expression)
    ours = compile_jq(expression)
    for doc in SCALARS:
        try:
            want = _canonical(reference.input_value(doc).all())
        except ValueError:
            want = "error"
        try:
            got = _canonical(ours.run(doc))
        except EvaluationError:
            got = "error"
        assert got == want, f"{expression} on {doc}"
