"""OmegaConf-style interpolation in configs: our own resolver, checked against OmegaConf itself when installed."""

from __future__ import annotations

import os
from typing import Any, Dict, List

import pytest

from dolma.cli import main
from dolma.core.errors import ConfigError
from dolma.core.interpolate import interpolate

ENV = {"DOLMA_T_A": "alpha", "DOLMA_T_NUM": "8"}

# single-value cases: each is {"k": case} plus helper keys
CASES = [
    "${oc.env:DOLMA_T_A}",
    "${oc.env:DOLMA_T_MISSING,dflt}",
    "${oc.env:DOLMA_T_MISSING,5}",
    "${oc.env:DOLMA_T_MISSING,05}",
    "${oc.env:DOLMA_T_MISSING,1.5}",
    "${oc.env:DOLMA_T_MISSING,1e3}",
    "${oc.env:DOLMA_T_MISSING,null}",
    "${oc.env:DOLMA_T_MISSING,true}",
    "${oc.env:DOLMA_T_MISSING,''}",
    '${oc.env:DOLMA_T_MISSING,"dq"}',
    "${oc.env:DOLMA_T_MISSING, spaced out }",
    "${oc.env:DOLMA_T_MISSING,a b}",
    "${oc.env:DOLMA_T_MISSING,'q,uo}ted'}",
    "${oc.env:DOLMA_T_MISSING,${oc.env:DOLMA_T_A}}",
    "${oc.env:DOLMA_T_MISSING,pre${oc.env:DOLMA_T_A}post}",
    "${oc.env:DOLMA_T_MISSING,${n}}",
    "${oc.env:DOLMA_T_NUM}",
    "x/${oc.env:DOLMA_T_A}/y",
    "${oc.env:DOLMA_T_A}${oc.env:DOLMA_T_A}",
    r"\${oc.env:DOLMA_T_A}",
    r"a\\${oc.env:DOLMA_T_A}",
    r"a\b${oc.env:DOLMA_T_A}",
    r"plain \${x} and ${s}",
    "${n}",
    "${f}",
    "${b}",
    "${nothing}",
    "n=${n} b=${b} f=${f} none=${nothing}",
    "${lst}",
    "${lst[1]}",
    "${lst.0}",
    "${sub}",
    "${sub.x}",
    "${sub.ref}",
    "${sub.${which}}",
    "before ${sub.x} after",
    "${ s }",
    "x ${lst} ${sub.x}",
    "mixed ${mixed}",
]
HELPERS: Dict[str, Any] = {
    "s": "str", "n": 3, "f": 0.5, "b": True, "nothing": None, "lst": ["a", "b"], "which": "x",
    "mixed": {"k": 1.5, "n": None, "b": True, "l": [1, "b", None]},
    "sub": {"x": 10, "y": "${.x}", "ref": "${s}-${.x}", "up": "${..s}"},
}


@pytest.fixture
def env(monkeypatch: Any) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("DOLMA_T_MISSING", raising=False)


@pytest.mark.parametrize("case", CASES)
def test_same_as_omegaconf(env: None, case: str) -> None:
    omegaconf = pytest.importorskip("omegaconf")
    data = {"k": case, **HELPERS}
    want = omegaconf.OmegaConf.to_container(omegaconf.OmegaConf.create(data), resolve=True)
    got = interpolate(data)
    assert got == want
    assert type(got["k"]) is type(want["k"])


def test_relative_keys_and_types(env: None) -> None:
    got = interpolate({"k": 1, **HELPERS})
    assert got["sub"] == {"x": 10, "y": 10, "ref": "str-10", "up": "str"}
    assert interpolate({"a": {"b": {"c": "${..d}", "e": "${...top}"}, "d": 4}, "top": [1]})["a"] == {
        "b": {"c": 4, "e": [1]}, "d": 4}


@pytest.mark.parametrize(
    "data, message",
    [
        ({"documents": ["${oc.env:DOLMA_T_MISSING}"]}, "`documents[0]`: environment variable 'DOLMA_T_MISSING' is not set"),
        ({"a": "${eval:1+1}"}, "`a`: unknown resolver `eval`"),
        ({"a": "${oc.decode:'[1]'}"}, "unknown resolver `oc.decode`"),
        ({"a": "${b}", "b": {"c": "${a}"}}, "interpolation cycle"),
        ({"a": "${a}"}, "`a`: interpolation cycle: a -> a"),
        ({"a": "${missing.key}"}, "`a`: ${missing.key} names `missing.key`, which is not in the config"),
        ({"a": "${oc.env:X"}, "unclosed ${"),
    ],
)
def test_errors_are_one_line_naming_the_key(env: None, data: Dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        interpolate(data)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "data",
    [
        {"a": "${oc.env:DOLMA_T_MISSING}"},
        {"a": "${eval:1+1}"},
        {"a": "${b}", "b": {"c": "${a}"}},
        {"a": "${a}"},
        {"a": "${missing.key}"},
        {"a": "${oc.env:X"},
        {"a": {"b": "${...c}"}},
    ],
)
def test_omegaconf_also_refuses(env: None, data: Dict[str, Any]) -> None:
    omegaconf = pytest.importorskip("omegaconf")
    with pytest.raises(Exception):
        omegaconf.OmegaConf.to_container(omegaconf.OmegaConf.create(data), resolve=True)
    with pytest.raises(ConfigError):
        interpolate(data)


def test_nothing_is_evaluated(env: None, tmp_path: Any) -> None:
    marker = tmp_path / "ran"
    for text in [f"${{eval:open('{marker}','w')}}", f"${{python:open('{marker}','w')}}"]:
        with pytest.raises(ConfigError):
            interpolate({"a": text})
    assert not marker.exists()


def test_strings_without_interpolation_are_untouched() -> None:
    data = {"a": r"C:\path\$HOME", "b": [1, {"c": "$x {y}"}]}
    assert interpolate(data) is data


def test_cli_config_file_and_flags_interpolate(env: None, tmp_path: Any, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("DOLMA_T_ROOT", str(tmp_path / "corpus"))
    cfg = tmp_path / "dedupe.yaml"
    cfg.write_text(
        "documents:\n  - ${oc.env:DOLMA_T_ROOT}/documents/*.gz\n"
        "dedupe:\n  name: ${oc.env:DOLMA_T_NAME,dups}\n  paragraphs:\n    attribute_name: ${dedupe.name}\n"
        "bloom_filter:\n  file: ${oc.env:DOLMA_T_ROOT}/filter.bin\n  size_in_bytes: ${oc.env:DOLMA_T_NUM}\n"
        "processes: ${oc.env:DOLMA_T_PROCS,1}\n"
    )
    assert main(["-c", str(cfg), "dedupe", "--dryrun"]) == 0
    out = capsys.readouterr().out
    assert f"- {tmp_path}/corpus/documents/*.gz" in out and "attribute_name: dups" in out
    assert "size_in_bytes: 8" in out and "processes: 1" in out
    assert main(["-c", str(cfg), "dedupe", "--dryrun", "--bloom_filter.file", "${oc.env:DOLMA_T_MISSING}"]) == 2
    assert "`bloom_filter.file`: environment variable 'DOLMA_T_MISSING' is not set" in capsys.readouterr().err


ELSEWHERE = "/nonexistent-machine/data"  # paths of another machine: a dry run must not list or read them

DRYRUNS = {
    "tag": ["--documents", f"{ELSEWHERE}/documents/*.gz", "--taggers", "char_length_v1", "--experiment", "e"],
    "dedupe": ["--documents", f"{ELSEWHERE}/documents/*.gz", "--dedupe.paragraphs.attribute_name", "dup",
               "--bloom_filter.file", f"{ELSEWHERE}/f.bin", "--bloom_filter.size_in_bytes", "1024"],
    "tokens": ["--documents", f"{ELSEWHERE}/documents/*.gz", "--destination", f"{ELSEWHERE}/tokens",
               "--tokenizer.name_or_path", "allenai/dolma2-tokenizer"],
    "warc": ["--documents", f"{ELSEWHERE}/warcs/*.warc.gz", "--destination", f"{ELSEWHERE}/documents",
             "--source_name", "cc"],
    "import": ["--documents", f"{ELSEWHERE}/raw/*.jsonl", "--destination", f"{ELSEWHERE}/documents",
               "--source", "s"],
    "export": ["--documents", f"{ELSEWHERE}/documents/*.gz", "--destination", f"{ELSEWHERE}/export"],
}


@pytest.mark.parametrize("command", sorted(DRYRUNS))
def test_dryrun_lists_and_reads_no_input(command: str, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import dolma.core.paths as paths

    def no_listing(pattern: str) -> Any:
        raise AssertionError(f"a dry run listed {pattern}")

    # every listing, however a module imported `glob_paths`, ends in `_glob_local` (local paths); patching the name
    # `glob_paths` itself would miss modules imported before, and leak into modules first imported now
    monkeypatch.setattr(paths, "_glob_local", no_listing)
    assert main([command, "--dryrun", *DRYRUNS[command]]) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert ELSEWHERE in captured.out
    plan = [line for line in captured.err.splitlines() if line.startswith("# ")]
    assert len(plan) == 1 and "not listed" in plan[0]
    assert not os.path.exists(ELSEWHERE)


def test_mix_dryrun_checks_expressions_without_reading(tmp_path: Any, capsys: Any) -> None:
    cfg = tmp_path / "mix.yaml"
    body = (
        "streams:\n- name: s\n  documents: [" + ELSEWHERE + "/documents/*.gz]\n  attributes: [a]\n"
        "  output: {path: " + ELSEWHERE + "/mixed, max_size_in_bytes: 1000}\n"
        "  filter:\n    include: ['$.attributes[?(@.a__x__y[0][2] < 0.5)]']\n"
    )
    cfg.write_text(body)
    assert main(["-c", str(cfg), "mix", "--dryrun"]) == 0, capsys.readouterr().err
    assert "1 stream(s)" in capsys.readouterr().err
    cfg.write_text(body.replace("< 0.5)]", "< )]"))
    assert main(["-c", str(cfg), "mix", "--dryrun"]) == 2


@pytest.mark.parametrize(
    "command, change, message",
    [
        ("tag", ["--taggers", "no_such_tagger_v1"], "no_such_tagger_v1"),
        ("tokens", ["--tokenizer.name_or_path", "someone/not-here"], "not a local file"),
        ("dedupe", ["--dedupe.paragraphs.attribute_name", "${oc.env:DOLMA_T_MISSING}"], "DOLMA_T_MISSING"),
    ],
)
def test_dryrun_still_checks_the_config(command: str, change: List[str], message: str, capsys: Any,
                                        monkeypatch: Any) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("DOLMA_T_MISSING", raising=False)
    assert main([command, "--dryrun", *DRYRUNS[command], *change]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


@pytest.mark.parametrize(
    "bloom, shape",
    [
        # Dolma's decontamination configs: a read-only filter on S3, sized by the file itself or by the config
        (["--bloom_filter.file", "s3://elsewhere-bucket/f.bin", "--bloom_filter.read_only", "true"],
         "shaped by the existing s3://elsewhere-bucket/f.bin"),
        (["--bloom_filter.file", f"{ELSEWHERE}/f.bin", "--bloom_filter.read_only", "true",
          "--bloom_filter.estimated_doc_count", "1000", "--bloom_filter.size_in_bytes", "1024"], "8,192 bits"),
        (["--bloom_filter.file", "s3://elsewhere-bucket/f.bin", "--bloom_filter.size_in_bytes", "1024"],
         "8,192 bits"),
        # the one-pass flow (also Ray's and exact mode's) plans the same way
        (["--bloom_filter.file", "s3://elsewhere-bucket/f.bin", "--bloom_filter.read_only", "true",
          "--dedupe.one_pass", "true"], "shaped by the existing s3://elsewhere-bucket/f.bin"),
    ],
)
def test_dedupe_dryrun_opens_no_filter_file(bloom: List[str], shape: str, capsys: Any, monkeypatch: Any) -> None:
    import dolma.core.io as dio

    def no_look(path: str) -> bool:
        raise AssertionError(f"a dry run looked for {path}")

    monkeypatch.setattr(dio, "exists", no_look)
    args = ["--documents", f"{ELSEWHERE}/documents/*.gz", "--dedupe.paragraphs.attribute_name", "dup", *bloom]
    assert main(["dedupe", "--dryrun", *args]) == 0, capsys.readouterr().err
    assert shape in capsys.readouterr().err
    # what the config alone can tell is still checked: a filter this run writes needs a size
    writable = ["--bloom_filter.file", f"{ELSEWHERE}/f.bin"]
    assert main(["dedupe", "--dryrun", *args[:4], *writable]) == 2
    assert "size the Bloom filter" in capsys.readouterr().err


@pytest.mark.parametrize(
    "pattern, ok",
    [
        ("s3://bucket/eval/v3/set/val/*.gz", False),  # no folder can be `documents`: every file would be refused
        ("s3://bucket/eval/v3/documents/val/*.gz", True),
        (f"{ELSEWHERE}/doc*/000.json.gz", True),  # Dolma's fixture form: the wildcard folder may be `documents`
        (f"{ELSEWHERE}/**/*.gz", True),
        (f"{ELSEWHERE}/corpus", True),  # no wildcard: may name a folder, whose files below are its matches
    ],
)
def test_dedupe_dryrun_refuses_documents_outside_a_documents_folder(pattern: str, ok: bool, capsys: Any) -> None:
    args = ["--documents", pattern, "--dedupe.paragraphs.attribute_name", "dup",
            "--bloom_filter.file", f"{ELSEWHERE}/f.bin", "--bloom_filter.size_in_bytes", "1024"]
    assert main(["dedupe", "--dryrun", *args]) == (0 if ok else 2)
    err = capsys.readouterr().err.strip().splitlines()
    assert ok or (len(err) == 1 and "is not inside a 'documents' folder" in err[0] and pattern in err[0])
