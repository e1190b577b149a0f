"""``dolma train-ft``: train a fastText classifier from labelled documents, for the ``ft_classifier`` tagger.

Labels come from a field of each document (``label_field: metadata.quality``) or from one set of files per
label (``labels: {hq: 'wiki/*.gz', lq: 'cc/*.gz'}``). Each document is held out for evaluation when the
xxhash of (seed, file, line) falls below ``test_fraction``, so the split does not depend on file order or
process count; the training lines are shuffled with ``seed`` and fastText runs with that seed on ``threads``
threads. With one thread (the default) the same inputs and seed give the same model file, byte for byte (see
:func:`zeroed_allocations` for what that takes); more threads train Hogwild-style and are not reproducible.
Texts are prepared as the tagger prepares them (newlines to spaces, optionally lower-cased). The run prints
precision, recall and F1 per label on the held-out documents and writes them next to the model as
``<model>.metrics.json``.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import random
import re
import tempfile
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Literal, Optional, Tuple, Union

import msgspec
import xxhash

from dolma.core import io as dio
from dolma.core.runner import Command
from dolma.core.config import ConfigStruct
from dolma.core.errors import ConfigError, InputError
from dolma.core.paths import glob_paths
from dolma.core.records import BadLine, DocumentsReader
from dolma.taggers.classifier import LABEL_PREFIX
from dolma.taggers.fasttext_lang import fasttext_text

__all__ = ["TrainFtConfig", "TRAIN_FT", "train", "evaluate"]

log = logging.getLogger("dolma")
_SPACE = re.compile(r"\s+")


class TrainFtConfig(ConfigStruct):
    model: str = ""
    """Where to save the model (local or s3://); `.ftz` with `quantize`."""
    documents: List[str] = msgspec.field(default_factory=list)
    """Documents files or globs whose documents carry their label in `label_field`."""
    label_field: Optional[str] = None
    """Dotted path of the label in each document, e.g. `metadata.label` or `label`."""
    labels: Dict[str, Union[str, List[str]]] = msgspec.field(default_factory=dict)
    """Instead of a field: label → documents files or globs."""
    test_fraction: float = 0.1
    """Share of documents held out for evaluation (by a hash of file and line, in [0, 1))."""
    seed: int = 0
    """Seed of the held-out split, the shuffle of training lines and fastText."""
    max_documents_per_label: Optional[int] = None
    """Read at most this many documents of each label; none: all."""
    lowercase: bool = False
    """Lowercase the text (the tagger that uses the model must then set `lowercase` too)."""
    epoch: int = 5
    """fastText `epoch`: passes over the training lines."""
    lr: float = 0.1
    """fastText `lr`: learning rate."""
    dim: int = 100
    """fastText `dim`: size of the word vectors."""
    word_ngrams: int = 2
    """fastText `wordNgrams`: longest word n-gram used."""
    minn: int = 0
    """fastText `minn`: shortest character n-gram (0: none)."""
    maxn: int = 0
    """fastText `maxn`: longest character n-gram (0: none)."""
    min_count: int = 1
    """fastText `minCount`: words seen fewer times are ignored."""
    bucket: int = 2_000_000
    """fastText `bucket`: hash buckets for n-grams."""
    loss: Literal["softmax", "ova", "hs", "ns"] = "softmax"
    """fastText `loss`: softmax, one-vs-all, hierarchical softmax or negative sampling."""
    threads: int = 1
    """fastText threads; only 1 gives the same model for the same inputs and seed."""
    quantize: bool = False
    """Quantize the model (smaller .ftz file, slightly less accurate)."""
    debug: bool = False
    """Log at DEBUG level."""


class _Doc(msgspec.Struct):
    id: str
    text: str


def _check(config: TrainFtConfig) -> List[Tuple[Optional[str], str]]:
    """(fixed label or None, pattern) for every input."""
    if not config.model:
        raise ConfigError("missing required key `model`: where to save the trained model")
    if not 0.0 <= config.test_fraction < 1.0:
        raise ConfigError(f"`test_fraction`: expected a number in [0, 1), got {config.test_fraction}")
    if bool(config.labels) == bool(config.documents):
        raise ConfigError("give either `documents` with `label_field`, or `labels` (label → files), not both or neither")
    if config.documents and not config.label_field:
        raise ConfigError("`documents` needs `label_field`: where each document keeps its label")
    inputs: List[Tuple[Optional[str], str]] = []
    for label, patterns in config.labels.items():
        if not _SPACE.sub("", str(label)):
            raise ConfigError("`labels`: a label cannot be empty")
        inputs.extend((str(label), p) for p in ([patterns] if isinstance(patterns, str) else patterns))
    inputs.extend((None, p) for p in config.documents)
    return inputs


def _field(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _label_name(value: Any) -> str:
    return _SPACE.sub("_", str(value).strip())


def read_examples(config: TrainFtConfig) -> Iterator[Tuple[str, str, bool]]:
    """(label, prepared text, held out?) for every document, in input order."""
    threshold = int(config.test_fraction * 2**64)
    per_label: Dict[str, int] = {}
    for fixed, pattern in _check(config):
        paths = glob_paths(pattern)
        if not paths:
            raise ConfigError(f"no files match {pattern!r}")
        record_type = _Doc if fixed is not None else Dict[str, Any]
        for path in paths:
            for batch in DocumentsReader(path, record_type=record_type):
                for offset, item in enumerate(batch.items):
                    line = batch.first_line + offset
                    if isinstance(item, BadLine):
                        raise InputError(path, item.line, item.reason)
                    label, text = _example(item, fixed, config.label_field, path, line)
                    if config.max_documents_per_label is not None:
                        if per_label.get(label, 0) >= config.max_documents_per_label:
                            continue
                        per_label[label] = per_label.get(label, 0) + 1
                    held_out = xxhash.xxh64_intdigest(f"{path}\n{line}".encode(), config.seed) < threshold
                    yield label, fasttext_text(text, config.lowercase), held_out


def _example(item: Any, fixed: Optional[str], field: Optional[str], path: str, line: int) -> Tuple[str, str]:
    if fixed is not None:
        return _label_name(fixed), item.text
    text = item.get("text")
    if not isinstance(text, str):
        raise InputError(path, line, "missing or non-string `text`")
    value = _field(item, field or "")
    if value is None or isinstance(value, (dict, list)) or not _label_name(value):
        raise InputError(path, line, f"no usable label at `{field}` (got {value!r})")
    return _label_name(value), text


def train(config: TrainFtConfig) -> Tuple[Any, Dict[str, Any]]:
    """Train, evaluate on the held-out documents, save; returns the model and its metrics."""
    import fasttext

    train_lines: List[str] = []
    held_out: List[Tuple[str, str]] = []
    for label, text, is_test in read_examples(config):
        if is_test:
            held_out.append((label, text))
        else:
            train_lines.append(f"{LABEL_PREFIX}{label} {text}\n")
    if not train_lines:
        raise ConfigError("no training documents: the inputs are empty or all held out")
    if len({line.split(" ", 1)[0] for line in train_lines}) < 2:
        raise ConfigError("training needs documents of at least two labels")
    random.Random(config.seed).shuffle(train_lines)
    with tempfile.TemporaryDirectory(prefix="dolma-train-ft-") as tmp:
        train_file = os.path.join(tmp, "train.txt")
        with open(train_file, "w", encoding="utf-8") as f:
            f.writelines(train_lines)
        model = _fit(fasttext, train_file, config)
        metrics = evaluate(model, held_out)
        metrics["train_documents"] = len(train_lines)
        saved = os.path.join(tmp, "model.bin")
        model.save_model(saved)
        with open(saved, "rb") as f:
            dio.write_bytes_atomic(config.model, f.read())
    dio.write_bytes_atomic(config.model + ".metrics.json", json.dumps(metrics, indent=2).encode() + b"\n")
    return model, metrics


def _fit(fasttext: Any, train_file: str, config: TrainFtConfig) -> Any:
    try:
        with zeroed_allocations():
            model = _train_supervised(fasttext, train_file, config)
            if config.quantize:
                model.quantize(input=train_file, retrain=False)
    except RuntimeError as exc:
        raise ConfigError(f"fastText training failed ({exc}): try a lower `lr` or another `dim`/`bucket`") from None
    return model


# glibc's mallopt(): M_PERTURB fills each allocation with the complement of the given byte
_M_PERTURB = -6
_ZERO_FILL = 0xFF


@contextmanager
def zeroed_allocations() -> Iterator[None]:
    """Memory that fastText allocates while this runs starts zeroed, which makes training reproducible.

    With one thread, fastText initialises only the first tenth of its input matrix at random
    (``DenseMatrix::uniform`` fills block 0 of 10; upstream relies on the rest being zero) and
    fasttext-numpy2 0.10.4 allocates that matrix without zeroing it. The other rows start as whatever the
    memory held: zeros when it comes fresh from the kernel (a process's first training), leftovers otherwise —
    so identical runs gave different models, sometimes ``Encountered NaN``. glibc's ``M_PERTURB`` zero-fills
    every allocation for the duration of training, which gives upstream fastText's zero rows every time.
    Elsewhere than glibc (macOS, musl) ``mallopt`` is missing and only a process's first training is reliable.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        log.warning("train-ft: no glibc mallopt(); fastText training may not be reproducible here")
        yield
        return
    mallopt(_M_PERTURB, _ZERO_FILL)
    try:
        yield
    finally:
        mallopt(_M_PERTURB, 0)


def _train_supervised(fasttext: Any, train_file: str, config: TrainFtConfig) -> Any:
    return fasttext.train_supervised(
        input=train_file,
        epoch=config.epoch,
        lr=config.lr,
        dim=config.dim,
        wordNgrams=config.word_ngrams,
        minn=config.minn,
        maxn=config.maxn,
        minCount=config.min_count,
        bucket=config.bucket,
        loss=config.loss,
        thread=config.threads,
        seed=config.seed,
        verbose=0,
    )


def evaluate(model: Any, examples: List[Tuple[str, str]]) -> Dict[str, Any]:
    """Precision, recall and F1 per label for the model's best label on each example."""
    labels = sorted({label[len(LABEL_PREFIX) :] for label in model.labels} | {label for label, _ in examples})
    predicted = [ls[0][len(LABEL_PREFIX) :] for ls in model.predict([t for _, t in examples], k=1)[0]] if examples else []
    per_label: Dict[str, Dict[str, float]] = {}
    for label in labels:
        tp = sum(1 for (gold, _), guess in zip(examples, predicted) if gold == label and guess == label)
        guessed = sum(1 for guess in predicted if guess == label)
        support = sum(1 for gold, _ in examples if gold == label)
        precision = tp / guessed if guessed else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    correct = sum(1 for (gold, _), guess in zip(examples, predicted) if gold == guess)
    return {"test_documents": len(examples), "accuracy": correct / len(examples) if examples else 0.0, "labels": per_label}


def _table(metrics: Dict[str, Any]) -> str:
    rows = [f"{'label':<20} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}"]
    for label, m in metrics["labels"].items():
        rows.append(f"{label:<20} {m['precision']:>9.4f} {m['recall']:>9.4f} {m['f1']:>9.4f} {m['support']:>8}")
    rows.append(f"accuracy {metrics['accuracy']:.4f} on {metrics['test_documents']} held-out documents "
                f"({metrics['train_documents']} trained on)")
    return "\n".join(rows)


def run_train_ft(config: TrainFtConfig) -> int:
    _, metrics = train(config)
    print(_table(metrics))
    log.info("train-ft: saved %s", config.model)
    return 0


TRAIN_FT = Command(TrainFtConfig, run_train_ft, "train a fastText classifier from labelled documents")
