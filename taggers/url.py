"""``url_list_v1``: block- and allow-lists from your own files, matched on the document's ``metadata.url``.

Options: ``blocklist`` and ``allowlist`` (files: local, s3://, https://, hf://; fetched once per machine like
models), ``field`` (the metadata key holding the URL, default ``url``). A list file holds one entry a line:

- ``example.com``: that host and every subdomain (``www.example.com``, ``a.b.example.com``);
- ``0.0.0.0 example.com`` (hosts-file lines) and ``||example.com^`` (Adblock domain rules): the same;
- a pattern with ``*`` or ``/``: a glob over ``host/path`` (``example.com/ads/*``, ``*.example.*``); a pattern
  without ``/`` is matched on the host alone.

Blank lines and lines starting with ``#``, ``!`` or ``;`` are comments; anything else is an error naming the
file and line. Types: ``blocked`` (1.0 when the URL is on the blocklist and not on the allowlist) and
``allowed`` (1.0 when it is on the allowlist); nothing when neither list matches.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Iterable, List, Optional, Set, Tuple
from urllib.parse import urlsplit

import msgspec

from dolma.core.errors import ConfigError
from dolma.core.data_types import DocResult, DocumentWithMetadata, Span
from dolma.core.taggers import BaseTaggerWithMetadata, TaggerOptions
from dolma.taggers.models import resolve_model
from dolma.core.registry import add_tagger

__all__ = ["UrlListOptions", "UrlList", "UrlMatcher", "split_url"]

_HOST = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$|^[0-9a-f:.]+$")
_HOSTS_LINE = re.compile(r"^(?:0\.0\.0\.0|127\.0\.0\.1|::1?|::)\s+(\S+)$")
_ADBLOCK = re.compile(r"^\|\|([^/^$*|]+)\^?$")


def split_url(url: str) -> Tuple[str, str]:
    """(host, path) in lower case; a URL without a scheme is read as ``host/path``."""
    url = url.strip()
    try:
        parts = urlsplit(url if "//" in url else "//" + url)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:  # e.g. a malformed IPv6 literal
        return "", ""
    return host.lower(), parts.path.lower()


class UrlMatcher:
    """Domains (with subdomains) in a set, globs in one compiled regular expression."""

    def __init__(self, entries: Iterable[Tuple[str, int, str]]) -> None:
        self.domains: Set[str] = set()
        host_globs: List[str] = []
        path_globs: List[str] = []
        for path, line_no, raw in entries:
            line = raw.strip().lower()
            if not line or line[0] in "#!;":
                continue
            m = _HOSTS_LINE.match(line) or _ADBLOCK.match(line)
            entry = m.group(1) if m else line
            if "*" in entry or "/" in entry:
                (path_globs if "/" in entry else host_globs).append(fnmatch.translate(entry.split("://")[-1]))
            elif _HOST.match(entry):
                self.domains.add(entry.rstrip("."))
            else:
                raise ConfigError(f"{path}:{line_no}: not a domain, hosts line, ||domain^ rule or pattern: {raw.strip()!r}")
        self._hosts = re.compile("|".join(host_globs)) if host_globs else None
        self._paths = re.compile("|".join(path_globs)) if path_globs else None

    def __len__(self) -> int:
        return len(self.domains) + bool(self._hosts) + bool(self._paths)

    def matches(self, host: str, path: str) -> bool:
        if not host:
            return False
        domains = self.domains
        if domains:
            rest = host
            while True:
                if rest in domains:
                    return True
                dot = rest.find(".")
                if dot < 0:
                    break
                rest = rest[dot + 1 :]
        if self._hosts is not None and self._hosts.match(host):
            return True
        return self._paths is not None and self._paths.match(host + (path or "/")) is not None


def _read_lists(specs: List[str]) -> Iterable[Tuple[str, int, str]]:
    from dolma.core import io as dio
    for spec in specs:
        local = resolve_model(spec)
        data = dio.read_bytes(local)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ConfigError(f"{spec}:{line}: invalid UTF-8") from None
        for i, line in enumerate(text.splitlines(), start=1):
            yield spec, i, line


class UrlListOptions(TaggerOptions):
    blocklist: List[str] = msgspec.field(default_factory=list)
    allowlist: List[str] = msgspec.field(default_factory=list)
    field: str = "url"


@add_tagger("url_list_v1")
class UrlList(BaseTaggerWithMetadata):
    Options = UrlListOptions

    def __init__(self, options: Optional[UrlListOptions] = None) -> None:
        self.options = options or UrlListOptions()
        if not self.options.blocklist and not self.options.allowlist:
            raise ConfigError("url_list_v1 needs `tagger_options.<name>.blocklist` and/or `allowlist` files")
        self.block = UrlMatcher(_read_lists(self.options.blocklist))
        self.allow = UrlMatcher(_read_lists(self.options.allowlist))

    def predict(self, doc: DocumentWithMetadata) -> DocResult:  # type: ignore[override]
        url = doc.metadata.get(self.options.field)
        spans: List[Span] = []
        if isinstance(url, str) and url:
            host, path = split_url(url)
            n = len(doc.text)
            allowed = self.allow.matches(host, path)
            if not allowed and self.block.matches(host, path):
                spans.append(Span(0, n, "blocked"))
            if allowed:
                spans.append(Span(0, n, "allowed"))
        return DocResult(doc, spans)


# Dolma's list-tagger bases live in this module in Dolma (``dolma.taggers.url``): plugins import them from here
from dolma.taggers.blocklists import BaseDomainTagger, BaseUrlTagger, UrlNotParsedError  # noqa: E402

__all__ += ["BaseUrlTagger", "BaseDomainTagger", "UrlNotParsedError"]
