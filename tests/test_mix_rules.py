"""A mix's rules are counted: documents holding the attribute keys each rule reads, documents it matched, documents
it dropped; a rule reading a key no document holds is a warning (strict: an error, nothing published)."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from dolma.core.manifest import manifest_path
from tests.test_mix_stage import _config, _corpus, _mix, _shards

TYPO = "$.attributes[?(@.exp__t__scroe[0][2] < 0.3)]"
GOOD = "$.attributes[?(@.exp__t__score[0][2] < 0.3)]"


def _mixture(out: str) -> Any:
    with open(os.path.join(out, "mixture.json")) as f:
        return json.load(f)["streams"]["web"]


def test_a_rule_reading_a_missing_key_warns_with_the_closest_key(tmp_path: Any, caplog: Any) -> None:
    root = _corpus(str(tmp_path / "c"))
    out = str(tmp_path / "out")
    with caplog.at_level(logging.WARNING, logger="dolma"):
        assert _mix(tmp_path, _config(root, out, filter={"exclude": [TYPO]})) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("exclude[0]" in w and "'exp__t__scroe'" in w and "did you mean 'exp__t__score'" in w for w in warnings), warnings
    rule = _mixture(out)["rules"][0]
    assert rule["rule"] == "exclude[0]" and rule["missing_keys"] == ["exp__t__scroe"]
    assert rule["documents_with_keys"] == 0 and rule["matched"] == 0 and rule["dropped"] == 0


def test_strict_fails_before_publishing(tmp_path: Any, capsys: Any) -> None:
    root = _corpus(str(tmp_path / "c"))
    out = str(tmp_path / "out")
    config = {**_config(root, out, filter={"exclude": [TYPO]}), "strict": True}
    assert _mix(tmp_path, config) == 1
    assert _shards(out) == [] and not os.path.exists(os.path.join(out, "mixture.json"))
    assert "did you mean 'exp__t__score'" in capsys.readouterr().err


def test_a_normal_mix_does_not_warn_and_its_counts_reach_manifests(tmp_path: Any, caplog: Any) -> None:
    root = _corpus(str(tmp_path / "c"))
    out = str(tmp_path / "out")
    config = _config(root, out, filter={"exclude": [GOOD]},
                     span_replacement=[{"span": "$.attributes.exp__t__para", "min_score": 0.9, "replacement": "<{}>"}])
    with caplog.at_level(logging.WARNING, logger="dolma"):
        assert _mix(tmp_path, {**config, "strict": True}) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    rules = {r["rule"]: r for r in _mixture(out)["rules"]}
    # 5 documents; d3 has no score attribute; d0 (0.0) and d1 (0.2) are dropped
    assert rules["exclude[0]"]["documents_with_keys"] == 4
    assert rules["exclude[0]"]["matched"] == rules["exclude[0]"]["dropped"] == 2
    assert rules["span_replacement[0]"]["matched"] == 1  # d3 (d0, the other with spans, is dropped)
    with open(manifest_path(_shards(out)[0])) as f:
        counts = json.load(f)["counts"]
    assert counts["rule exclude[0]: dropped"] == 2 and counts["attribute seen: exp__t__score"] == 4


def test_the_datasheet_shows_each_rules_counts(tmp_path: Any) -> None:
    from dolma.release.report import ReportConfig, build_report

    root = _corpus(str(tmp_path / "c"))
    out = str(tmp_path / "out")
    config = _config(root, out, filter={"exclude": [GOOD, TYPO]})
    assert _mix(tmp_path, config) == 0
    markdown, _, _ = build_report(ReportConfig(path=out))
    assert "## Mix rules" in markdown
    assert f"| web | exclude[0] | {GOOD} | 4 | 2 | 2 |" in markdown
    assert f"| web | exclude[1] | {TYPO} | 0 (never applied) | 0 | 0 |" in markdown


def test_records_without_rule_counts_do_not_warn() -> None:
    from dolma.mixers.config import StreamConfig, FilterConfig, StreamOutputConfig
    from dolma.mixers.stage import rule_problems

    stream = StreamConfig(name="web", documents=["x"], output=StreamOutputConfig(path="o"),
                          filter=FilterConfig(exclude=[TYPO]))
    assert rule_problems(stream, {"documents_in": 5}) == []  # made before rules were counted: nothing to judge
    problems = rule_problems(stream, {"documents_in": 5, "rule exclude[0]: keys present": 0,
                                      "attribute seen: exp__t__score": 5})
    assert len(problems) == 1 and "did you mean 'exp__t__score'?" in problems[0]
