"""Tagger registry: names → tagger classes, filled by the packages that declare taggers and by plugin modules.

A plugin is any module that registers taggers with ``@add_tagger("name")`` when imported. Taggers reach the
registry two ways: ``tagger_modules`` in a config (module names or ``.py`` paths), or an installed package that
declares an entry point in the ``dolma.taggers`` group (the entry point may name a module, which is imported, or
a tagger class, which is registered under the entry point's name). The built-in taggers are such a package.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Dict, Generic, Iterable, Iterator, List, Mapping, Optional, Tuple, Type, TypeVar

import msgspec

from dolma.core.errors import ConfigError
from dolma.core.taggers import BaseTagger

__all__ = ["BaseRegistry", "TaggerRegistry", "TaggerSpec", "add_tagger", "load_plugins", "tagger_spec", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "dolma.taggers"

T = TypeVar("T", bound=Type[BaseTagger])
R = TypeVar("R")


class BaseRegistry(Generic[R]):
    """Dolma's generic name → object registry: each subclass keeps its own names.

    ``add(name)`` is a decorator; adding the same object twice under a name is fine, another object is a
    ValueError, and so is ``get`` of an unknown name.
    """

    _registry_storage: Dict[str, R]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._registry_storage = {}

    @classmethod
    def add(cls, name: str) -> Callable[[R], R]:
        def register(obj: R) -> R:
            existing = cls._registry_storage.get(name)
            if existing is not None and existing is not obj:
                raise ValueError(f"{name!r} is already registered in {cls.__name__} (as {existing!r})")
            cls._registry_storage[name] = obj
            return obj

        return register

    @classmethod
    def remove(cls, name: str) -> bool:
        return cls._registry_storage.pop(name, None) is not None

    @classmethod
    def has(cls, name: str) -> bool:
        return name in cls._registry_storage

    @classmethod
    def get(cls, name: str) -> R:
        if name not in cls._registry_storage:
            known = ", ".join(sorted(cls._registry_storage))
            raise ValueError(f"unknown name {name!r} in {cls.__name__} (known: {known})")
        return cls._registry_storage[name]

    @classmethod
    def items(cls) -> Iterator[Tuple[str, R]]:
        yield from sorted(cls._registry_storage.items())


class TaggerRegistry:
    """Class-level registry, as in Dolma: ``TaggerRegistry.add(name)`` is a class decorator."""

    _taggers: Dict[str, Type[BaseTagger]] = {}
    _entry_points_loaded = False

    @classmethod
    def add(cls, name: str) -> Callable[[T], T]:
        def register(tagger_cls: T) -> T:
            if not (isinstance(tagger_cls, type) and issubclass(tagger_cls, BaseTagger)):
                raise TypeError(f"tagger {name!r}: {tagger_cls!r} is not a BaseTagger subclass")
            existing = cls._taggers.get(name)
            if existing is not None and existing is not tagger_cls and not _same_class(existing, tagger_cls):
                raise ValueError(
                    f"tagger name {name!r} is already taken by {existing.__module__}.{existing.__qualname__}"
                )
            cls._taggers[name] = tagger_cls
            return tagger_cls

        return register

    @classmethod
    def remove(cls, name: str) -> None:
        cls._taggers.pop(name, None)

    @classmethod
    def has(cls, name: str) -> bool:
        cls._ensure_loaded()
        return name in cls._taggers

    @classmethod
    def get(cls, name: str) -> Type[BaseTagger]:
        cls._ensure_loaded()
        try:
            return cls._taggers[name]
        except KeyError:
            raise ConfigError(
                f"unknown tagger {name!r}; `dolma list` shows the registered taggers "
                "(is a plugin missing from tagger_modules?)"
            ) from None

    @classmethod
    def items(cls) -> List[Tuple[str, Type[BaseTagger]]]:
        cls._ensure_loaded()
        return sorted(cls._taggers.items())

    @classmethod
    def _ensure_loaded(cls) -> None:
        # every tagger package registers through the entry points, read once per process: ours
        # (`dolma.taggers.builtin`) like any plugin package, so the core knows no stage
        if not cls._entry_points_loaded:
            cls._entry_points_loaded = True
            load_entry_points()


def _same_class(a: type, b: type) -> bool:
    """A module imported twice (once by name, once by path) defines equal but distinct classes: not a clash."""
    file_a = getattr(sys.modules.get(a.__module__), "__file__", None)
    file_b = getattr(sys.modules.get(b.__module__), "__file__", None)
    return a.__qualname__ == b.__qualname__ and file_a is not None and file_a == file_b


def add_tagger(name: str) -> Callable[[T], T]:
    """Register a tagger class under ``name`` (Dolma's ``dolma.add_tagger``)."""
    return TaggerRegistry.add(name)


def load_entry_points() -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin package must say which one it is
            raise ConfigError(f"tagger entry point {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if isinstance(obj, type) and issubclass(obj, BaseTagger):
            TaggerRegistry.add(ep.name)(obj)


def load_plugins(modules: Iterable[str]) -> None:
    """Import each plugin: a dotted module name, or a path to a ``.py`` file or a package folder."""
    for spec in modules:
        _import_plugin(spec)


def _import_plugin(spec: str) -> None:
    path = Path(spec).expanduser()
    looks_like_path = spec.endswith(".py") or "/" in spec or path.exists()
    if not looks_like_path:
        try:
            importlib.import_module(spec)
        except ImportError as exc:
            raise ConfigError(f"tagger_modules: cannot import module {spec!r}: {exc}") from exc
        return
    if not path.exists():
        raise ConfigError(f"tagger_modules: no such file or folder {spec!r}")
    path = path.resolve()
    if path.is_dir():
        # a package folder: import it by name with its parent on sys.path
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
        try:
            importlib.import_module(path.name)
        except ImportError as exc:
            raise ConfigError(f"tagger_modules: cannot import package {spec!r}: {exc}") from exc
        return
    # a single file: a stable module name derived from its path, so a re-import is a no-op
    name = f"dolma_plugin_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ConfigError(f"tagger_modules: cannot load {spec!r} as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    # let the plugin import its sibling modules
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ConfigError(f"tagger_modules: importing {spec!r} failed: {type(exc).__name__}: {exc}") from exc


class TaggerSpec(msgspec.Struct, frozen=True):
    """How to build one configured tagger: its class, and its validated options (None: it takes none)."""

    name: str
    cls: Type[BaseTagger]
    options: Optional[msgspec.Struct] = None
    base: Optional[str] = None  # the registered tagger a named instance is built from

    def build(self) -> BaseTagger:
        return self.cls() if self.options is None else self.cls(self.options)  # type: ignore[call-arg]

    def describe(self) -> Dict[str, Any]:
        """What the manifest's config hash covers for this tagger (empty for taggers without options)."""
        if self.options is None and self.base is None:
            return {}
        out: Dict[str, Any] = {"tagger": self.base or self.name}
        if self.options is not None:
            out["options"] = msgspec.to_builtins(self.options)
            content = self.cls.content_of(self.options)
            if content is not None:
                out["content"] = content
        return out


def tagger_spec(name: str, raw: Optional[Mapping[str, Any]] = None) -> TaggerSpec:
    """Resolve ``name`` and its ``tagger_options`` entry.

    ``raw`` may hold ``tagger: <registered name>``: then ``name`` is a new instance of that tagger with its own
    options (two classifiers side by side), and its attributes are named after ``name``.
    """
    options = dict(raw or {})
    base = options.pop("tagger", None)
    where = f"tagger_options.{name}"
    if base is not None:
        if not isinstance(base, str):
            raise ConfigError(f"`{where}.tagger`: expected a tagger name, got {base!r}")
        if base != name and TaggerRegistry.has(name):
            raise ConfigError(f"`{where}.tagger`: {name!r} is a registered tagger; pick another name for the instance")
        cls = TaggerRegistry.get(base)
    else:
        cls = TaggerRegistry.get(name)
    schema = cls.Options
    if schema is None:
        if options:
            raise ConfigError(f"`{where}`: tagger {name!r} takes no options (got {', '.join(sorted(options))})")
        return TaggerSpec(name, cls, None, base)
    try:
        return TaggerSpec(name, cls, msgspec.convert(options, schema, strict=False), base)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"`{where}`: {_option_error(exc, schema)}") from None


def _option_error(exc: msgspec.ValidationError, schema: type) -> str:
    msg = str(exc)
    if msg.startswith("Object contains unknown field"):
        field = msg.split("`")[1]
        known = ", ".join(f.encode_name for f in msgspec.inspect.type_info(schema).fields)  # type: ignore[attr-defined]
        return f"unknown option `{field}` (known: {known})"
    if msg.startswith("Object missing required field"):
        return f"missing required option `{msg.split('`')[1]}`"
    return msg.replace("`$.", "`").replace("Expected", "expected")
