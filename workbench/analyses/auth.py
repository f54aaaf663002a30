"""Authorizations held but not captured: how long each has left before the card network
lets it go (Stripe's `capture_before` for the card, else seven days after creation), in
buckets a person can act on; and those that lapsed, with the amount released."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from workbench.analyses._frames import lookup, named, totals

HOLD = timedelta(days=7)
BUCKETS = ("expired", "within 24 h", "within 72 h", "later")


def deadline(charges: pd.DataFrame) -> pd.Series:
    """When each authorization must be captured by."""
    default = charges["created"] + HOLD
    if "capture_before" not in charges:
        return default
    return charges["capture_before"].fillna(default)


def open_authorizations(charges: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """Uncaptured, unreleased authorizations, soonest deadline first, with hours left and a
    bucket. `as_of` is the moment the question is asked (a timezone-aware datetime)."""
    held = charges[
        (charges["status"] == "succeeded")
        & ~charges["captured"].astype(bool)
        & ~charges["refunded"].astype(bool)
    ]
    columns = ["id", "created", "customer", "amount", "currency", "card_brand", "card_last4"]
    result = held[[c for c in columns if c in held]].copy()
    result["order_id"] = held.get("metadata.order_id")
    result["capture_before"] = deadline(held)
    hours = (result["capture_before"] - pd.Timestamp(as_of)).dt.total_seconds() / 3600
    result["hours_left"] = hours.round(1)
    result["bucket"] = pd.Categorical(
        pd.cut(hours, [-float("inf"), 0, 24, 72, float("inf")], labels=BUCKETS, right=False),
        categories=BUCKETS,
    )
    return result.sort_values("capture_before", ignore_index=True)


def aging(open_now: pd.DataFrame) -> pd.DataFrame:
    """Count and amount per bucket and currency (every bucket, even empty ones)."""
    found = totals(open_now, ["bucket", "currency"], ["amount"])
    currencies = sorted(set(found["currency"])) or []
    grid = pd.MultiIndex.from_product([BUCKETS, currencies], names=["bucket", "currency"])
    result = found.set_index(["bucket", "currency"]).reindex(grid, fill_value=0).reset_index()
    return result.astype({"count": "int64", "amount": "int64"})


def expired(charges: pd.DataFrame, refunds: pd.DataFrame) -> pd.DataFrame:
    """Authorizations that lapsed uncaptured: Stripe released them with a refund of reason
    `expired_uncaptured_charge`; the amount released is that refund's."""
    lapsed = refunds[refunds["reason"] == "expired_uncaptured_charge"]
    result = lapsed[["charge", "created", "amount", "currency"]].rename(
        columns={"created": "released", "amount": "released_amount"}
    )
    details = named(charges, result["charge"])
    result["authorized"] = lookup(result["charge"], details["created"])
    result["customer"] = lookup(result["charge"], details["customer"])
    if "metadata.order_id" in details:
        result["order_id"] = lookup(result["charge"], details["metadata.order_id"])
    return result.reset_index(drop=True)
