"""The sandbox in its own process, as Stripe is to us: its work does not share our GIL."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from pathlib import Path


@contextlib.contextmanager
def served(data_dir: Path, *options: str):
    """`workbench sandbox serve` on a free port with `options` (faults); yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "sandbox", "serve", "--data-dir", str(data_dir)]
        + ["--port", str(port), *options],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if "serving" not in server.stdout.readline():
            raise SystemExit("the sandbox did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)
