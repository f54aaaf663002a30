"""Per-day views the notebooks chart (balance movements, events), on histories worked out
by hand, with a timezone that moves an evening in UTC to the next day."""

from __future__ import annotations

from datetime import date

from tests.analyses.handmade import Handmade, at, txn
from workbench.analyses import balance, events


def event(id, created, type):
    return {
        "id": id,
        "object": "event",
        "created": created,
        "type": type,
        "data": {"object": {"id": "ch_1", "object": "charge"}},
        "request": {"id": None},
        "api_version": "2024-06-20",
    }


def test_balance_movements_per_day_in_the_accounts_timezone(tmp_path):
    made = Handmade(tmp_path).add(
        "balance_transactions",
        txn("t1", at(2026, 10, 1, 9), 1000, 59),
        txn("t2", at(2026, 10, 1, 20), -300, category="refund"),  # Oct 2 in Auckland
        txn("t3", at(2026, 10, 2, 1), 2500, 103),
        txn("t4", at(2026, 10, 2, 2), 900, 56, currency="eur"),
    )
    frame = made.frame("balance_transactions")
    found = balance.daily(frame, "Pacific/Auckland")  # UTC+13 in October
    rows = {(r.day, r.currency): (r.count, r.gross, r.fee, r.net) for r in found.itertuples()}
    assert rows == {
        (date(2026, 10, 1), "usd"): (1, 1000, 59, 941),
        (date(2026, 10, 2), "usd"): (2, 2200, 103, 2097),
        (date(2026, 10, 2), "eur"): (1, 900, 56, 844),
    }
    assert balance.daily(frame.iloc[0:0], "Etc/UTC").empty


def test_event_types_commonest_first_and_per_day_with_the_rest_as_other(tmp_path):
    made = Handmade(tmp_path).add(
        "events",
        event("evt_1", at(2026, 10, 1, 9), "charge.succeeded"),
        event("evt_2", at(2026, 10, 1, 10), "charge.succeeded"),
        event("evt_3", at(2026, 10, 1, 11), "charge.failed"),
        event("evt_4", at(2026, 10, 2, 9), "charge.succeeded"),
        event("evt_5", at(2026, 10, 2, 9), "payout.paid"),
    )
    frame = made.frame("events")
    assert [tuple(r) for r in events.by_type(frame)[["type", "count"]].to_numpy()] == [
        ("charge.succeeded", 3),
        ("charge.failed", 1),
        ("payout.paid", 1),
    ]
    found = events.by_day(frame, "Etc/UTC", top=1)
    assert [tuple(r) for r in found[["day", "type", "count"]].to_numpy()] == [
        (date(2026, 10, 1), "charge.succeeded", 2),
        (date(2026, 10, 1), "other", 1),
        (date(2026, 10, 2), "charge.succeeded", 1),
        (date(2026, 10, 2), "other", 1),
    ]
