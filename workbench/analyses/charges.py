"""Charges at a glance: volume by day, status, currency and brand; refunds; who pays most;
which statement descriptors customers saw. Volume is what was captured, in the charge's
own (presentment) currency."""

from __future__ import annotations

import pandas as pd

from workbench.analyses._frames import local_day, lookup, ratio, totals


def select(
    charges: pd.DataFrame,
    *,
    status: str | None = None,
    customer: str | None = None,
    order_id: str | None = None,
    currency: str | None = None,
) -> pd.DataFrame:
    """The charges that match every filter given (an order ID is `metadata.order_id`)."""
    keep = pd.Series(True, index=charges.index)
    for column, value in (("status", status), ("customer", customer), ("currency", currency)):
        if value is not None:
            keep &= charges[column] == value
    if order_id is not None:
        keep &= charges.get("metadata.order_id", pd.Series(None, index=charges.index)) == order_id
    return charges[keep]


def daily(charges: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Per day and currency: attempts, succeeded, failed, and the amount captured."""
    frame = charges.assign(
        day=local_day(charges["created"], timezone),
        succeeded=(charges["status"] == "succeeded").astype("int64"),
        failed=(charges["status"] == "failed").astype("int64"),
    )
    result = totals(frame, ["day", "currency"], ["succeeded", "failed", "amount_captured"])
    return result.rename(columns={"count": "attempts", "amount_captured": "captured"})


def by_status(charges: pd.DataFrame) -> pd.DataFrame:
    return totals(charges, ["status", "currency"], ["amount"])


def by_brand(charges: pd.DataFrame) -> pd.DataFrame:
    """Succeeded charges per card brand and currency."""
    succeeded = charges[charges["status"] == "succeeded"]
    return totals(succeeded, ["card_brand", "currency"], ["amount_captured"]).rename(
        columns={"amount_captured": "captured"}
    )


def refund_rate(charges: pd.DataFrame) -> pd.DataFrame:
    """Per currency: captured, refunded after capture, and the share refunded. (A partial
    capture's uncaptured part counts in Stripe's amount_refunded but was never captured.)"""
    captured = charges[charges["captured"].astype(bool)]
    released = captured["amount"] - captured["amount_captured"]
    frame = captured.assign(refunded=captured["amount_refunded"] - released)
    result = totals(frame, ["currency"], ["amount_captured", "refunded"])
    result = result.rename(columns={"amount_captured": "captured"})
    result["refund_rate"] = ratio(result["refunded"], result["captured"])
    return result


def top_customers(charges: pd.DataFrame, customers: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The customers who paid most, per currency, with their email."""
    succeeded = charges[(charges["status"] == "succeeded") & charges["customer"].notna()]
    result = totals(succeeded, ["customer", "currency"], ["amount_captured"])
    result = result.rename(columns={"amount_captured": "captured"})
    emails = customers.set_index("id")["email"] if len(customers) else pd.Series(dtype=object)
    result.insert(1, "email", lookup(result["customer"], emails))
    return (
        result.sort_values(["currency", "captured"], ascending=[True, False])
        .groupby("currency", sort=False)
        .head(n)
        .reset_index(drop=True)
    )


def statement_descriptors(charges: pd.DataFrame) -> pd.DataFrame:
    """What customers saw on their card statements, and how often."""
    succeeded = charges[charges["status"] == "succeeded"]
    return totals(succeeded, ["calculated_statement_descriptor", "currency"], ["amount_captured"])
