"""A store written by another version of the workbench is rebuilt, not misread."""

from __future__ import annotations

import sqlite3

from workbench.store import SCHEMA_VERSION, Store


def test_a_store_of_another_shape_is_made_anew(tmp_path):
    path = tmp_path / "store.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE charges (account TEXT, id TEXT, amount INTEGER)")
        old.execute("INSERT INTO charges VALUES ('acct', 'ch_old', 100)")
        old.execute("PRAGMA user_version = 1")
    store = Store(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.count("charges", "acct") == 0
    columns = {row[1] for row in store.conn.execute("PRAGMA table_info(charges)")}
    assert "statement_descriptor_suffix" in columns
    documents = {row[1] for row in store.conn.execute("PRAGMA table_info(charges_data)")}
    assert documents == {"account", "id", "data"}
    with store.transaction():
        store.set_state("acct", "kept", 1)
    assert Store(path).get_state("acct", "kept") == 1  # the same version is left alone
