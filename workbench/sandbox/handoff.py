"""An account's changes carried from one SQLite file into another, a day at a time: how a
seed split across two processes (seed.py) brings its second part's history into the account.

The sending side watches its file with temporary triggers, so every way a model writes (an
insert, an update, a deleted stub, sandbox-only facts) is caught without the models knowing.
A change of `due` alone is not carried: the receiving side runs the clock for the ledger
only, so the second part's objects arrive with no due instant (the clock that moves them
runs in their own process), and `dues` hands over the instants still ahead at the end.
A balance transaction is the exception: it is sent the day it is written, due at its
`available_on`, which comes at a midnight after that day; the receiving side's ledger makes
it available and pays it out (its `payout` is never carried). With no ledger running on the
sending side, it is sent once, as written, and never overwrites what that ledger did to it.
Changed rows are noted by `seq`, so they are read back in the order they were made.
"""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path

from workbench.sandbox.state import FILTERS

CARRIED = ("object", "created", *FILTERS, "private", "data")  # what an update carries
COLUMNS = ("id", *CARRIED[:-2], "payout", "due", *CARRIED[-2:])
_PLACES = ", ".join("?" for _ in COLUMNS)
_WATCH = f"""
CREATE TEMP TABLE IF NOT EXISTS changed (seq INTEGER PRIMARY KEY);
CREATE TEMP TABLE IF NOT EXISTS deleted (id TEXT);
CREATE TEMP TRIGGER IF NOT EXISTS changed_by_insert AFTER INSERT ON main.objects
BEGIN INSERT OR IGNORE INTO changed VALUES (new.seq); END;
CREATE TEMP TRIGGER IF NOT EXISTS changed_by_update AFTER UPDATE OF {", ".join(CARRIED)}
ON main.objects BEGIN INSERT OR IGNORE INTO changed VALUES (new.seq); END;
CREATE TEMP TRIGGER IF NOT EXISTS changed_by_delete AFTER DELETE ON main.objects
BEGIN INSERT INTO deleted VALUES (old.id); END;
"""
_CHANGED_ROWS = (
    f"SELECT {', '.join(COLUMNS[:-4])}, NULL, "
    "CASE WHEN object = 'balance_transaction' THEN due END, private, data "
    "FROM temp.changed CROSS JOIN objects USING (seq) ORDER BY seq"
)
_UPSERT = (
    f"INSERT INTO objects ({', '.join(COLUMNS)}) VALUES ({_PLACES}) ON CONFLICT(id) DO UPDATE "
    f"SET {', '.join(f'{name} = excluded.{name}' for name in CARRIED)}"
)

Changes = tuple[list[tuple], list[str]]  # rows in COLUMNS' order, and the ids deleted


def watch(conn: sqlite3.Connection) -> None:
    """Start noting which objects change (on this connection only)."""
    conn.executescript(_WATCH)


def collect(conn: sqlite3.Connection) -> Changes:
    """What changed since the last collect, read inside the writer's transaction: the rows
    as they stand now, oldest first, and the ids deleted."""
    rows = conn.execute(_CHANGED_ROWS).fetchall()
    gone = [row[0] for row in conn.execute("SELECT id FROM temp.deleted")]
    conn.execute("DELETE FROM temp.changed")
    conn.execute("DELETE FROM temp.deleted")
    return rows, gone


def send(conn: sqlite3.Connection, path: Path) -> None:
    """Collect the changes into the file `path` (through a file, not a pipe: a pipe copies
    a history's gigabytes three more times)."""
    with path.open("wb") as stream:
        pickle.dump(collect(conn), stream, protocol=pickle.HIGHEST_PROTOCOL)


def receive(conn: sqlite3.Connection, path: Path) -> None:
    """Apply the changes sent into `path`, and remove it."""
    with path.open("rb") as stream:
        changes = pickle.load(stream)
    path.unlink()
    apply(conn, changes)


def apply(conn: sqlite3.Connection, changes: Changes) -> None:
    """Write collected changes into this file (inside the caller's transaction); a new
    object gets this file's next `seq`, so lists keep the order they were made in."""
    rows, gone = changes
    conn.executemany(_UPSERT, rows)
    conn.executemany("DELETE FROM objects WHERE id = ?", [(object_id,) for object_id in gone])


def dues(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    """The due instants still ahead, except the ledger's, as `restore` takes them."""
    return conn.execute(
        "SELECT due, id FROM objects INDEXED BY objects_due "
        "WHERE due IS NOT NULL AND object != 'balance_transaction'"
    ).fetchall()


def restore(conn: sqlite3.Connection, instants: list[tuple[int, str]]) -> None:
    conn.executemany("UPDATE objects SET due = ? WHERE id = ?", instants)
