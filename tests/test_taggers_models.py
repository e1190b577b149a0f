"""Model taggers on real text: language ID in several scripts, CLD2, the ensemble, toxicity, odd input."""

import importlib.util
import sys

import pytest

from dolma.core.errors import ConfigError
from dolma.core.data_types import Document
from dolma.core.registry import TaggerRegistry, tagger_spec

HAS_CLD2 = importlib.util.find_spec("pycld2") is not None
HAS_LANGID = importlib.util.find_spec("py3langid") is not None
HAS_PROFANITY = importlib.util.find_spec("profanity_check") is not None
needs_cld2 = pytest.mark.skipif(not HAS_CLD2, reason="the lang extra (pycld2)")

# short real sentences, one per script family
SAMPLES = {
    "en": "The committee will publish its final report on the state of the river next spring.",
    "de": "Die Regierung hat beschlossen, die Steuern im nächsten Jahr nicht zu erhöhen.",
    "fr": "Nous avons visité le musée hier après-midi et nous avons beaucoup aimé les peintures.",
    "es": "El tren sale de la estación central a las ocho de la mañana todos los días.",
    "ru": "Вчера вечером мы долго гуляли по старому городу и разговаривали о книгах.",
    "el": "Η βιβλιοθήκη της πόλης θα παραμείνει κλειστή για ανακαίνιση μέχρι τον Σεπτέμβριο.",
    "ar": "ذهبت إلى السوق صباح اليوم لشراء الخضروات والفواكه الطازجة لعائلتي.",
    "he": "אנחנו נוסעים לים בסוף השבוע הזה עם כל המשפחה והחברים.",
    "hi": "मैं हर सुबह पार्क में टहलने जाता हूँ और ताज़ी हवा का आनंद लेता हूँ।",
    "ja": "昨日は友達と一緒に新しいレストランで晩ご飯を食べました。とても美味しかったです。",
    "zh": "我们明天早上八点在学校门口见面，然后一起去图书馆学习。",
    "ko": "오늘 아침에 공원에서 산책을 하면서 많은 사람들을 만났습니다.",
    "th": "เมื่อวานนี้ฉันไปตลาดกับแม่เพื่อซื้อผลไม้และผักสด",
}
ODD = [
    "",
    "   \n\n\t ",
    "a\x00b\x01c\x7f\x85\x9f control characters in the middle of an English sentence.",
    "word " * 200_000,  # a 1 MB line
    "\u202e\ufeff\U0001f600 émoji and bidi marks",
    "line one\r\nline two\rline three\n",
]


def docs(texts):
    return [Document("test", f"d{i}", t) for i, t in enumerate(texts)]


def build(name, **options):
    return tagger_spec(name, options).build()


def top(result):
    langs = [s for s in result.spans if not s.type.startswith(("not_", "doc_")) and s.type not in ("agreement", "disagree")]
    return max(langs, key=lambda s: s.score).type if langs else None


def test_fasttext_language_of_short_texts_in_many_scripts():
    tagger = TaggerRegistry.get("ft_lang_id_doc_v1")()
    results = tagger.predict_batch(docs(SAMPLES.values()))
    assert [top(r) for r in results] == list(SAMPLES)
    # a score per language, as Dolma writes (fastText's k=-1: every language it does not prune)
    assert len(results[0].spans) > 100
    assert sum(s.score for s in results[0].spans) == pytest.approx(1.0, abs=0.02)
    assert all((s.start, s.end) == (0, len(r.doc.text)) for r in results for s in r.spans)


def test_lid_model_ships_in_the_package_and_loads_from_any_path(tmp_path):
    import hashlib
    import shutil
    from pathlib import Path

    import dolma.taggers
    from dolma.taggers.models import LID_176_FTZ, resolve_model

    path = Path(resolve_model(LID_176_FTZ))
    assert path.parent == Path(dolma.taggers.__file__).parent / "data"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"
    assert (path.parent / "lid.176.LICENSE.md").read_text().count("CC BY-SA 3.0") >= 1
    # the same model under another path (file:// too) gives the same answers
    copy = tmp_path / "my-lid.ftz"
    shutil.copy(path, copy)
    batch = docs([SAMPLES["fr"], SAMPLES["ko"]])
    default = build("ft_lang_id_1e2").predict_batch(batch)
    other = build("ft_lang_id_1e2", model=f"file://{copy}").predict_batch(batch)
    assert [r.spans for r in other] == [r.spans for r in default] and top(other[1]) == "ko"


def test_fasttext_min_score_rounding_and_english_layouts():
    text = SAMPLES["en"] + "\n" + SAMPLES["de"] + "\n"
    [r] = build("ft_lang_id_1e2").predict_batch(docs([text]))
    assert all(s.score > 0.01 and round(s.score, 2) == s.score for s in r.spans)

    [r] = build("ft_lang_id_en_doc_v2").predict_batch(docs([SAMPLES["en"]]))
    scores = {s.type: s.score for s in r.spans}
    assert set(scores) == {"en", "not_en"} and scores["en"] > 0.9
    assert scores["en"] + scores["not_en"] == pytest.approx(1.0)
    [r] = build("ft_lang_id_en_only_v2").predict_batch(docs([SAMPLES["fr"]]))
    assert [s.type for s in r.spans] == ["en"] and r.spans[0].score < 0.1

    [r] = build("ft_lang_id_en_paragraph_with_doc_score_v2").predict_batch(docs([text]))
    en = [s for s in r.spans if s.type == "en"]
    assert [(s.start, s.end) for s in en] == [(0, len(SAMPLES["en"]) + 1), (len(SAMPLES["en"]) + 1, len(text))]
    assert en[0].score > 0.9 and en[1].score < 0.1
    doc_en = next(s.score for s in r.spans if s.type == "doc_en")
    assert doc_en == pytest.approx(sum((s.end - s.start) * s.score for s in en) / len(text))

    [r] = build("ft_lang_id_paragraph_v1", top_k=1).predict_batch(docs([text]))
    assert [s.type for s in r.spans] == ["en", "de"]


def test_blank_text_gets_no_language_and_english_zero():
    [a, b] = build("ft_lang_id_doc_v1").predict_batch(docs(["", "  \n "]))
    assert a.spans == [] and b.spans == []
    [r] = build("ft_lang_id_en_doc_v2").predict_batch(docs([""]))
    assert {s.type: s.score for s in r.spans} == {"en": 0.0, "not_en": 1.0}


@needs_cld2
def test_cld2_codes_and_odd_input():
    tagger = build("cld2_doc_v2")
    results = tagger.predict_batch(docs([SAMPLES["de"] * 3, SAMPLES["he"] * 3, SAMPLES["zh"] * 3]))
    assert [top(r) for r in results] == ["de", "he", "zh"]  # Dolma wrote "ge", and "iw" → "he"
    for name in ("cld2_doc_v2", "cld2_en_paragraph_with_doc_score_v2"):
        results = build(name).predict_batch(docs(ODD))
        assert len(results) == len(ODD)
    [r] = build("cld2_en_doc_v2").predict_batch(docs([ODD[2] * 3]))
    assert {s.type for s in r.spans} == {"en", "not_en"}


@pytest.mark.skipif(not (HAS_CLD2 and HAS_LANGID), reason="the lang extra")
def test_ensemble_names_the_language_and_flags_disagreement():
    tagger = build("lang_ensemble_v1")
    results = tagger.predict_batch(docs(list(SAMPLES.values()) + ODD))
    assert [top(r) for r in results[: len(SAMPLES)]] == list(SAMPLES)
    r = results[0]
    kinds = {s.type: s.score for s in r.spans}
    assert kinds["agreement"] == 1.0 and kinds["disagree"] == 0.0
    assert results[len(SAMPLES)].spans == []  # empty text
    # a two-word mixed text: detectors are free to disagree; the flag follows their top picks
    [mixed] = tagger.predict_batch(docs(["gut ok"]))
    kinds = {s.type: s.score for s in mixed.spans}
    assert kinds["disagree"] in (0.0, 1.0) and 0.0 < kinds["agreement"] <= 1.0
    # one detector only: always agreeing with itself
    [solo] = build("lang_ensemble_v1", detectors=["fasttext"]).predict_batch(docs([SAMPLES["ru"]]))
    assert {s.type: s.score for s in solo.spans}["agreement"] == 1.0


@pytest.mark.skipif(not HAS_PROFANITY, reason="the toxicity extra (alt-profanity-check)")
def test_profanity_document_and_sentence_levels():
    text = "Thank you for the lovely dinner. You are a fucking idiot and I hate you."
    [doc] = build("profanity_document_v1").predict_batch(docs([text]))
    [sent] = build("profanity_sentence_v1").predict_batch(docs([text]))
    assert [s.type for s in doc.spans] == ["profanity"]
    assert [(s.start, s.end) for s in sent.spans] == [(0, 32), (33, len(text))]
    assert sent.spans[0].score < 0.5 < sent.spans[1].score
    assert len(build("profanity_sentence_v1").predict_batch(docs(ODD))) == len(ODD)


def test_missing_extra_names_the_pip_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pycld2", None)  # import pycld2 now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'dolma-toolkit\[lang\]' to use the cld2_\* taggers"):
        build("cld2_doc_v2")


def test_tagger_options_are_validated():
    with pytest.raises(ConfigError, match=r"tagger_options.ft_lang_id_doc_v1`: unknown option `topk`"):
        tagger_spec("ft_lang_id_doc_v1", {"topk": 3})
    with pytest.raises(ConfigError, match=r"tagger_options.ft_classifier`: missing required option `model`"):
        tagger_spec("ft_classifier", {})
    with pytest.raises(ConfigError, match=r"`tagger_options.gopher_v1`: tagger 'gopher_v1' takes no options"):
        tagger_spec("gopher_v1", {"x": 1})
    with pytest.raises(ConfigError, match=r"level"):
        tagger_spec("ft_classifier", {"model": "m.bin", "level": "chapter"})
    spec = tagger_spec("quality", {"tagger": "ft_classifier", "model": "m.bin", "labels": ["hq"]})
    assert spec.describe() == {
        "tagger": "ft_classifier",
        "options": {"model": "m.bin", "labels": ["hq"], "level": "document", "lowercase": False, "doc_score": False},
    }
    assert tagger_spec("gopher_v1").describe() == {}


def test_jigsaw_taggers_run_a_users_model_and_say_where_they_looked(tmp_path):
    with pytest.raises(ConfigError, match=r"no file at .*missing\.bin"):
        build("jigsaw_hatespeech_document_v2", model=str(tmp_path / "missing.bin"))
    assert TaggerRegistry.get("jigsaw_nsfw_sencence_v2") is TaggerRegistry.get("jigsaw_nsfw_sentence_v2")


def _mo_documents(lang_dirs, per_language=8):
    """Short documents of real software translations: consecutive translated messages of .mo catalogues."""
    import gettext
    import glob
    import os

    docs = []
    for lang in lang_dirs:
        n = 0
        for path in sorted(glob.glob(f"/usr/share/locale/{lang}/LC_MESSAGES/*.mo")):
            if os.path.basename(path).startswith("iso_") or n >= per_language:
                continue
            with open(path, "rb") as f:
                catalog = gettext.GNUTranslations(f)._catalog
            buf = []
            for key, value in catalog.items():
                msgid = key if isinstance(key, str) else key[0]
                if msgid and isinstance(value, str) and value != msgid and any(c.isalpha() for c in value):
                    buf.append(value)
                    if sum(map(len, buf)) >= 150:
                        docs.append((lang, " ".join(buf)[:400]))
                        n += 1
                        break
    return docs


@pytest.mark.skipif(not (HAS_CLD2 and HAS_LANGID), reason="the lang extra")
def test_accuracy_on_real_translations():
    docs = _mo_documents(["de", "fr", "es", "ru", "uk", "pl", "ja", "zh_CN", "ar", "el", "he", "ko", "tr", "fi"])
    if len(docs) < 40:
        pytest.skip("too few .mo catalogues under /usr/share/locale")
    gold = [lang.split("_")[0] for lang, _ in docs]
    batch = [Document("mo", str(i), t) for i, (_, t) in enumerate(docs)]
    for name, floor in (("ft_lang_id_doc_v1", 0.85), ("lang_ensemble_v1", 0.9)):
        tops = [top(r) for r in build(name).predict_batch(batch)]
        accuracy = sum(t == g for t, g in zip(tops, gold)) / len(gold)
        assert accuracy >= floor, (name, accuracy)


def test_english_score_two_passes_equal_the_full_distribution():
    from dolma.taggers.fasttext_lang import fasttext_text

    tagger = build("ft_lang_id_en_doc_v2")
    texts = list(SAMPLES.values()) + [SAMPLES["en"] + " " + SAMPLES["de"], "ok", "x\x00y", "gut ok danke"]
    labels, scores = tagger.model.predict([fasttext_text(t, True) for t in texts], k=-1, threshold=0.0)
    full = [float(s[ls.index("__label__en")]) if "__label__en" in ls else 0.0 for ls, s in zip(labels, scores)]
    results = tagger.predict_batch(docs(texts))
    assert [next(s.score for s in r.spans if s.type == "en") for r in results] == full  # exactly, not approx
    assert sum(0 < f < 0.01 for f in full) >= 3  # the second pass was needed
