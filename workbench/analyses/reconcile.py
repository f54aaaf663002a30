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

import pandas as pd

from workbench.analyses._frames import lookup

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
REFUNDED = ("refund", "partial_capture_reversal", "refund_failure")
DISPUTED = ("dispute", "dispute_reversal")


def payouts_arriving(payouts: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """Automatic payouts whose arrival date (Stripe's effective date) is in [start, end), as
    Stripe's report selects them: their items may be older than the period."""
    automatic = payouts[payouts["automatic"].astype(bool)]
    arrival = automatic["arrival_date"]
    return automatic[(arrival >= pd.Timestamp(start)) & (arrival < pd.Timestamp(end))]


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
    items = transactions[
        transactions["payout"].isin(payouts["id"]) & (transactions["type"] != "payout")
    ]
    category = items["reporting_category"].astype("object")
    source = items["source"]
    refund = refunds.set_index("id")
    dispute = disputes.set_index("id")
    charge_id = source.where(category == "charge")
    charge_id = charge_id.fillna(lookup(source, refund["charge"]).where(category.isin(REFUNDED)))
    charge_id = charge_id.fillna(lookup(source, dispute["charge"]).where(category.isin(DISPUTED)))
    charge = charges.set_index("id")
    payout = payouts.set_index("id")

    def of_charge(column: str) -> pd.Series:
        return (
            lookup(charge_id, charge[column])
            if column in charge
            else pd.Series(None, index=items.index)
        )

    facing_amount = (
        lookup(source, refund["amount"])
        .where(category.isin(REFUNDED))
        .fillna(lookup(source, dispute["amount"]).where(category.isin(DISPUTED)))
        .fillna(of_charge("amount").where(category == "charge"))
    )
    facing_currency = (
        lookup(source, refund["currency"].astype("object"))
        .where(category.isin(REFUNDED))
        .fillna(lookup(source, dispute["currency"].astype("object")).where(category.isin(DISPUTED)))
        .fillna(of_charge("currency").astype("object").where(category == "charge"))
    )
    customer_id = of_charge("customer")
    emails = customers.set_index("id")["email"] if len(customers) else pd.Series(dtype=object)
    descriptor = of_charge("statement_descriptor").fillna(of_charge("statement_descriptor_suffix"))
    result = pd.DataFrame(
        {
            "automatic_payout_id": items["payout"],
            "automatic_payout_effective_at": lookup(items["payout"], payout["arrival_date"]),
            "payout_status": lookup(items["payout"], payout["status"].astype("object")),
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
            "customer_facing_amount": facing_amount.astype("Int64"),
            "customer_facing_currency": facing_currency,
            "customer_id": customer_id,
            "customer_email": lookup(customer_id, emails),
            "charge_id": charge_id,
            "payment_intent_id": of_charge("payment_intent"),
            "charge_created_utc": of_charge("created"),
            "order_id": of_charge("metadata.order_id"),
            "card_brand": of_charge("card_brand").astype("object"),
            "card_funding": of_charge("card_funding").astype("object"),
            "card_country": of_charge("card_country").astype("object"),
            "statement_descriptor": descriptor,
            "dispute_reason": lookup(source, dispute["reason"].astype("object")).where(
                category.isin(DISPUTED)
            ),
        },
        columns=COLUMNS,
    )
    return result.sort_values(
        [
            "automatic_payout_effective_at",
            "automatic_payout_id",
            "created_utc",
            "balance_transaction_id",
        ],
        ignore_index=True,
    )


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
