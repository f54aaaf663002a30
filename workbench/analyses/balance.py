"""The balance as Stripe's Balance report tells it (`balance.summary.1`,
`balance_change_from_activity.summary.1`): a period's starting balance, its activity by
reporting category, its payouts, and its ending balance, with the check that
starting + activity - payouts = ending to the minor unit, per settlement currency. And the
Dashboard's balance-history filter.

Balances are sums of `net` over every balance transaction created before a moment
(available and pending alike, as Stripe counts its balance); the session computes them in
the store (`Session.balance_at`), so a period's check compares two independent sums."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from workbench.analyses._frames import local_day, totals

PAYOUT_CATEGORIES = ("payout", "payout_reversal")


def activity(transactions: pd.DataFrame) -> pd.DataFrame:
    """Per reporting category and currency, everything but payouts: count, gross, fee, net."""
    moved = transactions[~transactions["reporting_category"].isin(PAYOUT_CATEGORIES)]
    result = totals(
        moved.rename(columns={"amount": "gross"}),
        ["reporting_category", "currency"],
        ["gross", "fee", "net"],
    )
    return result.sort_values(["currency", "reporting_category"], ignore_index=True)


def summary(
    transactions: pd.DataFrame, opening: pd.DataFrame, closing: pd.DataFrame
) -> pd.DataFrame:
    """Per currency: starting balance, activity, payouts (as a positive amount), ending
    balance, what start + activity - payouts comes to, the difference and whether it holds.
    `opening` and `closing` hold `currency` and `balance` at the period's start and end."""
    paid_out = transactions["reporting_category"].isin(PAYOUT_CATEGORIES)
    net = transactions.assign(
        payouts=(-transactions["net"]).where(paid_out, 0),
        activity=transactions["net"].where(~paid_out, 0),
    )
    moved = (
        totals(net, ["currency"], ["activity", "payouts"])
        .drop(columns="count")
        .set_index("currency")
    )
    start = opening.set_index("currency")["balance"]
    end = closing.set_index("currency")["balance"]
    currencies = sorted(set(moved.index) | set(start.index) | set(end.index))
    result = pd.DataFrame(index=pd.Index(currencies, name="currency"))
    result["starting_balance"] = start
    result["activity"] = moved["activity"] if len(moved) else 0
    result["payouts"] = moved["payouts"] if len(moved) else 0
    result["ending_balance"] = end
    result = result.fillna(0).astype("int64")
    result["computed_ending"] = result["starting_balance"] + result["activity"] - result["payouts"]
    result["difference"] = result["ending_balance"] - result["computed_ending"]
    result["balanced"] = result["difference"] == 0
    return result.reset_index()


def history(
    transactions: pd.DataFrame,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    types: Iterable[str] = (),
    categories: Iterable[str] = (),
    currency: str | None = None,
    payout: str | None = None,
    status: str | None = None,
    min_amount: int | None = None,
    max_amount: int | None = None,
) -> pd.DataFrame:
    """Balance transactions as the Dashboard's balance history filters them: created in
    [start, end), of these types or reporting categories, in a currency, swept into a payout,
    available or pending, and gross `amount` within [min_amount, max_amount] (minor units)."""
    keep = pd.Series(True, index=transactions.index)
    created = transactions["created"]
    if start is not None:
        keep &= created >= pd.Timestamp(start)
    if end is not None:
        keep &= created < pd.Timestamp(end)
    if types := list(types):
        keep &= transactions["type"].isin(types)
    if categories := list(categories):
        keep &= transactions["reporting_category"].isin(categories)
    for column, value in (("currency", currency), ("payout", payout), ("status", status)):
        if value is not None:
            keep &= transactions[column] == value
    if min_amount is not None:
        keep &= transactions["amount"] >= min_amount
    if max_amount is not None:
        keep &= transactions["amount"] <= max_amount
    return transactions[keep]


def daily(transactions: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Per day (the account's) and settlement currency: count, gross, fee and net."""
    frame = transactions.assign(
        day=local_day(transactions["created"], timezone), gross=transactions["amount"]
    )
    return totals(frame, ["day", "currency"], ["gross", "fee", "net"])
