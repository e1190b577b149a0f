import json
import os
import shutil
import subprocess
import sys

from tests.conftest import read_jsonl

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quickstart_sample_corpus_then_tag_config(tmp_path):
    """The README's first command, in a scratch folder: sample corpus, then `dolma tag -c configs/tag.yaml`."""
    shutil.copytree(os.path.join(REPO, "configs"), tmp_path / "configs")
    dolma = [sys.executable, "-m", "dolma.cli"]
    run = dict(cwd=tmp_path, capture_output=True, text=True, timeout=300)
    built = subprocess.run(
        [*dolma, "sample-corpus", "--destination", "quickstart", "--max_files", "40", "--web_pages", "2"], **run
    )
    assert built.returncode == 0, built.stderr
    tagged = subprocess.run([*dolma, "-c", "configs/tag.yaml", "tag"], **run)
    assert tagged.returncode == 0, tagged.stderr
    for source in ("code", "prose"):
        docs_dir = tmp_path / "quickstart" / source / "documents"
        name = f"{source}-0000.jsonl.gz"
        attributes = tmp_path / "quickstart" / source / "attributes/quality" / name
        rows = read_jsonl(str(attributes))
        docs = read_jsonl(str(docs_dir / name))
        assert [r["id"] for r in rows] == [d["id"] for d in docs]
        keys = set(rows[0]["attributes"])
        assert "quality__char_length_v1__length" in keys and "quality__random_number_v1__random" in keys
        assert any(k.startswith("quality__gopher_v1__") for k in keys)
        manifest = json.loads((attributes.parent / (name + ".manifest.json")).read_text())
        assert manifest["counts"]["documents_out"] == len(docs)


def test_console_script_lists_builtin_taggers():
    exe = shutil.which("dolma")
    assert exe is not None, "the `dolma` console script is installed with the package"
    out = subprocess.run([exe, "list"], capture_output=True, text=True, check=True).stdout
    names = {line.split()[0] for line in out.splitlines()}
    expected = {
        "char_length_v1", "char_length_with_paragraphs_v1", "whitespace_tokenizer_v1",
        "whitespace_tokenizer_with_paragraphs_v1", "gopher_v1", "c4_v1", "c4_v2", "pii_regex_v1", "pii_regex_v2",
        "pii_regex_with_counts_v2", "pii_regex_with_counts_fast_v2", "random_number_v1",
    }
    assert expected <= names


def test_sample_corpus_is_the_same_bytes_in_every_process(tmp_path):
    """The quickstart's corpus must not depend on the run: pydoc pages show default values with memory addresses,
    and a process's hash seed may order sets."""
    trees = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        built = subprocess.run(
            [sys.executable, "-m", "dolma.cli", "sample-corpus", "--destination", str(out), "--max_files", "20"],
            capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert built.returncode == 0, built.stderr
        trees.append({str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert len(trees[0]) > 10 and any(name.startswith("raw/web/") for name in trees[0])
    assert trees[0] == trees[1]
    # nor on what the calling process holds: `logging`'s page lists the live handlers (a pipeline on Ray adds some)
    import logging

    from dolma.release.sample_corpus import _web_pages

    handler = logging.StreamHandler()
    assert dict(_web_pages(("logging",)))["logging"].encode() == trees[0]["raw/web/logging.html"]
    handler.close()
