"""Model files for taggers: where they come from, a per-machine cache, and one loaded copy per worker.

A model is named by a *spec*:

- a local path (``~`` expanded; ``file://`` accepted);
- ``pkg://<package>/<path>``: a file shipped inside an installed Python package (the offline default for
  language ID, ``pkg://dolma.taggers/data/lid.176.ftz``, ships in this one: see ``data/lid.176.LICENSE.md``);
- ``s3://bucket/key``, ``https://…`` or ``http://…``: fetched into the cache;
- ``hf://<owner>/<repo>/<path>``: a file on the Hugging Face hub, fetched like a URL (``…/resolve/main/<path>``).

Remote files are fetched at most once per machine: the download runs under an exclusive file lock next to
the cached file and is renamed into place when complete, so processes starting together wait for one download
instead of racing on a half-written file (allenai/dolma#138). The cache is ``$DOLMA_CACHE_DIR``, else
``$XDG_CACHE_HOME/dolma``, else ``~/.cache/dolma``.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List

from dolma.core.errors import ConfigError
from dolma.core.paths import is_s3

__all__ = [
    "ModelNotFound",
    "LID_176_FTZ",
    "cache_dir",
    "resolve_model",
    "load_fasttext",
    "require",
]

LID_176_FTZ = "pkg://dolma.taggers/data/lid.176.ftz"
HF_URL = "https://huggingface.co/{repo}/resolve/main/{path}"


class ModelNotFound(ConfigError):
    """A model file is missing or cannot be fetched; the message says every place that was tried."""


def cache_dir() -> Path:
    root = os.environ.get("DOLMA_CACHE_DIR")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "dolma"


def require(module: str, extra: str, user: str) -> Any:
    """Import an optional library, or say which extra to install for which tagger."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{module} is not installed: pip install 'dolma-toolkit[{extra}]' to use {user}") from None


def resolve_model(spec: str) -> str:
    """A local path holding the model named by ``spec``; remote models are fetched into the cache once."""
    if spec.startswith("pkg://"):
        return _package_file(spec)
    if spec.startswith("hf://"):
        parts = spec[len("hf://") :].split("/", 2)
        if len(parts) < 3 or not all(parts):
            raise ModelNotFound(f"model {spec!r}: expected hf://<owner>/<repo>/<path in the repo>")
        return _cached(spec, HF_URL.format(repo=f"{parts[0]}/{parts[1]}", path=parts[2]))
    if spec.startswith(("http://", "https://")) or is_s3(spec):
        return _cached(spec, spec)
    local = Path(spec[len("file://") :] if spec.startswith("file://") else spec).expanduser()
    if local.is_file():
        return str(local)
    raise ModelNotFound(f"model {spec!r} not found: no file at {local.resolve()}")


def _package_file(spec: str) -> str:
    package, _, rel = spec[len("pkg://") :].partition("/")
    found = importlib.util.find_spec(package) if package else None
    folders: List[str] = list(found.submodule_search_locations or []) if found is not None else []
    for folder in folders:
        candidate = Path(folder) / rel
        if candidate.is_file():
            return str(candidate)
    looked = ", ".join(str(Path(f) / rel) for f in folders) or f"package {package!r} is not installed"
    raise ModelNotFound(
        f"model {spec!r} not found (looked in: {looked}); install the package that ships {rel}, "
        "or point the tagger at a model file"
    )


def _cached(spec: str, url: str) -> str:
    name = url.rstrip("/").rsplit("/", 1)[-1] or "model"
    target = cache_dir() / "models" / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{name}"
    if target.is_file():
        return str(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelNotFound(f"model {spec!r}: cannot create the cache folder {target.parent}: {exc.strerror}") from None
    with open(f"{target}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one download per machine; the others wait here, then find the file
        if target.is_file():
            return str(target)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        try:
            _download(url, tmp)
            os.replace(tmp, target)
        except Exception as exc:
            raise ModelNotFound(f"model {spec!r}: cannot fetch {url} into {target}: {_reason(exc)}") from None
        finally:
            if tmp.exists():
                tmp.unlink()
    return str(target)


def _download(url: str, dest: Path) -> None:
    if is_s3(url):
        from dolma.core import s3
        with s3.open_read(url) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        return
    with urllib.request.urlopen(url, timeout=60) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)


def _reason(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"unreachable ({exc.reason})"
    return f"{type(exc).__name__}: {exc}"


# --- loaded models: one copy per process, shared by every tagger that names the same file ------------------

_LOADED: Dict[str, Any] = {}
_LOAD_LOCK = threading.Lock()


def _load_once(kind: str, spec: str, loader: Callable[[str], Any]) -> Any:
    path = resolve_model(spec)
    key = f"{kind}:{os.path.realpath(path)}"
    with _LOAD_LOCK:
        model = _LOADED.get(key)
        if model is None:
            try:
                model = _LOADED[key] = loader(path)
            except ValueError as exc:  # fastText's message for a file that is not a model
                raise ModelNotFound(f"model {spec!r} ({path}) cannot be loaded: {exc}") from None
    return model


def load_fasttext(spec: str) -> Any:
    """A fastText model (``fasttext.FastText._FastText``), loaded once per process."""
    from fasttext.FastText import _FastText  # the class itself: load_model() prints a warning per load

    return _load_once("fasttext", spec, lambda path: _FastText(model_path=path))
