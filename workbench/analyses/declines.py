"""Failed payments: how many, how much, and why, by the fields Stripe reports a decline in
(failure code, the issuer's decline code, network status) and by card brand and funding.
A rate is the failed share of attempts in its group."""

from __future__ import annotations

import pandas as pd

from workbench.analyses._frames import local_day, ratio, totals

DIMENSIONS = ("failure_code", "decline_code", "network_status", "card_brand", "card_funding")


def by(charges: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per value of `column` and currency: attempts, failures, the amount that failed, and
    the decline rate. Failure fields are empty on succeeded charges, so their rows hold
    failures only."""
    if column not in DIMENSIONS:
        raise ValueError(f"decline dimension must be one of {', '.join(DIMENSIONS)}")
    frame = charges.assign(
        failed=(charges["status"] == "failed").astype("int64"),
        failed_amount=charges["amount"].where(charges["status"] == "failed", 0),
    )
    if column in ("failure_code", "decline_code"):
        frame = frame[frame["failed"] == 1]
    result = totals(frame, [column, "currency"], ["failed", "failed_amount"])
    result = result.rename(columns={"count": "attempts"})
    result["decline_rate"] = ratio(result["failed"], result["attempts"])
    return result.sort_values(["failed", column], ascending=[False, True], ignore_index=True)


def daily(charges: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Per day: attempts, failures and the decline rate (all currencies)."""
    frame = charges.assign(
        day=local_day(charges["created"], timezone),
        failed=(charges["status"] == "failed").astype("int64"),
    )
    result = totals(frame, ["day"], ["failed"]).rename(columns={"count": "attempts"})
    result["decline_rate"] = ratio(result["failed"], result["attempts"])
    return result
