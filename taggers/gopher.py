"""Gopher quality statistics (Rae et al. 2021, appendix A), as Dolma's ``gopher_v1`` computes them.

Words are ``text.split()``; character fractions are over non-whitespace characters (the sum of word
lengths); lines are ``text.split("\\n")``, empty ones included. Every value is a document-level span
``[0, len(text)]``. The n-gram spans exist only for ``n <= word count``, so an empty text has none.
As in Dolma: the most common n-gram (n = 2..4) is the earliest of those tied for the highest count; the
duplicate n-gram fraction (n = 5..10) counts characters of every occurrence of a repeated n-gram over
characters of all n-gram occurrences (overlaps counted each time, unlike the paper); bullets are lines
starting with ``*`` or ``-``; ellipses and symbols are ``…`` (and ``#``); stop words are matched exactly,
case-sensitively.

``gopher_v1`` gives Dolma 1.2.1's values, rounded to 5 decimals as Dolma writes them:
``fraction_of_characters_in_duplicate_lines`` counts all the characters of the duplicated lines (spaces
and tabs included) against the non-whitespace characters of the text, which gives "fractions" above 1
(``"a b\\na b"`` scores 1.5). ``gopher_v2`` is Dolma's too: ``gopher_v1`` on lines split at runs of
newlines. ``gopher_v3`` is the correction of ``gopher_v1``: it counts the non-whitespace characters of the
duplicated lines, as the denominator does, so the fraction is never above 1, and keeps full precision.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import accumulate, compress, count
from typing import List, Sequence, Tuple

import numpy as np

from dolma.core.data_types import DocResult, Document, Span, TaggerOutput
from dolma.core.taggers import BaseTagger
from dolma.taggers.length import ALPHA, CHUNK_CHARS, SPACE, SPACE_CHAR, char_flags, chunk_bounds, code_points
from dolma.core.registry import add_tagger

__all__ = ["GopherV1", "GopherV2", "GopherV3", "gopher_statistics", "GopherTagger"]

REQUIRED_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
ELLIPSIS = "\u2026"
MOST_COMMON_ORDERS = (2, 3, 4)
MAX_ORDER = 10
# below this many words the pure-Python n-gram counting is faster than numpy's (measured crossover: ~600)
NUMPY_MIN_WORDS = 1000

# a text this long is read a chunk at a time (_large_text_statistics): its memory stays a small multiple of its own
LARGE_TEXT_CHARS = 1 << 22

_NEWLINES = re.compile(r"\n+")
_NEWLINE = re.compile(r"\n")
_WORD_WITH_SYMBOL = re.compile(f"[#{ELLIPSIS}]\\S*")  # one match per word holding a symbol

NgramValues = List[Tuple[str, float]]


def _most_common_name(n: int) -> str:
    return f"fraction_of_characters_in_most_common_{n}grams"


def _duplicate_name(n: int) -> str:
    return f"fraction_of_characters_in_duplicate_{n}grams"


def ngram_statistics_python(words: Sequence[str], prefix: Sequence[int]) -> NgramValues:
    """The n-gram values; ``prefix[i]`` is the length of ``words[:i]`` joined without spaces.

    Exact counts without building every n-gram: an n-gram can repeat only where the (n-1)-grams at its
    position and at the next one both repeat, so each order only looks at those positions.
    """
    n_words = len(words)
    chars = max(prefix[-1], 1)
    out: NgramValues = []
    repeated: Sequence[int] = range(n_words)
    for n in range(2, min(n_words, MAX_ORDER) + 1):
        if n == 2:
            positions: Sequence[int] = range(n_words - 1)
            grams: List[Tuple[str, ...]] = list(zip(words, words[1:]))
        else:
            later = set(repeated)
            positions = [i for i in repeated if i + 1 in later]
            grams = [tuple(words[i : i + n]) for i in positions]
        counts = Counter(grams)
        repeated = list(compress(positions, map((1).__lt__, map(counts.__getitem__, grams))))
        if n in MOST_COMMON_ORDERS:
            if repeated:
                top = max(counts.values())
                gram = next(g for g, c in counts.items() if c == top)  # the earliest first occurrence
                value = top * sum(map(len, gram)) / chars
            else:
                value = prefix[n] / chars  # all n-grams are unique: Dolma takes the first one
            out.append((_most_common_name(n), value))
        else:
            total = sum(prefix[n:]) - sum(prefix[: n_words - n + 1])
            ends = sum(map(prefix.__getitem__, map(n.__add__, repeated)))
            duplicated = ends - sum(map(prefix.__getitem__, repeated))
            out.append((_duplicate_name(n), duplicated / max(total, 1)))
    return out


def ngram_statistics_numpy(words: Sequence[str], prefix: Sequence[int]) -> NgramValues:
    """Same values as :func:`ngram_statistics_python`, from dense n-gram ids that numpy sorts out."""
    index = dict(zip(dict.fromkeys(words), count()))
    word_ids = np.fromiter(map(index.__getitem__, words), dtype=np.int64, count=len(words))
    return ngram_statistics_ids(word_ids, len(index), np.asarray(prefix, dtype=np.int64))


def ngram_statistics_ids(word_ids: "np.ndarray", vocabulary: int, ends: "np.ndarray") -> NgramValues:
    """The n-gram values from each word's id (``0..vocabulary-1``, equal words equal ids) and ``ends[i]``, the
    length of the first ``i`` words joined without spaces."""
    n_words = len(word_ids)
    chars = max(int(ends[-1]), 1)
    out: NgramValues = []
    ids = word_ids  # ids[i]: the id of the (n-1)-gram at i; an n-gram is an (n-1)-gram and a word
    for n in range(2, min(n_words, MAX_ORDER) + 1):
        keys = ids[:-1] * vocabulary + word_ids[n - 1 :]
        _, first, ids, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
        del keys
        if n in MOST_COMMON_ORDERS:
            top = int(counts.max())
            at = int(first[counts == top].min())
            out.append((_most_common_name(n), top * int(ends[at + n] - ends[at]) / chars))
        else:
            lengths = ends[n:] - ends[: n_words - n + 1]
            duplicated = int(lengths[counts[ids] > 1].sum())
            out.append((_duplicate_name(n), duplicated / max(int(lengths.sum()), 1)))
        del first, counts
    return out


def _words_with_alpha(text: str) -> int:
    """Words (runs of non-``str.isspace`` characters) holding a ``str.isalpha`` character, counted a chunk of
    characters at a time (the word being read carries over from one chunk to the next)."""
    flags_of = char_flags()
    found = 0
    words_before = 0  # words started before the chunk
    last_counted = -1  # the index of the last word found to hold a letter
    after_space = True
    for offset in range(0, len(text), CHUNK_CHARS):
        flags = flags_of[code_points(text[offset : offset + CHUNK_CHARS])]
        space = (flags & SPACE) != 0
        word_start = ~space
        word_start[0] &= after_space
        word_start[1:] &= space[:-1]
        word_index = np.cumsum(word_start) + words_before  # of each character (a space: the word before it)
        with_alpha = word_index[(flags & ALPHA) != 0]
        if with_alpha.size:
            found += int(np.count_nonzero(with_alpha[1:] != with_alpha[:-1])) + int(with_alpha[0] != last_counted)
            last_counted = int(with_alpha[-1])
        words_before = int(word_index[-1])
        after_space = bool(space[-1])
    return found


def _large_text_statistics(text: str, dolma_duplicate_lines: bool, ignore_empty_lines: bool) -> List[Tuple[str, float]]:
    """:func:`gopher_statistics` for a long text, in memory bounded by a few arrays of one number per word and
    per line: words and lines are read a chunk at a time and kept as hashes and lengths, never as strings.

    Two different words (or lines) with the same 64-bit hash would count as equal; at a million distinct words the
    odds of that are about 1 in 30 million per document.
    """
    hashes: List["np.ndarray"] = []
    lengths: List["np.ndarray"] = []
    required = 0
    for start, end in chunk_bounds(text, SPACE_CHAR):
        words = text[start:end].split()
        hashes.append(np.fromiter(map(hash, words), dtype=np.int64, count=len(words)))
        lengths.append(np.fromiter(map(len, words), dtype=np.int64, count=len(words)))
        required += sum(map(REQUIRED_WORDS.__contains__, words))
        del words
    word_hashes = np.concatenate(hashes)
    del hashes
    word_lengths = np.concatenate(lengths)
    del lengths
    n_words = len(word_hashes)
    ends = np.concatenate(([0], np.cumsum(word_lengths)))
    chars = max(int(ends[-1]), 1)
    per_word = max(n_words, 1)
    median = float(np.median(word_lengths)) if n_words else 0.0
    del word_lengths
    _, word_ids = np.unique(word_hashes, return_inverse=True)
    del word_hashes
    ngrams = ngram_statistics_ids(word_ids, int(word_ids.max()) + 1, ends) if n_words else []
    del word_ids, ends

    line_hashes: List["np.ndarray"] = []
    line_lengths: List["np.ndarray"] = []
    for start, end in chunk_bounds(text, _NEWLINE):
        lines = text[start:end].split("\n")
        line_hashes.append(np.fromiter(map(hash, lines), dtype=np.int64, count=len(lines)))
        line_lengths.append(np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)))
        del lines
    all_hashes = np.concatenate(line_hashes)
    all_lengths = np.concatenate(line_lengths)
    del line_hashes, line_lengths
    kept = np.ones(len(all_hashes), dtype=bool)
    if ignore_empty_lines:  # lines split at runs of newlines: only a first or last line can be empty
        kept[1:-1] = all_lengths[1:-1] > 0
    _, inverse, counts = np.unique(all_hashes[kept], return_inverse=True, return_counts=True)
    duplicated = np.zeros(len(all_hashes), dtype=bool)
    duplicated[kept] = counts[inverse] > 1
    del inverse, counts, all_hashes
    per_line = int(np.count_nonzero(kept))
    duplicate_lines = int(np.count_nonzero(duplicated))
    duplicate_line_chars = 0
    if duplicate_lines and dolma_duplicate_lines:
        duplicate_line_chars = int(all_lengths[duplicated].sum())
    elif duplicate_lines:  # their non-whitespace characters: a second pass over just those lines
        first = 0
        for start, end in chunk_bounds(text, _NEWLINE):
            lines = text[start:end].split("\n")
            marks = duplicated[first : first + len(lines)]
            duplicate_line_chars += sum(sum(map(len, line.split())) for line in compress(lines, marks))
            first += len(lines)
    bullets = text.startswith(("*", "-")) + text.count("\n*") + text.count("\n-")
    ellipses = text.count(ELLIPSIS + "\n") + text.endswith(ELLIPSIS)
    symbols = sum(1 for _ in _WORD_WITH_SYMBOL.finditer(text))
    return ngrams + [
        ("character_count", len(text)),
        ("word_count", n_words),
        ("median_word_length", median),
        ("symbol_to_word_ratio", symbols / per_word),
        ("fraction_of_words_with_alpha_character", _words_with_alpha(text) / per_word),
        ("required_word_count", required),
        ("fraction_of_lines_starting_with_bullet_point", bullets / per_line),
        ("fraction_of_lines_ending_with_ellipsis", ellipses / per_line),
        ("fraction_of_duplicate_lines", duplicate_lines / per_line),
        ("fraction_of_characters_in_duplicate_lines", duplicate_line_chars / chars),
    ]


def gopher_statistics(
    text: str, dolma_duplicate_lines: bool = False, ignore_empty_lines: bool = False
) -> List[Tuple[str, float]]:
    """``(attribute, value)`` pairs in Dolma's order.

    ``ignore_empty_lines``: lines are split at runs of newlines (Dolma's ``gopher_v2``), so only a first or
    last line can be empty.

    ``dolma_duplicate_lines``: count all characters of duplicated lines, as Dolma 1.2.1 does, rather than
    their non-whitespace characters.
    """
    if not text:
        return [(name, 0.0) for name in _SCALAR_NAMES]
    if len(text) > LARGE_TEXT_CHARS:
        return _large_text_statistics(text, dolma_duplicate_lines, ignore_empty_lines)
    words = text.split()
    n_words = len(words)
    lengths = list(map(len, words))
    prefix = [0, *accumulate(lengths)]
    chars = max(prefix[-1], 1)
    per_word = max(n_words, 1)

    ordered = sorted(lengths)
    half = n_words // 2
    if not n_words:
        median = 0.0
    elif n_words % 2:
        median = float(ordered[half])
    else:
        median = (ordered[half - 1] + ordered[half]) / 2

    lines = _NEWLINES.split(text) if ignore_empty_lines else text.split("\n")
    per_line = len(lines)
    # (the same counts whether or not empty lines are kept: an empty line neither starts nor ends with these)
    bullets = text.startswith(("*", "-")) + text.count("\n*") + text.count("\n-")
    ellipses = text.count(ELLIPSIS + "\n") + text.endswith(ELLIPSIS)
    line_counts = Counter(lines)
    duplicate_lines = per_line - list(line_counts.values()).count(1)
    duplicate_line_chars = 0
    if duplicate_lines:
        if dolma_duplicate_lines:
            duplicate_line_chars = sum(c * len(line) for line, c in line_counts.items() if c > 1)
        else:
            duplicate_line_chars = sum(c * sum(map(len, line.split())) for line, c in line_counts.items() if c > 1)

    ngrams = ngram_statistics_numpy if n_words >= NUMPY_MIN_WORDS else ngram_statistics_python
    return ngrams(words, prefix) + [
        ("character_count", len(text)),
        ("word_count", n_words),
        ("median_word_length", median),
        ("symbol_to_word_ratio", len(_WORD_WITH_SYMBOL.findall(text)) / per_word),
        ("fraction_of_words_with_alpha_character", _words_with_alpha(text) / per_word),
        ("required_word_count", sum(map(REQUIRED_WORDS.__contains__, words))),
        ("fraction_of_lines_starting_with_bullet_point", bullets / per_line),
        ("fraction_of_lines_ending_with_ellipsis", ellipses / per_line),
        ("fraction_of_duplicate_lines", duplicate_lines / per_line),
        ("fraction_of_characters_in_duplicate_lines", duplicate_line_chars / chars),
    ]


_SCALAR_NAMES = (
    "character_count",
    "word_count",
    "median_word_length",
    "symbol_to_word_ratio",
    "fraction_of_words_with_alpha_character",
    "required_word_count",
    "fraction_of_lines_starting_with_bullet_point",
    "fraction_of_lines_ending_with_ellipsis",
    "fraction_of_duplicate_lines",
    "fraction_of_characters_in_duplicate_lines",
)


# Dolma writes every score rounded to this many decimals
DOLMA_PRECISION = 5


@add_tagger("gopher_v3")
class GopherV3(BaseTagger):
    """Dolma's statistics with a true duplicate-line fraction, at full precision."""

    memory_per_document_byte = 14.0  # word and n-gram ids, several numbers per word (13.2, 11.9 measured)

    def __init__(self) -> None:
        char_flags()  # build the table now, not on the first document

    def predict(self, doc: Document) -> DocResult:
        end = len(doc.text)
        return DocResult(doc=doc, spans=[Span(0, end, name, value) for name, value in gopher_statistics(doc.text)])


class _WrittenAsDolma(GopherV3):
    """Dolma's predict() gives full-precision scores and its tag writer rounds them: the same split here, so code
    calling ``predict`` (Dolma's tests do) sees Dolma's numbers, and the attributes the tag stage writes too."""

    lines_split_at_runs = False

    def predict(self, doc: Document) -> DocResult:
        values = gopher_statistics(
            doc.text, dolma_duplicate_lines=True, ignore_empty_lines=self.lines_split_at_runs
        )
        return DocResult(doc=doc, spans=[Span(0, len(doc.text), name, float(value)) for name, value in values])

    def group_by_type(self, result: DocResult) -> TaggerOutput:  # type: ignore[override]
        """What ``tag``/``tag_batch`` return and the stage writes: the scores rounded as Dolma writes them."""
        return {
            kind: [[start, end, round(score, DOLMA_PRECISION)] for start, end, score in spans]
            for kind, spans in BaseTagger.group_by_type(result).items()
        }


@add_tagger("gopher_v1")
class GopherV1(_WrittenAsDolma):
    """Dolma 1.2.1's ``gopher_v1`` values, written rounded as Dolma writes them."""


@add_tagger("gopher_v2")
class GopherV2(_WrittenAsDolma):
    """Dolma 1.2.1's ``gopher_v2``: ``gopher_v1`` with lines split at runs of newlines, written rounded."""

    lines_split_at_runs = True


# Dolma's class names for the same taggers (code written against Dolma imports them from here)
GopherTagger = GopherV1
