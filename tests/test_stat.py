import json

import pytest

from dolma.cli import main
from dolma.core.errors import InputError
from dolma.release.stat import StatConfig, collect_stats, summarise_stats
from tests.conftest import write_bytes


def attributes_file(path, rows):
    write_bytes(str(path), "".join(json.dumps({"id": str(i), "attributes": a}) + "\n" for i, a in enumerate(rows)).encode())


def test_stats_per_key_are_exact_for_small_inputs(tmp_path):
    attributes_file(tmp_path / "a/x.jsonl.gz", [
        {"e__t__len": [[0, 10, 10.0]], "e__t__para": [[0, 4, 0.5], [4, 10, 1.0]]},
        {"e__t__len": [[0, 30, 30.0]]},
    ])
    attributes_file(tmp_path / "a/y.jsonl", [{"e__t__len": [[0, 20, 20.0]], "other__x__y": [[0, 1, 1.0]]}])
    summary = summarise_stats(collect_stats(StatConfig(attributes=[f"{tmp_path}/a/*"], keys=["e__t__*"])), bins=2)
    assert (summary["files"], summary["documents"]) == (2, 3)
    assert sorted(summary["attributes"]) == ["e__t__len", "e__t__para"]
    length = summary["attributes"]["e__t__len"]["scores"]
    assert (length["count"], length["mean"], length["min"], length["max"]) == (3, 20.0, 10.0, 30.0)
    assert length["quantiles"]["p50"] == 20.0
    assert length["histogram"] == {"edges": [10.0, 20.0, 30.0], "counts": [1, 2]}
    spans = summary["attributes"]["e__t__para"]["span_lengths"]
    assert (spans["count"], spans["min"], spans["max"], spans["mean"]) == (2, 4.0, 6.0, 5.0)


def test_bad_attribute_lines_name_file_and_line(tmp_path):
    write_bytes(str(tmp_path / "bad.jsonl"), b'{"id": "1", "attributes": {"k": [[0, 1, 1.0]]}}\n{"id": "2", "attributes": {"k": [[0, 1]]}}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: attribute 'k': \[0, 1\] is not a \[start, end, score\] span"):
        collect_stats(StatConfig(attributes=[str(tmp_path / "bad.jsonl")]))


def test_stat_command_prints_table_and_writes_json(tmp_path, capsys):
    attributes_file(tmp_path / "x.jsonl", [{"e__t__len": [[0, 5, 5.0]]}])
    assert main(["stat", "--attributes", str(tmp_path / "x.jsonl"), "--output", str(tmp_path / "s.json")]) == 0
    assert "e__t__len" in capsys.readouterr().out
    assert json.loads((tmp_path / "s.json").read_text())["attributes"]["e__t__len"]["scores"]["count"] == 1
