"""Toxicity taggers.

- Dolma's ``jigsaw_hatespeech_document_v2``, ``jigsaw_hatespeech_sentence_v2``, ``jigsaw_nsfw_document_v1`` and
  ``jigsaw_nsfw_sentence_v2`` run fastText models: by default Dolma's own (fetched once into the cache from
  dolma-artifacts.org, so a machine without internet needs ``tagger_options.<name>.model`` pointing at a copy
  or at a model trained with ``dolma train-ft``). Types are the model's labels with ``__label__`` kept, the
  toxic label first, as in Dolma. Dolma spells the last one ``jigsaw_nsfw_sencence_v2``: both names work.
- ``profanity_document_v1`` and ``profanity_sentence_v1`` work offline: the trained linear model (TF-IDF and a
  calibrated linear SVM, English) that ships in ``alt-profanity-check`` (the ``toxicity`` extra). Type
  ``profanity``: the probability that the document or sentence is offensive. Sentences come from blingfire.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, List, Optional, Sequence, Tuple

import numpy as np

from dolma.core.data_types import DocResult, Document, Span, TaggerOutput
from dolma.core.taggers import BaseTagger, TaggerOptions
from dolma.taggers.classifier import ClassifierOptions, FastTextClassifier
from dolma.taggers.models import require
from dolma.core.registry import add_tagger
from dolma.taggers.length import SPACE_CHAR, chunk_bounds
from dolma.taggers.long_sentences import window_sentence_bounds
from dolma.taggers.segments import Level, unit_bounds
from dolma.taggers.unit_arrays import SpanCollector, is_long, scored_span_values

__all__ = ["JigsawOptions", "JigsawHatespeechDocument", "ProfanityDocument"]

_ARTIFACTS = "https://dolma-artifacts.org/fasttext_models/jigsaw_fasttext_bigrams_20230515/"
HATESPEECH_MODEL = _ARTIFACTS + "jigsaw_fasttext_bigrams_hatespeech_final.bin"
NSFW_MODEL = _ARTIFACTS + "jigsaw_fasttext_bigrams_nsfw_final.bin"


class JigsawOptions(TaggerOptions):
    model: str = ""
    """Empty: Dolma's model for this tagger."""


@add_tagger("jigsaw_hatespeech_document_v2")
class JigsawHatespeechDocument(FastTextClassifier):
    Options = JigsawOptions  # type: ignore[assignment]
    KEEP_PREFIX = True
    LEVEL: ClassVar[Level] = "document"
    DEFAULT_MODEL: ClassVar[str] = HATESPEECH_MODEL

    def __init__(self, options: Optional[JigsawOptions] = None) -> None:  # type: ignore[override]
        model = (options.model if options is not None else "") or self.DEFAULT_MODEL
        super().__init__(ClassifierOptions(model=model, level=self.LEVEL))

    @staticmethod
    def _order(labels: List[str]) -> List[str]:
        # the toxic label first: the one without "non" in its name
        return sorted(labels, key=lambda label: "non" in label)


@add_tagger("jigsaw_hatespeech_sentence_v2")
class JigsawHatespeechSentence(JigsawHatespeechDocument):
    LEVEL = "sentence"


@add_tagger("jigsaw_nsfw_document_v1")
class JigsawNsfwDocument(JigsawHatespeechDocument):
    DEFAULT_MODEL = NSFW_MODEL


@add_tagger("jigsaw_nsfw_sentence_v2")
class JigsawNsfwSentence(JigsawNsfwDocument):
    LEVEL = "sentence"


add_tagger("jigsaw_nsfw_sencence_v2")(JigsawNsfwSentence)  # Dolma's spelling


class _ProfanityModel:
    """alt-profanity-check's vectorizer and classifier, scoring many texts in one call."""

    def __init__(self, user: str) -> None:
        module: Any = require("profanity_check.profanity_check", "toxicity", user)
        self._vectorizer = module.vectorizer
        self._model = module.model

    def scores(self, texts: List[str]) -> List[float]:
        return self._model.predict_proba(self._vectorizer.transform(texts))[:, 1].tolist()

    def long_text_score(self, text: str, start: int = 0, end: Optional[int] = None) -> float:
        """``scores([text[start:end]])[0]``, the words counted a chunk of the text at a time.

        The vectorizer lower-cases the text and counts its words (``\\b\\w\\w+\\b``, stop words left out): chunks cut
        at white space, which no word holds and across which lower-casing has no context, give counts that add up to
        the text's; TF-IDF weighting and the classifier then see the same counts as for the whole text."""
        from sklearn.feature_extraction.text import CountVectorizer

        counts = None
        for a, b in chunk_bounds(text, SPACE_CHAR, start=start, end=end):
            chunk = CountVectorizer.transform(self._vectorizer, [text[a:b]])
            counts = chunk if counts is None else counts + chunk
        features = self._vectorizer._tfidf.transform(counts, copy=False)
        return float(self._model.predict_proba(features)[0, 1])


# a long text's sentences scored at a time: this many, or fewer holding this many characters (the vectorizer
# holds tens of bytes per word of what it scores)
SENTENCES_AT_A_TIME = 4096
CHARS_AT_A_TIME = 1 << 18
_NON_SPACE = re.compile(r"\S")  # a character that is not str.isspace: what makes str.strip() leave something


@add_tagger("profanity_document_v1")
class ProfanityDocument(BaseTagger):
    LEVEL: ClassVar[Level] = "document"

    def __init__(self) -> None:
        self._model = _ProfanityModel("the profanity_* taggers")

    def predict(self, doc: Document) -> DocResult:
        return self.predict_batch([doc])[0]

    def predict_batch(self, docs: Sequence[Document]) -> List[DocResult]:
        units: List[Tuple[int, int, int]] = []
        for i, doc in enumerate(docs):
            units.extend((i, start, end) for start, end in unit_bounds(doc.text, self.LEVEL) if doc.text[start:end].strip())
        results = [DocResult(doc, []) for doc in docs]
        if units:
            scores = self._model.scores([docs[i].text[start:end] for i, start, end in units])
            for (i, start, end), score in zip(units, scores):
                results[i].spans.append(Span(start, end, "profanity", score))
        return results

    def tag_batch(self, docs: Sequence[Document]) -> List[TaggerOutput]:
        """As ``tag``; a long text is scored in pieces (``_long_values``), the others together."""
        long = [is_long(doc.text) for doc in docs]
        short = iter(self.predict_batch([doc for doc, is_long_text in zip(docs, long) if not is_long_text]))
        return [
            self._long_values(doc.text) if is_long_text else self.group_by_type(next(short))
            for doc, is_long_text in zip(docs, long)
        ]

    def _long_values(self, text: str) -> TaggerOutput:
        if _NON_SPACE.search(text) is None:
            return {}
        return {"profanity": [[0, len(text), self._model.long_text_score(text)]]}


@add_tagger("profanity_sentence_v1")
class ProfanitySentence(ProfanityDocument):
    LEVEL = "sentence"

    def _long_values(self, text: str) -> TaggerOutput:
        """Sentences found a window at a time (``dolma.taggers.long_sentences``), scored a batch at a time, kept
        as arrays (scores do not depend on what else is in a batch)."""
        found = SpanCollector(len(text), np.float64)
        batch: List[Tuple[int, int]] = []
        chars = 0

        def score() -> None:
            nonlocal chars
            if batch:
                for (start, end), value in zip(batch, self._model.scores([text[a:b] for a, b in batch])):
                    found.add(start, end, value)
            batch.clear()
            chars = 0

        for start, end in window_sentence_bounds(text):
            if _NON_SPACE.search(text, start, end) is None:
                continue
            if end - start > CHARS_AT_A_TIME:  # a long sentence alone, its words counted in chunks
                score()
                found.add(start, end, self._model.long_text_score(text, start, end))
            else:
                batch.append((start, end))
                chars += end - start
                if len(batch) >= SENTENCES_AT_A_TIME or chars >= CHARS_AT_A_TIME:
                    score()
        score()
        starts, ends, scores = found.arrays()
        return {"profanity": scored_span_values(starts, ends, scores)} if len(starts) else {}
