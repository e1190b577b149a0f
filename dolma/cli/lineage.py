"""``dolma trace`` and ``dolma remove``: the release-level commands (:mod:`dolma.release.trace`,
:mod:`dolma.release.remove`) given the mix's own rule evaluation, which only the CLI layer may import."""

from __future__ import annotations

from typing import Any, Callable

from dolma.core.runner import Command
from dolma.mixers.explain import explain_document
from dolma.mixers.filters import compile_matcher
from dolma.release.remove import RemoveConfig, run_remove
from dolma.release.trace import TraceConfig, run_trace

__all__ = ["TRACE", "REMOVE", "matcher"]


def matcher(expression: str, syntax: str) -> Callable[[Any], bool]:
    """Whether a document matches ``expression``, as the mix's exclude rules read it."""
    return compile_matcher(expression, syntax, exclude=True).matches


TRACE = Command(TraceConfig, lambda config: run_trace(config, explain_document),
                "trace a document or token of a release to its source and through every decision", positional="path")
REMOVE = Command(RemoveConfig, lambda config: run_remove(config, matcher),
                 "remove documents from a release, rewriting only the files that hold them", positional="path")
