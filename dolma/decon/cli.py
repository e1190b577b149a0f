"""``dolma decon index``: build a contamination index from evaluation sets (on the driver: evaluation sets are
small; the tagging runs as units of ``dolma tag``, locally or on Ray)."""

from __future__ import annotations

import logging
import sys
from typing import List

from dolma.core.config import render
from dolma.core.errors import ConfigError
from dolma.core.paths import canonical, parent
from dolma.core.runner import Command
from dolma.decon.config import IndexConfig

__all__ = ["INDEX", "run_index"]

log = logging.getLogger("dolma")


def run_index(config: IndexConfig) -> int:
    if not config.sets:
        raise ConfigError("missing required key `sets`: give at least one evaluation set")
    if not config.output:
        raise ConfigError("missing required key `output`: the index folder")
    if config.dryrun:
        print(render(config), end="")
        print(f"# would index {len(config.sets)} evaluation set(s) into {config.output}", file=sys.stderr)
        return 0
    from dolma.decon.evalsets import set_paths
    from dolma.decon.index import build_index, write_index

    _check_inputs_kept(config.output, [path for s in config.sets for path in set_paths(s)])
    index, items = build_index(config)
    if not items:
        raise ConfigError("no evaluation item is long enough to index (see `min_words`, `min_unique_words`)")
    write_index(index, items, config.output)
    log.info("decon index: %d item(s), %d distinct %d-grams in %s", len(items), len(index.keys), config.ngram_size,
             config.output)
    return 0


def _check_inputs_kept(output: str, inputs: List[str]) -> None:
    """Inputs are read-only: the index folder may not hold an evaluation file, nor lie inside a dataset folder."""
    out = canonical(output)
    for path in inputs:
        c = canonical(path)
        if out == c or parent(c) == out or out.startswith(c.rstrip("/") + "/"):
            raise ConfigError(f"`output` {output} would write beside or into the input {path}: write the index elsewhere")


INDEX = Command(IndexConfig, run_index, "build a contamination index of evaluation sets for the `decon` tagger")
