"""The sandbox's models depend on each other in one direction only: a cycle means two models
share behaviour that belongs to one of them. Read from the source with `ast`, so the check
needs no import linter and sees imports inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

import workbench.sandbox.models

MODELS = Path(workbench.sandbox.models.__file__).parent
PACKAGE = "workbench.sandbox.models"


def imported_models(path: Path) -> set[str]:
    """The sibling models a module imports, however it spells the import."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE + "."):
            found.add(node.module.split(".")[3])
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.split(".")[3]
                for alias in node.names
                if alias.name.startswith(PACKAGE + ".")
            )
    return found


def graph(folder: Path) -> dict[str, set[str]]:
    modules = {path.stem: path for path in folder.glob("*.py") if path.stem != "__init__"}
    return {name: imported_models(path) & modules.keys() for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle once, as the path that closes it (a -> b -> a)."""
    found, seen = [], set()

    def walk(node: str, path: list[str]) -> None:
        for after in sorted(edges[node]):
            if after in path:
                cycle = path[path.index(after) :] + [after]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    found.append(cycle)
            else:
                walk(after, path + [after])

    for start in sorted(edges):
        walk(start, [start])
    return found


def test_the_check_finds_a_cycle(tmp_path):
    (tmp_path / "a.py").write_text(f"from {PACKAGE} import b\n")
    (tmp_path / "b.py").write_text(f"def f():\n    from {PACKAGE}.c import x\n")
    (tmp_path / "c.py").write_text(f"import {PACKAGE}.a\n")
    assert cycles(graph(tmp_path)) == [["a", "b", "c", "a"]]


def test_models_import_each_other_without_cycles():
    edges = graph(MODELS)
    assert len(edges) > 5, "the models were found"
    assert cycles(edges) == []
