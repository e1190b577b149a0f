"""Dolma's Python names (docs/compat.md): what code written against Dolma 1.2.1 imports, with Dolma's semantics,
over our own implementation. Dolma's own suite runs against us with /work/shared/reference/run-dolma-suite; these
are our small checks of the same surface, so a regression shows in our CI."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import numpy as np
import pytest

from tests.conftest import read_jsonl, write_documents

DOCS = [
    {"id": "a", "text": "The quick brown fox jumps over the lazy dog.\nlorem ipsum {", "source": "s"},
    {"id": "b", "text": "Another document.\nWith two lines.", "source": "s"},
]


def test_cli_main_is_a_library_call_that_raises(tmp_path: Path) -> None:
    from dolma.cli.__main__ import main  # importing it must not run the command line
    from dolma.core.errors import ConfigError, DolmaConfigError

    assert DolmaConfigError is ConfigError
    docs = write_documents(str(tmp_path / "notdocs" / "000.json.gz"), DOCS)
    config = tmp_path / "dedupe.json"
    config.write_text(
        '{"documents": ["%s"], "dedupe": {"name": "d", "documents": {"attribute_name": "dup", "key": "$.id"}}, '
        '"bloom_filter": {"file": "%s", "estimated_doc_count": 10, "desired_false_positive_rate": 0.01}}'
        % (docs, tmp_path / "bloom.bin")
    )
    with pytest.raises(DolmaConfigError):
        main(argv=["-c", str(config), "dedupe"])


def test_paths_have_dolma_semantics() -> None:
    from dolma.core import paths as p

    assert p.split_path("s3://b/to/dir/") == ("s3", ("b", "to", "dir"))
    assert p.split_path("/a/b") == ("", ("/", "a", "b"))
    assert p.join_path("", "path", ("to", "a"), "dir/f.txt") == "path/to/a/dir/f.txt"
    assert p.join_path("s3", ("/", "b", "k", "")) == "s3://b/k"
    for path in ("s3://b/a/**.zip", "/x/y/*", "*"):
        assert p.join_path(*p.split_path(path)) == path
    assert p.make_relative(["/p/d/a", "/p/d/b/**"]) == ("/p/d", ["a", "b/**"])
    assert p.make_relative(["s3://x/a", "s3://y/b"]) == ("s3://", ["x/a", "y/b"])
    assert p.is_glob("/u/?/d") and not p.is_glob(r"/u/\?/d/\*")
    assert p.split_glob("/u/\\[a\\]/d/[a-z]/f") == ("/u/\\[a\\]/d", "[a-z]/f")
    assert p._unescape_glob(p._escape_glob("/u/[abc]/*?")) == "/u/[abc]/*?"
    assert p.sub_prefix("s3://p/to/b/more", "s3://p/to/b") == "more"
    assert p.sub_suffix("/p/dir/and/more", "and/more") == "/p/dir"
    assert p.add_suffix("/p/**", "*") == "/p/**/*"
    with pytest.raises(ValueError):
        p.add_suffix("/p", "/abs")
    assert p.split_ext("s3://b/f.tar.gz") == ("s3", ("b", "f"), ".tar.gz")


def test_local_glob_path_and_mkdir_p(tmp_path: Path) -> None:
    from dolma.core.paths import glob_path, mkdir_p

    mkdir_p(str(tmp_path / "x" / "y"))
    for name in ("x/a.json.gz", "x/y/b.json.gz", "x/y/c.txt"):
        (tmp_path / name).write_bytes(b"")
    assert sorted(glob_path(f"{tmp_path}/x/**/*.json.gz")) == [f"{tmp_path}/x/a.json.gz", f"{tmp_path}/x/y/b.json.gz"]


def test_data_types_in_dolma_shape() -> None:
    from dolma.core.data_types import DocResult, Document, InputSpec, Span, TextSlice

    doc = Document(source="s", version="v", id="i", text="text")
    assert doc.to_spec() == InputSpec(source="s", version="v", id="i", text="text")
    assert Document.from_spec(doc.to_spec()).to_json() == doc.to_json()
    result = DocResult(doc, [Span(0, 2, "x"), Span(2, 4, "y", 0.5)])
    assert result.to_json() == {
        "spans": [
            {"start": 0, "end": 2, "type": "x", "score": 1.0, "mention": "te"},
            {"start": 2, "end": 4, "type": "y", "score": 0.5, "mention": "xt"},
        ]
    }
    assert DocResult.from_json(result.to_json(with_doc=True)).to_json() == result.to_json()
    with pytest.raises(AssertionError):
        Span(0, 1, "x").to_spec()
    assert TextSlice("This is", 0, 4).text == "This"


def test_base_registry_keeps_one_store_per_subclass() -> None:
    from dolma.core.registry import BaseRegistry

    class A(BaseRegistry):
        pass

    class B(BaseRegistry):
        pass

    A.add("x")(str)
    A.add("x")(str)  # the same object again is fine
    with pytest.raises(ValueError):
        A.add("x")(int)
    with pytest.raises(ValueError):
        A.get("y")
    assert A.has("x") and not B.has("x")
    assert list(A.items()) == [("x", str)]


def test_text_splitters() -> None:
    from dolma.core.utils import split_paragraphs, split_sentences, split_words

    text = "One. \n  \n Two two.\n\n  Three!"
    assert [s.text for s in split_paragraphs(text)] == ["One. \n", " Two two.\n", "  Three!"]
    assert len(split_paragraphs(text, remove_empty=False)) == 5
    assert [s.text for s in split_sentences(text)] == ["One.", "Two two.", "Three!"]
    assert [s.text for s in split_words("Hi, you")] == ["Hi", ",", "you"]
    for s in split_sentences(text):
        assert text[s.start : s.end] == s.text


def test_binning() -> None:
    from dolma.core.binning import FixedBucketsValTracker, cumsum_with_reset, equal_count_hist, merge_bins

    assert cumsum_with_reset(np.array([1, 2, 0, 3, 4])).tolist() == [1, 3, 0, 3, 7]
    counts, edges = equal_count_hist(np.arange(1, 10), bins=3)
    assert counts.tolist() == [3, 3, 3] and edges.tolist() == [1.0, 3.5, 6.5, 9.0]
    bins, counts = merge_bins(np.array([0.0, 1.0]), np.array([1, 2]), np.array([1.0, 2.0]), np.array([3, 4]))
    assert bins.tolist() == [0.0, 1.0, 2.0] and counts.tolist() == [1, 5, 4]
    tracker = FixedBucketsValTracker()
    tracker.add([0.1, 0.2, 0.9], [1, 1, 2])
    counts, edges, total, total_sum = tracker.summarize(2)
    assert counts == [2, 2] and total == 4 and total_sum == pytest.approx(2.1)


# (values, bins, weights, counts, edges): equal_count_hist's results from Dolma 1.2.1, recorded
EQUAL_COUNT_CASES = [
    ([49, 59, 79], 2, None, [2, 1], [49.0, 69.0, 79.0]),
    ([2, 7, 12, 14, 40, 48, 54, 54, 75, 92], 5, [28, 29, 18, 26, 11, 4, 15, 13, 19, 29], [57, 18, 37, 19, 61], [2.0, 9.5, 13.0, 44.0, 54.0, 92.0]),
    ([13, 24, 34, 67, 78], 6, None, [1, 1, 1, 1, 1], [13.0, 18.5, 29.0, 50.5, 72.5, 78.0]),
    ([13, 20, 54, 81, 83, 94, 98, 98], 4, [9, 16, 24, 14, 29, 10, 27, 17], [25, 67, 37, 17], [13.0, 37.0, 88.5, 98.0, 98.0]),
    ([1, 8, 12, 27, 46, 59, 68, 77, 80, 86, 88, 96], 3, None, [4, 5, 3], [1.0, 36.5, 83.0, 96.0]),
    ([3, 7, 14, 17, 20, 21, 24, 30, 42, 56, 61, 67, 85, 90, 99], 6, [6, 13, 10, 21, 14, 10, 27, 18, 20, 22, 10, 26, 0, 9, 4], [29, 35, 55, 42, 36, 13], [3.0, 15.5, 20.5, 36.0, 58.5, 76.0, 99.0]),
    ([8, 45], 6, None, [1, 1], [8.0, 26.5, 45.0]),
    ([2, 3, 5, 7, 19, 30, 30, 31, 49, 58, 84, 85, 93], 5, [2, 23, 5, 14, 0, 0, 25, 0, 13, 12, 3, 19, 22], [25, 44, 25, 22, 22], [2.0, 4.0, 30.5, 71.0, 89.0, 93.0]),
    ([2, 6, 9, 14, 19, 41, 52, 59, 68, 69, 73, 80, 86, 89, 92], 2, None, [8, 7], [2.0, 63.5, 92.0]),
    ([21, 24, 25, 31, 40, 47, 85, 94], 3, [29, 11, 28, 15, 10, 28, 13, 23], [40, 81, 36], [21.0, 24.5, 66.0, 94.0]),
    ([4, 6, 10, 53, 74, 87], 6, None, [1, 1, 1, 1, 1, 1], [4.0, 5.0, 8.0, 31.5, 63.5, 80.5, 87.0]),
    ([16, 24, 28, 30, 54, 74, 84], 6, [2, 19, 27, 20, 26, 23, 17], [21, 27, 20, 26, 23, 17], [16.0, 26.0, 29.0, 42.0, 64.0, 79.0, 84.0]),
]


@pytest.mark.parametrize("values,bins,weights,counts,edges", EQUAL_COUNT_CASES)
def test_equal_count_hist_gives_dolmas_bins(values, bins, weights, counts, edges) -> None:
    from dolma.core.binning import equal_count_hist

    got_counts, got_edges = equal_count_hist(np.array(values), bins=bins, weights=weights)
    assert (got_counts.tolist(), got_edges.tolist()) == (counts, edges)


def test_equal_count_hist_returns_where_dolma_never_does() -> None:
    from dolma.core.binning import cumsum_with_reset, equal_count_hist

    # Dolma 1.2.1 loops forever here: the running weight crosses no new multiple of the target
    counts, edges = equal_count_hist(np.array([25, 49]), bins=9, weights=[22, 6])
    assert counts.tolist() == [22, 6] and edges.tolist() == [25.0, 37.0, 49.0]
    assert cumsum_with_reset(np.array([2, -1, 3, 4, -1, 5]), -1).tolist() == [2, 0, 3, 7, 0, 5]


def test_tagger_class_aliases_are_our_registered_taggers() -> None:
    from dolma.core.registry import TaggerRegistry
    from dolma.taggers.c4 import C4Tagger, FasterC4Tagger
    from dolma.taggers.gopher import GopherTagger
    from dolma.taggers.sampling import RandomNumberTagger

    assert TaggerRegistry.get("c4_v1") is C4Tagger and TaggerRegistry.get("c4_v2") is FasterC4Tagger
    assert TaggerRegistry.get("gopher_v1") is GopherTagger
    assert TaggerRegistry.get("random_number_v1") is RandomNumberTagger


def test_create_and_run_tagger_writes_under_destination_and_experiment(tmp_path: Path) -> None:
    from dolma.core.runtime import _make_paths_from_prefix, _make_paths_from_substitution, create_and_run_tagger

    assert _make_paths_from_substitution(["/d/documents/x/*.gz"], "documents", "attributes") == ["/d/attributes/x"]
    assert _make_paths_from_prefix(["s3://b/c/documents/*.gz", "s3://b2/documents/*"], "/l/") == [
        "/l/b/c/documents",
        "/l/b2/documents",
    ]
    docs = write_documents(str(tmp_path / "documents" / "000.json.gz"), DOCS)
    create_and_run_tagger(documents=[docs], destination=str(tmp_path / "out"), taggers=["c4_v1"], experiment="e")
    rows = read_jsonl(str(tmp_path / "out" / "e" / "000.json.gz"))
    assert [r["id"] for r in rows] == ["a", "b"]
    assert all(k.startswith("e__c4_v1__") for r in rows for k in r["attributes"])
    create_and_run_tagger(documents=[docs], taggers=["char_length_v1"], debug=True)
    assert os.path.exists(tmp_path / "attributes" / "char_length_v1" / "000.json.gz")


def test_base_parallel_processor(tmp_path: Path) -> None:
    from dolma.core.parallel import BaseParallelProcessor

    class Copy(BaseParallelProcessor):
        @classmethod
        def process_single(cls, source_path, destination_path, queue, **kwargs):  # type: ignore[no-untyped-def]
            Path(destination_path).write_bytes(Path(source_path).read_bytes())
            cls.increment_progressbar(queue, files=1)

    with pytest.raises(ValueError):
        Copy(source_prefix=[], destination_prefix=[], metadata_prefix=[])
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "sub" / "a.txt").write_text("A")
    Copy(str(tmp_path / "src"), str(tmp_path / "dst"), str(tmp_path / "meta"))()
    assert (tmp_path / "dst" / "sub" / "a.txt").read_text() == "A"
    assert (tmp_path / "meta" / "sub" / "a.txt.done.txt").exists()


def test_tokenizer_names() -> None:
    from msgspec.json import Decoder

    from dolma.tokenizer import Tokenizer
    from dolma.tokenizer.tokenizer import make_retriever_for_field, make_spec_from_fields

    tok = Tokenizer.from_pretrained("gpt2", eos_token_id=50256)
    ids = tok.encode("Hello world")
    assert ids[-1] == 50256 and tok.encode("Hello world", add_special_tokens=False) == ids[:-1]
    assert tok.decode(ids) == "Hello world"
    spec = make_spec_from_fields("doc", ("a.b", int), ("c", str), None)
    unit = Decoder(spec).decode(b'{"a": {"b": 1, "z": 0}, "c": "x"}')
    assert make_retriever_for_field("a.b", int)(unit) == 1 and unit.c == "x"
    assert issubclass(spec, msgspec.Struct)


def test_top_level_mixer_runs_a_config_dict(tmp_path: Path) -> None:
    import dolma

    docs = write_documents(str(tmp_path / "documents" / "000.json.gz"), DOCS)
    out = tmp_path / "mixed"
    dolma.mixer(
        {
            "streams": [
                {
                    "name": "m",
                    "documents": [docs],
                    "output": {"path": str(out), "max_size_in_bytes": 1_000_000},
                    "filter": {"exclude": ["$[?(@.id == 'b')]"]},
                }
            ],
            "processes": 1,
        }
    )
    assert [r["id"] for r in read_jsonl(str(out / "m-0000.jsonl.gz"))] == ["a"]
    bad = tmp_path / "bad" / "documents" / "000.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json\n")
    stream = {"name": "m", "documents": [str(bad)], "output": {"path": str(out / "x")}, "filter": {"exclude": ["$.x"]}}
    with pytest.raises(dolma.DolmaRustPipelineError):  # a failed file
        dolma.mixer({"streams": [stream], "processes": 1})
