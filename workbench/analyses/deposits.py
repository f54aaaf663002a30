"""Payouts matched to the bank's deposits (workbench.imports.read_bank_statement): a payout
should arrive, for its amount, on its arrival date or within a few business days after.

    matched          the amount arrived within the window
    late             the amount arrived, but later than the window
    amount_differs   a deposit from Stripe (its description says so) arrived within the
                     window for not quite the payout's amount (within `tolerance`, e.g.
                     less the bank's fee)
    missing_deposit  nothing arrived for it
    no_payout        a deposit that looks like Stripe's (its description says so) and
                     matches no payout

Exact matches are taken first for every payout, then late ones, then differing amounts, so
one payout's near miss never takes another's deposit. Amounts are minor units."""

from __future__ import annotations

import numpy as np
import pandas as pd

RESULTS = ("matched", "late", "amount_differs", "missing_deposit", "no_payout")
COLUMNS = [
    "payout",
    "arrival_date",
    "currency",
    "amount",
    "payout_status",
    "deposit_date",
    "deposit_amount",
    "description",
    "reference",
    "business_days_late",
    "difference",
    "result",
]


def match(
    payouts: pd.DataFrame,
    deposits: pd.DataFrame,
    *,
    window: int = 2,
    late_within: int = 10,
    descriptor: str = "stripe",
    tolerance: float = 0.1,
) -> pd.DataFrame:
    """One row per payout (paid ones: the others are not expected at the bank) and per
    Stripe-looking deposit left over. `window` and `late_within` are business days after the
    arrival date (a day early is tolerated)."""
    paid = payouts[payouts["status"] == "paid"].sort_values(["arrival_date", "id"])
    arrival = paid["arrival_date"].dt.date.to_numpy(dtype="datetime64[D]")
    credits = deposits[deposits["amount"] > 0]
    dates = credits["date"].to_numpy(dtype="datetime64[D]")
    from_stripe = credits["description"].str.contains(descriptor, case=False, regex=False)
    taken: set = set()
    found: dict[str, tuple[object, str]] = {}
    stripe = from_stripe.to_numpy()
    for result in ("matched", "late", "amount_differs"):
        for index, payout in enumerate(paid.itertuples(index=False)):
            if payout.id in found:
                continue
            days = np.busday_count(arrival[index], dates)
            gap = (credits["amount"] - payout.amount).abs().to_numpy()
            in_window = (days >= -1) & (days <= window)
            fits = {
                "matched": (gap == 0) & in_window,
                "late": (gap == 0) & (days > window) & (days <= late_within),
                "amount_differs": (gap <= tolerance * payout.amount) & stripe & in_window,
            }[result]
            fits &= (credits["currency"] == payout.currency).to_numpy()
            fits &= ~credits.index.isin(taken)
            if fits.any():
                label = credits.index[fits][np.lexsort((dates[fits], gap[fits]))[0]]
                taken.add(label)
                found[payout.id] = (label, result)
    rows = []
    for index, payout in enumerate(paid.itertuples(index=False)):
        label, result = found.get(payout.id, (None, "missing_deposit"))
        deposit = credits.loc[label] if label is not None else None
        rows.append(
            {
                "payout": payout.id,
                "arrival_date": arrival[index].astype(object),
                "currency": str(payout.currency),
                "amount": int(payout.amount),
                "payout_status": str(payout.status),
                "deposit_date": None if deposit is None else deposit["date"],
                "deposit_amount": None if deposit is None else int(deposit["amount"]),
                "description": None if deposit is None else deposit["description"],
                "reference": None if deposit is None else deposit["reference"],
                "business_days_late": None
                if deposit is None
                else int(np.busday_count(arrival[index], np.datetime64(deposit["date"], "D"))),
                "difference": None
                if deposit is None
                else int(deposit["amount"]) - int(payout.amount),
                "result": result,
            }
        )
    for _, deposit in credits[from_stripe & ~credits.index.isin(taken)].iterrows():
        rows.append(
            {
                "payout": None,
                "arrival_date": None,
                "currency": deposit["currency"],
                "amount": None,
                "payout_status": None,
                "deposit_date": deposit["date"],
                "deposit_amount": int(deposit["amount"]),
                "description": deposit["description"],
                "reference": deposit["reference"],
                "business_days_late": None,
                "difference": None,
                "result": "no_payout",
            }
        )
    result = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("amount", "deposit_amount", "business_days_late", "difference"):
        result[column] = result[column].astype("Int64")
    return result


def summary(matched: pd.DataFrame) -> pd.DataFrame:
    """How many payouts (or deposits) each result has, every result listed."""
    counts = matched["result"].value_counts()
    return pd.DataFrame({"result": RESULTS, "count": [int(counts.get(r, 0)) for r in RESULTS]})
