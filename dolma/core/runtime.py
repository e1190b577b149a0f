"""Dolma's tagging entry point (``dolma.core.runtime``) for code written against Dolma.

:func:`create_and_run_tagger` takes Dolma's keyword arguments and runs our ``dolma tag`` command. The core imports
no stage and no entry point (docs/architecture.md), so it finds the command table by name, with
``importlib.import_module("dolma.cli")``, when called: the one place the core reaches up a layer, kept here
because Dolma puts this name in ``dolma.core``.
"""

from __future__ import annotations

import importlib
from typing import Any, Dict, List, Optional, Union

from dolma.core.paths import join_path, make_relative, split_glob, split_path

__all__ = ["create_and_run_tagger"]


def _make_paths_from_substitution(paths: List[str], find: str, replace: str) -> List[str]:
    """Each path's folder before any glob, with the folder named ``find`` renamed ``replace``."""
    out = []
    for path in paths:
        protocol, parts = split_path(split_glob(path)[0])
        out.append(join_path(protocol, [replace if p == find else p for p in parts]))
    return out


def _make_paths_from_prefix(paths: List[str], prefix: str) -> List[str]:
    """Each path's folder before any glob, moved under ``prefix`` (relative to the folders' common base)."""
    _, relative = make_relative([split_glob(p)[0] for p in paths])
    protocol, parts = split_path(prefix)
    return [join_path(protocol, parts, r) for r in relative]


def _as_list(value: Union[str, List[str], None]) -> Optional[List[str]]:
    return [value] if isinstance(value, str) else (list(value) if value is not None else None)


def create_and_run_tagger(
    documents: Union[str, List[str]],
    taggers: List[str],
    experiment: Optional[str] = None,
    destination: Union[None, str, List[str]] = None,
    metadata: Union[None, str, List[str]] = None,
    debug: bool = False,
    seed: int = 0,
    ignore_existing: bool = False,
    skip_on_failure: bool = False,
    retries_on_error: int = 0,
    num_processes: int = 1,
    taggers_modules: Optional[List[str]] = None,
    **kwargs: Any,
) -> None:
    """Tag ``documents`` with ``taggers`` (Dolma's signature): attributes go to ``<destination>/<experiment>/``, or
    to the mirrored ``attributes/<experiment>/`` folder without a destination; without an experiment each tagger
    writes its own set named after it. ``metadata``, ``seed`` and ``retries_on_error`` are Dolma's bookkeeping and
    have no effect here (our manifests track what is done). Raises on failure."""
    config: Dict[str, Any] = {
        "documents": _as_list(documents),
        "taggers": list(taggers),
        "tagger_modules": list(taggers_modules or []),
        "processes": 1 if debug else num_processes,
        "ignore_existing": ignore_existing,
        "debug": debug,
    }
    cli = importlib.import_module("dolma.cli")  # by name: see the module docstring
    dest = _as_list(destination)
    if dest is None:
        cli.run_config("tag", {**config, "experiment": experiment})
        return
    # Dolma's destination is the folder above the attribute sets; ours is the set's folder itself
    sets = [(experiment, list(taggers))] if experiment else [(t, [t]) for t in taggers]
    for name, names in sets:
        folders = [join_path(*split_path(d), name) for d in dest]
        cli.run_config(
            "tag", {**config, "taggers": names, "experiment": experiment, "destination": folders}
        )
