"""``dolma tokens``."""

from __future__ import annotations

import logging
import os
import sys

from dolma.core.runner import Command, profiled, summarise, work_processes
from dolma.core.config import render
from dolma.core.executor import execute
from dolma.tokens.config import TokensConfig

__all__ = ["TOKENS"]

log = logging.getLogger("dolma")


def run_tokens(config: TokensConfig) -> int:
    # each worker is one process; HF tokenizers' own thread pool would only fight them for the cores
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from dolma.tokens.stage import TokensStage

    stage = TokensStage(config)
    units = stage.units()
    if config.dryrun:
        print(render(config), end="")
        print(
            f"# {sum(len(u.payload.files) for u in units)} documents file(s) in {len(units)} group(s); "
            f"dtype {stage.dtype.name}; tokenizer {stage.identity.source} ({stage.identity.encoder})",
            file=sys.stderr,
        )
        return 0
    with profiled(config.profile):
        report = execute(
            stage, units, work_processes(config), config.ignore_existing, debug=config.debug, executor=config.executor
        )
    totals = report.totals()
    if report.done:
        rate = totals.get("tokens", 0) / report.seconds if report.seconds > 0 else 0.0
        log.info(
            "tokens: %s tokens in %d file(s) (%s); %s empty document(s) skipped; %.0f tokens/s",
            f"{totals.get('tokens', 0):,}",
            totals.get("files", 0),
            stage.dtype.name,
            f"{totals.get('documents_empty', 0):,}",
            rate,
        )
    return summarise("tokens", report)


TOKENS = Command(TokensConfig, run_tokens, "tokenize documents into token memmaps (OLMo's layout) with an index")
