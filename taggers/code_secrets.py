"""``code_secrets_v1``: keys, tokens and passwords in source files, found by Yelp's ``detect-secrets`` (the
``code`` extra) with its default plugins and filters, as in Dolma.

The text's lines (``str.splitlines``) are scanned as one file named ``code_str.yml`` (the name Dolma gives it:
filters that look at the file name see the same one). Each secret is a span ``SECRET_<type>`` (spaces in the
plugin's type name become ``_``, score 1.0) over the secret's value, placed as Dolma places it: in the first place
in the text holding that secret's whole line, at the value's first occurrence in the line. ``doc`` is the number of
secrets per whitespace-separated word (-1.0 for a text without words). Where Dolma's placement does not land on
the value (a line's text found earlier inside a longer line), Dolma fails the document; here that secret is left out.
"""

from __future__ import annotations

from typing import List, Tuple

from dolma.core.data_types import DocResult, Document, Span
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger
from dolma.taggers.models import require

__all__ = ["CodeSecretsTagger", "find_secrets"]

FILE_NAME = "code_str.yml"


def find_secrets(text: str) -> List[Tuple[int, str, str]]:
    """(line number from 1, plugin type, secret value) of each secret, in detect-secrets' order."""
    require("detect_secrets", "code", "code_secrets_v1")
    from detect_secrets.core.scan import _process_line_based_plugins
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.settings import default_settings, get_plugins

    found = SecretsCollection()
    with default_settings():
        if get_plugins():
            lines = list(enumerate(text.splitlines(), start=1))
            for secret in _process_line_based_plugins(lines=lines, filename=FILE_NAME):
                found[FILE_NAME].add(secret)
    return [(secret.line_number, secret.type, secret.secret_value or "") for _, secret in found]


@add_tagger("code_secrets_v1")
class CodeSecretsTagger(BaseTagger):
    memory_per_document_byte = 10.0  # measured: 9.6x a 20 MB document of source code
    def __init__(self) -> None:
        require("detect_secrets", "code", "code_secrets_v1")

    def predict(self, doc: Document) -> DocResult:
        text = doc.text
        lines = text.splitlines()
        spans: List[Span] = []
        for line_number, kind, value in find_secrets(text):
            line = lines[line_number - 1]
            start = text.find(line) + line.find(value)
            if text[start : start + len(value)] != value:
                continue
            spans.append(Span(start, start + len(value), "SECRET_" + kind.replace(" ", "_")))
        words = len(text.split())
        spans.append(Span(0, len(text), "doc", len(spans) / words if words else -1.0))
        return DocResult(doc, spans)
