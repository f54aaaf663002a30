"""Typed DataFrames from the local store, one per object type.

Amounts stay int64 in minor units beside a `currency` column (money.to_major converts, last);
timestamps are timezone-aware UTC; low-cardinality text (currency, status, type) is
categorical; the nested fields analysts ask for come flattened: card brand, funding, country,
last4 and expiry, outcome type and reason, failure and decline codes, fees by type, and
metadata keys as `metadata.<key>`. A frame reads the store only: it never calls Stripe.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pandas as pd

from workbench.exceptions import WorkbenchError
from workbench.store import KINDS, Store

TIMESTAMPS = {"created", "available_on", "arrival_date", "due_by", "capture_before", "canceled_at"}
BOOLEANS = {
    "paid",
    "captured",
    "refunded",
    "disputed",
    "automatic",
    "delinquent",
    "deleted",
    "has_evidence",
    "past_due",
    "is_charge_refundable",
}
CATEGORIES = {
    "currency",
    "status",
    "type",
    "reporting_category",
    "outcome_type",
    "outcome_reason",
    "network_status",
    "risk_level",
    "decline_code",
    "failure_code",
    "card_brand",
    "card_funding",
    "card_country",
    "brand",
    "funding",
    "country",
    "reason",
    "capture_method",
    "cancellation_reason",
    "object_type",
    "method",
    "reconciliation_status",
    "cvc_check",
}
FLOATS = {"exchange_rate"}
RENAMES = {
    "fee_stripe_fee": "fee.stripe_fee",
    "fee_application_fee": "fee.application_fee",
    "fee_tax": "fee.tax",
}


def moment(value, name: str) -> int | None:
    """A Unix time from a date, datetime, pandas Timestamp or ISO string (naive means UTC)."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise WorkbenchError(
            f"{name}={value!r} is not a date: use e.g. '2026-10-01' or datetime(2026, 10, 1)"
        ) from None
    if pd.isna(stamp):
        raise WorkbenchError(f"{name}={value!r} is not a date")
    if isinstance(value, date) and not isinstance(value, datetime):
        stamp = pd.Timestamp(value.isoformat())
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return int(stamp.timestamp())


def load(store: Store, account: str, name: str, start=None, end=None, **filters) -> pd.DataFrame:
    """Objects of type `name` created in [start, end), as a typed DataFrame."""
    if name not in KINDS:
        raise WorkbenchError(f"unknown frame {name!r}: use one of {', '.join(KINDS)}")
    kind = KINDS[name]
    low, high = moment(start, "start"), moment(end, "end")
    if low is not None and high is not None and low >= high:
        raise WorkbenchError(f"start {start} is not before end {end}: the period is [start, end)")
    columns = [
        "id",
        "created",
        *kind.columns,
        *(["payout"] if name == "balance_transactions" else []),
    ]
    clauses, args = ["account = ?"], [account]
    if kind.has_created and low is not None:
        clauses.append("created >= ?")
        args.append(low)
    if kind.has_created and high is not None:
        clauses.append("created < ?")
        args.append(high)
    for column, value in filters.items():
        if column not in columns:
            raise WorkbenchError(
                f"cannot filter {name} by {column!r}: filter by one of {', '.join(columns)}"
            )
        clauses.append(f"{column} = ?")
        args.append(value)
    rows = store.conn.execute(
        f"SELECT {', '.join(columns)} FROM {kind.name} WHERE {' AND '.join(clauses)} "
        "ORDER BY created, id",
        args,
    ).fetchall()
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    sql = {name: sql_type for name, (sql_type, _) in kind.columns.items()}
    sql["created"] = "INTEGER"
    frame = pd.DataFrame(
        {
            column: _series(column, sql.get(column, "TEXT"), data)
            for column, data in zip(columns, values, strict=True)
        }
    )
    if "metadata" in frame:
        frame = _expand_metadata(frame)
    return frame.rename(columns=RENAMES)


def _series(column: str, sql_type: str, data: tuple) -> pd.Series:
    """One column with its analyst's type; integers never pass through floats."""
    if column in TIMESTAMPS:
        return pd.to_datetime(pd.array(data, dtype="Int64"), unit="s", utc=True)
    if column in BOOLEANS:
        values = pd.array([None if v is None else bool(v) for v in data], dtype="boolean")
        return pd.Series(values if values.isna().any() else values.astype(bool))
    if column in FLOATS:
        return pd.Series(data, dtype="float64")
    if sql_type == "INTEGER":
        values = pd.array(data, dtype="Int64")
        return pd.Series(values.astype("int64") if not values.isna().any() else values)
    if column in CATEGORIES:
        return pd.Series(data, dtype="category")
    return pd.Series(data, dtype="object")


def _expand_metadata(frame: pd.DataFrame) -> pd.DataFrame:
    """metadata (JSON) -> one `metadata.<key>` column per key that occurs."""
    parsed = [orjson.loads(text) if text else {} for text in frame.pop("metadata")]
    keys = sorted({key for item in parsed for key in item})
    for key in keys:
        frame[f"metadata.{key}"] = pd.Series(
            [item.get(key) for item in parsed], index=frame.index, dtype="object"
        )
    return frame
