"""The deterministic sandbox the committed notebooks were run on, and that the tests run
them on again: the default account and an `eu` one, seeded until a fixed day with fixed
seeds (frozen clocks), synced once into a store in a data dir of its own.

    .venv/bin/python -m tests.notebooks.pinned    # run every notebook here, outputs in place

Their outputs then reproduce: nbval re-runs them against the same figures. The environment
names the data dir and an empty env file, so no key of the developer's `.env` is read."""

from __future__ import annotations

import calendar
import os
import socket
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

import workbench
from workbench import config
from workbench.sandbox import seed
from workbench.sandbox.server import Api

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
UNTIL = calendar.timegm((2026, 11, 27, 0, 0, 0))
ACCOUNTS = {
    "default": {"seed": 0, "scale": 1.0, "timezone": "Etc/UTC"},
    "eu": {"seed": 1, "scale": 0.3, "timezone": "Europe/Berlin"},
}
TIMEOUT = 300  # seconds per cell


def environment(data_dir: Path) -> dict[str, str]:
    """The process environment for notebooks on the pinned sandbox: no Stripe key of ours."""
    env_file = data_dir / "empty.env"
    if not env_file.exists():
        env_file.touch(mode=0o600)
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "WORKBENCH_"))}
    return keep | {
        "WORKBENCH_DATA_DIR": str(data_dir),
        "WORKBENCH_ENV_FILE": str(env_file),
        "WORKBENCH_SANDBOX_ACCOUNTS": ",".join(a for a in ACCOUNTS if a != "default"),
        "MPLBACKEND": "agg",  # as a cron job might have it: charts must show all the same
    }


def prepare(data_dir: Path) -> dict[str, str]:
    """Seed the accounts and sync them once (a notebook's own sync then only catches up);
    returns the environment to run notebooks in."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = environment(data_dir)
    api = Api(data_dir, config.DEFAULT_SANDBOX_KEY)
    for name, how in ACCOUNTS.items():
        store = api.store(name)
        seed.seed(store, until=UNTIL, name=name, files=data_dir, **how)
        store.close()
    api.close()
    settings = config.load(env)
    for name in ACCOUNTS:
        workbench.connect(name, settings, seed=False).sync(progress=False)
    return env


def free_port() -> int:
    """A port nothing listens on, for a JupyterLab of a test."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_in_place(paths, env: dict[str, str]) -> None:
    """Execute each notebook with the current environment's kernel, outputs saved in it."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        for path in paths:
            notebook = nbformat.read(path, as_version=4)
            NotebookClient(
                notebook, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
            ).execute()
            for cell in notebook.cells:
                cell.metadata.pop("execution", None)
            nbformat.write(notebook, path)
            print(f"ran {path.name}", file=sys.stderr)
    finally:
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="workbench-pinned-") as folder:
        chosen = [Path(p).resolve() for p in sys.argv[1:]] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
        run_in_place(chosen, prepare(Path(folder)))
