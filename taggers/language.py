"""What every language-ID tagger shares: units (document or paragraphs), and Dolma's span layout.

A subclass implements :meth:`LanguageTagger.detect` for many texts at once and picks a layout with class flags:

- all languages: one span per language and unit, typed by language code;
- ``ENGLISH``: only ``en`` per unit (score 0.0 when the detector gives no English);
- ``NEGATIVE``: also ``not_<type>`` spans scoring ``1 - score``;
- ``DOC_SCORE``: also ``doc_en``/``doc_not_en``: paragraph ``en`` scores weighted by paragraph length.

Paragraphs are the lines holding a non-whitespace character, newline included (Dolma's ``split_paragraphs``).
Blank text is not sent to a detector: it gets no language spans (``en`` 0.0 in the English layouts).
"""

from __future__ import annotations

from typing import ClassVar, List, Sequence, Tuple

from dolma.taggers.base import BaseTagger, DocResult, Document, Span
from dolma.taggers.length import paragraph_bounds

__all__ = ["LanguageTagger", "Prediction"]

# a detector's answer for one text: (language code, score), best first
Prediction = List[Tuple[str, float]]

# old or regional codes some detectors use → the code fastText's lid.176 uses
CANONICAL_CODES = {"iw": "he", "jw": "jv", "in": "id", "ji": "yi", "nb": "no", "zh-Hant": "zh", "zh-Hans": "zh"}


class LanguageTagger(BaseTagger):
    PARAGRAPHS: ClassVar[bool] = False
    ENGLISH: ClassVar[bool] = False
    NEGATIVE: ClassVar[bool] = False
    DOC_SCORE: ClassVar[bool] = False

    def detect(self, texts: List[str]) -> List[Prediction]:
        raise NotImplementedError

    def predict(self, doc: Document) -> DocResult:
        return self.predict_batch([doc])[0]

    def predict_batch(self, docs: Sequence[Document]) -> List[DocResult]:
        units: List[Tuple[int, int, int]] = []  # (document index, start, end)
        texts: List[str] = []
        for i, doc in enumerate(docs):
            text = doc.text
            bounds = paragraph_bounds(text) if self.PARAGRAPHS else [(0, len(text))]
            for start, end in bounds:
                units.append((i, start, end))
                piece = text[start:end] if self.PARAGRAPHS else text
                texts.append(piece if piece.strip() else "")
        asked = [t for t in texts if t]
        answers = iter(self.detect(asked) if asked else [])
        spans: List[List[Span]] = [[] for _ in docs]
        for (i, start, end), text in zip(units, texts):
            prediction: Prediction = next(answers) if text else []
            if self.ENGLISH:
                prediction = [("en", next((s for lang, s in prediction if lang == "en"), 0.0))]
            spans[i].extend(Span(start, end, lang, score) for lang, score in prediction)
        results = []
        for doc, doc_spans in zip(docs, spans):
            if self.NEGATIVE:
                doc_spans.extend([Span(s.start, s.end, f"not_{s.type}", 1.0 - s.score) for s in doc_spans])
            if self.DOC_SCORE:
                doc_spans.extend(_doc_scores(doc.text, doc_spans))
            results.append(DocResult(doc, doc_spans))
        return results


def _doc_scores(text: str, spans: List[Span]) -> List[Span]:
    n = len(text)
    if n == 0:
        return [Span(0, 0, "doc_en", 0.0), Span(0, 0, "doc_not_en", 0.0)]
    en = sum((s.end - s.start) * s.score for s in spans if s.type == "en") / n
    return [Span(0, n, "doc_en", en), Span(0, n, "doc_not_en", 1.0 - en)]
