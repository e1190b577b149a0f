"""Creative Commons licences named in a page's HTML: Dolma's ``cc_re`` and ``cc_re_fast`` (module and class
names as in Dolma, ``dolma.taggers.licenses``).

Both read ``metadata.html`` (a document without it is an error, as in Dolma) and write, for the k-th licence link
found (k from 0), a span over the whole text typed ``cc_<kind>[_<version>][_<language>]`` scoring
``0.5 + 0.5 / (k + 1)``: 1.0 for the first, 0.75 for the second, and so on. The patterns follow dkpro-c4corpus's
licence detectors, as Dolma's do:

- ``cc_re``: an ``<a>``/``<meta>`` tag whose ``href``/``content`` points at ``creativecommons.org/licenses/<kind>``
  (``by`` with optional ``-nc``, ``-nd``, ``-sa``) or ``creativecommons.org/publicdomain/{zero,certification,mark}``,
  with the version (``4.0``) and a two-letter language (``deed.es``, ``…/hr/legalcode.hr``) when present;
- ``cc_re_fast``: any ``http(s)://creativecommons.org/licenses/<kind>`` followed by ``"``, ``/``, space or ``>``;
  kind only.
"""

from __future__ import annotations

from typing import ClassVar, List, Optional

import regex

from dolma.core.data_types import DocResult, DocumentWithMetadata, Span
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTaggerWithMetadata

__all__ = ["CreativeCommonsRegexLicenseExtractor", "CreativeCommonsFastRegexHtmlExtractor"]

_QUOTE = r"(?:'|\"|&quot;)"
_LICENCE_TAG = regex.compile(
    r"<(?:a|A|meta)\s[\w\p{Punct}\s=]*\n*(?:href|HREF|content)="
    + _QUOTE
    + r"?https*://creativecommons\.org/"
    r"(?:licenses/(?P<type>by(?:-nc)?(?:-nd)?(?:-sa)?)|(?P<type>publicdomain/(?:zero|certification|mark)))"
    r"(?P<version>/\d+\.\d+)?"
    r"(?:(?:/\w{2})?/(?:(?:deed|legalcode)\.)?(?P<lang>\w{2}))?"
    r".*?" + _QUOTE + r".*?>"
)
_LICENCE_LINK = regex.compile(
    r"https?://creativecommons\.org/licenses/(?P<type>by|by-sa|by-nd|by-nc|by-nc-sa|by-nc-nd|publicdomain)[\"/ >]"
)


@add_tagger("cc_re")
class CreativeCommonsRegexLicenseExtractor(BaseTaggerWithMetadata):
    PATTERN: ClassVar["regex.Pattern[str]"] = _LICENCE_TAG
    # only pages naming one of these are searched with the pattern
    HINTS: ClassVar[tuple] = ("creativecommons.org/licenses", "creativecommons.org/publicdomain")

    def predict(self, doc: DocumentWithMetadata) -> DocResult:  # type: ignore[override]
        html: Optional[str] = doc.metadata.get("html")
        if html is None:
            raise ValueError(f"document {doc.id!r}: the licence taggers read metadata.html, and it has none")
        spans: List[Span] = []
        if any(hint in html for hint in self.HINTS):
            groups = self.PATTERN.groupindex
            for k, match in enumerate(self.PATTERN.finditer(html)):
                parts = [match.group("type")]
                if "version" in groups and match.group("version") is not None:
                    parts.append(match.group("version").strip("/"))
                if "lang" in groups and match.group("lang") is not None:
                    parts.append(match.group("lang"))
                spans.append(Span(0, len(doc.text), "cc_" + "_".join(parts), 0.5 + 0.5 / (k + 1.0)))
        return DocResult(doc, spans)


@add_tagger("cc_re_fast")
class CreativeCommonsFastRegexHtmlExtractor(CreativeCommonsRegexLicenseExtractor):
    PATTERN = _LICENCE_LINK
