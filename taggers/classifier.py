"""``ft_classifier``: any fastText classifier as a tagger, the way to plug in DCLM-style or your own models.

Configured entirely with options (``tagger_options.<name>``), so several classifiers can run side by side as
named instances::

    taggers: [quality]
    tagger_options:
      quality: {tagger: ft_classifier, model: models/quality.bin, labels: [hq], level: paragraph}

Types are the model's labels without fastText's ``__label__`` prefix: for each unit (the document, each
paragraph or each sentence), one span per wanted label with the model's probability for it. ``doc_score``
adds ``doc_<label>`` at paragraph and sentence level: the unit scores weighted by unit length. A batch of
documents is one fastText call over all their units; the text of a unit has its newlines turned into spaces,
the same preparation ``dolma train-ft`` uses for training.
"""

from __future__ import annotations

from typing import ClassVar, Dict, List, Optional, Sequence, Tuple

import msgspec

from dolma.core.errors import ConfigError
from dolma.core.data_types import DocResult, Document, Span, TaggerOutput
from dolma.core.taggers import BaseTagger, TaggerOptions
from dolma.taggers.fasttext_lang import fasttext_text
from dolma.taggers.models import load_fasttext
from dolma.core.registry import add_tagger
from dolma.taggers.segments import Level, unit_bounds

__all__ = ["ClassifierOptions", "FastTextClassifier", "LABEL_PREFIX"]

LABEL_PREFIX = "__label__"


class ClassifierOptions(TaggerOptions):
    model: str
    """Model file: local path, pkg://, s3://, https:// or hf:// (see dolma.taggers.models)."""
    labels: List[str] = msgspec.field(default_factory=list)
    """Labels to write, with or without ``__label__``; empty: every label of the model."""
    level: Level = "document"
    lowercase: bool = False
    doc_score: bool = False


@add_tagger("ft_classifier")
class FastTextClassifier(BaseTagger):
    Options = ClassifierOptions
    KEEP_PREFIX: ClassVar[bool] = False  # Dolma's jigsaw taggers keep ``__label__`` in their types

    def __init__(self, options: Optional[ClassifierOptions] = None) -> None:
        if options is None:
            raise ConfigError("ft_classifier needs options: set `tagger_options.<name>.model` to a fastText model")
        self.options = options
        self.model = load_fasttext(options.model)
        known = list(self.model.labels)
        wanted = [label if label.startswith(LABEL_PREFIX) else LABEL_PREFIX + label for label in options.labels]
        missing = [label for label in wanted if label not in known]
        if missing:
            names = ", ".join(label[len(LABEL_PREFIX) :] for label in known)
            raise ConfigError(f"model {options.model!r} has no label {missing[0]!r} (its labels: {names})")
        self.labels: List[Tuple[str, str]] = [(label, self._type(label)) for label in (wanted or self._order(known))]

    @staticmethod
    def _order(labels: List[str]) -> List[str]:
        return labels

    def _type(self, label: str) -> str:
        return label if self.KEEP_PREFIX else label[len(LABEL_PREFIX) :]

    def predict(self, doc: Document) -> DocResult:
        return self.predict_batch([doc])[0]

    def predict_batch(self, docs: Sequence[Document]) -> List[DocResult]:
        return [
            DocResult(doc, [Span(start, end, kind, score) for kind, values in output.items() for start, end, score in values])
            for doc, output in zip(docs, self.tag_batch(docs))
        ]

    def tag_batch(self, docs: Sequence[Document]) -> List[TaggerOutput]:
        level, lowercase = self.options.level, self.options.lowercase
        units: List[Tuple[int, int, int]] = []
        texts: List[str] = []
        for i, doc in enumerate(docs):
            for start, end in unit_bounds(doc.text, level):
                if not doc.text[start:end].strip():
                    continue  # a blank document: nothing to score
                units.append((i, start, end))
                texts.append(fasttext_text(doc.text[start:end], lowercase))
        outputs: List[TaggerOutput] = [{} for _ in docs]
        if texts:
            labels, probs = self.model.predict(texts, k=-1)
            for (i, start, end), unit_labels, unit_probs in zip(units, labels, probs):
                scores: Dict[str, float] = dict(zip(unit_labels, unit_probs.tolist()))
                output = outputs[i]
                for label, kind in self.labels:
                    value = [start, end, scores.get(label, 0.0)]
                    if kind in output:
                        output[kind].append(value)
                    else:
                        output[kind] = [value]
        if self.options.doc_score and level != "document":
            for doc, output in zip(docs, outputs):
                output.update(self._doc_scores(len(doc.text), output))
        return outputs

    def _doc_scores(self, n: int, output: TaggerOutput) -> TaggerOutput:
        """``doc_<label>``: the unit scores weighted by unit length, over the text the units cover."""
        if n == 0:
            return {}
        covered = sum(end - start for start, end, _ in output.get(self.labels[0][1], []))
        totals = {kind: sum((end - start) * score for start, end, score in output.get(kind, [])) for _, kind in self.labels}
        return {f"doc_{kind}": [[0, n, total / covered if covered else 0.0]] for kind, total in totals.items()}
