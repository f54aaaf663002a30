"""A local, stateful, Stripe-compatible API server: the workbench's offline Stripe.

    with workbench.sandbox.start(data_dir) as sandbox:
        client = stripe.StripeClient(sandbox.api_key, base_addresses={"api": sandbox.url})

It binds 127.0.0.1 only and keeps its state in SQLite under `<data_dir>/sandbox/`, so several
processes can serve the same accounts and a restart loses nothing. It never imports the rest
of the workbench.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

DEFAULT_KEY = "sk_test_workbench"
DEFAULT_PORT = 12111


class Sandbox:
    """A running sandbox server; stop it with `.stop()` or by leaving a `with` block."""

    def __init__(
        self, data_dir: Path | str, *, port: int = 0, api_key: str = DEFAULT_KEY, faults=None
    ):
        from workbench.sandbox.faults import Faults
        from workbench.sandbox.server import Api, HttpServer

        self.data_dir = Path(data_dir)
        self.api_key = api_key
        self.api = Api(self.data_dir, api_key, faults or Faults.from_env())
        self.server = HttpServer(self.api, port)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def seed_if_empty(self, account: str, announce=None) -> dict | None:
        """Give an empty account the default history (six months until now), once: returns
        its ground truth when it seeded. `announce` hears a line before the few seconds."""
        from workbench.sandbox import seed

        return seed.ensure(self.api.store(account), self.data_dir, account, announce=announce)

    def start(self) -> Sandbox:
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            name="sandbox",
            kwargs={"poll_interval": 0.2},
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        try:
            self.server.serve_forever(poll_interval=0.2)
        finally:
            self.server.server_close()
            self.api.close()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self.api.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Sandbox {self.url} data_dir={str(self.data_dir)!r}>"


def merchant_files(data_dir: Path | str, account: str) -> dict[str, Path]:
    """Where a seeded account's merchant files are: its orders export and its bank's
    statement (written by the seed beside the sandbox's state)."""
    from workbench.sandbox import seed

    return {
        "orders": seed.orders_path(Path(data_dir), account),
        "statement": seed.statement_path(Path(data_dir), account),
    }


def start(
    data_dir: Path | str,
    *,
    port: int = 0,
    api_key: str = DEFAULT_KEY,
    faults=None,
    seed: Iterable[str] = (),
    announce=None,
) -> Sandbox:
    """Serve the sandbox from a background thread (notebooks, tests); port 0 picks a free one.
    The accounts named in `seed` are given a history first if they are empty."""
    sandbox = Sandbox(data_dir, port=port, api_key=api_key, faults=faults)
    for account in seed:
        sandbox.seed_if_empty(account, announce)
    return sandbox.start()
