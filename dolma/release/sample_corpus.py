"""A small real corpus built at run time from the running Python installation, for first runs and demos.

Three sources: ``code`` (standard-library ``.py`` files) and ``prose`` (their module, class and function
docstrings), written as Dolma documents under ``<destination>/<source>/documents/``; and ``web``: pydoc-rendered
HTML pages of standard-library modules under ``<destination>/raw/web/*.html``, for the HTML reader
(``dolma import --format html``) to turn into documents. Nothing is downloaded and nothing is committed; the same
interpreter gives the same corpus (files in sorted order, fixed time stamps).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import logging
import os
import pydoc
import re
import subprocess
import sys
import sysconfig
import warnings
from typing import Dict, Iterator, List, Tuple

import msgspec

from dolma.core.runner import Command
from dolma.core.config import ConfigStruct
from dolma.core.errors import DolmaError
from dolma.core.io import AtomicWriter, write_bytes_atomic

__all__ = ["build_sample_corpus", "SAMPLE_CORPUS", "WEB_MODULES"]

_ADDED = "2025-01-01T00:00:00.000Z"

# standard-library modules whose pydoc pages become the `web` source (safe to import: no side effects)
WEB_MODULES = (
    "abc", "argparse", "array", "base64", "bisect", "calendar", "collections", "contextlib", "copy", "csv",
    "dataclasses", "datetime", "decimal", "difflib", "enum", "fnmatch", "fractions", "functools", "glob", "gzip",
    "hashlib", "heapq", "hmac", "html", "itertools", "json", "logging", "math", "operator", "pathlib", "pprint",
    "queue", "random", "re", "reprlib", "sched", "shutil", "statistics", "string", "struct", "tarfile", "tempfile",
    "textwrap", "threading", "typing", "unicodedata", "uuid", "zipfile",
)


def _stdlib_files(limit: int) -> List[str]:
    root = sysconfig.get_paths()["stdlib"]
    found: List[str] = []
    skip = ("site-packages", "test", "tests", "__pycache__", "idlelib")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        found.extend(os.path.join(dirpath, name) for name in sorted(filenames) if name.endswith(".py"))
    found.sort()
    # every n-th file, so a small corpus still spans the whole library
    step = max(1, len(found) // max(limit, 1))
    return found[::step][:limit]


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


def _documents(files: List[str]) -> Iterator[Tuple[str, Dict[str, object]]]:
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


# object reprs in rendered default values carry memory addresses, which differ from run to run
_ADDRESS = re.compile(r"(\bat(?: |&nbsp;))0x[0-9a-fA-F]+")


def _web_pages(modules: Tuple[str, ...]) -> List[Tuple[str, str]]:
    """The pages, rendered in a fresh interpreter: pydoc shows module state (``logging``'s live handler list, for
    one), which depends on what the calling process has loaded (Ray's handlers, in a pipeline on Ray)."""
    # what a module prints while it is imported goes to stderr, so that stdout holds only the pages
    code = "import sys, msgspec; out = sys.stdout.buffer; sys.stdout = sys.stderr; " \
           "from dolma.release.sample_corpus import _render_pages; " \
           "out.write(msgspec.json.encode(_render_pages(tuple(sys.argv[1:]))))"
    done = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, check=False)
    if done.returncode != 0:
        raise DolmaError(f"rendering the sample web pages failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return [(name, page) for name, page in msgspec.json.decode(done.stdout)]


def _render_pages(modules: Tuple[str, ...]) -> List[Tuple[str, str]]:
    renderer = pydoc.HTMLDoc()
    pages = []
    for name in modules:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = importlib.import_module(name)
                page = renderer.page(pydoc.describe(module), renderer.document(module, name))
        except Exception:  # a module this Python lacks or cannot render: leave it out
            continue
        pages.append((name, _ADDRESS.sub(r"\g<1>0x0", page)))
    return pages


def build_sample_corpus(
    destination: str, max_files: int = 400, docs_per_shard: int = 200, web_pages: int = len(WEB_MODULES)
) -> Dict[str, int]:
    """Write the corpus below ``destination``; returns documents (or pages) written per source."""
    encoder = msgspec.json.Encoder()
    buffers: Dict[str, List[bytes]] = {}
    shards: Dict[str, int] = {}
    counts: Dict[str, int] = {}

    def flush(source: str) -> None:
        lines = buffers.pop(source, [])
        if lines:
            path = os.path.join(destination, source, "documents", f"{source}-{shards.get(source, 0):04d}.jsonl.gz")
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
    for name, page in _web_pages(WEB_MODULES[:web_pages]):
        write_bytes_atomic(os.path.join(destination, "raw", "web", f"{name}.html"), page.encode("utf-8"))
        counts["web"] = counts.get("web", 0) + 1
    return counts


class SampleCorpusConfig(ConfigStruct):
    destination: str = "quickstart"
    """The folder the corpus is written to (<destination>/<source>/documents/, raw/web/)."""
    max_files: int = 400
    """Standard-library source files to read (each gives a `code` and usually a `prose` document)."""
    web_pages: int = len(WEB_MODULES)
    """pydoc HTML pages to render for the `web` source."""


def run_sample_corpus(config: SampleCorpusConfig) -> int:
    counts = build_sample_corpus(config.destination, max_files=config.max_files, web_pages=config.web_pages)
    summary = ", ".join(f"{n} {source}" for source, n in counts.items())
    logging.getLogger("dolma").info(
        "sample corpus in %s: %s (code and prose under <source>/documents/, web pages under raw/web/)",
        config.destination,
        summary,
    )
    return 0


SAMPLE_CORPUS = Command(
    SampleCorpusConfig, run_sample_corpus, "write a small real corpus (Python's stdlib code, docstrings, pydoc pages)"
)
