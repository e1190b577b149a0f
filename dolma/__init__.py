"""A toolkit for building LLM pretraining corpora the way Dolma was built.

The public names here are Dolma's, so a Dolma tagger plugin (``from dolma import BaseTagger, add_tagger``) runs
unchanged.
"""

from dolma.core.data_types import DocResult, Document, DocumentWithMetadata, Span
from dolma.core.taggers import BaseTagger, BaseTaggerWithMetadata
from dolma.core.registry import TaggerRegistry, add_tagger
from dolma.core.errors import DolmaRustPipelineError
from dolma.core.version import __version__

__all__ = [
    "BaseTagger",
    "DolmaRustPipelineError",
    "BaseTaggerWithMetadata",
    "DocResult",
    "Document",
    "DocumentWithMetadata",
    "Span",
    "TaggerRegistry",
    "add_tagger",
    "deduper",
    "mixer",
    "__version__",
]


def mixer(config: dict) -> None:
    """Dolma's ``dolma.mixer(config)``: run ``dolma mix`` on a config dict (a mix config file's content); raises
    :class:`DolmaRustPipelineError` when files fail, and ``ConfigError`` on a wrong config."""
    from dolma.cli import run_config  # the command table loads the stages: only when called

    run_config("mix", config)


def deduper(config: dict) -> None:
    """Dolma's ``dolma.deduper(config)``: run ``dolma dedupe`` on a config dict (a dedupe config file's content)."""
    from dolma.cli import run_config

    run_config("dedupe", config)
