"""Dolma's URL and domain list taggers (``taggers/blocklists.py``) give Dolma's values on list files of our own.

The expected URLs are what the reference Dolma 1.2.1 flagged (``pip install dolma==1.2.1``, run from a folder
without our ``dolma/``): its tagger classes, subclassed with ``BLOCKLIST_PATHS`` set to these same files, predicting
a document with each URL of ``URLS`` in ``metadata.url``. CI has no reference install, so they are recorded here.
"""

from __future__ import annotations

import gzip
import json
import urllib.error
from pathlib import Path
from typing import Dict, List

import pytest

from dolma.core.data_types import DocumentWithMetadata
from dolma.core.errors import ConfigError
from dolma.taggers import TaggerRegistry
from dolma.taggers.blocklists import DOLMA_LISTS

HOSTS = """# comment
0.0.0.0 ads.example.com
127.0.0.1 localhost
0.0.0.0 tracker.net # trailing
::1 ip6.example.org
999.1.1.1 bad.example
web.com
www.shop.co.uk
example.org/path/
||adrule.io^
  Mixed.CASE.Net  
!bang
;semi
x
1.2.3.4 a
https://full.url.com/a/b?q=1
wwwide.org
"""
ADBLOCK = """! comment
||ads.example.com^
/banner/*
@@||good.ads.example.com^
||tracker.net^$third-party
example.org/ads
"""
WIKIDATA = json.dumps(
    [
        {"url": "https://www.news.example.co.uk/", "description": "newspaper"},
        {"url": "http://blog.site.org", "description": "adult humor"},
        {"nourl": 1},
        {"url": 5},
        {"url": "ftp://x.y.z.w.io/p"},
    ]
)
PHISHING = "evil.com/login\n#c\nPhish.ORG\n\n"

URLS = [
    "http://ads.example.com/x", "https://sub.ads.example.com", "ads.example.com", "http://good.ads.example.com/",
    "tracker.net", "https://web.com/", "eb.com", "https://www.eb.com", "http://shop.co.uk",
    "https://www.shop.co.uk/a", "example.org/path", "https://example.org/path/", "http://example.org/ads/1",
    "adrule.io", "http://mixed.case.net/", "0.0.0.0", "http://1.2.3.4/", "x", "a", "https://full.url.com/a/b",
    "wwwide.org", "ide.org", "http://news.example.co.uk", "https://co.uk", "http://blog.site.org/post",
    "https://site.org", "x.y.z.w.io", "z.w.io", "https://evil.com/login", "evil.com/login/", "phish.org", "",
    "http://[::1]/", "ip6.example.org", "http://site.com/banner/1.png", "localhost", "None",
]

DOMAIN_HOSTS = [
    "http://ads.example.com/x", "ads.example.com", "tracker.net", "https://web.com/", "eb.com", "https://www.eb.com",
    "http://shop.co.uk", "https://www.shop.co.uk/a", "example.org/path", "https://example.org/path/",
    "http://example.org/ads/1", "adrule.io", "http://mixed.case.net/", "0.0.0.0", "https://full.url.com/a/b",
    "wwwide.org", "ide.org", "ip6.example.org",
]
WIKIDATA_FLAGGED = [
    "http://shop.co.uk", "https://www.shop.co.uk/a", "http://news.example.co.uk", "https://co.uk",
    "http://blog.site.org/post", "https://site.org", "x.y.z.w.io", "z.w.io",
]

# (tagger, list file) -> the URLs Dolma 1.2.1 flags (span (0, len(text), "url", 1.0)); no span on the others
FLAGGED: Dict[tuple, List[str]] = {
    ("blocklist_hosts_porn_v1", "hosts.txt"): DOMAIN_HOSTS,
    ("domain_blocklist_phishing_v1", "hosts.txt"): DOMAIN_HOSTS,
    ("domain_blocklist_phishing_v1", "phish.txt.gz"): ["https://evil.com/login", "evil.com/login/", "phish.org"],
    ("link_blocklist_phishing_v1", "phish.txt.gz"): ["https://evil.com/login", "evil.com/login/", "phish.org"],
    ("link_blocklist_phishing_v1", "hosts.txt"): ["https://web.com/", "http://mixed.case.net/", "x", "wwwide.org"],
    ("oisd_small_abp_v1", "abp.txt"): [
        "http://ads.example.com/x", "https://sub.ads.example.com", "ads.example.com", "tracker.net",
        "http://example.org/ads/1", "http://site.com/banner/1.png",
    ],
    ("allowlist_wikidata_v1", "wiki.json"): WIKIDATA_FLAGGED,
    ("allowlist_wikidata_cleaned_v1", "wiki.json"): WIKIDATA_FLAGGED,
}


@pytest.fixture(scope="module")
def lists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lists")
    (folder / "hosts.txt").write_text(HOSTS, encoding="utf-8")
    (folder / "abp.txt").write_text(ADBLOCK, encoding="utf-8")
    (folder / "wiki.json").write_text(WIKIDATA + "\n", encoding="utf-8")
    (folder / "phish.txt.gz").write_bytes(gzip.compress(PHISHING.encode()))
    return folder


def _flagged(name: str, path: Path) -> List[str]:
    cls = TaggerRegistry.get(name)
    tagger = cls(cls.Options(lists=[str(path)]))
    out = []
    for url in URLS:
        doc = DocumentWithMetadata(source="s", id="i", text="some text", metadata={"url": url})
        spans = [(s.start, s.end, s.type, s.score) for s in tagger.predict(doc).spans]
        assert spans in ([], [(0, 9, "url", 1.0)])
        if spans:
            out.append(url)
    return out


@pytest.mark.parametrize("name,file", sorted(FLAGGED))
def test_list_taggers_flag_what_dolma_flags(lists: Path, name: str, file: str) -> None:
    if name.endswith("_abp_v1"):
        pytest.importorskip("adblock")
    assert _flagged(name, lists / file) == FLAGGED[(name, file)]


def test_every_dolma_list_name_is_registered_with_dolmas_files() -> None:
    assert len(DOLMA_LISTS) == 27
    for name, (_, folder, files) in DOLMA_LISTS.items():
        cls = TaggerRegistry.get(name)
        assert cls.BLOCKLIST_PATHS == [f"https://dolma-artifacts.org/{folder}/{f}" for f in files]


def test_offline_fails_at_once_in_one_line_naming_the_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no network")

    monkeypatch.setenv("DOLMA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("urllib.request.urlopen", unreachable)
    with pytest.raises(ConfigError) as info:
        TaggerRegistry.get("blocklist_hosts_social_v1")()
    message = str(info.value)
    assert "\n" not in message
    assert "https://dolma-artifacts.org/blocklist_hosts/blocklist_hosts-20240208/social.txt" in message
    assert "tagger_options.blocklist_hosts_social_v1.lists" in message


def test_a_plugin_subclasses_dolmas_bases(lists: Path) -> None:
    from dolma.taggers.url import BaseDomainTagger

    class MyDomains(BaseDomainTagger):
        BLOCKLIST_PATHS = [str(lists / "hosts.txt")]

    doc = DocumentWithMetadata(source="s", id="i", text="abc", metadata={"url": "https://www.tracker.net/x"})
    assert [(s.start, s.end, s.type, s.score) for s in MyDomains().predict(doc).spans] == [(0, 3, "url", 1.0)]


def test_an_empty_list_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n", encoding="utf-8")
    cls = TaggerRegistry.get("blocklist_hosts_porn_v1")
    with pytest.raises(ConfigError, match="no entries"):
        cls(cls.Options(lists=[str(empty)]))
