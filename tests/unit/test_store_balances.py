"""The balance at a moment, from the day sums the store keeps (new transactions added by
`upsert` a page at a time, the rest by triggers): after any seeded random sequence of
writes (new transactions, one twice in a page, re-synced ones that moved day, currency or
amount, deletes and updates by another connection), it equals the sum worked out here in
Python."""

from __future__ import annotations

import random
import sqlite3

import pytest

from workbench.store import DAY, Store

START = 1_790_812_800  # 2026-10-01 UTC
ACCOUNTS = ("acct_a:test", "acct_b:test")
CURRENCIES = ("usd", "jpy", "kwd")


def expected(model: dict, account: str, before: int) -> list[tuple[str, int]]:
    sums: dict[str, int] = {}
    for (owner, _), (created, currency, net) in model.items():
        if owner == account and created < before:
            sums[currency] = sums.get(currency, 0) + net
    return sorted(sums.items())


@pytest.mark.parametrize("seed", range(6))
def test_balances_equal_the_transactions_after_any_writes(tmp_path, seed):
    rng = random.Random(seed)
    store = Store(tmp_path / "store.sqlite3")
    other = sqlite3.connect(store.path, isolation_level=None)
    model: dict[tuple[str, str], tuple[int, str, int]] = {}

    def written(account: str, object_id: str) -> dict:
        created = START + rng.randrange(6 * DAY)
        currency, net = rng.choice(CURRENCIES), rng.randrange(-50_000, 90_000)
        model[account, object_id] = (created, currency, net)
        return {"id": object_id, "created": created, "currency": currency, "net": net}

    for step in range(40):
        account = rng.choice(ACCOUNTS)
        known = [key for key in model if key[0] == account]
        action = rng.random()
        if action < 0.6 or not known:
            ids = [f"txn_{step}_{n}" for n in range(rng.randrange(1, 30))]
            ids += [key[1] for key in rng.sample(known, min(len(known), rng.randrange(4)))]
            ids += [rng.choice(ids) for _ in range(rng.randrange(3))]  # one twice in a page
            with store.transaction():
                store.upsert("balance_transactions", account, [written(account, i) for i in ids])
        elif action < 0.8:
            _, gone = rng.choice(known)
            other.execute(
                "DELETE FROM balance_transactions WHERE account = ? AND id = ?", (account, gone)
            )
            del model[account, gone]
        else:
            _, changed = rng.choice(known)
            created, currency, _ = model[account, changed]
            net = rng.randrange(-1000, 1000)
            other.execute(
                "UPDATE balance_transactions SET net = ? WHERE account = ? AND id = ?",
                (net, account, changed),
            )
            model[account, changed] = (created, currency, net)
        for _ in range(3):
            before = START + rng.randrange(-DAY, 7 * DAY)
            for owner in ACCOUNTS:
                assert store.balances(owner, before) == expected(model, owner, before)
    every = START + 7 * DAY
    assert sum(len(store.balances(owner, every)) for owner in ACCOUNTS) > 2
