"""Monthly exports into reports/<account>/<YYYY-MM>/: CSVs and a summary an accountant can check.

This is the data half of the monthly report; the papermill notebook that turns it into HTML
comes with the reports work. Amounts in the CSVs are major units as exact decimals, beside
their currency; the summary keeps minor units too.

A month is the account's month, in its Dashboard timezone, as Stripe's own reports count it.
A closed month's figures do not change when it is written again later: each is counted by
when it happened (a refund by its own `created`, not by what its charge shows today), and
the summary says as of when the store was synced.

A month is written whole or not at all, and two runs at once never mix: each writes its own
staging folder, which then changes place with the published month in one atomic step.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import errno
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
SYNCED = ("charges", "refunds", "balance_transactions", "payouts")
MONEY = {"amount", "amount_captured", "amount_refunded", "fee", "net"}


@dataclass(frozen=True)
class Period:
    """A calendar month of an account: [start, end) in its timezone."""

    label: str  # "2026-10"
    start: datetime
    end: datetime
    timezone: str


def month_bounds(
    month: str | None, timezone: str = "Etc/UTC", now: datetime | None = None
) -> Period:
    """'2026-10' as the account's month; None is the last complete month there."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise WorkbenchError(
            f"unknown timezone {timezone!r}: use an IANA name such as Europe/Berlin"
        ) from None
    if month is None:
        today = (now or datetime.now(UTC)).astimezone(zone)
        year, number = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    else:
        match = re.fullmatch(r"(\d{4})-(\d{2})", month)
        if (
            not match
            or not 1 <= int(match.group(2)) <= 12
            or not 1970 <= int(match.group(1)) < 9999
        ):
            raise WorkbenchError(f"month {month!r} is not of the form YYYY-MM, e.g. 2026-10")
        year, number = int(match.group(1)), int(match.group(2))
    following = (year + 1, 1) if number == 12 else (year, number + 1)
    return Period(
        f"{year:04d}-{number:02d}",
        datetime(year, number, 1, tzinfo=zone),
        datetime(*following, 1, tzinfo=zone),
        timezone,
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
        sums["count"] = len(group)
        totals[str(currency)] = {
            column: minor
            if column == "count"
            else {"minor": minor, "major": str(to_major(minor, str(currency)))}
            for column, minor in sums.items()
        }
    return totals


def _iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat()


def export_month(session, month: str | None, root: Path) -> tuple[Path, dict]:
    """Write the month's CSVs and summary.json for the session's account; returns the folder
    and the summary."""
    period = month_bounds(month, session.timezone)
    data = {name: session.frame(name, period.start, period.end) for name in (*EXPORTS, "refunds")}
    charges, transactions, payouts, refunds = (data[name] for name in (*EXPORTS, "refunds"))
    succeeded = charges[charges["status"] == "succeeded"] if len(charges) else charges
    summary = {
        "account": session.account,
        "profile": session.profile,
        "month": period.label,
        "period": {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "timezone": period.timezone,
        },
        "as_of": _iso(session.synced_at(SYNCED)),
        "charges": {
            "count": len(charges),
            "succeeded": len(succeeded),
            "failed": int((charges["status"] == "failed").sum()) if len(charges) else 0,
            "note": "charges created in the month; amount as authorized, in presentment currency",
            "by_currency": _totals(succeeded, ["amount"]),
        },
        "refunds": {
            "count": len(refunds),
            "note": "refunds created in the month, whatever month their charge was in",
            "by_currency": _totals(refunds, ["amount"]),
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
    target = Path(root) / session.account / period.label
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{period.label}.", dir=target.parent))
    try:
        for name, columns in EXPORTS.items():
            _write_csv(data[name], columns, staging / f"{name}.csv")
        (staging / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a report is for its readers
        publish(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, summary


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def publish(staging: Path, target: Path) -> None:
    """Put the finished `staging` folder at `target`: with the month already there, the two
    change places in one atomic step, so readers see the old month or the new one, never
    neither and never a mix; the old one is then removed."""
    while True:
        try:
            os.rename(staging, target)  # no month there yet: atomic on its own
            return
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
        if _exchange(staging, target):
            shutil.rmtree(staging)
            return
        # No atomic exchange on this system: move the old month aside and try again (a
        # reader may find no month for that instant).
        aside = Path(tempfile.mkdtemp(prefix=".replaced.", dir=target.parent))
        with contextlib.suppress(FileNotFoundError):
            os.rename(target, aside / target.name)
        shutil.rmtree(aside)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders atomically (Linux's renameat2 RENAME_EXCHANGE); False where the
    system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(second))
