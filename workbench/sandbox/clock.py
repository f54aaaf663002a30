"""Sandbox time, and everything that happens when it passes.

Time is real time plus an offset (or frozen at an instant); `advance` moves it forward. Before
any request is answered, what fell due since the last request is run in time order, and at
each instant in this order: funds become available, the automatic payout runs, payouts move
(in_transit, paid or failed), authorizations expire, dispute deadlines pass, report runs
finish. Events carry
the instant they happened at, not the instant the sandbox noticed.
"""

from __future__ import annotations

import time

from workbench.sandbox import ledger
from workbench.sandbox.backend import EVENT_RETENTION, Backend
from workbench.sandbox.models import (
    charges,
    checkout_sessions,
    disputes,
    payment_intents,
    payouts,
    renewals,
    reporting,
)
from workbench.sandbox.state import AccountState

IDEMPOTENCY_RETENTION = 24 * 3600
# How far one advance or freeze may move the clock: as far as Stripe's test clocks go (two
# years). Each due instant between runs in order, so an unbounded move never returns.
MAX_ADVANCE = 2 * 365 * 86400
DUE_HANDLERS = (
    ("payout", payouts.advance),
    ("charge", charges.expire),
    ("payment_intent", payment_intents.expire),
    ("dispute", disputes.expire),
    ("reporting.report_run", reporting.finish),
    ("checkout.session", checkout_sessions.expire_due),
    # Billing, in this order at one instant: renewals, trials and expiries, then invoices
    # (a renewal's invoice finalizes an hour later; retries run on their own schedule).
    ("subscription", renewals.advance),
    ("invoice", renewals.advance_invoice),
)
BILLING = frozenset(("subscription", "invoice"))


def _next_due(store: AccountState, after: int) -> int | None:
    row = store.conn.execute("SELECT MIN(due) FROM objects WHERE due IS NOT NULL").fetchone()
    account = store.setting("account")
    run = payouts.next_run(account["settings"]["payouts"]["schedule"], after)
    candidates = [t for t in (row[0], run) if t is not None]
    return min(candidates) if candidates else None


def _processed(store: AccountState) -> int:
    return store.setting("processed_until") or store.setting("account")["created"]


def catch_up(store: AccountState, until: int | None = None) -> None:
    """Run what is due up to `until` (sandbox now); cheap when nothing is."""
    until = store.now() if until is None else until
    with store.transaction(write=False):
        due = _next_due(store, _processed(store))
    if due is None or due > until:
        return
    with store.transaction():
        run(store, until)


def run(
    store: AccountState,
    until: int,
    rng=None,
    events_from: int | None = None,
    billing_rng=None,
    ledger_here: bool = True,
) -> None:
    """Process every due instant up to `until`, in order (inside the caller's transaction).
    Events before `events_from` (default: 30 days before `until`) would be pruned, so they
    are not written at all. Subscriptions and invoices draw from `billing_rng` (default
    `rng`), so a seed's subscription book leaves the rest of its history as it was. A
    seed's second part passes `ledger_here=False`: availability and payouts run where its
    balance transactions are handed over to (see handoff)."""
    processed = _processed(store)
    while True:
        due = _next_due(store, processed)
        if due is None or due > until:
            break
        keep = until - EVENT_RETENTION if events_from is None else events_from
        backend = Backend(store, now=due, rng=rng)
        billing = Backend(store, now=due, rng=billing_rng or rng)
        backend.keep_events_from = billing.keep_events_from = keep
        _step(backend, processed, billing, ledger_here)
        processed = max(processed, due)  # a report run is due at once, maybe before it
    store.set_setting("processed_until", max(until, processed))
    store.conn.execute(
        "DELETE FROM objects WHERE object = 'event' AND created < ?", (until - EVENT_RETENTION,)
    )
    store.conn.execute(
        "DELETE FROM idempotency WHERE created < ?", (until - IDEMPOTENCY_RETENTION,)
    )


def run_billing(store: AccountState, until: int, rng, events_from: int) -> None:
    """Run only what falls due for subscriptions and invoices up to `until`, in order: a
    seed plants subscription changes between the sandbox's own steps, and must not move
    the rest of its history (inside the caller's transaction)."""
    handlers = dict(DUE_HANDLERS)
    while True:
        row = store.conn.execute(
            "SELECT due, object, id FROM objects INDEXED BY objects_due WHERE due <= ? "
            "AND object IN ('subscription', 'invoice') "
            "ORDER BY due, object = 'invoice', seq LIMIT 1",
            (until,),
        ).fetchone()
        if row is None:
            return
        backend = Backend(store, now=row[0], rng=rng)
        backend.keep_events_from = events_from
        handlers[row[1]](backend, row[2])


def _step(backend: Backend, previous: int, billing: Backend, ledger_here: bool) -> None:
    now = backend.now
    if not ledger_here:
        ledger.hand_over_pending(backend, now)
    elif ledger.release_pending(backend, now) and backend.records_events():
        backend.emit("balance.available", ledger.balance(backend))
    schedule = backend.account["settings"]["payouts"]["schedule"]
    if ledger_here and payouts.next_run(schedule, previous) == now:
        payouts.run_automatic(backend)
    due = backend.store.conn.execute(
        "SELECT object, id FROM objects INDEXED BY objects_due WHERE due <= ? ORDER BY due, seq",
        (now,),
    ).fetchall()
    for kind, handler in DUE_HANDLERS:
        for object_id in [object_id for object, object_id in due if object == kind]:
            handler(billing if kind in BILLING else backend, object_id)


def advance(store: AccountState, seconds: int) -> dict:
    """Move sandbox time forward and run everything due in between."""
    if not 0 <= seconds <= MAX_ADVANCE:
        raise ValueError(f"the sandbox clock moves 0 to {MAX_ADVANCE} seconds at a time")
    with store.transaction():
        clock = store.setting("clock", {"offset": 0, "frozen": None})
        if clock.get("frozen") is not None:
            clock["frozen"] += seconds
        else:
            clock["offset"] += seconds
        store.set_setting("clock", clock)
        run(store, store.now())
    return state(store)


def freeze(store: AccountState, at: int | None) -> dict:
    """Stop the clock at `at` (a Unix time), or let it run in real time again (None)."""
    with store.transaction():
        now = store.now()
        if at is None:
            clock = {"offset": now - int(time.time()), "frozen": None}
        else:
            if not now <= at <= now + MAX_ADVANCE:
                raise ValueError(f"the sandbox clock moves 0 to {MAX_ADVANCE} seconds at a time")
            clock = {"offset": 0, "frozen": at}
        store.set_setting("clock", clock)
        run(store, store.now())
    return state(store)


def state(store: AccountState) -> dict:
    clock = store.setting("clock", {"offset": 0, "frozen": None})
    return {
        "now": store.now(),
        "frozen": clock.get("frozen") is not None,
        "offset": clock.get("offset", 0),
    }
