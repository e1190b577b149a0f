"""``dolma tokens``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dolma.core.runner import stage_command
from dolma.tokens.config import TokensConfig

if TYPE_CHECKING:
    from dolma.tokens.stage import TokensStage

__all__ = ["TOKENS"]


def tokens_stage(config: TokensConfig) -> "TokensStage":
    # each worker is one process; HF tokenizers' own thread pool would only fight them for the cores
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from dolma.tokens.stage import TokensStage

    return TokensStage(config)


TOKENS = stage_command(TokensConfig, tokens_stage, "tokenize documents into token memmaps (OLMo's layout) with an index")
