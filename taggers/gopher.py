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
from functools import partial
from itertools import accumulate, compress, count
from typing import Dict, Iterator, List, Sequence, Tuple

import numpy as np

from dolma.core.data_types import DocResult, Document, Span, TaggerOutput
from dolma.core.taggers import BaseTagger
from dolma.taggers.length import ALPHA, SPACE, SPACE_CHAR, char_flags, chunk_bounds, code_points
from dolma.core.registry import add_tagger
from dolma.taggers.repeats import (
    BYTES_PER_HASH,
    PrefixHashes,
    most_common,
    partition_count,
    repeated,
    sorted_partitions,
    word_hashes,
)

__all__ = ["GopherV1", "GopherV2", "GopherV3", "gopher_statistics", "GopherTagger"]

REQUIRED_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
ELLIPSIS = "\u2026"
MOST_COMMON_ORDERS = (2, 3, 4)
MAX_ORDER = 10
# below this many words the pure-Python n-gram counting is faster than numpy's (measured crossover: ~600)
NUMPY_MIN_WORDS = 1000

# a text this long is read a chunk at a time (_large_text_statistics): its memory stays a small multiple of its own
LARGE_TEXT_CHARS = 1 << 22
# on that path: characters and words or n-grams handled at a time (their arrays and strings come on top of the
# per-word arrays: 1M characters and 256K positions held 17 MB more than these, 2.1 against 1.3 times a 20 MB text
# above it, in the same CPU time), and the memory for sorting hashes (per character of the text; a partition of the
# hashes is sorted at a time, of at least MIN_PARTITION_HASHES)
CHUNK_CHARS = 1 << 18
CHUNK_POSITIONS = 1 << 16
SORT_BYTES_PER_CHAR = 0.33
# word lengths are kept in a byte; longer words' lengths are kept aside
LONG_WORD = 255
MIN_PARTITION_HASHES = 1 << 16

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


def _word_counts(text: str) -> Tuple[int, int]:
    """Words (runs of non-``str.isspace`` characters, what ``text.split()`` gives) and those holding a
    ``str.isalpha`` character, counted a chunk of characters at a time (the word being read carries over from one
    chunk to the next)."""
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
    return words_before, found


def _partition_size(text: str) -> int:
    """Hashes counted at once on the chunked path: their arrays take at most SORT_BYTES_PER_CHAR per character."""
    return max(MIN_PARTITION_HASHES, int(len(text) * SORT_BYTES_PER_CHAR) // BYTES_PER_HASH)


class _WordTable:
    """A long text's words as prefix sums of their hashes and their lengths, one byte each (a word of
    LONG_WORD characters or more keeps its length aside), with the counts that need the words themselves; built
    from the text a chunk at a time, given the word count (:func:`_word_counts`) so the arrays are allocated once."""

    def __init__(self, text: str, count: int) -> None:
        self.count = count
        self.hashes = PrefixHashes(count, CHUNK_POSITIONS)
        self.lengths = np.empty(count, dtype=np.uint8)
        long_at: List["np.ndarray"] = []
        long_lengths: List["np.ndarray"] = []
        histogram: Counter = Counter()
        self.required = self.chars = 0
        filled = 0
        for start, end in chunk_bounds(text, SPACE_CHAR, CHUNK_CHARS):
            words = text[start:end].split()
            if filled + len(words) > count:
                raise AssertionError("str.split() found more words than the character classes")
            self.hashes.extend(word_hashes(words))
            lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
            long = np.flatnonzero(lengths >= LONG_WORD)
            long_at.append(long + filled)
            long_lengths.append(lengths[long])
            self.lengths[filled : filled + len(words)] = np.minimum(lengths, LONG_WORD)
            values, counts = np.unique(lengths, return_counts=True)
            histogram.update(dict(zip(values.tolist(), counts.tolist())))
            self.chars += int(lengths.sum())
            self.required += sum(map(REQUIRED_WORDS.__contains__, words))
            filled += len(words)
        self.long_at = np.concatenate([np.zeros(0, dtype=np.int64), *long_at])
        self.long_lengths = np.concatenate([np.zeros(0, dtype=np.int64), *long_lengths])
        self.median = _median(histogram, count)

    def ends(self, first: int, last: int) -> "np.ndarray":
        """Characters of the words ``first..i-1`` for each ``i`` in ``first..last`` (``last - first + 1`` numbers)."""
        lengths = self.lengths[first:last].astype(np.int64)
        lo, hi = np.searchsorted(self.long_at, [first, last])
        lengths[self.long_at[lo:hi] - first] = self.long_lengths[lo:hi]
        out = np.zeros(last - first + 1, dtype=np.int64)
        np.cumsum(lengths, out=out[1:])
        return out

    def grams(self, n: int, lengths: bool) -> Iterator[Tuple["np.ndarray", "np.ndarray"]]:
        """The hash of each n-gram, a chunk at a time, with its length (characters without spaces) or position."""
        for first, hashes in self.hashes.runs(n):
            last = first + len(hashes)
            if lengths:
                ends = self.ends(first, last + n - 1)
                yield hashes, ends[n:] - ends[: len(hashes)]
            else:
                yield hashes, np.arange(first, last, dtype=np.uint32 if self.count < 1 << 32 else np.int64)


def _median(counts: Dict[int, int], total: int) -> float:
    """The median of ``total`` numbers given as ``{value: how many times}`` (the mean of the two middle ones)."""
    if not total:
        return 0.0
    ranks = [(total - 1) // 2, total // 2]
    middle: List[int] = []
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        while len(middle) < 2 and ranks[len(middle)] < seen:
            middle.append(value)
    return (middle[0] + middle[1]) / 2


def _ngram_values_chunked(words: _WordTable, per_partition: int) -> NgramValues:
    """:func:`ngram_statistics_ids`'s values from the words' prefix hashes, counted a partition at a time.

    Once an order has no repeated n-gram no higher one has (an n-gram's first n-1 words would repeat too), so
    the orders after it are not sorted: their most common n-gram is the first, their duplicate fraction 0."""
    chars = max(words.chars, 1)
    out: NgramValues = []
    repeats = True  # whether the last order counted had a repeated n-gram
    for n in range(2, min(words.count, MAX_ORDER) + 1):
        positions = words.count - n + 1
        parts = partition_count(positions, per_partition)
        if n in MOST_COMMON_ORDERS:
            # the highest count, and the earliest position of an n-gram with it (all unique: the first n-gram)
            best, at = 1, 0
            small = np.uint32 if words.count < 1 << 32 else np.int64
            chunks = partial(words.grams, n, False)
            for hashes, starts in sorted_partitions(chunks, positions, parts, small) if repeats else ():
                top, firsts = most_common(hashes)  # (the positions of equal hashes are in increasing order)
                if top > 1 and top >= best:
                    first = int(starts[firsts].min())
                    if top > best or first < at:
                        best, at = top, first
                del hashes, starts
            repeats = best > 1
            out.append((_most_common_name(n), best * int(words.ends(at, at + n)[-1]) / chars))
        else:
            duplicated = total = 0
            small = np.uint32 if words.chars < 1 << 32 else np.int64
            if repeats:
                for hashes, lengths in sorted_partitions(partial(words.grams, n, True), positions, parts, small):
                    duplicated += int(lengths[repeated(hashes)].sum(dtype=np.uint64))
                    total += int(lengths.sum(dtype=np.uint64))
                    del hashes, lengths
            else:
                total = sum(int(lengths.sum(dtype=np.uint64)) for _, lengths in words.grams(n, True))
            repeats = duplicated > 0
            out.append((_duplicate_name(n), duplicated / max(total, 1)))
    return out


def _kept_lines(text: str, ignore_empty_lines: bool) -> Iterator[List[str]]:
    """The text's lines, a list per chunk; with ``ignore_empty_lines``, as split at runs of newlines (only a first
    or last line can be empty)."""
    for start, end in chunk_bounds(text, _NEWLINE, CHUNK_CHARS):
        lines = text[start:end].split("\n")
        if ignore_empty_lines:
            first_empty = start == 0 and not lines[0]
            last_empty = end == len(text) and not lines[-1] and (len(lines) > 1 or not first_empty)
            lines = [""] * first_empty + [line for line in lines if line] + [""] * last_empty
        yield lines


def _duplicate_lines_chunked(
    text: str, dolma_duplicate_lines: bool, ignore_empty_lines: bool, per_partition: int
) -> Tuple[int, int, int]:
    """Lines, duplicated lines and the characters of those (all, or the non-whitespace ones)."""

    def chunks() -> Iterator[Tuple["np.ndarray", "np.ndarray"]]:
        first = 0
        for lines in _kept_lines(text, ignore_empty_lines):
            yield word_hashes(lines), np.arange(first, first + len(lines))
            first += len(lines)

    most = text.count("\n") + 1
    duplicated = np.zeros(most, dtype=bool)
    lines_total = 0
    for hashes, positions in sorted_partitions(chunks, most, partition_count(most, per_partition), np.int64):
        lines_total += len(hashes)
        duplicated[positions[repeated(hashes)]] = True
        del hashes, positions
    duplicate_lines = int(np.count_nonzero(duplicated))
    duplicate_chars = 0
    if duplicate_lines:
        first = 0
        for lines in _kept_lines(text, ignore_empty_lines):
            marked = compress(lines, duplicated[first : first + len(lines)].tolist())
            if dolma_duplicate_lines:
                duplicate_chars += sum(map(len, marked))
            else:
                duplicate_chars += sum(sum(map(len, line.split())) for line in marked)
            first += len(lines)
    return lines_total, duplicate_lines, duplicate_chars


def _large_text_statistics(text: str, dolma_duplicate_lines: bool, ignore_empty_lines: bool) -> List[Tuple[str, float]]:
    """:func:`gopher_statistics` for a long text, in memory of a few bytes per word and per line plus a bounded
    share of the text's size (:data:`SORT_BYTES_PER_CHAR`): words and lines are read a chunk at a time and kept as
    hashes and lengths, never as strings, and counted by sorting hashes a partition of their range at a time
    (:mod:`dolma.taggers.repeats`). Two different words, n-grams or lines with the same 64-bit hash would count as
    equal (odds given there)."""
    per_partition = _partition_size(text)
    n_words, alpha_words = _word_counts(text)
    words = _WordTable(text, n_words)
    chars = max(words.chars, 1)
    per_word = max(n_words, 1)
    required, median = words.required, words.median
    ngrams = _ngram_values_chunked(words, per_partition) if n_words else []
    del words
    per_line, duplicate_lines, duplicate_line_chars = _duplicate_lines_chunked(
        text, dolma_duplicate_lines, ignore_empty_lines, per_partition
    )
    bullets = text.startswith(("*", "-")) + text.count("\n*") + text.count("\n-")
    ellipses = text.count(ELLIPSIS + "\n") + text.endswith(ELLIPSIS)
    symbols = sum(1 for _ in _WORD_WITH_SYMBOL.finditer(text))
    return ngrams + [
        ("character_count", len(text)),
        ("word_count", n_words),
        ("median_word_length", median),
        ("symbol_to_word_ratio", symbols / per_word),
        ("fraction_of_words_with_alpha_character", alpha_words / per_word),
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
        ("fraction_of_words_with_alpha_character", _word_counts(text)[1] / per_word),
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

    # the text, 9 bytes per word (a hash and a length) and a third of the text for sorting: 2.5 measured (200 MB of
    # source code, 12 characters per word), about 3.1 on prose (5.7 per word); covers texts of 2.5 or more
    # characters per word, its separator included
    memory_per_document_byte = 5.0

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
