"""The ledger: every movement a balance transaction, the balance their sum, payouts that
contain exactly their items, fees and exchange rates as the documented schedule says."""

from __future__ import annotations

import calendar
import contextlib
import random
import time
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
import stripe

from workbench.sandbox import seed
from workbench.sandbox.server import Api

UNTIL = calendar.timegm((2026, 10, 1, 0, 0, 0))


@pytest.fixture
def monday(raw):
    """Stop the account's clock at the next Monday 10:00 UTC, so weekdays are known."""
    now = raw("GET", "/_sandbox/clock").json()["now"]
    day = now - now % 86400 + 86400
    while time.gmtime(day).tm_wday != 0:
        day += 86400
    raw("POST", "/_sandbox/clock/freeze", {"at": str(day + 10 * 3600)})
    return day + 10 * 3600


def walk(client, lister, **params):
    return list(lister(params={"limit": 100, **params}).auto_paging_iter())


def assert_ledger_invariants(client) -> dict:
    """The checks an accountant would make; returns the transactions for more checks."""
    transactions = walk(client, client.v1.balance_transactions.list)
    sums = defaultdict(int)
    for txn in transactions:
        assert txn.fee == sum(detail.amount for detail in txn.fee_details), txn.id
        assert txn.net == txn.amount - txn.fee, txn.id
        assert txn.status in ("pending", "available")
        sums[(txn.currency, txn.status)] += txn.net
    balance = client.v1.balance.retrieve()
    for status in ("available", "pending"):
        for entry in getattr(balance, status):
            assert entry.amount == sums.get((entry.currency, status), 0), (status, entry)
    seen = Counter()
    for payout in walk(client, client.v1.payouts.list):
        items = walk(client, client.v1.balance_transactions.list, payout=payout.id)
        seen.update(txn.id for txn in items)
        own = [txn for txn in items if txn.type == "payout"]
        assert [txn.id for txn in own] == [payout.balance_transaction]
        if payout.automatic and payout.status == "paid":
            assert sum(txn.net for txn in items if txn.type != "payout") == payout.amount
            assert own[0].amount == -payout.amount
    assert max(seen.values(), default=1) == 1, "a balance transaction is in two payouts"
    return {txn.id: txn for txn in transactions}


@pytest.fixture(scope="module")
def seeded(sandbox_server, tmp_path_factory):
    """A small seeded history (two months at a quarter of the default volume)."""
    name = "ledger"
    store = Api(sandbox_server.data_dir, sandbox_server.api_key).store(name)
    truth = seed.seed(
        store,
        until=UNTIL,
        months=2,
        seed=7,
        scale=0.25,
        name=name,
        orders_path=tmp_path_factory.mktemp("orders") / "orders.csv",
    )
    client = stripe.StripeClient(
        f"{sandbox_server.api_key}_{name}",
        max_network_retries=0,
        base_addresses={"api": sandbox_server.url},
    )
    return client, truth


def test_seeded_history_keeps_the_ledger_invariants(seeded):
    client, truth = seeded
    transactions = assert_ledger_invariants(client)
    assert len(transactions) == truth["objects"]["balance_transaction"]
    types = Counter((t.type, t.reporting_category) for t in transactions.values())
    assert {
        ("charge", "charge"),
        ("refund", "refund"),
        ("adjustment", "dispute"),
        ("payout", "payout"),
        ("payout_failure", "payout_reversal"),
    } <= set(types)


def test_seeded_payouts_include_one_failure(seeded):
    client, truth = seeded
    payouts = walk(client, client.v1.payouts.list)
    failed = [p for p in payouts if p.status == "failed"]
    assert len(failed) == 1
    assert failed[0].failure_code == "account_closed"
    back = client.v1.balance_transactions.retrieve(failed[0].failure_balance_transaction)
    assert (back.type, back.amount) == ("payout_failure", failed[0].amount)
    assert {p.status for p in payouts} >= {"paid", "failed"}
    assert all(p.automatic and p.currency == "usd" for p in payouts)


def test_seeded_charges_settle_in_usd_at_the_documented_rates(seeded):
    client, _ = seeded
    rates = {"usd": None, "eur": Decimal("1.08"), "jpy": Decimal("0.0067")}
    exponents = {"usd": 2, "eur": 2, "jpy": 0}
    checked = Counter()
    for charge in walk(client, client.v1.charges.list, expand=["data.balance_transaction"]):
        txn = charge.balance_transaction
        if txn is None:
            continue
        assert txn.currency == "usd"
        rate = rates[charge.currency]
        expected = (
            charge.amount_captured
            if rate is None
            else int(
                (Decimal(charge.amount_captured).scaleb(-exponents[charge.currency]) * rate)
                .scaleb(2)
                .to_integral_value(ROUND_HALF_UP)
            )
        )
        assert txn.amount == expected, charge.id
        assert txn.exchange_rate == (None if rate is None else float(rate))
        checked[charge.currency] += 1
    assert set(checked) == {"usd", "eur", "jpy"}


@pytest.mark.parametrize(
    ("token", "amount", "currency", "settled", "fee"),
    [
        ("tok_visa", 10000, "usd", 10000, 320),  # 2.9% of 100.00 = 2.90, + 0.30
        ("tok_gb", 10000, "usd", 10000, 470),  # foreign card: 4.4% = 4.40, + 0.30
        ("tok_visa", 10000, "eur", 10800, 451),  # 108.00 USD; conversion: 3.9% = 4.212, + 0.30
        ("tok_de", 5000, "jpy", 3350, 211),  # 5000 x 0.0067 = 33.50 USD; 5.4% = 1.809, + 0.30
    ],
)
def test_fee_schedule(client, token, amount, currency, settled, fee):
    """The documented schedule: 2.9% + 30c, +1.5% foreign card, +1% conversion, half up."""
    charge = client.v1.charges.create(
        params={"amount": amount, "currency": currency, "source": token}
    )
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert (txn.amount, txn.fee, txn.net) == (settled, fee, settled - fee)
    assert [(d.type, d.amount, d.currency) for d in txn.fee_details] == [("stripe_fee", fee, "usd")]


def test_balance_available_after_the_delay(client, raw):
    charge = client.v1.charges.create(
        params={"amount": 10000, "currency": "usd", "source": "tok_visa"}
    )
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert txn.status == "pending"
    assert txn.available_on == txn.created - txn.created % 86400 + 2 * 86400
    pending = client.v1.balance.retrieve().pending[0]
    assert pending.amount == txn.net
    raw("POST", "/_sandbox/account", {"interval": "manual"})
    raw("POST", "/_sandbox/clock/advance", {"days": "3"})
    assert client.v1.balance_transactions.retrieve(txn.id).status == "available"
    balance = client.v1.balance.retrieve()
    assert (balance.available[0].amount, balance.pending[0].amount) == (txn.net, 0)
    types = [e.type for e in client.v1.events.list(params={"type": "balance.available"}).data]
    assert types == ["balance.available"]


def test_manual_payouts(client, raw):
    raw("POST", "/_sandbox/account", {"interval": "manual"})
    client.v1.charges.create(
        params={"amount": 10000, "currency": "usd", "source": "tok_bypassPending"}
    )
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payouts.create(params={"amount": 9681, "currency": "usd"})
    assert caught.value.code == "balance_insufficient"
    payout = client.v1.payouts.create(params={"amount": 9680, "currency": "usd"})
    assert (payout.status, payout.automatic, payout.amount) == ("pending", False, 9680)
    assert client.v1.balance.retrieve().available[0].amount == 0
    raw("POST", "/_sandbox/clock/advance", {"days": "4"})
    assert client.v1.payouts.retrieve(payout.id).status == "paid"
    raw("POST", "/_sandbox/account", {"interval": "daily"})
    with pytest.raises(stripe.InvalidRequestError, match="automatic payouts"):
        client.v1.payouts.create(params={"amount": 1, "currency": "usd"})


def test_automatic_payouts_move_to_paid_in_order(client, raw, monday):
    client.v1.charges.create(params={"amount": 20000, "currency": "usd", "source": "tok_visa"})
    raw("POST", "/_sandbox/clock/advance", {"days": "7"})
    payouts = walk(client, client.v1.payouts.list)
    assert len(payouts) == 1
    payout = payouts[0]
    assert payout.status == "paid" and payout.amount == 20000 - 610
    assert payout.arrival_date > payout.created
    items = walk(client, client.v1.balance_transactions.list, payout=payout.id)
    assert sorted(t.type for t in items) == ["charge", "payout"]
    events = [
        (e.type, e.created)
        for e in reversed(walk(client, client.v1.events.list))
        if e.type.startswith("payout.") or e.type == "balance.available"
    ]
    assert [t for t, _ in events] == [
        "balance.available",
        "payout.created",
        "payout.updated",
        "payout.updated",
        "payout.paid",
    ]
    assert [c for _, c in events] == sorted(c for _, c in events)
    assert client.v1.payouts.list(params={"status": "paid"}).data[0].id == payout.id
    assert client.v1.payouts.list(params={"status": "pending"}).data == []


def test_failed_payout_returns_the_funds(client, raw, monday):
    raw("POST", "/_sandbox/account", {"bank_account_number": "000111111116"})
    client.v1.charges.create(params={"amount": 20000, "currency": "usd", "source": "tok_visa"})
    raw("POST", "/_sandbox/clock/advance", {"days": "2"})  # Wednesday: the payout is made
    raw("POST", "/_sandbox/account", {"bank_account_number": "000123456789"})
    raw("POST", "/_sandbox/clock/advance", {"days": "5"})  # Thursday it fails; Friday again
    failed = client.v1.payouts.list(params={"status": "failed"}).data
    assert len(failed) == 1 and failed[0].failure_code == "no_account"
    assert failed[0].failure_message.startswith("The bank account details on file")
    retried = client.v1.payouts.list(params={"status": "paid"}).data
    assert [p.amount for p in retried] == [failed[0].amount] == [20000 - 610]
    items = walk(client, client.v1.balance_transactions.list, payout=retried[0].id)
    assert sorted(t.type for t in items) == ["payout", "payout_failure"]
    assert_ledger_invariants(client)


def test_random_operations_keep_the_invariants(client, raw):
    rng = random.Random(11)
    charges = []
    for _ in range(60):
        roll = rng.random()
        if roll < 0.5 or not charges:
            token = rng.choice(
                [
                    "tok_visa",
                    "tok_gb",
                    "tok_mastercard",
                    "tok_createDispute",
                    "tok_chargeDeclined",
                    "tok_bypassPending",
                ]
            )
            currency = rng.choice(["usd", "usd", "eur", "jpy"])
            with contextlib.suppress(stripe.CardError):  # declines are part of the mix
                charges.append(
                    client.v1.charges.create(
                        params={
                            "amount": rng.randrange(500, 50000),
                            "currency": currency,
                            "source": token,
                            "capture": rng.random() > 0.2,
                        }
                    )
                )
        elif roll < 0.7:
            charge = client.v1.charges.retrieve(rng.choice(charges).id)
            if not charge.refunded and not charge.disputed and charge.captured:
                remaining = charge.amount_captured - charge.amount_refunded
                client.v1.refunds.create(
                    params={"charge": charge.id, "amount": rng.randrange(1, remaining + 1)}
                )
        elif roll < 0.8:
            charge = client.v1.charges.retrieve(rng.choice(charges).id)
            if not charge.captured and not charge.refunded:
                client.v1.charges.capture(
                    charge.id,
                    params={"amount": rng.randrange(charge.amount // 2, charge.amount + 1)},
                )
        elif roll < 0.85:
            disputes = client.v1.disputes.list(params={"limit": 100}).data
            open_ = [d for d in disputes if d.status == "needs_response"]
            if open_:
                client.v1.disputes.update(
                    rng.choice(open_).id,
                    params={
                        "evidence": {
                            "uncategorized_text": rng.choice(
                                ["winning_evidence", "losing_evidence"]
                            )
                        }
                    },
                )
        else:
            raw("POST", "/_sandbox/clock/advance", {"seconds": str(rng.randrange(3600, 3 * 86400))})
    assert_ledger_invariants(client)
