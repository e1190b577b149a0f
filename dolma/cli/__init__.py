"""The ``dolma`` command line: ``dolma [-c FILE] <command> [-c FILE] [--dotted.key value ...]``.

Each command has a typed config schema; the config file (YAML or JSON) and then the flags are merged over its
defaults. The CLI (this package) is the one layer that knows every stage: ``commands`` maps command names to the
stages' commands, which ``pipeline`` chains into a release.
"""

from __future__ import annotations

import logging
import sys
import textwrap
import traceback
import types
import typing
from typing import Any, Dict, List, Literal, Optional, Sequence, Type, Union

import msgspec

from dolma.cli.commands import COMMANDS, load_command
from dolma.cli.structured import field, make_parser, namespace_to_nested_omegaconf
from dolma.core.config import _strip_optional, field_descriptions, load_file, parse_flags, resolve, shared_keys
from dolma.core.environment import describe_environment, set_strict
from dolma.core.errors import DolmaError, PipelineError, os_error_message, scrub
from dolma.core.runner import Command
from dolma.core.version import __version__

__all__ = ["field", "main", "make_parser", "namespace_to_nested_omegaconf", "run_argv", "run_config"]

_WIDTH = 100


def _literal_values(hint: Any) -> Optional[List[Any]]:
    """The values of a ``Literal`` annotation (or an optional one) in the order they are written."""
    if typing.get_origin(hint) is Literal:
        return list(typing.get_args(hint))
    for arg in typing.get_args(hint) if typing.get_origin(hint) in (Union, types.UnionType) else ():
        values = _literal_values(arg)
        if values:
            return values
    return None


def _type_label(t: Any, hint: Any = None) -> str:
    """A key's type as a reader writes it: ``int``, ``list of str``, ``fail | skip``..."""
    if isinstance(t, msgspec.inspect.UnionType):
        rest = [x for x in t.types if not isinstance(x, msgspec.inspect.NoneType)]
        return " or ".join(_type_label(x, hint) for x in rest) + (" or null" if len(rest) < len(t.types) else "")
    if isinstance(t, msgspec.inspect.LiteralType):
        return " | ".join(str(v) for v in (_literal_values(hint) or t.values))
    if isinstance(t, msgspec.inspect.BoolType):
        return "true | false"
    if isinstance(t, (msgspec.inspect.ListType, msgspec.inspect.VarTupleType)):
        return f"list of {_type_label(t.item_type)}"
    if isinstance(t, msgspec.inspect.DictType):
        return "mapping"
    if isinstance(t, msgspec.inspect.AnyType):
        return "any value"
    names = {msgspec.inspect.IntType: "int", msgspec.inspect.FloatType: "number", msgspec.inspect.StrType: "str"}
    return names.get(type(t), type(t).__name__.replace("Type", "").lower())


def _default_text(field: Any) -> str:
    if field.required:
        return "required"
    value = field.default_factory() if field.default is msgspec.NODEFAULT else field.default
    return f"default: {msgspec.json.encode(msgspec.to_builtins(value)).decode()}"


def _describe(text: str, out: List[str]) -> None:
    if text:
        out.extend(textwrap.wrap(text, _WIDTH, initial_indent="      ", subsequent_indent="      "))


def _schema_help(
    schema: Type[msgspec.Struct], prefix: str = "", flags: bool = True, only: Optional[Sequence[str]] = None
) -> List[str]:
    """One entry per key of ``schema``: its dotted name (``--name`` where a flag can set it), its type or allowed
    values, its default, and its description (with the command's note on it); nested objects are expanded, lists
    of objects as ``name[].key``."""
    lines: List[str] = []
    descriptions = field_descriptions(schema)
    notes = getattr(schema, "key_notes", {})
    info = msgspec.inspect.type_info(schema)
    hints = typing.get_type_hints(schema)
    for f in info.fields:  # type: ignore[attr-defined]
        if only is not None and f.name not in only:
            continue
        key = prefix + f.encode_name
        text = " ".join(x for x in (descriptions.get(f.name, ""), notes.get(f.name, "") if not prefix else "") if x)
        t = f.type
        inner = _strip_optional(t)
        nullable = inner is not t
        if isinstance(inner, msgspec.inspect.StructType):
            default = " (default: null)" if nullable and not f.required else ""
            lines.append(f"  {key}  object{default}, with the keys {key}.*")
            _describe(text, lines)
            lines.extend(_schema_help(inner.cls, key + ".", flags))
        elif isinstance(inner, msgspec.inspect.ListType) and isinstance(inner.item_type, msgspec.inspect.StructType):
            lines.append(f"  {key}  list of objects (in the config file), each with the keys {key}[].*")
            _describe(text, lines)
            lines.extend(_schema_help(inner.item_type.cls, key + "[].", False))
        else:
            name = f"--{key}" if flags else key
            lines.append(f"  {name}  {_type_label(t, hints.get(f.name))}  ({_default_text(f)})")
            _describe(text, lines)
    return lines


def _command_help(name: str, cmd: Command) -> str:
    schema = cmd.schema
    shared = shared_keys(schema)
    own = [f for f in schema.__struct_fields__ if f not in shared]
    parts = [
        f"usage: dolma {name}{f' [{cmd.positional.upper()}]' if cmd.positional else ''} [-c CONFIG] [--key value ...]",
        cmd.help + (f" ({cmd.positional.upper()}: sets `{cmd.positional}`)" if cmd.positional else ""),
        textwrap.fill(
            "Keys are set in the config file (YAML or JSON) or as --key value, which wins over the file: nested keys "
            "are dotted (--a.b value), lists take several values, and --flag / --no-flag set true | false.",
            _WIDTH,
        ),
        "\n".join([f"{name} keys:", *_schema_help(schema, only=own)]),
    ]
    if shared:
        parts.append("\n".join(["keys every stage shares:", *_schema_help(schema, only=shared)]))
    return "\n\n".join(parts)


def _main_help(commands: Dict[str, str]) -> str:
    width = max(len(n) for n in commands)
    rows = [f"  {n:<{width}}  {load_command(commands[n]).help}" for n in sorted(commands)]
    return "\n".join(
        [
            "usage: dolma [-c CONFIG] [--strict_env] <command> [--key value ...]",
            "       dolma <command> --help | dolma --version",
            "",
            "Build LLM pretraining corpora.",
            "",
            "commands:",
            *rows,
            "",
            "options:",
            "  -c, --config FILE  YAML or JSON config file (before or after the command)",
            "  --strict_env       refuse to rerun over outputs made with other Python or library versions (default: warn)",
            "  --version          the version and the library versions",
            "  -h, --help         this help, or with a command: its keys",
        ]
    )


def _split_config_args(argv: Sequence[str]) -> tuple[Optional[str], Optional[str], List[str], bool]:
    """Pull out ``-c/--config FILE``, the command, ``-h``, ``--version`` and ``--strict_env`` (refuse to add to
    outputs that were made under other library versions); the rest are config flags."""
    config_path: Optional[str] = None
    command: Optional[str] = None
    rest: List[str] = []
    want_help = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-c", "--config"):
            if i + 1 >= len(argv):
                raise DolmaError(f"{arg} needs a file path")
            config_path = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--config="):
            config_path = arg.split("=", 1)[1]
        elif arg in ("-h", "--help"):
            want_help = True
        elif arg == "--version":
            print(f"dolma-toolkit {__version__}\n\nversions that shape output bytes (recorded in every manifest):")
            print(describe_environment())
            raise SystemExit(0)
        elif arg == "--strict_env":
            set_strict(True)
        elif command is None and not arg.startswith("-"):
            command = arg
        else:
            rest.append(arg)
        i += 1
    return config_path, command, rest, want_help


class _Scrub(logging.Filter):
    """Takes credentials out of every log message (an endpoint URL's user:password, secret variables)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The ``dolma`` command. What goes wrong is one line on stderr, credentials taken out: exit 2 for a config or
    input error, 1 for an operating system error (no space left, permission denied, a read-only file system),
    130 for Ctrl-C; ``--debug`` adds the traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        return _dispatch(argv)
    except DolmaError as exc:
        _show_traceback(debug)
        print(f"dolma: {scrub(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:
        _show_traceback(debug)
        message = os_error_message(exc) if exc.errno is not None else scrub(f"{type(exc).__name__}: {exc}")
        print(f"dolma: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dolma: interrupted", file=sys.stderr)
        return 130


def run_argv(argv: Sequence[str]) -> None:
    """Run ``dolma <argv...>`` as a library call: a config error raises its :class:`DolmaError` (a
    ``ConfigError``), and a command that ends with another non-zero exit code raises a :class:`PipelineError`
    naming it. What Dolma's ``dolma.cli.__main__.main`` does."""
    code = _dispatch(list(argv))
    if code != 0:
        raise PipelineError(f"dolma {' '.join(argv)}: exit code {code}")


def run_config(command: str, config: Dict[str, Any]) -> None:
    """Run the command ``command`` on a config given as a dict (what a config file holds), as a library call:
    errors raise as in :func:`run_argv`. Dolma's Python entry points (``dolma.mixer(config)``,
    ``dolma.core.runtime.create_and_run_tagger``) come here."""
    if command not in COMMANDS:
        raise DolmaError(f"unknown command {command!r}; choose from {', '.join(sorted(COMMANDS))}")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    load_command(COMMANDS[command]).call(config)


def _show_traceback(debug: bool) -> None:
    if debug:
        print(scrub(traceback.format_exc()), file=sys.stderr, end="")


def _sub_command(commands: Dict[str, str], command: Optional[str], rest: List[str]) -> tuple[Optional[str], List[str]]:
    """``dolma decon index ...``: a command of two words is named by both."""
    if command is not None and rest and f"{command} {rest[0]}" in commands:
        return f"{command} {rest[0]}", rest[1:]
    return command, rest


def _dispatch(argv: List[str]) -> int:
    """Run one command line; config errors raise (:func:`main` prints them, :func:`run_argv` passes them on)."""
    commands = COMMANDS
    config_path, command, rest, want_help = _split_config_args(argv)
    command, rest = _sub_command(commands, command, rest)
    if command is None or (want_help and command not in commands):
        print(_main_help(commands), file=sys.stdout if want_help else sys.stderr)
        return 0 if want_help else 2
    if command not in commands:
        subs = sorted(c.split(" ", 1)[1] for c in commands if c.startswith(f"{command} "))
        if subs:
            print(f"dolma {command}: name a sub-command: {', '.join(subs)}", file=sys.stderr)
            return 2
        print(f"dolma: unknown command {command!r}; choose from {', '.join(sorted(commands))}", file=sys.stderr)
        return 2
    cmd = load_command(commands[command])
    if want_help:
        print(_command_help(command, cmd))
        return 0
    file_data = load_file(config_path) if config_path else {}
    if cmd.positional and rest and not rest[0].startswith("-"):
        rest = [f"--{cmd.positional}", rest[0], *rest[1:]]
    # our messages at INFO (DEBUG with --debug); libraries (boto, ray, ...) only when they warn; set up before
    # the config is resolved, which warns about keys that have no effect
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _Scrub) for f in handler.filters):
            handler.addFilter(_Scrub())
    config = resolve(cmd.schema, file_data, parse_flags(cmd.schema, rest), interpolation=True)
    debug = bool(getattr(config, "debug", False))
    logging.getLogger("dolma").setLevel(logging.DEBUG if debug else logging.INFO)
    return cmd.run(config)

