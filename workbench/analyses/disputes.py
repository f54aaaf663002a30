"""Disputes: which still need an answer and by when, what is at stake (the amount and
Stripe's dispute fee, from the dispute's balance transactions), and how they ended."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from workbench.analyses._frames import lookup, ratio, totals

OPEN = ("needs_response", "warning_needs_response", "under_review", "warning_under_review")
NEEDS_EVIDENCE = ("needs_response", "warning_needs_response")


def at_stake(disputes: pd.DataFrame, transactions: pd.DataFrame) -> pd.DataFrame:
    """Each dispute with what it took from the balance so far, in settlement currency:
    withdrawn (amount), fee, and what came back if won (reinstated)."""
    moved = transactions[transactions["source"].isin(disputes["id"])]
    withdrawn = moved[moved["reporting_category"] == "dispute"].groupby("source")
    back = moved[moved["reporting_category"] == "dispute_reversal"].groupby("source")["amount"]
    result = disputes.copy()
    result["withdrawn"] = -lookup(result["id"], withdrawn["amount"].sum()).fillna(0).astype("int64")
    result["fee"] = lookup(result["id"], withdrawn["fee"].sum()).fillna(0).astype("int64")
    result["reinstated"] = lookup(result["id"], back.sum()).fillna(0).astype("int64")
    settlement = moved.groupby("source")["currency"].first()
    result["settlement_currency"] = lookup(result["id"], settlement).astype("object")
    return result


def open_disputes(
    disputes: pd.DataFrame, transactions: pd.DataFrame, as_of: datetime
) -> pd.DataFrame:
    """Disputes not yet decided, the ones needing evidence first, soonest deadline first."""
    found = at_stake(disputes[disputes["status"].isin(OPEN)], transactions)
    found["needs_evidence"] = found["status"].isin(NEEDS_EVIDENCE)
    found["days_left"] = ((found["due_by"] - pd.Timestamp(as_of)).dt.total_seconds() / 86400).round(
        1
    )
    columns = [
        "id",
        "charge",
        "reason",
        "status",
        "needs_evidence",
        "due_by",
        "days_left",
        "amount",
        "currency",
        "withdrawn",
        "fee",
        "settlement_currency",
    ]
    return found[columns].sort_values(
        ["needs_evidence", "due_by"], ascending=[False, True], ignore_index=True
    )


def by_reason(disputes: pd.DataFrame) -> pd.DataFrame:
    return totals(disputes, ["reason", "status", "currency"], ["amount"])


def outcomes(disputes: pd.DataFrame) -> pd.DataFrame:
    """Per reason: how many were won and lost, and the win rate of those decided
    (inquiries closed without a chargeback count as neither)."""
    decided = disputes.assign(
        won=(disputes["status"] == "won").astype("int64"),
        lost=(disputes["status"] == "lost").astype("int64"),
    )
    result = totals(decided, ["reason"], ["won", "lost"])
    total = pd.DataFrame(
        {
            "reason": ["(all)"],
            "count": [len(decided)],
            "won": [int(decided["won"].sum())],
            "lost": [int(decided["lost"].sum())],
        }
    )
    result = pd.concat([result, total], ignore_index=True) if len(result) else total
    result["win_rate"] = ratio(result["won"], result["won"] + result["lost"])
    return result
