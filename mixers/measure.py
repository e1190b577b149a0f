"""The measuring pass of a mix with targets: what each targeted stream keeps after its filters, before sampling
(documents, text bytes and whitespace tokens), from which :func:`dolma.mixers.targets.resolve_rates` sets the
sampling rates. It reads the mix's units of the targeted streams through the same rules as the mix."""

from __future__ import annotations

from typing import Any, Dict, List

from dolma.core.errors import UnitsFailed
from dolma.core.executor import execute
from dolma.core.runner import summarise, work_processes
from dolma.core.units import Progress, Resources, Stage, WorkUnit
from dolma.mixers.config import MixConfig
from dolma.mixers.documents import StreamRules
from dolma.mixers.lines import text_measures
from dolma.mixers.plan import MixUnit, mix_resources, work_units

__all__ = ["MeasureStage", "measure"]


class MeasureStage(Stage[MixUnit]):
    """Documents, text bytes and whitespace tokens each targeted stream keeps before sampling. Its units are the
    mix's units of the targeted streams; it writes nothing, so it is never done."""

    name = "mix (measuring targets)"
    @property
    def resources(self) -> Resources:  # type: ignore[override]
        return mix_resources(self.config)

    def __init__(self, config: MixConfig) -> None:
        self.config = config
        self._rules: List[StreamRules] = []

    def __getstate__(self) -> Dict[str, Any]:
        return {**self.__dict__, "_rules": []}

    def units(self) -> List[WorkUnit[MixUnit]]:
        targeted = {s for s, stream in enumerate(self.config.streams) if stream.target is not None}
        return [u for u in work_units(self.config) if u.payload.stream in targeted]

    def is_done(self, unit: WorkUnit[MixUnit]) -> bool:
        return False

    def setup(self) -> None:
        config = self.config
        self._rules = [
            StreamRules(s, config.on_error, config.regex_timeout, config.max_document_bytes) for s in config.streams
        ]

    def run(self, unit: WorkUnit[MixUnit], progress: Progress) -> Dict[str, int]:
        if not self._rules:
            self.setup()
        mix_unit = unit.payload
        rules = self._rules[mix_unit.stream]
        totals = {"documents_kept": 0, "text_bytes": 0, "text_tokens": 0, "documents_in": 0, "bytes_in": 0}
        for doc_path, attr_paths in zip(mix_unit.documents, mix_unit.attributes):
            for docs, counts in rules.batches(doc_path, attr_paths, [], None, progress):
                totals["documents_kept"] += len(docs)
                totals["documents_in"] += counts["documents_in"]
                totals["bytes_in"] += counts["bytes_in"]
                for _, doc in docs:
                    size, words = text_measures(doc["text"])  # a long text a slice at a time
                    totals["text_bytes"] += size
                    totals["text_tokens"] += words
        return totals


def measure(config: MixConfig) -> Dict[str, Dict[str, int]]:
    """What each targeted stream holds after filtering, from a measuring pass over its inputs (on the configured
    executor); a failed pass prints its failures and raises :class:`UnitsFailed`."""
    stage = MeasureStage(config)
    units = stage.units()
    report = execute(stage, units, work_processes(config), ignore_existing=True, debug=config.debug,
                     executor=config.executor)
    if not report.ok:
        summarise(stage.name, report)
        raise UnitsFailed(f"{stage.name}: {len(report.failed)} file(s) failed")
    measured: Dict[str, Dict[str, int]] = {config.streams[u.payload.stream].name: {} for u in units}
    by_key = {u.key: config.streams[u.payload.stream].name for u in units}
    for key, counts in report.done:
        totals = measured[by_key[key]]
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
    return measured
