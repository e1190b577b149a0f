import os

import pytest

from dolma.core.errors import ConfigError
from dolma.core.paths import CorpusPath, glob_paths, glob_root, match_glob


def touch(root, *rels):
    for rel in rels:
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").close()


def test_glob_star_stays_in_one_folder_and_double_star_recurses(tmp_path):
    root = str(tmp_path)
    touch(root, "d/a.gz", "d/b.json", "d/sub/c.gz", "d/sub/deeper/e.gz", "d/.hidden.gz", "d/.tmp/x.gz")
    assert glob_paths(f"{root}/d/*.gz") == [f"{root}/d/a.gz"]
    assert glob_paths(f"{root}/d/**/*.gz") == [f"{root}/d/a.gz", f"{root}/d/sub/c.gz", f"{root}/d/sub/deeper/e.gz"]
    assert glob_paths(f"{root}/d/*/*.gz") == [f"{root}/d/sub/c.gz"]
    assert glob_paths(f"{root}/d/[ab].*") == [f"{root}/d/a.gz", f"{root}/d/b.json"]
    assert glob_paths(f"{root}/d/?.gz") == [f"{root}/d/a.gz"]


def test_glob_of_folder_file_and_missing(tmp_path):
    root = str(tmp_path)
    touch(root, "d/a.gz", "d/sub/c.gz")
    assert glob_paths(f"{root}/d") == [f"{root}/d/a.gz", f"{root}/d/sub/c.gz"]
    assert glob_paths(f"{root}/d/a.gz") == [f"{root}/d/a.gz"]
    assert glob_paths(f"{root}/nope/*.gz") == []
    assert glob_paths(f"{root}/d/nope.gz") == []


def test_match_glob_on_keys_like_s3():
    keys = ["s3://b/x/a.gz", "s3://b/x/y/z/a.gz", "s3://b/x/.a.gz", "s3://b/x/a.json", "s3://b/xa.gz"]
    assert match_glob("s3://b/x/**/*.gz", keys) == ["s3://b/x/a.gz", "s3://b/x/y/z/a.gz"]
    assert match_glob("s3://b/x/*.gz", keys) == ["s3://b/x/a.gz"]


def test_glob_root():
    assert glob_root("/a/b/*/c*.gz") == "/a/b/"
    assert glob_root("s3://b/x/**/*.gz") == "s3://b/x/"
    assert glob_root("/a/b/c.gz") == "/a/b/"


@pytest.mark.parametrize(
    "path,prefix,rel,attributes",
    [
        ("/data/documents/x.jsonl.gz", "/data/", "x.jsonl.gz", "/data/attributes/exp/x.jsonl.gz"),
        ("s3://b/c/documents/a/b.gz", "s3://b/c/", "a/b.gz", "s3://b/c/attributes/exp/a/b.gz"),
        ("documents/x", "", "x", "attributes/exp/x"),
        ("/documents/x", "/", "x", "/attributes/exp/x"),
        ("/d/documents/x/documents/y.gz", "/d/documents/x/", "y.gz", "/d/documents/x/attributes/exp/y.gz"),
    ],
)
def test_corpus_path_mirrors_documents_into_attributes(path, prefix, rel, attributes):
    parsed = CorpusPath.parse(path)
    assert (parsed.prefix, parsed.rel) == (prefix, rel)
    assert parsed.sibling("attributes", "exp") == attributes


def test_corpus_path_outside_documents_folder_needs_destination():
    parsed = CorpusPath.parse("/data/raw/x.gz")
    assert parsed.prefix is None
    with pytest.raises(ConfigError, match="set `destination`"):
        parsed.sibling("attributes", "exp")


def test_s3_glob(s3_prefix):
    from tests.conftest import s3_put

    for rel in ("documents/a.gz", "documents/b.gz", "documents/sub/c.gz", "documents/x.json", "other/d.gz"):
        s3_put(f"{s3_prefix}/{rel}", b"x")
    assert glob_paths(f"{s3_prefix}/documents/*.gz") == [f"{s3_prefix}/documents/a.gz", f"{s3_prefix}/documents/b.gz"]
    assert glob_paths(f"{s3_prefix}/documents/**/*.gz") == [
        f"{s3_prefix}/documents/a.gz",
        f"{s3_prefix}/documents/b.gz",
        f"{s3_prefix}/documents/sub/c.gz",
    ]
    assert glob_paths(f"{s3_prefix}/documents") == [
        f"{s3_prefix}/documents/a.gz",
        f"{s3_prefix}/documents/b.gz",
        f"{s3_prefix}/documents/sub/c.gz",
        f"{s3_prefix}/documents/x.json",
    ]
    assert glob_paths(f"{s3_prefix}/documents/a.gz") == [f"{s3_prefix}/documents/a.gz"]
    assert glob_paths(f"{s3_prefix}/nothing/*.gz") == []
