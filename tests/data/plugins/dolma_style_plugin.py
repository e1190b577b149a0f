"""A tagger plugin written exactly as Dolma's documentation shows; it must run unchanged."""

from dolma import add_tagger
from dolma.core.data_types import DocResult, Document, DocumentWithMetadata, Span
from dolma.core.taggers import BaseTagger, BaseTaggerWithMetadata


@add_tagger("test_cool_words")
class CoolWordsTagger(BaseTagger):
    def predict(self, doc: Document) -> DocResult:
        score = doc.text.count("cool") / max(len(doc.text), 1)
        return DocResult(doc=doc, spans=[Span(start=0, end=len(doc.text), type="cool", score=score)])


@add_tagger("test_url_length")
class UrlLengthTagger(BaseTaggerWithMetadata):
    def predict(self, doc: DocumentWithMetadata) -> DocResult:
        url = doc.metadata.get("url", "")
        return DocResult(doc=doc, spans=[Span(start=0, end=len(doc.text), type="url_length", score=len(url))])


@add_tagger("test_word_spans")
class WordSpansTagger(BaseTagger):
    """Emits one span per word starting with 'w', to check code-point offsets and span order."""

    def predict(self, doc: Document) -> DocResult:
        spans = []
        start = None
        for i, ch in enumerate(doc.text + " "):
            if ch.isspace():
                if start is not None and doc.text[start] == "w":
                    spans.append(Span(start=start, end=i, type="w_word", score=1.0))
                start = None
            elif start is None:
                start = i
        return DocResult(doc=doc, spans=spans)


@add_tagger("test_explodes_on_boom")
class ExplodingTagger(BaseTagger):
    def predict(self, doc: Document) -> DocResult:
        if "boom" in doc.text:
            raise ValueError("cannot handle boom")
        return DocResult(doc=doc, spans=[])
