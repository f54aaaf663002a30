"""An account's state in SQLite: every API object as its JSON, plus the columns lists filter on.

One file per account under `<data dir>/sandbox/`. WAL and a busy timeout let several server
processes and threads share it; every write runs in one `BEGIN IMMEDIATE` transaction, so a
request is applied whole or not at all. Objects are stored exactly as the API returns them,
which lets a list answer splice stored JSON without parsing it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    object TEXT NOT NULL,
    created INTEGER NOT NULL,
    customer TEXT, charge TEXT, payment_intent TEXT, source TEXT, payout TEXT,
    status TEXT, type TEXT, email TEXT, currency TEXT, net INTEGER,
    due INTEGER,
    private TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_list ON objects(object, created, seq);
CREATE INDEX IF NOT EXISTS objects_customer ON objects(customer) WHERE customer IS NOT NULL;
CREATE INDEX IF NOT EXISTS objects_charge ON objects(charge) WHERE charge IS NOT NULL;
CREATE INDEX IF NOT EXISTS objects_payment_intent ON objects(payment_intent)
    WHERE payment_intent IS NOT NULL;
CREATE INDEX IF NOT EXISTS objects_payout ON objects(payout) WHERE payout IS NOT NULL;
CREATE INDEX IF NOT EXISTS objects_due ON objects(due) WHERE due IS NOT NULL;
CREATE INDEX IF NOT EXISTS objects_unpaid ON objects(currency, status, created, net)
    WHERE object = 'balance_transaction' AND payout IS NULL;
CREATE INDEX IF NOT EXISTS objects_balance ON objects(currency, status, net)
    WHERE object = 'balance_transaction';
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
    body TEXT NOT NULL, request_id TEXT NOT NULL, created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY, event TEXT NOT NULL, endpoint TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', last_status INTEGER, claimed_until REAL
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries(next_attempt)
    WHERE status = 'pending';
"""

REFERENCES = ("customer", "charge", "payment_intent", "source")
FILTERS = (*REFERENCES, "status", "type", "email", "currency", "net")
INSERT = (
    f"INSERT INTO objects (id, object, created, {', '.join(FILTERS)}, payout, due, private, data) "
    f"VALUES ({', '.join('?' for _ in range(len(FILTERS) + 7))})"
)
CACHE_KIB = 131072  # 128 MiB per connection, a ceiling: SQLite grows into it


def dumps(obj) -> str:
    """The one JSON encoding of the API: compact, UTF-8, keys sorted as Stripe sends them."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


loads = orjson.loads


def _reference(value) -> str | None:
    """The id in an id-or-expanded-object field (None for anything else)."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


class AccountState:
    """One sandbox account's SQLite file, with a connection per thread (the workbench's
    local copy of an account is the other thing, `workbench.store.Store`)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.conn  # noqa: B018 - create the schema now, not inside the first request

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=60, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            self._local.conn = conn
            self._local.depth = 0
            conn.executescript(SCHEMA)
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self, write: bool = True):
        """A transaction; nested calls join the outer one. Writes take the lock up front so
        that a read-then-write never fails with SQLITE_BUSY half-way."""
        conn = self.conn
        if self._local.depth:
            self._local.depth += 1
            try:
                yield conn
            finally:
                self._local.depth -= 1
            return
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        self._local.depth = 1
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            self._local.depth = 0

    # objects

    def get(self, object_id_: str, kind: str | None = None) -> dict | None:
        row = self.conn.execute(
            "SELECT object, data FROM objects WHERE id = ?", (object_id_,)
        ).fetchone()
        if row is None or (kind is not None and row[0] != kind):
            return None
        return loads(row[1])

    def with_private(self, object_id_: str, kind: str) -> tuple[dict | None, dict]:
        """The object and its sandbox-only facts, in one read."""
        row = self.conn.execute(
            "SELECT object, data, private FROM objects WHERE id = ?", (object_id_,)
        ).fetchone()
        if row is None or row[0] != kind:
            return None, {}
        return loads(row[1]), loads(row[2]) if row[2] else {}

    def private(self, object_id_: str) -> dict:
        """Sandbox-only facts about an object that the API never shows (a card's test number)."""
        row = self.conn.execute(
            "SELECT private FROM objects WHERE id = ?", (object_id_,)
        ).fetchone()
        return loads(row[0]) if row and row[0] else {}

    def raw(self, object_id_: str) -> str | None:
        row = self.conn.execute("SELECT data FROM objects WHERE id = ?", (object_id_,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _filters(obj: dict) -> tuple:
        """The FILTERS columns, read from the object's own fields (ids of references)."""
        get = obj.get
        kind = get("type")
        return (
            *(_reference(get(name)) for name in REFERENCES),
            get("status"),
            kind if isinstance(kind, str) else None,
            get("email"),
            get("currency"),
            get("net"),
        )

    def insert(
        self,
        obj: dict,
        private: dict | None = None,
        created: int | None = None,
        *,
        payout: str | None = None,
        due: int | None = None,
    ) -> dict:
        """Store a new object; `created` orders objects that have no such field (cards).
        One constant statement: the seed inserts millions."""
        self.conn.execute(
            INSERT,
            (
                obj["id"],
                obj["object"],
                obj.get("created", created),
                *self._filters(obj),
                payout,
                due,
                dumps(private) if private else None,
                dumps(obj),
            ),
        )
        return obj

    def update(self, obj: dict, **extra) -> dict:
        names = (*FILTERS, *extra)
        self.conn.execute(
            f"UPDATE objects SET {', '.join(f'{name} = ?' for name in names)}, data = ? "
            "WHERE id = ?",
            (*self._filters(obj), *extra.values(), dumps(obj), obj["id"]),
        )
        return obj

    def replace(self, object_id_: str, obj: dict, kind: str) -> None:
        """Swap an object for its deleted stub: kept for retrieval, gone from lists."""
        self.conn.execute(
            "UPDATE objects SET object = ?, data = ?, due = NULL WHERE id = ?",
            (kind, dumps(obj), object_id_),
        )

    def delete(self, object_id_: str) -> None:
        self.conn.execute("DELETE FROM objects WHERE id = ?", (object_id_,))

    # settings

    def setting(self, name: str, default=None):
        row = self.conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return loads(row[0]) if row else default

    def set_setting(self, name: str, value) -> None:
        self.conn.execute(
            "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) "
            "DO UPDATE SET value = excluded.value",
            (name, dumps(value)),
        )

    def now(self) -> int:
        """Sandbox time: real time plus the offset `advance` added, or a frozen instant."""
        clock = self.setting("clock", {"offset": 0, "frozen": None})
        if clock.get("frozen") is not None:
            return int(clock["frozen"])
        return int(time.time()) + int(clock["offset"])
