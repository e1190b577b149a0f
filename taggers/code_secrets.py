"""``code_secrets_v1``: keys, tokens and passwords in source files, found by Yelp's ``detect-secrets`` (the
``code`` extra) with its default plugins and filters, as in Dolma.

The text's lines (``str.splitlines``) are scanned as one file named ``code_str.yml`` (a batch of lines at a time,
each with the neighbouring lines detect-secrets looks at, so the same secrets are found) (the name Dolma gives it:
filters that look at the file name see the same one). Each secret is a span ``SECRET_<type>`` (spaces in the
plugin's type name become ``_``, score 1.0) over the secret's value, placed as Dolma places it: in the first place
in the text holding that secret's whole line, at the value's first occurrence in the line. ``doc`` is the number of
secrets per whitespace-separated word (-1.0 for a text without words). Where Dolma's placement does not land on
the value (a line's text found earlier inside a longer line), Dolma fails the document; here that secret is left out.
"""

from __future__ import annotations

from itertools import islice
from typing import Any, Dict, Iterator, List, Tuple

from dolma.core.data_types import DocResult, Document, Span
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger
from dolma.taggers.length import SPACE_CHAR, chunk_bounds
from dolma.taggers.models import require
from dolma.taggers.unit_arrays import line_chunks

__all__ = ["CodeSecretsTagger", "find_secrets"]

FILE_NAME = "code_str.yml"
# lines scanned in one call, and the lines around a line that detect-secrets shows its plugins and filters (its
# get_code_snippet's default): a call gets that many more on either side, whose own secrets are left to the
# neighbouring call, so that a text's lines are never all held at once
LINES_AT_A_TIME = 1 << 14
CONTEXT_LINES = 5


def _lines(text: str) -> Iterator[str]:
    """``text.splitlines()``, one line at a time (a chunk of whole lines split at a time)."""
    for start, end in line_chunks(text):
        yield from text[start:end].splitlines()


def _secrets_and_lines(text: str) -> List[Tuple[int, str, str, str]]:
    """(line number from 1, plugin type, secret value, the secret's line) of each secret, in detect-secrets' order:
    what its line-based scan of the text's lines as one file finds (a secret found again later is the first one)."""
    require("detect_secrets", "code", "code_secrets_v1")
    from detect_secrets.core.scan import _process_line_based_plugins
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.settings import default_settings, get_plugins

    found = SecretsCollection()
    line_of: Dict[Any, str] = {}
    with default_settings():
        if get_plugins():
            lines = _lines(text)
            step = max(LINES_AT_A_TIME, CONTEXT_LINES)
            before: List[str] = []
            batch = list(islice(lines, step))
            first = 1  # the batch's first line number
            while batch:
                ahead = list(islice(lines, step))
                numbered = list(enumerate(before + batch + ahead[:CONTEXT_LINES], start=1))
                for secret in _process_line_based_plugins(lines=numbered, filename=FILE_NAME):
                    index = secret.line_number - 1 - len(before)
                    if 0 <= index < len(batch) and secret not in line_of:
                        secret.line_number = first + index
                        found[FILE_NAME].add(secret)
                        line_of[secret] = batch[index]
                before = (before + batch)[-CONTEXT_LINES:]
                first += len(batch)
                batch = ahead
    return [(secret.line_number, secret.type, secret.secret_value or "", line_of[secret]) for _, secret in found]


def find_secrets(text: str) -> List[Tuple[int, str, str]]:
    """(line number from 1, plugin type, secret value) of each secret, in detect-secrets' order."""
    return [(number, kind, value) for number, kind, value, _ in _secrets_and_lines(text)]


@add_tagger("code_secrets_v1")
class CodeSecretsTagger(BaseTagger):
    def __init__(self) -> None:
        require("detect_secrets", "code", "code_secrets_v1")

    def predict(self, doc: Document) -> DocResult:
        text = doc.text
        spans: List[Span] = []
        for _, kind, value, line in _secrets_and_lines(text):
            start = text.find(line) + line.find(value)
            if text[start : start + len(value)] != value:
                continue
            spans.append(Span(start, start + len(value), "SECRET_" + kind.replace(" ", "_")))
        words = sum(len(text[a:b].split()) for a, b in chunk_bounds(text, SPACE_CHAR))  # len(text.split())
        spans.append(Span(0, len(text), "doc", len(spans) / words if words else -1.0))
        return DocResult(doc, spans)
