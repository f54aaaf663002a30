"""`workbench.connect()`: the one way notebooks and scripts get a client and, later, data."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field

import stripe

from workbench import config
from workbench.client import make_client
from workbench.config import Account, Settings

_sandboxes: dict[tuple[str, str], object] = {}
_lock = threading.Lock()


def embedded_sandbox(settings: Settings):
    """The in-process sandbox for this data dir, started on first use, shared per process."""
    from workbench import sandbox

    config.ensure_data_dir(settings)
    key = (str(settings.data_dir), settings.sandbox_key)
    with _lock:
        if key not in _sandboxes:
            _sandboxes[key] = sandbox.start(settings.data_dir, api_key=settings.sandbox_key)
        return _sandboxes[key]


@dataclass
class Session:
    """A connection to one Stripe account (or its sandbox stand-in)."""

    settings: Settings = field(repr=False)
    account_config: Account = field(repr=False)
    client: stripe.StripeClient = field(repr=False)
    api_base: str

    @property
    def profile(self) -> str:
        return self.account_config.profile

    @property
    def account(self) -> str:
        return self.account_config.name

    def __repr__(self) -> str:
        return (
            f"<workbench session account={self.account!r} profile={self.profile!r} "
            f"key={self.account_config.key!r} api={self.api_base}>"
        )


def connect(
    account: str | None = None, settings: Settings | None = None, *, seed: bool = True
) -> Session:
    """Connect to `account` (default: the default account). With no key configured this is
    the sandbox profile: a local Stripe-compatible server is started in this process, and
    an empty sandbox account is first seeded with six months of history (unless `seed` is
    False)."""
    settings = settings or config.load()
    chosen = settings.account(account)
    api_base = chosen.api_base
    if chosen.profile == "sandbox" and not api_base:
        server = embedded_sandbox(settings)
        api_base = server.url
        if seed:
            from workbench.sandbox import seed as history

            history.ensure(
                server.api.store(chosen.name),
                settings.data_dir,
                chosen.name,
                announce=lambda text: print(f"workbench: {text}", file=sys.stderr),
            )
    client = make_client(chosen, api_base=api_base, allow_live_writes=settings.allow_live_writes)
    return Session(settings, chosen, client, api_base or stripe.DEFAULT_API_BASE)
