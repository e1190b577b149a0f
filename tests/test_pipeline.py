"""The quickstart recipe end to end (small), resume, verify and the report's contents."""

import glob
import os
import shutil

import numpy as np
import pytest
import yaml

from dolma.cli import main
from dolma.release import verify_release

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    recipe = yaml.safe_load(open(os.path.join(REPO, "configs", "quickstart.yaml")))
    recipe.update(output=str(root / "release"), processes=1)
    recipe["embedded_corpus"] = {"max_files": 40, "web_pages": 4}
    recipe["mix"]["mixture"]["total"] = 60000
    path = root / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    assert main(["pipeline", "-c", str(path)]) == 0
    return root / "release", path


def test_quickstart_recipe_builds_a_release(release):
    out, _ = release
    for source in ("code", "prose", "web"):
        assert glob.glob(f"{out}/{source}/documents/*.jsonl.gz")
        assert glob.glob(f"{out}/{source}/attributes/quality/*.jsonl.gz")
        assert glob.glob(f"{out}/{source}/attributes/dedupe_paragraphs/*.jsonl.gz")
    assert {os.path.basename(p).split("-")[0] for p in glob.glob(f"{out}/mixed/*.jsonl.gz")} == {"code", "prose", "web"}
    tokens = glob.glob(f"{out}/tokens/*.npy")
    assert tokens and np.memmap(tokens[0], dtype=np.uint16, mode="r").size > 1000
    report = (out / "report/report.md").read_text()
    for section in ("## Stages", "## Sources", "## What was removed", "## Duplicates", "## Mixture", "## Tokenizer"):
        assert section in report
    html = (out / "report/report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3  # plots are embedded: the page stands alone
    assert verify_release(str(out)) == []


def test_rerun_skips_complete_stages_and_resumes_a_missing_one(release, caplog):
    out, recipe = release
    before = {p: os.path.getmtime(p) for p in glob.glob(f"{out}/*/attributes/*/*.jsonl.gz")}
    shutil.rmtree(out / "tokens")
    os.remove(out / ".pipeline/tokens.json")
    caplog.set_level("INFO", logger="dolma")
    assert main(["pipeline", "-c", str(recipe)]) == 0
    messages = [r.getMessage() for r in caplog.records]
    assert "pipeline: tag is complete, skipping it" in messages
    assert "pipeline: running tokens" in messages
    assert glob.glob(f"{out}/tokens/*.npy")
    assert {p: os.path.getmtime(p) for p in before} == before
    assert verify_release(str(out)) == []


def test_recipe_errors_name_the_stage(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"output": str(tmp_path / "o"), "embedded_corpus": {"max_files": 5, "web_pages": 1},
                                    "tag": {"taggers": ["char_length_v1"], "experimnt": "x"}}))
    assert main(["pipeline", "-c", str(path)]) == 2
    assert "recipe `tag`: unknown key `experimnt`; did you mean `experiment`?" in capsys.readouterr().err
