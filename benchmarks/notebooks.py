"""The balance-history widget (notebook 8) on 1,000,000 balance transactions: how long one
change of a control takes to answer (filter, summary, table and chart redrawn), over a frame
shaped as `wb.balance_transactions()` returns it, built in memory. Target: under a second.
Prints figures; asserts nothing.

    .venv/bin/python benchmarks/notebooks.py [--transactions 1000000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time

import numpy as np
import pandas as pd

from workbench.widgets import BalanceHistory

CATEGORIES = ["charge", "refund", "fee", "dispute", "partial_capture_reversal", "payout"]


def transactions(count: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2026-05-01", tz="UTC").value // 10**9
    created = np.sort(rng.integers(start, start + 180 * 86400, count))
    amount = rng.integers(500, 20000, count)
    category = rng.choice(CATEGORIES, count, p=[0.9, 0.04, 0.01, 0.01, 0.01, 0.03])
    amount = np.where(np.isin(category, ["charge"]), amount, -amount)
    fee = np.where(category == "charge", amount * 29 // 1000 + 30, 0)
    return pd.DataFrame(
        {
            "id": [f"txn_{i:012d}" for i in range(count)],
            "created": pd.to_datetime(created, unit="s", utc=True),
            "amount": amount,
            "fee": fee,
            "net": amount - fee,
            "currency": pd.Categorical(["usd"] * count),
            "type": pd.Categorical(category),
            "reporting_category": pd.Categorical(category),
            "status": pd.Categorical(["available"] * count),
            "payout": [f"po_{d:06d}" for d in (created - start) // 86400],
        }
    )


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--transactions", type=int, default=1_000_000)
    count = options.parse_args().transactions
    frame = transactions(count)
    started = time.perf_counter()
    widget = BalanceHistory(frame, "Europe/Berlin")
    print(
        f"widget over {count:,} balance transactions built in "
        f"{time.perf_counter() - started:.2f} s",
        file=sys.stderr,
    )
    last = widget.end.value
    changes = [  # control, then two values to go back and forth between
        ("category", widget.categories, ("refund",), ()),
        ("date range", widget.start, last - pd.Timedelta(days=30), widget.start.value),
        ("amount range", widget.amount, (10.0, 100.0), widget.amount.value),
        ("payout", widget.payout, "po_000042", ""),
    ]
    for name, control, one, other in changes:
        times = []
        for value in (one, other) * 2:
            started = time.perf_counter()
            control.value = value  # its observer refreshes the widget, as a click does
            times.append(time.perf_counter() - started)
        print(
            f"change of {name:12s} answered in {statistics.median(times):.3f} s (median of 4)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    # Outside a kernel a widget's output goes to stdout: the figures go to stderr.
    with open(os.devnull, "w") as nowhere, contextlib.redirect_stdout(nowhere):
        main()
