"""Payout reconciliation: what each automatic payout to the bank contains, one row per
balance transaction it swept, under the column names of Stripe's own
`payout_reconciliation.itemized.5` report; and, per payout, the check Stripe's report does
not show: the items' net sums to the payout's amount, in the payout's currency.

Amounts stay integer minor units here (gross, fee, net in settlement currency;
customer_facing_amount in the customer's); exports write Stripe's major units. A payout
that failed is reconciled like any other and marked so; its funds come back as a
`payout_reversal` item of a later payout, which `checks` names."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from workbench.analyses._frames import Rows, lookup

COLUMNS = [
    "automatic_payout_id",
    "automatic_payout_effective_at",
    "payout_status",
    "balance_transaction_id",
    "created_utc",
    "available_on_utc",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "description",
    "customer_facing_amount",
    "customer_facing_currency",
    "customer_id",
    "customer_email",
    "charge_id",
    "payment_intent_id",
    "charge_created_utc",
    "order_id",
    "card_brand",
    "card_funding",
    "card_country",
    "statement_descriptor",
    "dispute_reason",
]
# What an item takes from its balance transaction (the rest comes from what it concerns).
ITEM_COLUMNS = [
    "id",
    "created",
    "available_on",
    "currency",
    "amount",
    "fee",
    "net",
    "reporting_category",
    "source",
    "description",
    "payout",
]
REFUNDED = ("refund", "partial_capture_reversal", "refund_failure")
DISPUTED = ("dispute", "dispute_reversal")


def payouts_arriving(payouts: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """Automatic payouts whose arrival date (Stripe's effective date) is in [start, end), as
    Stripe's report selects them: their items may be older than the period. Numbered from 0,
    whatever was read around the period."""
    automatic = payouts[payouts["automatic"].astype(bool)]
    arrival = automatic["arrival_date"]
    chosen = automatic[(arrival >= pd.Timestamp(start)) & (arrival < pd.Timestamp(end))]
    return chosen.reset_index(drop=True)


def itemized(
    transactions: pd.DataFrame,
    payouts: pd.DataFrame,
    charges: pd.DataFrame,
    refunds: pd.DataFrame,
    disputes: pd.DataFrame,
    customers: pd.DataFrame,
) -> pd.DataFrame:
    """One row per balance transaction swept into one of `payouts` (the payout's own
    transaction left out), with the charge, customer and dispute it concerns."""
    swept = transactions["payout"].isin(payouts["id"]) & (transactions["type"] != "payout")
    items = transactions.loc[swept, ITEM_COLUMNS]
    coded = items["reporting_category"]  # compared as codes; shown as text
    category = coded.astype("object")
    source = items["source"]
    refunded, disputed, charged = coded.isin(REFUNDED), coded.isin(DISPUTED), coded == "charge"
    refund = Rows(refunds.set_index("id"), source.where(refunded))
    dispute = Rows(disputes.set_index("id"), source.where(disputed))
    # The charge each item concerns: its source, or its refund's or dispute's charge (the
    # three kinds exclude each other, so each is set where its own kind is).
    charge_id = np.full(len(items), None, dtype=object)
    for kind, ids in (
        (charged, source),
        (refunded, refund["charge"]),
        (disputed, dispute["charge"]),
    ):
        chosen = kind.to_numpy()
        charge_id[chosen] = ids.to_numpy(object)[chosen]
    charge_id = pd.Series(charge_id, index=items.index, dtype=object)
    charge = Rows(charges.set_index("id"), charge_id)
    # By payout (arrival, then id): each payout's rank, found with its other columns.
    ranked = payouts.sort_values(["arrival_date", "id"]).reset_index(drop=True)
    payout = Rows(ranked.assign(rank=ranked.index).set_index("id"), items["payout"])
    facing_amount = refund["amount"].fillna(dispute["amount"])
    facing_amount = facing_amount.fillna(charge["amount"].where(charged))
    facing_currency = refund["currency"].fillna(dispute["currency"])
    facing_currency = facing_currency.fillna(charge["currency"].where(charged))
    customer_id = charge["customer"]
    emails = Rows(customers.set_index("id"), customer_id)["email"]
    descriptor = charge["statement_descriptor"].fillna(charge["statement_descriptor_suffix"])
    result = pd.DataFrame(
        {
            "automatic_payout_id": items["payout"],
            "automatic_payout_effective_at": payout["arrival_date"],
            "payout_status": payout["status"],
            "balance_transaction_id": items["id"],
            "created_utc": items["created"],
            "available_on_utc": items["available_on"],
            "currency": items["currency"].astype("object"),
            "gross": items["amount"],
            "fee": items["fee"],
            "net": items["net"],
            "reporting_category": category,
            "source_id": source,
            "description": items["description"],
            "customer_facing_amount": facing_amount,
            "customer_facing_currency": facing_currency,
            "customer_id": customer_id,
            "customer_email": emails,
            "charge_id": charge_id,
            "payment_intent_id": charge["payment_intent"],
            "charge_created_utc": charge["created"],
            "order_id": charge["metadata.order_id"],
            "card_brand": charge["card_brand"],
            "card_funding": charge["card_funding"],
            "card_country": charge["card_country"],
            "statement_descriptor": descriptor,
            "dispute_reason": dispute["reason"],
        },
        columns=COLUMNS,
        copy=False,  # taken in payout order below, which copies once
    )
    # Keeping the frames' created order within each payout: a stable sort on the payout's
    # rank, not a sort of a million id strings.
    positions = np.argsort(payout["rank"].to_numpy(dtype="int64", na_value=-1), kind="stable")
    return result.iloc[positions].reset_index(drop=True)


def checks(items: pd.DataFrame, payouts: pd.DataFrame) -> pd.DataFrame:
    """Per payout: its amount, the sum of its items' net, the difference and whether it
    reconciles; its status, failure, and (for one that failed or was canceled) the later
    payout its funds came back in, when that is among the items."""
    sums = items.groupby("automatic_payout_id")["net"].agg(["count", "sum"])
    returned = items[items["reporting_category"] == "payout_reversal"].set_index("source_id")[
        "automatic_payout_id"
    ]
    result = payouts[
        ["id", "created", "arrival_date", "status", "currency", "amount", "failure_code"]
    ].copy()
    result["status"] = result["status"].astype("object")
    result["currency"] = result["currency"].astype("object")
    result["items"] = lookup(result["id"], sums["count"]).fillna(0).astype("int64")
    result["items_net"] = lookup(result["id"], sums["sum"]).fillna(0).astype("int64")
    result["difference"] = result["amount"] - result["items_net"]
    result["reconciled"] = result["difference"] == 0
    result["returned_in"] = lookup(result["id"], returned)
    return result.sort_values(["arrival_date", "id"], ignore_index=True)


def discrepancies(checked: pd.DataFrame) -> pd.DataFrame:
    """The payouts whose items do not add up, with the difference."""
    return checked[~checked["reconciled"]].reset_index(drop=True)
