"""Typed DataFrames from the local store, one per object type.

Amounts stay int64 in minor units beside a `currency` column (money.to_major converts, last);
timestamps are timezone-aware UTC; low-cardinality text (currency, status, type) is
categorical; the nested fields analysts ask for come flattened: card brand, funding, country,
last4 and expiry, outcome type and reason, failure and decline codes, fees by type, and
metadata keys as `metadata.<key>`. A frame reads the store only: it never calls Stripe.
"""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime

import numpy as np
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
        *(["created"] if kind.has_created else []),
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
    where = " AND ".join(clauses)
    order = "created, id" if kind.has_created else "id"
    coded = set(kind.coded)
    selected = [f"ifnull({c}_code, -1)" if c in coded else c for c in columns]
    # A million rows are a million tuples: the cyclic garbage collector has nothing to find
    # in them, and pausing it while they are made halves the time (the store keeps rows in
    # `created` order, so the read itself is sequential).
    gc.disable()
    try:
        rows = store.conn.execute(
            f"SELECT {', '.join(selected)} FROM {kind.name} WHERE {where} ORDER BY {order}",
            args,
        ).fetchall()
        values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
        del rows
    finally:
        gc.enable()
    sql = {name: sql_type for name, (sql_type, _) in kind.columns.items()}
    sql["created"] = "INTEGER"
    frame = pd.DataFrame(
        {
            column: _categorical(store.categories(name, column), data)
            if column in coded
            else _series(column, sql.get(column, "TEXT"), data)
            for column, data in zip(columns, values, strict=True)
        }
    )
    if "metadata" in frame:
        frame = _expand_metadata(frame)
    return frame.rename(columns=RENAMES)


def _categorical(categories: list[str], codes: tuple) -> pd.Categorical:
    """Text stored as codes (see store.CATEGORICAL), with only the values that occur."""
    values = pd.Categorical.from_codes(np.fromiter(codes, np.int64, len(codes)), categories)
    return values.remove_unused_categories()


def _series(column: str, sql_type: str, data: tuple) -> pd.Series:
    """One column with its analyst's type; integers never pass through floats."""
    if sql_type == "TEXT" and column not in FLOATS:
        return pd.Series(np.array(data, dtype=object), dtype="object")
    if column in FLOATS:
        return pd.Series(np.array([np.nan if v is None else v for v in data], dtype=np.float64))
    try:
        values = np.fromiter(data, np.int64, len(data))
    except TypeError:  # nulls: pandas' nullable integers, never floats
        values = pd.array(data, dtype="Int64")
    if column in BOOLEANS:
        return pd.Series(
            values.astype("boolean")
            if isinstance(values, pd.api.extensions.ExtensionArray)
            else values.astype(bool)
        )
    if column in TIMESTAMPS:
        return pd.Series(pd.to_datetime(values, unit="s", utc=True))
    return pd.Series(values)


def _expand_metadata(frame: pd.DataFrame) -> pd.DataFrame:
    """metadata (JSON) -> one `metadata.<key>` column per key that occurs."""
    parsed = [orjson.loads(text) if text else {} for text in frame.pop("metadata")]
    keys = sorted({key for item in parsed for key in item})
    for key in keys:
        frame[f"metadata.{key}"] = pd.Series(
            [item.get(key) for item in parsed], index=frame.index, dtype="object"
        )
    return frame
