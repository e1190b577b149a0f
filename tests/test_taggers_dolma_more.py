"""The last of Dolma's tagger names: licences, code, PII with presidio, CLD3, quality and composition models, and
GPT-NeoX-20B token counts.

Expected values marked "Dolma 1.2.1" are literal outputs of the reference (``pip install dolma==1.2.1``), run from
a folder without our ``dolma/`` on the same inputs (for the model taggers: on the same small model files, made by
the fixtures here, given to Dolma's classes as their model path). CI has no reference install, so they are recorded.
"""

from __future__ import annotations

from typing import List, Tuple

import pytest

from dolma.core.data_types import DocumentWithMetadata
from dolma.taggers import TaggerRegistry

SpanTuple = Tuple[int, int, str, float]


def spans_of(tagger: object, text: str, **metadata: object) -> List[SpanTuple]:
    doc = DocumentWithMetadata(source="s", id="i", text=text, metadata=dict(metadata))
    return [(s.start, s.end, s.type, s.score) for s in tagger.predict(doc).spans]  # type: ignore[attr-defined]


# --- cc_re, cc_re_fast ---------------------------------------------------------------------------------------

PAGES = [
    '<html><head><meta name="license" content="http://creativecommons.org/licenses/by-sa/3.0/de/"></head><body>'
    '<a rel="license" href="https://creativecommons.org/licenses/by-nc-nd/4.0/deed.fr">x</a> and '
    "<a href='http://creativecommons.org/licenses/by/2.0/'>y</a> "
    "<A HREF=&quot;https://creativecommons.org/publicdomain/mark/1.0/&quot;>pd</A></body></html>",
    "plain text mentioning creativecommons.org/licenses without links",
    "see https://creativecommons.org/licenses/by-nc-sa/ and http://creativecommons.org/licenses/publicdomain/ "
    "also http://creativecommons.org/licenses/by>",
    '<a\nhref="https://creativecommons.org/licenses/by/4.0/legalcode" >L</a>',
    "",
    '<meta property="x" content="https://creativecommons.org/publicdomain/zero/1.0/">',
]

# Dolma 1.2.1, text "abc"
CC_EXPECTED = {
    "cc_re": [
        [
            (0, 3, "cc_by-sa_3.0_de", 1.0),
            (0, 3, "cc_by-nc-nd_4.0_fr", 0.75),
            (0, 3, "cc_by_2.0", 0.6666666666666666),
            (0, 3, "cc_publicdomain/mark_1.0", 0.625),
        ],
        [],
        [],
        [(0, 3, "cc_by_4.0_le", 1.0)],  # "legalcode" read as language "le", as in Dolma
        [],
        [(0, 3, "cc_publicdomain/zero_1.0", 1.0)],
    ],
    "cc_re_fast": [
        [(0, 3, "cc_by-sa", 1.0), (0, 3, "cc_by-nc-nd", 0.75), (0, 3, "cc_by", 0.6666666666666666)],
        [],
        [(0, 3, "cc_by-nc-sa", 1.0), (0, 3, "cc_publicdomain", 0.75), (0, 3, "cc_by", 0.6666666666666666)],
        [(0, 3, "cc_by", 1.0)],
        [],
        [],
    ],
}


@pytest.mark.parametrize("name", sorted(CC_EXPECTED))
def test_licence_taggers_as_dolma(name: str) -> None:
    tagger = TaggerRegistry.get(name)()
    assert [spans_of(tagger, "abc", html=page) for page in PAGES] == CC_EXPECTED[name]


def test_licence_tagger_needs_html() -> None:
    with pytest.raises(ValueError, match="metadata.html"):
        spans_of(TaggerRegistry.get("cc_re")(), "abc")
