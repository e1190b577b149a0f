"""The small quickstart-like release the lineage tests share (built once per test session: `lineage_release`)."""

import os

import yaml

from dolma.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEDUPE_RULE = "$.attributes[?(@.bff_duplicate_paragraph_spans[0][2] >= 1)]"


def build_lineage_release(root) -> str:
    """The quickstart, small, with a rule on the dedupe attribute, a minimum length on code, token files of 16,384
    bytes (8,192 tokens) so that long documents are cut across files, and near-duplicates in one partition."""
    recipe = yaml.safe_load(open(os.path.join(REPO, "configs", "quickstart.yaml")))
    recipe.update(output=str(root / "release"), processes=1)
    recipe["embedded_corpus"] = {"max_files": 40, "web_pages": 4}
    recipe["mix"]["mixture"]["total"] = 60000
    streams = {s["name"]: s for s in recipe["mix"]["streams"]}
    streams["prose"]["filter"]["exclude"].append(DEDUPE_RULE)
    streams["code"]["output"] = {"min_text_length": 3000}
    recipe["tokens"]["max_size"] = 16384
    recipe["near_dedupe"]["dedupe"]["minhash"]["partitions"] = 1  # fewer state files to copy and upload
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    assert main(["pipeline", "-c", str(root / "recipe.yaml")]) == 0
    return str(root / "release")
