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

import numpy as np
import pandas as pd

from workbench.analyses._frames import totals

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


NUMBER = "order_number"


def numbered(orders: pd.DataFrame, charges: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The orders and the charges, each with an `order_number`: one integer per order ID,
    the same for an order and the charges that name it in `metadata.order_id` (-1 for
    none). Matching then compares integers: a million IDs are hashed once, and a caller
    that matches the same orders and charges two ways (the month's orders, the month's
    unknown orders) numbers them once and passes both frames numbered."""
    if "metadata.order_id" not in charges:
        charges = charges.assign(**{"metadata.order_id": None})
    ids = [orders["order_id"].to_numpy(object), charges["metadata.order_id"].to_numpy(object)]
    numbers = pd.factorize(np.concatenate(ids))[0]
    return (
        orders.assign(**{NUMBER: numbers[: len(orders)]}),
        charges.assign(**{NUMBER: numbers[len(orders) :]}),
    )


def _numbers(orders: pd.DataFrame, charges: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Both frames numbered (as given, if they are), and how many numbers there are."""
    if NUMBER not in orders or NUMBER not in charges:
        orders, charges = numbered(orders, charges)
    size = max(frame[NUMBER].to_numpy().max(initial=-1) for frame in (orders, charges)) + 1
    return orders, charges, int(size)


def _payments(orders: pd.DataFrame, charges: pd.DataFrame) -> pd.DataFrame:
    """Per order (aligned with `orders`): the charges captured for it, what they captured
    and refunded after capture, how many were refunded in full, their ids and the first
    one's currency (the amounts are in the charges' currency)."""
    orders, charges, size = _numbers(orders, charges)
    captured = charges[
        (charges["status"] == "succeeded")
        & charges["captured"].astype(bool)
        & (charges[NUMBER] >= 0)
    ]
    order_key, charge_key = orders[NUMBER].to_numpy(), captured[NUMBER].to_numpy()
    size += 1  # a last slot no charge fills: an order without an ID (-1) finds nothing there

    def per_order(values: np.ndarray) -> np.ndarray:
        sums = np.zeros(size, dtype=np.int64)
        np.add.at(sums, charge_key, values)
        return sums[order_key]

    amount = captured["amount_captured"].to_numpy(np.int64)
    refunded = captured["amount_refunded"].to_numpy(np.int64) - (
        captured["amount"].to_numpy(np.int64) - amount
    )
    count = np.bincount(charge_key, minlength=size)
    first = np.full(size, len(captured))  # past the end: the None after the currencies
    np.minimum.at(first, charge_key, np.arange(len(captured)))
    currency = np.append(captured["currency"].astype("object").to_numpy(), None)
    ids = np.full(size, None, dtype=object)
    ids[charge_key] = captured["id"].to_numpy(object)  # an order's only charge
    several = count[charge_key] > 1
    if several.any():
        joined = captured["id"][several].groupby(charge_key[several], sort=False).agg(" ".join)
        ids[joined.index.to_numpy()] = joined.to_numpy()
    return pd.DataFrame(
        {
            "captured": per_order(amount),
            "refunded": per_order(refunded),
            "whole": per_order((refunded >= amount).astype(np.int64)),
            "charges": count[order_key],
            "charge_ids": pd.Series(ids[order_key], index=orders.index, dtype=object),
            "paid_currency": pd.Series(
                currency[first[order_key]], index=orders.index, dtype=object
            ),
        },
        index=orders.index,
    )


def match(orders: pd.DataFrame, charges: pd.DataFrame) -> pd.DataFrame:
    """Each order with what Stripe captured for it, its class, and the amount at stake
    (captured less expected: negative when Stripe has less)."""
    paid = _payments(orders, charges)
    result = orders.copy()
    for column in ("captured", "refunded", "charges", "charge_ids"):
        result[column] = paid[column]
    status = result["status"]
    sold = status.isin(SOLD).to_numpy()
    result["difference"] = result["captured"] - np.where(sold, result["amount"], 0)
    other_currency = paid["paid_currency"].notna() & (paid["paid_currency"] != result["currency"])
    count, refunded = paid["charges"].to_numpy(), paid["refunded"].to_numpy() > 0
    whole = refunded & (paid["whole"].to_numpy() == count) & (count > 0)
    # The first that holds, in this order, is the order's class; none: matched.
    classes = {
        "duplicate_payment": count > 1,
        "missing_payment": sold & (count == 0),
        "amount_mismatch": (result["difference"].to_numpy() != 0) | other_currency.to_numpy(),
        "matched": whole & (status == "refunded").to_numpy(),  # both say refunded
        "refunded": whole & (status == "paid").to_numpy(),  # the shop still says paid
        "partially_refunded": refunded,
    }
    codes = np.select(list(classes.values()), [CLASSES.index(c) for c in classes], 0)
    result["class"] = pd.Categorical.from_codes(codes, categories=CLASSES)
    return result.drop(columns=NUMBER, errors="ignore")


def unknown_orders(orders: pd.DataFrame, charges: pd.DataFrame) -> pd.DataFrame:
    """Succeeded charges whose order_id the orders file does not know."""
    if "metadata.order_id" not in charges:
        return charges.iloc[0:0][["id", "created", "amount", "currency"]].assign(order_id=None)
    orders, charges, size = _numbers(orders, charges)
    numbers = orders[NUMBER].to_numpy()
    known = np.zeros(size, dtype=bool)
    known[numbers[numbers >= 0]] = True
    named = charges[(charges["status"] == "succeeded") & (charges[NUMBER] >= 0)]
    strangers = named[~known[named[NUMBER].to_numpy()]]
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
