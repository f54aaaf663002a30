"""environment.yml gives conda users what pyproject.toml gives pip users."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip().strip('"'), maxsplit=1)[0].lower()


def test_environment_lists_every_runtime_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): r for r in project["dependencies"]}
    text = (ROOT / "environment.yml").read_text()
    listed = {_name(m) for m in re.findall(r"^\s*-\s+(\"?[A-Za-z][^\n#]*)$", text, re.M)}
    assert set(wanted) <= listed, f"missing from environment.yml: {set(wanted) - listed}"
    for requirement in project["dependencies"]:
        assert f'"{requirement}"' in text, f"{requirement} differs in environment.yml"
    assert "-e .[dev]" in text


def test_required_packages_are_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    assert {
        "jupyterlab",
        "stripe",
        "pandas",
        "papermill",
        "ipywidgets",
        "nbval",
        "python-dotenv",
    } <= names
    assert project["requires-python"] == ">=3.11"
    assert any(r.startswith("stripe>=16") and "<17" in r for r in project["dependencies"])
