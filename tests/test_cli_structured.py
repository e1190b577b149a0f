"""dolma.cli's dataclass + OmegaConf helpers (Dolma's API for plugin and script command lines)."""

from argparse import ArgumentParser
from dataclasses import dataclass
from typing import List, Optional

import pytest
from omegaconf import MissingMandatoryValue

from dolma.cli import field, make_parser, namespace_to_nested_omegaconf
from dolma.core.errors import ConfigError


@dataclass
class Inner:
    path: str = field(help="where")
    workers: int = field(default=1, help="how many")


@dataclass
class Outer:
    inner: Inner = field(default_factory=Inner, help="nested")
    names: List[str] = field(default=["a"], help="a list")
    debug: bool = field(default=False, help="a flag")
    ratio: Optional[float] = field(default=None, help="optional")


def parse(argv: List[str], config: Optional[dict] = None):
    parser = make_parser(ArgumentParser(), Outer)
    return namespace_to_nested_omegaconf(parser.parse_args(argv), Outer, config)


def test_flags_nested_lists_booleans_and_types() -> None:
    opts = parse(["--inner.path", "/x", "--inner.workers", "4", "--names", "b", "c", "--debug", "true", "--ratio", "0.5"])
    assert (opts.inner.path, opts.inner.workers, list(opts.names), opts.debug, opts.ratio) == ("/x", 4, ["b", "c"], True, 0.5)


def test_defaults_then_config_then_flags() -> None:
    opts = parse(["--inner.workers", "3"], config={"inner": {"path": "/cfg", "workers": 2}, "names": ["z"]})
    assert (opts.inner.path, opts.inner.workers, list(opts.names), opts.debug) == ("/cfg", 3, ["z"], False)


def test_a_list_default_is_not_shared_between_instances() -> None:
    a, b = Outer(), Outer()
    a.names.append("x")
    assert b.names == ["a"]


def test_an_unset_mandatory_value_raises_when_read() -> None:
    opts = parse([])
    with pytest.raises(MissingMandatoryValue):
        opts.inner.path


def test_bad_values_are_rejected() -> None:
    parser = make_parser(ArgumentParser(), Outer)
    with pytest.raises(SystemExit):
        parser.parse_args(["--inner.workers", "many"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--debug", "perhaps"])
    with pytest.raises(ConfigError, match="needs a dataclass"):
        make_parser(ArgumentParser(), dict)
