"""Environment provenance: the Python and library versions that can change the bytes a stage writes.

Every manifest and ``release.json`` records :func:`output_environment`. When a run meets outputs recorded under
other versions (a rerun that would skip them, a pipeline stage finished earlier), :func:`check_environment` warns,
naming each library and both versions, because the rerun would otherwise mix outputs of both; with strict checking
on (``dolma --strict_env``) it refuses instead.
"""

from __future__ import annotations

import logging
import platform
import zlib
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Dict, List, Mapping, Optional, Set, Tuple

from dolma.core.errors import DolmaError

__all__ = [
    "OUTPUT_LIBRARIES",
    "EnvironmentMismatch",
    "output_environment",
    "environment_differences",
    "check_environment",
    "set_strict",
    "describe_environment",
]

log = logging.getLogger("dolma")

# Distributions whose version can change what a stage writes, and how:
OUTPUT_LIBRARIES: Tuple[str, ...] = (
    "dolma-toolkit",  # every stage
    "msgspec",  # JSON encoding of every line and manifest
    "isal",  # gzip output bytes
    "zstandard",  # zstd output bytes
    "numpy",  # Bloom filters, token files, sampling
    "xxhash",  # dedupe keys, sampling
    "regex",  # word segmentation: tagger values, dedupe n-gram keys
    "blingfire",  # sentence splitting in taggers
    "fasttext-numpy2",  # language ID and classifier scores
    "tokenizers",  # token ids
    "tiktoken",  # token ids (fast path)
    "pyarrow",  # import / export
    "datasets",  # import of Hugging Face datasets
    "resiliparse",  # WARC text extraction
    "pycld2",  # CLD2 language ID
    "py3langid",  # langid scores
    "alt-profanity-check",  # toxicity scores
    "scikit-learn",  # toxicity model
)

_strict = False
_warned: Set[Tuple[str, str, str]] = set()


class EnvironmentMismatch(DolmaError):
    """Existing outputs were made under other library versions and strict checking is on."""


@lru_cache(maxsize=1)
def output_environment() -> Dict[str, str]:
    """``{"python": "3.11.7", "zlib": ..., "<distribution>": "<version>", ...}`` for the installed output
    libraries (those not installed are left out)."""
    found = {"python": platform.python_version(), "zlib": zlib.ZLIB_RUNTIME_VERSION}
    for name in OUTPUT_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def environment_differences(recorded: Mapping[str, str]) -> List[Tuple[str, str, str]]:
    """``(library, recorded version, installed version)`` for each recorded library whose installed version
    differs (``not installed`` when it is gone); libraries the record does not name are not compared."""
    now = output_environment()
    return [
        (name, old, now.get(name, "not installed"))
        for name, old in sorted(recorded.items())
        if now.get(name) != old
    ]


def set_strict(strict: bool) -> None:
    """Refuse (rather than warn about) outputs recorded under other versions, for the rest of this process."""
    global _strict
    _strict = strict


def check_environment(recorded: Optional[Mapping[str, str]], where: str) -> None:
    """Warn (once per library and version pair in this process) when ``recorded`` versions differ from the
    installed ones; raise :class:`EnvironmentMismatch` instead in strict mode. A record without versions (made
    before they were recorded) is not compared."""
    if not recorded:
        return
    differences = environment_differences(recorded)
    if not differences:
        return
    listed = ", ".join(f"{name} {old} (installed: {new})" for name, old, new in differences)
    if _strict:
        raise EnvironmentMismatch(
            f"{where} was made with {listed}; rerun with the versions it records, or with --ignore_existing to "
            "rebuild it (refused because of --strict_env)"
        )
    fresh = [d for d in differences if d not in _warned]
    if fresh:
        _warned.update(fresh)
        log.warning(
            "%s was made with %s; outputs kept from that run and outputs made now may differ (--ignore_existing "
            "rebuilds them, --strict_env refuses such reruns)",
            where,
            listed,
        )


def describe_environment() -> str:
    """The installed output libraries, one ``name version`` per line (``dolma --version``)."""
    return "\n".join(f"{name} {ver}" for name, ver in output_environment().items())
