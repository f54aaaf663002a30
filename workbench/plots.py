"""Charts for the notebooks and the monthly report, in one visual style defined here once.

Each function takes what an analysis returns (integer minor units beside a currency) and
returns a matplotlib `Figure`: a notebook shows it as the cell's answer, a report saves it.
Figures are made without pyplot, so nothing is drawn twice in Jupyter, nothing leaks between
calls and a headless run (papermill, cron) needs no display. Amounts become major units here,
for the axis only; every total a person reads as a figure comes from the analyses, exact.

Every chart has a title, labelled axes and its currency on the amount axis. Different
currencies never share an axis: a chart draws one panel per currency.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from workbench.analyses import auth, balance, declines, events
from workbench.money import exponent, to_major

# The workbench's look: quiet axes, one palette, readable at a report's width.
STYLE = {
    "figure.figsize": (9.0, 3.2),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.bbox": "tight",
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.prop_cycle": matplotlib.cycler(
        color=["#635bff", "#0a2540", "#00a67e", "#f5a623", "#e25950", "#8792a2", "#a960ee"]
    ),
    "legend.frameon": False,
    "legend.fontsize": 8,
}
STATUS_COLOURS = {
    "paid": "#00a67e",
    "in_transit": "#635bff",
    "pending": "#f5a623",
    "failed": "#e25950",
    "canceled": "#8792a2",
}
BUCKET_COLOURS = {"expired": "#8792a2", "within 24 h": "#e25950", "within 72 h": "#f5a623"}


def _shown_in_ipython() -> None:
    """Let a chart returned by a cell show as a PNG in any IPython kernel, whatever its
    matplotlib backend (MPLBACKEND=agg in a cron job's environment turns off the inline
    backend, which would otherwise register this)."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        png = shell.display_formatter.formatters["image/png"]
        png.for_type(Figure, lambda figure: print_figure(figure, "png", bbox_inches="tight"))


_shown_in_ipython()


def major(amounts: pd.Series, currency: str) -> np.ndarray:
    """Minor units as floats of the major unit, for an axis (never for a total)."""
    return amounts.to_numpy(dtype="float64") / 10 ** exponent(currency)


def _figure(panels: int = 1, height: float | None = None) -> tuple[Figure, list]:
    with matplotlib.rc_context(STYLE):
        width, one = STYLE["figure.figsize"]
        figure = Figure(figsize=(width, height or one * max(panels, 1)), layout="constrained")
        axes = figure.subplots(max(panels, 1), 1, squeeze=False)[:, 0]
    return figure, list(axes)


def _styled(draw):
    """Run a chart function with the workbench's style in force (rc params are read when
    artists are made, so the whole drawing happens inside the context)."""

    def styled(*args, **kwargs) -> Figure:
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)

    styled.__name__, styled.__doc__ = draw.__name__, draw.__doc__
    return styled


def _money_axis(axis, currency: str, label: str) -> None:
    digits = min(exponent(currency), 2)
    axis.set_ylabel(f"{label} ({currency.upper()})")
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.{digits}f}"))


def _date_axis(axis, label: str = "day (account's timezone)") -> None:
    locator = AutoDateLocator(maxticks=8)
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axis.set_xlabel(label)


def _empty(axis, title: str) -> None:
    axis.set_title(title)
    axis.text(
        0.5,
        0.5,
        "nothing in this period",
        ha="center",
        va="center",
        transform=axis.transAxes,
        color="#8792a2",
    )
    axis.set_xticks([])
    axis.set_yticks([])


def _currencies(frame: pd.DataFrame, column: str = "currency") -> list[str]:
    return sorted({str(c) for c in frame[column].dropna()}) if len(frame) else []


def _per_currency(frame: pd.DataFrame, title: str) -> tuple[Figure, list]:
    """A figure with one panel per currency of `frame` (one saying so when it is empty),
    and the (panel, currency) pairs to draw."""
    currencies = _currencies(frame)
    figure, axes = _figure(len(currencies))
    if not currencies:
        _empty(axes[0], title)
    return figure, list(zip(axes, currencies, strict=False))


@_styled
def daily_volume(daily: pd.DataFrame, title: str = "Captured volume per day") -> Figure:
    """Captured amount per day, one panel per currency (from analyses.charges.daily)."""
    figure, panels = _per_currency(daily, title)
    for axis, currency in panels:
        rows = daily[daily["currency"] == currency]
        days = pd.to_datetime(rows["day"])
        axis.bar(days, major(rows["captured"], currency), width=0.8)
        axis.set_title(f"{title}, {currency.upper()}")
        _date_axis(axis)
        _money_axis(axis, currency, "captured")
    return figure


@_styled
def fees(
    fees_by: pd.DataFrame,
    by: str = "reporting_category",
    amount: str = "fee",
    title: str = "Fees",
) -> Figure:
    """Fees per category (analyses.fees.by_category) or per type (fees.by_type with
    by="fee_type", amount="amount"), one panel per settlement currency."""
    figure, panels = _per_currency(fees_by, title)
    for axis, currency in panels:
        rows = fees_by[(fees_by["currency"] == currency) & (fees_by[amount] != 0)]
        rows = rows.sort_values(amount)
        axis.barh(rows[by].astype(str), major(rows[amount], currency))
        axis.set_title(f"{title} by {by.replace('_', ' ')}, {currency.upper()}")
        axis.set_ylabel(by.replace("_", " "))
        digits = min(exponent(currency), 2)
        axis.set_xlabel(f"{amount.replace('_', ' ')} ({currency.upper()})")
        axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _, d=digits: f"{value:,.{d}f}"))
        axis.grid(axis="x")
        axis.grid(axis="y", visible=False)
    return figure


@_styled
def payout_timeline(payouts: pd.DataFrame, title: str = "Payouts: made → arrived") -> Figure:
    """Each payout as a line from when Stripe made it to its arrival date, at the height of
    its amount, coloured by status; one panel per currency (a payouts frame)."""
    figure, panels = _per_currency(payouts, title)
    for axis, currency in panels:
        rows = payouts[payouts["currency"] == currency]
        amounts = major(rows["amount"], currency)
        statuses = rows["status"].astype(str).to_numpy()
        for status in sorted(set(statuses)):
            chosen = statuses == status
            colour = STATUS_COLOURS.get(status, "#0a2540")
            made = rows["created"].dt.tz_localize(None).to_numpy()[chosen]
            arrived = rows["arrival_date"].dt.tz_localize(None).to_numpy()[chosen]
            axis.hlines(amounts[chosen], made, arrived, colors=colour, linewidth=1.5)
            axis.scatter(arrived, amounts[chosen], color=colour, s=14, label=status, zorder=3)
        axis.set_title(f"{title}, {currency.upper()}")
        _date_axis(axis, "date (UTC): each line runs from created to arrival")
        _money_axis(axis, currency, "payout")
        axis.legend(title="status", loc="upper left")
    return figure


@_styled
def authorization_aging(
    aging: pd.DataFrame, title: str = "Open authorizations by time left"
) -> Figure:
    """How many authorizations lapse when, per bucket (analyses.auth.aging), bars per
    currency, each labelled with the amount held."""
    currencies = _currencies(aging)
    figure, axes = _figure(1)
    axis = axes[0]
    if not currencies:
        _empty(axis, title)
        return figure
    positions = np.arange(len(auth.BUCKETS))
    width = 0.8 / len(currencies)
    for index, currency in enumerate(currencies):
        rows = aging[aging["currency"] == currency].set_index("bucket").reindex(auth.BUCKETS)
        counts = rows["count"].fillna(0).to_numpy()
        bars = axis.bar(positions + index * width, counts, width, label=currency.upper())
        labels = [
            f"{value:,.{min(exponent(currency), 2)}f}" if count else ""
            for value, count in zip(major(rows["amount"].fillna(0), currency), counts, strict=True)
        ]
        axis.bar_label(bars, labels=labels, fontsize=7, padding=2)
    axis.set_xticks(positions + width * (len(currencies) - 1) / 2, auth.BUCKETS)
    axis.set_title(title)
    axis.set_xlabel("capture deadline (bars labelled with the amount held)")
    axis.set_ylabel("authorizations")
    axis.legend(title="currency")
    return figure


@_styled
def decline_rate(
    charges: pd.DataFrame, timezone: str, title: str = "Decline rate per day"
) -> Figure:
    """The failed share of payment attempts per day (analyses.declines.daily), with the
    attempts behind it."""
    daily = declines.daily(charges, timezone)
    figure, axes = _figure(1)
    axis = axes[0]
    if daily.empty:
        _empty(axis, title)
        return figure
    days = pd.to_datetime(daily["day"])
    axis.plot(days, daily["decline_rate"], marker=".", label="declined share")
    axis.yaxis.set_major_formatter(PercentFormatter(1.0))
    axis.set_ylabel("declined share of attempts")
    _date_axis(axis)
    axis.set_title(title)
    attempts = axis.twinx()
    attempts.bar(days, daily["attempts"], color="#dddddd", width=0.8, zorder=0)
    attempts.set_ylabel("attempts")
    attempts.grid(False)
    axis.set_zorder(attempts.get_zorder() + 1)
    axis.patch.set_visible(False)
    return figure


@_styled
def event_types(
    events_frame: pd.DataFrame, timezone: str, top: int = 6, title: str = "Events per day"
) -> Figure:
    """How many events of each type arrived per day (analyses.events.by_day), the `top`
    commonest types drawn and the rest summed as "other"."""
    daily = events.by_day(events_frame, timezone, top=top)
    figure, axes = _figure(1, height=3.6)
    axis = axes[0]
    if daily.empty:
        _empty(axis, title)
        return figure
    table = daily.pivot_table(index="day", columns="type", values="count", fill_value=0)
    table = table[daily.groupby("type")["count"].sum().sort_values(ascending=False).index]
    days = pd.to_datetime(table.index)
    axis.stackplot(days, *(table[c].to_numpy() for c in table.columns), labels=table.columns)
    axis.set_title(title)
    _date_axis(axis)
    axis.set_ylabel("events")
    axis.legend(title="type", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure


@_styled
def balance_history(
    transactions: pd.DataFrame, timezone: str, title: str = "Balance movements per day"
) -> Figure:
    """Net balance change per day, one panel per settlement currency, with its running sum
    over the selection (analyses.balance.daily)."""
    daily = balance.daily(transactions, timezone)
    figure, panels = _per_currency(daily, title)
    for axis, currency in panels:
        rows = daily[daily["currency"] == currency]
        days = pd.to_datetime(rows["day"])
        net = major(rows["net"], currency)
        colours = np.where(net >= 0, "#00a67e", "#e25950")
        axis.bar(days, net, color=colours, width=0.8, label="net per day")
        axis.plot(days, np.cumsum(net), color="#0a2540", linewidth=1.2, label="running sum")
        axis.set_title(f"{title}, {currency.upper()}")
        _date_axis(axis)
        _money_axis(axis, currency, "net")
        axis.legend(loc="upper left")
    return figure


@_styled
def mrr_waterfall(moved: pd.DataFrame, title: str = "MRR: where it moved") -> Figure:
    """Opening MRR, each movement and closing MRR as a waterfall, one panel per currency
    (from analyses.subscriptions.movements; the months summed, opening the first's and
    closing the last's)."""
    figure, panels = _per_currency(moved, title)
    steps = ("new", "expansion", "reactivation", "contraction", "churn")
    for axis, currency in panels:
        rows = moved[moved["currency"] == currency]
        values = [int(rows["opening"].iloc[0])] + [int(rows[s].sum()) for s in steps]
        values.append(int(rows["closing"].iloc[-1]))
        amounts = major(pd.Series(values), currency)
        bottoms = np.concatenate([[0], amounts[0] + np.cumsum(amounts[1:-1]) - amounts[1:-1], [0]])
        colours = ["#0a2540", *("#00a67e" if v >= 0 else "#e25950" for v in amounts[1:-1])]
        colours.append("#635bff")
        names = ["opening", *steps, "closing"]
        axis.bar(names, amounts, bottom=bottoms, color=colours)
        first, last = rows["month"].iloc[0], rows["month"].iloc[-1]
        span = first if first == last else f"{first} to {last}"
        axis.set_title(f"{title}, {span}, {currency.upper()}")
        axis.set_xlabel("opening MRR + movements = closing MRR")
        _money_axis(axis, currency, "MRR")
    return figure


@_styled
def cohort_heatmap(
    table: pd.DataFrame, title: str = "Customers still paying, by first month"
) -> Figure:
    """Logo retention per cohort (analyses.subscriptions.cohorts), one panel per currency:
    rows are the months customers first paid, columns the months since, shades the share
    still paying."""
    figure, panels = _per_currency(table, title)
    for axis, currency in panels:
        rows = table[table["currency"] == currency]
        offsets = [c for c in rows.columns if isinstance(c, int)]
        grid = rows[offsets].to_numpy(dtype="float64")
        image = axis.imshow(grid, cmap="Purples", vmin=0.0, vmax=1.0, aspect="auto")
        for (y, x), share in np.ndenumerate(grid):
            if not np.isnan(share):
                axis.text(
                    x,
                    y,
                    f"{share:.0%}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if share > 0.6 else "#0a2540",
                )
        labels = [f"{c} ({n})" for c, n in zip(rows["cohort"], rows["customers"], strict=True)]
        axis.set_yticks(range(len(labels)), labels)
        axis.set_xticks(range(len(offsets)), offsets)
        axis.set_xlabel("months since the first paid month")
        axis.set_ylabel("cohort (customers)")
        axis.set_title(f"{title}, {currency.upper()}")
        axis.grid(False)
        figure.colorbar(image, ax=axis, format=PercentFormatter(1.0), label="still paying")
    return figure


def save(figure: Figure, path: Path | str, formats: Sequence[str] = ("png",)) -> list[Path]:
    """Write a chart for a report, one file per format, in the workbench's style."""
    written = []
    with matplotlib.rc_context(STYLE):
        for form in formats:
            target = Path(path).with_suffix(f".{form}")
            figure.savefig(target, format=form)
            written.append(target)
    return written


def table(frame: pd.DataFrame, money=("amount",), currency: str = "currency", rows: int = 20):
    """A table for people: the first `rows` rows, money columns as exact decimals of each
    row's currency (the frames keep integer minor units). A text (why there is no table)
    is shown as it is."""
    if isinstance(frame, str):
        return frame
    shown = frame.head(rows).copy()
    for column in money:
        if column in shown and len(shown):
            shown[column] = [
                None if pd.isna(value) else to_major(int(value), str(code))
                for value, code in zip(shown[column], shown[currency], strict=True)
            ]
    return shown
