"""Charts with one look for the whole workbench: titled, axes labelled with their units,
money in major units of its currency (converted here, for the picture only: sums are done
before, in integers)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from workbench.money import exponent

STYLE = {
    "figure.figsize": (9, 3.6),
    "figure.dpi": 96,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
}
plt.rcParams.update(STYLE)  # the workbench's look, wherever its charts are drawn
STATUS_COLOURS = {
    "paid": "#2e7d32",
    "in_transit": "#1565c0",
    "pending": "#9e9e9e",
    "failed": "#c62828",
    "canceled": "#6d4c41",
}


def _major(values: pd.Series, currency: str) -> pd.Series:
    return values.astype("int64") / 10 ** exponent(currency)


def _axes(title: str):
    _, axes = plt.subplots()
    axes.set_title(title)
    return axes


def _empty(axes, what: str):
    axes.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])
    return axes


def daily_volume(daily: pd.DataFrame, title: str = "Captured per day"):
    """Bars of what was captured each day, one panel line per currency
    (analyses.charges.daily)."""
    axes = _axes(title)
    if daily.empty:
        return _empty(axes, "charges")
    for currency, rows in daily.groupby("currency"):
        axes.plot(
            pd.to_datetime(rows["day"]),
            _major(rows["captured"], currency),
            marker="o",
            markersize=3,
            label=currency.upper(),
        )
    axes.set_xlabel("day (account's timezone)")
    axes.set_ylabel("captured (major units)")
    axes.legend(title="currency", frameon=False)
    return axes


def fees(by_category: pd.DataFrame, title: str = "Fees by reporting category"):
    """Horizontal bars of fees per reporting category (analyses.fees.by_category)."""
    axes = _axes(title)
    charged = by_category[by_category["fee"] != 0]
    if charged.empty:
        return _empty(axes, "fees")
    labels = [
        f"{c} ({cur.upper()})"
        for c, cur in zip(charged["reporting_category"], charged["currency"], strict=True)
    ]
    values = [
        v / 10 ** exponent(c) for v, c in zip(charged["fee"], charged["currency"], strict=True)
    ]
    axes.barh(labels, values, color="#6a1b9a")
    axes.set_xlabel("fees (major units of each currency)")
    return axes


def payout_timeline(payouts: pd.DataFrame, title: str = "Payouts"):
    """Each payout as a line from when it was made to when it arrives, coloured by
    status, its amount on the vertical axis."""
    axes = _axes(title)
    if payouts.empty:
        return _empty(axes, "payouts")
    for row in payouts.itertuples():
        amount = row.amount / 10 ** exponent(str(row.currency))
        colour = STATUS_COLOURS.get(str(row.status), "#000000")
        axes.plot([row.created, row.arrival_date], [amount, amount], color=colour, linewidth=3)
    for status, colour in STATUS_COLOURS.items():
        if (payouts["status"] == status).any():
            axes.plot([], [], color=colour, linewidth=3, label=status)
    currencies = ", ".join(sorted({str(c).upper() for c in payouts["currency"]}))
    axes.set_xlabel("made → arrives")
    axes.set_ylabel(f"amount ({currencies})")
    axes.legend(frameon=False)
    return axes


def authorization_aging(aging: pd.DataFrame, title: str = "Open authorizations by deadline"):
    """Count of open authorizations per bucket (analyses.auth.aging)."""
    axes = _axes(title)
    counts = aging.groupby("bucket", sort=False)["count"].sum()
    axes.bar(
        counts.index.astype(str),
        counts.to_numpy(),
        color=["#c62828", "#ef6c00", "#f9a825", "#2e7d32"][: len(counts)],
    )
    axes.set_xlabel("time left to capture")
    axes.set_ylabel("authorizations")
    return axes
