"""The ``decon`` tagger: evaluation items found in documents, as attributes ``dolma mix`` filters on.

Registered through this package's ``dolma.taggers`` entry point, so ``dolma tag`` runs it like any tagger (locally or
on Ray), and its index is loaded once per worker. Per document it writes (keys ``<experiment>__decon__<type>``):

- ``contaminated``: ``[[0, len(text), best score]]``, 0.0 when nothing matched: drop documents with
  ``$.attributes[?(@.decon__decon__contaminated[0][2] > 0)]``;
- ``match``: one ``[start, end, score]`` span per match (cut them with a ``span_replacement``);
- ``item``: the same spans with the matched item's number in the index (its line in ``items.jsonl.gz``) as value;
- ``<set>``: the spans matched against that evaluation set (only when there are any).
"""

from __future__ import annotations

from typing import Dict, List, Literal, Optional, Sequence

from dolma.core.data_types import DocResult, Document, Span, TaggerOutput
from dolma.core.errors import ConfigError
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger, TaggerOptions
from dolma.decon.index import index_digest, load_index
from dolma.decon.match import MatchSettings, find_matches, item_bars

__all__ = ["DeconOptions", "DeconTagger"]


class DeconOptions(TaggerOptions):
    index: str
    """The index folder `dolma decon index` wrote (local or s3://)."""
    threshold: float = 0.3
    """The share of an item's n-gram weight one region must hold to match (items of `ease_until` words or more)."""
    exact_below: int = 15
    """Items of at most this many words match only when whole (score 1.0)."""
    ease_until: int = 40
    """The bar falls linearly from 1.0 to `threshold` between `exact_below` and this many words."""
    probe_every: int = 10
    """Look up every k-th n-gram of a document; a run of k of an item's n-grams is always found."""
    max_gap: int = 25
    """N-gram positions without a hit that still join two parts of one match."""
    weighting: Literal["idf", "plain"] = "idf"
    """idf: an n-gram weighs ln(1 + items / items holding it); plain: every n-gram the same."""


@add_tagger("decon")
class DeconTagger(BaseTagger):
    Options = DeconOptions

    def __init__(self, options: Optional[DeconOptions] = None) -> None:
        if options is None:
            raise ConfigError("decon needs options: set `tagger_options.decon.index` to a `dolma decon index` folder")
        if not 0.0 < options.threshold <= 1.0:
            raise ConfigError(f"`tagger_options.decon.threshold`: expected a number in (0, 1], got {options.threshold}")
        if options.probe_every < 1 or options.max_gap < 0 or options.exact_below > options.ease_until:
            raise ConfigError("`tagger_options.decon`: need probe_every >= 1, max_gap >= 0, exact_below <= ease_until")
        self.index = load_index(options.index)
        self.settings = MatchSettings(options.threshold, options.exact_below, options.ease_until, options.probe_every,
                                      options.max_gap, options.weighting)
        self.bars = item_bars(self.index, self.settings)

    @classmethod
    def content_of(cls, options: DeconOptions) -> str:
        return index_digest(options.index)

    def predict(self, doc: Document) -> DocResult:
        return self.predict_batch([doc])[0]

    def predict_batch(self, docs: Sequence[Document]) -> List[DocResult]:
        return [
            DocResult(doc, [Span(s, e, kind, score) for kind, values in output.items() for s, e, score in values])
            for doc, output in zip(docs, self.tag_batch(docs))
        ]

    def tag_batch(self, docs: Sequence[Document]) -> List[TaggerOutput]:
        sets = self.index.sets
        item_sets = self.index.item_sets
        outputs: List[TaggerOutput] = []
        for doc, matches in zip(docs, find_matches([d.text for d in docs], self.index, self.settings, self.bars)):
            best = max((m.score for m in matches), default=0.0)
            output: TaggerOutput = {"contaminated": [[0, len(doc.text), best]]}
            if matches:
                output["match"] = [[m.start, m.end, m.score] for m in matches]
                output["item"] = [[m.start, m.end, float(m.item)] for m in matches]
                by_set: Dict[str, List[List[float]]] = {}
                for m in matches:
                    by_set.setdefault(sets[item_sets[m.item]], []).append([m.start, m.end, m.score])
                output.update(sorted(by_set.items()))
            outputs.append(output)
        return outputs
