"""Order matching, and reading the orders file, on orders worked out by hand."""

from __future__ import annotations

import pytest

from tests.analyses.handmade import Handmade, at, charge
from workbench import imports
from workbench.analyses import orders
from workbench.imports import FileError, read_orders

ORDERS = """order_id,created,amount,currency,status
O1,2026-10-01T10:00:00Z,10.50,USD,paid
O2,2026-10-01T11:00:00Z,1000,JPY,paid
O3,2026-10-01T12:00:00Z,1.234,KWD,paid
O4,2026-10-01T13:00:00Z,5.000,KWD,paid
O5,2026-10-02T10:00:00Z,20.00,USD,paid
O6,2026-10-02T11:00:00Z,15.00,USD,paid
O7,2026-10-02T12:00:00Z,30.00,EUR,paid
O8,2026-10-02T13:00:00Z,30.00,EUR,refunded
O9,2026-10-03T10:00:00Z,40.00,USD,paid
O10,2026-10-03T11:00:00Z,25.00,USD,authorized
O11,2026-10-03T12:00:00Z,30.00,USD,paid
O12,2026-10-03T13:00:00Z,9.99,USD,cancelled
O13,2026-10-04T10:00:00Z,20.00,USD,paid
"""
DAY = at(2026, 10, 1)


@pytest.fixture(params=["as read", "numbered once"])
def matched(tmp_path, request):
    """Matched as a notebook would, and as the monthly review does (both frames numbered
    once, then matched two ways): the same hand-worked answers either way."""
    (tmp_path / "orders.csv").write_text(ORDERS)
    made = Handmade(tmp_path).add(
        "charges",
        charge("ch_o1", DAY, 1050, order="O1"),
        charge("ch_o2", DAY, 1000, "jpy", order="O2"),
        charge("ch_o3", DAY, 1234, "kwd", order="O3"),
        charge("ch_o4", DAY, 4990, "kwd", order="O4"),
        charge("ch_o6a", DAY, 1500, order="O6"),
        charge("ch_o6b", DAY + 60, 1500, order="O6"),
        charge("ch_o7", DAY, 3000, "eur", order="O7", refunded=3000),
        charge("ch_o8", DAY, 3000, "eur", order="O8", refunded=3000),
        charge("ch_o9", DAY, 4000, order="O9", refunded=1500),
        charge("ch_o10", DAY, 2500, order="O10", captured=0),
        # a partial capture: 50.00 authorized, 30.00 captured, 20.00 released (Stripe shows
        # the released part as refunded)
        charge("ch_o11", DAY, 5000, order="O11", captured=3000, refunded=2000),
        charge("ch_o12", DAY, 999, order="O12", status="failed"),
        charge("ch_o13", DAY, 2000, "eur", order="O13"),  # the right figure, another currency
        charge("ch_x", DAY, 700, order="OX"),
        charge("ch_none", DAY, 800),
    )
    table = read_orders(tmp_path / "orders.csv")
    found = made.frame("charges")
    if request.param == "numbered once":
        table, found = orders.numbered(table, found)
    return orders.match(table, found), orders.unknown_orders(table, found)


def test_each_order_gets_its_class(matched):
    table, _ = matched
    assert dict(zip(table["order_id"], table["class"].astype(str), strict=True)) == {
        "O1": "matched",
        "O2": "matched",
        "O3": "matched",
        "O4": "amount_mismatch",
        "O5": "missing_payment",
        "O6": "duplicate_payment",
        "O7": "refunded",
        "O8": "matched",
        "O9": "partially_refunded",
        "O10": "matched",
        "O11": "matched",
        "O12": "matched",
        "O13": "amount_mismatch",
    }


def test_amounts_at_stake_in_each_currency_exactly(matched):
    table, unknown = matched
    at_stake = orders.discrepancies(table, unknown).set_index("order_id")
    assert at_stake.loc["O4", "amount_at_stake"] == -10  # 4.990 KWD paid for 5.000
    assert at_stake.loc["O5", "amount_at_stake"] == -2000
    assert at_stake.loc["O6", "amount_at_stake"] == 1500
    assert at_stake.loc["O7", "amount_at_stake"] == -3000
    assert at_stake.loc["OX", "kind"] == "unknown_order"
    assert at_stake.loc["OX", "amount_at_stake"] == 700
    assert at_stake.loc["O13", "charges"] == "ch_o13"
    assert at_stake.loc["O6", "charges"] == "ch_o6a ch_o6b"
    assert sorted(at_stake.index) == ["O13", "O4", "O5", "O6", "O7", "OX"]
    assert list(unknown["id"]) == ["ch_x"]
    summary = orders.summary(table).set_index(["class", "currency"])
    assert summary.loc[("matched", "kwd"), "amount"] == 1234
    assert summary.loc[("matched", "jpy"), "amount"] == 1000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("order_id,created,amount,status\nA,2026-10-01,1.00,paid\n", "missing column 'currency'"),
        (
            "order_id,created,amount,currency,status\nA,2026-10-01,1.00,USD,paid\n"
            "B,2026-10-01,1.x0,USD,paid\n",
            "row 3, column amount",
        ),
        (
            "order_id,created,amount,currency,status\nA,2026-10-01,1.005,USD,paid\n",
            "row 2, column amount: 1.005 USD has more decimals",
        ),
        (
            "order_id,created,amount,currency,status\nA,2026-10-01,1.00,XYZ,paid\n",
            "row 2, column currency: 'XYZ' is not a currency",
        ),
        (
            "order_id,created,amount,currency,status\nA,2026-10-01,1.00,USD,paid\n"
            "A,2026-10-02,2.00,USD,paid\n",
            "row 3, column order_id: 'A' appears again (first on row 2)",
        ),
        (
            "order_id,created,amount,currency,status\nA,yesterday,1.00,USD,paid\n",
            "row 2, column created",
        ),
    ],
)
def test_a_malformed_orders_file_is_one_line_naming_row_and_column(tmp_path, text, message):
    path = tmp_path / "orders.csv"
    path.write_text(text)
    with pytest.raises(FileError) as error:
        read_orders(path)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_an_orders_file_read_again_comes_from_its_parsed_copy(tmp_path, monkeypatch):
    path, copies = tmp_path / "orders.csv", tmp_path / "copies"
    path.write_text("order_id,created,amount,currency,status\nA,2026-10-01,1.00,USD,paid\n")
    first = read_orders(path, copies)
    assert first[["order_id", "amount"]].values.tolist() == [["A", 100]]
    parsed = []
    real = imports._parsed_orders
    monkeypatch.setattr(imports, "_parsed_orders", lambda p: parsed.append(p) or real(p))
    assert read_orders(path, copies).equals(first) and parsed == []

    # Another content is parsed afresh (and replaces the old copy); a bad one still fails.
    path.write_text("order_id,created,amount,currency,status\nA,2026-10-01,2.50,JPY,paid\n")
    with pytest.raises(FileError, match="2.50 JPY has more decimals"):
        read_orders(path, copies)
    path.write_text("order_id,created,amount,currency,status\nB,2026-10-01,2,JPY,paid\n")
    assert read_orders(path, copies)[["order_id", "amount"]].values.tolist() == [["B", 2]]
    assert parsed == [path, path] and len(list(copies.rglob("*.pickle"))) == 1
