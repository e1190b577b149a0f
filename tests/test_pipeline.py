"""The quickstart recipe end to end (small), resume, verify and the report's contents."""

import glob
import json
import os
import shutil

import numpy as np
import pytest
import yaml

from dolma.core import environment
from dolma.cli import main
from dolma.core.environment import output_environment
from dolma.release.verify import verify_release

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
    for section in ("## Stages", "## Sources", "## What was removed", "## Mix rules", "## Duplicates", "## Mixture",
                    "## Tokenizer", "## Environment", "## Contamination"):
        assert section in report
    # decontaminated against HumanEval: every HumanEval item was looked for in every document
    (row,) = _table(report, "## Contamination")
    assert row[:2] == ["humaneval", "163"]
    assert (out / "report/contamination_matches.jsonl").exists()
    environment = json.load(open(out / "release.json"))["environment"]
    assert environment == output_environment()
    assert f"| msgspec | {environment['msgspec']} |" in report
    html = (out / "report/report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3  # plots are embedded: the page stands alone
    assert verify_release(str(out)) == []


def _table(report, heading):
    """The rows of the first table after ``heading``, as lists of cells."""
    section = report.split(heading, 1)[1].split("\n## ", 1)[0]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| ---")][1:]


def _number(cell):
    return int(cell.replace(",", "").replace("+", ""))


def test_the_datasheet_adds_up(release):
    out, _ = release
    report = (out / "report/report.md").read_text()
    mixture = json.load(open(out / "mixed/mixture.json"))["streams"]
    # the waterfall: in, each removal, kept, the up-sampling copies, out; and the numbers reconcile
    steps = {row[0]: _number(row[1]) for row in _table(report, "## What was removed")}
    copies = sum(s["counts"]["copies_added"] for s in mixture.values())
    assert copies > 0 and steps["up-sampling copies (added)"] == copies
    removed = sum(n for step, n in steps.items() if step.startswith("removed: "))
    assert steps["documents in"] + removed == steps["kept"]
    assert steps["kept"] + copies == steps["documents out"] == sum(s["counts"]["documents_out"] for s in mixture.values())
    # MB columns mean what they say: stages that write no documents show —, and no row is empty
    stages = {row[0]: row for row in _table(report, "## Stages")}
    assert stages["tag"][6] == stages["dedupe"][6] == stages["tokens"][6] == "—" and stages["mix"][6] != "—"
    for row in _table(report, "## Sources"):
        assert any(cell not in ("0", "0.000", "—") for cell in row[2:]), row
        if row[1] in ("tag", "dedupe"):
            assert row[5] == "—"
    # the realised shares are in the targets' unit (tokens), from the mix's own token counts
    assert "realised (tokens of text)" in report
    rows = {row[0]: row for row in _table(report, "## Mixture")}
    for name, stream in mixture.items():
        assert _number(rows[name][3]) == stream["counts"]["text_tokens_out"]
        assert rows[name][5] == f"{stream['target']['share']:.3f} of tokens"


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


def test_rerun_of_a_stage_finished_under_other_versions_warns(release, caplog):
    out, recipe = release
    state = out / ".pipeline/tag.json"
    original = state.read_bytes()
    recorded = json.loads(original)
    recorded["environment"]["tokenizers"] = "0.1.0"
    state.write_text(json.dumps(recorded))
    environment._warned.clear()
    caplog.set_level("INFO", logger="dolma")
    try:
        assert main(["pipeline", "-c", str(recipe)]) == 0
    finally:
        state.write_bytes(original)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    installed = output_environment()["tokenizers"]
    assert any("pipeline stage `tag`" in w and f"tokenizers 0.1.0 (installed: {installed})" in w for w in warnings)
    assert "pipeline: tag is complete, skipping it" in [r.getMessage() for r in caplog.records]


def test_recipe_errors_name_the_stage(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"output": str(tmp_path / "o"), "embedded_corpus": {"max_files": 5, "web_pages": 1},
                                    "tag": {"taggers": ["char_length_v1"], "experimnt": "x"}}))
    assert main(["pipeline", "-c", str(path)]) == 2
    assert "recipe `tag`: unknown key `experimnt`; did you mean `experiment`?" in capsys.readouterr().err


def test_every_stage_section_of_the_dolma_like_recipe_is_valid():
    from dolma.cli.commands import COMMANDS, load_command
    from dolma.core.config import resolve
    from dolma.cli.pipeline import PipelineConfig

    recipe = resolve(PipelineConfig, yaml.safe_load(open(os.path.join(REPO, "configs", "dolma_like_release.yaml"))))
    docs = {"documents": ["x/documents/*.gz"]}
    resolve(load_command(COMMANDS["tag"]).schema, {**docs, **recipe.tag})
    resolve(load_command(COMMANDS["dedupe"]).schema, {**docs, **recipe.dedupe, "bloom_filter": {
        **recipe.dedupe["bloom_filter"], "file": "f.bin"}})
    resolve(load_command(COMMANDS["mix"]).schema, {**recipe.mix, "streams": [
        {**s, "documents": ["x/documents/*.gz"], "output": {"path": "o"}} for s in recipe.mix["streams"]]})
    resolve(load_command(COMMANDS["tokens"]).schema, {**docs, "destination": "t", **recipe.tokens})
    for source in recipe.sources:
        if source.import_ is not None:
            resolve(load_command(COMMANDS["import"]).schema, {**source.import_, "destination": "d", "source": "s"})
        if source.warc is not None:
            resolve(load_command(COMMANDS["warc"]).schema, {**source.warc, "destination": ["d"], "source_name": "s"})


def test_report_renders_in_a_headless_browser(release, tmp_path):
    """Debian's chromium renders the page: every plot loads and the text is there (skipped without chromium)."""
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    out, _ = release
    page = (out / "report/report.html").as_uri()
    script = tmp_path / "probe.html"
    # the probe loads the report in an iframe and writes what it finds into its own DOM
    script.write_text(
        f"""<html><body><iframe id="r" src="{page}" width="1100" height="3000"></iframe><pre id="o"></pre><script>
        document.getElementById('r').onload = function () {{
          var d = document.getElementById('r').contentDocument;
          var imgs = Array.from(d.images);
          document.getElementById('o').textContent = JSON.stringify({{
            images: imgs.length, loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
            h2: Array.from(d.querySelectorAll('h2')).map(h => h.textContent)}});
        }};</script></body></html>"""
    )
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
         "--virtual-time-budget=5000", "--dump-dom", script.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout
    import json
    import re

    found = json.loads(re.search(r'<pre id="o">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"'))
    assert found["images"] >= 3 and found["loaded"] == found["images"]
    assert "Stages" in found["h2"] and "Mixture" in found["h2"]
