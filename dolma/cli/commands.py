"""The table of ``dolma`` sub-commands: each name's :class:`~dolma.core.runner.Command`, imported only when it runs."""

from __future__ import annotations

import importlib
from typing import Dict

from dolma.core.runner import Command

__all__ = ["COMMANDS", "load_command", "command"]

# command name → "module:attribute" of its Command; imported only when that command runs
COMMANDS: Dict[str, str] = {
    "tag": "dolma.taggers.cli:TAG",
    "list": "dolma.taggers.cli:LIST",
    "sample-corpus": "dolma.release.sample_corpus:SAMPLE_CORPUS",
    "stat": "dolma.release.stat:STAT",
    "verify": "dolma.release.verify:VERIFY",
    "report": "dolma.release.report:REPORT",
    "lineage": "dolma.release.lineage:LINEAGE",
    "trace": "dolma.cli.lineage:TRACE",
    "remove": "dolma.cli.lineage:REMOVE",
    "diff": "dolma.release.diff:DIFF",
    "pipeline": "dolma.cli.pipeline:PIPELINE",
    "tokens": "dolma.tokens.cli:TOKENS",
    "mix": "dolma.mixers.cli:MIX",
    "train-ft": "dolma.taggers.train_ft:TRAIN_FT",
    "import": "dolma.readers.cli:IMPORT",
    "warc": "dolma.readers.cli:WARC",
    "export": "dolma.readers.cli:EXPORT",
    "dedupe": "dolma.dedup.cli:DEDUPE",
    "decon index": "dolma.decon.cli:INDEX",
}


def load_command(target: str) -> Command:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def command(name: str) -> Command:
    """The command called ``name`` (a key of :data:`COMMANDS`)."""
    return load_command(COMMANDS[name])
