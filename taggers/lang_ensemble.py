"""``lang_ensemble_v1``: fastText lid.176, CLD2 and py3langid voting on each document's language.

Each detector gives a probability distribution over languages (fastText: its top 5; py3langid: its top 5,
normalised; CLD2: its shares of the text, only when it calls them reliable); the ensemble's score for a
language is their plain average, so a detector that abstains pulls no language up. Equal weights were chosen,
not tuned: on 2,355 short software translations in 95 languages (``bench/lang_id_eval.py``) fastText alone
is right on 87.6%, CLD2 86.5%, py3langid 91.5%, the average 93.4%.

Types: ``<lang>`` for every language whose ensemble score is at least ``min_score`` (the best one always),
``agreement`` (the share of detectors that answered whose best language is the ensemble's), and
``disagree`` (1.0 when the detectors that answered do not all name the same best language, else 0.0).
Options: ``model`` (fastText), ``detectors`` (any of fasttext, cld2, langid), ``min_score``.
CLD2 and py3langid come with the ``lang`` extra.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Literal, Optional, Sequence

import msgspec

from dolma.core.errors import ConfigError
from dolma.core.data_types import DocResult, Document, Span
from dolma.core.taggers import BaseTagger, TaggerOptions
from dolma.taggers.cld2 import Cld2Detector
from dolma.taggers.fasttext_lang import fasttext_line, predict_lines
from dolma.taggers.language import CANONICAL_CODES, Prediction
from dolma.taggers.models import LID_176_FTZ, load_fasttext, require
from dolma.core.registry import add_tagger

__all__ = ["LangEnsembleOptions", "LangEnsemble", "Detector", "make_detectors"]

TOP_K = 5
# a detector maps many texts to one prediction each
Detector = Callable[[List[str]], List[Prediction]]
DetectorName = Literal["fasttext", "cld2", "langid"]
USER = "lang_ensemble_v1"


class LangEnsembleOptions(TaggerOptions):
    model: str = LID_176_FTZ
    detectors: List[DetectorName] = msgspec.field(default_factory=lambda: ["fasttext", "cld2", "langid"])
    min_score: float = 0.1


def _fasttext(model_spec: str) -> Detector:
    model = load_fasttext(model_spec)

    def detect(texts: List[str]) -> List[Prediction]:
        labels, scores = predict_lines(model, [fasttext_line(t, lowercase=True) for t in texts], TOP_K, 0.0)
        return [[(label[9:], v) for label, v in zip(ls, s.tolist())] for ls, s in zip(labels, scores)]

    return detect


def _cld2() -> Detector:
    detector = Cld2Detector(USER)

    def detect(texts: List[str]) -> List[Prediction]:
        out = []
        for text in texts:
            reliable, prediction = detector.detect(text)
            out.append(prediction if reliable else [])
        return out

    return detect


def _langid() -> Detector:
    langid: Any = require("py3langid.langid", "lang", USER)
    identifier = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)

    def detect(texts: List[str]) -> List[Prediction]:
        return [[(CANONICAL_CODES.get(c, c), float(p)) for c, p in identifier.rank(t)[:TOP_K]] for t in texts]

    return detect


def make_detectors(names: Sequence[str], model: str = LID_176_FTZ) -> Dict[str, Detector]:
    makers: Dict[str, Callable[[], Detector]] = {"fasttext": lambda: _fasttext(model), "cld2": _cld2, "langid": _langid}
    return {name: makers[name]() for name in dict.fromkeys(names)}


def combine(predictions: Sequence[Prediction]) -> Dict[str, float]:
    """The average of the detectors' distributions (a missing language counts 0)."""
    scores: Dict[str, float] = {}
    for prediction in predictions:
        for lang, p in prediction:
            scores[lang] = scores.get(lang, 0.0) + p
    n = len(predictions)
    return {lang: s / n for lang, s in scores.items()}


@add_tagger("lang_ensemble_v1")
class LangEnsemble(BaseTagger):
    memory_per_document_byte = 7.0  # measured: 6.1x a 20 MB document of source code (fastText's, as ft_lang_id_doc_v1)
    Options = LangEnsembleOptions

    def __init__(self, options: Optional[LangEnsembleOptions] = None) -> None:
        self.options = options or LangEnsembleOptions()
        if not self.options.detectors:
            raise ConfigError(f"{USER}: `detectors` needs at least one of fasttext, cld2, langid")
        self.detectors = make_detectors(self.options.detectors, self.options.model)

    def predict(self, doc: Document) -> DocResult:
        return self.predict_batch([doc])[0]

    def predict_batch(self, docs: Sequence[Document]) -> List[DocResult]:
        asked = [i for i, doc in enumerate(docs) if doc.text.strip()]
        texts = [docs[i].text for i in asked]
        per_detector = [detect(texts) for detect in self.detectors.values()] if texts else []
        results = [DocResult(doc, []) for doc in docs]
        for row, i in enumerate(asked):
            predictions = [answers[row] for answers in per_detector]
            scores = combine(predictions)
            if not scores:
                continue
            n = len(docs[i].text)
            best = max(scores, key=scores.__getitem__)
            ranked = sorted(scores.items(), key=lambda kv: -kv[1])
            spans = [Span(0, n, lang, s) for lang, s in ranked if s >= self.options.min_score or lang == best]
            tops = [max(p, key=lambda ls: ls[1])[0] for p in predictions if p]
            spans.append(Span(0, n, "agreement", sum(t == best for t in tops) / len(tops)))
            spans.append(Span(0, n, "disagree", float(len(set(tops)) > 1)))
            results[i].spans = spans
        return results
