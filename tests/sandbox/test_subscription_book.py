"""The seed's subscription book: planted beside the one-off history without moving it, and
its ground truth (worked out from the stories) borne out by what the API shows."""

from __future__ import annotations

import calendar

import pytest
import stripe

from workbench import sandbox
from workbench.sandbox import seed
from workbench.sandbox.server import Api

UNTIL = calendar.timegm((2026, 9, 1, 0, 0, 0))
HOUR = 3600
DAY = 86400
# What the book changes in the rest of the history: payouts sweep its money too (their
# balance transactions and events with them); nothing else.
SWEPT = ("payout", "balance_transaction", "event")


def seeded(directory, **kwargs):
    store = Api(directory, sandbox.DEFAULT_KEY).store("default")
    truth = seed.seed(store, until=UNTIL, months=6, seed=11, scale=0.3, files=directory, **kwargs)
    rows = dict(
        ((kind, object_id), data)
        for kind, object_id, data in store.conn.execute("SELECT object, id, data FROM objects")
    )
    store.close()
    return truth, rows


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    directory = tmp_path_factory.mktemp("book")
    truth, rows = seeded(directory)
    return directory, truth, rows


def test_the_book_leaves_the_rest_of_the_history_as_it_was(book, tmp_path):
    _, truth, rows = book
    alone, alone_rows = seeded(tmp_path, subscriptions=False)
    kept = {key: data for key, data in alone_rows.items() if key[0] not in SWEPT}
    assert kept and all(rows.get(key) == data for key, data in kept.items())
    assert set(alone_rows) <= set(rows)
    for key in ("planted", "expiring_cards", "partial_captures", "open_authorizations", "bank"):
        assert truth[key] == alone[key], key
    assert (book[0] / "orders.csv").read_bytes() == (tmp_path / "orders.csv").read_bytes()


def test_every_story_is_planted_and_every_movement_seen(book):
    _, truth, _ = book
    months = truth["subscriptions"]["months"]
    seen = {
        name
        for figures in months.values()
        for currency in figures.values()
        for name in ("new", "expansion", "contraction", "churn", "reactivation")
        if currency[name]
    }
    assert seen == {"new", "expansion", "contraction", "churn", "reactivation"}
    assert {c for figures in months.values() for c in figures} == {"usd", "eur", "jpy"}
    outcomes = {f["outcome"] for f in truth["subscriptions"]["failed_renewals"]}
    assert outcomes == {"recovered", "canceled", "retrying"}
    assert truth["subscriptions"]["trials"]["converted"]
    assert truth["subscriptions"]["trials"]["lapsed"]


def test_the_months_roll_forward(book):
    _, truth, _ = book
    labels = sorted(truth["subscriptions"]["months"])
    for label in labels:
        for figures in truth["subscriptions"]["months"][label].values():
            moved = sum(
                figures[name]
                for name in ("new", "expansion", "contraction", "churn", "reactivation")
            )
            assert figures["opening"] + moved == figures["closing"]
    for before, after in zip(labels, labels[1:], strict=False):
        for currency, figures in truth["subscriptions"]["months"][after].items():
            assert (
                figures["opening"] == truth["subscriptions"]["months"][before][currency]["closing"]
            )


def test_the_truth_is_what_the_api_shows(book):
    directory, truth, _ = book
    book_truth = truth["subscriptions"]
    with sandbox.start(directory) as server:
        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.url}).v1
        for failed in book_truth["failed_renewals"]:
            subscription = client.subscriptions.retrieve(failed["subscription"])
            invoices = client.invoices.list(params={"subscription": subscription.id}).data
            renewal = next(i for i in invoices if i.lines.data[0].period.start == failed["renewal"])
            first = failed["renewal"] + HOUR
            if failed["outcome"] == "canceled":
                assert (subscription.status, subscription.cancellation_details.reason) == (
                    "canceled",
                    "payment_failed",
                )
                assert subscription.ended_at == first + 14 * DAY
                assert (renewal.status, renewal.attempt_count) == ("open", 8)
            elif failed["outcome"] == "recovered":
                assert subscription.status == "active"
                assert (renewal.status, renewal.attempt_count) == ("paid", 3)
                assert renewal.status_transitions.paid_at == first + 4 * DAY
            else:
                assert subscription.status == "past_due"
                assert renewal.status == "open" and renewal.next_payment_attempt > UNTIL
        for converted in book_truth["trials"]["converted"]:
            subscription = client.subscriptions.retrieve(converted)
            paid = client.invoices.list(params={"subscription": converted, "status": "paid"})
            assert any(i.amount_paid > 0 for i in paid.data)
            assert subscription.trial_end < UNTIL
        for lapsed in book_truth["trials"]["lapsed"]:
            subscription = client.subscriptions.retrieve(lapsed)
            assert (subscription.status, subscription.ended_at) == (
                "canceled",
                subscription.trial_end,
            )
            assert client.charges.list(params={"customer": subscription.customer}).data == []
        live = client.subscriptions.list(params={"limit": 100}).data
        customers = {s.customer for s in live if s.status in ("active", "past_due")}
        last = book_truth["months"][max(book_truth["months"])]
        assert len(customers) == sum(figures["subscribers"] for figures in last.values())
