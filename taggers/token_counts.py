r"""Token counts under Dolma's names: OLMo's pre-tokenizer pieces and the tokens of OLMo's tokenizers.

``olmo_pretokenizer_v1`` counts the pieces of a pre-tokenizer made of three HF ``tokenizers`` steps: every
punctuation character (with the space before it) stands alone, every decimal digit (with the space before it)
stands alone, then GPT-2's byte-level split. Dolma writes the first two as ``[[:punct:]]`` and ``\d``, whose
meaning changed with the ``tokenizers`` release: under the releases Dolma 1.2.1 allows (<= 0.19.1) they are
Unicode 14.0's categories P* and Nd, while newer releases also take symbols (``$+<=>^`|~``, emoji) as
punctuation and have newer Unicode data. We spell out the Unicode 14.0 sets (``data/unicode14_punct_digits.txt``)
so any ``tokenizers`` release gives Dolma's numbers. The byte-level step's own letter and number classes still
come from the installed release: text with characters assigned after Unicode 14.0 (2021) may count differently.
Paragraphs are the lines holding a non-whitespace
character, newline included; the document's score is the sum of its paragraphs' (so newlines between
paragraphs are not counted there, and a text without paragraphs scores 0), as in Dolma.

The tokenizer counts use the tokenizer files shipped in ``dolma/tokens/data/`` (OLMo's, unchanged), read as data,
so no hub access is needed.
"""

from __future__ import annotations

import json
from typing import List, Optional, Sequence

import numpy as np
from tokenizers import Regex, Tokenizer, pre_tokenizers

from dolma.core.data_types import DocResult, Document, Span, TaggerOutput
from dolma.core.errors import ConfigError
from dolma.core.longlines import strip_bounds
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTagger, TaggerOptions
from dolma.core.token_pieces import piece_bounds, piecewise_problem
from dolma.taggers.length import paragraph_bounds
from dolma.taggers.models import ModelNotFound, resolve_model
from dolma.taggers.unit_arrays import is_long, iter_bounds, paragraph_arrays, scored_span_values

__all__ = [
    "OlmoPreTokenizerV1",
    "OlmoPreTokenizerParagraphsV1",
    "DolmaV1Tokenizer",
    "DolmaV2Tokenizer",
    "OLMoV1Tokenizer",
    "GPTNeoX20BTokenizer",
]


def _unicode14_class(name: str) -> str:
    """An Oniguruma character class of the ranges named ``name`` in ``data/unicode14_punct_digits.txt``."""
    from importlib.resources import files

    text = files("dolma.taggers").joinpath("data", "unicode14_punct_digits.txt").read_text(encoding="utf-8")
    parts = []
    for line in text.splitlines():
        if line and not line.startswith("#") and line.split()[0] == name:
            lo, hi = line.split()[1].split("-")
            parts.append(f"\\x{{{lo}}}-\\x{{{hi}}}")
    return "[" + "".join(parts) + "]"


def olmo_pre_tokenizer() -> "pre_tokenizers.PreTokenizer":
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(pattern=Regex(" ?" + _unicode14_class("P")), behavior="isolated", invert=False),
            pre_tokenizers.Split(pattern=Regex(" ?" + _unicode14_class("Nd")), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )


@add_tagger("olmo_pretokenizer_v1")
class OlmoPreTokenizerV1(BaseTagger):
    def __init__(self) -> None:
        self.pre_tokenizer = olmo_pre_tokenizer()

    def count(self, text: str) -> int:
        return len(self.pre_tokenizer.pre_tokenize_str(text))

    def predict(self, doc: Document) -> DocResult:
        return DocResult(doc=doc, spans=[Span(0, len(doc.text), "length", self.count(doc.text))])


@add_tagger("olmo_pretokenizer_with_paragraphs_v1")
class OlmoPreTokenizerParagraphsV1(OlmoPreTokenizerV1):
    def predict(self, doc: Document) -> DocResult:
        text = doc.text
        spans = [Span(s, e, "paragraph", self.count(text[s:e])) for s, e in paragraph_bounds(text)]
        spans.append(Span(0, len(text), "document", sum(span.score for span in spans)))
        return DocResult(doc=doc, spans=spans)

    def tag_batch(self, docs: Sequence[Document]) -> List[TaggerOutput]:
        """As ``tag``; a long text's paragraphs come as arrays (``dolma.taggers.unit_arrays``)."""
        return [self._long_values(doc.text) if is_long(doc.text) else self.tag(doc) for doc in docs]

    def _long_values(self, text: str) -> TaggerOutput:
        starts, ends = paragraph_arrays(text)
        counts = np.fromiter(
            (self.count(text[a:b]) for a, b in iter_bounds(starts, ends)), dtype=np.int64, count=len(starts)
        )
        out: TaggerOutput = {"paragraph": scored_span_values(starts, ends, counts)} if len(starts) else {}
        out["document"] = [[0, len(text), float(counts.sum())]]  # (a sum of whole numbers: exact either way)
        return out


def shipped_tokenizer(file_name: str) -> Tokenizer:
    """One of the tokenizer files in ``dolma/tokens/data/`` (a data folder, read here without importing code)."""
    from importlib.resources import files

    return Tokenizer.from_str((files("dolma.tokens.data") / file_name).read_text(encoding="utf-8"))


def pieces_proven(tokenizer: Tokenizer) -> bool:
    """Whether a long text may be tokenized a piece at a time with the same tokens (``dolma.core.token_pieces``)."""
    return piecewise_problem(json.loads(tokenizer.to_str())) is None


# a text longer than this is counted a piece at a time, where that gives the same count (dolma.core.token_pieces):
# HF tokenizers keeps tens of bytes per token of a text encoded whole, a hundred times the text
LONG_TEXT_CHARS = 1 << 22
PIECE_CHARS = 1 << 16
PIECES_AT_A_TIME = 16  # encoded in one call (HF's fast batch encoding, no offsets)


class _ShippedTokenizerCount(BaseTagger):
    FILE_NAME = ""
    SPAN_TYPE = "length"

    def __init__(self) -> None:
        self._use(shipped_tokenizer(self.FILE_NAME))

    def _use(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self._piecewise = pieces_proven(tokenizer)

    def counts(self, texts: Sequence[str]) -> List[int]:
        raise NotImplementedError

    def _count(self, texts: Sequence[str], add_special_tokens: bool) -> List[int]:
        """Tokens of each text; a long one a piece at a time (the special tokens added once, after its pieces)."""
        long = [self._is_long(t) for t in texts]
        short = [t for t, is_long in zip(texts, long) if not is_long]
        encoded = iter(self.tokenizer.encode_batch_fast(short, add_special_tokens=add_special_tokens) if short else [])
        return [self._count_long(t, add_special_tokens) if is_long else len(next(encoded)) for t, is_long in zip(texts, long)]

    def _is_long(self, text: str) -> bool:
        return self._piecewise and len(text) > LONG_TEXT_CHARS

    def _count_long(self, text: str, add_special_tokens: bool, start: int = 0, end: Optional[int] = None) -> int:
        """Tokens of ``text[start:end]``, a piece at a time."""
        encode = self.tokenizer.encode_batch_fast
        bounds = list(piece_bounds(text, start, len(text) if end is None else end, PIECE_CHARS))
        count = 0
        for k in range(0, len(bounds), PIECES_AT_A_TIME):
            pieces = [text[a:b] for a, b in bounds[k : k + PIECES_AT_A_TIME]]
            count += sum(len(e) for e in encode(pieces, add_special_tokens=False))
        if add_special_tokens:  # what the post-processor adds to any text (OLMo's: an EOS)
            count += len(encode(["a"])[0]) - len(encode(["a"], add_special_tokens=False)[0])
        return count

    def predict_batch(self, docs: Sequence[Document]) -> List[DocResult]:
        counts = self.counts([doc.text for doc in docs])
        return [DocResult(doc=d, spans=[Span(0, len(d.text), self.SPAN_TYPE, c)]) for d, c in zip(docs, counts)]

    def predict(self, doc: Document) -> DocResult:
        return self.predict_batch([doc])[0]


@add_tagger("dolma_v1_tokenizer")
class DolmaV1Tokenizer(_ShippedTokenizerCount):
    """Tokens of the stripped text with the tokenizer's special tokens added (its EOS); an empty or blank text
    scores 0, as in Dolma."""

    FILE_NAME = "allenai_gpt-neox-olmo-dolma-v1_5.json"

    def counts(self, texts: Sequence[str]) -> List[int]:
        # a long text is counted between its stripped bounds, not from a stripped copy
        stripped = [text if self._is_long(text) else text.strip() for text in texts]
        it = iter(self._count([t for t in stripped if t and not self._is_long(t)], add_special_tokens=True))
        return [self._count_stripped_long(t) if self._is_long(t) else next(it) if t else 0 for t in stripped]

    def _count_stripped_long(self, text: str) -> int:
        start, end = strip_bounds(text)
        return self._count_long(text, True, start, end) if start < end else 0


@add_tagger("dolma_v2_tokenizer")
class DolmaV2Tokenizer(DolmaV1Tokenizer):
    FILE_NAME = "allenai_dolma2.json"


@add_tagger("tokenizers_AI2_OLMo_v1")
class OLMoV1Tokenizer(_ShippedTokenizerCount):
    """Tokens of the whole text, no special tokens added, span type ``tokens``."""

    FILE_NAME = "allenai_eleuther-ai-gpt-neox-20b-pii-special.json"
    SPAN_TYPE = "tokens"

    def counts(self, texts: Sequence[str]) -> List[int]:
        return self._count(texts, add_special_tokens=False)


class TokenizerOptions(TaggerOptions):
    tokenizer: str = ""
    """A ``tokenizer.json`` (local path, s3://, https://, hf://); empty: GPT-NeoX-20B's on the Hugging Face hub."""


@add_tagger("tokenizers_EleutherAI_GPT_NeoX_20B")
class GPTNeoX20BTokenizer(OLMoV1Tokenizer):
    """Tokens of the whole text with ``EleutherAI/gpt-neox-20B``'s tokenizer, as ``tokenizers_AI2_OLMo_v1`` counts.

    Dolma loads it from the hub by name; here its ``tokenizer.json`` is fetched once per machine into the model
    cache. We do not ship it (OLMo's variant adds PII special tokens, so its counts differ on texts holding them):
    offline, set ``tagger_options.tokenizers_EleutherAI_GPT_NeoX_20B.tokenizer`` to a copy.
    """

    Options = TokenizerOptions
    HUB_FILE = "hf://EleutherAI/gpt-neox-20B/tokenizer.json"

    def __init__(self, options: Optional[TokenizerOptions] = None) -> None:
        spec = (options.tokenizer if options is not None else "") or self.HUB_FILE
        try:
            path = resolve_model(spec)
        except ModelNotFound as exc:
            raise ConfigError(
                f"tokenizers_EleutherAI_GPT_NeoX_20B: {exc}; without network, download it elsewhere and set "
                "`tagger_options.tokenizers_EleutherAI_GPT_NeoX_20B.tokenizer` to the copy"
            ) from None
        try:
            self._use(Tokenizer.from_file(path))
        except Exception as exc:  # tokenizers raises a bare Exception for a file that is not a tokenizer
            raise ConfigError(f"tokenizers_EleutherAI_GPT_NeoX_20B: {spec} is not a tokenizer.json: {exc}") from None
