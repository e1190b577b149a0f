"""``dolma import``, ``dolma warc`` and ``dolma export``."""

from __future__ import annotations

from dolma.core.runner import Command, run_units
from dolma.readers.config import ExportConfig, ImportConfig, WarcConfig

__all__ = ["IMPORT", "WARC", "EXPORT"]


def run_import(config: ImportConfig) -> int:
    from dolma.readers.stage import ImportStage, report_duplicates

    stage = ImportStage(config)
    units = stage.units()
    return run_units("import", config, stage, units, lambda: report_duplicates(units))


def run_warc(config: WarcConfig) -> int:
    from dolma.readers.stage import WarcStage, report_duplicates

    stage = WarcStage(config)
    units = stage.units()
    return run_units("warc", config, stage, units, lambda: report_duplicates(units))


def run_export(config: ExportConfig) -> int:
    from dolma.readers.export import ExportStage, finish_hf_folder

    stage = ExportStage(config)
    units = stage.units()
    after = (lambda: finish_hf_folder(stage.destination, units)) if config.format == "hf" else None
    return run_units("export", config, stage, units, after)


IMPORT = Command(ImportConfig, run_import, "convert Parquet, Hugging Face datasets, JSONL or loose files to documents")
WARC = Command(WarcConfig, run_warc, "extract documents from WARC/ARC web archives (HTML to text)")
EXPORT = Command(ExportConfig, run_export, "export documents to Parquet files or a Hugging Face dataset folder")
