"""`workbench.connect()`: the one way notebooks and scripts get a client and, later, data."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from functools import partialmethod
from pathlib import Path

import pandas as pd
import stripe

from workbench import config, frames
from workbench import sync as sync_module
from workbench.client import make_client
from workbench.config import Account, Settings
from workbench.store import KINDS, Store

STORE_FILE = "store.sqlite3"

_sandboxes: dict[tuple[str, str], object] = {}
_lock = threading.Lock()


def _announce(text: str) -> None:
    print(f"workbench: {text}", file=sys.stderr)


def embedded_sandbox(settings: Settings, seed: tuple[str, ...] = ()):
    """The in-process sandbox for this data dir, started on first use (seeding the accounts
    in `seed` that are empty), shared per process."""
    from workbench import sandbox

    config.ensure_data_dir(settings)
    key = (str(settings.data_dir), settings.sandbox_key)
    with _lock:
        if key not in _sandboxes:
            _sandboxes[key] = sandbox.start(
                settings.data_dir, api_key=settings.sandbox_key, seed=seed, announce=_announce
            )
        else:
            for account in seed:
                _sandboxes[key].seed_if_empty(account, _announce)
        return _sandboxes[key]


@dataclass
class Session:
    """A connection to one Stripe account (or its sandbox stand-in), and its local data."""

    settings: Settings = field(repr=False)
    account_config: Account = field(repr=False)
    client: stripe.StripeClient = field(repr=False)
    api_base: str
    _store: Store | None = field(default=None, repr=False)

    @property
    def profile(self) -> str:
        return self.account_config.profile

    @property
    def account(self) -> str:
        return self.account_config.name

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(config.ensure_data_dir(self.settings) / STORE_FILE)
        return self._store

    def _partition_key(self) -> str:
        return f"partition:{self.account}:{self.profile}"

    def partition(self, *, refresh: bool = False) -> str:
        """Where this account's objects live in the store: its Stripe id and mode, so that a
        reseeded sandbox or another key under the same name never mixes with old data."""
        known = self.store.get_state("", self._partition_key())
        if known and not refresh:
            return known
        account = self.client.v1.accounts.retrieve_current().to_dict()
        partition = f"{account['id']}:{self.account_config.key.mode}"
        timezone = ((account.get("settings") or {}).get("dashboard") or {}).get("timezone")
        with self.store.transaction():
            self.store.set_state("", self._partition_key(), partition)
            self.store.set_state(partition, "timezone", timezone or "Etc/UTC")
        return partition

    @property
    def timezone(self) -> str:
        """The account's timezone (its Dashboard's), in which its days and months are
        counted; as of the last sync or connection."""
        partition = self.partition()
        return self.store.get_state(partition, "timezone") or self.store.get_state(
            self.partition(refresh=True), "timezone"
        )

    def synced_at(self, kinds) -> float | None:
        """When all of `kinds` were last synced: the oldest of their last runs (None if one
        never was)."""
        partition = self.partition()
        times = [sync_module.KindState.load(self.store, partition, k).synced_at for k in kinds]
        return None if None in times else min(times)

    def sync(
        self,
        objects: list[str] | None = None,
        *,
        since=None,
        full: bool = False,
        progress: bool | None = None,
        rate: float | None = None,
        threads: int = sync_module.THREADS,
    ) -> sync_module.Report:
        """Pull the account into the local store: everything the first time, then what is
        new or changed. See workbench.sync."""
        runner = sync_module.Sync(
            self.client,
            self.store,
            self.partition(refresh=True),
            rate=rate or sync_module.RATES[self.profile],
            # Stripe limits each endpoint too; a sandbox (any other API base) only the account.
            endpoint_rate=sync_module.ENDPOINT_RATE
            if self.api_base == stripe.DEFAULT_API_BASE
            else None,
            threads=threads,
            progress=sync_module.default_progress() if progress is None else progress,
        )
        return runner.run(
            objects or sync_module.DEFAULT_KINDS, since=frames.moment(since, "since"), full=full
        )

    def frame(
        self, name: str, start=None, end=None, *, sync: bool = False, columns=None, **filters
    ):
        """Objects of one type created in [start, end) as a typed DataFrame, from the store
        (synced first when `sync` is True). Filters are column=value (or column=[values]);
        `columns` narrows what is read."""
        if sync:
            within = KINDS[name].within if name in KINDS else None
            self.sync([within.parent if within else name])
        return frames.load(
            self.store, self.partition(), name, start, end, columns=columns, **filters
        )

    @property
    def orders_file(self) -> Path | None:
        """The merchant's orders export the sandbox seeded for this account, if there is one
        (with Stripe, the analyst names their own)."""
        return self._seeded_file("orders")

    @property
    def statement_file(self) -> Path | None:
        """The bank statement the sandbox seeded for this account, if there is one."""
        return self._seeded_file("statement")

    def _seeded_file(self, which: str) -> Path | None:
        if self.profile != "sandbox":
            return None
        from workbench import sandbox

        path = sandbox.merchant_files(self.settings.data_dir, self.account)[which]
        return path if path.is_file() else None

    def balance_at(self, moment) -> pd.DataFrame:
        """The account's balance (available and pending) per currency at `moment`: the sum
        of every balance transaction created before it, from the store."""
        rows = self.store.balances(self.partition(), frames.moment(moment, "moment"))
        return pd.DataFrame(rows, columns=["currency", "balance"]).astype({"balance": "int64"})

    # One per object type, for tab completion: wb.charges("2026-10-01", "2026-11-01").
    charges = partialmethod(frame, "charges")
    customers = partialmethod(frame, "customers")
    cards = partialmethod(frame, "cards")
    payment_intents = partialmethod(frame, "payment_intents")
    refunds = partialmethod(frame, "refunds")
    disputes = partialmethod(frame, "disputes")
    payouts = partialmethod(frame, "payouts")
    balance_transactions = partialmethod(frame, "balance_transactions")
    events = partialmethod(frame, "events")
    products = partialmethod(frame, "products")
    prices = partialmethod(frame, "prices")
    subscriptions = partialmethod(frame, "subscriptions")
    subscription_items = partialmethod(frame, "subscription_items")
    invoices = partialmethod(frame, "invoices")
    invoice_line_items = partialmethod(frame, "invoice_line_items")

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
        api_base = embedded_sandbox(settings, (chosen.name,) if seed else ()).url
    client = make_client(chosen, api_base=api_base, allow_live_writes=settings.allow_live_writes)
    return Session(settings, chosen, client, api_base or stripe.DEFAULT_API_BASE)
