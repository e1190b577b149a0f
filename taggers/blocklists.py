"""Dolma's URL and domain list taggers: ``blocklist_*``, ``domain_blocklist_*``, ``link_blocklist_phishing_v1``,
``allowlist_wikidata_*`` and the Adblock Plus ones (``oisd_*_abp_v1``, ``brave_*_abp_v1``), with Dolma's bases
:class:`BaseUrlTagger` and :class:`BaseDomainTagger` for plugins (a subclass sets ``BLOCKLIST_PATHS``).

Each tagger reads ``metadata.url`` and writes one span of type ``url`` (score 1.0) over the whole text when the URL
is on its list, nothing otherwise. The lists are the files Dolma publishes on dolma-artifacts.org, fetched once per
machine into the model cache (see ``dolma.taggers.models``). Without network, download them elsewhere and set
``tagger_options.<name>.lists`` to the copies (local paths, s3://, https://, hf://); the tagger fails at once, in
one line naming the file it could not fetch, when neither works.

Values are Dolma 1.2.1's, including its quirks, which thresholds and filters tuned on Dolma's output rely on:

- a list line ``<ip> <host>`` adds the IP as well, ``0.0.0.0`` and ``127.0.0.1`` included (Dolma's pattern that
  meant to skip them never matches), and a line starting with a host name is added whole (a trailing comment
  included);
- URLs are compared as ``host[:port]/path`` without the scheme, query or trailing ``/`` (``urllib3``'s parser);
- the domain taggers strip every leading ``w`` and ``.`` from the host (Python's ``str.lstrip("www.")``, so
  ``web.com`` is compared as ``eb.com``) and try it with and without ``www.``;
- ``allowlist_wikidata_cleaned_v1`` gives the same values as ``allowlist_wikidata_v1``: Dolma defines a row filter
  for it that it never calls.

One difference: a URL ``urllib3`` cannot parse gets no span where Dolma raises (and ``dolma tag`` fails the file).
"""

from __future__ import annotations

import io
import json
import re
import socket
from typing import Any, ClassVar, Dict, Iterator, List, Optional, Set, Type

import msgspec

from dolma.core.data_types import DocResult, DocumentWithMetadata, Span
from dolma.core.errors import ConfigError
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTaggerWithMetadata, TaggerOptions
from dolma.taggers.models import ModelNotFound, resolve_model
from dolma.core.url_blocker import UrlBlocker

__all__ = [
    "BlocklistOptions",
    "BaseUrlTagger",
    "BaseDomainTagger",
    "AdbUrlTagger",
    "AllowlistWikidataTagger",
    "UrlNotParsedError",
    "DOLMA_LISTS",
]

_ARTIFACTS = "https://dolma-artifacts.org/"

# tagger name -> (its base class's kind, folder under dolma-artifacts.org, files in that folder): Dolma 1.2.1's lists
DOLMA_LISTS = {
    "domain_blocklist_utp_v1": ("domain", "blocklist_utp/blocklist_utp-20240205/adult", ["domains"]),
    "link_blocklist_phishing_v1": ("link", "blocklist_phishing_db/blocklist_phishing_db-20240205", ["domains.txt.gz"]),
    "domain_blocklist_phishing_v1": ("domain", "blocklist_phishing_db/blocklist_phishing_db-20240205", ["domains.txt.gz"]),
    "oisd_small_abp_v1": ("adblock", "blocklist_oisd/blocklist_oisd-20240205", ["oisd_small_abp.txt.gz"]),
    "oisd_big_abp_v1": ("adblock", "blocklist_oisd/blocklist_oisd-20240205", ["oisd_big_abp.txt.gz"]),
    "oisd_nsfw_abp_v1": ("adblock", "blocklist_oisd/blocklist_oisd-20240205", ["oisd_nsfw_abp.txt.gz"]),
    "brave_core_abp_v1": (
        "adblock",
        "blocklist_brave/blocklist_brave-20240206",
        ["brave_ad_block_first_party_filters.txt", "brave_ad_block_updater.txt"],
    ),
    "brave_nsfw_abp_v1": ("adblock", "blocklist_brave/blocklist_brave-20240206", ["blocklists_anti_porn.txt"]),
    "blocklist_project_nsfw_v1": ("domain", "blocklist_project/blocklist_project-20240207", ["porn.txt"]),
    "blocklist_project_social_v1": (
        "domain",
        "blocklist_project/blocklist_project-20240207",
        ["facebook.txt", "fortnite.txt", "tiktok.txt", "twitter.txt", "whatsapp.txt", "youtube.txt"],
    ),
    "blocklist_project_crime_v1": (
        "domain",
        "blocklist_project/blocklist_project-20240207",
        ["abuse.txt", "fraud.txt", "malware.txt", "phishing.txt", "piracy.txt", "ransomware.txt", "scam.txt", "redirect.txt"],
    ),
    "blocklist_project_vice_v1": (
        "domain",
        "blocklist_project/blocklist_project-20240207",
        ["crypto.txt", "drugs.txt", "gambling.txt", "vaping.txt"],
    ),
    "blocklist_project_ads_v1": (
        "domain",
        "blocklist_project/blocklist_project-20240207",
        ["adobe.txt", "ads.txt", "basic.txt", "smart-tv.txt", "tracking.txt"],
    ),
    "blocklist_firebog_ads_v1": (
        "domain",
        "blocklist_firebog/blocklist_firebog-20240208/ads",
        [
            "blue/hosts.txt", "green/AdguardDNS.txt", "green/Admiral.txt", "green/adservers.txt", "green/Easylist-2.txt",
            "green/hosts-2.txt", "green/hosts-3.txt", "green/hosts.txt", "green/serverlist.txt", "green/simple_ad.txt",
        ],
    ),
    "blocklist_firebog_crypto_v1": ("domain", "blocklist_firebog/blocklist_firebog-20240208/crypto/green", ["hosts_browser.txt"]),
    "blocklist_firebog_malicious_v1": (
        "domain",
        "blocklist_firebog/blocklist_firebog-20240208/malicious",
        [
            "blue/phishing-filter-hosts.txt", "blue/Prigent-Malware.txt", "green/AntiMalwareHosts.txt",
            "green/hostfile.txt", "green/hosts-2.txt", "green/hosts.txt", "green/latestdomains.txt",
            "green/main-blacklist.txt", "green/Mandiant_APT1_Report_Appendix_D.txt", "green/notrack-malware.txt",
            "green/phishing_army_blocklist_extended.txt", "green/Prigent-Crypto.txt", "green/RPiList-Malware.txt",
            "green/RPiList-Phishing.txt", "green/simple_malvertising.txt",
        ],
    ),
    "blocklist_firebog_nsfw_v1": (
        "domain",
        "blocklist_firebog/blocklist_firebog-20240208/nsfw/blue",
        ["pi_blocklist_porn_top1m.list.txt", "Prigent-Adult.txt"],
    ),
    "blocklist_firebog_social_v1": ("domain", "blocklist_firebog/blocklist_firebog-20240208/social/blue", ["facebook.txt"]),
    "blocklist_firebog_suspicious_v1": (
        "domain",
        "blocklist_firebog/blocklist_firebog-20240208/suspicious",
        [
            "blue/hosts-2.txt", "blue/hosts-3.txt", "blue/hosts-4.txt", "blue/hosts-file.txt", "blue/neohostsbasic.txt",
            "blue/SNAFU.txt", "blue/spammers.txt", "green/hosts.txt", "green/KADhosts.txt", "green/w3kbl.txt",
        ],
    ),
    "blocklist_firebog_trackers_v1": (
        "domain",
        "blocklist_firebog/blocklist_firebog-20240208/trackers",
        [
            "blue/ads-and-tracking-extended.txt", "blue/AmazonFireTV.txt", "blue/android-tracking.txt",
            "blue/notrack-blocklist.txt", "blue/SmartTV.txt", "green/Easyprivacy.txt",
            "green/firstparty-trackers-hosts.txt", "green/hosts.txt", "green/Prigent-Ads.txt", "green/spy.txt",
        ],
    ),
    "blocklist_hosts_adware_malware_v1": ("domain", "blocklist_hosts/blocklist_hosts-20240208", ["adware_malware.txt"]),
    "blocklist_hosts_fakenews_v1": ("domain", "blocklist_hosts/blocklist_hosts-20240208", ["fakenews.txt"]),
    "blocklist_hosts_gambling_v1": ("domain", "blocklist_hosts/blocklist_hosts-20240208", ["gambling.txt"]),
    "blocklist_hosts_porn_v1": ("domain", "blocklist_hosts/blocklist_hosts-20240208", ["porn.txt"]),
    "blocklist_hosts_social_v1": ("domain", "blocklist_hosts/blocklist_hosts-20240208", ["social.txt"]),
    "allowlist_wikidata_v1": (
        "wikidata",
        "wikidata/wikidata-20220208",
        ["periodical-Q1002697/response.json", "website-Q35127/response.json"],
    ),
    "allowlist_wikidata_cleaned_v1": (
        "wikidata",
        "wikidata/wikidata-20220208",
        ["periodical-Q1002697/response.json", "website-Q35127/response.json"],
    ),
}

# a host name as Dolma's list parser reads it: two or more runs of [-a-z0-9_] each optionally followed by one dot
_NAME = r"(?:[-a-z0-9_]+\.?){2,}|localhost|localdomain"
_IP_AND_NAME = re.compile(rf"([0-9a-f.:]+)\s+({_NAME})")
_STARTS_WITH_NAME = re.compile(r"[-a-z0-9_]\.?[-a-z0-9_]")  # what ``_NAME`` needs to match at the start
_ADBLOCK_DOMAIN = re.compile(rf"\|+({_NAME})\^")


class UrlNotParsedError(ValueError):
    """A list line that is neither a host, an ``<ip> <host>`` line nor an ``||host^`` rule (the line is skipped)."""


class BlocklistOptions(TaggerOptions):
    lists: List[str] = msgspec.field(default_factory=list)
    """List files replacing Dolma's (local, s3://, https://, hf://); empty: the tagger's lists on dolma-artifacts.org."""


def _is_ip(text: str) -> bool:
    for family in (socket.AF_INET6, socket.AF_INET):
        try:
            socket.inet_pton(family, text)
            return True
        except OSError:
            pass
    return False


def _parse_url(url: str) -> Any:
    """``urllib3``'s parse of ``url``, or None where it refuses it."""
    import urllib3.util
    from urllib3.exceptions import LocationParseError

    try:
        return urllib3.util.parse_url(url)
    except (LocationParseError, ValueError):
        return None


def _fetched_lists(user: str, paths: List[str]) -> List[str]:
    """Local copies of the list files, fetched into the cache once; one line naming the file when that fails."""
    local = []
    for path in paths:
        try:
            local.append(resolve_model(path))
        except ModelNotFound as exc:
            raise ConfigError(
                f"{user}: {exc}; without network, download the list elsewhere and set `tagger_options.{user}.lists` "
                "to the local copies"
            ) from None
    return local


def _text_lines(path: str, data: bytes) -> Iterator[str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_no = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line_no}: invalid UTF-8 in a URL list") from None
    return iter(io.StringIO(text, newline=None))  # the lines as reading the file in text mode gives them


class BaseUrlTagger(BaseTaggerWithMetadata):
    """A URL list: a subclass sets ``BLOCKLIST_PATHS`` (or the ``lists`` option does) and may override
    :meth:`parse_line` (list line → entries), :meth:`clean_url` (URL → forms to look up) and :meth:`check_url`."""

    Options = BlocklistOptions
    BLOCKLIST_PATHS: ClassVar[List[str]] = []
    URL_METADATA_KEY: ClassVar[str] = "url"
    TAGGER_NAME: ClassVar[str] = ""

    def __init__(self, options: Optional[BlocklistOptions] = None) -> None:
        self.blocklist: Set[str] = set()
        paths = self._list_paths(options)
        from dolma.core import io as dio

        for path in _fetched_lists(self._user(), paths):
            for line_no, line in enumerate(_text_lines(path, dio.read_bytes(path)), start=1):
                try:
                    self.blocklist.update(self.parse_line(line))
                except UrlNotParsedError:
                    continue  # Dolma logs and skips such lines
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{path}:{line_no}: not JSON: {exc.msg}") from None
        if not self.blocklist:
            raise ConfigError(f"{self._user()}: no entries in {', '.join(paths)}")

    @classmethod
    def _user(cls) -> str:
        return cls.TAGGER_NAME or cls.__name__

    def _list_paths(self, options: Optional[BlocklistOptions]) -> List[str]:
        paths = list(options.lists) if options is not None and options.lists else list(self.BLOCKLIST_PATHS)
        if not paths:
            raise ConfigError(f"{self._user()} has no list: set BLOCKLIST_PATHS or `tagger_options.<name>.lists`")
        return paths

    def parse_line(self, ln: str) -> Iterator[str]:
        ln = ln.strip().lower()
        if not ln or ln[0] in "#;!":
            return
        pair = _IP_AND_NAME.match(ln)
        if pair is not None:
            ip, name = pair.group(1), pair.group(2)
            if not _is_ip(ip):
                raise UrlNotParsedError(f"invalid IP: {ip}")
            yield ip  # Dolma means to skip 0.0.0.0 and 127.0.0.1 here, but its pattern for them never matches
            if name not in ("localhost", "localdomain"):
                yield from self.clean_url(name)
        elif _STARTS_WITH_NAME.match(ln):
            yield from self.clean_url(ln)
        else:
            rule = _ADBLOCK_DOMAIN.match(ln)
            if rule is None:
                raise UrlNotParsedError(f"invalid line: {ln}")
            yield rule.group(1)

    @classmethod
    def clean_url(cls, url: str) -> Iterator[str]:
        """``host[:port]/path`` in lower case: no scheme, query, fragment or trailing ``/``."""
        if url is None or not url.strip():
            return
        parsed = _parse_url(url)
        if parsed is None:
            return
        port = f":{parsed.port}" if parsed.port else ""
        yield f"{parsed.host}{port}{parsed.path or ''}".rstrip("/").lower()

    def check_url(self, url: str) -> bool:
        return url in self.blocklist

    def predict(self, doc: DocumentWithMetadata) -> DocResult:  # type: ignore[override]
        url = doc.metadata.get(self.URL_METADATA_KEY) or ""
        listed = any(self.check_url(cleaned) for cleaned in self.clean_url(url))
        spans = [Span(0, len(doc.text), self.URL_METADATA_KEY, 1.0)] if listed else []
        return DocResult(doc, spans)


class BaseDomainTagger(BaseUrlTagger):
    """Entries and URLs compared by host: with leading ``w``/``.`` characters stripped, and with ``www.``."""

    @classmethod
    def clean_url(cls, url: str) -> Iterator[str]:
        for cleaned in super().clean_url(url):
            parsed = _parse_url(cleaned)
            host = parsed.host if parsed is not None else None
            if not host:
                return
            host = host.lstrip("w.")  # Dolma's str.lstrip("www."): a set of characters, not a prefix
            yield host
            yield f"www.{host}"


class AdbUrlTagger(BaseUrlTagger):
    """Adblock Plus rule lists, matched by Brave's engine (:class:`UrlBlocker`, the ``url`` extra)."""

    def __init__(self, options: Optional[BlocklistOptions] = None) -> None:
        self.engine = UrlBlocker.from_adb_paths(*_fetched_lists(self._user(), self._list_paths(options)))

    def check_url(self, url: str) -> bool:
        return self.engine.check_network_urls(url)


class LinkBlocklistPhishingTagger(BaseUrlTagger):
    """Every line not starting with ``#`` is one entry, as written (lower-cased)."""

    def parse_line(self, ln: str) -> Iterator[str]:
        ln = ln.strip().lower()
        if not ln.startswith("#"):
            yield ln


class AllowlistWikidataTagger(BaseDomainTagger):
    """Wikidata's websites and periodicals (a JSON array of rows with a ``url`` a line); hosts are also compared
    by their last two labels when they have more than three (``a.b.c.d`` → ``c.d``)."""

    @classmethod
    def get_base_domain(cls, url: str) -> str:
        return ".".join(url.rsplit(".", 2)[1:]) if url.count(".") > 2 else url

    @classmethod
    def clean_url(cls, url: str) -> Iterator[str]:
        for cleaned in super().clean_url(url):
            yield cleaned
            yield cls.get_base_domain(cleaned)

    def parse_line(self, ln: str) -> Iterator[str]:
        for row in json.loads(ln):
            try:  # Dolma drops the rest of a row that fails anywhere (no url, not a string, a bad line)
                for url in self.clean_url(row["url"]):
                    yield from super().parse_line(url)
            except Exception:
                continue

    def check_url(self, url: str) -> bool:
        return any(cleaned in self.blocklist for cleaned in self.clean_url(url))


_BASES: Dict[str, Type[BaseUrlTagger]] = {
    "domain": BaseDomainTagger,
    "link": LinkBlocklistPhishingTagger,
    "adblock": AdbUrlTagger,
    "wikidata": AllowlistWikidataTagger,
}


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Tagger"


def _register(name: str) -> Type[BaseUrlTagger]:
    kind, folder, files = DOLMA_LISTS[name]
    attrs = {
        "BLOCKLIST_PATHS": [f"{_ARTIFACTS}{folder}/{f}" for f in files],
        "TAGGER_NAME": name,
        "__module__": __name__,
        "__doc__": f"``{name}``: Dolma 1.2.1's lists under {_ARTIFACTS}{folder}/.",
    }
    cls = type(_class_name(name), (_BASES[kind],), attrs)
    add_tagger(name)(cls)
    return cls


TAGGERS = {name: _register(name) for name in DOLMA_LISTS}
globals().update({cls.__name__: cls for cls in TAGGERS.values()})  # module attributes, so instances pickle by name
