"""``dolma import``, ``dolma warc`` and ``dolma export``."""

from __future__ import annotations

import logging
import sys
from typing import Any, Callable, List, Optional

from dolma.commands import Command, profiled, summarise
from dolma.config import render
from dolma.executor import WorkUnit, execute
from dolma.readers.config import ExportConfig, ImportConfig, WarcConfig

__all__ = ["IMPORT", "WARC", "EXPORT"]

log = logging.getLogger("dolma")


def _execute(name: str, config: Any, stage: Any, units: List[WorkUnit], after: Optional[Callable[[], Any]] = None) -> int:
    """Run the units; ``after`` runs once every unit succeeded (run-wide checks, dataset folder files)."""
    if config.dryrun:
        print(render(config), end="")
        print(f"# {len(units)} unit(s) to {name}", file=sys.stderr)
        return 0
    processes = config.processes
    if config.profile.enable and processes > 1:
        log.info("profiling runs the work in this process: using 1 process")
        processes = 1
    with profiled(config.profile):
        report = execute(
            stage, units, processes, config.ignore_existing, debug=config.debug, executor=config.executor
        )
    code = summarise(name, report)
    if code == 0 and after is not None:
        after()
    return code


def run_import(config: ImportConfig) -> int:
    from dolma.readers.stage import ImportStage, report_duplicates

    stage = ImportStage(config)
    units = stage.units()
    return _execute("import", config, stage, units, lambda: report_duplicates(units))


def run_warc(config: WarcConfig) -> int:
    from dolma.readers.stage import WarcStage, report_duplicates

    stage = WarcStage(config)
    units = stage.units()
    return _execute("warc", config, stage, units, lambda: report_duplicates(units))


def run_export(config: ExportConfig) -> int:
    from dolma.readers.export import ExportStage, finish_hf_folder

    stage = ExportStage(config)
    units = stage.units()
    after = (lambda: finish_hf_folder(stage.destination, units)) if config.format == "hf" else None
    return _execute("export", config, stage, units, after)


IMPORT = Command(ImportConfig, run_import, "convert Parquet, Hugging Face datasets, JSONL or loose files to documents")
WARC = Command(WarcConfig, run_warc, "extract documents from WARC/ARC web archives (HTML to text)")
EXPORT = Command(ExportConfig, run_export, "export documents to Parquet files or a Hugging Face dataset folder")
