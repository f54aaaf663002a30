"""Monthly exports into reports/<account>/<YYYY-MM>/: CSVs and a summary an accountant can check.

This is the data half of the monthly report; the papermill notebook that turns it into HTML
comes with the reports work. Amounts in the CSVs are major units as exact decimals, beside
their currency; the summary keeps minor units too. A month is written to a temporary folder
and renamed into place, so a failed run never leaves half a report.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import time
from pathlib import Path

import pandas as pd

from workbench.exceptions import WorkbenchError
from workbench.money import to_major

EXPORTS = {
    "charges": [
        "id",
        "created",
        "amount",
        "amount_captured",
        "amount_refunded",
        "currency",
        "status",
        "captured",
        "refunded",
        "disputed",
        "customer",
        "payment_intent",
        "decline_code",
        "card_brand",
        "card_country",
        "metadata.order_id",
    ],
    "balance_transactions": [
        "id",
        "created",
        "type",
        "reporting_category",
        "amount",
        "fee",
        "net",
        "currency",
        "status",
        "available_on",
        "source",
        "payout",
        "exchange_rate",
    ],
    "payouts": [
        "id",
        "created",
        "arrival_date",
        "amount",
        "currency",
        "status",
        "automatic",
        "failure_code",
    ],
}
MONEY = {"amount", "amount_captured", "amount_refunded", "fee", "net"}


def month_bounds(month: str | None) -> tuple[str, str, str]:
    """'2026-10' -> ('2026-10', '2026-10-01', '2026-11-01'); None is the last full month."""
    if month is None:
        today = time.gmtime()
        year, number = (
            (today.tm_year, today.tm_mon - 1) if today.tm_mon > 1 else (today.tm_year - 1, 12)
        )
    else:
        match = re.fullmatch(r"(\d{4})-(\d{2})", month)
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise WorkbenchError(f"month {month!r} is not of the form YYYY-MM, e.g. 2026-10")
        year, number = int(match.group(1)), int(match.group(2))
    following = (year + 1, 1) if number == 12 else (year, number + 1)
    return (
        f"{year:04d}-{number:02d}",
        f"{year:04d}-{number:02d}-01",
        f"{following[0]:04d}-{following[1]:02d}-01",
    )


def _write_csv(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    present = [c for c in columns if c in frame.columns]
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(present)
        for row in frame[present].itertuples(index=False):
            record = dict(zip(present, row, strict=True))
            writer.writerow(
                [
                    to_major(int(value), record["currency"])
                    if name in MONEY
                    else value.isoformat()
                    if isinstance(value, pd.Timestamp)
                    else ""
                    if value is None or value is pd.NA or value != value
                    else value
                    for name, value in record.items()
                ]
            )


def _totals(frame: pd.DataFrame, columns: list[str]) -> dict:
    """Integer sums per currency, in minor units and as exact major-unit strings."""
    totals = {}
    for currency, group in frame.groupby("currency", observed=True):
        sums = {column: int(group[column].astype("int64").sum()) for column in columns}
        totals[str(currency)] = {
            column: {"minor": minor, "major": str(to_major(minor, str(currency)))}
            for column, minor in sums.items()
        }
    return totals


def export_month(session, month: str | None, root: Path) -> tuple[Path, dict]:
    """Write the month's CSVs and summary.json for the session's account; returns the folder
    and the summary."""
    label, start, end = month_bounds(month)
    data = {name: session.frame(name, start, end) for name in EXPORTS}
    target = Path(root) / session.account / label
    staging = target.with_name(f".{label}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, columns in EXPORTS.items():
        _write_csv(data[name], columns, staging / f"{name}.csv")
    charges, transactions, payouts = (data[name] for name in EXPORTS)
    succeeded = charges[charges["status"] == "succeeded"] if len(charges) else charges
    summary = {
        "account": session.account,
        "profile": session.profile,
        "month": label,
        "period": {"start": start, "end": end, "timezone": "UTC"},
        "charges": {
            "count": len(charges),
            "succeeded": len(succeeded),
            "failed": int((charges["status"] == "failed").sum()) if len(charges) else 0,
            "by_currency": _totals(succeeded, ["amount_captured", "amount_refunded"]),
        },
        "balance_transactions": {
            "count": len(transactions),
            "note": "settlement currency; fees and nets as Stripe recorded them",
            "by_currency": _totals(transactions, ["amount", "fee", "net"]),
        },
        "payouts": {
            "count": len(payouts),
            "failed": int((payouts["status"] == "failed").sum()) if len(payouts) else 0,
            "by_currency": _totals(payouts, ["amount"]),
        },
    }
    (staging / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target, summary
