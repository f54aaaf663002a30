"""The local store: each synced object's raw JSON, plus the columns that queries and frames
need, in one SQLite file in the data dir.

One table per object type, keyed by (account, id) and upserted, so a page fetched twice
changes nothing. Several processes use the store at once (an open notebook, a scheduled
report, a sync): WAL lets readers read while one writer writes, and a busy timeout makes a
second writer wait instead of failing. Every page is written in one transaction with the
sync's progress, so a killed sync leaves nothing half-written.
"""

from __future__ import annotations

import fcntl
import hashlib
import secrets
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson

from workbench.exceptions import WorkbenchError

BUSY_TIMEOUT_MS = 120_000
# The unit of the columnar copy frames keep of the by-day types: a day of `created` (UTC).
DAY = 86400


def _path(*keys: str) -> Callable[[dict], object]:
    def get(obj: dict):
        for key in keys:
            if not isinstance(obj, dict):
                return None
            obj = obj.get(key)
        return obj.get("id") if isinstance(obj, dict) and "id" in obj else obj

    return get


def _json(*keys: str) -> Callable[[dict], object]:
    get = _path(*keys)

    def encode(obj: dict):
        value = get(obj)
        return orjson.dumps(value).decode() if value else None

    return encode


def _decline_code(charge: dict):
    """Stripe puts the decline code of a failed charge in its outcome's reason."""
    if charge.get("status") != "failed":
        return None
    return (charge.get("outcome") or {}).get("reason") or charge.get("failure_code")


def _fee(kind: str) -> Callable[[dict], object]:
    """A balance transaction's fees of one type (Stripe itemizes them in fee_details)."""

    def total(transaction: dict) -> int:
        return sum(d["amount"] for d in transaction.get("fee_details") or () if d["type"] == kind)

    return total


def _card(key: str) -> Callable[[dict], object]:
    return _path("payment_method_details", "card", key)


# Text with few distinct values (currency, status, ...): each also gets an integer code
# column, so a frame reads a million small ints (one shared object each) instead of a
# million strings, and builds a pandas Categorical from the codes directly.
CATEGORICAL = frozenset(
    "currency status type reporting_category outcome_type outcome_reason network_status "
    "risk_level decline_code failure_code card_brand card_funding card_country brand funding "
    "country reason capture_method cancellation_reason object_type method "
    "reconciliation_status cvc_check error_code error_decline_code billing_reason interval "
    "usage_type collection_method tax_behavior billing_scheme cancellation_feedback".split()
)


@dataclass(frozen=True)
class Within:
    """Where a child type comes from: the parent type's objects carry (or, expanded, list)
    their children in `field`; each child names its parent in `column`."""

    parent: str  # the parent type: "customers"
    field: str  # the parent's list of children: "sources"
    column: str  # the child's column naming its parent: "customer"


@dataclass(frozen=True)
class Kind:
    """An object type as stored: its table, API list path and extracted columns."""

    name: str  # table and CLI name, Stripe's plural: "charges"
    object: str  # the API's `object` value: "charge"
    path: str  # the list endpoint ({column} for a child's parent, else a query parameter)
    columns: dict[str, tuple[str, Callable[[dict], object]]]
    indexes: tuple[str, ...] = ()
    has_created: bool = True
    listed: tuple[tuple[str, str], ...] = ()  # parameters its list needs to show every object
    within: Within | None = None  # a child type, synced with its parent
    # A type that grows by the million a month: triggers note which days of it change, and
    # frames read it from a columnar copy of each day (see frames.py).
    by_day: bool = False

    def values(self, obj: dict) -> list:
        return [extract(obj) for _, extract in self.columns.values()]

    @property
    def coded(self) -> list[str]:
        """Its low-cardinality text columns, stored also as small integer codes."""
        return [
            name for name, (sql, _) in self.columns.items() if sql == "TEXT" and name in CATEGORICAL
        ]


def _columns(*names: str, integer: tuple[str, ...] = ()) -> dict:
    return {name: ("INTEGER" if name in integer else "TEXT", _path(name)) for name in names}


KINDS = {
    kind.name: kind
    for kind in (
        Kind(
            "charges",
            "charge",
            "/v1/charges",
            {
                **_columns(
                    "amount",
                    "amount_captured",
                    "amount_refunded",
                    "currency",
                    "status",
                    "paid",
                    "captured",
                    "refunded",
                    "disputed",
                    "customer",
                    "payment_intent",
                    "payment_method",
                    "balance_transaction",
                    "description",
                    "receipt_email",
                    "failure_code",
                    "failure_message",
                    "calculated_statement_descriptor",
                    "statement_descriptor",
                    "statement_descriptor_suffix",
                    integer=(
                        "amount",
                        "amount_captured",
                        "amount_refunded",
                        "paid",
                        "captured",
                        "refunded",
                        "disputed",
                    ),
                ),
                "outcome_type": ("TEXT", _path("outcome", "type")),
                "outcome_reason": ("TEXT", _path("outcome", "reason")),
                "network_status": ("TEXT", _path("outcome", "network_status")),
                "risk_level": ("TEXT", _path("outcome", "risk_level")),
                "decline_code": ("TEXT", _decline_code),
                "card_brand": ("TEXT", _card("brand")),
                "card_funding": ("TEXT", _card("funding")),
                "card_country": ("TEXT", _card("country")),
                "card_last4": ("TEXT", _card("last4")),
                "card_exp_month": ("INTEGER", _card("exp_month")),
                "card_exp_year": ("INTEGER", _card("exp_year")),
                "card_fingerprint": ("TEXT", _card("fingerprint")),
                "capture_before": ("INTEGER", _card("capture_before")),
                "metadata": ("TEXT", _json("metadata")),
            },
            indexes=("customer", "payment_intent", "status"),
            by_day=True,
        ),
        Kind(
            "customers",
            "customer",
            "/v1/customers",
            {
                **_columns(
                    "email",
                    "name",
                    "description",
                    "phone",
                    "default_source",
                    "currency",
                    "balance",
                    "delinquent",
                    "deleted",
                    integer=("balance", "delinquent", "deleted"),
                ),
                "metadata": ("TEXT", _json("metadata")),
            },
            indexes=("email",),
        ),
        Kind(
            "cards",
            "card",
            "/v1/customers/{customer}/sources",
            {
                **_columns(
                    "customer",
                    "brand",
                    "funding",
                    "country",
                    "last4",
                    "exp_month",
                    "exp_year",
                    "fingerprint",
                    "name",
                    "address_zip",
                    "cvc_check",
                    integer=("exp_month", "exp_year"),
                ),
                "metadata": ("TEXT", _json("metadata")),
            },
            indexes=("customer",),
            has_created=False,
            within=Within("customers", "sources", "customer"),
        ),
        Kind(
            "payment_intents",
            "payment_intent",
            "/v1/payment_intents",
            {
                **_columns(
                    "amount",
                    "amount_capturable",
                    "amount_received",
                    "currency",
                    "status",
                    "customer",
                    "payment_method",
                    "latest_charge",
                    "capture_method",
                    "cancellation_reason",
                    "canceled_at",
                    "description",
                    integer=("amount", "amount_capturable", "amount_received", "canceled_at"),
                ),
                "error_code": ("TEXT", _path("last_payment_error", "code")),
                "error_decline_code": ("TEXT", _path("last_payment_error", "decline_code")),
                "metadata": ("TEXT", _json("metadata")),
            },
            indexes=("customer", "latest_charge"),
        ),
        Kind(
            "refunds",
            "refund",
            "/v1/refunds",
            {
                **_columns(
                    "amount",
                    "currency",
                    "status",
                    "charge",
                    "payment_intent",
                    "reason",
                    "balance_transaction",
                    "failure_reason",
                    integer=("amount",),
                ),
                "metadata": ("TEXT", _json("metadata")),
            },
            indexes=("charge",),
        ),
        Kind(
            "disputes",
            "dispute",
            "/v1/disputes",
            {
                **_columns(
                    "amount",
                    "currency",
                    "status",
                    "reason",
                    "charge",
                    "payment_intent",
                    "is_charge_refundable",
                    "network_reason_code",
                    integer=("amount", "is_charge_refundable"),
                ),
                "due_by": ("INTEGER", _path("evidence_details", "due_by")),
                "has_evidence": ("INTEGER", _path("evidence_details", "has_evidence")),
                "past_due": ("INTEGER", _path("evidence_details", "past_due")),
                "submission_count": ("INTEGER", _path("evidence_details", "submission_count")),
                "metadata": ("TEXT", _json("metadata")),
            },
            indexes=("charge",),
        ),
        Kind(
            "payouts",
            "payout",
            "/v1/payouts",
            {
                **_columns(
                    "amount",
                    "currency",
                    "status",
                    "arrival_date",
                    "automatic",
                    "method",
                    "type",
                    "destination",
                    "balance_transaction",
                    "failure_code",
                    "failure_message",
                    "failure_balance_transaction",
                    "reconciliation_status",
                    "description",
                    "statement_descriptor",
                    integer=("amount", "arrival_date", "automatic"),
                ),
                "metadata": ("TEXT", _json("metadata")),
            },
            indexes=("status",),
        ),
        Kind(
            "balance_transactions",
            "balance_transaction",
            "/v1/balance_transactions",
            {
                **_columns(
                    "amount",
                    "fee",
                    "net",
                    "currency",
                    "type",
                    "reporting_category",
                    "status",
                    "available_on",
                    "source",
                    "description",
                    "exchange_rate",
                    integer=("amount", "fee", "net", "available_on"),
                ),
                "fee_stripe_fee": ("INTEGER", _fee("stripe_fee")),
                "fee_application_fee": ("INTEGER", _fee("application_fee")),
                "fee_tax": ("INTEGER", _fee("tax")),
            },
            indexes=("source", "payout", "status"),
            by_day=True,
        ),
        Kind(
            "products",
            "product",
            "/v1/products",
            {
                **_columns(
                    "name",
                    "active",
                    "description",
                    "default_price",
                    "type",
                    "unit_label",
                    "updated",
                    integer=("active", "updated"),
                ),
                "metadata": ("TEXT", _json("metadata")),
            },
        ),
        Kind(
            "prices",
            "price",
            "/v1/prices",
            {
                **_columns(
                    "product",
                    "currency",
                    "unit_amount",
                    "type",
                    "active",
                    "nickname",
                    "lookup_key",
                    "billing_scheme",
                    "tax_behavior",
                    integer=("unit_amount", "active"),
                ),
                "interval": ("TEXT", _path("recurring", "interval")),
                "interval_count": ("INTEGER", _path("recurring", "interval_count")),
                "trial_period_days": ("INTEGER", _path("recurring", "trial_period_days")),
                "usage_type": ("TEXT", _path("recurring", "usage_type")),
                "metadata": ("TEXT", _json("metadata")),
            },
            indexes=("product",),
        ),
        Kind(
            "subscriptions",
            "subscription",
            "/v1/subscriptions",
            {
                **_columns(
                    "customer",
                    "status",
                    "currency",
                    "start_date",
                    "billing_cycle_anchor",
                    "trial_start",
                    "trial_end",
                    "cancel_at_period_end",
                    "cancel_at",
                    "canceled_at",
                    "ended_at",
                    "latest_invoice",
                    "default_payment_method",
                    "collection_method",
                    "description",
                    "test_clock",
                    integer=(
                        "start_date",
                        "billing_cycle_anchor",
                        "trial_start",
                        "trial_end",
                        "cancel_at_period_end",
                        "cancel_at",
                        "canceled_at",
                        "ended_at",
                    ),
                ),
                "cancellation_reason": ("TEXT", _path("cancellation_details", "reason")),
                "cancellation_feedback": ("TEXT", _path("cancellation_details", "feedback")),
                "metadata": ("TEXT", _json("metadata")),
            },
            indexes=("customer", "status"),
            listed=(("status", "all"),),  # Stripe lists only those not canceled otherwise
        ),
        Kind(
            "subscription_items",
            "subscription_item",
            "/v1/subscription_items",
            {
                **_columns(
                    "subscription",
                    "quantity",
                    "current_period_start",
                    "current_period_end",
                    integer=("quantity", "current_period_start", "current_period_end"),
                ),
                "price": ("TEXT", _path("price")),
                "product": ("TEXT", _path("price", "product")),
                "currency": ("TEXT", _path("price", "currency")),
                "unit_amount": ("INTEGER", _path("price", "unit_amount")),
                "interval": ("TEXT", _path("price", "recurring", "interval")),
                "interval_count": ("INTEGER", _path("price", "recurring", "interval_count")),
                "metadata": ("TEXT", _json("metadata")),
            },
            indexes=("subscription",),
            within=Within("subscriptions", "items", "subscription"),
        ),
        Kind(
            "invoices",
            "invoice",
            "/v1/invoices",
            {
                **_columns(
                    "customer",
                    "status",
                    "billing_reason",
                    "currency",
                    "amount_due",
                    "amount_paid",
                    "amount_remaining",
                    "subtotal",
                    "total",
                    "starting_balance",
                    "ending_balance",
                    "attempt_count",
                    "attempted",
                    "auto_advance",
                    "next_payment_attempt",
                    "period_start",
                    "period_end",
                    "number",
                    "collection_method",
                    "test_clock",
                    integer=(
                        "amount_due",
                        "amount_paid",
                        "amount_remaining",
                        "subtotal",
                        "total",
                        "starting_balance",
                        "ending_balance",
                        "attempt_count",
                        "attempted",
                        "auto_advance",
                        "next_payment_attempt",
                        "period_start",
                        "period_end",
                    ),
                ),
                "subscription": ("TEXT", _path("parent", "subscription_details", "subscription")),
                "finalized_at": ("INTEGER", _path("status_transitions", "finalized_at")),
                "paid_at": ("INTEGER", _path("status_transitions", "paid_at")),
                "voided_at": ("INTEGER", _path("status_transitions", "voided_at")),
                "metadata": ("TEXT", _json("metadata")),
            },
            indexes=("customer", "subscription", "status"),
        ),
        Kind(
            "invoice_line_items",
            "line_item",
            "/v1/invoices/{invoice}/lines",
            {
                **_columns(
                    "invoice",
                    "subscription",
                    "amount",
                    "currency",
                    "quantity",
                    "description",
                    integer=("amount", "quantity"),
                ),
                "subscription_item": (
                    "TEXT",
                    _path("parent", "subscription_item_details", "subscription_item"),
                ),
                "proration": ("INTEGER", _path("parent", "subscription_item_details", "proration")),
                "price": ("TEXT", _path("pricing", "price_details", "price")),
                "product": ("TEXT", _path("pricing", "price_details", "product")),
                "period_start": ("INTEGER", _path("period", "start")),
                "period_end": ("INTEGER", _path("period", "end")),
                "metadata": ("TEXT", _json("metadata")),
            },
            indexes=("invoice", "subscription"),
            has_created=False,
            within=Within("invoices", "lines", "invoice"),
        ),
        Kind(
            "events",
            "event",
            "/v1/events",
            {
                "type": ("TEXT", _path("type")),
                "object_type": ("TEXT", _path("data", "object", "object")),
                "object_id": ("TEXT", _path("data", "object", "id")),
                "request_id": ("TEXT", _path("request", "id")),
                "api_version": ("TEXT", _path("api_version")),
            },
            indexes=("type", "object_id"),
        ),
    )
}
BY_OBJECT = {kind.object: kind for kind in KINDS.values()}
# Each parent type's child type: its objects come with their parents (cards, expanded).
CHILDREN = {kind.within.parent: kind for kind in KINDS.values() if kind.within}
# Filled by the sync, not read from the object: which payout swept a balance transaction.
ASSIGNED = {"balance_transactions": ("payout",)}


def kind(name: str) -> Kind:
    if name not in KINDS:
        raise WorkbenchError(f"unknown object type {name!r}: use one of {', '.join(KINDS)}")
    return KINDS[name]


def _schema() -> list[str]:
    statements = [
        """
        CREATE TABLE IF NOT EXISTS state (
            account TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (account, key))""",
        """
        CREATE TABLE IF NOT EXISTS codes (
            kind TEXT NOT NULL, column TEXT NOT NULL, value TEXT NOT NULL,
            code INTEGER NOT NULL, PRIMARY KEY (kind, column, value))""",
        """
        CREATE TABLE IF NOT EXISTS slices (
            id INTEGER PRIMARY KEY, account TEXT NOT NULL, kind TEXT NOT NULL,
            lo INTEGER NOT NULL, hi INTEGER NOT NULL, cursor TEXT,
            done INTEGER NOT NULL DEFAULT 0)""",
        # A by-day type's days, each with a random token drawn anew whenever a row of that
        # day is inserted (by `upsert`, a page at a time), updated or deleted (by triggers,
        # whoever writes): a copy of the day made under one token is the day's rows for as
        # long as the token stands.
        """
        CREATE TABLE IF NOT EXISTS changes (
            account TEXT NOT NULL, kind TEXT NOT NULL, day INTEGER NOT NULL,
            token INTEGER NOT NULL, PRIMARY KEY (account, kind, day)) WITHOUT ROWID""",
        # Each day's balance transactions summed per currency, kept as they are (`upsert`
        # adds new ones a page at a time, triggers follow updates and deletes): a balance at
        # any moment adds up days, not every transaction since the account began.
        """
        CREATE TABLE IF NOT EXISTS day_balances (
            account TEXT NOT NULL, day INTEGER NOT NULL, currency TEXT NOT NULL,
            count INTEGER NOT NULL, net INTEGER NOT NULL,
            PRIMARY KEY (account, day, currency)) WITHOUT ROWID""",
    ]
    for item in KINDS.values():
        assigned = ASSIGNED.get(item.name, ())
        columns = ", ".join(f"{name} {sql}" for name, (sql, _) in item.columns.items())
        extra = "".join(f", {name} TEXT" for name in assigned)
        extra += "".join(f", {name}_code INTEGER" for name in item.coded)
        # Rows are kept in `created` order, so a period is one sequential read; the unique
        # (account, id) index is what upserts match on. The objects' JSON lives in a table of
        # its own: a frame reads a million rows of columns without paging through a million
        # JSON documents (most of what a row would otherwise weigh).
        key = "account, created, id" if item.has_created else "account, id"
        statements.append(f"""
            CREATE TABLE IF NOT EXISTS {item.name} (
                account TEXT NOT NULL, id TEXT NOT NULL, created INTEGER NOT NULL, {columns}
                {extra}, PRIMARY KEY ({key})) WITHOUT ROWID""")
        statements.append(f"""
            CREATE TABLE IF NOT EXISTS {item.name}_data (
                account TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
                PRIMARY KEY (account, id)) WITHOUT ROWID""")
        statements.append(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {item.name}_id ON {item.name}(account, id)"
        )
        for column in item.indexes:
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {item.name}_{column} ON {item.name}(account, {column})"
            )
        if item.by_day:
            statements += _day_triggers(item.name)
    return statements + _balance_triggers()


def _day_triggers(table: str) -> list[str]:
    """A new token for the day of every row updated or deleted (both days, should an update
    move a row's `created`). An upsert, not INSERT OR REPLACE: the outer statement's conflict
    policy would override the trigger's. Inserts are noted by `Store.upsert`, once per page
    and day: a trigger per inserted row cost the sync a tenth of its speed."""

    def bump(row: str) -> str:
        return (
            f"INSERT INTO changes (account, kind, day, token) VALUES ({row}.account, '{table}', "
            f"{row}.created / {DAY}, random()) ON CONFLICT DO UPDATE SET token = excluded.token;"
        )

    moved = f"WHEN OLD.created / {DAY} != NEW.created / {DAY}"
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_updated AFTER UPDATE ON {table} "
        f"BEGIN {bump('NEW')} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_moved AFTER UPDATE ON {table} {moved} "
        f"BEGIN {bump('OLD')} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_deleted AFTER DELETE ON {table} "
        f"BEGIN {bump('OLD')} END",
    ]


def _balance_triggers() -> list[str]:
    """day_balances follows every balance transaction changed or deleted (`Store.upsert`
    adds the new ones)."""

    def add(row: str, sign: str) -> str:
        return (
            f"INSERT INTO day_balances (account, day, currency, count, net) VALUES "
            f"({row}.account, {row}.created / {DAY}, ifnull({row}.currency, ''), {sign}1, "
            f"{sign}ifnull({row}.net, 0)) ON CONFLICT DO UPDATE SET "
            "count = count + excluded.count, net = net + excluded.net;"
        )

    table = "balance_transactions"
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_resummed AFTER UPDATE OF created, currency, net "
        f"ON {table} BEGIN {add('OLD', '-')} {add('NEW', '')} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_unsummed AFTER DELETE ON {table} "
        f"BEGIN {add('OLD', '-')} END",
    ]


SCHEMA = _schema()
SCHEMA_VERSION = int(hashlib.sha256(";\n".join(SCHEMA).encode()).hexdigest()[:7], 16)


def _rebuild(conn: sqlite3.Connection) -> bool:
    """A store made by another version of the workbench is a cache of the API in another
    shape: it is emptied and made anew (the next sync fetches everything again). True if
    this connection did so."""
    conn.execute("BEGIN IMMEDIATE")
    rebuilt = False
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            rebuilt = True
            tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            for (table,) in tables:
                conn.execute(f'DROP TABLE "{table}"')
            for statement in SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return rebuilt


class Store:
    """The store file, with a connection per thread."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        self._writer = threading.RLock()  # a nested BEGIN fails as SQLite says, not hangs
        self._codes: dict[tuple[str, str], dict[str, int]] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn  # noqa: B018 - create the schema now
        except (OSError, sqlite3.Error) as exc:
            raise WorkbenchError(f"cannot open the store {self.path}: {exc}") from None

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION and _rebuild(
                conn
            ):
                shutil.rmtree(self.copies, ignore_errors=True)
            self._local.conn = conn
        return conn

    @property
    def copies(self) -> Path:
        """Where frames keep their columnar copies of the by-day types, beside the file."""
        return self.path.with_name(f"{self.path.name}-frames")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self):
        """A write transaction, taking the write lock at once (BEGIN IMMEDIATE). Threads of
        this process queue for it on a lock of ours: SQLite's busy handler would make them
        poll with sleeps of up to 100 ms, and the sync's page threads would spend most of
        their time asleep while the lock stood free."""
        conn = self.conn
        with self._writer:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                self._codes.clear()  # codes handed out in the undone transaction are gone too
                raise
            conn.execute("COMMIT")

    def upsert(self, kind_name: str, account: str, objects: Iterable[dict]) -> int:
        """Insert or replace objects by id (inside the caller's transaction)."""
        item = KINDS[kind_name]
        coded = item.coded
        positions = [list(item.columns).index(name) for name in coded]
        names = ["account", "id", "created", *item.columns, *(f"{c}_code" for c in coded)]
        updates = ", ".join(f"{name} = excluded.{name}" for name in names[2:])
        rows, documents = [], []
        for obj in objects:
            values = item.values(obj)
            codes = [
                self.code(kind_name, column, values[position])
                for column, position in zip(coded, positions, strict=True)
            ]
            rows.append(
                (
                    account,
                    obj["id"],
                    obj.get("created", 0),
                    *values,
                    *codes,
                )
            )
            documents.append((account, obj["id"], orjson.dumps(obj).decode()))
        if item.by_day:
            self._note_inserted(item, account, names, rows)
        self._insert(
            f"INSERT INTO {item.name} ({', '.join(names)})",
            f"ON CONFLICT DO UPDATE SET {updates}",
            rows,
        )
        self._insert(
            f"INSERT INTO {item.name}_data (account, id, data)",
            "ON CONFLICT DO UPDATE SET data = excluded.data",
            documents,
        )
        return len(rows)

    def _note_inserted(self, item: Kind, account: str, names: list[str], rows: list[tuple]) -> None:
        """Before `rows` (values of the columns `names`) are upserted: the days of those that
        are new draw new tokens, and new balance transactions add to their days' sums, in one
        statement each (rows that exist are updated, and the update triggers note them). An
        id twice in `rows` is inserted once, then updated."""
        ids = list({row[1]: None for row in rows})
        known = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            known.update(
                found
                for (found,) in self.conn.execute(
                    f"SELECT id FROM {item.name} WHERE account = ? "
                    f"AND id IN ({', '.join('?' * len(chunk))})",
                    [account, *chunk],
                )
            )
        new = {}
        for row in rows:
            if row[1] not in known:
                new.setdefault(row[1], row)
        days = sorted({row[2] // DAY for row in new.values()})
        self._insert(
            "INSERT INTO changes (account, kind, day, token)",
            "ON CONFLICT DO UPDATE SET token = excluded.token",
            [(account, item.name, day, secrets.randbits(63)) for day in days],
        )
        if item.name == "balance_transactions":
            currency, net = names.index("currency"), names.index("net")
            sums: dict[tuple[int, str], list[int]] = {}
            for row in new.values():
                summed = sums.setdefault((row[2] // DAY, row[currency] or ""), [0, 0])
                summed[0] += 1
                summed[1] += row[net] or 0
            self._insert(
                "INSERT INTO day_balances (account, day, currency, count, net)",
                "ON CONFLICT DO UPDATE SET "
                "count = count + excluded.count, net = net + excluded.net",
                [(account, day, code, count, net) for (day, code), (count, net) in sums.items()],
            )

    def _insert(self, head: str, tail: str, rows: list[tuple]) -> None:
        """Rows in as few statements as SQLite's parameter limit allows. executemany() would
        let go of the GIL at every row, and with other threads busy (the sync's fetching
        threads) each row would then wait up to a switch interval (5 ms) to get it back."""
        if not rows:
            return
        width = len(rows[0])
        per = max(1, self.conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
        marks = f"({', '.join('?' * width)})"
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            self.conn.execute(
                f"{head} VALUES {', '.join([marks] * len(chunk))} {tail}",
                [value for row in chunk for value in row],
            )

    def documents(self, kind_name: str, account: str, where: str = "", args=()) -> list[tuple]:
        """(id, JSON) of the stored objects of a type, filtered on its columns by `where`
        (SQL over the type's table, with `args`)."""
        name = KINDS[kind_name].name
        return self.conn.execute(
            f"SELECT o.id, d.data FROM {name} AS o JOIN {name}_data AS d "
            f"ON d.account = o.account AND d.id = o.id WHERE o.account = ? {where}",
            (account, *args),
        ).fetchall()

    def code(self, kind_name: str, column: str, value: str | None) -> int | None:
        """The integer code of a categorical value, assigned on first sight (inside the
        caller's write transaction, so two processes never give one code two meanings)."""
        if value is None:
            return None
        known = self._codes.setdefault((kind_name, column), {})
        if value not in known:
            row = self.conn.execute(
                "SELECT code FROM codes WHERE kind = ? AND column = ? AND value = ?",
                (kind_name, column, value),
            ).fetchone()
            if row is None:
                row = self.conn.execute(
                    "INSERT INTO codes (kind, column, value, code) SELECT ?, ?, ?, "
                    "COALESCE(MAX(code) + 1, 0) FROM codes WHERE kind = ? AND column = ? "
                    "RETURNING code",
                    (kind_name, column, value, kind_name, column),
                ).fetchone()
            known[value] = row[0]
        return known[value]

    def day_tokens(
        self, kind_name: str, account: str, first: int | None, last: int | None
    ) -> list[tuple[int, int]]:
        """(day, token) of each day of a by-day type in [first, last] (either open) that has
        ever held a row, in order."""
        clauses, args = ["account = ?", "kind = ?"], [account, kind_name]
        if first is not None:
            clauses.append("day >= ?")
            args.append(first)
        if last is not None:
            clauses.append("day <= ?")
            args.append(last)
        return self.conn.execute(
            f"SELECT day, token FROM changes WHERE {' AND '.join(clauses)} ORDER BY day", args
        ).fetchall()

    def categories(self, kind_name: str, column: str) -> list[str]:
        """The values of a coded column, position = code."""
        values = dict(
            self.conn.execute(
                "SELECT code, value FROM codes WHERE kind = ? AND column = ?", (kind_name, column)
            )
        )
        return [values[code] for code in range(len(values))]

    # what the sync asks of the store

    @contextmanager
    def sync_lock(self, account: str):
        """Held while one process syncs `account`: a second sync of it waits its turn, so
        two never write over each other (released by the OS if the process dies)."""
        digest = hashlib.sha256(account.encode()).hexdigest()[:16]
        path = self.path.with_name(f"{self.path.name}.sync-{digest}.lock")
        with path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def add_slice(self, account: str, kind_name: str, lo: int, hi: int) -> tuple:
        """A new slice of a type's `created` range to list: (kind, id, lo, hi, cursor)."""
        slice_id = self.conn.execute(
            "INSERT INTO slices (account, kind, lo, hi) VALUES (?, ?, ?, ?)",
            (account, kind_name, lo, hi),
        ).lastrowid
        return kind_name, slice_id, lo, hi, None

    def open_slices(self, account: str, kind_name: str) -> list[tuple]:
        return self.conn.execute(
            "SELECT kind, id, lo, hi, cursor FROM slices WHERE account = ? AND kind = ? "
            "AND done = 0",
            (account, kind_name),
        ).fetchall()

    def update_slice(self, slice_id: int, lo: int, hi: int, cursor: str | None, done: bool):
        self.conn.execute(
            "UPDATE slices SET lo = ?, hi = ?, cursor = ?, done = ? WHERE id = ?",
            (lo, hi, cursor, int(done), slice_id),
        )

    def drop_slices(self, account: str, kind_name: str) -> None:
        self.conn.execute("DELETE FROM slices WHERE account = ? AND kind = ?", (account, kind_name))

    def newest_created(self, kind_name: str, account: str) -> int | None:
        return self.conn.execute(
            f"SELECT MAX(created) FROM {KINDS[kind_name].name} WHERE account = ?", (account,)
        ).fetchone()[0]

    def earliest_created(self, kind_name: str, account: str) -> int | None:
        return self.conn.execute(
            f"SELECT MIN(created) FROM {KINDS[kind_name].name} WHERE account = ?", (account,)
        ).fetchone()[0]

    def created_of(self, kind_name: str, account: str, object_id: str) -> int | None:
        row = self.conn.execute(
            f"SELECT created FROM {KINDS[kind_name].name} WHERE account = ? AND id = ?",
            (account, object_id),
        ).fetchone()
        return row[0] if row else None

    def stored(self, kind_name: str, account: str, object_id: str) -> dict | None:
        """An object as stored, or None."""
        row = self.conn.execute(
            f"SELECT data FROM {KINDS[kind_name].name}_data WHERE account = ? AND id = ?",
            (account, object_id),
        ).fetchone()
        return orjson.loads(row[0]) if row else None

    def replace_children(self, kind_name: str, account: str, parent: str, children: list[dict]):
        """A parent's children (a customer's saved cards, a subscription's items, an
        invoice's lines) are exactly `children` (inside the caller's transaction)."""
        item = KINDS[kind_name]
        ids = [child["id"] for child in children]
        gone = [
            row[0]
            for row in self.conn.execute(
                f"SELECT id FROM {item.name} WHERE account = ? AND {item.within.column} = ? "
                f"AND id NOT IN ({', '.join('?' for _ in ids)})",
                (account, parent, *ids),
            )
        ]
        self._delete(kind_name, account, gone)
        self.upsert(kind_name, account, children)

    def remove(self, kind_name: str, account: str, object_id: str) -> None:
        """An object Stripe deleted (a product), and its children with it."""
        child = CHILDREN.get(kind_name)
        if child is not None:
            self.replace_children(child.name, account, object_id, [])
        self._delete(kind_name, account, [object_id])

    def _delete(self, kind_name: str, account: str, ids: list[str]) -> None:
        """Objects gone from the API, from both their tables."""
        name = KINDS[kind_name].name
        for table in (name, f"{name}_data"):
            self.conn.executemany(
                f"DELETE FROM {table} WHERE account = ? AND id = ?", [(account, i) for i in ids]
            )

    def mark_deleted(self, account: str, customers: Iterable[str]) -> None:
        """Customers Stripe deleted: kept as they last were, marked deleted, without cards."""
        for customer in customers:
            last = self.stored("customers", account, customer)
            if last is None:
                continue
            if not last.get("deleted"):
                self.upsert("customers", account, [{**last, "deleted": True}])
            self.replace_children("cards", account, customer, [])

    def payouts_to_itemize(self, account: str) -> list[str]:
        """Automatic payouts whose balance transactions are not yet known (every itemized
        payout has at least its own)."""
        return [
            row[0]
            for row in self.conn.execute(
                "SELECT id FROM payouts AS p WHERE account = ? AND automatic = 1 "
                "AND status IN ('paid', 'in_transit', 'pending', 'failed') AND NOT EXISTS "
                "(SELECT 1 FROM balance_transactions AS b WHERE b.account = p.account "
                "AND b.payout = p.id) ORDER BY created",
                (account,),
            )
        ]

    def balances(self, account: str, before: int) -> list[tuple[str, int]]:
        """(currency, sum of net) over every balance transaction created before `before`:
        the whole days before it from day_balances, the rest of its own day from the rows."""
        day = before // DAY
        return self.conn.execute(
            "SELECT currency, SUM(net) FROM ("
            " SELECT currency, count, net FROM day_balances WHERE account = ? AND day < ?"
            " UNION ALL SELECT ifnull(currency, ''), 1, ifnull(net, 0) FROM balance_transactions"
            " WHERE account = ? AND created >= ? AND created < ?"
            ") GROUP BY currency HAVING SUM(count) > 0 ORDER BY currency",
            (account, day, account, day * DAY, before),
        ).fetchall()

    def oldest_pending(self, account: str) -> int | None:
        return self.conn.execute(
            "SELECT MIN(created) FROM balance_transactions WHERE account = ? "
            "AND status = 'pending'",
            (account,),
        ).fetchone()[0]

    def events_since(self, account: str, low: int, types: list[str]) -> list[dict]:
        """Stored events of these types created from `low`, oldest first."""
        marks = ", ".join("?" for _ in types)
        rows = self.documents(
            "events",
            account,
            f"AND o.created >= ? AND o.type IN ({marks}) ORDER BY o.created, o.id",
            (low, *types),
        )
        return [orjson.loads(data) for _, data in rows]

    def assign_payout(self, account: str, payout: str, transaction_ids: list[str]) -> None:
        self.conn.executemany(
            "UPDATE balance_transactions SET payout = ? WHERE account = ? AND id = ?",
            [(payout, account, txn) for txn in transaction_ids],
        )

    def get_state(self, account: str, key: str, default=None):
        row = self.conn.execute(
            "SELECT value FROM state WHERE account = ? AND key = ?", (account, key)
        ).fetchone()
        return orjson.loads(row[0]) if row else default

    def set_state(self, account: str, key: str, value) -> None:
        self.conn.execute(
            "INSERT INTO state (account, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT(account, key) DO UPDATE SET value = excluded.value",
            (account, key, orjson.dumps(value).decode()),
        )

    def count(self, kind_name: str, account: str) -> int:
        return self.conn.execute(
            f"SELECT COUNT(*) FROM {KINDS[kind_name].name} WHERE account = ?", (account,)
        ).fetchone()[0]

    def ids(self, kind_name: str, account: str) -> set[str]:
        return {
            row[0]
            for row in self.conn.execute(
                f"SELECT id FROM {KINDS[kind_name].name} WHERE account = ?", (account,)
            )
        }
