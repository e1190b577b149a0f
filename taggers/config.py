"""The ``dolma tag`` config schema; field names are Dolma's so its tag configs run unchanged."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import msgspec

from dolma.core.config import ConfigStruct, OnErrorOptions
from dolma.core.errors import ConfigError

__all__ = ["TagConfig", "ListConfig"]


class TagConfig(OnErrorOptions):
    """``dolma tag``: run taggers over documents and write their attributes."""

    inert_keys = {
        "skip_on_failure": "a file that fails never stops the others; the run finishes them and exits 1 listing "
        "the failed files (rerun to retry only those)"
    }
    key_notes = {"executor": "On Ray, `processes` is the number of Ray workers in all."}

    documents: List[str] = msgspec.field(default_factory=list)
    """Documents files or glob patterns, local or s3://."""
    destination: Optional[List[str]] = None
    """Output folders, one per `documents` entry (or one for all); default: the mirrored attributes folder."""
    taggers: List[str] = msgspec.field(default_factory=list)
    """Tagger names to run (`dolma list` shows the registered ones, with plugins from `tagger_modules`)."""
    tagger_modules: List[str] = msgspec.field(default_factory=list)
    """Plugin modules: importable names or paths to .py files / package folders."""
    tagger_options: Dict[str, Dict[str, Any]] = msgspec.field(default_factory=dict)
    """Per-tagger settings, `tagger_options.<tagger>.<option>`; `tagger: <registered name>` makes a named instance."""
    experiment: Optional[str] = None
    """Attribute set name; without it each tagger writes its own set named after the tagger (as in Dolma)."""
    skip_on_failure: bool = False
    """Dolma's flag (skip a file that fails instead of stopping); accepted so Dolma's configs load, and has no effect
    (a warning says so when set): a failed file never stops the others, and the run exits 1 listing the failed files."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.destination is not None and len(self.destination) not in (1, len(self.documents)):
            raise ConfigError(
                f"`destination`: give one folder, or one per `documents` entry ({len(self.documents)}), "
                f"not {len(self.destination)}"
            )
        if self.destination is not None and self.experiment is None and len(self.taggers) > 1:
            raise ConfigError("with an explicit `destination` and several taggers, set `experiment` to name the set")
        unused = sorted(set(self.tagger_options) - set(self.taggers))
        if unused:
            raise ConfigError(f"`tagger_options.{unused[0]}`: {unused[0]!r} is not one of `taggers`")


class ListConfig(ConfigStruct):
    """``dolma list``: the registered taggers."""

    tagger_modules: List[str] = msgspec.field(default_factory=list)
    """Plugin modules to import first (importable names or paths to .py files / package folders)."""
