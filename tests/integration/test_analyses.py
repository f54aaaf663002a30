"""The analyses on a seeded sandbox account, synced as a user would, against what the seed
planted (its ground truth) and what the API lists (read with plain HTTP): never against the
code under test."""

from __future__ import annotations

import calendar
import json
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.store_vs_api import UNTIL, api_listing, connect, seeded_account
from workbench import exports
from workbench.analyses import (
    auth,
    cards,
    deposits,
    disputes,
    journal,
    orders,
    reconcile,
    subscriptions,
)
from workbench.imports import read_bank_statement, read_orders
from workbench.monthly import MonthlyReview
from workbench.periods import months_between
from workbench.sandbox import ledger, seed

MONTHS = ("2026-06", "2026-07")


@pytest.fixture(scope="module")
def account(sandbox_server, tmp_path_factory):
    files = tmp_path_factory.mktemp("files")
    key = seeded_account(sandbox_server, "analysed", files=files)
    truth_path = Path(sandbox_server.data_dir) / "sandbox" / "analysed.truth.json"
    import json

    truth = json.loads(truth_path.read_text())
    wb = connect(sandbox_server.url, key, tmp_path_factory.mktemp("store"))
    wb.sync(progress=False, rate=1000)
    listing = api_listing(sandbox_server.url, key)
    return {
        "wb": wb,
        "truth": truth,
        "listing": listing,
        "orders": seed.orders_path(files, "analysed"),
        "statement": seed.statement_path(files, "analysed"),
        "url": sandbox_server.url,
        "key": key,
    }


def everything(wb, name):
    return wb.frame(name)


def test_every_payout_holds_what_the_api_lists_and_reconciles(account):
    wb, listing = account["wb"], account["listing"]
    payouts = everything(wb, "payouts")
    automatic = payouts[payouts["automatic"]]
    items = reconcile.itemized(
        everything(wb, "balance_transactions"),
        automatic,
        *(everything(wb, n) for n in ("charges", "refunds", "disputes", "customers")),
    )
    expected = defaultdict(set)
    for txn_id, payout in listing["payout_of"].items():
        if listing["balance_transactions"][txn_id]["type"] != "payout":
            expected[payout].add(txn_id)
    found = items.groupby("automatic_payout_id")["balance_transaction_id"].agg(set).to_dict()
    assert found == dict(expected)
    checked = reconcile.checks(items, automatic).set_index("id")
    for payout_id, payout in listing["payouts"].items():
        net = sum(listing["balance_transactions"][t]["net"] for t in expected[payout_id])
        assert net == payout["amount"], payout_id  # the API's own figures tie out
        assert checked.loc[payout_id, "items_net"] == payout["amount"]
    assert checked["reconciled"].all()
    failed = [p for p in listing["payouts"].values() if p["status"] == "failed"]
    assert len(failed) == 1, "the seed fails one payout"
    returned_in = checked.loc[failed[0]["id"], "returned_in"]
    reversal = failed[0]["failure_balance_transaction"]
    assert returned_in == listing["payout_of"][reversal]  # its funds went out again


def test_partial_captures_and_disputes_are_shown_as_such(account):
    wb, truth = account["wb"], account["truth"]
    payouts = everything(wb, "payouts")
    items = reconcile.itemized(
        everything(wb, "balance_transactions"),
        payouts[payouts["automatic"]],
        *(everything(wb, n) for n in ("charges", "refunds", "disputes", "customers")),
    )
    reversals = items[items["reporting_category"] == "partial_capture_reversal"]
    by_charge = reversals.set_index("charge_id")
    assert truth["partial_captures"], "the seed makes partial captures"
    paid_out = [p for p in truth["partial_captures"] if p["charge"] in by_charge.index]
    assert paid_out
    for capture in paid_out:
        row = by_charge.loc[capture["charge"]]
        assert row["customer_facing_amount"] == capture["released"]
    disputed = items[items["reporting_category"].isin(["dispute", "dispute_reversal"])]
    assert len(disputed) and disputed["dispute_reason"].notna().all()
    assert disputed["charge_id"].notna().all()


@pytest.mark.parametrize("month", MONTHS)
def test_the_roll_forward_balances_against_the_api(account, month):
    """Starting and ending balances summed from the API's own listing."""
    wb, listing = account["wb"], account["listing"]
    review = MonthlyReview(wb, month)
    year, number = (int(part) for part in month.split("-"))
    start = calendar.timegm((year, number, 1, 0, 0, 0))
    end = calendar.timegm((year, number + 1, 1, 0, 0, 0))
    before = Counter()
    until = Counter()
    for txn in listing["balance_transactions"].values():
        if txn["created"] < start:
            before[txn["currency"]] += txn["net"]
        if txn["created"] < end:
            until[txn["currency"]] += txn["net"]
    summary = review.balance_summary.set_index("currency")
    assert set(summary.index) == set(until)
    assert summary["starting_balance"].to_dict() == {c: before[c] for c in until}
    assert summary["ending_balance"].to_dict() == dict(until)
    assert summary["balanced"].all()
    assert review.checks["roll_forward_balanced"] and review.checks["payouts_reconciled"]


def test_the_balance_at_the_end_is_stripes_balance(account):
    """The sandbox's clock stands at the end of the history: the balance then is what
    GET /v1/balance says (available and pending)."""
    wb = account["wb"]
    answer = requests.get(
        account["url"] + "/v1/balance",
        headers={"Authorization": f"Bearer {account['key']}"},
        timeout=30,
    ).json()
    expected = Counter()
    for entry in answer["available"] + answer["pending"]:
        expected[entry["currency"]] += entry["amount"]
    found = wb.balance_at(UNTIL + 1).set_index("currency")["balance"].to_dict()
    assert found == {c: a for c, a in expected.items() if a or c in found}


def test_every_planted_order_discrepancy_is_found_and_nothing_else(account):
    wb, truth = account["wb"], account["truth"]
    table, charges = read_orders(account["orders"]), everything(wb, "charges")
    found = orders.discrepancies(
        orders.match(table, charges), orders.unknown_orders(table, charges)
    )
    kinds = {"refunded": "refunded_order"}
    got = defaultdict(list)
    for row in found.itertuples():
        got[kinds.get(row.kind, row.kind)].append(row.order_id)
    planted = {kind: sorted(ids) for kind, ids in truth["planted"].items() if ids}
    assert {kind: sorted(ids) for kind, ids in got.items()} == planted


def test_open_authorizations_cards_and_customers_as_planted(account):
    wb, truth = account["wb"], account["truth"]
    as_of = datetime.fromtimestamp(truth["until"], UTC)
    held = auth.open_authorizations(everything(wb, "charges"), as_of)
    assert sorted(held["id"]) == sorted(truth["open_authorizations"])
    assert (held["hours_left"] > 0).all() and (held["hours_left"] <= 7 * 24).all()
    soon = cards.expiring(everything(wb, "cards"), everything(wb, "customers"), as_of, months=2)
    assert sorted(soon["id"]) == sorted(truth["expiring_cards"])
    lonely = cards.without_default(everything(wb, "customers"), everything(wb, "cards"))
    assert sorted(lonely["id"]) == sorted(truth["customers_without_default"])
    lapsed = auth.expired(everything(wb, "charges"), everything(wb, "refunds"))
    expected = [
        r
        for r in account["listing"]["refunds"].values()
        if r["reason"] == "expired_uncaptured_charge"
    ]
    assert sorted(lapsed["charge"]) == sorted(r["charge"] for r in expected)
    assert len(expected) > 0, "the seed lets some authorizations lapse"


def test_every_planted_deposit_discrepancy_is_found_and_nothing_else(account):
    wb, truth = account["wb"], account["truth"]
    payouts = everything(wb, "payouts")
    last_deposit = max(read_bank_statement(account["statement"])["date"])
    arrived = payouts[payouts["arrival_date"].dt.date <= last_deposit]
    matched = deposits.match(arrived, read_bank_statement(account["statement"]))
    results = Counter(matched["result"])
    planted = truth["bank"]
    for kind in ("missing_deposit", "amount_differs", "late"):
        assert list(matched.loc[matched["result"] == kind, "payout"]) == planted[kind], kind
    strays = matched[matched["result"] == "no_payout"]
    assert [d.isoformat() for d in strays["deposit_date"]] == planted["no_payout"]
    paid = sum(1 for p in account["listing"]["payouts"].values() if p["status"] == "paid")
    assert results["matched"] == paid - 3


def in_transit(listing: dict, before: int) -> dict[str, int]:
    """What has left the Stripe balance for the bank and not arrived by `before`, from the
    API: payouts made before it, less those paid by then, less failed ones whose returned
    funds a payout made before it swept again."""
    held = Counter()
    for payout in listing["payouts"].values():
        if not payout["automatic"] or payout["created"] >= before:
            continue
        arrived = payout["status"] == "paid" and payout["arrival_date"] < before
        reversal = payout["failure_balance_transaction"]
        swept = reversal and listing["payouts"][listing["payout_of"][reversal]]["created"] < before
        if not arrived and not swept:
            held[payout["currency"]] += payout["amount"]
    return dict(held)


def test_the_books_balance_and_the_clearing_account_holds_what_is_in_transit(account, tmp_path):
    wb, listing = account["wb"], account["listing"]
    payouts = everything(wb, "payouts")
    lines = journal.entries(
        everything(wb, "balance_transactions"), payouts[payouts["automatic"]], "Etc/UTC"
    )
    assert journal.balance_check(lines)["balanced"].all()
    moments = {}
    for day in range(2, 62, 3):
        moment = calendar.timegm((2026, 6, 1, 0, 0, 0)) + day * 86400
        expected = in_transit(listing, moment)
        found = {
            c: a
            for c, a in journal.clearing_balance(lines, date.fromtimestamp(moment)).items()
            if a
        }
        assert found == expected, datetime.fromtimestamp(moment, UTC)
        moments[datetime.fromtimestamp(moment, UTC).date()] = expected or {"usd": 0}
    ledger = exports.write_beancount(
        lines, tmp_path / "books.beancount", exports.read_accounts(None), assertions=moments
    )
    checked = subprocess.run(
        [str(Path(sys.executable).with_name("bean-check")), str(ledger)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_month_before_the_history_is_empty_not_an_error(account):
    review = MonthlyReview(account["wb"], "2026-01")
    assert review.payout_checks.empty and review.journal.empty and review.daily.empty
    assert review.balance_summary.empty
    assert review.checks["payouts_reconciled"] and review.checks["journal_balanced"]


def test_a_dispute_lost_after_the_payout_that_took_its_funds(account):
    """A chargeback takes its funds at once; the dispute is lost days later (no answer by
    its deadline). The payout that took the funds still reconciles and names the dispute,
    and the outcome counts it lost."""
    wb, listing = account["wb"], account["listing"]
    payouts = everything(wb, "payouts")
    items = reconcile.itemized(
        everything(wb, "balance_transactions"),
        payouts[payouts["automatic"]],
        *(everything(wb, n) for n in ("charges", "refunds", "disputes", "customers")),
    ).set_index("balance_transaction_id")
    checked = reconcile.checks(items.reset_index(), payouts[payouts["automatic"]]).set_index("id")
    lost_later = [
        d
        for d in listing["disputes"].values()
        if d["status"] == "lost"
        and d["evidence_details"]["past_due"]
        and listing["payouts"][listing["payout_of"][d["balance_transactions"][0]["id"]]]["created"]
        < d["evidence_details"]["due_by"]
    ]
    assert lost_later, "the seed leaves some disputes unanswered until they are lost"
    for dispute in lost_later:
        withdrawal = dispute["balance_transactions"][0]["id"]
        row = items.loc[withdrawal]
        assert (row["reporting_category"], row["charge_id"]) == ("dispute", dispute["charge"])
        assert row["dispute_reason"] == dispute["reason"]
        assert checked.loc[row["automatic_payout_id"], "reconciled"]
    outcomes = disputes.outcomes(everything(wb, "disputes")).set_index("reason")
    lost = sum(1 for d in listing["disputes"].values() if d["status"] == "lost")
    assert outcomes.loc["(all)", "lost"] == lost


def test_months_are_the_accounts_own(sandbox_server, account_key, raw, tmp_path):
    """In Auckland, half past midnight on the 1st is still the last day of the month before
    in UTC: charges made then belong to the account's new month, not UTC's."""
    assert raw("POST", "/_sandbox/account", {"timezone": "Pacific/Auckland"}).status_code == 200
    now = raw("GET", "/_sandbox/clock").json()["now"]
    local = datetime.fromtimestamp(now, ZoneInfo("Pacific/Auckland"))
    firsts = []
    year, month = local.year, local.month
    for _ in range(2):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        firsts.append(datetime(year, month, 1, 0, 30, tzinfo=ZoneInfo("Pacific/Auckland")))
    wb = connect(sandbox_server.url, account_key, tmp_path)
    made = []
    for first in firsts:
        assert first.astimezone(UTC).day != 1  # still the month before in UTC
        freeze = raw("POST", "/_sandbox/clock/freeze", {"at": str(int(first.timestamp()))})
        assert freeze.status_code == 200, freeze.text
        made.append(
            wb.client.v1.charges.create(
                params={"amount": 2000, "currency": "usd", "source": "tok_visa"}
            ).id
        )
    wb.sync(progress=False)
    assert wb.timezone == "Pacific/Auckland"
    reviews = [MonthlyReview(wb, f"{first:%Y-%m}") for first in firsts]
    assert [list(review.charges["id"]) for review in reviews] == [[made[0]], [made[1]]]
    assert reviews[0].start == firsts[0].replace(minute=0)
    assert [str(d) for d in reviews[0].daily["day"]] == [f"{firsts[0]:%Y-%m-%d}"]


@pytest.fixture(scope="module")
def subscribed(sandbox_server, tmp_path_factory):
    """An account seeded over six months, long enough for every story of the subscription
    book to play out (two months show only some), synced as a user would."""
    key = seeded_account(sandbox_server, "subscribed", months=6)
    truth_path = Path(sandbox_server.data_dir) / "sandbox" / "subscribed.truth.json"
    truth = json.loads(truth_path.read_text())
    wb = connect(sandbox_server.url, key, tmp_path_factory.mktemp("store"))
    wb.sync(progress=False, rate=1000)
    return {"wb": wb, "truth": truth, "listing": api_listing(sandbox_server.url, key)}


@pytest.fixture(scope="module")
def book(subscribed):
    """The subscription analyses' inputs, the store's frames, and the book's truth."""
    wb, truth = subscribed["wb"], subscribed["truth"]["subscriptions"]
    frames = {
        name: everything(wb, name)
        for name in ("subscriptions", "invoice_line_items", "prices", "invoices")
    }
    labels = sorted(truth["months"])
    months = months_between(labels[0], labels[-1], wb.timezone)
    steps = subscriptions.steps(
        frames["subscriptions"], frames["invoice_line_items"], frames["prices"]
    )
    return frames, truth, months, steps


def test_mrr_and_its_movements_are_the_books_every_month(book):
    _, truth, months, steps = book
    moved = subscriptions.movements(steps, months)
    assert moved["balanced"].all()
    figures = ("opening", *subscriptions.MOVEMENTS, "closing")
    found = {
        (row["month"], row["currency"]): {
            **{name: row[name] for name in figures},
            "subscribers": row["customers"],
        }
        for row in moved.to_dict("records")
    }
    expected = {
        (month, currency): numbers
        for month, by_currency in truth["months"].items()
        for currency, numbers in by_currency.items()
    }
    assert found == expected
    assert {"jpy", "eur", "usd"} <= {currency for _, currency in expected}
    every = [sum(numbers[name] != 0 for numbers in expected.values()) for name in figures]
    assert all(every), "each movement happens in some month"
    arpu = subscriptions.churn(moved).set_index(["month", "currency"])["arpu"]
    for key, numbers in expected.items():
        count = numbers["subscribers"]
        assert arpu[key] == ((2 * numbers["closing"] + count) // (2 * count) if count else 0)


def test_mrr_in_settlement_currency_is_the_books_at_the_sandboxs_rates(book, subscribed):
    """Each month's closing MRR of every currency, converted as the sandbox's ledger converts
    a charge (its fixed rate table), summed in USD."""
    _, truth, months, steps = book
    wb = subscribed["wb"]
    rates = subscriptions.settlement_rates(
        everything(wb, "balance_transactions"), everything(wb, "charges")
    )
    found = subscriptions.in_settlement(subscriptions.movements(steps, months), rates)
    assert set(found["settlement_currency"]) == {"usd"}
    expected = {
        month: sum(
            ledger.convert(numbers["closing"], currency, "usd") for currency, numbers in by.items()
        )
        for month, by in truth["months"].items()
    }
    assert dict(zip(found["month"], found["closing"].astype(int), strict=True)) == expected


def test_trials_and_failed_renewals_are_the_books(book, subscribed):
    frames, truth, _, _ = book
    as_of = datetime.fromtimestamp(subscribed["truth"]["until"], UTC)
    ended = subscriptions.trials(frames["subscriptions"], as_of)
    outcomes = ended.groupby("outcome")["id"].agg(sorted).to_dict()
    assert outcomes == {k: sorted(v) for k, v in truth["trials"].items() if v}
    inputs = [frames[n] for n in ("invoices", "subscriptions", "invoice_line_items", "prices")]
    failed = subscriptions.failed_renewals(*inputs)
    then = subscriptions.failed_renewals(*inputs, as_of=as_of)  # the truth's moment: the same
    assert then.equals(failed)
    named = {"recovered": "recovered", "lost": "canceled", "retrying": "retrying"}
    found = sorted(
        (row.subscription, int(row.renewal.timestamp()), named[row.outcome], row.mrr)
        for row in failed.itertuples()
    )
    planted = sorted(
        (f["subscription"], f["renewal"], f["outcome"], f["mrr"]) for f in truth["failed_renewals"]
    )
    assert found == planted
    assert {outcome for *_, outcome, _ in planted} == {"recovered", "canceled", "retrying"}
    at_risk = subscriptions.recovery(failed).set_index("currency")["mrr_at_risk"]
    assert {c: v for c, v in at_risk.items() if v} == truth["mrr_at_risk"]


def test_cohorts_hold_the_months_subscribers(book):
    """The book starts with nobody: every customer paying at a month's end is in the
    cohort of a month so far, so the cohorts' retained customers add up to the month's
    subscribers."""
    _, truth, months, steps = book
    table = subscriptions.cohorts(steps, months)
    labels = [m.label for m in months]
    for index, label in enumerate(labels):
        for currency, numbers in truth["months"][label].items():
            assert truth["months"][labels[0]].get(currency, {"opening": 0})["opening"] == 0
            mine = table[(table["currency"] == currency) & (table["cohort"] <= label)]
            paying = sum(
                round(row[index - labels.index(row["cohort"])] * row["customers"])
                for row in mine.to_dict("records")
            )
            assert paying == numbers["subscribers"], (label, currency)


def test_mrr_ties_out_against_the_paid_invoices_and_the_charges_behind_them(book, subscribed):
    frames, truth, months, steps = book
    table = subscriptions.tie_out(steps, frames["invoices"], frames["invoice_line_items"], months)
    assert table["tied_out"].all()
    last = truth["months"][months[-1].label]
    closing = table[table["month"] == months[-1].label].set_index("currency")
    assert {c: closing.loc[c, "mrr"] for c in last} == {c: n["closing"] for c, n in last.items()}
    # What the invoices collected is what the book's customers were charged (the API's
    # own listing of charges, read with plain HTTP).
    subscribers = set(truth["subscribers"])
    start, end = months[0].start.timestamp(), months[-1].end.timestamp()
    charged = Counter()
    for charge in subscribed["listing"]["charges"].values():
        mine = charge["customer"] in subscribers and charge["status"] == "succeeded"
        if mine and start <= charge["created"] < end:
            charged[charge["currency"]] += charge["amount"]
    collected = table.groupby("currency")["collected"].sum()
    assert {c: int(v) for c, v in collected.items() if v} == dict(charged)
