"""Regex PII taggers: e-mail addresses, phone numbers and IP addresses, with Dolma's rules.

An e-mail address is what Dolma's pattern ``[.\\s@,?!;:)(]*([^\\s@]+@[^\\s@,?!;:)(]+?)[.\\s@,?!;:)(]?\\s``
captures, kept when the part before ``@`` is not ``(`` and the part after it holds a dot. A phone number
is ``\\(?\\d{3}\\)?[-. ]*\\d{3}[-. ]?\\d{4}`` after whitespace. An IP address is four dotted octets from 0
to 255, wherever they occur (``1234.5.6.7`` holds one). ``pii_regex_v1``, ``pii_regex_v2`` and
``pii_regex_with_counts_v2`` drop a phone number or IP address with ``isbn``, ``doi`` or ``#`` within 100
characters of it and score ``doc``, PII spans per word (-1 for a text without words);
``pii_regex_with_counts_fast_v2`` keeps them all and scores ``doc_count`` and ``doc_frac``.

The names Dolma 1.2.1 uses (``pii_regex_v1``, ``pii_regex_v2``, ``pii_regex_with_counts_v2``,
``pii_regex_with_counts_fast_v2``) give Dolma's values, rounded to 5 decimals as Dolma writes them: a span is
everything Dolma's pattern matched (the punctuation and whitespace around an address, the whitespace before a
phone number), the e-mail tests are Dolma's, the fast tagger works paragraph by paragraph and skips documents
with over 10,000 ``?``, and ``doc_frac`` adds the document's own length to the sum. (One exception: a text
without words scores ``doc`` -1 in all of them, where Dolma's ``pii_regex_v1`` and
``pii_regex_with_counts_v2`` raise ZeroDivisionError.)

The corrected taggers are ``pii_regex_v3`` (for ``pii_regex_v1``/``v2``), ``pii_regex_with_counts_v3`` and
``pii_regex_with_counts_fast_v3``. They differ from Dolma 1.2.1 on purpose:
- A span covers the address or number only. Dolma's also covers the punctuation and whitespace its
  pattern matched around it (`` a@b.com `` for ``a@b.com``), so a mixer replacing it glued the
  neighbouring words together. The 100-character window is measured from the number itself.
- The e-mail tests look at the captured address; the other three took ``me@home. `` for one as the dot
  after it counted as part of the domain. A domain of dots only (``x@.``) is not an address (Dolma's
  greedy pattern took one or not depending on the words after it).
- A phone number may also start the text, and, in ``pii_regex_with_counts_fast_v2``, a line (Dolma's fast
  tagger matched paragraph by paragraph, where the newline before a line was out of its reach).
- ``doc_frac`` is the fraction of characters inside PII spans. Dolma adds the ``doc_count`` span itself to
  the sum, so its value is always above 1. Dolma's fast tagger also skips documents with over 10,000 ``?``,
  on which its e-mail pattern backtracks for too long; our e-mail search is linear and skips none.
- Values keep full precision.
- Dolma's URL test can never match (its pattern starts with a backspace: ``\\b`` in a non-raw string), so
  there is none here.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Iterator, List, Optional, Tuple

from dolma.core.data_types import DocResult, Document, Span
from dolma.core.taggers import BaseTagger
from dolma.core.registry import add_tagger
from dolma.taggers.length import SPACE_CHAR, chunk_bounds

__all__ = [
    "PiiRegexV1",
    "PiiRegexV2",
    "PiiRegexWithCountsV2",
    "PiiRegexWithCountsFastV2",
    "PiiRegexV3",
    "PiiRegexWithCountsV3",
    "PiiRegexWithCountsFastV3",
    "find_pii",
    "find_pii_dolma",
    "PiiRegexWithCountV2",
    "FastPiiRegex",
]

EMAIL = "EMAIL_ADDRESS"
PHONE = "PHONE_NUMBER"
IP = "IP_ADDRESS"
CONTEXT_WINDOW = 100

_NON_SPACE = re.compile(r"\S*")
# characters Dolma's e-mail pattern lets precede an address inside a word, and those a domain may not hold
_LEADING = ".@,?!;:)("
_LEADING_RUN = re.compile(r"[.@,?!;:)(]*")
_NOT_IN_DOMAIN = re.compile(r"[@,?!;:)(]")

_PHONE = re.compile(r"(?<!\S)\(?\d{3}\)?[-. ]*\d{3}[-. ]?\d{4}")
_PHONE_RUN = re.compile(r"[(\d][-\d(). ]{9,}")  # a phone number only holds these characters, ten or more
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
_IP = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")
_IP_RUN = re.compile(r"[0-9][0-9.]{6,}")  # an IP address only holds these characters, seven or more
_CONTEXT = re.compile(r"isbn|doi|#")


def _email_in_word(text: str, start: int, end: int) -> Optional[Tuple[int, int, int]]:
    """``(start, at, end)`` of what Dolma's e-mail pattern captures in the word ``text[start:end]``, if anything.

    The capture holds no whitespace and needs one after it (and perhaps one punctuation character before
    that), so it lies in one word and ends at its end, or before its last character when that character may
    follow an address. Its domain holds no ``@``, so its ``@`` is the last one before that. Its local part
    starts after the ``@`` before that one (or at the word's start), past the punctuation the pattern skips
    greedily, but keeps at least one character. Working this out directly avoids the pattern's quadratic
    backtracking.
    """
    if end == len(text):
        return None
    cut = text[end - 1] in _LEADING
    if cut:
        end -= 1
    at = text.rfind("@", start, end)
    if cut and at >= 0 and at + 1 == end and text[end] == ".":
        end += 1  # the domain needs a character: a lone dot is the domain, not the punctuation after it
    if at < 0 or at + 1 == end or _NOT_IN_DOMAIN.search(text, at + 1, end):
        return None
    previous = text.rfind("@", start, at)
    if previous >= 0:
        start = previous + 1
    if at <= start:
        return None
    return min(_LEADING_RUN.match(text, start).end(), at - 1), at, end


def _email_captures(text: str) -> Iterator[Tuple[int, int, int]]:
    """``(start, at, end)`` of every capture of Dolma's e-mail pattern, in text order: one word per ``@``."""
    at = text.find("@")
    if at < 0:
        return
    reverse = text[::-1]
    n = len(text)
    while at >= 0:
        word_start = n - _NON_SPACE.match(reverse, n - at).end()
        word_end = _NON_SPACE.match(text, at).end()
        found = _email_in_word(text, word_start, word_end)
        if found is not None:
            yield found
        at = text.find("@", word_end)


def _emails(text: str) -> List[Tuple[int, int]]:
    spans: List[Tuple[int, int]] = []
    for start, at, end in _email_captures(text):
        domain = text[at + 1 : end]
        if text[start:at] != "(" and "." in domain and domain.strip("."):
            spans.append((start, end))
    return spans


def _within_runs(pattern: "re.Pattern[str]", runs: "re.Pattern[str]", text: str) -> List[Tuple[int, int]]:
    # `pattern` can only match inside what `runs` matches, which `re` finds much faster
    return [m.span() for run in runs.finditer(text) for m in pattern.finditer(text, run.start(), run.end())]


def _clear_context(text: str, start: int, end: int) -> bool:
    return _CONTEXT.search(text, max(0, start - CONTEXT_WINDOW), end + CONTEXT_WINDOW) is None


def find_pii(text: str, check_context: bool) -> List[Span]:
    """E-mail, then phone, then IP spans, each in text order."""
    spans = [Span(s, e, EMAIL) for s, e in _emails(text)]
    for kind, pattern, runs in ((PHONE, _PHONE, _PHONE_RUN), (IP, _IP, _IP_RUN)):
        found = _within_runs(pattern, runs, text)
        spans.extend(Span(s, e, kind) for s, e in found if not check_context or _clear_context(text, s, e))
    return spans


def _per_word(count: int, text: str) -> float:
    # len(text.split()), a chunk at a time: a list of every word of a long text is several times its size
    words = sum(len(text[a:b].split()) for a, b in chunk_bounds(text, SPACE_CHAR))
    return count / words if words else -1.0


def _covered_fraction(spans: List[Span], length: int) -> float:
    if not length:
        return -1.0
    covered = 0
    reach = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.end > reach:
            covered += span.end - max(span.start, reach)
            reach = span.end
    return covered / length


@add_tagger("pii_regex_v3")
class PiiRegexV3(BaseTagger):
    def predict(self, doc: Document) -> DocResult:
        spans = find_pii(doc.text, check_context=True)
        spans.append(Span(0, len(doc.text), "doc", _per_word(len(spans), doc.text)))
        return DocResult(doc=doc, spans=spans)


@add_tagger("pii_regex_with_counts_v3")
class PiiRegexWithCountsV3(BaseTagger):
    def predict(self, doc: Document) -> DocResult:
        spans = find_pii(doc.text, check_context=True)
        count = len(spans)
        spans.append(Span(0, len(doc.text), "doc", _per_word(count, doc.text)))
        spans.append(Span(0, len(doc.text), "doc_count", count))
        return DocResult(doc=doc, spans=spans)


@add_tagger("pii_regex_with_counts_fast_v3")
class PiiRegexWithCountsFastV3(BaseTagger):
    def predict(self, doc: Document) -> DocResult:
        n = len(doc.text)
        spans = find_pii(doc.text, check_context=False)
        fraction = _covered_fraction(spans, n)
        spans.append(Span(0, n, "doc_count", len(spans)))
        spans.append(Span(0, n, "doc_frac", fraction))
        return DocResult(doc=doc, spans=spans)


# ---- Dolma 1.2.1's values, under its names ----------------------------------------------------------------

# Dolma writes every score rounded to this many decimals
DOLMA_PRECISION = 5
# what Dolma's e-mail pattern lets stand before and after an address (besides whitespace)
_AROUND = frozenset(_LEADING)
_DOLMA_PHONE = re.compile(r"\s+\(?\d{3}\)?[-. ]*\d{3}[-. ]?\d{4}")
_QUESTION_MARK_LIMIT = 10_000
_NEWLINE = re.compile("\n")


def _is_around(ch: str) -> bool:
    return ch in _AROUND or ch.isspace()


def _dolma_email_matches(text: str, by_line: bool) -> List[Tuple[int, int, int, int]]:
    """``(start, end, capture start, capture end)`` of every match of Dolma's e-mail pattern, unfiltered.

    The capture is the one :func:`_email_in_word` works out. The match adds the run of punctuation and
    whitespace before it (from the end of the previous match on, and, ``by_line``, from the start of its line)
    and after it: one punctuation or whitespace character and one whitespace character if there are both, else
    the whitespace character. ``by_line``: as if each line were searched alone (Dolma's fast tagger).
    """
    found: List[Tuple[int, int, int, int]] = []
    n = len(text)
    previous_end = 0
    for cs, _, ce in _email_captures(text):
        line_start = text.rfind("\n", 0, cs) + 1 if by_line else 0
        start = cs
        while found:
            # an address made of punctuation only is swallowed by the pattern's leading run when that
            # run reaches it: the match then starts where that one did
            last = found[-1]
            low = max(found[-2][1] if len(found) > 1 else 0, line_start)
            reach = cs
            while reach > low and _is_around(text[reach - 1]):
                reach -= 1
            if reach > last[2]:
                break
            start = last[0]
            found.pop()
            previous_end = found[-1][1] if found else 0
        if start == cs:
            low = max(previous_end, line_start)
            while start > low and _is_around(text[start - 1]):
                start -= 1
        end = ce + 1
        if end < n and text[end].isspace() and _is_around(text[ce]) and not (by_line and text[ce] == "\n"):
            end += 1
        found.append((start, end, cs, ce))
        previous_end = end
    return found


def _dolma_phones(text: str, by_line: bool) -> List[Tuple[int, int]]:
    """Spans of Dolma's phone pattern: the number and the whitespace before it (within its line, ``by_line``)."""
    spans: List[Tuple[int, int]] = []
    for run in _PHONE_RUN.finditer(text):
        low = run.start()
        while low > 0 and text[low - 1].isspace() and not (by_line and text[low - 1] == "\n"):
            low -= 1
        spans.extend(m.span() for m in _DOLMA_PHONE.finditer(text, low, run.end()))
    return spans


def find_pii_dolma(text: str, fast: bool) -> List[Span]:
    """Dolma 1.2.1's PII spans: ``fast`` as ``pii_regex_with_counts_fast_v2`` finds them (paragraph by paragraph,
    no context test, the address itself tested), else as ``pii_regex_v1`` does (the whole text, the ``isbn``,
    ``doi``, ``#`` context test, the matched text tested)."""
    if fast and text.count("?") > _QUESTION_MARK_LIMIT:
        return []
    emails: List[Tuple[int, int]] = []
    for start, end, cs, ce in _dolma_email_matches(text, by_line=fast):
        if fast:
            local, domain = text[cs:ce].split("@", 1)
        else:
            parts = text[start:end].split("@")
            local, domain = parts[0], parts[1]
        if local.strip() != "(" and "." in domain:
            emails.append((start, end))
    phones = _dolma_phones(text, by_line=fast)
    ips = _within_runs(_IP, _IP_RUN, text)
    if not fast:
        spans = [Span(s, e, EMAIL) for s, e in emails]
        for kind, found in ((PHONE, phones), (IP, ips)):
            spans.extend(Span(s, e, kind) for s, e in found if _clear_context(text, s, e))
        return spans
    tagged = [(s, e, 0, EMAIL) for s, e in emails] + [(s, e, 1, PHONE) for s, e in phones]
    tagged += [(s, e, 2, IP) for s, e in ips]
    if len(tagged) > 1 and "\n" in text:
        # Dolma's order: paragraph by paragraph, e-mails, then phones, then IPs; each in text order
        newlines = [m.start() for m in _NEWLINE.finditer(text)]
        tagged.sort(key=lambda t: (bisect_left(newlines, t[0]), t[2]))
    return [Span(s, e, kind) for s, e, _, kind in tagged]


def _dolma_per_word(count: int, text: str) -> float:
    return round(_per_word(count, text), DOLMA_PRECISION)


@add_tagger("pii_regex_v1")
class PiiRegexV1(BaseTagger):
    def predict(self, doc: Document) -> DocResult:
        spans = find_pii_dolma(doc.text, fast=False)
        spans.append(Span(0, len(doc.text), "doc", _dolma_per_word(len(spans), doc.text)))
        return DocResult(doc=doc, spans=spans)


@add_tagger("pii_regex_v2")
class PiiRegexV2(PiiRegexV1):
    """Dolma's fix of v1 for texts without words (``doc`` -1), which v1 here already has."""


@add_tagger("pii_regex_with_counts_v2")
class PiiRegexWithCountsV2(BaseTagger):
    def predict(self, doc: Document) -> DocResult:
        spans = find_pii_dolma(doc.text, fast=False)
        count = len(spans)
        spans.append(Span(0, len(doc.text), "doc", _dolma_per_word(count, doc.text)))
        spans.append(Span(0, len(doc.text), "doc_count", count))
        return DocResult(doc=doc, spans=spans)


@add_tagger("pii_regex_with_counts_fast_v2")
class PiiRegexWithCountsFastV2(BaseTagger):
    def predict(self, doc: Document) -> DocResult:
        n = len(doc.text)
        spans = find_pii_dolma(doc.text, fast=True)
        # Dolma sums the lengths of all spans, its `doc_count` span (the whole text) included
        fraction = round((sum(s.end - s.start for s in spans) + n) / n, DOLMA_PRECISION) if n else -1.0
        spans.append(Span(0, n, "doc_count", len(spans)))
        spans.append(Span(0, n, "doc_frac", fraction))
        return DocResult(doc=doc, spans=spans)


# Dolma's class names for the same taggers (code written against Dolma imports them from here)
PiiRegexWithCountV2 = PiiRegexWithCountsV2
FastPiiRegex = PiiRegexWithCountsFastV2
