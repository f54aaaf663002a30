"""Upserts write pages in few statements; what SQLite's parameter limit cuts apart still
lands whole, and a later version of an object replaces the earlier one. The threads of a
process queue for the write lock on a lock of ours, which must not turn a nested
transaction (a bug) into a hang."""

from __future__ import annotations

import sqlite3

import orjson
import pytest

from workbench.store import Store


def charge(number: int, amount: int) -> dict:
    return {
        "id": f"ch_{number}",
        "object": "charge",
        "created": 1_700_000_000 + number,
        "amount": amount,
        "currency": "usd",
        "status": "succeeded",
    }


def test_a_page_larger_than_one_statement_allows_lands_whole(tmp_path):
    store = Store(tmp_path / "store.sqlite3")
    store.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 70)  # a few rows per statement
    page = [charge(n, 100 + n) for n in range(25)]
    page.append(charge(3, 999))  # the same charge again later in the page: the later wins
    with store.transaction():
        store.upsert("charges", "acct", page)
    rows = store.conn.execute("SELECT id, amount FROM charges ORDER BY created").fetchall()
    assert len(rows) == 25
    assert dict(rows)["ch_3"] == 999
    assert dict(rows)["ch_24"] == 124
    (data,) = store.conn.execute("SELECT data FROM charges_data WHERE id = 'ch_3'").fetchone()
    assert orjson.loads(data)["amount"] == 999


def test_a_nested_write_transaction_fails_at_once_and_the_outer_one_commits(tmp_path):
    store = Store(tmp_path / "store.sqlite3")
    with store.transaction():
        store.upsert("charges", "acct", [charge(1, 100)])
        with (
            pytest.raises(sqlite3.OperationalError, match="within a transaction"),
            store.transaction(),
        ):
            store.upsert("charges", "acct", [charge(2, 200)])
    assert Store(tmp_path / "store.sqlite3").count("charges", "acct") == 1
