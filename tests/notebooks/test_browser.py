"""The balance-history notebook in a real browser: JupyterLab on a free port, Debian's
chromium driven by Playwright. Run all cells; the widgets and a chart must render, and
choosing a category in the widget must change its table. Screenshots go to the test's
temporary folder. Every wait is for a condition, never a fixed sleep."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.notebooks import pinned
from workbench.widgets import COLUMNS

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
NOTEBOOK = "08_balance_history.ipynb"
TOKEN = "workbench-browser-test"
LONG = 120_000  # ms: first load of JupyterLab and a cold kernel on a busy machine

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="install Debian's chromium (apt-get install chromium)"
)


@pytest.fixture
def lab(pinned_env, tmp_path):
    """JupyterLab serving a copy of the notebook (the committed one is never saved over),
    with the pinned sandbox's environment for its kernels."""
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(pinned.NOTEBOOKS / NOTEBOOK, root / NOTEBOOK)
    config = tmp_path / "jupyter-config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    port = pinned.free_port()
    env = pinned_env | {
        "JUPYTER_CONFIG_DIR": str(config),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{pinned_env.get('PATH', '')}",
    }
    log = (tmp_path / "jupyterlab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.allow_root=True",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + LONG / 1000
    while True:
        assert server.poll() is None, (tmp_path / "jupyterlab.log").read_text()[-3000:]
        try:
            if requests.get(f"{url}/api/status?token={TOKEN}", timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "JupyterLab did not answer"
        time.sleep(0.2)  # polling for readiness, not waiting out a guess
    # A session with its kernel made up front: the page attaches to it and asks nothing.
    requests.post(
        f"{url}/api/sessions?token={TOKEN}",
        json={"path": NOTEBOOK, "type": "notebook", "name": NOTEBOOK, "kernel": {"name": "python3"}},
        timeout=60,
    ).raise_for_status()
    yield url
    server.terminate()
    server.wait(timeout=30)
    log.close()


def test_balance_history_widgets_render_and_answer_a_change(lab, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{lab}/lab/tree/{NOTEBOOK}?token={TOKEN}&reset", timeout=LONG)
            page.wait_for_selector(".jp-NotebookPanel", timeout=LONG)
            idle = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
            page.wait_for_selector(idle, timeout=LONG)
            expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=LONG)
            if page.get_by_role("dialog").count():  # JupyterLab asking which kernel: ours
                page.get_by_role("button", name="Select", exact=True).click()
            page.screenshot(path=str(tmp_path / "balance_history_opened.png"))
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

            summary = page.locator(".workbench-summary")
            expect(summary).to_contain_text("balance transactions", timeout=LONG)
            widget = page.locator(".workbench-balance-history")
            expect(widget.locator("input[type='date']").first).to_be_visible()
            expect(widget.locator(".widget-dropdown select")).to_have_value("usd")
            chart = widget.locator(".workbench-chart img")
            expect(chart).to_be_visible(timeout=LONG)
            page.wait_for_selector(idle, timeout=LONG)
            widget.scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "balance_history_all.png"), full_page=True)
            before = summary.inner_text()
            rows_before = widget.locator(".workbench-table tbody tr").count()
            assert rows_before > 0

            widget.locator("select[multiple]").select_option("refund")
            expect(summary).not_to_have_text(before, timeout=30_000)
            expect(widget.locator(".workbench-table tbody tr").first).to_contain_text("refund")
            # the index is the row's first cell (a th), so a column's td is one further on
            column = COLUMNS.index("reporting_category") + 2
            categories = widget.locator(f".workbench-table tbody tr td:nth-child({column})")
            assert set(categories.all_inner_texts()) == {"refund"}
            widget.screenshot(path=str(tmp_path / "balance_history_refunds.png"))
        finally:
            browser.close()
    assert (tmp_path / "balance_history_refunds.png").stat().st_size > 10_000
