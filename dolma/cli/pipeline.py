"""``dolma pipeline -c recipe.yaml``: one file describes a corpus release; one command builds it.

The recipe names the sources and gives each stage's config (the same keys as the stage's own command). The
pipeline fills in the paths, so every output lands below ``output`` in Dolma's layout:

    <output>/<source>/documents/        each source's documents (copied, imported, or built)
    <output>/<source>/attributes/<set>/ tag (decon included) and dedupe attributes
    <output>/decon/index-<hash>/        the contamination index of the evaluation sets
    <output>/mixed/                     the mix's shards (streams default to the source of the same name)
    <output>/tokens/                    token files and their indexes
    <output>/lineage/                   the lineage index (`dolma trace`, `dolma remove`)
    <output>/report/                    report.md, report.html, plots/
    <output>/release.json               every file with its size and sha256 (`dolma verify <output>`)

Stages run in order: sources → decon index → tag (with the decon tagger) → dedupe → mix → tokens → lineage index →
report. A stage whose config is unchanged since it last finished is skipped (``<output>/.pipeline/<stage>.json``
records that); a stage that stopped part-way skips the units it finished. The pipeline knows stages only by command
name and config keys.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from typing import Any, Callable, Dict, List, Optional

import msgspec

from dolma.cli import commands
from dolma.core import io as dio
from dolma.core.runner import Command
from dolma.core.config import ConfigStruct, ExecutorConfig, resolve
from dolma.core.errors import ConfigError, DolmaError
from dolma.core.environment import check_environment, output_environment
from dolma.core.manifest import FileEntry, config_hash
from dolma.core.paths import glob_paths, glob_root, is_s3
from dolma.core.ray_executor import ray_session

__all__ = ["PipelineConfig", "SourceConfig", "run_pipeline", "PIPELINE"]

log = logging.getLogger("dolma")

STATE_DIR = ".pipeline"


class SourceConfig(ConfigStruct):
    name: str
    """The source's name: its folder in the release (<output>/<name>/documents/) and its documents' `source`."""
    documents: List[str] = msgspec.field(default_factory=list)
    """Dolma documents (local or s3://), copied into the release as they are."""
    import_: Optional[Dict[str, Any]] = msgspec.field(default=None, name="import")
    """A `dolma import` config (without destination/source): Parquet, HF datasets, JSONL, text/Markdown/HTML."""
    warc: Optional[Dict[str, Any]] = None
    """A `dolma warc` config (without destination/source_name)."""


class EmbeddedCorpusConfig(ConfigStruct):
    """Build the small corpus of `dolma sample-corpus` (sources code, prose, web) as the release's input."""

    max_files: int = 300
    """Standard-library source files read for the `code` and `prose` sources."""
    web_pages: int = 48
    """pydoc HTML pages rendered for the `web` source."""


class PipelineConfig(ConfigStruct):
    name: str = "release"
    """The release's name (in the datasheet's title)."""
    output: str = "release"
    """The local folder the release is built in."""
    sources: List[SourceConfig] = msgspec.field(default_factory=list)
    """The release's sources; each gives exactly one of `documents`, `import`, `warc`."""
    embedded_corpus: Optional[EmbeddedCorpusConfig] = None
    """Also build the sources of `dolma sample-corpus` (code, prose, web)."""
    decon: Optional[Dict[str, Any]] = None
    """A `dolma decon index` config (`output` filled in); the `decon` tagger then joins the tag stage with that
    index (into `tag.experiment`, or the set `decon` without a `tag` config), its options in `decon.tagger`. None:
    no decontamination."""
    tag: Optional[Dict[str, Any]] = None
    """A `dolma tag` config run over every source (`documents` filled in); none: no tagging."""
    dedupe: Optional[Dict[str, Any]] = None
    """A `dolma dedupe` config run over every source (`documents` and `bloom_filter.file` filled in)."""
    mix: Optional[Dict[str, Any]] = None
    """A `dolma mix` config; a stream's `documents` default to the source of its name, `output.path` to mixed/."""
    tokens: Optional[Dict[str, Any]] = None
    """A `dolma tokens` config over the mix (or the sources); `documents` and `destination` filled in."""
    report: Dict[str, Any] = msgspec.field(default_factory=dict)
    """`dolma report` keys (`title`, `max_attribute_files`); the datasheet is always written."""
    processes: int = 1
    """Default `processes` of every stage (a stage's own `processes` wins)."""
    executor: ExecutorConfig = msgspec.field(default_factory=ExecutorConfig)
    """Default `executor` of every stage (a stage's own `executor` wins); on Ray the stages share one connection."""
    dryrun: bool = False
    """Resolve every stage's config and say which stages would run, without running them."""
    debug: bool = False
    """Log at DEBUG level (and forward Ray's worker logs)."""


class _Run:
    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.out = config.output.rstrip("/")
        self.sources = self._source_names()
        self.inputs: List[FileEntry] = []

    def _source_names(self) -> List[str]:
        names = [s.name for s in self.config.sources]
        if self.config.embedded_corpus is not None:
            names = ["code", "prose", "web", *names]
        if not names:
            raise ConfigError("the recipe has no `sources` (and no `embedded_corpus`)")
        if len(set(names)) != len(names):
            raise ConfigError(f"`sources`: names must be unique, got {names}")
        return names

    def path(self, *parts: str) -> str:
        return "/".join([self.out, *parts])

    def documents_of(self, source: str) -> str:
        return self.path(source, "documents", "**", "*.jsonl.gz")

    # --- stage plumbing ---------------------------------------------------------------------------------------

    def stage(self, name: str, config: Dict[str, Any], command: Optional[str] = None) -> None:
        """Run ``dolma <command>`` with ``config``, unless it already finished with exactly this config."""
        command = command or name
        cmd = commands.command(command)
        fields = _fields(cmd.schema)
        if "processes" in fields:
            config = {"processes": self.config.processes, **config}
        if "executor" in fields and "executor" not in config:
            config["executor"] = msgspec.to_builtins(self.config.executor)
        try:
            resolved = resolve(cmd.schema, config)
        except ConfigError as exc:
            raise ConfigError(f"recipe `{name}`: {exc}") from None
        digest = config_hash(msgspec.to_builtins(resolved))
        state = self.path(STATE_DIR, f"{name}.json")
        finished = _read_state(state)
        if finished is not None and finished.get("config_hash") == digest:
            check_environment(finished.get("environment"), f"pipeline stage `{name}` ({state})")
            log.info("pipeline: %s is complete, skipping it", name)
            return
        if self.config.dryrun:
            log.info("pipeline: would run %s", name)
            return
        log.info("pipeline: running %s", name)
        code = cmd.run(resolved)
        if code != 0:
            raise DolmaError(f"pipeline stopped: stage `{name}` failed (exit {code}); rerun to resume")
        dio.write_bytes_atomic(
            state, msgspec.json.encode({"stage": name, "config_hash": digest, "environment": output_environment()})
        )

    # --- the stages ------------------------------------------------------------------------------------------

    def build_sources(self) -> None:
        if self.config.embedded_corpus is not None:
            embedded = self.config.embedded_corpus
            self.stage(
                "sample-corpus",
                {"destination": self.out, "max_files": embedded.max_files, "web_pages": embedded.web_pages},
            )
            self.stage(
                "web",
                {"documents": [self.path("raw", "web")], "destination": self.path("web"), "source": "web",
                 "format": "html"},
                command="import",
            )
        for source in self.config.sources:
            given = [bool(source.documents), source.import_ is not None, source.warc is not None]
            if sum(given) != 1:
                raise ConfigError(f"source `{source.name}`: give exactly one of `documents`, `import`, `warc`")
            if source.documents:
                self.inputs += _copy_documents(source.documents, self.path(source.name, "documents"))
            elif source.import_ is not None:
                config = {**source.import_, "destination": self.path(source.name), "source": source.name}
                self.stage(f"source-{source.name}", config, command="import")
            else:
                config = {**(source.warc or {}), "destination": [self.path(source.name)], "source_name": source.name}
                self.stage(f"source-{source.name}", config, command="warc")

    def all_documents(self) -> List[str]:
        return [self.documents_of(s) for s in self.sources]

    def decon_index(self) -> str:
        """The contamination index's folder, named after its config: a changed set list builds a new index."""
        config = {k: v for k, v in (self.config.decon or {}).items() if k != "tagger"}
        return self.path("decon", f"index-{config_hash(config)[:12]}")

    def decon(self) -> None:
        if self.config.decon is not None:
            config = {k: v for k, v in self.config.decon.items() if k != "tagger"}
            self.stage("decon-index", {**config, "output": self.decon_index()}, command="decon index")

    def tag(self) -> None:
        config = dict(self.config.tag) if self.config.tag is not None else None
        if self.config.decon is not None:
            # the decon tagger joins the tag pass (one read of the documents), or runs alone into the set `decon`
            config = config if config is not None else {"experiment": "decon"}
            options = {**(self.config.decon.get("tagger") or {}), "index": self.decon_index()}
            config["taggers"] = [*(config.get("taggers") or []), "decon"]
            config["tagger_options"] = {**(config.get("tagger_options") or {}), "decon": options}
        if config is not None:
            self.stage("tag", {"documents": self.all_documents(), **config})

    def dedupe(self) -> None:
        if self.config.dedupe is not None:
            config = dict(self.config.dedupe)
            bloom = dict(config.get("bloom_filter") or {})
            bloom.setdefault("file", self.path("dedupe", "bloom_filter.bin"))
            config["bloom_filter"] = bloom
            self.stage("dedupe", {"documents": self.all_documents(), **config})

    def mix(self) -> None:
        if self.config.mix is None:
            return
        config = dict(self.config.mix)
        streams = []
        for stream in config.get("streams") or []:
            stream = dict(stream)
            name = stream.get("name")
            if not stream.get("documents"):
                if name not in self.sources:
                    raise ConfigError(f"recipe `mix`: stream `{name}` names no source; give its `documents`")
                stream["documents"] = [self.documents_of(name)]
            output = dict(stream.get("output") or {})
            output.setdefault("path", self.path("mixed"))
            stream["output"] = output
            streams.append(stream)
        config["streams"] = streams
        self.stage("mix", config)

    def tokens(self) -> None:
        if self.config.tokens is not None:
            documents = [self.path("mixed", "*.jsonl.gz")] if self.config.mix is not None else self.all_documents()
            self.stage("tokens", {"documents": documents, "destination": self.path("tokens"), **self.config.tokens})

    def lineage(self) -> None:
        """The lineage index (`dolma trace`, `dolma remove`), from the mix's decisions and the token indexes."""
        from dolma.release.lineage import build_lineage

        if self.config.mix is not None and not self.config.dryrun:
            try:
                build_lineage(self.out)
            except ConfigError as exc:  # a mix whose streams write outside mixed/: no index, no trace
                log.warning("pipeline: no lineage index (dolma trace and dolma remove need one): %s", exc)

    def report(self) -> None:
        from dolma.release.verify import write_release_manifest
        from dolma.release.report import ReportConfig, write_report

        if self.config.dryrun:
            return
        report = resolve(ReportConfig, {"path": self.out, "output": self.path("report"),
                                        "title": f"{self.config.name}: corpus release datasheet", **self.config.report})
        write_report(report)
        if not is_s3(self.out):
            write_release_manifest(self.out, msgspec.to_builtins(self.config), self.inputs)


def _fields(schema: Any) -> List[str]:
    return [f.encode_name for f in msgspec.inspect.type_info(schema).fields]


def _read_state(path: str) -> Optional[Dict[str, Any]]:
    """What a finished stage recorded (its config hash and environment); ``None`` when absent or unreadable."""
    if not dio.exists(path):
        return None
    try:
        state = msgspec.json.decode(dio.read_bytes(path))
    except msgspec.DecodeError:
        return None
    return state if isinstance(state, dict) else None


def _copy_documents(patterns: List[str], destination: str) -> List[FileEntry]:
    """Copy (hard-link when possible) documents files into the release, keeping their path below the glob root;
    files already there with the same size are kept. Returns the inputs with size and sha256."""
    entries: List[FileEntry] = []
    for pattern in patterns:
        files = glob_paths(pattern)
        if not files:
            raise ConfigError(f"source documents: no files match {pattern!r}")
        root = glob_root(pattern)
        for path in files:
            rel = path[len(root):] if path.startswith(root) else os.path.basename(path)
            target = f"{destination}/{rel}"
            entries.append(_copy_one(path, target))
    return entries


def _copy_one(path: str, target: str) -> FileEntry:
    from dolma.release.verify import file_entry

    if not (os.path.exists(target) and not is_s3(path) and os.path.getsize(target) == os.path.getsize(path)):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{os.path.dirname(target)}/.{os.path.basename(target)}{dio.TMP_MARK}copy"
        if is_s3(path):
            with dio.open_raw(path) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        else:
            try:
                os.link(path, tmp)
            except OSError:
                shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    entry = file_entry(target)
    return FileEntry(path, entry.bytes, entry.sha256)


STEPS: List[Callable[[_Run], None]] = [
    _Run.build_sources, _Run.decon, _Run.tag, _Run.dedupe, _Run.mix, _Run.tokens, _Run.lineage, _Run.report,
]


def run_pipeline(config: PipelineConfig) -> int:
    if is_s3(config.output):
        raise ConfigError("`output`: a release is built in a local folder (copy it to S3 afterwards)")
    run = _Run(config)
    with ray_session(config.executor, config.debug) if not config.dryrun else contextlib.nullcontext():
        for step in STEPS:  # on Ray, the stages share one connection
            step(run)
    if not config.dryrun:
        log.info("pipeline: release ready in %s (report: %s/report/report.html; check it with `dolma verify %s`)",
                 run.out, run.out, run.out)
    return 0


PIPELINE = Command(PipelineConfig, run_pipeline, "build a whole corpus release from one recipe file")
