"""`workbench lab`: JupyterLab serving notebooks/ with this environment as the kernel."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.notebooks.pinned import NOTEBOOKS, free_port

TOKEN = "workbench-lab-test"


def test_workbench_lab_serves_the_notebooks_with_this_environment(tmp_path):
    port = free_port()
    workbench = Path(sys.executable).parent / "workbench"
    env = os.environ | {"JUPYTER_TOKEN": TOKEN, "JUPYTER_CONFIG_DIR": str(tmp_path)}
    server = subprocess.Popen(
        [str(workbench), "lab", "--no-browser", f"--port={port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read()[-2000:]
            try:
                listed = requests.get(f"{url}/api/contents?token={TOKEN}", timeout=2)
                if listed.ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not answer"
            time.sleep(0.2)  # polling for readiness
        names = {item["name"] for item in listed.json()["content"]}
        assert {p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")} <= names
        assert "00_start_here.ipynb" in names
        specs = requests.get(f"{url}/api/kernelspecs?token={TOKEN}", timeout=10).json()
        assert specs["default"] == "python3"
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The command was JupyterLab itself, not a parent that dies and leaves it serving.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/status", timeout=5)
