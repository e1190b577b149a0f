"""``pii_presidio_v1``: e-mail addresses, phone numbers and IP addresses found by Microsoft Presidio's recognizers
(the ``presidio`` extra), then Dolma's rules, as in Dolma.

Dolma runs ``presidio_analyzer.AnalyzerEngine()`` with its defaults, which loads the spaCy model
``en_core_web_lg`` (a separate download of ~600 MB). The three entities Dolma asks for are found by pattern
recognizers (``EmailRecognizer``, ``PhoneRecognizer`` over the ``phonenumbers`` library, ``IpRecognizer``), which
need no model: here they run in an ``AnalyzerEngine`` whose NLP step returns nothing, so nothing is downloaded.
What the model adds in Dolma is context words ("phone", "email") raising a match's score; the spans kept are the
same, except that presidio orders results by score and drops a match nested in another of the same type with a
higher score, so where context words change scores, order and such nested matches may differ. E-mail domains are
checked against the public suffix list bundled with ``tldextract`` (it would otherwise fetch the list at run time).

Then Dolma's rules: an e-mail address is kept when the part before ``@`` is not ``(`` and the part after it holds a
dot; a phone number or IP address is dropped with ``isbn``, ``doi`` or ``#`` within 100 characters. Types
``EMAIL_ADDRESS``, ``PHONE_NUMBER``, ``IP_ADDRESS`` (score 1.0) and ``doc``: spans per whitespace-separated word,
rounded to 5 decimals (-1.0 for a text without words, where Dolma raises ZeroDivisionError).
"""

from __future__ import annotations

from typing import Any, List

from dolma.core.data_types import DocResult, Document, Span
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger
from dolma.taggers.models import require
from dolma.taggers.pii import EMAIL, IP, PHONE, _clear_context, _dolma_per_word

__all__ = ["PiiPresidioV1", "presidio_analyzer"]


def presidio_analyzer() -> Any:
    """An ``AnalyzerEngine`` with the e-mail, phone and IP recognizers and no NLP model."""
    require("presidio_analyzer", "presidio", "pii_presidio_v1")
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
    from presidio_analyzer.predefined_recognizers import EmailRecognizer, IpRecognizer, PhoneRecognizer

    offline_suffixes = tldextract.TLDExtract(suffix_list_urls=())

    class BundledSuffixEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return offline_suffixes(pattern_text).fqdn != ""

    class NoModel(NlpEngine):
        """No tokens, lemmas or entities: the pattern recognizers need none."""

        def load(self) -> None:
            pass

        def is_loaded(self) -> bool:
            return True

        def process_text(self, text: str, language: str) -> Any:
            return NlpArtifacts(entities=[], tokens=[], tokens_indices=[], lemmas=[], nlp_engine=self, language=language)

        def process_batch(self, texts: Any, language: str, batch_size: int = 1, n_process: int = 1, **kwargs: Any) -> Any:
            for text in texts:
                yield text, self.process_text(text, language)

        def is_stopword(self, word: str, language: str) -> bool:
            return False

        def is_punct(self, word: str, language: str) -> bool:
            return False

        def get_supported_entities(self) -> List[str]:
            return []

        def get_supported_languages(self) -> List[str]:
            return ["en"]

    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (BundledSuffixEmailRecognizer(), PhoneRecognizer(), IpRecognizer()):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=NoModel(), supported_languages=["en"])


@add_tagger("pii_presidio_v1")
class PiiPresidioV1(BaseTagger):
    def __init__(self) -> None:
        self.analyzer = presidio_analyzer()

    def predict(self, doc: Document) -> DocResult:
        text = doc.text
        found = self.analyzer.analyze(text=text, entities=[EMAIL, PHONE, IP], language="en")
        spans: List[Span] = []
        for result in found:
            start, end, kind = result.start, result.end, result.entity_type
            if kind == EMAIL:
                local, domain = text[start:end].split("@")[:2]
                keep = local.strip() != "(" and "." in domain
            else:
                keep = _clear_context(text, start, end)
            if keep:
                spans.append(Span(start, end, kind))
        spans.append(Span(0, len(text), "doc", _dolma_per_word(len(spans), text)))
        return DocResult(doc, spans)
