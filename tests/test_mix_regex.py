"""User regexes (jq `test`) run with a time limit per document: past it, the line fails the run naming its file,
line and pattern, or is quarantined with `on_error: skip` while the rest of the file is mixed."""

from __future__ import annotations

import gzip
import json
import os
import time
from typing import Any

import pytest

from dolma.core.errors import ConfigError
from dolma.mixers.config import MixConfig
from dolma.core.config import resolve
from tests.conftest import read_jsonl, write_documents
from tests.test_mix_stage import _mix, _shards

EVIL = "a" * 40 + "!"


def _corpus(root: str) -> str:
    docs = [{"id": "d0", "text": "fine text"}, {"id": "d1", "text": EVIL}, {"id": "d2", "text": "more text"}]
    write_documents(f"{root}/documents/part-00.jsonl.gz", docs)
    return root


def _config(root: str, out: str, pattern: str, **top: Any) -> Any:
    stream = {"name": "web", "documents": [f"{root}/documents/*.jsonl.gz"], "output": {"path": out},
              "filter": {"syntax": "jq", "exclude": [f'.text | test("{pattern}")']}}
    return {"streams": [stream], "processes": 1, "regex_timeout": 0.2, **top}


def test_python_re_catastrophe_runs_in_linear_time(tmp_path: Any) -> None:
    # `(a+)+$` hangs Python's `re` on "a"*34 + "!"; the `regex` module that runs user patterns matches it at once
    root = _corpus(str(tmp_path / "c"))
    out = str(tmp_path / "out")
    start = time.monotonic()
    assert _mix(tmp_path, _config(root, out, "(a+)+$", regex_timeout=5.0)) == 0
    assert time.monotonic() - start < 5
    assert [d["id"] for d in read_jsonl(_shards(out)[0])] == ["d0", "d1", "d2"]


def test_a_regex_past_its_limit_names_file_line_and_pattern(tmp_path: Any, capsys: Any) -> None:
    root = _corpus(str(tmp_path / "c"))
    out = str(tmp_path / "out")
    start = time.monotonic()
    assert _mix(tmp_path, _config(root, out, "(a|aa)+$")) == 1
    assert time.monotonic() - start < 30
    err = capsys.readouterr().err
    assert "part-00.jsonl.gz" in err and ":2" in err and "(a|aa)+$" in err and "0.2s" in err, err
    assert _shards(out) == []


def test_with_on_error_skip_the_line_is_quarantined_and_the_rest_mixed(tmp_path: Any) -> None:
    root = _corpus(str(tmp_path / "c"))
    out = str(tmp_path / "out")
    assert _mix(tmp_path, _config(root, out, "(a|aa)+$", on_error="skip")) == 0
    assert [d["id"] for d in read_jsonl(_shards(out)[0])] == ["d0", "d2"]
    quarantine = [os.path.join(out, "quarantine", n) for n in os.listdir(os.path.join(out, "quarantine"))]
    with gzip.open(quarantine[0], "rt") as f:
        lines = [json.loads(x) for x in f]
    assert len(lines) == 1 and "(a|aa)+$" in json.dumps(lines[0]) and EVIL in json.dumps(lines[0])
    with open(_shards(out)[0] + ".manifest.json") as f:
        assert json.load(f)["counts"]["documents_quarantined"] == 1


def test_regex_timeout_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="regex_timeout"):
        resolve(MixConfig, {"streams": [], "regex_timeout": 0})
