"""The columnar copy frames keep of charges and balance transactions: a day read once is read
again from its copy, and any write to that day (a row the store inserts, an update or delete
by any writer) makes the next frame read it from SQLite again. The figures expected come
from the official client, never from a frame."""

from __future__ import annotations

import shutil
import sqlite3

import pandas as pd
import pytest

from tests.store_vs_api import connect
from workbench import frames
from workbench.store import Store


@pytest.fixture
def wb(sandbox_server, account_key, tmp_path, raw):
    """Two charges at noon (UTC) of one day, a third two days later: two days of charges,
    however near midnight the test runs."""
    now = raw("GET", "/_sandbox/clock").json()["now"]
    noon = now - now % 86400 + 86400 // 2
    raw("POST", "/_sandbox/clock/freeze", {"at": str(noon if noon >= now else noon + 86400)})
    session = connect(sandbox_server.url, account_key, tmp_path)
    c = session.client.v1
    for amount in (1000, 2000):
        c.charges.create(params={"amount": amount, "currency": "usd", "source": "tok_visa"})
    raw("POST", "/_sandbox/clock/advance", {"days": "2"})
    c.charges.create(params={"amount": 3000, "currency": "eur", "source": "tok_visa"})
    session.sync(progress=False, rate=1000)
    return session


def days_read(store: Store, table: str):
    """Count the frame queries SQLite runs against `table` (a day each, when copying)."""
    seen = []
    store.conn.set_trace_callback(
        lambda sql: seen.append(sql) if "group_concat" in sql and f"FROM {table} " in sql else None
    )
    return seen


def listed(wb) -> pd.DataFrame:
    charges = wb.client.v1.charges.list(params={"limit": 100}).data
    return pd.DataFrame(
        {"id": [c.id for c in charges], "amount_refunded": [c.amount_refunded for c in charges]}
    ).sort_values("id", ignore_index=True)


def seen(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["id", "amount_refunded"]].sort_values("id", ignore_index=True)


def test_a_day_is_read_from_its_copy_until_it_changes(wb):
    reads = days_read(wb.store, "charges")
    first = wb.frame("charges")
    assert len(reads) == 2  # two days hold charges, each read from SQLite and copied
    assert first["created"].dt.hour.tolist() == [12, 12, 12]
    pd.testing.assert_frame_equal(seen(first), listed(wb), check_dtype=False)
    reads.clear()
    again = wb.frame("charges")
    assert reads == []
    pd.testing.assert_frame_equal(again, first)

    oldest = first.iloc[0]
    wb.client.v1.refunds.create(params={"charge": oldest["id"], "amount": 400})
    wb.sync(progress=False, rate=1000)
    after = wb.frame("charges")
    pd.testing.assert_frame_equal(seen(after), listed(wb), check_dtype=False)
    assert after.set_index("id").loc[oldest["id"], "amount_refunded"] == 400


def test_any_writer_invalidates_the_day_it_touches(wb):
    frame = wb.frame("charges")
    first, last = frame["id"].iloc[0], frame["id"].iloc[-1]
    other = sqlite3.connect(wb.store.path, isolation_level=None)
    other.execute("UPDATE charges SET amount_refunded = 7 WHERE id = ?", (first,))
    reads = days_read(wb.store, "charges")
    assert wb.frame("charges").set_index("id").loc[first, "amount_refunded"] == 7
    assert (
        len(reads) == 1
        and f"created >= {frame['created'].iloc[0].normalize().value // 10**9} " in reads[0]
    )

    # A row moved to another day leaves the old day's copy and joins the new day's.
    moved = int(frame["created"].iloc[-1].timestamp()) + 5 * 86400
    other.execute("UPDATE charges SET created = ? WHERE id = ?", (moved, first))
    after = wb.frame("charges")
    assert after["id"].iloc[-1] == first and after["id"].tolist().count(first) == 1
    assert after["id"].iloc[-2] == last

    other.execute("DELETE FROM charges WHERE id = ?", (first,))
    assert first not in set(wb.frame("charges")["id"])
    assert len(wb.frame("charges")) == len(frame) - 1


def test_a_frame_is_one_snapshot_of_the_store(wb):
    """A write committed while a frame is being read is not half in it: the frame is the
    store as it was when the read began, and the next frame has the write."""
    frame = wb.frame("charges", columns=["amount"])
    shutil.rmtree(wb.store.copies)
    target = frame["id"].iloc[-1]  # on the later day, read after the first
    other = sqlite3.connect(wb.store.path, isolation_level=None)
    written = []

    def write_while_reading(sql: str) -> None:
        if "group_concat" in sql and not written:
            written.append(sql)
            other.execute("UPDATE charges SET amount = 1 WHERE id = ?", (target,))

    wb.store.conn.set_trace_callback(write_while_reading)
    during = wb.frame("charges", columns=["amount"])
    wb.store.conn.set_trace_callback(None)
    assert written
    pd.testing.assert_frame_equal(during, frame)
    assert wb.frame("charges", columns=["amount"]).set_index("id").loc[target, "amount"] == 1


def test_a_damaged_copy_is_made_again(wb):
    frame = wb.frame("charges")
    copies = sorted(wb.store.copies.rglob("*.pickle"))
    assert len(copies) == 2
    for path in copies:
        path.write_bytes(b"not a copy")
    pd.testing.assert_frame_equal(wb.frame("charges"), frame)
    assert all(path.read_bytes() != b"not a copy" for path in copies)


def test_periods_and_columns_cut_from_whole_days(wb):
    listed = wb.client.v1.balance_transactions.list(params={"limit": 100}).data
    created = {t.id: t.created for t in listed}
    cut = min(created.values()) + 1  # within the first day, a second after its first moment
    after = {i for i, moment in created.items() if moment >= cut}
    assert 0 < len(after) < len(created)
    later = wb.frame("balance_transactions", start=cut)
    assert set(later["id"]) == after
    assert set(wb.frame("balance_transactions", end=cut)["id"]) == set(created) - after
    narrow = wb.frame("balance_transactions", start=cut, columns=["amount"])
    assert narrow.columns.tolist() == ["id", "created", "amount"]
    amounts = {t.id: t.amount for t in listed}
    assert dict(zip(narrow["id"], narrow["amount"], strict=True)) == {i: amounts[i] for i in after}
    assert wb.frame("balance_transactions", "2001-01-01", "2001-02-01").empty


def test_metadata_keys_some_days_lack_are_null_there(wb):
    c = wb.client.v1
    tagged = c.charges.create(
        params={
            "amount": 500,
            "currency": "usd",
            "source": "tok_visa",
            "metadata": {"order_id": "M-1"},
        }
    )
    wb.sync(progress=False, rate=1000)
    frame = wb.frame("charges")
    orders = dict(zip(frame["id"], frame["metadata.order_id"], strict=True))
    assert orders.pop(tagged.id) == "M-1"
    assert len(orders) == 3 and set(orders.values()) == {None}
    pd.testing.assert_frame_equal(wb.frame("charges"), frame)


def test_a_rebuilt_store_drops_its_copies(wb):
    wb.frame("charges")
    assert any(wb.store.copies.rglob("*.pickle"))
    with sqlite3.connect(wb.store.path) as other:
        other.execute("PRAGMA user_version = 1")
    Store(wb.store.path)
    assert not wb.store.copies.exists()


def test_filtered_frames_read_sqlite(wb):
    reads = days_read(wb.store, "charges")
    assert len(wb.frame("charges", currency="eur")) == 1
    assert len(reads) == 1 and "currency" in reads[0]
    assert not wb.store.copies.exists()
    usd = frames.load(wb.store, wb.partition(), "charges", currency="usd")
    assert sorted(usd["amount"]) == [1000, 2000]


def test_texts_repeated_in_a_day_come_back_as_they_were(wb):
    """A day's copy keeps a text with few distinct values once per value (a customer, a
    description); read again, each row has its own value back, a missing one as None."""
    c = wb.client.v1
    customer = c.customers.create(params={"source": "tok_visa"})
    for description in ("Order 7", "Order 7", "Order 8"):
        c.charges.create(
            params={
                "amount": 500,
                "currency": "usd",
                "customer": customer.id,
                "description": description,
            }
        )
    wb.sync(progress=False, rate=1000)
    listed = {
        charge.id: (charge.customer, charge.description)
        for charge in c.charges.list(params={"limit": 100}).data
    }
    wb.frame("charges")  # the copies made
    reads = days_read(wb.store, "charges")
    again = wb.frame("charges")
    assert reads == []
    found = {
        row.id: (row.customer, row.description)
        for row in again[["id", "customer", "description"]].itertuples()
    }
    assert found == listed
    assert list(found.values()).count((customer.id, "Order 7")) == 2
