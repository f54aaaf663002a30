"""Every order paid exactly once: the merchant's orders (workbench.imports.read_orders)
matched to the charges that carry their ID in `metadata.order_id`.

Each order gets one class. An order the shop counts as sold (`paid`, or `refunded`) expects
its amount captured once; any other (pending, authorized, cancelled) expects nothing
captured yet.

    matched             what Stripe captured is what the order says
    missing_payment     the shop counts it sold; Stripe captured nothing
    duplicate_payment   more than one charge captured for it
    amount_mismatch     captured, but not the order's amount (or currency)
    refunded            Stripe refunded it in full; the shop still says paid
    partially_refunded  part of it was refunded later: normal, shown, not a discrepancy

A charge whose order_id is not in the orders file is an unknown order. Amounts are minor
units of the order's currency; a partial capture's uncaptured part (which Stripe shows as
refunded) is not counted as a refund."""

from __future__ import annotations

import pandas as pd

from workbench.analyses._frames import Rows, totals

CLASSES = (
    "matched",
    "missing_payment",
    "duplicate_payment",
    "amount_mismatch",
    "refunded",
    "partially_refunded",
)
DISCREPANCIES = (
    "missing_payment",
    "duplicate_payment",
    "amount_mismatch",
    "refunded",
    "unknown_order",
)
SOLD = ("paid", "refunded")


def _payments(charges: pd.DataFrame) -> pd.DataFrame:
    """Per order_id: charges captured, what they captured and refunded after capture, and
    whether every one was refunded in full, in the charges' currency."""
    if "metadata.order_id" not in charges:
        charges = charges.assign(**{"metadata.order_id": None})
    captured = charges[
        (charges["status"] == "succeeded")
        & charges["captured"].astype(bool)
        & charges["metadata.order_id"].notna()
    ]
    released = captured["amount"] - captured["amount_captured"]
    refunded = captured["amount_refunded"] - released
    frame = pd.DataFrame(
        {
            "order_id": captured["metadata.order_id"],
            "captured": captured["amount_captured"],
            "refunded": refunded,
            "whole": (refunded >= captured["amount_captured"]).astype("int64"),
            "currency": captured["currency"].astype("object"),
            "charge": captured["id"],
        }
    )
    grouped = frame.groupby("order_id", sort=False)
    result = grouped[["captured", "refunded", "whole"]].sum()
    result["charges"] = grouped.size()
    result["charge_ids"] = grouped["charge"].first()
    result["currencies"] = grouped["currency"].nunique()
    result["paid_currency"] = grouped["currency"].first()
    several = frame[frame["order_id"].isin(result.index[result["charges"] > 1])]
    if len(several):
        result.loc[several["order_id"].unique(), "charge_ids"] = several.groupby("order_id")[
            "charge"
        ].agg(" ".join)
    return result


def match(orders: pd.DataFrame, charges: pd.DataFrame) -> pd.DataFrame:
    """Each order with what Stripe captured for it, its class, and the amount at stake
    (captured less expected: negative when Stripe has less)."""
    paid = Rows(_payments(charges), orders["order_id"])
    result = orders.copy()
    for column in ("captured", "refunded", "whole", "charges"):
        result[column] = paid[column].fillna(0).astype("int64")
    result["charge_ids"] = paid["charge_ids"]
    paid_currency = paid["paid_currency"]
    currencies = paid["currencies"].fillna(0)
    expected = result["amount"].where(result["status"].isin(SOLD), 0)
    result["difference"] = result["captured"] - expected
    other_currency = (currencies > 1) | (
        paid_currency.notna() & (paid_currency != result["currency"])
    )
    classes = pd.Series("matched", index=result.index, dtype="object")
    classes[(result["difference"] != 0) | other_currency] = "amount_mismatch"
    classes[result["status"].isin(SOLD) & (result["charges"] == 0)] = "missing_payment"
    classes[result["charges"] > 1] = "duplicate_payment"
    matched = classes == "matched"
    partly = matched & (result["refunded"] > 0)
    classes[partly] = "partially_refunded"
    whole = partly & (result["whole"] == result["charges"]) & (result["charges"] > 0)
    classes[whole & (result["status"] == "refunded")] = "matched"
    classes[whole & (result["status"] == "paid")] = "refunded"
    result["class"] = pd.Categorical(classes, categories=CLASSES)
    return result.drop(columns="whole")


def unknown_orders(orders: pd.DataFrame, charges: pd.DataFrame) -> pd.DataFrame:
    """Succeeded charges whose order_id the orders file does not know."""
    if "metadata.order_id" not in charges:
        return charges.iloc[0:0][["id", "created", "amount", "currency"]].assign(order_id=None)
    named = charges[(charges["status"] == "succeeded") & charges["metadata.order_id"].notna()]
    strangers = named[~named["metadata.order_id"].isin(orders["order_id"])]
    columns = [
        "id",
        "created",
        "metadata.order_id",
        "customer",
        "amount",
        "amount_captured",
        "currency",
    ]
    return (
        strangers[columns].rename(columns={"metadata.order_id": "order_id"}).reset_index(drop=True)
    )


def summary(matched: pd.DataFrame) -> pd.DataFrame:
    """Per class and currency: orders, their amount, and the amount at stake."""
    return totals(matched, ["class", "currency"], ["amount", "difference"])


def discrepancies(matched: pd.DataFrame, unknown: pd.DataFrame) -> pd.DataFrame:
    """Every order or charge that needs a person: kind, order, charges, currency, and the
    amount at stake (for a refunded order, what was refunded; for an unknown one, what was
    captured without an order)."""
    flagged = matched[matched["class"].isin(DISCREPANCIES)]
    at_stake = flagged["difference"].where(flagged["class"] != "refunded", -flagged["refunded"])
    rows = pd.DataFrame(
        {
            "kind": flagged["class"].astype("object"),
            "order_id": flagged["order_id"],
            "charges": flagged["charge_ids"],
            "currency": flagged["currency"],
            "order_amount": flagged["amount"].astype("Int64"),
            "amount_at_stake": at_stake,
        }
    )
    strangers = pd.DataFrame(
        {
            "kind": "unknown_order",
            "order_id": unknown["order_id"],
            "charges": unknown["id"],
            "currency": unknown["currency"].astype("object"),
            "order_amount": pd.array([None] * len(unknown), dtype="Int64"),
            "amount_at_stake": unknown["amount_captured"],
        }
    )
    frames = [frame for frame in (rows, strangers) if len(frame)]
    if not frames:
        return rows.iloc[0:0]
    return pd.concat(frames, ignore_index=True).astype({"amount_at_stake": "int64"})
