"""An account's state in SQLite: every API object as its JSON, plus the columns lists filter on.

One file per account under `<data dir>/sandbox/`. WAL and a busy timeout let several server
processes and threads share it; every write runs in one `BEGIN IMMEDIATE` transaction, so a
request is applied whole or not at all. Objects are stored laid out as the API returns them
inside a list (Stripe's layout, four spaces in), which lets a list answer splice stored JSON
without parsing or re-indenting it.
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
_REFERENCES, _TYPE = len(REFERENCES), FILTERS.index("type")  # where they are among FILTERS
_PLAIN = frozenset((str, type(None)))
INSERT = (
    f"INSERT INTO objects (id, object, created, {', '.join(FILTERS)}, payout, due, private, data) "
    f"VALUES ({', '.join('?' for _ in range(len(FILTERS) + 7))})"
)
CACHE_KIB = 131072  # 128 MiB per connection, a ceiling: SQLite grows into it
# A charge as stored is about 6.4 KB: on 4 KiB pages each spills into an overflow page.
# On 16 KiB pages it fits, and a seed writes fewer, larger pages (13% quicker at 100,000
# balance transactions). A file keeps the page size it was made with.
PAGE_SIZE = 16384
# The sqlite3 module binds None only after looking for an adapter for it, which raises (and
# formats) two AttributeErrors per None; an insert binds about eight. An adapter of None's
# own ends the search at once: 4% of a seed's instructions.
sqlite3.register_adapter(type(None), lambda none: none)


INDENTED = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
ITEM_INDENT = "    "  # where a list's items sit: inside `"data": [` of a top-level object
_BEFORE_ITEM = len('{\n  "data": [\n' + ITEM_INDENT)
_AFTER_ITEM = len("\n  ]\n}")
_FIRST_KEYS = ("id", "object")  # Stripe's first keys, in its order; the others are sorted


def _key_line(text: str, position: int) -> tuple[int, int, str] | None:
    """(start, end, indent) of the line whose key starts at `position`, or None when the
    match is inside a key name or the value spans lines. No string holds a raw newline,
    so lines are structure."""
    start = text.rfind("\n", 0, position)
    end = text.find("\n", position)
    indent = text[start + 1 : position]
    if not indent or indent.strip(" ") or text[end - 1] in "{[":
        return None
    return start, end, indent


def _hoisted(text: str) -> str:
    """Indented JSON with sorted keys, with the `object` and then the `id` line of each
    object moved to its top. A key line starts with its indent, and its object opens at the
    last `{` before it that a line of that indent follows. Moving a line keeps the text's
    length, so later positions stay valid."""
    for key in ('"object": ', '"id": '):
        position = text.find(key)
        while position != -1:
            line = _key_line(text, position)
            if line is not None:
                start, end, indent = line
                opening = text.rfind("{\n" + indent + '"', 0, position + 1)
                if opening < start - 1:  # not the object's first line yet
                    top, moved = opening + 1, text[start:end]
                    if moved.endswith(","):
                        text = "".join((text[:top], moved, text[top:start], text[end:]))
                    else:  # the object's last key: the comma before it comes along
                        text = "".join((text[:top], moved, ",", text[top : start - 1], text[end:]))
            position = text.find(key, position + 1)
    return text


def _laid_out(value, indent: str, *, item: bool = False) -> str:
    """`value` in Stripe's layout, its keys at `indent`. The top-level `id` and `object`
    (the only ones most objects have) are written first by hand; orjson sorts the rest, and
    objects nested inside it (an event's data.object, a charge's card) are fixed by text."""
    lines = []
    if isinstance(value, dict) and ("id" in value or "object" in value):
        value = dict(value)
        for key in _FIRST_KEYS:
            if isinstance(value.get(key), str):
                lines.append(f'\n{indent}"{key}": {orjson.dumps(value.pop(key)).decode()}')
    text = orjson.dumps({"data": [value]} if item else value, option=INDENTED).decode()
    if item:
        text = text[_BEFORE_ITEM:-_AFTER_ITEM]
    if text.find('"object": ') != -1 or text.find('"id": ') != -1:
        text = _hoisted(text)
    if lines:
        rest = "," + text[1:] if value else text[1:-1] + "\n" + indent[2:] + "}"
        text = "{" + ",".join(lines) + rest
    return text


def dumps(value) -> str:
    """An answer (or a value in one) as Stripe lays it out: indented by two, `id` and
    `object` first in every object, the other keys sorted."""
    return _laid_out(value, "  ")


def compact(value) -> str:
    """Compact sorted JSON, for what only the sandbox reads (settings, private facts)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def stored(obj: dict) -> str:
    """An API object as it is stored: laid out as it sits among a list's `data`. The models
    make every object in Stripe's order (`id` and `object` first, the rest sorted), so one
    orjson call lays it out; a test holds this to `dumps`, which sorts and hoists whatever
    it is given. (A million-object seed writes several million of these: orjson indents
    the object as an item of a list, and the item is cut out, which is quicker than
    adding the indent to each line afterwards.)"""
    text = orjson.dumps({"data": [obj]}, option=orjson.OPT_INDENT_2)
    return text[_BEFORE_ITEM:-_AFTER_ITEM].decode()


def as_item(raw: bytes) -> bytes:
    """A stored row (as bytes), ready to splice into a list; rows stored otherwise (by SQL's
    json_set, or before this layout) are laid out again."""
    return raw if raw.startswith(b"{\n") else stored(loads(raw)).encode()


def as_answer(text: str) -> str:
    """Stored text as an answer of its own (a webhook's body): four spaces out."""
    text = text if text.startswith("{\n") else stored(loads(text))
    return text.replace("\n" + ITEM_INDENT, "\n")


def field_update(name: str, old, new) -> tuple[str, tuple]:
    """SQL (and its arguments) that sets a top-level string field of `data` from `old` to
    `new` keeping the stored layout, which SQLite's json_set would make compact."""
    line = f"\n{ITEM_INDENT}  {compact(name)}: "
    return (
        "CASE WHEN substr(data, 1, 2) = '{' || char(10) THEN replace(data, ?, ?) "
        "ELSE json_set(data, ?, json(?)) END",
        (line + compact(old), line + compact(new), f"$.{name}", compact(new)),
    )


loads = orjson.loads


def _reference(value) -> str | None:
    """The id in an id-or-expanded-object field (None for anything else)."""
    if value is None or value.__class__ is str:
        return value
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
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before WAL writes the header
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

    def set_private(self, object_id_: str, private: dict | None) -> None:
        """Replace an object's sandbox-only facts (None: it has none)."""
        self.conn.execute(
            "UPDATE objects SET private = ? WHERE id = ?",
            (compact(private) if private else None, object_id_),
        )

    def raw(self, object_id_: str) -> str | None:
        row = self.conn.execute("SELECT data FROM objects WHERE id = ?", (object_id_,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _filters(obj: dict) -> list:
        """The FILTERS columns, read from the object's own fields: references as ids, and
        `type` only where it is text. (Nearly always all of them are text or null already,
        which one pass over their types tells.)"""
        values = list(map(obj.get, FILTERS))
        if not _PLAIN.issuperset(map(type, values[: _TYPE + 1])):
            values[:_REFERENCES] = map(_reference, values[:_REFERENCES])
            values[_TYPE] = values[_TYPE] if isinstance(values[_TYPE], str) else None
        return values

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
                compact(private) if private else None,
                stored(obj),
            ),
        )
        return obj

    def update(self, obj: dict, **extra) -> dict:
        names = (*FILTERS, *extra)
        self.conn.execute(
            f"UPDATE objects SET {', '.join(f'{name} = ?' for name in names)}, data = ? "
            "WHERE id = ?",
            (*self._filters(obj), *extra.values(), stored(obj), obj["id"]),
        )
        return obj

    def replace(self, object_id_: str, obj: dict, kind: str) -> None:
        """Swap an object for its deleted stub: kept for retrieval, gone from lists."""
        self.conn.execute(
            "UPDATE objects SET object = ?, data = ?, due = NULL WHERE id = ?",
            (kind, stored(obj), object_id_),
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
            (name, compact(value)),
        )

    def delete_setting(self, name: str) -> None:
        self.conn.execute("DELETE FROM settings WHERE name = ?", (name,))

    def now(self) -> int:
        """Sandbox time: real time plus the offset `advance` added, or a frozen instant."""
        clock = self.setting("clock", {"offset": 0, "frozen": None})
        if clock.get("frozen") is not None:
            return int(clock["frozen"])
        return int(time.time()) + int(clock["offset"])
