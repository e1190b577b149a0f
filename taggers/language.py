"""What every language-ID tagger shares: units (document or paragraphs), and Dolma's span layout.

A subclass implements :meth:`LanguageTagger.detect` for many texts at once and picks a layout with class flags:

- all languages: one span per language and unit, typed by language code;
- ``ENGLISH``: only ``en`` per unit (score 0.0 when the detector gives no English);
- ``NEGATIVE``: also ``not_<type>`` spans scoring ``1 - score``;
- ``DOC_SCORE``: also ``doc_en``/``doc_not_en``: paragraph ``en`` scores weighted by paragraph length.

Paragraphs are the lines holding a non-whitespace character, newline included (Dolma's ``split_paragraphs``).
Blank text is not sent to a detector: it gets no language spans (``en`` 0.0 in the English layouts), unless the
class sets ``DETECT_BLANK`` (Dolma's Lingua taggers score blank text like any other).
"""

from __future__ import annotations

from itertools import islice
from typing import Any, ClassVar, Dict, List, Sequence, Tuple

from dolma.core.data_types import DocResult, Document, Span, TaggerOutput
from dolma.core.taggers import BaseTagger
from dolma.taggers.length import iter_paragraph_bounds, paragraph_bounds
from dolma.taggers.unit_scores import UnitScores

__all__ = ["LanguageTagger", "Prediction"]

# a detector's answer for one text: (language code, score), best first
Prediction = List[Tuple[str, float]]
DETECT_GROUP = 4096  # texts sent to a detector at a time
# a text this long or longer has its paragraphs' scores kept as arrays (``tag_batch``)
LONG_TEXT_CHARS = 1 << 16

# old or regional codes some detectors use → the code fastText's lid.176 uses
CANONICAL_CODES = {"iw": "he", "jw": "jv", "in": "id", "ji": "yi", "nb": "no", "zh-Hant": "zh", "zh-Hans": "zh"}


class LanguageTagger(BaseTagger):
    PARAGRAPHS: ClassVar[bool] = False
    ENGLISH: ClassVar[bool] = False
    NEGATIVE: ClassVar[bool] = False
    DOC_SCORE: ClassVar[bool] = False
    DETECT_BLANK: ClassVar[bool] = False

    def detect(self, texts: List[str]) -> List[Prediction]:
        raise NotImplementedError

    def predict(self, doc: Document) -> DocResult:
        return self.predict_batch([doc])[0]

    def predict_batch(self, docs: Sequence[Document]) -> List[DocResult]:
        """Spans in Dolma's order: each unit's languages unit by unit, then the ``not_`` spans, then the document
        scores (an attribute file groups them by type, where only the order within a type shows)."""
        results = []
        for doc, found, output in zip(docs, *self._by_unit(docs, ordered=True)):
            spans = [Span(start, end, kind, score) for start, end, kind, score in found]
            if self.NEGATIVE:
                spans += [Span(span.start, span.end, f"not_{span.type}", 1.0 - span.score) for span in spans]
            if self.DOC_SCORE:
                spans += [Span(s, e, kind, v) for kind, values in _doc_scores(doc.text, output.get("en", [])).items() for s, e, v in values]
            results.append(DocResult(doc, spans))
        return results

    def tag_batch(self, docs: Sequence[Document]) -> List[TaggerOutput]:
        long = [self.PARAGRAPHS and len(doc.text) >= LONG_TEXT_CHARS for doc in docs]
        short = [doc for doc, is_long in zip(docs, long) if not is_long]
        outputs = self._by_unit(short)[1] if short else []
        if self.NEGATIVE:
            for output in outputs:
                output.update([(f"not_{kind}", [[s, e, 1.0 - v] for s, e, v in values]) for kind, values in output.items()])
        if self.DOC_SCORE:
            for doc, output in zip(short, outputs):
                output.update(_doc_scores(doc.text, output.get("en", [])))
        if not any(long):
            return outputs
        shorts = iter(outputs)
        return [self._long_text(doc.text) if is_long else next(shorts) for doc, is_long in zip(docs, long)]

    def _long_text(self, text: str) -> TaggerOutput:
        """``tag_batch``'s output for one long text: its paragraphs a group at a time, their scores into arrays
        (:mod:`dolma.taggers.unit_scores`), written as the lists would be."""
        table = UnitScores(len(text), text.count("\n") + 1)
        bounds = iter_paragraph_bounds(text)
        # a group's predictions are Python objects, up to one per language and unit (Lingua's English taggers
        # too): an eighth as many units as a batch of short documents
        size = max(1, DETECT_GROUP // 8)
        while True:
            group = list(islice(bounds, size))
            if not group:
                break
            pieces = [text[start:end] for start, end in group]
            ask = [self._asks(piece) for piece in pieces]
            asked = [piece for piece, yes in zip(pieces, ask) if yes]
            del pieces
            answers = iter(self.detect(asked) if asked else [])
            del asked
            table.add_group(group, [self._reported(next(answers) if yes else []) for yes in ask])
        output: TaggerOutput = dict(table.spans())  # type: ignore[arg-type]
        if self.NEGATIVE:
            output.update(table.spans(negate=True))
        if self.DOC_SCORE:
            en = output.get("en")
            n = len(text)
            if n == 0 or en is None:
                output.update(_doc_scores(text, []))
            else:
                score = en.weighted_sum() / n  # type: ignore[attr-defined]
                output.update({"doc_en": [[0, n, score]], "doc_not_en": [[0, n, 1.0 - score]]})
        return output

    def _asks(self, piece: str) -> bool:
        """Whether a unit goes to the detector (a blank one gets no languages, unless ``DETECT_BLANK``)."""
        return self.DETECT_BLANK or bool(piece.strip())

    def _reported(self, prediction: Prediction) -> Prediction:
        """A unit's languages as the tagger reports them: an ``ENGLISH`` tagger's ``en`` score alone (0 when the
        detector gave none)."""
        if not self.ENGLISH:
            return prediction
        return [("en", next((s for lang, s in prediction if lang == "en"), 0.0))]

    def _by_unit(
        self, docs: Sequence[Document], ordered: bool = False
    ) -> Tuple[List[List[Tuple[int, int, str, float]]], List[TaggerOutput]]:
        """Per document: its languages grouped by language, and, ``ordered``, also as (start, end, language, score)
        in unit order. Units go to the detector ``DETECT_GROUP`` at a time, so a document of a million paragraphs
        never holds all their texts and full predictions at once."""
        found: List[List[Tuple[int, int, str, float]]] = [[] for _ in docs]
        outputs: List[TaggerOutput] = [{} for _ in docs]
        pending: List[Tuple[int, int, int, bool]] = []  # (document index, start, end, sent to the detector)
        texts: List[str] = []

        def record() -> None:
            answers = iter(self.detect(texts) if texts else [])
            for i, start, end, ask in pending:
                prediction = self._reported(next(answers) if ask else [])
                output = outputs[i]
                for lang, score in prediction:
                    if ordered:
                        found[i].append((start, end, lang, score))
                    values = output.get(lang)
                    if values is None:
                        output[lang] = [[start, end, score]]
                    else:
                        values.append([start, end, score])
            pending.clear()
            texts.clear()

        for i, doc in enumerate(docs):
            text = doc.text
            for start, end in paragraph_bounds(text) if self.PARAGRAPHS else [(0, len(text))]:
                piece = text[start:end] if self.PARAGRAPHS else text
                ask = self._asks(piece)
                pending.append((i, start, end, ask))
                if ask:
                    texts.append(piece)
                    if len(texts) >= DETECT_GROUP:
                        record()
        record()
        return found, outputs


def _doc_scores(text: str, en: List[List[Any]]) -> Dict[str, List[List[Any]]]:
    """``doc_en``: the paragraphs' ``en`` scores weighted by their length; ``doc_not_en``: 1 minus that."""
    n = len(text)
    if n == 0:
        return {"doc_en": [[0, 0, 0.0]], "doc_not_en": [[0, 0, 0.0]]}
    score = sum((end - start) * s for start, end, s in en) / n
    return {"doc_en": [[0, n, score]], "doc_not_en": [[0, n, 1.0 - score]]}


# Dolma 1.2.1 keeps all its language taggers in this module; its class names resolve here to the taggers registered
# under the same Dolma names (so `from dolma.taggers.language import FastTextEnglishLanguageDocumentTagger` works).
_DOLMA_CLASSES = {
    "Cld2LanguageTagger": "cld2_doc_v2",
    "Cld2LanguageTaggerParagraph": "cld2_paragraph_v2",
    "Cld2EnglishLanguageTagger": "cld2_en_doc_v2",
    "Cld2EnglishLanguageParagraphTagger": "cld2_en_paragraph_v2",
    "Cld2LanguageFilterParagraphWithDocScoreTagger": "cld2_en_paragraph_with_doc_score_v2",
    "Cld3LanguageTagger": "cld3_en_doc_v2",
    "Cld3LanguageTaggerParagraph": "cld3_en_paragraph_v2",
    "Cld3LanguageFilterParagraphWithDocScoreTagger": "cld3_en_paragraph_with_doc_score_v2",
    "FastTextAllLanguagesDocumentTagger": "ft_lang_id_doc_v1",
    "FastTextAllLanguagesDocumentMinScoreTagger": "ft_lang_id_1e2",
    "FastTextAllLanguageParagraphTagger": "ft_lang_id_paragraph_v1",
    "FastTextEnglishLanguageDocumentTagger": "ft_lang_id_en_doc_v2",
    "FastTextEnglishOnlyLanguageDocumentTagger": "ft_lang_id_en_only_v2",
    "FastTextEnglishLanguageParagraphTagger": "ft_lang_id_en_paragraph_v2",
    "FastTextEnglishLanguageParagraphWithDocScoreTagger": "ft_lang_id_en_paragraph_with_doc_score_v2",
    "LangdetectTagger": "langdetect_doc_v1",
    "LangdetectEnglishTagger": "langdetect_doc_en_v1",
    "LangdetectTaggerParagraph": "langdetect_paragraph_v1",
    "LangdetectEnglishTaggerParagraph": "langdetect_en_paragraph_v1",
    "LinguaTagger": "lingua_doc_v1",
    "LinguaMinScoreTagger": "lingua_1e2",
    "LinguaEnglishTagger": "lingua_doc_en_v1",
    "LinguaEnglishOnlyTagger": "lingua_en_only_v1",
    "LinguaTaggerParagraph": "lingua_par_v1",
    "LinguaEnglishTaggerParagraph": "lingua_en_par_v1",
}


def __getattr__(name: str) -> Any:
    tagger = _DOLMA_CLASSES.get(name)
    if tagger is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from dolma.core.errors import ConfigError
    from dolma.core.registry import TaggerRegistry  # resolved on use: the registry imports the taggers

    try:
        return TaggerRegistry.get(tagger)
    except ConfigError as exc:  # a Dolma name not registered here: an attribute error, so hasattr() works
        raise AttributeError(f"{name} ({tagger}): {exc}") from None
