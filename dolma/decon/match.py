"""Finding evaluation items in documents: probe, expand around hits, score, judge against a length-adjusted bar.

For a batch of documents (all steps vectorised over the batch):

1. **Probe**: look up every ``probe_every``-th n-gram of each document in the index. A copy of an item whose n-grams
   run unbroken for ``probe_every`` positions is always probed; most documents stop here, so the cost is one
   hashing pass and a few sorted-array lookups per document: linear in the text.
2. **Expand**: around each hit, a window as long as the hit item (plus ``max_gap``) on both sides is looked up in
   full, and every n-gram of a hit item found there is kept.
3. **Score**: an item's found n-grams are grouped into regions (a gap of more than ``max_gap`` n-grams starts a
   new region); a region's score is the IDF-weighted share of the item's distinct n-grams it holds (1.0: every
   n-gram of the item, 0.5: half of its weight). Rare n-grams weigh more than those many items share
   (``weighting: plain``: every n-gram the same).
4. **Judge**: a region is a match when its score reaches the item's bar: 1.0 (every n-gram) for items of at most
   ``exact_below`` words, ``threshold`` for items of ``ease_until`` words or more, linear in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

from dolma.decon.index import DeconIndex
from dolma.decon.ngrams import char_offsets, grams

__all__ = ["MatchSettings", "Match", "find_matches", "item_bars"]

_EPSILON = 1e-9  # a whole copy's weight sums in another order than the item's


@dataclass(frozen=True)
class MatchSettings:
    threshold: float = 0.3
    exact_below: int = 15
    ease_until: int = 40
    probe_every: int = 10
    max_gap: int = 25
    weighting: str = "idf"  # or "plain": every n-gram of the item weighs the same


@dataclass(frozen=True)
class Match:
    start: int  # code points, in the document
    end: int
    score: float
    item: int  # the item's number in the index


def item_bars(index: DeconIndex, settings: MatchSettings) -> np.ndarray:
    """The score each item must reach, from its length in words."""
    return np.interp(index.words.astype(np.float64), [settings.exact_below, settings.ease_until],
                     [1.0, settings.threshold]) - _EPSILON


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(s, e)`` for each pair, without a Python loop."""
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    steps = np.ones(total, dtype=np.int64)
    steps[0] = starts[0]
    steps[np.cumsum(lengths)[:-1]] = starts[1:] - ends[:-1] + 1
    return np.cumsum(steps)


def _every(first: np.ndarray, k: int) -> np.ndarray:
    """Every k-th word of each text, from its first (``first``: each text's first word, and the total)."""
    lengths = np.diff(first)
    counts = (lengths + k - 1) // k
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    heads = np.cumsum(counts) - counts
    return np.repeat(first[:-1], counts) + k * (np.arange(total, dtype=np.int64) - np.repeat(heads, counts))


def find_matches(texts: Sequence[str], index: DeconIndex, settings: MatchSettings, bars: np.ndarray) -> List[List[Match]]:
    """The matches in each text, ordered by start, then item."""
    out: List[List[Match]] = [[] for _ in texts]
    n = index.ngram_size
    g = grams(texts, n)
    m = len(g.hashes)
    if m == 0 or len(index.keys) == 0:
        return out
    doc, first = g.doc, g.doc_first_word
    # 1. probe
    probes = _every(first, settings.probe_every)
    probes = probes[g.valid[probes]]
    found = index.lookup(g.hashes[probes])
    hit = found >= 0
    if not hit.any():
        return out
    hit_pos, hit_key = probes[hit], found[hit]
    lo, hi = index.offsets[hit_key], index.offsets[hit_key + 1]
    cand_item = index.postings[_ranges(lo, hi)].astype(np.int64)
    cand_pos = np.repeat(hit_pos, hi - lo)
    cand_doc = doc[cand_pos]
    n_items = len(index.words)
    candidates = np.unique(cand_doc * n_items + cand_item)
    # 2. expand: windows around every hit, clipped to its document
    reach = index.grams[cand_item].astype(np.int64) + settings.max_gap + settings.probe_every
    w_lo = np.maximum(cand_pos - reach, first[cand_doc])
    w_hi = np.minimum(cand_pos + reach + 1, first[cand_doc + 1])
    cover = np.zeros(m + 1, dtype=np.int64)
    np.add.at(cover, w_lo, 1)
    np.add.at(cover, w_hi, -1)
    window = np.flatnonzero((np.cumsum(cover[:m]) > 0) & g.valid)
    keys = index.lookup(g.hashes[window])
    known = keys >= 0
    pos, keys = window[known], keys[known]
    lo, hi = index.offsets[keys], index.offsets[keys + 1]
    pair_item = index.postings[_ranges(lo, hi)].astype(np.int64)
    pair_pos = np.repeat(pos, hi - lo)
    pair_key = np.repeat(keys, hi - lo)
    pair_doc = doc[pair_pos]
    wanted = np.isin(pair_doc * n_items + pair_item, candidates)
    pair_item, pair_pos, pair_key, pair_doc = pair_item[wanted], pair_pos[wanted], pair_key[wanted], pair_doc[wanted]
    # 3. score regions: sorted by (document, item, position), a new region where either changes or a gap opens
    order = np.lexsort((pair_pos, pair_item, pair_doc))
    pair_item, pair_pos, pair_key, pair_doc = pair_item[order], pair_pos[order], pair_key[order], pair_doc[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (
        (pair_doc[1:] != pair_doc[:-1]) | (pair_item[1:] != pair_item[:-1]) | (pair_pos[1:] - pair_pos[:-1] > settings.max_gap)
    )
    region = np.cumsum(new) - 1
    n_keys = len(index.keys)
    distinct = np.unique(region * n_keys + pair_key)
    matched = np.bincount(distinct // n_keys, weights=index.idf[distinct % n_keys], minlength=int(region[-1]) + 1)
    heads = np.flatnonzero(new)
    tails = np.append(heads[1:], len(order)) - 1
    items = pair_item[heads]
    scores = matched / index.weight[items]
    if settings.weighting == "plain":
        scores = np.bincount(distinct // n_keys, minlength=int(region[-1]) + 1) / index.grams[items]
    # 4. judge; offsets in code points, for the texts that match
    chosen = np.flatnonzero(scores >= bars[items])
    docs = pair_doc[heads[chosen]]
    starts = g.word_start[pair_pos[heads[chosen]]]
    ends = g.word_end[pair_pos[tails[chosen]] + n - 1]
    for d in np.unique(docs):
        mine = docs == d
        text, base = texts[int(d)], g.doc_start[d]
        matches = [Match(int(s), int(e), min(float(score), 1.0), int(item)) for s, e, score, item in zip(
            char_offsets(text, starts[mine] - base), char_offsets(text, ends[mine] - base), scores[chosen[mine]],
            items[chosen[mine]])]
        out[int(d)] = sorted(matches, key=lambda x: (x.start, x.item))
    return out
