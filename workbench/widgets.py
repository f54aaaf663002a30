"""ipywidgets for exploring in JupyterLab: each widget holds controls and shows what a
package function answers for their values. No logic lives in a callback: a change calls
`refresh()`, which calls the analysis; tests set the controls and call the same methods.

In a headless run (papermill, nbval) a widget displays as a static text line and nothing
waits for a click, so the notebooks also show the same answer as a plain table and chart.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import ipywidgets as w
import pandas as pd
from IPython.display import display

from workbench import actions, exports, plots
from workbench.analyses import balance
from workbench.money import exponent, format_amount

SHOWN = 15  # rows of a selection shown in a widget; an export writes all of them
MONEY = ("amount", "fee", "net")
COLUMNS = ["id", "created", "reporting_category", "amount", "fee", "net", "currency", "status"]


class BalanceHistory(w.VBox):
    """The Dashboard's balance-history filter: date range, category, currency, payout and
    amount range; the selection as a table and a chart, and a CSV of exactly the selection.

    Filtering a million balance transactions takes a few tens of milliseconds (boolean
    masks over columns); the chart sums per day before drawing."""

    def __init__(self, transactions: pd.DataFrame, timezone: str, *, export_to="balance.csv"):
        self.transactions = transactions
        self.timezone = timezone
        zone = ZoneInfo(timezone)
        created = transactions["created"]
        first = created.min().tz_convert(zone).date() if len(created) else date.today()
        last = created.max().tz_convert(zone).date() if len(created) else date.today()
        currencies = sorted(str(c) for c in transactions["currency"].dropna().unique())
        self.start = w.DatePicker(description="from", value=first)
        self.end = w.DatePicker(description="to (incl.)", value=last)
        self.categories = w.SelectMultiple(
            description="category",
            options=sorted(str(c) for c in transactions["reporting_category"].dropna().unique()),
            rows=5,
        )
        self.currency = w.Dropdown(
            description="currency", options=currencies, value=currencies[0] if currencies else None
        )
        self.payout = w.Text(description="payout", placeholder="po_... (any)")
        self.amount = w.FloatRangeSlider(description="amount", readout_format=",.2f")
        self.export_path = w.Text(description="CSV", value=str(export_to))
        self.export_button = w.Button(description="Export what is shown", icon="download")
        self.summary = w.HTML()
        self.table = w.Output()
        self.chart = w.Output()
        self.message = w.HTML()
        self._adjusting = False
        self._set_amount_range()
        for control in (self.start, self.end, self.categories, self.payout, self.amount):
            control.observe(self.refresh, names="value")
        self.currency.observe(self._currency_changed, names="value")
        self.export_button.on_click(lambda _: self.export())
        controls = w.HBox(
            [
                w.VBox([self.start, self.end, self.currency]),
                w.VBox([self.categories]),
                w.VBox([self.payout, self.amount]),
            ]
        )
        exporting = w.HBox([self.export_path, self.export_button, self.message])
        super().__init__([controls, exporting, self.summary, self.table, self.chart])
        self.add_class("workbench-balance-history")
        self.summary.add_class("workbench-summary")
        self.table.add_class("workbench-table")
        self.chart.add_class("workbench-chart")
        self.refresh()

    def _set_amount_range(self) -> None:
        """The slider spans the chosen currency's amounts, in its major units."""
        chosen = self.transactions[self.transactions["currency"] == self.currency.value]
        scale = 10 ** exponent(self.currency.value) if self.currency.value else 1
        low = float(chosen["amount"].min() / scale) if len(chosen) else 0.0
        high = float(chosen["amount"].max() / scale) if len(chosen) else 0.0
        self._adjusting = True  # one refresh after the slider is set, not one per bound
        if low > self.amount.max:  # ipywidgets refuses a min above the max, and vice versa
            self.amount.max, self.amount.min = high, low
        else:
            self.amount.min, self.amount.max = low, high
        self.amount.step = 1 / scale if high - low < 1000 else 1.0
        self.amount.value = (low, high)
        self._adjusting = False

    def _currency_changed(self, _=None) -> None:
        self._set_amount_range()
        self.refresh()

    def filters(self) -> dict:
        """The controls' values as balance.history's arguments (amounts in minor units)."""
        zone = ZoneInfo(self.timezone)
        scale = 10 ** exponent(self.currency.value) if self.currency.value else 1
        low, high = self.amount.value
        return {
            "start": datetime.combine(self.start.value, datetime.min.time(), zone)
            if self.start.value
            else None,
            "end": datetime.combine(self.end.value + timedelta(days=1), datetime.min.time(), zone)
            if self.end.value
            else None,
            "categories": list(self.categories.value),
            "currency": self.currency.value,
            "payout": self.payout.value.strip() or None,
            "min_amount": round(low * scale),
            "max_amount": round(high * scale),
        }

    def selection(self) -> pd.DataFrame:
        return balance.history(self.transactions, **self.filters())

    def refresh(self, _=None) -> None:
        if self._adjusting:
            return
        chosen = self.selection()
        self.shown = chosen
        totals = balance.activity(chosen) if len(chosen) else None
        net = int(chosen["net"].sum()) if len(chosen) else 0
        currency = self.currency.value or ""
        self.summary.value = (
            f"<b>{len(chosen):,}</b> balance transactions, net "
            f"<b>{format_amount(net, currency) if currency else 0}</b>"
            f"{'' if totals is None else f' in {len(totals)} reporting categories'}; "
            f"the table shows the newest {min(SHOWN, len(chosen))}, the CSV all of them."
        )
        self.table.clear_output(wait=True)
        with self.table:
            display(plots.table(chosen.iloc[::-1][COLUMNS], money=MONEY, rows=SHOWN))
        self.chart.clear_output(wait=True)
        with self.chart:
            display(plots.balance_history(chosen, self.timezone))

    def export(self, path: Path | str | None = None) -> Path:
        """Write exactly the current selection (amounts as exact decimals)."""
        written = exports.write_csv(self.selection(), path or self.export_path.value, MONEY)
        self.message.value = f"wrote {len(self.shown):,} rows to {Path(written).name}"
        return written


class PaymentDesk(w.VBox):
    """Capture, release or refund one payment with buttons; each calls workbench.actions
    with the notebook's `writes` switch, and shows what was done in words."""

    def __init__(self, wb, payments: pd.DataFrame, *, writes: bool = False):
        self.wb = wb
        self.writes = writes
        self.currencies = dict(zip(payments["id"], payments["currency"].astype(str), strict=True))
        labels = [
            (f"{row.id}  {format_amount(row.amount, str(row.currency))}", row.id)
            for row in payments.itertuples()
        ]
        self.payment = w.Dropdown(description="payment", options=labels, layout={"width": "34em"})
        self.amount = w.IntText(description="minor units", value=0, tooltip="0: all of it")
        self.buttons = {
            name: w.Button(description=name.title(), button_style=style)
            for name, style in (("capture", "success"), ("release", "warning"), ("refund", ""))
        }
        self.result = w.HTML()
        for name, button in self.buttons.items():
            button.on_click(lambda _, name=name: self.act(name))
        note = "" if writes else " (writes are off: each button says what it would do)"
        super().__init__(
            [
                w.HTML(f"<b>Act on one payment</b>{note}"),
                w.HBox([self.payment, self.amount]),
                w.HBox(list(self.buttons.values())),
                self.result,
            ]
        )

    def act(self, name: str) -> actions.Done:
        payment = self.payment.value
        amount = self.amount.value or None
        currency = self.currencies.get(payment, "usd")
        done = {
            "capture": lambda: actions.capture(
                self.wb, payment, amount, currency, write=self.writes
            ),
            "release": lambda: actions.release(self.wb, payment, write=self.writes),
            "refund": lambda: actions.refund(self.wb, payment, amount, currency, write=self.writes),
        }[name]()
        self.result.value = str(done)
        return done
