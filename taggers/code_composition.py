"""Dolma's ``code_composition``: how much of a document is code, prose or other, line by line, with a fastText
model (Dolma's default: ``hf://techarb/code-prose-composition/code-comment-prose-model.bin``, fetched once per
machine; ``tagger_options.code_composition.model`` names another copy; offline with neither, one line naming it).

Each non-blank line, stripped, longer than 3 characters gets the model's top label (``__label__`` and any further
leading ``_``, ``l``, ``a``, ``b``, ``e`` characters removed, as Dolma's ``str.lstrip("__label__")`` does) and its
distribution over every label; shorter lines are ``other`` with no distribution. Spans over the whole document:
``boundaries`` (changes between ``code`` and ``prose`` from one line to the next, ``other`` lines resetting the
run), then per label in order of first appearance ``<label>_pct`` (its share of the lines, 2 decimals),
``<label>`` (its line count) and ``<label>_entropy`` (the mean entropy in bits of its lines' distributions).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from dolma.core.data_types import DocResult, Document, Span
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger
from dolma.taggers.quality import ModelOptions, load_default_or_given

__all__ = ["CodeProseCompositionClassifier"]

MODEL = "hf://techarb/code-prose-composition/code-comment-prose-model.bin"


def _entropy(distribution: Sequence[float]) -> float:
    total = 0.0
    for p in distribution:
        if p > 0:
            total -= p * math.log2(p)
    return total


@add_tagger("code_composition")
class CodeProseCompositionClassifier(BaseTagger):
    Options = ModelOptions

    def __init__(self, options: Optional[ModelOptions] = None) -> None:
        self.model = load_default_or_given("code_composition", MODEL, options)

    def predict(self, doc: Document) -> DocResult:
        return self.predict_batch([doc])[0]

    def predict_batch(self, docs: Sequence[Document]) -> List[DocResult]:
        lines = [[line.strip() for line in doc.text.splitlines()] for doc in docs]
        asked = [line for doc_lines in lines for line in doc_lines if len(line) > 3]
        labels, probs = self.model.predict(asked, k=-1) if asked else ([], [])
        answers = iter(zip(labels, probs))
        results = []
        for doc, doc_lines in zip(docs, lines):
            units: List[Tuple[str, List[float]]] = []
            for line in doc_lines:
                if not line:
                    continue
                if len(line) > 3:
                    line_labels, line_probs = next(answers)
                    units.append((line_labels[0].lstrip("__label__"), line_probs.tolist()))
                else:
                    units.append(("other", []))
            results.append(DocResult(doc, [Span(0, len(doc.text), kind, score) for kind, score in self._scores(units)]))
        return results

    @staticmethod
    def _scores(units: List[Tuple[str, List[float]]]) -> List[Tuple[str, Any]]:
        counts: Dict[str, int] = {}
        distributions: Dict[str, List[List[float]]] = {}
        boundaries, previous = 0, None
        for label, distribution in units:
            counts[label] = counts.get(label, 0) + 1
            distributions.setdefault(label, []).append(distribution)
            if previous in ("code", "prose") and label in ("code", "prose") and label != previous:
                boundaries += 1
            previous = label
        out: List[Tuple[str, Any]] = [("boundaries", boundaries)]
        lines = sum(counts.values())
        for label, count in counts.items():
            entropies = [_entropy(d) for d in distributions[label]]
            out.append((f"{label}_pct", round(count / lines, 2)))
            out.append((label, count))
            out.append((f"{label}_entropy", sum(entropies) / len(entropies)))
        return out
