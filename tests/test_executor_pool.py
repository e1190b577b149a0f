"""The local process pool: a worker that dies costs only the unit it held. (With one process, units run in the
command's own process, where nothing can outlive such a unit.)"""

import os

from dolma.core.executor import execute
from dolma.core.units import Stage, WorkUnit


class _Stage(Stage):
    """Writes one file per unit. Unit ``dies-once`` kills its worker the first time (a marker file remembers);
    unit ``poison`` kills every worker that runs it."""

    name = "test"
    ordered = True

    def __init__(self, root: str) -> None:
        self.root = root

    def units(self) -> list:
        return []

    def is_done(self, unit: WorkUnit) -> bool:
        return False

    def run(self, unit: WorkUnit, progress) -> dict:
        marker = os.path.join(self.root, "died-once")
        if unit.key == "poison" or (unit.key == "dies-once" and not os.path.exists(marker)):
            open(marker, "w").close()
            os._exit(3)
        progress.update(docs=1)
        with open(os.path.join(self.root, f"{unit.key}.out"), "w") as f:
            f.write(unit.key)
        return {"documents_in": 1}


def test_a_unit_whose_worker_dies_runs_again_and_the_others_go_on(tmp_path, caplog):
    caplog.set_level("WARNING", logger="dolma")
    units = [WorkUnit(k) for k in ("a", "dies-once", "b", "c", "d")]
    report = execute(_Stage(str(tmp_path)), units, processes=2, ignore_existing=True)
    assert report.ok and sorted(k for k, _ in report.done) == ["a", "b", "c", "d", "dies-once"]
    assert "dies-once: its worker process died (exit code 3); running the unit again" in caplog.text


def test_a_unit_that_kills_every_worker_fails_alone_with_the_reason(tmp_path):
    units = [WorkUnit(k) for k in ("a", "poison", "b", "c", "d", "e")]
    report = execute(_Stage(str(tmp_path)), units, processes=2, ignore_existing=True)
    assert sorted(k for k, _ in report.done) == ["a", "b", "c", "d", "e"]
    assert report.failed == [("poison", "worker process died (exit code 3), 4 time(s)")]
