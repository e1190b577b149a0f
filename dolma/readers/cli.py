"""``dolma import``, ``dolma warc`` and ``dolma export``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dolma.core.runner import stage_command
from dolma.readers.config import ExportConfig, ImportConfig, WarcConfig

if TYPE_CHECKING:
    from dolma.readers.export import ExportStage
    from dolma.readers.stage import ImportStage, WarcStage

__all__ = ["IMPORT", "WARC", "EXPORT"]


def import_stage(config: ImportConfig) -> "ImportStage":
    from dolma.readers.stage import ImportStage

    return ImportStage(config)


def warc_stage(config: WarcConfig) -> "WarcStage":
    from dolma.readers.stage import WarcStage

    return WarcStage(config)


def export_stage(config: ExportConfig) -> "ExportStage":
    from dolma.readers.export import ExportStage

    return ExportStage(config)


IMPORT = stage_command(ImportConfig, import_stage, "convert Parquet, Hugging Face datasets, JSONL or loose files to documents")
WARC = stage_command(WarcConfig, warc_stage, "extract documents from WARC/ARC web archives (HTML to text)")
EXPORT = stage_command(ExportConfig, export_stage, "export documents to Parquet files or a Hugging Face dataset folder")
