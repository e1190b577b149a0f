"""Environment provenance: manifests record the versions that shape output bytes; reruns over outputs of other
versions warn, or refuse with --strict_env."""

import glob
import json

import pytest

from dolma.core import environment
from dolma.cli import main
from dolma.core.environment import output_environment
from tests.conftest import write_documents

DOCS = [{"id": f"d{i}", "text": f"document number {i} with some words"} for i in range(5)]


@pytest.fixture(autouse=True)
def fresh_policy():
    environment._warned.clear()
    yield
    environment.set_strict(False)
    environment._warned.clear()


def tag(root, *flags):
    return main([*flags, "tag", "--documents", f"{root}/documents/*.gz", "--taggers", "char_length_v1",
                 "--experiment", "e", "--processes", "1"])


def test_versions_that_shape_output_are_listed():
    env = output_environment()
    assert env["python"].count(".") == 2 and "zlib" in env
    for library in ("msgspec", "numpy", "isal", "zstandard", "regex", "tokenizers", "xxhash"):
        assert env[library][0].isdigit(), library


def test_manifest_records_the_environment_and_a_rerun_under_other_versions_warns(tmp_path, caplog):
    write_documents(str(tmp_path / "documents/a.jsonl.gz"), DOCS)
    assert tag(tmp_path) == 0
    manifest_path = glob.glob(f"{tmp_path}/attributes/e/*.manifest.json")[0]
    manifest = json.load(open(manifest_path))
    assert manifest["environment"] == output_environment()

    manifest["environment"]["msgspec"] = "0.0.1"
    manifest["environment"]["numpy"] = "1.0.0"
    with open(manifest_path, "w") as f:
        json.dump(manifest, f)
    attributes = glob.glob(f"{tmp_path}/attributes/e/*.jsonl.gz")[0]
    before = open(attributes, "rb").read()
    caplog.set_level("WARNING", logger="dolma")
    assert tag(tmp_path) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    installed = output_environment()
    assert f"msgspec 0.0.1 (installed: {installed['msgspec']})" in warnings[0]
    assert f"numpy 1.0.0 (installed: {installed['numpy']})" in warnings[0]
    assert manifest_path in warnings[0]
    assert open(attributes, "rb").read() == before  # the unit was skipped, as before


def test_strict_env_refuses_a_rerun_over_outputs_of_other_versions(tmp_path, capsys):
    write_documents(str(tmp_path / "documents/a.jsonl.gz"), DOCS)
    assert tag(tmp_path) == 0
    manifest_path = glob.glob(f"{tmp_path}/attributes/e/*.manifest.json")[0]
    manifest = json.load(open(manifest_path))
    manifest["environment"]["regex"] = "2020.1.1"
    with open(manifest_path, "w") as f:
        json.dump(manifest, f)
    before = open(manifest_path, "rb").read()
    assert tag(tmp_path, "--strict_env") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "regex 2020.1.1 (installed: " in err[0] and "--strict_env" in err[0]
    assert open(manifest_path, "rb").read() == before


def test_outputs_of_the_same_versions_and_old_manifests_do_not_warn(tmp_path, caplog):
    write_documents(str(tmp_path / "documents/a.jsonl.gz"), DOCS)
    assert tag(tmp_path) == 0
    caplog.set_level("WARNING", logger="dolma")
    assert tag(tmp_path, "--strict_env") == 0
    manifest_path = glob.glob(f"{tmp_path}/attributes/e/*.manifest.json")[0]
    manifest = json.load(open(manifest_path))
    del manifest["environment"]  # a manifest written before versions were recorded
    with open(manifest_path, "w") as f:
        json.dump(manifest, f)
    assert tag(tmp_path, "--strict_env") == 0
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_version_flag_prints_the_libraries(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("dolma-toolkit ")
    assert f"msgspec {output_environment()['msgspec']}" in out and "python " in out
