"""Dolma's helpers for command lines built on dataclasses and OmegaConf (``from dolma.cli import field, ...``).

Our own commands use typed msgspec configs (``dolma.core.config``); these three functions exist for scripts and
plugins written against Dolma's API, which declare their options as dataclasses:

    @dataclass
    class Options:
        path: str = field(help="where to read")
        workers: int = field(default=1, help="how many processes")

    parser = make_parser(ArgumentParser(), Options)           # --path, --workers; nested dataclasses: --a.b
    opts = namespace_to_nested_omegaconf(parser.parse_args(), Options)   # an OmegaConf DictConfig

A field without a default is OmegaConf's mandatory value ``???``: reading it unset raises
``omegaconf.MissingMandatoryValue``. They need the ``omegaconf`` package (the ``omegaconf`` extra).
"""

from __future__ import annotations

import dataclasses
from argparse import ArgumentParser, ArgumentTypeError, Namespace
from typing import Any, Dict, Mapping, Optional, Type, Union, get_args, get_origin, get_type_hints

from dolma.core.errors import ConfigError

__all__ = ["field", "make_parser", "namespace_to_nested_omegaconf"]

MISSING = "???"  # OmegaConf's marker of a mandatory value (omegaconf.MISSING)


def field(default: Any = MISSING, help: Optional[str] = None, **extra: Any) -> Any:
    """A dataclass field with a help text; a list, dict or set default is copied per instance."""
    metadata = {**extra.pop("metadata", {}), "help": help}
    if "default_factory" in extra:
        return dataclasses.field(metadata=metadata, **extra)
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata, **extra)
    return dataclasses.field(default=default, metadata=metadata, **extra)


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes", "y", "on"):
        return True
    if lowered in ("false", "0", "no", "n", "off"):
        return False
    raise ArgumentTypeError(f"expected true or false, not {text!r}")


def _unwrap_optional(hint: Any) -> Any:
    if get_origin(hint) is Union:
        rest = [a for a in get_args(hint) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return hint


def make_parser(parser: ArgumentParser, config: Type[Any], prefix: Optional[str] = None) -> ArgumentParser:
    """Add one ``--name`` option per field of the dataclass ``config`` (``--outer.inner`` for nested dataclasses).

    Options left out on the command line parse to ``None`` and do not override anything; list fields take several
    values; booleans take true/false.
    """
    if not dataclasses.is_dataclass(config):
        raise ConfigError(f"make_parser needs a dataclass, not {config!r}")
    hints = get_type_hints(config)
    for f in dataclasses.fields(config):
        name = f"{prefix}.{f.name}" if prefix else f.name
        hint = _unwrap_optional(hints[f.name])
        if dataclasses.is_dataclass(hint):
            make_parser(parser, hint, name)
            continue
        kwargs: Dict[str, Any] = {"help": f.metadata.get("help"), "default": None, "dest": name}
        origin = get_origin(hint)
        if origin in (list, tuple):
            item = (get_args(hint) or (str,))[0]
            kwargs.update(nargs="*", type=_bool if item is bool else item)
        elif hint is bool:
            kwargs.update(type=_bool)
        elif hint in (int, float, str):
            kwargs.update(type=hint)
        parser.add_argument(f"--{name}", **kwargs)
    return parser


def _nested(flat: Mapping[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def namespace_to_nested_omegaconf(
    args: Namespace, structured: Type[Any], config: Optional[Mapping[str, Any]] = None
) -> Any:
    """The dataclass's defaults, then ``config`` (a config file's contents), then the options given in ``args``,
    merged and type-checked by OmegaConf: a ``DictConfig`` typed by ``structured``."""
    try:
        from omegaconf import OmegaConf
    except ImportError:
        raise ConfigError(
            "dolma.cli's dataclass helpers need omegaconf: pip install 'dolma-toolkit[omegaconf]'"
        ) from None
    given = {k: v for k, v in vars(args).items() if v is not None}
    return OmegaConf.merge(OmegaConf.structured(structured), OmegaConf.create(dict(config or {})), _nested(given))
