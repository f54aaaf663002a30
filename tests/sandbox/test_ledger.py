"""The ledger: every movement a balance transaction, the balance their sum, payouts that
contain exactly their items, fees and exchange rates as the documented schedule says."""

from __future__ import annotations

import calendar
import contextlib
import random
import time
from collections import Counter, defaultdict

import pytest
import stripe

from tests.sandbox_rates import settled
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


@pytest.fixture(scope="module", params=[1, 2], ids=["in one part", "in two parts"])
def seeded(request, sandbox_server, tmp_path_factory):
    """A small seeded history (two months at a quarter of the default volume), seeded in
    one process and split across two: a split seed's payouts sweep both parts' entries."""
    name = f"ledger{request.param}"
    store = Api(sandbox_server.data_dir, sandbox_server.api_key).store(name)
    truth = seed.seed(
        store,
        until=UNTIL,
        months=2,
        seed=7,
        scale=0.25,
        name=name,
        files=tmp_path_factory.mktemp("files"),
        parts=request.param,
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
    due = [t for t in transactions.values() if t.available_on <= UNTIL]
    assert {t.status for t in due} == {"available"}, "funds whose date came are available"
    types = Counter((t.type, t.reporting_category) for t in transactions.values())
    assert {
        ("charge", "charge"),
        ("refund", "refund"),
        ("refund", "partial_capture_reversal"),
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
    """Each captured charge's entry is its whole authorization in USD; a partial capture adds
    a partial_capture_reversal, and the two come to the captured amount."""
    client, truth = seeded
    checked = Counter()
    reversed_charges = {}
    for charge in walk(client, client.v1.charges.list, expand=["data.balance_transaction"]):
        txn = charge.balance_transaction
        if txn is None:
            continue
        assert txn.currency == "usd"
        assert txn.amount == settled(charge.amount, charge.currency), charge.id
        rate = {"usd": None, "eur": 1.08, "jpy": 0.0067}[charge.currency]
        assert txn.exchange_rate == rate
        checked[charge.currency] += 1
        if charge.amount_captured < charge.amount:
            reversed_charges[charge.id] = (charge, txn)
    assert set(checked) == {"usd", "eur", "jpy"}
    reversals = walk(client, client.v1.balance_transactions.list, type="refund")
    by_charge = {}
    for reversal in reversals:
        if reversal.reporting_category == "partial_capture_reversal":
            refund = client.v1.refunds.retrieve(reversal.source)
            by_charge[refund.charge] = reversal
    assert by_charge.keys() == reversed_charges.keys()
    assert {p["charge"] for p in truth["partial_captures"]} == by_charge.keys()
    for charge_id, (charge, txn) in reversed_charges.items():
        reversal = by_charge[charge_id]
        assert txn.amount + reversal.amount == settled(charge.amount_captured, charge.currency)


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


@pytest.mark.parametrize(
    ("token", "currency", "authorized", "captured", "whole", "reversal"),
    [
        # 50.00 USD: 2.9% = 1.45, + 0.30 = 1.75. Captured 32.00: 0.928 -> 0.93, + 0.30 = 1.23.
        ("tok_visa", "usd", 5000, 3200, (5000, 175), (-1800, -52)),
        # 50.00 EUR = 54.00 USD; foreign card and conversion: 5.4% = 2.916 -> 2.92, + 0.30.
        # Captured 30.00 EUR = 32.40 USD: 5.4% = 1.7496 -> 1.75, + 0.30 = 2.05.
        ("tok_de", "eur", 5000, 3000, (5400, 322), (-2160, -117)),
        # 10,000 JPY = 67.00 USD; conversion: 3.9% = 2.613 -> 2.61, + 0.30 = 2.91.
        # Captured 6,000 JPY = 40.20 USD: 3.9% = 1.5678 -> 1.57, + 0.30 = 1.87.
        ("tok_visa", "jpy", 10000, 6000, (6700, 291), (-2680, -104)),
    ],
)
def test_partial_capture_fees(client, token, currency, authorized, captured, whole, reversal):
    """The charge entry carries the whole authorization and its fee; the reversal gives back
    the uncaptured part and the fee's difference, so together they are a charge of what was
    captured, fee included (Stripe: no fee on what is not captured)."""
    auth = client.v1.charges.create(
        params={"amount": authorized, "currency": currency, "source": token, "capture": False}
    )
    client.v1.charges.capture(auth.id, params={"amount": captured})
    charge = client.v1.charges.retrieve(
        auth.id, params={"expand": ["balance_transaction", "refunds.data.balance_transaction"]}
    )
    (refund,) = charge.refunds.data
    first, second = charge.balance_transaction, refund.balance_transaction
    assert (first.amount, first.fee) == whole
    assert (second.amount, second.fee) == reversal
    assert (second.type, second.reporting_category) == ("refund", "partial_capture_reversal")
    rate = None if currency == "usd" else {"eur": 1.08, "jpy": 0.0067}[currency]
    assert first.exchange_rate == second.exchange_rate == rate
    assert refund.amount == authorized - captured
    assert_ledger_invariants(client)


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
    # Charged Monday 10:00, available Wednesday 00:00 (two days' delay), paid out then and
    # arriving the next business day, Thursday 00:00 (all UTC).
    wednesday = monday - 10 * 3600 + 2 * 86400
    assert (payout.created, payout.arrival_date) == (wednesday, wednesday + 86400)
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


def test_the_account_timezone(client, raw):
    """settings.dashboard.timezone: Etc/UTC until set in /_sandbox/account; only IANA zone
    names are accepted. Payouts keep to 00:00 UTC whatever the zone."""
    assert client.v1.accounts.retrieve_current().settings.dashboard.timezone == "Etc/UTC"
    answer = raw("POST", "/_sandbox/account", {"timezone": "Pacific/Auckland"})
    assert answer.status_code == 200, answer.text
    account = client.v1.accounts.retrieve_current()
    assert account.settings.dashboard.timezone == "Pacific/Auckland"
    for wrong in ("Mars/Olympus_Mons", "../../etc/passwd", "pacific/auckland", ""):
        refused = raw("POST", "/_sandbox/account", {"timezone": wrong})
        assert refused.status_code == 400, wrong
        assert refused.json()["error"]["param"] == "timezone"
    assert client.v1.accounts.retrieve_current().settings.dashboard.timezone == ("Pacific/Auckland")
    (event,) = client.v1.events.list(params={"type": "account.updated"}).data
    assert event.data.previous_attributes.settings.dashboard.timezone == "Etc/UTC"
