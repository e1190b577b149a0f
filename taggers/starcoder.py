"""``code_starcoder_taggers_v1``: Dolma's first StarCoder-style code tagger, with StarCoder's measures (the ``code``
extra: pygments, BeautifulSoup).

The file's language is ``metadata.ext`` looked up in The Stack's extension table (``data/starcoder_languages.tsv``).
Types, each one span over the whole text:

- ``has_xml_template_doc``: 1.0 when ``<?xml version=`` is in the first 100 characters;
- ``num_github_stars_doc``: ``metadata.max_stars_count`` (0 when missing or null);
- ``nl_ratio_doc``: characters of natural language per character of text: for Python, its docstrings (modules,
  classes, functions; not async functions) and its comments without ``#``, as StarCoder's ``get_text_python`` joins
  them; for other languages, pygments' single-line and multi-line comment tokens of the language's lexer;
- ``code_to_text_ratio_html_doc``: for HTML, the text outside ``<script>``/``<style>`` per character (0 when that
  text is 100 characters or less); 1.0 for other languages.

As in Dolma, both ratios are -1.0 when the extension is not in the table, the language has no pygments lexer, or
the text is empty. ``code_starcoder_taggers_v2`` (in ``dolma.taggers.code``) is Dolma's later version.
"""

from __future__ import annotations

import ast
import io
import tokenize
from functools import lru_cache
from typing import Any, Dict, List, Tuple

from dolma.core.data_types import DocResult, DocumentWithMetadata, Span
from dolma.core.registry import add_tagger
from dolma.core.taggers import BaseTaggerWithMetadata
from dolma.taggers.models import require

__all__ = ["CodeStarCoderTaggers", "ext_to_language", "natural_language_ratio", "html_visible_text_ratio"]

_DOCSTRING_NODES = {ast.ClassDef: "Class", ast.FunctionDef: "Function/Method", ast.Module: "Module"}


@lru_cache(maxsize=1)
def ext_to_language() -> Dict[str, str]:
    from importlib.resources import files

    table: Dict[str, str] = {}
    text = files("dolma.taggers").joinpath("data", "starcoder_languages.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            language, extensions = line.split("\t")
            table.update((ext, language) for ext in extensions.split(" "))
    return table


def _python_docstrings(source: str) -> List[str]:
    """Docstrings of classes (by name), then functions (by name), then the module, as StarCoder orders them."""
    found: List[Tuple[str, Any, str]] = []
    for node in ast.walk(ast.parse(source)):
        kind = _DOCSTRING_NODES.get(type(node))
        if kind is not None:
            found.append((kind, getattr(node, "name", None), ast.get_docstring(node)))  # type: ignore[arg-type]
    found.sort(key=lambda item: (item[0], item[1]))
    return [doc for _, _, doc in found if doc]


def _python_natural_text(source: str) -> str:
    try:
        docstrings = "\n".join(_python_docstrings(source))
    except Exception:  # StarCoder keeps no docstring from a file Python cannot parse
        docstrings = ""
    try:
        tokens = [(tok.type, tok.string) for tok in tokenize.generate_tokens(io.StringIO(source).readline)]
        comments = tokenize.untokenize([tok for tok in tokens if tok[0] == tokenize.COMMENT]).replace("#", "")
    except Exception:  # nor any comment from one it cannot tokenize to the end
        comments = ""
    return (docstrings + "\n" + comments).strip()


def _comment_size(text: str, language: str) -> int:
    import pygments
    from pygments.lexers import get_lexer_by_name
    from pygments.token import Comment

    lexer = get_lexer_by_name(language)
    return sum(len(value) for kind, value in pygments.lex(text, lexer) if kind in (Comment.Multiline, Comment.Single))


def natural_language_ratio(text: str, language: str) -> float:
    """Comments (and Python docstrings) per character; raises where StarCoder's ``get_nl_ratio`` does."""
    if language == "python":
        return len(_python_natural_text(text)) / len(text)
    return _comment_size(text, language) / len(text)


def html_visible_text_ratio(html: str) -> float:
    from bs4 import BeautifulSoup

    try:
        soup = BeautifulSoup(html, features="html.parser")
    except (TypeError, UnboundLocalError):
        return 0.0
    for hidden in soup(["script", "style"]):
        hidden.extract()
    text = soup.get_text()
    ratio = len(text) / len(html)  # an empty page raises here, as in StarCoder
    return ratio if len(text) > 100 else 0.0


@add_tagger("code_starcoder_taggers_v1")
class CodeStarCoderTaggers(BaseTaggerWithMetadata):
    def __init__(self) -> None:
        require("pygments", "code", "code_starcoder_taggers_v1")
        require("bs4", "code", "code_starcoder_taggers_v1")
        self.languages = ext_to_language()

    def predict(self, doc: DocumentWithMetadata) -> DocResult:  # type: ignore[override]
        text, metadata = doc.text, doc.metadata
        try:
            language = self.languages[metadata.get("ext", "-no-lang")]
            nl_ratio = natural_language_ratio(text, language)
            html_ratio = html_visible_text_ratio(text) if language == "html" else 1.0
        except Exception:  # Dolma's measure for an unknown extension, a language without a lexer, an empty text
            nl_ratio = html_ratio = -1.0
        values = {
            "has_xml_template_doc": 1.0 if "<?xml version=" in text[:100] else 0.0,
            "num_github_stars_doc": float(metadata.get("max_stars_count", 0) or 0),
            "nl_ratio_doc": nl_ratio,
            "code_to_text_ratio_html_doc": html_ratio,
        }
        return DocResult(doc, [Span(0, len(text), kind, score) for kind, score in values.items()])
