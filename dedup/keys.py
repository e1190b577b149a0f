"""What gets deduplicated: document keys (a JSONPath into the document), paragraphs, and paragraph n-grams."""

from __future__ import annotations

import functools
import re
from typing import Any, List, Tuple, Union

from dolma.core.errors import ConfigError

__all__ = ["KeyPath", "words", "unicode_words", "utf8_words", "ngram_keys"]

_STEP = re.compile(r"""\.([A-Za-z_][\w-]*)|\[\s*(?:'([^']*)'|"([^"]*)"|(-?\d+))\s*\]""")
_NGRAM_JOIN = "\x00"  # never inside a word
# The same segments for ASCII text, with the standard `re` module: letters, digits and `_` join (WB5, WB8-WB10,
# WB13a/b); `.` `:` `'` join letters (WB6/7) and `.` `,` `;` `'` join digits (WB11/12); any other character but
# whitespace is a segment. Checked against the `regex` rules by fuzzing (tests/test_dedupe_fast_paths.py). Those
# are UAX #29's from `regex` 2026.11 on (pyproject asks for it): earlier versions also joined an apostrophe to a
# following vowel, so that n-gram keys depended on the version installed.
_ASCII_WORD_PATTERN = (
    r"[A-Za-z0-9_]+"
    r"(?:(?:(?<=[A-Za-z])[.:'](?=[A-Za-z])|(?<=[0-9])[.,;'](?=[0-9]))[A-Za-z0-9_]+)*"
    r"|[^\sA-Za-z0-9_]"
)
_ASCII_WORD = re.compile(_ASCII_WORD_PATTERN)
# on bytes, `\s` is ASCII whitespace without the separators \x1c-\x1f that `str.isspace` counts: name them
_ASCII_WORD_BYTES = re.compile(_ASCII_WORD_PATTERN.replace(r"[^\s", r"[^\s\x1c-\x1f").encode())


class KeyPath:
    """A JSONPath of plain steps (``$.a.b``, ``$['a'][0]``) or a dotted name (``metadata.url``)."""

    def __init__(self, text: str) -> None:
        source = text.strip()
        if not source:
            raise ConfigError("`dedupe.documents.key`: empty key")
        path = source[1:] if source.startswith("$") else "." + source
        steps: List[Union[str, int]] = []
        pos = 0
        while pos < len(path):
            m = _STEP.match(path, pos)
            if m is None:
                raise ConfigError(
                    f"`dedupe.documents.key`: cannot read {text!r} at character {pos + (1 if source.startswith('$') else 0)}; "
                    "use a JSONPath like `$.metadata.url` or a dotted name like `metadata.url`"
                )
            name, q1, q2, index = m.groups()
            steps.append(int(index) if index is not None else next(x for x in (name, q1, q2) if x is not None))
            pos = m.end()
        if not steps:
            raise ConfigError(f"`dedupe.documents.key`: {text!r} names the whole document; name a field like `$.text`")
        self.text = text
        self.steps: Tuple[Union[str, int], ...] = tuple(steps)

    @property
    def top(self) -> Union[str, int]:
        return self.steps[0]

    @property
    def is_text(self) -> bool:
        return self.steps == ("text",)

    def find(self, obj: Any) -> Tuple[bool, Any]:
        """``(found, value)``."""
        for step in self.steps:
            if isinstance(step, int):
                if not isinstance(obj, list) or not -len(obj) <= step < len(obj):
                    return False, None
                obj = obj[step]
            elif isinstance(obj, dict) and step in obj:
                obj = obj[step]
            else:
                return False, None
        return True, obj


@functools.lru_cache(maxsize=None)
def word_boundary() -> Any:
    """Unicode default word boundaries (UAX #29) as a ``regex`` pattern; segments that are all whitespace are not
    words. Compiled on first use: documents and paragraph dedupe never need ``regex`` (~10 ms to import)."""
    import regex

    return regex.compile(r"(?V1w)\b")


def words(text: str) -> List[str]:
    """Unicode word segments (UAX #29) that are not only whitespace: `can't`, `2.0`, `U.S.A`, `,`, `日`."""
    if text.isascii():
        return _ASCII_WORD.findall(text)
    return unicode_words(text)


def unicode_words(text: str) -> List[str]:
    """:func:`words` by the ``regex`` module's word boundaries, for any text (about 1.7x slower on ASCII)."""
    return [w for w in word_boundary().split(text) if w and not w.isspace()]


def utf8_words(data: bytes) -> List[bytes]:
    """:func:`words` of UTF-8 text, as UTF-8 (ASCII text is segmented without decoding it)."""
    if data.isascii():
        return _ASCII_WORD_BYTES.findall(data)
    return [w.encode() for w in unicode_words(data.decode())]


def ngram_keys(tokens: List[bytes], n: int, stride: int) -> List[bytes]:
    """Windows of ``n`` words (UTF-8) starting every ``max(stride, 1)`` words, joined by a NUL byte; the last
    window always ends at the last word, so every word is covered. Fewer than ``n`` words give no windows."""
    if len(tokens) < n:
        return []
    step = max(stride, 1)
    starts = list(range(0, len(tokens) - n + 1, step))
    if starts[-1] != len(tokens) - n:
        starts.append(len(tokens) - n)
    join = _NGRAM_JOIN.encode().join
    return [join(tokens[s : s + n]) for s in starts]
