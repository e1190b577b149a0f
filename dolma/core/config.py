"""Typed configs: a msgspec Struct per command, merged from defaults, a YAML/JSON file and ``--dotted.key`` flags.

Errors are one line naming the key and what was expected. YAML is loaded with ``safe_load``. A single string
where a list is expected is taken as a one-element list (Dolma's configs rely on this).

Every key is described by the docstring that follows its field (``field_descriptions`` reads them for
``dolma <command> --help``). A config checks its own values in ``__post_init__`` (a bad value, or keys that
contradict each other), so every config, however it was made, is one a stage can trust; whether a run has what it
needs (``documents``, ``destination``...) is checked by the stage, so that defaults stay a valid config.
"""

from __future__ import annotations

import ast
import difflib
import functools
import inspect
import json
import logging
import os
import re
import textwrap
from typing import Any, ClassVar, Dict, List, Literal, Optional, Sequence, Type, TypeVar

import msgspec

from dolma.core.errors import ConfigError
from dolma.core.interpolate import interpolate

__all__ = [
    "ConfigStruct",
    "WorkDirConfig",
    "ExecutorConfig",
    "ProfileConfig",
    "StageOptions",
    "OnErrorOptions",
    "field_descriptions",
    "shared_keys",
    "load_file",
    "parse_flags",
    "resolve",
    "to_dict",
    "render",
]

S = TypeVar("S", bound=msgspec.Struct)

log = logging.getLogger("dolma")


class ConfigStruct(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every config schema: unknown keys are errors."""

    inert_keys: ClassVar[Dict[str, str]] = {}
    """Top-level keys accepted so Dolma's configs load that have no effect here, each with what happens instead:
    ``resolve`` warns when a config sets one."""
    key_notes: ClassVar[Dict[str, str]] = {}
    """What a shared key (``StageOptions``) means for this command in particular; ``--help`` adds it to the key's
    own description."""


class WorkDirConfig(ConfigStruct):
    """Dolma's scratch folders; accepted for compatibility. Outputs are published atomically next to their final
    location, so nothing needs them."""

    input: Optional[str] = None
    """Dolma's scratch folder for inputs; accepted, not used."""
    output: Optional[str] = None
    """Dolma's scratch folder for outputs; accepted, not used."""


class ExecutorConfig(ConfigStruct):
    """Where a stage's work units run: ``local`` (process pool) or ``ray`` (a Ray cluster)."""

    backend: Literal["local", "ray"] = "local"
    """local: a pool of `processes` worker processes on this machine; ray: Ray workers (`processes` in all)."""
    address: Optional[str] = None
    """Ray cluster address (`auto`: the running cluster; `ray://host:10001`); none starts a local one."""
    num_cpus_per_worker: Optional[float] = None
    """CPUs Ray reserves for each worker; none: what the stage declares (1 for every stage today)."""
    memory_per_worker_mb: Optional[int] = None
    """Memory Ray reserves for each worker, so that a node is not given more workers than it can hold; none: what
    the stage declares from its measured peak (a dedupe partition: its Bloom filter and its processes)."""
    max_retries: int = 3
    """Times a unit runs again after a transient storage error outlasted the per-request retries, or (Ray) after
    its worker died; units publish nothing until they finish, so a retry cannot duplicate output."""


class ProfileConfig(ConfigStruct):
    """Dolma's profiling options: cProfile around the run's work, which then runs in this one process."""

    enable: bool = False
    """Profile the run (the work then runs in this process, whatever `processes` says; on Ray: the driver)."""
    output: Optional[str] = None
    """File the statistics are written to; none: standard output."""
    steps: Optional[int] = None
    """Dolma's option; accepted, not used: the whole run is profiled."""
    sort_key: str = "tottime"
    """pstats sort key of the listing (`tottime`, `cumulative`, `calls`...)."""
    lines: int = 100
    """Lines of the listing printed."""


class StageOptions(ConfigStruct):
    """The keys every stage command shares, with Dolma's names; each stage's config subclasses it (or
    ``OnErrorOptions``) and adds its own keys."""

    processes: int = 1
    """Worker processes (on Ray: workers in all); 1 runs the work in the command's own process."""
    ignore_existing: bool = False
    """Redo work units even when their manifests say they are done with the same config."""
    debug: bool = False
    """Log at DEBUG level, and report failed units with their tracebacks."""
    dryrun: bool = False
    """Print the resolved config and how much work there is, then stop without reading or writing data."""
    wait_for_lock: bool = False
    """When another live run holds the lock of an output folder: wait for it to finish instead of failing."""
    executor: ExecutorConfig = msgspec.field(default_factory=ExecutorConfig)
    """Where the work units run: `backend: local` (default, a process pool) or `ray` (a Ray cluster)."""
    profile: ProfileConfig = msgspec.field(default_factory=ProfileConfig)
    """Dolma's cProfile options (`profile.enable`); see the keys below."""
    work_dir: WorkDirConfig = msgspec.field(default_factory=WorkDirConfig)
    """Dolma's scratch folders; accepted, not needed: outputs are published atomically in place."""

    def __post_init__(self) -> None:
        if self.processes < 1:
            raise ConfigError(f"`processes`: expected a positive number, got {self.processes}")


class OnErrorOptions(StageOptions):
    """``StageOptions`` and ``on_error``, for the stages that read documents (or records) which can be bad."""

    on_error: Literal["fail", "skip"] = "fail"
    """fail: a bad input line fails its file (its unit), the rest still run; skip: bad lines go to a quarantine
    file beside the output and are counted."""
    max_document_bytes: Optional[int] = 64 * 1024 * 1024
    """A document line longer than this (in bytes) is not read: it goes to the quarantine file with its size and
    first KiB, whatever `on_error` says, so one huge document cannot take a worker's memory; null: no limit."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_document_bytes is not None and self.max_document_bytes < 1:
            raise ConfigError(f"`max_document_bytes`: expected a positive number or null, got {self.max_document_bytes}")


def shared_keys(schema: type) -> Sequence[str]:
    """The keys of ``schema`` that come from ``StageOptions`` (or ``OnErrorOptions``); none for other configs."""
    for base in (OnErrorOptions, StageOptions):
        if isinstance(schema, type) and issubclass(schema, base):
            return base.__struct_fields__
    return ()


@functools.lru_cache(maxsize=None)
def _own_descriptions(cls: type) -> Dict[str, str]:
    """The docstrings written right after the fields of ``cls`` (not its bases), as one line each."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    out: Dict[str, str] = {}
    for stmt, after in zip(body, body[1:]):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            out[stmt.target.id] = " ".join(after.value.value.split())
    return out


def field_descriptions(schema: type) -> Dict[str, str]:
    """Each field of a Struct class (by attribute name) → the one-line docstring that follows it, from the class
    or the nearest base that has one; fields without one are left out."""
    out: Dict[str, str] = {}
    for cls in reversed(schema.__mro__):
        if isinstance(cls, type) and issubclass(cls, msgspec.Struct):
            out.update(_own_descriptions(cls))
    fields = set(getattr(schema, "__struct_fields__", ()))
    return {k: v for k, v in out.items() if k in fields}


def _yaml() -> Any:
    """PyYAML, imported when YAML is first read or written (~35 ms of start-up): a run from a JSON config file
    needs none of it."""
    import yaml

    return yaml


def load_file(path: str) -> Dict[str, Any]:
    """A YAML or JSON config file as a dict (``.json`` is parsed as JSON, anything else as YAML)."""
    try:
        with open(os.path.expanduser(path), "r", encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    if path.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        return _mapping(data, path)
    yaml = _yaml()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    return _mapping(data, path)


def _mapping(data: Any, path: str) -> Dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping of keys to values, not {type(data).__name__}")
    return data


# --- schema walking ----------------------------------------------------------------------------------------


def _strip_optional(t: Any) -> Any:
    if isinstance(t, msgspec.inspect.UnionType):
        rest = [x for x in t.types if not isinstance(x, msgspec.inspect.NoneType)]
        if len(rest) == 1:
            return rest[0]
    return t


def _struct_fields(t: Any) -> Optional[Dict[str, Any]]:
    t = _strip_optional(t)
    if isinstance(t, msgspec.inspect.StructType):
        return {f.encode_name: f.type for f in t.fields}
    return None


def _field_type(schema: Type[msgspec.Struct], dotted: str) -> Any:
    """The msgspec type of ``dotted`` in ``schema``; ``Any`` inside free-form dicts; ConfigError if unknown."""
    t: Any = msgspec.inspect.type_info(schema)
    walked: List[str] = []
    for part in dotted.split("."):
        fields = _struct_fields(t)
        if fields is None:
            if isinstance(_strip_optional(t), (msgspec.inspect.DictType, msgspec.inspect.AnyType)):
                return msgspec.inspect.AnyType()
            raise ConfigError(f"unknown key `{dotted}`: `{'.'.join(walked)}` has no sub-keys")
        if part not in fields:
            raise ConfigError(_unknown_key_message(".".join(walked + [part]), list(fields)))
        t = fields[part]
        walked.append(part)
    return t


def _unknown_key_message(key: str, known: List[str]) -> str:
    leaf = key.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(leaf, known, n=1)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    return f"unknown key `{key}`{hint} (known here: {', '.join(sorted(known))})"


def _is_list(t: Any) -> bool:
    return isinstance(_strip_optional(t), (msgspec.inspect.ListType, msgspec.inspect.TupleType, msgspec.inspect.VarTupleType))


def _is_bool(t: Any) -> bool:
    return isinstance(_strip_optional(t), msgspec.inspect.BoolType)


def _normalise(t: Any, value: Any, key: str) -> Any:
    """Wrap lone strings given for list fields; recurse into nested structs; report unknown keys by name."""
    fields = _struct_fields(t)
    if fields is not None and isinstance(value, dict):
        out = {}
        for k, v in value.items():
            sub = f"{key}.{k}" if key else str(k)
            if k not in fields:
                raise ConfigError(_unknown_key_message(sub, list(fields)))
            out[k] = _normalise(fields[k], v, sub)
        return out
    if _is_list(t) and isinstance(value, str):
        return [value]
    return value


# --- flags ---------------------------------------------------------------------------------------------------

_FLAG = re.compile(r"^--([A-Za-z_][\w.-]*)(?:=(.*))?$", re.S)


def _scalar(text: str) -> Any:
    """A flag value for a free-form field, read as a YAML scalar (``3`` → 3, ``true`` → True, ``a`` → "a")."""
    yaml = _yaml()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_flags(schema: Type[msgspec.Struct], args: Sequence[str]) -> Dict[str, Any]:
    """``--a.b value``, ``--a.b=value``, ``--flag``/``--no-flag``, ``--list v1 v2 ...`` → a nested dict."""
    out: Dict[str, Any] = {}
    i = 0
    while i < len(args):
        m = _FLAG.match(args[i])
        if m is None:
            raise ConfigError(f"unexpected argument {args[i]!r}: expected --key value")
        key, inline = m.group(1).replace("-", "_"), m.group(2)
        i += 1
        values: List[str] = [] if inline is None else [inline]
        while inline is None and i < len(args) and not _FLAG.match(args[i]):
            values.append(args[i])
            i += 1
        negated = False
        try:
            t = _field_type(schema, key)
        except ConfigError:
            if not key.startswith("no_"):
                raise
            t, key, negated = _field_type(schema, key[3:]), key[3:], True
            if not _is_bool(t):
                raise ConfigError(f"--no-{key}: `{key}` is not a true/false option") from None
        if _is_bool(t):
            if negated and values:
                raise ConfigError(f"--no-{key} takes no value")
            if len(values) > 1:
                raise ConfigError(f"--{key} takes at most one value (true or false), got {len(values)}")
            value: Any = (not negated) if not values else _bool(key, values[0])
        elif _is_list(t):
            value = values
        elif len(values) != 1:
            raise ConfigError(f"--{key} takes exactly one value, got {len(values)}")
        elif isinstance(t, msgspec.inspect.AnyType) or isinstance(_strip_optional(t), msgspec.inspect.DictType):
            value = _scalar(values[0])
        else:
            value = values[0]
        _set(out, key.split("."), value)
    return out


def _bool(key: str, text: str) -> bool:
    low = text.lower()
    if low in ("true", "yes", "1", "on"):
        return True
    if low in ("false", "no", "0", "off"):
        return False
    raise ConfigError(f"--{key}: expected true or false, got {text!r}")


def _set(tree: Dict[str, Any], parts: List[str], value: Any) -> None:
    for part in parts[:-1]:
        node = tree.get(part)
        if not isinstance(node, dict):
            node = tree[part] = {}
        tree = node
    tree[parts[-1]] = value


def _merge(base: Dict[str, Any], over: Dict[str, Any]) -> Dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


_PATH_IN_ERROR = re.compile(r" - at `\$\.?(.*)`$")


def resolve(
    schema: Type[S],
    file_data: Optional[Dict[str, Any]] = None,
    flags: Optional[Dict[str, Any]] = None,
    interpolation: bool = False,
) -> S:
    """Defaults, then the file, then the flags; with ``interpolation``, OmegaConf-style ``${...}`` in their strings
    resolved (:mod:`dolma.core.interpolate`: environment variables, other keys; never evaluated); validated into
    ``schema``. The command line resolves interpolation once, on what the user wrote; configs a program builds
    from resolved ones (the pipeline's stages) are taken as they are."""
    merged = _merge(file_data or {}, flags or {})
    if interpolation:
        merged = interpolate(merged)
    merged = _normalise(msgspec.inspect.type_info(schema), merged, "")
    try:
        config = msgspec.convert(merged, schema, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_validation_message(schema, str(exc))) from None
    for key, instead in getattr(schema, "inert_keys", {}).items():
        if key in merged:
            log.warning("`%s` has no effect here: %s", key, instead)
    return config


def _validation_message(schema: Type[msgspec.Struct], msg: str) -> str:
    m = _PATH_IN_ERROR.search(msg)
    where = ""
    if m:
        where = re.sub(r"\[(\d+)\]", r"[\1]", m.group(1))
        msg = msg[: m.start()]
    if msg.startswith("Object missing required field"):
        field = msg.split("`")[1]
        key = f"{where}.{field}" if where else field
        return f"missing required key `{key}`"
    if msg.startswith("Invalid enum value"):
        choices = _literal_choices(schema, re.sub(r"\[\d+\]", "", where))
        if choices:
            got = msg[len("Invalid enum value ") :]
            msg = f"expected one of {', '.join(repr(c) for c in choices)}, got {got}"
    msg = msg.replace("Expected", "expected").replace("`", "")
    return f"`{where}`: {msg}" if where else msg


def _literal_choices(schema: Type[msgspec.Struct], dotted: str) -> List[Any]:
    try:
        t = _strip_optional(_field_type(schema, dotted))
    except ConfigError:
        return []
    return list(t.values) if isinstance(t, msgspec.inspect.LiteralType) else []


def to_dict(config: msgspec.Struct) -> Dict[str, Any]:
    return msgspec.to_builtins(config)


def render(config: msgspec.Struct) -> str:
    """The resolved config as YAML (what ``--dryrun`` prints): the command's own keys, then the shared ones."""
    data = to_dict(config)
    shared = shared_keys(type(config))
    data = {**{k: v for k, v in data.items() if k not in shared}, **{k: v for k, v in data.items() if k in shared}}
    return _yaml().safe_dump(data, sort_keys=False, default_flow_style=False)
