"""The ``dolma`` command line: ``dolma [-c FILE] <command> [-c FILE] [--dotted.key value ...]``.

Each command has a typed config schema; the config file (YAML or JSON) and then the flags are merged over its
defaults. The CLI (this package) is the one layer that knows every stage: ``commands`` maps command names to the
stages' commands, which ``pipeline`` chains into a release.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional, Sequence, Type

import msgspec

from dolma.cli.commands import COMMANDS, load_command
from dolma.core.config import load_file, parse_flags, resolve
from dolma.core.environment import describe_environment, set_strict
from dolma.core.errors import DolmaError
from dolma.core.version import __version__

__all__ = ["main"]



def _schema_help(schema: Type[msgspec.Struct], prefix: str = "") -> List[str]:
    lines: List[str] = []
    info = msgspec.inspect.type_info(schema)
    defaults = schema()
    for f in info.fields:  # type: ignore[attr-defined]
        key = prefix + f.encode_name
        value = getattr(defaults, f.name)
        if isinstance(value, msgspec.Struct):
            lines.extend(_schema_help(type(value), key + "."))
        else:
            lines.append(f"  --{key}  (default: {msgspec.json.encode(msgspec.to_builtins(value)).decode()})")
    return lines


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


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = COMMANDS
    try:
        config_path, command, rest, want_help = _split_config_args(argv)
        if command is None or (want_help and command not in commands):
            parser = argparse.ArgumentParser(prog="dolma", description="Build LLM pretraining corpora.")
            parser.add_argument("command", choices=sorted(commands), help=" | ".join(sorted(commands)))
            parser.add_argument("-c", "--config", help="YAML or JSON config file")
            parser.add_argument(
                "--strict_env",
                action="store_true",
                help="refuse to rerun over outputs made with other Python or library versions (default: warn)",
            )
            parser.add_argument("--version", action="store_true", help="the version and the library versions")
            parser.print_help(sys.stdout if want_help else sys.stderr)
            return 0 if want_help else 2
        if command not in commands:
            print(f"dolma: unknown command {command!r}; choose from {', '.join(sorted(commands))}", file=sys.stderr)
            return 2
        cmd = load_command(commands[command])
        if want_help:
            print(f"usage: dolma {command} [-c CONFIG] [--key value ...]\n\n{cmd.help}\n\nkeys:")
            print("\n".join(_schema_help(cmd.schema)))
            return 0
        file_data = load_file(config_path) if config_path else {}
        if cmd.positional and rest and not rest[0].startswith("-"):
            rest = [f"--{cmd.positional}", rest[0], *rest[1:]]
        # our messages at INFO (DEBUG with --debug); libraries (boto, ray, ...) only when they warn; set up before
        # the config is resolved, which warns about keys that have no effect
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
        config = resolve(cmd.schema, file_data, parse_flags(cmd.schema, rest))
        debug = bool(getattr(config, "debug", False))
        logging.getLogger("dolma").setLevel(logging.DEBUG if debug else logging.INFO)
        return cmd.run(config)
    except DolmaError as exc:
        print(f"dolma: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dolma: interrupted", file=sys.stderr)
        return 130

