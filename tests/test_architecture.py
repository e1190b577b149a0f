"""The layers of docs/architecture.md, checked on the source: what each package may import, and no import cycle.

Every ``import`` counts, also those inside functions (lazy imports hide cycles; they do not remove them).
"""

import ast
import os
from typing import Dict, List, Set

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# package folder → import name (pyproject's package-dir mapping)
ROOTS = {"dolma": "dolma", "taggers": "dolma.taggers", "mixers": "dolma.mixers", "dedup": "dolma.dedup"}
STAGES = ("dolma.taggers", "dolma.dedup", "dolma.mixers", "dolma.tokens", "dolma.readers", "dolma.decon")
# Dolma's module names for a stage's code, part of that stage (docs/compat.md)
STAGE_ALIASES = {"dolma.tokenizer": "dolma.tokens"}


def _modules() -> Dict[str, str]:
    found = {}
    for folder, package in ROOTS.items():
        for dirpath, _, names in os.walk(os.path.join(REPO, folder)):
            rel = os.path.relpath(dirpath, os.path.join(REPO, folder))
            if rel.startswith(("data", "__pycache__")) or "/__pycache__" in rel:
                continue
            for name in names:
                if name.endswith(".py"):
                    parts = [package] + ([] if rel == "." else rel.split(os.sep))
                    if name != "__init__.py":
                        parts.append(name[:-3])
                    found[".".join(parts)] = os.path.join(dirpath, name)
    return found


def _imports(modules: Dict[str, str]) -> Dict[str, Set[str]]:
    graph: Dict[str, Set[str]] = {}
    for module, path in modules.items():
        targets: Set[str] = set()
        tree = ast.parse(open(path, encoding="utf-8").read())
        for node in ast.walk(tree):
            names: List[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name and name != module and not _is_type_only(node, tree):
                    targets.add(name)
        graph[module] = targets
    return graph


def _is_type_only(node: ast.AST, tree: ast.Module) -> bool:
    """Imports under ``if TYPE_CHECKING:`` are for the type checker only."""
    for parent in ast.walk(tree):
        if isinstance(parent, ast.If) and getattr(parent.test, "id", None) == "TYPE_CHECKING":
            if any(child is node for child in ast.walk(parent)):
                return True
    return False


def _stage_of(module: str) -> str:
    for alias, stage in STAGE_ALIASES.items():
        if module == alias or module.startswith(alias + "."):
            return stage
    return next((s for s in STAGES if module == s or module.startswith(s + ".")), "")


MODULES = _modules()
GRAPH = _imports(MODULES)


def test_core_imports_no_stage_and_no_entry_point():
    for module, targets in GRAPH.items():
        if module.startswith("dolma.core"):
            bad = sorted(t for t in targets if not t.startswith("dolma.core"))
            assert not bad, f"{module} imports {bad}"


def test_stages_import_the_core_not_each_other():
    for module, targets in GRAPH.items():
        stage = _stage_of(module)
        if stage:
            bad = sorted(t for t in targets if _stage_of(t) not in ("", stage) or t.startswith(("dolma.cli", "dolma.release")))
            assert not bad, f"{module} imports {bad}"


def test_only_the_cli_imports_more_than_one_stage():
    for module, targets in GRAPH.items():
        if not module.startswith("dolma.cli"):
            stages = {_stage_of(t) for t in targets} - {"", _stage_of(module)}
            assert not stages, f"{module} imports stages {sorted(stages)}"


def test_no_import_cycle():
    state: Dict[str, int] = {}
    path: List[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(GRAPH.get(module, ())):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


def test_every_package_is_in_the_wheel():
    """pyproject lists its packages one by one (the package-dir mapping): a new subpackage missing from the list
    works in an editable install and is absent from a built wheel."""
    import pytest

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        listed = set(tomllib.load(f)["tool"]["setuptools"]["packages"])
    packages = {name for name, path in _modules().items() if path.endswith("__init__.py")}
    assert packages - listed == set()
