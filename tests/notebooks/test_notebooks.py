"""The notebooks as analysts and papermill run them, on the pinned sandbox (pinned.py):

- nbval re-runs every notebook with the current environment's kernel: every cell must run,
  and the cells marked `# NBVAL_CHECK_OUTPUT` (checks, totals, discrepancy counts) must
  show exactly the committed figures;
- papermill runs each with other parameters (the `eu` account, another month, another
  currency): no cell may fail;
- every committed notebook has exactly one `parameters` cell, and holds no key-like
  string, no absolute local path and no output over 1 MB.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from tests.notebooks import pinned

NOTEBOOKS = sorted(pinned.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
ROOT = pinned.NOTEBOOKS.parent
# Other values for whichever of these a notebook declares.
OTHER = {
    "account": "eu",
    "month": "2026-09",
    "currency": "eur",
    "start": "2026-09-01",
    "end": "2026-10-01",
    "as_of": "2026-11-20",
}
KEY_LIKE = re.compile(r"\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9]{6,}|\bwhsec_[A-Za-z0-9]{6,}")
ABSOLUTE = re.compile(r"(?<![\w.:/])/(?:home|root|tmp|work|Users|var|opt|private)/[\w.-]+")


def test_every_notebook_reruns_with_its_committed_figures(pinned_env, tmp_path):
    """nbval over every notebook, in a pytest of its own: its kernels get the pinned
    sandbox's environment, and this session's tests keep theirs."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(tmp_path / "nbval"),
            "-q",
            *[str(p) for p in NOTEBOOKS],
        ],
        cwd=ROOT,
        env=pinned_env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert f"{sum(len(code_cells(p)) for p in NOTEBOOKS)} passed" in run.stdout


def code_cells(path: Path) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_under_papermill_with_other_parameters(pinned_env, path, tmp_path, monkeypatch):
    declared = papermill.inspect_notebook(str(path))
    chosen = {name: value for name, value in OTHER.items() if name in declared}
    assert "account" in chosen
    for name, value in pinned_env.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / path.name
    papermill.execute_notebook(
        str(path),
        str(out),
        parameters=chosen,
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
        execution_timeout=300,
    )
    ran = nbformat.read(out, as_version=4)
    injected = [c for c in ran.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'account = "eu"' in injected[0].source
    errors = [o for c in ran.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exactly_one_parameters_cell_and_no_function_definitions(path):
    cells = nbformat.read(path, as_version=4).cells
    tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "writes" not in tagged[0].source or "writes = False" in tagged[0].source
    for cell in cells:
        if cell.cell_type == "code":
            assert not re.search(r"^\s*(def|class|lambda)\b", cell.source, re.M), cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_secret_no_local_path_no_huge_output(path):
    text = path.read_text(encoding="utf-8")
    assert not KEY_LIKE.findall(text)
    assert not ABSOLUTE.findall(text)
    for cell in json.loads(text)["cells"]:
        for output in cell.get("outputs", []):
            assert len(json.dumps(output)) < 1_000_000, cell["source"][:80]


def test_the_scan_finds_what_it_looks_for():
    """The patterns above, tried on strings they must and must not catch."""
    assert KEY_LIKE.findall("key sk_live_4eC39HqLyjWDarjtT1zdp7dc and whsec_abcdef123456")
    assert KEY_LIKE.findall("rk_test_51Hxyz0123")
    assert not KEY_LIKE.findall("sk_test_...ench, whsec_... and rk_live_...abcd")
    assert ABSOLUTE.findall('File "/work/wt-notebooks/workbench/x.py"')
    assert ABSOLUTE.findall("in /tmp/pytest-of-root/pinned0/orders.csv")
    assert not ABSOLUTE.findall("https://example.com/tmp/x and 2026/10/01")


CHARTS = re.compile(r"^plots\.(?!table)\w+\(", re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chart_cell_is_committed_as_an_image(path):
    for cell in code_cells(path):
        if CHARTS.search(cell.source):
            kinds = {kind for output in cell.outputs for kind in output.get("data", {})}
            assert "image/png" in kinds, cell.source
