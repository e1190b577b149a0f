"""HTML to text. ``resiliparse`` (main-content extraction, the default, as in Dolma) or ``trafilatura``; both are
optional dependencies, and a missing one is named with the extra that installs it before any file is read."""

from __future__ import annotations

import logging
from typing import Callable, Optional

from dolma.core.errors import ConfigError

__all__ = ["make_linearizer", "Linearize"]

Linearize = Callable[[bytes, Optional[str]], str]
"""(HTML bytes, charset from the HTTP header or None) → text."""


def make_linearizer(name: str) -> Linearize:
    if name == "resiliparse":
        return _resiliparse()
    if name == "trafilatura":
        return _trafilatura()
    raise ConfigError(f"`linearizer`: expected one of 'resiliparse', 'trafilatura', got {name!r}")


def _resiliparse() -> Linearize:
    try:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.encoding import detect_encoding
        from resiliparse.parse.html import HTMLTree
    except ImportError:
        raise ConfigError("the resiliparse linearizer needs resiliparse: pip install 'dolma-toolkit[warc]'") from None

    def linearize(content: bytes, charset: Optional[str]) -> str:
        encoding = charset or detect_encoding(content)
        try:
            tree = HTMLTree.parse_from_bytes(content, encoding)
        except LookupError:  # an unknown charset name in the HTTP header
            tree = HTMLTree.parse_from_bytes(content, detect_encoding(content))
        return extract_plain_text(tree, main_content=True, preserve_formatting=True, list_bullets=True)

    return linearize


def _trafilatura() -> Linearize:
    try:
        import trafilatura
        import trafilatura.meta
    except ImportError:
        raise ConfigError("the trafilatura linearizer needs trafilatura: pip install 'dolma-toolkit[html]'") from None
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    calls = 0

    def linearize(content: bytes, charset: Optional[str]) -> str:
        nonlocal calls
        calls += 1
        if calls % 10_000 == 0:  # trafilatura's caches grow without bound otherwise
            trafilatura.meta.reset_caches()
        return trafilatura.extract(content, output_format="txt") or ""

    return linearize
