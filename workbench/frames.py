"""Typed DataFrames from the local store, one per object type.

Amounts stay int64 in minor units beside a `currency` column (money.to_major converts, last);
timestamps are timezone-aware UTC; low-cardinality text (currency, status, type) is
categorical; the nested fields analysts ask for come flattened: card brand, funding, country,
last4 and expiry, outcome type and reason, failure and decline codes, fees by type, and
metadata keys as `metadata.<key>`. A frame reads the store only: it never calls Stripe.
"""

from __future__ import annotations

import hashlib
import numbers
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from workbench import copies
from workbench.exceptions import WorkbenchError
from workbench.store import ASSIGNED, DAY, KINDS, Kind, Store

TIMESTAMPS = {
    "created",
    "available_on",
    "arrival_date",
    "due_by",
    "capture_before",
    "canceled_at",
    # Billing
    "updated",
    "start_date",
    "billing_cycle_anchor",
    "trial_start",
    "trial_end",
    "cancel_at",
    "ended_at",
    "current_period_start",
    "current_period_end",
    "next_payment_attempt",
    "period_start",
    "period_end",
    "finalized_at",
    "paid_at",
    "voided_at",
}
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
    "active",
    "cancel_at_period_end",
    "attempted",
    "auto_advance",
    "proration",
}
# Stripe sends `deleted` only on deleted objects: absent means no.
ABSENT_IS_FALSE = {"deleted"}
FLOATS = {"exchange_rate"}
# Bumped whenever what a day's copy holds changes shape: older copies are then not read.
COPY_LAYOUT = 3
RENAMES = {
    "fee_stripe_fee": "fee.stripe_fee",
    "fee_application_fee": "fee.application_fee",
    "fee_tax": "fee.tax",
}


def moment(value, name: str) -> int | None:
    """A Unix time from an integer (seconds, as Stripe's `created`), a date, a datetime, a
    pandas Timestamp or an ISO string (naive means UTC)."""
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise WorkbenchError(
            f"{name}={value!r} is not a date: use e.g. '2026-10-01', datetime(2026, 10, 1) "
            "or Unix seconds"
        ) from None
    if pd.isna(stamp):
        raise WorkbenchError(f"{name}={value!r} is not a date")
    if isinstance(value, date) and not isinstance(value, datetime):
        stamp = pd.Timestamp(value.isoformat())
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return int(stamp.timestamp())


@dataclass(frozen=True)
class Column:
    """One column of a frame: what SQLite computes for it, and how its packed text parses."""

    name: str
    sql: str
    form: str  # "text", "coded" (read as integer codes), "float" or "integer"
    args: tuple = ()  # values bound in `sql` (a metadata key)


@dataclass(frozen=True)
class Query:
    """Which rows and columns of one table a frame reads: built and checked before any I/O."""

    kind: Kind
    columns: list[Column]
    where: str
    args: list
    account: str
    low: int | None  # the period [low, high) in Unix seconds, either end open
    high: int | None
    filtered: bool

    @classmethod
    def build(cls, account: str, name: str, start, end, filters: dict, fields=None) -> Query:
        if name not in KINDS:
            raise WorkbenchError(f"unknown frame {name!r}: use one of {', '.join(KINDS)}")
        kind = KINDS[name]
        low, high = moment(start, "start"), moment(end, "end")
        if low is not None and high is not None and low >= high:
            raise WorkbenchError(
                f"start {start} is not before end {end}: the period is [start, end)"
            )
        names = [
            "id",
            *(["created"] if kind.has_created else []),
            *kind.columns,
            *ASSIGNED.get(name, ()),
        ]
        keys = []  # metadata keys asked for by name: no need to find which occur
        if fields is not None:
            keys = [f.removeprefix("metadata.") for f in fields if f.startswith("metadata.")]
            unknown = sorted(
                set(fields) - set(names) - {"metadata"} - {f"metadata.{k}" for k in keys}
            )
            if unknown:
                raise WorkbenchError(
                    f"{name} has no column {unknown[0]!r}: choose from {', '.join(names)}"
                )
            names = [n for n in names if n in ("id", "created") or n in fields]
        clauses, args = ["account = ?"], [account]
        if kind.has_created and low is not None:
            clauses.append("created >= ?")
            args.append(low)
        if kind.has_created and high is not None:
            clauses.append("created < ?")
            args.append(high)
        for column, value in filters.items():
            if column not in kind.columns and column not in (
                "id",
                "created",
                *ASSIGNED.get(name, ()),
            ):
                raise WorkbenchError(
                    f"cannot filter {name} by {column!r}: filter by one of {', '.join(names)}"
                )
            if isinstance(value, list | tuple | set | frozenset):
                values = list(value)
                clauses.append(f"{column} IN ({', '.join('?' for _ in values)})" if values else "0")
                args.extend(values)
            else:
                clauses.append(f"{column} = ?")
                args.append(value)
        sql = {n: sql_type for n, (sql_type, _) in kind.columns.items()}
        sql["created"] = "INTEGER"
        coded = set(kind.coded)

        def column(n: str) -> Column:
            if n in coded:
                return Column(n, f"{n}_code", "coded")
            if n in FLOATS:
                return Column(n, n, "float")
            return Column(n, n, "text" if sql.get(n, "TEXT") == "TEXT" else "integer")

        query = cls(
            kind,
            [column(n) for n in names],
            " AND ".join(clauses),
            args,
            account,
            low,
            high,
            bool(filters),
        )
        return query.with_keys(keys) if keys and "metadata" in kind.columns else query

    @property
    def metadata(self) -> bool:
        return any(c.name == "metadata" for c in self.columns)

    def keys_sql(self) -> str:
        """The metadata keys that occur in the rows, found by SQLite."""
        return (
            f"SELECT DISTINCT j.key FROM (SELECT metadata FROM {self.kind.name} "
            f"WHERE {self.where}) AS m, json_each(m.metadata) AS j ORDER BY j.key"
        )

    def with_keys(self, keys: list[str]) -> Query:
        """The metadata column replaced by one `metadata.<key>` text column per key, each
        value taken out by SQLite (the key bound, never spliced into the SQL)."""
        columns = [c for c in self.columns if c.name != "metadata"]
        columns += [
            Column(
                f"metadata.{key}",
                "(SELECT value FROM json_each(metadata) WHERE key = ?)",
                "text",
                (key,),
            )
            for key in keys
        ]
        return replace(self, columns=columns)

    def on_day(self, day: int) -> Query:
        """The same columns, of the rows created on one day (UTC)."""
        return replace(
            self,
            where="account = ? AND created >= ? AND created < ?",
            args=[self.account, day * DAY, (day + 1) * DAY],
        )

    def packed(self) -> tuple[str, list]:
        """One row: the count, then each column's values joined into one string by SQLite.
        A million rows fetched as tuples are twenty million Python objects; one string per
        column, parsed by NumPy, is several times faster."""
        parts = ", ".join(_concatenated(c) for c in self.columns)
        args = [value for c in self.columns for value in c.args]
        return f"SELECT count(*), {parts} FROM {self.kind.name} WHERE {self.where}", [
            *args,
            *self.args,
        ]


def load(
    store: Store, account: str, name: str, start=None, end=None, *, columns=None, **filters
) -> pd.DataFrame:
    """Objects of type `name` created in [start, end), as a typed DataFrame; a filter is a
    column's value, or a list of values it may have. `columns` narrows what is read (id and
    created always come; "metadata" brings every `metadata.<key>` that occurs, and
    "metadata.<key>" that one key)."""
    query = Query.build(account, name, start, end, filters, columns)
    copied = query.kind.by_day and not query.filtered
    return _typed(store, query.kind, _copied(store, query) if copied else _read(store, query))


# Raw columns, before pandas: per column name an int64 array (NULL_INTEGER for null) for
# integers, times and codes, float64 for floats, an object array (None for null) for text.
Raw = dict[str, np.ndarray]


def _read(store: Store, query: Query) -> Raw:
    """The rows `query` selects, read from SQLite."""
    return _unpacked(*_fetched(store, query))


def _fetched(store: Store, query: Query) -> tuple[int, dict]:
    """The count of rows `query` selects, and their columns: numbers parsed into arrays, texts
    left joined as SQLite sent them (a day's copy is pickled so: one string is written at
    once, a million are written one by one), unless a text held the separator."""
    if query.metadata:
        keys = [row[0] for row in store.conn.execute(query.keys_sql(), query.args)]
        query = query.with_keys(keys)
    sql, args = query.packed()
    row = store.conn.execute(sql, args).fetchone()
    count, columns = row[0], {}
    for column, joined in zip(query.columns, row[1:], strict=True):
        if column.form != "text":
            columns[column.name] = _parse(
                joined, np.float64 if column.form == "float" else np.int64
            )
        elif not count or joined.count(SEPARATOR) == count - 1:
            columns[column.name] = joined
        else:  # a separator inside the text itself: look it up by id
            found = dict(
                store.conn.execute(
                    f"SELECT id, {column.sql} FROM {query.kind.name} WHERE {query.where}",
                    [*column.args, *query.args],
                )
            )
            ids = _unpacked(count, {"id": columns["id"]})["id"]
            columns[column.name] = np.array([found[i] for i in ids], dtype=object)
    return count, columns


def _unpacked(count: int, columns: dict) -> Raw:
    """Fetched or copied columns as arrays: joined texts split, shared ones spread."""
    raw = {}
    for name, values in columns.items():
        if values is None or isinstance(values, str):
            raw[name] = _split(values, count)
        elif isinstance(values, tuple):
            distinct, codes = values
            raw[name] = distinct[codes]
        else:
            raw[name] = values
    return raw


def _shared(count: int, columns: dict) -> tuple[int, dict]:
    """A day's columns as its copy keeps them: a text with few distinct values in the day
    (its payout, the customers, a descriptor) as those values and a code per row. Reading
    it again splits no string, and its rows share one object per value, which pandas then
    hashes and compares quickly."""
    kept = dict(columns)
    for name, values in columns.items():
        if isinstance(values, str) and count:
            codes, distinct = pd.factorize(_split(values, count))
            if len(distinct) <= count // 2:  # a null's code, -1, takes the None at the end
                small = codes.astype(np.min_scalar_type(-len(distinct) - 1))  # int8 for a few
                kept[name] = (np.append(np.asarray(distinct, dtype=object), None), small)
    return count, kept


def _copied(store: Store, query: Query) -> Raw:
    """The rows `query` selects, from the columnar copy of each day they fall on; a day
    whose token has changed since its copy was made (or that has none) is read from SQLite
    and copied anew. The tokens and the rows read are one snapshot (one read transaction),
    so a copy never holds rows newer or older than the token it is filed under."""
    folder = store.copies / _digest(query)
    conn = store.conn
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        days = store.day_tokens(
            query.kind.name,
            query.account,
            None if query.low is None else query.low // DAY,
            None if query.high is None else (query.high - 1) // DAY,
        )
        blocks = []
        for day, token in days:
            path = folder / f"{day}.{token & 0xFFFF_FFFF_FFFF_FFFF:016x}.pickle"
            block = copies.kept(path)
            if block is None:
                block = _shared(*_fetched(store, query.on_day(day)))
                copies.keep(path, block, replaces=f"{day}.*.pickle")
            blocks.append(_unpacked(*block))
    finally:
        if own:
            conn.execute("COMMIT")
    raw = _joined(query, blocks)
    created = raw["created"]
    inside = np.ones(len(created), dtype=bool)
    if query.low is not None:
        inside &= created >= query.low
    if query.high is not None:
        inside &= created < query.high
    return raw if inside.all() else {name: values[inside] for name, values in raw.items()}


def _digest(query: Query) -> str:
    """The name of a copy's folder: the account, the type and exactly which columns, read
    how (a copy made for other columns, or by another layout of copies, is not this one)."""
    shape = repr(
        (
            COPY_LAYOUT,
            query.account,
            query.kind.name,
            [(c.name, c.sql, c.form, c.args) for c in query.columns],
        )
    )
    return hashlib.sha256(shape.encode()).hexdigest()[:24]


def _joined(query: Query, blocks: list[Raw]) -> Raw:
    """Days' raw columns end to end, in the query's column order; a metadata key some days
    lack is null on them."""
    names = [c.name for c in query.columns if c.name != "metadata"]
    keys = sorted({n for block in blocks for n in block if n not in names})
    forms = {c.name: c.form for c in query.columns}
    empty = {"text": object, "float": np.float64}
    raw = {}
    for name in [*names, *keys]:
        parts = [
            block[name] if name in block else np.full(len(block["id"]), None, dtype=object)
            for block in blocks
        ]
        raw[name] = (
            np.concatenate(parts) if parts else np.empty(0, empty.get(forms.get(name), np.int64))
        )
    return raw


def _typed(store: Store, kind: Kind, raw: Raw) -> pd.DataFrame:
    """Raw columns as typed Series, in key order."""
    # SQLite owes an aggregate no order; it scans in key order, and a sort mends it if not.
    created = raw.get("created") if kind.has_created else None
    coded = set(kind.coded)
    data = {}
    for name, values in raw.items():
        if name == "created" or (values.dtype == np.int64 and name not in coded):
            data[name] = _series(name, values)
        elif name in coded:
            data[name] = _categorical(store.categories(kind.name, name), values)
        else:
            data[name] = pd.Series(values, dtype=values.dtype)
    frame = pd.DataFrame(data, columns=list(raw))
    if not _in_order(frame["id"].to_numpy(), created):
        frame = frame.sort_values(
            ["created", "id"] if kind.has_created else ["id"], ignore_index=True
        )
    return frame.rename(columns=RENAMES)


# Sentinels in the packed strings, which cannot hold a null: a text column's values are
# joined by SEPARATOR with NULL_TEXT for null; an integer column's by commas with
# NULL_INTEGER (no Stripe integer is that small) and a float column's with 'nan'; a coded
# column's codes with -1 for null (pandas' own null code).
SEPARATOR = "\x1f"  # ASCII unit separator
NULL_TEXT = "\x00"
NULL_INTEGER = -(2**63)


def _concatenated(column: Column) -> str:
    if column.form == "text":
        return f"group_concat(ifnull({column.sql}, char(0)), char(31))"
    null = (
        "-1" if column.form == "coded" else "'nan'" if column.form == "float" else str(NULL_INTEGER)
    )
    return f"group_concat(ifnull({column.sql}, {null}), ',')"


def _in_order(ids: np.ndarray, created: np.ndarray | None) -> bool:
    """Rows in key order: by created, then id (by id alone where there is no created)."""
    if created is None:
        return bool((ids[1:] > ids[:-1]).all())
    if (created[1:] < created[:-1]).any():
        return False
    ties = created[1:] == created[:-1]
    return bool((ids[1:][ties] > ids[:-1][ties]).all())


def _split(joined: str | None, count: int) -> np.ndarray:
    """Texts joined by SQLite (`count` of them, none holding the separator) as values."""
    if count and len(joined) == 2 * count - 1 and joined.count(NULL_TEXT) == count:
        return np.full(count, None, dtype=object)  # a column no row has (description, often)
    values = joined.split(SEPARATOR) if count else []
    if count and NULL_TEXT in joined:  # (NumPy would compare '\x00' as '')
        values = [None if v == NULL_TEXT else v for v in values]
    return np.array(values, dtype=object)


def _parse(joined: str | None, dtype=np.int64) -> np.ndarray:
    return np.fromstring(joined, dtype=dtype, sep=",") if joined else np.empty(0, dtype)


def _categorical(categories: list[str], codes: np.ndarray) -> pd.Categorical:
    """Text stored as codes (see store.CATEGORICAL), with only the values that occur (found
    by counting codes: pandas would sort a million of them)."""
    used = np.bincount(codes[codes >= 0], minlength=len(categories)) > 0
    if not used.all():
        renumbered = np.append(np.cumsum(used) - 1, -1)  # code -1 (null) stays -1
        codes = renumbered[codes]
        categories = [value for value, kept in zip(categories, used, strict=True) if kept]
    return pd.Categorical.from_codes(codes, categories)


def _series(column: str, values: np.ndarray) -> pd.Series:
    """One integer column with its analyst's type; nulls make pandas' nullable integers,
    never floats."""
    nulls = values == NULL_INTEGER
    if column in ABSENT_IS_FALSE:
        values, nulls = np.where(nulls, 0, values), nulls & False
    if nulls.any():
        values = pd.arrays.IntegerArray(values, nulls)
    if column in BOOLEANS:
        return pd.Series(values.astype("boolean") if nulls.any() else values.astype(bool))
    if column in TIMESTAMPS:
        return pd.Series(pd.to_datetime(values, unit="s", utc=True))
    return pd.Series(values)
