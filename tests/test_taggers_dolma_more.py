"""The last of Dolma's tagger names: licences, code, PII with presidio, CLD3, quality and composition models, and
GPT-NeoX-20B token counts.

Expected values marked "Dolma 1.2.1" are literal outputs of the reference (``pip install dolma==1.2.1``), run from
a folder without our ``dolma/`` on the same inputs (for the model taggers: on the same small model files, made by
the fixtures here, given to Dolma's classes as their model path). CI has no reference install, so they are recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

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


# --- dclm-oh-eli5, dolma17-quality, code_composition: Dolma's code on models trained here ----------------------

PROSE = [
    "the river runs quietly past the old mill and into the valley below",
    "she wrote a long letter to her brother about the summer on the farm",
    "many birds return to the same nesting place every spring",
    "the library opens early on weekdays and closes late on fridays",
]
CODE = [
    "def add(a, b): return a + b",
    "for i in range(10): print(i)",
    "x = {'key': [1, 2, 3]}",
    "if (n > 0) { return n * f(n - 1); }",
]
SPAM = ["buy now cheap deals click here", "free free free win money now", "click here best price sale sale"]

MODEL_TEXTS = [
    "The river runs past the mill.\nShe wrote a letter to her brother.\n\ndef add(a, b): return a + b\nok\n",
    "buy now cheap deals click here free money",
    "for i in range(10): print(i)\nx = 1\nthe birds return every spring to the valley\nfor j in x: pass",
    "  padded   words\tand\u00a0spaces  ",
]

# Dolma 1.2.1 on the models `_train` makes (see the module docstring)
MODEL_EXPECTED: Dict[str, List[List[SpanTuple]]] = {
    "dclm-oh-eli5": [
        [
            (0, 97, 'score', 0.4954531788825989),
        ],
        [
            (0, 41, 'score', 0.4230846166610718),
        ],
        [
            (0, 95, 'score', 0.4925040602684021),
        ],
        [
            (0, 29, 'score', 0.44265782833099365),
        ],
    ],
    "dolma17-quality": [
        [
            (0, 97, 'code', 0.33998364210128784),
            (0, 97, 'wiki', 0.33530861139297485),
            (0, 97, 'adult', 0.32473769783973694),
        ],
        [
            (0, 41, 'adult', 0.38615062832832336),
            (0, 41, 'wiki', 0.31116724014282227),
            (0, 41, 'code', 0.30271220207214355),
        ],
        [
            (0, 95, 'code', 0.3407757580280304),
            (0, 95, 'wiki', 0.3373497426509857),
            (0, 95, 'adult', 0.3219045102596283),
        ],
        [
            (0, 29, 'code', 0.33821025490760803),
            (0, 29, 'wiki', 0.3375746011734009),
            (0, 29, 'adult', 0.32424503564834595),
        ],
    ],
    "code_composition": [
        [
            (0, 97, 'boundaries', 1.0),
            (0, 97, 'prose_pct', 0.5),
            (0, 97, 'prose', 2.0),
            (0, 97, 'prose_entropy', 1.584702763523281),
            (0, 97, 'code_pct', 0.25),
            (0, 97, 'code', 1.0),
            (0, 97, 'code_entropy', 1.58295780547711),
            (0, 97, 'other_pct', 0.25),
            (0, 97, 'other', 1.0),
            (0, 97, 'other_entropy', 0.0),
        ],
        [
            (0, 41, 'boundaries', 0.0),
            (0, 41, 'other_pct', 1.0),
            (0, 41, 'other', 1.0),
            (0, 41, 'other_entropy', 1.576043654857672),
        ],
        [
            (0, 95, 'boundaries', 2.0),
            (0, 95, 'code_pct', 0.75),
            (0, 95, 'code', 3.0),
            (0, 95, 'code_entropy', 1.5835557266018145),
            (0, 95, 'prose_pct', 0.25),
            (0, 95, 'prose', 1.0),
            (0, 95, 'prose_entropy', 1.583872779359057),
        ],
        [
            (0, 29, 'boundaries', 0.0),
            (0, 29, 'other_pct', 1.0),
            (0, 29, 'other', 1.0),
            (0, 29, 'other_entropy', 1.5848316235118074),
        ],
    ],
}


def _train(folder: Path, name: str, lines: List[str]) -> str:
    import fasttext

    from dolma.taggers.train_ft import zeroed_allocations

    data = folder / f"{name}.txt"
    data.write_text("\n".join(lines * 5) + "\n", encoding="utf-8")
    with zeroed_allocations():
        model = fasttext.train_supervised(
            input=str(data), dim=8, bucket=1000, wordNgrams=2, epoch=20, lr=0.1, minCount=1, thread=1, seed=0, verbose=0
        )
    path = folder / f"{name}.bin"
    model.save_model(str(path))
    return str(path)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("models")
    quality = [f"__label__hq {t}" for t in PROSE] + [f"__label__cc {t}" for t in SPAM + CODE]
    sources = [f"__label__wiki {t}" for t in PROSE] + [f"__label__code {t}" for t in CODE] + [f"__label__adult {t}" for t in SPAM]
    lines = [f"__label__prose {t}" for t in PROSE] + [f"__label__code {t}" for t in CODE] + [f"__label__other {t}" for t in SPAM]
    return {
        "dclm-oh-eli5": _train(folder, "quality", quality),
        "dolma17-quality": _train(folder, "sources", sources),
        "code_composition": _train(folder, "lines", lines),
    }


@pytest.mark.parametrize("name", sorted(MODEL_EXPECTED))
def test_model_taggers_as_dolma(models: Dict[str, str], name: str) -> None:
    cls = TaggerRegistry.get(name)
    tagger = cls(cls.Options(model=models[name]))
    for text, expected in zip(MODEL_TEXTS, MODEL_EXPECTED[name]):
        got = spans_of(tagger, text)
        assert [span[:3] for span in got] == [span[:3] for span in expected]
        assert [span[3] for span in got] == pytest.approx([span[3] for span in expected], abs=1e-6)
    docs = [DocumentWithMetadata(source="s", id=str(i), text=t, metadata={}) for i, t in enumerate(MODEL_TEXTS)]
    assert tagger.tag_batch(docs) == [tagger.tag(doc) for doc in docs]


@pytest.mark.parametrize(
    "name,url",
    [
        ("dclm-oh-eli5", "https://huggingface.co/mlfoundations/fasttext-oh-eli5/resolve/main/"),
        ("dolma17-quality", "https://dolma-artifacts.org/fasttext_models/dolma-1_7/"),
        ("code_composition", "https://huggingface.co/techarb/code-prose-composition/resolve/main/"),
    ],
)
def test_model_taggers_offline_fail_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, url: str
) -> None:
    import urllib.error

    from dolma.core.errors import ConfigError

    def unreachable(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no network")

    monkeypatch.setenv("DOLMA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("urllib.request.urlopen", unreachable)
    with pytest.raises(ConfigError) as info:
        TaggerRegistry.get(name)()
    assert "\n" not in str(info.value)
    assert url in str(info.value) and f"tagger_options.{name}.model" in str(info.value)


# --- tokenizers_EleutherAI_GPT_NeoX_20B ---------------------------------------------------------------------


def test_neox_token_counts_from_a_local_tokenizer_file() -> None:
    from importlib.resources import files

    # OLMo's variant of GPT-NeoX-20B (shipped with us); without its PII tokens in the text, the counts are NeoX's
    local = str(files("dolma.tokens.data") / "allenai_eleuther-ai-gpt-neox-20b-pii-special.json")
    cls = TaggerRegistry.get("tokenizers_EleutherAI_GPT_NeoX_20B")
    neox = cls(cls.Options(tokenizer=local))
    olmo = TaggerRegistry.get("tokenizers_AI2_OLMo_v1")()
    for text in ["", "Hello world.", "  spaces   and\ttabs\n\n", "Ünïcödé 中文 🙂", "def f(x):\n    return x"]:
        assert spans_of(neox, text) == spans_of(olmo, text)
    # Dolma 1.2.1 (tokenizers_AI2_OLMo_v1, whose counts these are): "Hello world." is 3 tokens, no EOS added
    assert spans_of(neox, "Hello world.") == [(0, 12, "tokens", 3)]


def test_neox_offline_fails_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.error

    from dolma.core.errors import ConfigError

    def unreachable(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no network")

    monkeypatch.setenv("DOLMA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("urllib.request.urlopen", unreachable)
    with pytest.raises(ConfigError) as info:
        TaggerRegistry.get("tokenizers_EleutherAI_GPT_NeoX_20B")()
    message = str(info.value)
    assert "\n" not in message
    assert "huggingface.co/EleutherAI/gpt-neox-20B/resolve/main/tokenizer.json" in message
    assert "tagger_options.tokenizers_EleutherAI_GPT_NeoX_20B.tokenizer" in message


# --- cld3_* -------------------------------------------------------------------------------------------------


def test_cld3_english_layouts() -> None:
    pytest.importorskip("gcld3")
    text = "The quick brown fox jumps over the lazy dog near the river.\nDer schnelle braune Fuchs springt über den Hund.\n"
    doc = TaggerRegistry.get("cld3_en_doc_v2")()
    [(s, e, kind, en), (_, _, not_kind, not_en)] = spans_of(doc, text)
    assert (s, e, kind, not_kind) == (0, len(text), "en", "not_en") and not_en == pytest.approx(1 - en)
    paragraphs = spans_of(TaggerRegistry.get("cld3_en_paragraph_v2")(), text)
    assert [span[:3] for span in paragraphs] == [(0, 60, "en"), (60, 109, "en"), (0, 60, "not_en"), (60, 109, "not_en")]
    assert paragraphs[0][3] > 0.9 and paragraphs[1][3] == 0.0
    with_doc = spans_of(TaggerRegistry.get("cld3_en_paragraph_with_doc_score_v2")(), text)
    assert with_doc[:4] == paragraphs
    assert with_doc[4][:3] == (0, 109, "doc_en") and with_doc[4][3] == pytest.approx(60 * paragraphs[0][3] / 109)
    assert spans_of(doc, "") == [(0, 0, "en", 0.0), (0, 0, "not_en", 1.0)]


def test_cld3_without_its_extra_fails_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from dolma.core.errors import ConfigError

    monkeypatch.setitem(sys.modules, "gcld3", None)
    with pytest.raises(ConfigError, match=r"^gcld3 is not installed: pip install 'dolma-toolkit\[cld3\]' to use the cld3_\* taggers$"):
        TaggerRegistry.get("cld3_en_doc_v2")()


# --- code_secrets_v1 ----------------------------------------------------------------------------------------

SECRET_TEXTS = [
    'aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"\npassword = "hunter2hunter2"\n',
    'token: ghp_abcdefghijklmnopqrstuvwxyz0123456789\nslack = "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx"\n',
    'x = 1\n  secret = "f8c3de3d-1fea-4d7c-a8b0-29f63c4c3454"\nsecret = "f8c3de3d-1fea-4d7c-a8b0-29f63c4c3454"\n',
    "",
    "   ",
    'api_key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"\nstripe_key="sk_live_4eC39HqLyjWDarjtT1zdp7dc"',
]
# Dolma 1.2.1 with detect-secrets 1.4.0 (Dolma's pin); the GitHub token's span is where Dolma puts it
SECRET_EXPECTED = [
    [(21, 41, "SECRET_AWS_Access_Key", 1.0), (55, 69, "SECRET_Secret_Keyword", 1.0), (0, 71, "doc", 0.3333333333333333)],
    [
        (7, 10, "SECRET_GitHub_Token", 1.0),
        (57, 113, "SECRET_Base64_High_Entropy_String", 1.0),
        (57, 113, "SECRET_Slack_Token", 1.0),
        (0, 115, "doc", 0.6),
    ],
    [(0, 104, "doc", 0.0)],
    [(0, 0, "doc", -1.0)],
    [(0, 3, "doc", -1.0)],
    [
        (11, 43, "SECRET_Base64_High_Entropy_String", 1.0),
        (11, 43, "SECRET_Secret_Keyword", 1.0),
        (11, 43, "SECRET_Stripe_Access_Key", 1.0),
        (0, 90, "doc", 0.75),
    ],
]


def test_code_secrets_as_dolma() -> None:
    pytest.importorskip("detect_secrets")
    tagger = TaggerRegistry.get("code_secrets_v1")()
    assert [spans_of(tagger, text) for text in SECRET_TEXTS] == SECRET_EXPECTED


# --- pii_presidio_v1 ----------------------------------------------------------------------------------------
# Dolma's AnalyzerEngine() needs the spaCy model en_core_web_lg, which cannot be fetched here, so these values come
# from presidio's own recognizers (as Dolma runs them) and Dolma's rules, not from a reference run.


def test_presidio_finds_pii_with_dolmas_rules_and_no_model() -> None:
    pytest.importorskip("presidio_analyzer")
    tagger = TaggerRegistry.get("pii_presidio_v1")()
    text = "Call me at (212) 555-1234 or mail john.doe@example.com; server 192.168.1.20 and fe80::1ff:fe23:4567:890a."
    assert sorted(spans_of(tagger, text)) == [
        (0, 105, "doc", 0.33333),
        (11, 25, "PHONE_NUMBER", 1.0),
        (34, 54, "EMAIL_ADDRESS", 1.0),
        (63, 75, "IP_ADDRESS", 1.0),
        (80, 104, "IP_ADDRESS", 1.0),
    ]
    # isbn/doi/# within 100 characters drops phone numbers and IP addresses
    assert spans_of(tagger, "isbn 978-3-16-148410-0 phone 212-555-1234, ip 10.0.0.1 # see") == [(0, 60, "doc", 0.0)]
    # an address whose local part is "(" or whose domain has no dot is not kept
    assert spans_of(tagger, "Write to (@example.com or x@localhost or a@b.co.uk now") == [
        (41, 50, "EMAIL_ADDRESS", 1.0),
        (0, 54, "doc", 0.125),
    ]
    assert spans_of(tagger, "") == [(0, 0, "doc", -1.0)]


# --- code_starcoder_taggers_v1 ------------------------------------------------------------------------------

STARCODER_DOCS = [
    ("", {"ext": "py"}),
    ("<?xml version='1.0'?><a/>", {"ext": "xml"}),
    ("<html><script>x</script><p>" + "word " * 50 + "</p><!-- c --></html>", {"ext": "html"}),
    (
        "def f():\n    '''doc'''\n    # c1\n    return 1  # c2\nclass B:\n  'b'\nclass A:\n  'a'\nasync def g():\n  'ag'\n",
        {"ext": "py", "max_stars_count": 7},
    ),
    ("def (:\n # c\n", {"ext": "py", "max_stars_count": None}),
    ("// one\nint x; /* two */\n", {"ext": "java"}),
    ("anything", {"ext": "no-such-ext"}),
    ("anything", {}),
]
# Dolma 1.2.1 (has_xml_template_doc, num_github_stars_doc, nl_ratio_doc, code_to_text_ratio_html_doc)
STARCODER_EXPECTED = [
    (0.0, 0.0, -1.0, -1.0),
    (1.0, 0.0, 0.0, 1.0),
    (0.0, 0.0, 0.03355704697986577, 0.8389261744966443),
    (0.0, 7.0, 0.13592233009708737, 1.0),
    (0.0, 0.0, 0.0, 1.0),
    (0.0, 0.0, 0.625, 1.0),
    (0.0, 0.0, -1.0, -1.0),
    (0.0, 0.0, -1.0, -1.0),
]


def test_starcoder_v1_as_dolma() -> None:
    pytest.importorskip("pygments")
    pytest.importorskip("bs4")
    tagger = TaggerRegistry.get("code_starcoder_taggers_v1")()
    types = ["has_xml_template_doc", "num_github_stars_doc", "nl_ratio_doc", "code_to_text_ratio_html_doc"]
    for (text, metadata), expected in zip(STARCODER_DOCS, STARCODER_EXPECTED):
        spans = spans_of(tagger, text, **metadata)
        assert [(s[0], s[1], s[2]) for s in spans] == [(0, len(text), t) for t in types]
        assert tuple(s[3] for s in spans) == pytest.approx(expected, abs=1e-12)
