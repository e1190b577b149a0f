"""An in-place `dolma remove` killed at any step is finished by running the same command again: the result is, file
for file, the release an uninterrupted removal gives (and `dolma verify` flags the release in between)."""

import csv
import gzip
import json
import os
import shutil

import msgspec
import pytest

from dolma.core.errors import ConfigError
from dolma.release import remove as remove_module
from dolma.release import remove_journal
from dolma.release.remove import RemoveConfig, remove_documents
from dolma.release.verify import verify_release


class Killed(BaseException):
    """The process dying at that point (nothing catches it on the way out)."""


def _kept_ids(root, n):
    kept = []
    for name in sorted(os.listdir(os.path.join(root, "lineage"))):
        if name.endswith(".csv.gz"):
            with gzip.open(os.path.join(root, "lineage", name), "rt", encoding="utf-8") as f:
                kept += [r[1] for r in csv.reader(f) if r[0] == "D" and r[5] == "kept"]
    return kept[:: max(1, len(kept) // n)][:n]


def _files(root):
    """Every file below ``root`` (relative path → bytes); the removal record, ``release.json`` and the datasheet
    carry the time, so they come back without it (and the datasheet not at all)."""
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            rel = os.path.relpath(os.path.join(folder, name), root)
            data = open(os.path.join(folder, name), "rb").read()
            if rel.startswith("report/"):
                continue
            if rel == "release.json" or rel.startswith("removals/"):
                value = json.loads(data)
                value.pop("created", None)
                if rel == "release.json":
                    value["files"] = [e for e in value["files"]
                                      if not e["path"].startswith(("report/", "removals/"))]
                data = json.dumps(value, sort_keys=True).encode()
            out[rel] = data
    return out


@pytest.fixture(scope="module")
def removal(lineage_release, tmp_path_factory):
    """The uninterrupted in-place removal: its config, the release after it, and how many files it wrote."""
    work = str(tmp_path_factory.mktemp("reference") / "release")
    shutil.copytree(lineage_release, work)
    config = RemoveConfig(path=work, ids=_kept_ids(lineage_release, 3), reason="takedown", report=False)
    original, writes = remove_module._Writer.write, []

    def counted(*args, **kwargs):
        writes.append(1)
        return original(*args, **kwargs)

    remove_module._Writer.write = counted
    try:
        remove_documents(config)
    finally:
        remove_module._Writer.write = original
    assert verify_release(work) == []
    return config, _files(work), len(writes)


def _fail_on_call(monkeypatch, owner, name, call, after=False):
    """``owner.name`` dies on its ``call``-th call (before doing anything, or ``after`` it)."""
    original = getattr(owner, name)
    calls = []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == call and not after:
            raise Killed(name)
        result = original(*args, **kwargs)
        if len(calls) == call and after:
            raise Killed(name)
        return result

    monkeypatch.setattr(owner, name, dying)


@pytest.mark.parametrize("step, owner, name, call, after", [
    ("staging the first file", remove_module._Writer, "write", 1, False),
    ("staging, half-way", remove_module._Writer, "write", 4, True),
    ("staging the removal record", remove_module._Writer, "write", "last", False),
    ("just before the commit", remove_journal, "commit", 1, False),
    ("just after the commit", remove_journal, "commit", 1, True),
    ("moving the first file in", remove_journal, "_move", 1, False),
    ("moving files in, half-way", remove_journal, "_move", 3, True),
    ("writing release.json", remove_module, "_write_release", 1, False),
    ("after release.json", remove_module, "_write_release", 1, True),
    ("deleting the journal", remove_journal, "finish", 1, False),
])
def test_a_killed_removal_in_place_is_finished_by_running_it_again(
    lineage_release, removal, tmp_path, monkeypatch, step, owner, name, call, after
):
    config, expected, writes = removal
    work = str(tmp_path / "release")
    shutil.copytree(lineage_release, work)
    config = msgspec.structs.replace(config, path=work)
    call = writes if call == "last" else call
    before = _files(work)
    _fail_on_call(monkeypatch, owner, name, call, after)
    with pytest.raises(Killed):
        remove_documents(config)
    monkeypatch.undo()
    committed = os.path.exists(os.path.join(work, remove_journal.JOURNAL))
    staged = any(files for _, _, files in os.walk(os.path.join(work, remove_journal.STAGING_DIR)))
    assert (verify_release(work) != []) == (committed or staged), step  # a half-done removal shows
    if not committed:  # killed before the commit: nothing in the release changed yet
        assert {k: v for k, v in _files(work).items() if not k.startswith(remove_journal.STAGING_DIR)} == before
    remove_documents(config)  # the same command again
    assert verify_release(work) == []
    assert _files(work) == expected, step
    assert len(os.listdir(os.path.join(work, "removals"))) == 1


def test_a_rerun_asking_for_another_removal_finishes_the_killed_one_first(lineage_release, tmp_path, monkeypatch):
    work = str(tmp_path / "release")
    shutil.copytree(lineage_release, work)
    first, second = _kept_ids(lineage_release, 4)[:2], _kept_ids(lineage_release, 4)[2:]
    _fail_on_call(monkeypatch, remove_journal, "_move", 2)
    with pytest.raises(Killed):
        remove_documents(RemoveConfig(path=work, ids=first, reason="one", report=False))
    monkeypatch.undo()
    with pytest.raises(ConfigError, match="killed half-way"):  # not a source for a new folder while half-done
        remove_documents(RemoveConfig(path=work, ids=second, reason="two", output=str(tmp_path / "new")))
    record = remove_documents(RemoveConfig(path=work, ids=second, reason="two"))
    assert record.number == 2 and record.documents == second
    assert sorted(os.listdir(os.path.join(work, "removals"))) == ["0001.json", "0002.json"]
    assert json.load(open(os.path.join(work, "removals", "0001.json")))["documents"] == first
    assert verify_release(work) == []
