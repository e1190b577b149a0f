"""Dolma's fastText quality classifiers, ``dclm-oh-eli5`` and ``dolma17-quality`` (module and class names as in
Dolma, ``dolma.taggers.quality``).

Both score the whole document with a model Dolma downloads at run time, the default here too (fetched once per
machine into the model cache, see ``dolma.taggers.models``); ``tagger_options.<name>.model`` names another copy
(local path, s3://, https://, hf://). Offline, with neither, the tagger fails at once in one line naming the file.

- ``dclm-oh-eli5``: DCLM's OpenHermes + ELI5 classifier. The text, stripped, with its lines joined by spaces; the
  model's top label with ``cc`` and ``hq`` in its name replaced by ``score`` (so the real model writes ``score``),
  scoring its probability, or 1 minus it when the label is ``cc``.
- ``dolma17-quality``: Dolma 1.7's classifier. The text's whitespace-separated words (HF ``tokenizers``' split)
  joined by single spaces; every label of the model, best first, without ``__label__``.

A blank text is scored as the empty string, where Dolma 1.2.1's ``dolma17-quality`` raises.
"""

from __future__ import annotations

from typing import Any, ClassVar, List, Optional, Sequence, Tuple

from dolma.core.data_types import DocResult, Document, Span
from dolma.core.errors import ConfigError
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger, TaggerOptions
from dolma.taggers.models import ModelNotFound, load_fasttext

__all__ = ["ModelOptions", "load_default_or_given", "DclmQualityClassifier", "Dolma17QualityClassifier"]

LABEL_PREFIX = "__label__"


class ModelOptions(TaggerOptions):
    model: str = ""
    """The fastText model file; empty: the one Dolma downloads for this tagger."""


def load_default_or_given(user: str, default: str, options: Optional[ModelOptions]) -> Any:
    """The fastText model of ``options.model``, else ``default``; a missing one fails in one line naming the option."""
    spec = (options.model if options is not None else "") or default
    try:
        return load_fasttext(spec)
    except ModelNotFound as exc:
        raise ConfigError(
            f"{user}: {exc}; without network, download it elsewhere and set `tagger_options.{user}.model` to the copy"
        ) from None


class _DocumentClassifier(BaseTagger):
    Options = ModelOptions
    NAME: ClassVar[str] = ""
    MODEL: ClassVar[str] = ""
    K: ClassVar[int] = 1  # labels asked of fastText per text

    def __init__(self, options: Optional[ModelOptions] = None) -> None:
        self.model = load_default_or_given(self.NAME, self.MODEL, options)

    def prepare(self, text: str) -> str:
        raise NotImplementedError

    def scores(self, labels: Sequence[str], probs: Any) -> List[Tuple[str, float]]:
        raise NotImplementedError

    def predict(self, doc: Document) -> DocResult:
        return self.predict_batch([doc])[0]

    def predict_batch(self, docs: Sequence[Document]) -> List[DocResult]:
        if not docs:
            return []
        labels, probs = self.model.predict([self.prepare(doc.text) for doc in docs], k=self.K)
        return [
            DocResult(doc, [Span(0, len(doc.text), kind, score) for kind, score in self.scores(doc_labels, doc_probs)])
            for doc, doc_labels, doc_probs in zip(docs, labels, probs)
        ]


@add_tagger("dclm-oh-eli5")
class DclmQualityClassifier(_DocumentClassifier):
    NAME = "dclm-oh-eli5"
    MODEL = (
        "https://huggingface.co/mlfoundations/fasttext-oh-eli5/resolve/main/"
        "openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin"
    )

    def prepare(self, text: str) -> str:
        return " ".join(text.strip().splitlines())

    def scores(self, labels: Sequence[str], probs: Any) -> List[Tuple[str, float]]:
        label, prob = labels[0], float(probs[0])
        score = 1 - prob if label == LABEL_PREFIX + "cc" else prob
        return [(label.replace(LABEL_PREFIX, "").replace("cc", "score").replace("hq", "score"), score)]


@add_tagger("dolma17-quality")
class Dolma17QualityClassifier(_DocumentClassifier):
    NAME = "dolma17-quality"
    MODEL = (
        "https://dolma-artifacts.org/fasttext_models/dolma-1_7/"
        "cc_wiki_wikiref_sw_pes2o_adult_fakenews_math_books_openhermes.bin"
    )
    K = -1

    def __init__(self, options: Optional[ModelOptions] = None) -> None:
        from tokenizers import pre_tokenizers

        self._split = pre_tokenizers.WhitespaceSplit()
        super().__init__(options)

    def prepare(self, text: str) -> str:
        return " ".join(word for word, _ in self._split.pre_tokenize_str(text))

    def scores(self, labels: Sequence[str], probs: Any) -> List[Tuple[str, float]]:
        ranked = sorted(zip(labels, probs.tolist()), key=lambda pair: pair[1], reverse=True)
        return [(label.replace(LABEL_PREFIX, ""), score) for label, score in ranked]
