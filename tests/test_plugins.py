import sys
import textwrap

import pytest

from dolma.cli import main
from dolma.core.errors import ConfigError
from dolma.core.registry import TaggerRegistry, load_plugins

from tests.test_tag_stage import DOCS, PLUGIN, run_tag, write_documents
from tests.conftest import read_jsonl

PLUGIN_SOURCE = """
from dolma import BaseTagger, add_tagger, DocResult, Span

@add_tagger("{name}")
class Tagger(BaseTagger):
    def predict(self, doc):
        return DocResult(doc=doc, spans=[Span(0, len(doc.text), "chars", float(len(doc.text)))])
"""


@pytest.fixture
def clean_sys_path():
    saved = list(sys.path)
    yield
    sys.path[:] = saved


def test_plugin_from_file_is_listed(capsys):
    assert main(["list", "--tagger_modules", PLUGIN]) == 0
    out = capsys.readouterr().out
    assert "test_cool_words" in out and "CoolWordsTagger" in out


def test_plugin_from_module_name(tmp_path, clean_sys_path):
    pkg = tmp_path / "my_plugin_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(PLUGIN_SOURCE.format(name="from_module_name"))
    sys.path.insert(0, str(tmp_path))
    load_plugins(["my_plugin_pkg"])
    assert TaggerRegistry.has("from_module_name")


def test_plugin_from_package_folder_path(tmp_path):
    pkg = tmp_path / "folder_plugin"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(PLUGIN_SOURCE.format(name="from_folder"))
    load_plugins([str(pkg)])
    assert TaggerRegistry.has("from_folder")


def test_plugin_from_entry_point(tmp_path, clean_sys_path):
    # an installed distribution declaring a tagger in the `dolma.taggers` entry-point group
    (tmp_path / "ep_plugin.py").write_text(
        textwrap.dedent(
            """
            from dolma import BaseTagger, DocResult, Span

            class EntryPointTagger(BaseTagger):
                def predict(self, doc):
                    return DocResult(doc=doc, spans=[Span(0, 1, "ep", 0.5)])
            """
        )
    )
    dist = tmp_path / "ep_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[dolma.taggers]\nfrom_entry_point = ep_plugin:EntryPointTagger\n")
    sys.path.insert(0, str(tmp_path))
    TaggerRegistry._entry_points_loaded = False
    try:
        assert TaggerRegistry.has("from_entry_point")
        root = tmp_path / "corpus"
        write_documents(str(root / "documents/a.jsonl"), DOCS)
        assert run_tag(documents=[f"{root}/documents/a.jsonl"], taggers=["from_entry_point"], tagger_modules=[]).ok
        rows = read_jsonl(str(root / "attributes/from_entry_point/a.jsonl"))
        assert rows[0]["attributes"] == {"from_entry_point__from_entry_point__ep": [[0, 1, 0.5]]}
    finally:
        TaggerRegistry.remove("from_entry_point")


def test_plugin_errors_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="no such file or folder"):
        load_plugins([str(tmp_path / "missing.py")])
    with pytest.raises(ConfigError, match="cannot import module 'no_such_module_xyz'"):
        load_plugins(["no_such_module_xyz"])
    broken = tmp_path / "broken_plugin.py"
    broken.write_text("raise RuntimeError('plugin is broken')\n")
    with pytest.raises(ConfigError, match="importing .*broken_plugin.py.* failed: RuntimeError: plugin is broken"):
        load_plugins([str(broken)])


def test_name_clash_is_an_error(tmp_path):
    a, b = tmp_path / "a_clash.py", tmp_path / "b_clash.py"
    a.write_text(PLUGIN_SOURCE.format(name="clashing_name"))
    b.write_text(PLUGIN_SOURCE.format(name="clashing_name").replace("class Tagger", "class Other"))
    load_plugins([str(a)])
    try:
        with pytest.raises(ConfigError, match="already taken"):
            load_plugins([str(b)])
    finally:
        TaggerRegistry.remove("clashing_name")


def test_batch_method_is_used(tmp_path):
    plugin = tmp_path / "batch_plugin.py"
    plugin.write_text(
        textwrap.dedent(
            """
            from dolma import BaseTagger, add_tagger, DocResult, Span

            CALLS = []

            @add_tagger("batching_tagger")
            class BatchTagger(BaseTagger):
                def predict(self, doc):
                    raise AssertionError("predict_batch should be used")

                def predict_batch(self, docs):
                    CALLS.append(len(docs))
                    return [DocResult(doc=d, spans=[Span(0, 0, "n", float(len(docs)))]) for d in docs]
            """
        )
    )
    root = tmp_path / "corpus"
    write_documents(str(root / "documents/a.jsonl"), DOCS)
    assert run_tag(documents=[f"{root}/documents/a.jsonl"], taggers=["batching_tagger"], tagger_modules=[str(plugin)]).ok
    rows = read_jsonl(str(root / "attributes/batching_tagger/a.jsonl"))
    assert [r["attributes"]["batching_tagger__batching_tagger__n"] for r in rows] == [[[0, 0, 3.0]]] * 3
