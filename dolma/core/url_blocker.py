"""Adblock Plus rule matching for URLs: Dolma's ``UrlBlocker``, over Brave's engine (the ``adblock`` package).

Dolma builds the same engine (the ``adblock`` Rust crate) in its own extension module; here the Python binding of
that crate does the matching (the ``url`` extra). It lives in the core under Dolma's module name; the ``*_abp_v1``
taggers use it. A URL without a scheme is taken as ``http://``; the request has no source URL and no request type,
as in Dolma's taggers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Optional, Union

from dolma.core import io as dio
from dolma.core.errors import ConfigError

__all__ = ["UrlBlocker", "read_adblock_rules"]


def read_adblock_rules(paths: Iterable[Union[str, Path]]) -> List[str]:
    """The rules of Adblock Plus files (``!`` comment lines left out), without duplicates, sorted."""
    rules = set()
    for path in paths:
        text = dio.read_bytes(str(path)).decode("utf-8", errors="replace")
        rules.update(line.strip() for line in text.splitlines() if not line.startswith("!"))
    return sorted(rules)


class UrlBlocker:
    """An engine loaded with Adblock Plus rules; :meth:`check_network_urls` says whether a URL is blocked."""

    def __init__(self, rules: List[str]) -> None:
        try:
            import adblock
        except ImportError:
            raise ConfigError("adblock is not installed: pip install 'dolma-toolkit[url]' to use UrlBlocker") from None
        filters = adblock.FilterSet()
        filters.add_filters(list(rules))
        self.engine = adblock.Engine(filters)

    @classmethod
    def from_adb_paths(cls, *file_paths: Union[str, Path]) -> "UrlBlocker":
        return cls(read_adblock_rules(file_paths))

    def check_network_urls(self, url: str, source_url: Optional[str] = None, request_type: str = "") -> bool:
        import urllib3.util

        if urllib3.util.parse_url(url).scheme is None:
            url = f"http://{url}"
        return bool(self.engine.check_network_urls(url, source_url or "", request_type).matched)
