"""A small real corpus built at run time from the running Python's standard library, for first runs and demos.

Two sources in Dolma's layout: ``code`` (stdlib ``.py`` files) and ``prose`` (module, class and function
docstrings, one document per module). Nothing is downloaded and nothing is committed; the same interpreter
gives the same corpus (files are read in sorted order, timestamps are fixed).
"""

from __future__ import annotations

import ast
import hashlib
import os
import sysconfig
from typing import Dict, Iterator, List

import logging

import msgspec

from dolma.commands import Command
from dolma.config import ConfigStruct
from dolma.io import AtomicWriter

__all__ = ["build_sample_corpus", "SAMPLE_CORPUS"]

_ADDED = "2025-01-01T00:00:00.000Z"


def _stdlib_files(limit: int) -> List[str]:
    root = sysconfig.get_paths()["stdlib"]
    found: List[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "test", "tests", "__pycache__", "idlelib"))
        for name in sorted(filenames):
            if name.endswith(".py"):
                found.append(os.path.join(dirpath, name))
    found.sort()
    return found[:limit]


def _doc_id(source: str, rel: str) -> str:
    return hashlib.sha1(f"{source}:{rel}".encode()).hexdigest()[:20]


def _docstrings(text: str) -> str:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return ""
    parts: List[str] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc and len(doc) > 40:
                parts.append(doc)
    return "\n\n".join(parts)


def _documents(files: List[str]) -> Iterator[tuple[str, Dict[str, object]]]:
    root = sysconfig.get_paths()["stdlib"]
    for path in files:
        rel = os.path.relpath(path, root)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        meta = {"path": f"stdlib/{rel}", "license": "PSF-2.0"}
        yield "code", {"id": _doc_id("code", rel), "text": text, "source": "code", "added": _ADDED, "metadata": meta}
        prose = _docstrings(text)
        if prose:
            yield "prose", {"id": _doc_id("prose", rel), "text": prose, "source": "prose", "added": _ADDED, "metadata": meta}


def build_sample_corpus(destination: str, max_files: int = 400, docs_per_shard: int = 200) -> Dict[str, int]:
    """Write ``<destination>/documents/<source>-NNNN.jsonl.gz``; returns documents written per source."""
    encoder = msgspec.json.Encoder()
    buffers: Dict[str, List[bytes]] = {}
    shards: Dict[str, int] = {}
    counts: Dict[str, int] = {}

    def flush(source: str) -> None:
        lines = buffers.pop(source, [])
        if lines:
            path = os.path.join(destination, "documents", f"{source}-{shards.get(source, 0):04d}.jsonl.gz")
            with AtomicWriter(path) as w:
                w.write(b"".join(lines))
            shards[source] = shards.get(source, 0) + 1

    for source, doc in _documents(_stdlib_files(max_files)):
        buffers.setdefault(source, []).append(encoder.encode(doc) + b"\n")
        counts[source] = counts.get(source, 0) + 1
        if len(buffers[source]) >= docs_per_shard:
            flush(source)
    for source in list(buffers):
        flush(source)
    return counts


class SampleCorpusConfig(ConfigStruct):
    destination: str = "quickstart"
    max_files: int = 400


def run_sample_corpus(config: SampleCorpusConfig) -> int:
    counts = build_sample_corpus(config.destination, max_files=config.max_files)
    summary = ", ".join(f"{n} {source}" for source, n in counts.items())
    logging.getLogger("dolma").info("sample corpus: %s documents in %s/documents", summary, config.destination)
    return 0


SAMPLE_CORPUS = Command(
    SampleCorpusConfig, run_sample_corpus, "write a small real corpus (Python stdlib code and docstrings)"
)
