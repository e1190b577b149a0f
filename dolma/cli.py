"""The ``dolma`` command line: ``dolma [-c FILE] <command> [-c FILE] [--dotted.key value ...]``.

Each command has a typed config schema; the config file (YAML or JSON) and then the flags are merged over its
defaults. This is the one module that knows every stage.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Type

import msgspec

from dolma.config import ConfigStruct, load_file, parse_flags, render, resolve
from dolma.errors import DolmaError
from dolma.executor import RunReport, execute
from dolma.version import __version__

__all__ = ["main"]

log = logging.getLogger("dolma")


@dataclass(frozen=True)
class Command:
    schema: Type[msgspec.Struct]
    run: Callable[[Any], int]
    help: str


def _run_tag(config: Any) -> int:
    from dolma.taggers.stage import TagStage

    stage = TagStage(config)
    stage.setup_plugins()
    units = stage.units()
    if config.dryrun:
        print(render(config), end="")
        print(f"# {len(units)} documents file(s) to tag", file=sys.stderr)
        return 0
    processes = config.processes
    if config.profile.enable and processes > 1:
        log.info("profiling runs the work in this process: using 1 process")
        processes = 1
    with _profiled(config.profile):
        report = execute(stage, units, processes=processes, ignore_existing=config.ignore_existing, debug=config.debug)
    return _summarise("tag", report)


def _run_list(config: Any) -> int:
    from dolma.taggers.registry import TaggerRegistry, load_plugins

    load_plugins(config.tagger_modules)
    rows = TaggerRegistry.items()
    width = max((len(name) for name, _ in rows), default=0)
    for name, cls in rows:
        print(f"{name:<{width}}  {cls.__module__}.{cls.__qualname__}")
    return 0


class SampleCorpusConfig(ConfigStruct):
    destination: str = "quickstart"
    max_files: int = 400


def _run_sample_corpus(config: SampleCorpusConfig) -> int:
    from dolma.sample_corpus import build_sample_corpus

    counts = build_sample_corpus(config.destination, max_files=config.max_files)
    summary = ", ".join(f"{n} {source}" for source, n in counts.items())
    log.info("sample corpus: %s documents in %s/documents", summary, config.destination)
    return 0


def _commands() -> Dict[str, Command]:
    from dolma.taggers.config import ListConfig, TagConfig

    return {
        "sample-corpus": Command(
            SampleCorpusConfig, _run_sample_corpus, "write a small real corpus (Python stdlib code and docstrings)"
        ),
        "tag": Command(TagConfig, _run_tag, "run taggers over documents and write attributes"),
        "list": Command(ListConfig, _run_list, "list the registered taggers"),
    }


class _profiled:
    """cProfile around a block when ``profile.enable`` is set (Dolma's ``profile`` options)."""

    def __init__(self, profile: Any) -> None:
        self.profile = profile
        self._prof: Any = None

    def __enter__(self) -> None:
        if self.profile.enable:
            import cProfile

            self._prof = cProfile.Profile()
            self._prof.enable()

    def __exit__(self, *exc: Any) -> None:
        if self._prof is None:
            return
        import pstats

        self._prof.disable()
        out = open(self.profile.output, "w") if self.profile.output else sys.stdout
        try:
            pstats.Stats(self._prof, stream=out).sort_stats(self.profile.sort_key).print_stats(self.profile.lines)
        finally:
            if out is not sys.stdout:
                out.close()


def _summarise(stage: str, report: RunReport) -> int:
    totals = report.totals()
    docs = totals.get("documents_in", 0)
    mb = totals.get("bytes_in", 0) / 1e6
    rate = docs / report.seconds if report.seconds > 0 else 0.0
    log.info(
        "%s: %d file(s) done, %d skipped, %d failed; %s documents, %.1f MB in %.1fs (%.0f docs/s)",
        stage,
        len(report.done),
        len(report.skipped),
        len(report.failed),
        f"{docs:,}",
        mb,
        report.seconds,
        rate,
    )
    if totals.get("documents_quarantined"):
        log.warning("%s: %d bad line(s) quarantined", stage, totals["documents_quarantined"])
    if report.failed:
        print(f"dolma {stage}: {len(report.failed)} file(s) failed:", file=sys.stderr)
        for _key, message in report.failed:
            print(f"  {message}", file=sys.stderr)
        return 1
    return 0


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
    """Pull out ``-c/--config FILE``, the command, ``-h`` and ``--version``; the rest are config flags."""
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
            print(f"dolma-toolkit {__version__}")
            raise SystemExit(0)
        elif command is None and not arg.startswith("-"):
            command = arg
        else:
            rest.append(arg)
        i += 1
    return config_path, command, rest, want_help


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = _commands()
    try:
        config_path, command, rest, want_help = _split_config_args(argv)
        if command is None or (want_help and command not in commands):
            parser = argparse.ArgumentParser(prog="dolma", description="Build LLM pretraining corpora.")
            parser.add_argument("command", choices=sorted(commands), help=" | ".join(f"{k}: {c.help}" for k, c in commands.items()))
            parser.add_argument("-c", "--config", help="YAML or JSON config file")
            parser.print_help(sys.stdout if want_help else sys.stderr)
            return 0 if want_help else 2
        if command not in commands:
            print(f"dolma: unknown command {command!r}; choose from {', '.join(sorted(commands))}", file=sys.stderr)
            return 2
        cmd = commands[command]
        if want_help:
            print(f"usage: dolma {command} [-c CONFIG] [--key value ...]\n\n{cmd.help}\n\nkeys:")
            print("\n".join(_schema_help(cmd.schema)))
            return 0
        file_data = load_file(config_path) if config_path else {}
        config = resolve(cmd.schema, file_data, parse_flags(cmd.schema, rest))
        debug = bool(getattr(config, "debug", False))
        logging.basicConfig(
            level=logging.DEBUG if debug else logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
        )
        return cmd.run(config)
    except DolmaError as exc:
        print(f"dolma: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dolma: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
