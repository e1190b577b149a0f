"""The ``dolma tag`` config schema; field names are Dolma's so its tag configs run unchanged."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional

import msgspec

from dolma.core.config import ConfigStruct, ExecutorConfig, ProfileConfig, WorkDirConfig

__all__ = ["TagConfig", "ListConfig"]


class TagConfig(ConfigStruct):
    documents: List[str] = msgspec.field(default_factory=list)
    """Documents files or glob patterns, local or s3://."""
    destination: Optional[List[str]] = None
    """Output folders, one per `documents` entry (or one for all); default: the mirrored attributes folder."""
    taggers: List[str] = msgspec.field(default_factory=list)
    tagger_modules: List[str] = msgspec.field(default_factory=list)
    """Plugin modules: importable names or paths to .py files / package folders."""
    tagger_options: Dict[str, Dict[str, Any]] = msgspec.field(default_factory=dict)
    """Per-tagger settings, `tagger_options.<tagger>.<option>`; `tagger: <registered name>` makes a named instance."""
    experiment: Optional[str] = None
    """Attribute set name; without it each tagger writes its own set named after the tagger (as in Dolma)."""
    processes: int = 1
    executor: ExecutorConfig = msgspec.field(default_factory=ExecutorConfig)
    """`backend: local` (default) or `ray` (`address`: the cluster; `processes`: Ray workers in all)."""
    ignore_existing: bool = False
    """Rerun units even when their manifests say they are done."""
    on_error: Literal["fail", "skip"] = "fail"
    """fail: a bad line fails its file; skip: bad lines go to a quarantine file and are counted."""
    debug: bool = False
    dryrun: bool = False
    profile: ProfileConfig = msgspec.field(default_factory=ProfileConfig)
    work_dir: WorkDirConfig = msgspec.field(default_factory=WorkDirConfig)
    skip_on_failure: bool = False
    """Dolma's flag; here failed files never stop the others, and the run exits non-zero listing them."""


class ListConfig(ConfigStruct):
    tagger_modules: List[str] = msgspec.field(default_factory=list)
