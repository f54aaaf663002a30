"""Saved cards: which expire soon (a card is good through the last day of its expiry
month), which customers have no default card to charge, and the mix of brands."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from workbench.analyses._frames import lookup, totals


def expires(cards: pd.DataFrame) -> pd.Series:
    """The first moment each card is no longer good: the start of the month after expiry."""
    month = cards["exp_year"].astype("int64") * 12 + cards["exp_month"].astype("int64")
    return pd.to_datetime({"year": month // 12, "month": month % 12 + 1, "day": 1}, utc=True)


def expiring(
    cards: pd.DataFrame, customers: pd.DataFrame, as_of: datetime, months: int = 3
) -> pd.DataFrame:
    """Cards that stop working within `months` of `as_of` (those already expired too),
    soonest first, with their customer's email."""
    if cards.empty:
        return cards.assign(expires=pd.Series(dtype="datetime64[ns, UTC]"), email=None)
    ends = expires(cards)
    limit = pd.Timestamp(as_of) + pd.DateOffset(months=months)
    soon = cards[ends <= limit].assign(expires=ends[ends <= limit])
    emails = customers.set_index("id")["email"]
    soon.insert(1, "email", lookup(soon["customer"], emails))
    soon["expired"] = soon["expires"] <= pd.Timestamp(as_of)
    columns = ["id", "email", "customer", "brand", "last4", "exp_month", "exp_year", "expires"]
    return soon[[*columns, "expired"]].sort_values("expires", ignore_index=True)


def without_default(customers: pd.DataFrame, cards: pd.DataFrame) -> pd.DataFrame:
    """Live customers with no default card (Stripe charges the default when none is
    named), and how many saved cards each has to choose from."""
    live = customers[~customers["deleted"].astype(bool) & customers["default_source"].isna()]
    saved = cards.groupby("customer").size()
    result = live[["id", "email", "name", "created"]].copy()
    result["saved_cards"] = lookup(result["id"], saved).fillna(0).astype("int64")
    return result.reset_index(drop=True)


def by_brand(cards: pd.DataFrame) -> pd.DataFrame:
    return totals(cards, ["brand", "funding"], []).sort_values(
        "count", ascending=False, ignore_index=True
    )
