"""Payout reconciliation, the balance roll-forward and the books, on a small history worked
out by hand (USD cents):

    ch_1  charge 100.00, fee 3.20                         -> po_1
    ch_2  authorized 50.00 (fee 1.75), captured 30.00:
          its reversal -20.00 gives back 0.58 of fee      -> po_1
    re_1  refund of ch_1, -10.00                          -> po_1
    ch_3  charge 40.00, fee 1.46; dp_1 disputes it:
          -40.00 and a 15.00 dispute fee                  -> po_1   po_1 = 99.17, paid Oct 4
    ch_4  charge 21.00, fee 1.00                          -> po_2   po_2 = 20.00, failed
    po_2's 20.00 comes back (payout_reversal)             -> po_3
    ch_5  charge 10.30, fee 0.60                          -> po_3   po_3 = 29.70, paid Oct 9
    ch_6  charge 4.50, fee 0.50                           -> po_4   po_4 = 5.00 (pending),
                                                                    1.00 more than its items
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.analyses.handmade import Handmade, at, payout, txn
from workbench import exports
from workbench.analyses import balance, journal, reconcile

OCT = [None, *[at(2026, 10, day) for day in range(1, 32)]]


@pytest.fixture
def history(tmp_path):
    made = Handmade(tmp_path)
    made.add(
        "balance_transactions",
        txn("txn_c1", OCT[1], 10000, 320, source="ch_1", payout="po_1"),
        txn("txn_c2", OCT[1] + 60, 5000, 175, source="ch_2", payout="po_1"),
        txn(
            "txn_r2",
            OCT[2],
            -2000,
            -58,
            category="partial_capture_reversal",
            source="re_2",
            payout="po_1",
        ),
        txn("txn_r1", OCT[2] + 60, -1000, category="refund", source="re_1", payout="po_1"),
        txn("txn_c3", OCT[2] + 120, 4000, 146, source="ch_3", payout="po_1"),
        txn("txn_d1", OCT[2] + 180, -4000, 1500, category="dispute", source="dp_1", payout="po_1"),
        txn("txn_p1", OCT[3], -9917, category="payout", source="po_1", payout="po_1"),
        txn("txn_c4", OCT[4], 2100, 100, source="ch_4", payout="po_2"),
        txn("txn_p2", OCT[5], -2000, category="payout", source="po_2", payout="po_2"),
        txn("txn_f2", OCT[6], 2000, category="payout_reversal", source="po_2", payout="po_3"),
        txn("txn_c5", OCT[7], 1030, 60, source="ch_5", payout="po_3"),
        txn("txn_p3", OCT[8], -2970, category="payout", source="po_3", payout="po_3"),
        txn("txn_c6", OCT[10], 450, 50, source="ch_6", payout="po_4"),
        txn("txn_p4", OCT[11], -500, category="payout", source="po_4", payout="po_4"),
    )
    made.add(
        "payouts",
        payout("po_1", OCT[3], 9917, OCT[4]),
        payout("po_2", OCT[5], 2000, OCT[6], status="failed"),
        payout("po_3", OCT[8], 2970, OCT[9]),
        payout("po_4", OCT[11], 500, OCT[12], status="pending"),
    )
    return made


def frames(made):
    return made.frame("balance_transactions"), made.frame("payouts")


def empty(made, kind):
    return made.frame(kind).iloc[0:0]


def test_each_payout_is_checked_against_its_items(history):
    transactions, payouts = frames(history)
    items = reconcile.itemized(
        transactions,
        payouts,
        *(empty(history, k) for k in ("charges", "refunds", "disputes", "customers")),
    )
    assert len(items) == 10  # the payouts' own transactions are not items
    checked = reconcile.checks(items, payouts).set_index("id")
    assert checked["items_net"].to_dict() == {"po_1": 9917, "po_2": 2000, "po_3": 2970, "po_4": 400}
    assert checked["difference"].to_dict() == {"po_1": 0, "po_2": 0, "po_3": 0, "po_4": 100}
    assert checked.loc["po_2", "returned_in"] == "po_3"
    assert checked.loc["po_2", "status"] == "failed"
    assert list(reconcile.discrepancies(checked.reset_index())["id"]) == ["po_4"]
    by_category = items.groupby("reporting_category")["net"].sum().to_dict()
    assert by_category["partial_capture_reversal"] == -1942
    assert by_category["payout_reversal"] == 2000


def test_payouts_arriving_select_by_arrival_date(history):
    _, payouts = frames(history)
    chosen = reconcile.payouts_arriving(
        payouts, datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 10, tzinfo=UTC)
    )
    assert sorted(chosen["id"]) == ["po_2", "po_3"]


def test_the_roll_forward_balances_to_the_cent(history):
    transactions, _ = frames(history)
    period = transactions[transactions["created"] < datetime(2026, 10, 10, tzinfo=UTC)]
    activity = balance.activity(period).set_index("reporting_category")
    assert activity.loc["charge", "count"] == 5
    assert activity.loc["charge", "gross"] == 10000 + 5000 + 4000 + 2100 + 1030
    assert activity.loc["dispute", "fee"] == 1500
    zero = balance.summary(period, opening=_balances({}), closing=_balances({"usd": 0}))
    row = zero.iloc[0]
    assert (row["starting_balance"], row["activity"], row["payouts"]) == (0, 12887, 12887)
    assert row["ending_balance"] == 0 and bool(row["balanced"])
    wrong = balance.summary(period, opening=_balances({"usd": 100}), closing=_balances({"usd": 0}))
    assert int(wrong.iloc[0]["difference"]) == -100 and not bool(wrong.iloc[0]["balanced"])


def _balances(values: dict):
    import pandas as pd

    return pd.DataFrame({"currency": list(values), "balance": list(values.values())}).astype(
        {"balance": "int64"}
    )


def test_an_empty_period_gives_empty_tables(history):
    transactions, payouts = frames(history)
    none = transactions.iloc[0:0]
    assert balance.activity(none).empty
    assert balance.summary(none, _balances({}), _balances({})).empty
    assert journal.entries(none, payouts.iloc[0:0], "Etc/UTC").empty
    assert reconcile.checks(
        reconcile.itemized(
            none,
            payouts.iloc[0:0],
            *(empty(history, k) for k in ("charges", "refunds", "disputes", "customers")),
        ),
        payouts.iloc[0:0],
    ).empty


def test_the_journal_entries_as_worked_by_hand(history):
    transactions, payouts = frames(history)
    lines = journal.entries(transactions, payouts, "Etc/UTC")
    settled = lines[lines["entry"] == "po_1:settlement"].set_index("role")["amount"].to_dict()
    assert settled == {
        "clearing": 9917,
        "sales": -19000,
        "refunds": 1000,
        "partial_capture_reversals": 2000,
        "disputes": 4000,
        "dispute_fees": 1500,
        "stripe_fees": 320 + 175 - 58 + 146,
    }
    assert lines[lines["entry"] == "po_3:settlement"].set_index("role")["amount"].to_dict() == {
        "clearing": 2970 - 2000,
        "sales": -1030,
        "stripe_fees": 60,
    }
    assert lines[lines["entry"] == "po_4:settlement"].set_index("role")["amount"].to_dict() == {
        "clearing": 500,
        "sales": -450,
        "stripe_fees": 50,
        "other": -100,
    }
    assert set(lines["entry"]) == {
        "po_1:settlement",
        "po_1:deposit",
        "po_2:settlement",
        "po_3:settlement",
        "po_3:deposit",
        "po_4:settlement",
    }
    assert journal.balance_check(lines)["balanced"].all()


@pytest.mark.parametrize(
    ("day", "in_transit"),
    [(3, 0), (4, 9917), (5, 0), (6, 2000), (9, 2970), (10, 0), (12, 500)],
)
def test_the_clearing_account_holds_what_is_in_transit(history, day, in_transit):
    """po_1 is in transit from Oct 3 until it arrives Oct 4; po_2 from Oct 5 until its funds
    go out again in po_3 (Oct 8), which arrives Oct 9; po_4 leaves Oct 11."""
    transactions, payouts = frames(history)
    lines = journal.entries(transactions, payouts, "Etc/UTC")
    assert journal.clearing_balance(lines, date(2026, 10, day)).get("usd", 0) == in_transit


def test_exports_for_accountants(history, tmp_path):
    transactions, payouts = frames(history)
    lines = journal.entries(transactions, payouts, "Etc/UTC")
    accounts = exports.read_accounts(None)
    xero = exports.write_xero(lines, tmp_path / "xero.csv", accounts).read_text().splitlines()
    assert xero[0] == "*Narration,*Date,Description,*AccountCode,*TaxRate,*Amount"
    assert "Stripe payout settled po_1 (USD),03/10/2026,sales,200,Tax Exempt,-190.00" in xero
    qbo = exports.write_quickbooks(lines, tmp_path / "qbo.csv", accounts).read_text().splitlines()
    assert qbo[0] == "Journal No.,Journal Date,Account Name,Debits,Credits,Description,Name"
    assert "STRIPE-00001,10/03/2026,Sales,,190.00,Stripe payout settled po_1 (USD)," in qbo
    plain = (
        exports.write_journal(lines, tmp_path / "journal.csv", accounts).read_text().splitlines()
    )
    assert (
        "po_1:deposit,2026-10-04,Assets:Bank:Checking,99.17,,USD,po_1,Stripe payout deposited po_1"
        in plain
    )


def bean_check(path) -> subprocess.CompletedProcess:
    """Beancount's own checker, from this environment (dev dependency `beancount`)."""
    command = Path(sys.executable).with_name("bean-check")
    return subprocess.run([str(command), str(path)], capture_output=True, text=True, timeout=120)


def test_bean_check_accepts_the_ledger_and_its_clearing_assertions(history, tmp_path):
    transactions, payouts = frames(history)
    lines = journal.entries(transactions, payouts, "Etc/UTC")
    accounts = exports.read_accounts(None)
    in_transit = {
        date(2026, 10, 4): {"usd": 9917},
        date(2026, 10, 9): {"usd": 2970},
        date(2026, 10, 12): {"usd": 500},
    }
    good = exports.write_beancount(
        lines, tmp_path / "good.beancount", accounts, assertions=in_transit
    )
    checked = bean_check(good)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    wrong = exports.write_beancount(
        lines, tmp_path / "wrong.beancount", accounts, assertions={date(2026, 10, 9): {"usd": 2969}}
    )
    refused = bean_check(wrong)
    assert refused.returncode == 1 and "Balance failed" in refused.stdout + refused.stderr


def test_three_and_zero_decimal_currencies_in_the_books(tmp_path):
    made = Handmade(tmp_path)
    made.add(
        "balance_transactions",
        txn("txn_k", OCT[1], 12345, 345, currency="kwd", source="ch_k", payout="po_k"),
        txn("txn_j", OCT[1], 5000, 180, currency="jpy", source="ch_j", payout="po_j"),
    )
    made.add(
        "payouts",
        payout("po_k", OCT[2], 12000, OCT[3], currency="kwd"),
        payout("po_j", OCT[2], 4820, OCT[3], currency="jpy"),
    )
    transactions, payouts = frames(made)
    lines = journal.entries(transactions, payouts, "Etc/UTC")
    ledger = exports.write_beancount(
        lines,
        tmp_path / "books.beancount",
        exports.read_accounts(None),
        assertions={date(2026, 10, 3): {"kwd": 12000, "jpy": 4820}},
    )
    text = ledger.read_text()
    assert "Income:Sales                             -12.345 KWD" in text
    assert "Income:Sales                             -5000 JPY" in text
    assert bean_check(ledger).returncode == 0
    csv = exports.write_journal(
        lines, tmp_path / "books.csv", exports.read_accounts(None)
    ).read_text()
    assert ",12.000,,KWD," in csv and ",4820,,JPY," in csv
    assert Decimal("12.345") - Decimal("0.345") == Decimal("12.000")
