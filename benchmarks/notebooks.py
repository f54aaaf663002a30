"""The notebooks at scale, two figures:

- every notebook run by papermill with its defaults against a store holding a month
  (October 2026) of 1,000,000 balance transactions, built as benchmarks/analyses.py builds
  it (written straight into the store, an empty sandbox behind it for the API calls);
  target: under 60 s each;
- the balance-history widget (notebook 8) over 1,000,000 balance transactions: how long one
  change of a control takes to answer (filter, summary, table and chart redrawn); target:
  under a second.

Prints figures; asserts nothing.

    .venv/bin/python benchmarks/notebooks.py [--transactions 1000000] [--dir DIR] [--widget-only]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import papermill

import workbench
from workbench import config, sandbox
from workbench.widgets import BalanceHistory

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analyses import build  # noqa: E402  (the million-transaction month of that benchmark)

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

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


def notebooks(count: int, directory: Path) -> None:
    """Each notebook, defaults only (the orders file named), against the million."""
    shutil.rmtree(directory, ignore_errors=True)
    with sandbox.start(directory / "sandbox") as server:
        env = {
            "STRIPE_API_KEY": server.api_key,
            "STRIPE_API_BASE": server.url,
            "WORKBENCH_DATA_DIR": str(directory / "workbench"),
            "WORKBENCH_ENV_FILE": os.devnull,
        }
        wb = workbench.connect(settings=config.load(env))
        started = time.perf_counter()
        build(wb, count, directory / "orders.csv")
        stored = wb.store.count("balance_transactions", wb.partition())
        print(
            f"store: {stored:,} balance transactions, built in "
            f"{time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        os.environ.update(env)
        for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
            declared = papermill.inspect_notebook(str(path))
            parameters = {"orders": str(directory / "orders.csv")} if "orders" in declared else {}
            started = time.perf_counter()
            papermill.execute_notebook(
                str(path),
                str(directory / path.name),
                parameters=parameters,
                kernel_name="python3",
                cwd=str(NOTEBOOKS),
                progress_bar=False,
            )
            print(f"{path.stem:32s} {time.perf_counter() - started:6.1f} s", file=sys.stderr)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--transactions", type=int, default=1_000_000)
    options.add_argument("--dir", default="/tmp/workbench-notebooks-bench")
    options.add_argument("--widget-only", action="store_true")
    chosen = options.parse_args()
    count = chosen.transactions
    if not chosen.widget_only:
        notebooks(count, Path(chosen.dir))
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
