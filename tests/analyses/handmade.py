"""A real store on disk holding a few hand-written Stripe objects, read back through the
frames: analyses are checked against figures worked out by hand from these objects."""

from __future__ import annotations

import calendar

from workbench import frames
from workbench.store import Store

ACCOUNT = "acct_hand:test"


def at(year: int, month: int, day: int, hour: int = 12) -> int:
    return calendar.timegm((year, month, day, hour, 0, 0))


def charge(
    id,
    created,
    amount,
    currency="usd",
    *,
    captured=None,
    refunded=0,
    status="succeeded",
    order=None,
    customer=None,
    capture_before=None,
    **extra,
):
    captured = amount if captured is None and status == "succeeded" else (captured or 0)
    return {
        "id": id,
        "object": "charge",
        "created": created,
        "amount": amount,
        "amount_captured": captured,
        "amount_refunded": refunded,
        "currency": currency,
        "status": status,
        "paid": status == "succeeded",
        "captured": captured > 0,
        "refunded": refunded >= amount,
        "disputed": False,
        "customer": customer,
        "metadata": {"order_id": order} if order else {},
        "outcome": {"type": "authorized" if status == "succeeded" else "issuer_declined"},
        "payment_method_details": {
            "card": {
                "brand": "visa",
                "funding": "credit",
                "country": "US",
                "capture_before": capture_before,
            }
        },
        **extra,
    }


def txn(
    id,
    created,
    amount,
    fee=0,
    *,
    category="charge",
    type=None,
    source=None,
    currency="usd",
    payout=None,
    fee_type="stripe_fee",
    exchange_rate=None,
):
    return {
        "id": id,
        "object": "balance_transaction",
        "created": created,
        "amount": amount,
        "fee": fee,
        "net": amount - fee,
        "currency": currency,
        "type": type
        or {
            "partial_capture_reversal": "refund",
            "dispute": "adjustment",
            "dispute_reversal": "adjustment",
            "payout_reversal": "payout_failure",
        }.get(category, category),
        "reporting_category": category,
        "status": "available",
        "available_on": created,
        "source": source,
        "exchange_rate": exchange_rate,
        "fee_details": [{"amount": fee, "currency": currency, "type": fee_type}] if fee else [],
        "_payout": payout,
    }


def payout(id, created, amount, arrival, *, status="paid", currency="usd", automatic=True):
    return {
        "id": id,
        "object": "payout",
        "created": created,
        "amount": amount,
        "arrival_date": arrival,
        "currency": currency,
        "status": status,
        "automatic": automatic,
    }


class Handmade:
    """Objects in, frames out."""

    def __init__(self, path):
        self.store = Store(path / "store.sqlite3")

    def add(self, kind: str, *objects: dict) -> Handmade:
        with self.store.transaction():
            self.store.upsert(
                kind, ACCOUNT, [{k: v for k, v in o.items() if k != "_payout"} for o in objects]
            )
            for obj in objects:
                if obj.get("_payout"):
                    self.store.assign_payout(ACCOUNT, obj["_payout"], [obj["id"]])
        return self

    def frame(self, kind: str, start=None, end=None):
        return frames.load(self.store, ACCOUNT, kind, start, end)
