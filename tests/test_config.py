import json
import logging

import msgspec
import pytest

from dolma.cli import main
from dolma.cli.commands import COMMANDS, command
from dolma.core.config import OnErrorOptions, StageOptions, field_descriptions, load_file, parse_flags, resolve
from dolma.core.errors import ConfigError
from dolma.mixers.config import MixConfig
from dolma.taggers.config import TagConfig

# a tag config as Dolma's own documentation writes them
DOLMA_TAG_YAML = """
documents:
  - s3://ai2-llm/pretraining-data/sources/common-crawl/v0/documents/*.json.gz
taggers:
  - gopher_v1
  - c4_v2
experiment: quality
tagger_modules: []
processes: 16
ignore_existing: false
debug: false
dryrun: false
work_dir:
  input: /tmp/dolma-input
  output: /tmp/dolma-output
profile:
  enable: false
  sort_key: tottime
"""


def test_dolma_tag_config_loads_unchanged(tmp_path):
    path = tmp_path / "tag.yaml"
    path.write_text(DOLMA_TAG_YAML)
    config = resolve(TagConfig, load_file(str(path)))
    assert config.taggers == ["gopher_v1", "c4_v2"] and config.processes == 16
    assert config.work_dir.input == "/tmp/dolma-input" and config.experiment == "quality"


def test_flags_merge_over_file_over_defaults(tmp_path):
    path = tmp_path / "tag.json"
    path.write_text(json.dumps({"documents": ["a/*.gz"], "taggers": ["x"], "processes": 4}))
    flags = parse_flags(
        TagConfig,
        ["--processes", "2", "--taggers", "a", "b", "--work_dir.input=/w", "--ignore_existing", "--no-debug"],
    )
    config = resolve(TagConfig, load_file(str(path)), flags)
    assert config.processes == 2
    assert config.taggers == ["a", "b"]
    assert config.documents == ["a/*.gz"]
    assert config.work_dir.input == "/w"
    assert config.ignore_existing is True and config.debug is False
    assert config.on_error == "fail"


def test_single_string_for_a_list_key():
    assert resolve(TagConfig, {"documents": "x/*.gz"}).documents == ["x/*.gz"]


@pytest.mark.parametrize(
    "data,flags,message",
    [
        ({"proceses": 2}, [], "unknown key `proceses`; did you mean `processes`?"),
        ({"work_dir": {"inptu": "x"}}, [], "unknown key `work_dir.inptu`; did you mean `input`?"),
        ({"processes": "many"}, [], "`processes`: expected int, got str"),
        ({"taggers": [1, 2]}, [], "`taggers[0]`: expected str, got int"),
        ({"on_error": "ignore"}, [], "`on_error`: expected one of 'fail', 'skip'"),
        ({}, ["--processes"], "--processes takes exactly one value, got 0"),
        ({}, ["--debug", "maybe"], "--debug: expected true or false, got 'maybe'"),
        ({}, ["--no-processes"], "`processes` is not a true/false option"),
        ({}, ["--bogus", "1"], "unknown key `bogus`"),
        ({}, ["stray"], "unexpected argument 'stray'"),
    ],
)
def test_config_errors_are_one_line_naming_the_key(data, flags, message):
    with pytest.raises(ConfigError) as err:
        resolve(TagConfig, data, parse_flags(TagConfig, flags))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("documents:\n  - a\n taggers: [\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: invalid YAML"):
        load_file(str(path))


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("documents: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_file(str(path))


def test_cli_dryrun_prints_resolved_config(tmp_path, capsys):
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "a.jsonl").write_text('{"id": "1", "text": "x"}\n')
    path = tmp_path / "tag.yaml"
    path.write_text(f"documents: ['{docs}/*.jsonl']\ntaggers: [char_length_v1]\n")
    assert main(["-c", str(path), "tag", "--dryrun", "--processes", "3"]) == 0
    out = capsys.readouterr().out
    assert "processes: 3" in out and "char_length_v1" in out
    assert not (tmp_path / "attributes").exists()
    # -c may also follow the command, as in `dolma tag -c FILE`
    assert main(["tag", "-c", str(path), "--dryrun"]) == 0


def test_cli_config_error_exits_2_with_one_line(tmp_path, capsys):
    assert main(["tag", "--documents", "x", "--taggers", "char_length_v1", "--procesess", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dolma: unknown key `procesess`") and "\n" not in err


def test_cli_unknown_tagger_and_no_documents(tmp_path, capsys):
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "a.jsonl").write_text('{"id": "1", "text": "x"}\n')
    assert main(["tag", "--documents", f"{docs}/*.jsonl", "--taggers", "no_such_tagger"]) == 2
    assert "unknown tagger 'no_such_tagger'" in capsys.readouterr().err
    assert main(["tag", "--documents", f"{docs}/*.gz", "--taggers", "char_length_v1"]) == 2
    assert "no files match" in capsys.readouterr().err


def test_cli_help(capsys):
    assert main(["tag", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--work_dir.input" in out and "--processes" in out
    # each key: its type or choices, its default, and its description on the next line
    assert "  --processes  int  (default: 1)\n      Worker processes" in out
    assert "  --experiment  str or null  (default: null)\n" in out


def test_mix_help_shows_choices_and_the_shape_of_streams(capsys):
    assert main(["mix", "--help"]) == 0
    out = capsys.readouterr().out
    assert "  --on_error  fail | skip  (default: \"fail\")\n      fail: " in out
    assert "  streams  list of objects (in the config file), each with the keys streams[].*" in out
    assert "  streams[].name  str  (required)\n      The stream's name" in out
    assert "  streams[].span_replacement[].span  str  (required)" in out
    assert "  streams[].filter.syntax  jsonpath | jq  (default: \"jsonpath\")" in out  # in the order written
    # a command's own note on a shared key follows the key's own description
    assert "Shards are joined by this process either way." in out


def test_main_help_lists_each_command_with_its_purpose(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "  mix            filter, rewrite and sample documents" in out
    assert all(f"\n  {name} " in out for name in COMMANDS)
    assert main([]) == 2 and "commands:" in capsys.readouterr().err


def _structs(t, seen):
    t = msgspec.inspect.type_info(t) if isinstance(t, type) else t
    if isinstance(t, msgspec.inspect.UnionType):
        for x in t.types:
            _structs(x, seen)
    elif isinstance(t, (msgspec.inspect.ListType, msgspec.inspect.DictType)):
        _structs(t.item_type if isinstance(t, msgspec.inspect.ListType) else t.value_type, seen)
    elif isinstance(t, msgspec.inspect.StructType) and t.cls not in seen:
        seen.add(t.cls)
        for f in t.fields:
            _structs(f.type, seen)
    return seen


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_config_key_has_a_one_line_description(name):
    for cls in _structs(command(name).schema, set()):
        described = field_descriptions(cls)
        missing = [f for f in cls.__struct_fields__ if not described.get(f)]
        assert not missing, f"{cls.__qualname__}: no description for {missing}"
        assert all("\n" not in text for text in described.values())


STAGES = ["tag", "dedupe", "mix", "tokens", "import", "warc", "export"]


@pytest.mark.parametrize("name", STAGES)
def test_stage_configs_share_one_options_block(name):
    schema = command(name).schema
    assert issubclass(schema, StageOptions)
    # the block is defined once: a stage config adds its own keys, it does not redefine shared ones
    shared = set(OnErrorOptions.__struct_fields__ if issubclass(schema, OnErrorOptions) else StageOptions.__struct_fields__)
    own = set(schema.__annotations__)
    assert not own & shared, f"{schema.__qualname__} redefines {own & shared}"
    for data in ({"processes": 0}, {"processes": -2}):
        with pytest.raises(ConfigError) as err:
            resolve(schema, data)
        assert str(err.value) == f"`processes`: expected a positive number, got {data['processes']}"
    with pytest.raises(ConfigError, match="positive number"):
        schema(processes=0)  # made in code, a config is checked too
    assert resolve(schema, {}).processes == 1  # the defaults are a valid config


def test_warc_has_no_on_error_key():
    """warc never rejects a record (broken ones are dropped and counted), so it has no `on_error` to ignore."""
    with pytest.raises(ConfigError, match="unknown key `on_error`"):
        resolve(command("warc").schema, {"on_error": "skip"})


def test_skip_on_failure_loads_and_warns_that_it_has_no_effect(caplog):
    with caplog.at_level(logging.WARNING, logger="dolma"):
        resolve(TagConfig, {"skip_on_failure": True})
    assert [r.getMessage() for r in caplog.records] == [
        "`skip_on_failure` has no effect here: a file that fails never stops the others; the run finishes them "
        "and exits 1 listing the failed files (rerun to retry only those)"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dolma"):
        assert resolve(TagConfig, {}).skip_on_failure is False
    assert not caplog.records


@pytest.mark.parametrize(
    "data,message",
    [
        ({"streams": [{"name": "s", "documents": ["d"], "output": {"path": "o"}, "sample": -1}]},
         "`streams[0].sample`: expected a rate >= 0, got -1.0"),
        ({"streams": [{"name": "s", "documents": ["d"], "output": {"path": "o"}, "target": {"share": 0.5}}]},
         "`streams[0].target.share` needs `mixture.total`"),
        ({"streams": [{"name": "s", "documents": ["d"]}]}, "missing required key `streams[0].output.path`"),
    ],
)
def test_mix_config_checks_itself_when_resolved(data, message):
    with pytest.raises(ConfigError) as err:
        resolve(MixConfig, data)
    assert str(err.value) == message
