"""`workbench report`: a month's CSVs and summary, checked against the API's own listing."""

from __future__ import annotations

import calendar
import csv
import json
import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal

import pytest
import stripe

from tests.integration.test_cli import assert_one_line_error, run
from tests.store_vs_api import api_listing, seeded_account

JULY = (calendar.timegm((2026, 7, 1, 0, 0, 0)), calendar.timegm((2026, 8, 1, 0, 0, 0)))
EXPONENT = {"usd": 2, "eur": 2, "gbp": 2, "jpy": 0}


def in_july(obj: dict) -> bool:
    return JULY[0] <= obj["created"] < JULY[1]


def major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-EXPONENT[currency])


def report(sandbox_server, key: str, out, data) -> subprocess.CompletedProcess:
    return run(
        "report",
        "--month",
        "2026-07",
        "--out",
        str(out),
        env={
            "STRIPE_API_KEY": key,
            "STRIPE_API_BASE": sandbox_server.url,
            "WORKBENCH_DATA_DIR": str(data),
            "WORKBENCH_ENV_FILE": os.devnull,
        },
    )


@pytest.fixture(scope="module")
def july(sandbox_server, tmp_path_factory):
    """The report for July 2026 of a seeded account, written by the command line."""
    key = seeded_account(sandbox_server, "reported")
    out, data = tmp_path_factory.mktemp("reports"), tmp_path_factory.mktemp("data")
    result = report(sandbox_server, key, out, data)
    assert result.returncode == 0, result.stderr
    (folder,) = (out / "default").iterdir()
    return api_listing(sandbox_server.url, key), folder, result.stdout, key, data


def rows(folder, name: str) -> list[dict]:
    with (folder / f"{name}.csv").open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_every_object_of_the_month_and_no_other(july):
    listing, folder, stdout, *_ = july
    assert folder.name == "2026-07"
    assert sorted(p.name for p in folder.iterdir()) == [
        "balance_transactions.csv",
        "charges.csv",
        "payouts.csv",
        "summary.json",
    ]
    for name in ("charges", "balance_transactions", "payouts"):
        expected = {i for i, obj in listing[name].items() if in_july(obj)}
        assert expected, name
        assert {row["id"] for row in rows(folder, name)} == expected, name
    assert f"{len(rows(folder, 'charges')):,} charges" in stdout


def test_amounts_are_exact_major_units(july):
    listing, folder, *_ = july
    for row in rows(folder, "balance_transactions"):
        txn = listing["balance_transactions"][row["id"]]
        for field in ("amount", "fee", "net"):
            assert Decimal(row[field]) == major(txn[field], txn["currency"]), (row["id"], field)
    currencies = {row["currency"] for row in rows(folder, "charges")}
    assert "jpy" in currencies, "the seed's zero-decimal charges belong in the export"
    for row in rows(folder, "charges"):
        charge = listing["charges"][row["id"]]
        assert Decimal(row["amount"]) == major(charge["amount"], charge["currency"])


def by_currency(objects, field: str) -> dict[str, int]:
    totals = Counter()
    for obj in objects:
        totals[obj["currency"]] += obj[field]
    return dict(totals)


def reported(summary: dict, section: str, field: str) -> dict[str, int]:
    return {c: t[field]["minor"] for c, t in summary[section]["by_currency"].items()}


def test_summary_totals_match_the_api(july):
    listing, folder, *_ = july
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["period"] == {
        "start": "2026-07-01T00:00:00+00:00",
        "end": "2026-08-01T00:00:00+00:00",
        "timezone": "Etc/UTC",
    }
    charges = [c for c in listing["charges"].values() if in_july(c)]
    assert summary["charges"]["count"] == len(charges)
    assert summary["charges"]["failed"] == sum(c["status"] == "failed" for c in charges)
    succeeded = [c for c in charges if c["status"] == "succeeded"]
    assert reported(summary, "charges", "amount") == by_currency(succeeded, "amount")
    refunds = [r for r in listing["refunds"].values() if in_july(r)]
    assert refunds and reported(summary, "refunds", "amount") == by_currency(refunds, "amount")
    transactions = [t for t in listing["balance_transactions"].values() if in_july(t)]
    for field in ("amount", "fee", "net"):
        expected = by_currency(transactions, field)
        assert reported(summary, "balance_transactions", field) == expected
        for currency, total in expected.items():
            text = summary["balance_transactions"]["by_currency"][currency][field]["major"]
            assert Decimal(text) == major(total, currency)
    payouts = [p for p in listing["payouts"].values() if in_july(p)]
    assert summary["payouts"]["count"] == len(payouts)
    assert summary["payouts"]["failed"] == sum(p["status"] == "failed" for p in payouts)
    assert reported(summary, "payouts", "amount") == by_currency(payouts, "amount")


def test_csv_refunds_fees_and_payouts_match_the_api(july):
    listing, folder, *_ = july
    for row in rows(folder, "charges"):
        charge = listing["charges"][row["id"]]
        assert Decimal(row["amount_refunded"]) == major(charge["amount_refunded"], row["currency"])
    for row in rows(folder, "balance_transactions"):
        txn = listing["balance_transactions"][row["id"]]
        assert Decimal(row["fee"]) == major(txn["fee"], txn["currency"])
        assert row["payout"] == listing["payout_of"].get(row["id"], "")
    for row in rows(folder, "payouts"):
        payout = listing["payouts"][row["id"]]
        assert Decimal(row["amount"]) == major(payout["amount"], payout["currency"])
        assert row["status"] == payout["status"]


def test_a_rerun_of_a_closed_month_gives_the_same_figures(july, sandbox_server, tmp_path):
    """Refunding a July charge in August changes the charge, not July's figures."""
    listing, folder, _, key, data = july
    before = json.loads((folder / "summary.json").read_text())
    charge = next(
        c
        for c in listing["charges"].values()
        if in_july(c) and c["captured"] and not c["refunded"] and not c["disputed"]
    )
    client = stripe.StripeClient(key, base_addresses={"api": sandbox_server.url})
    client.v1.refunds.create(params={"charge": charge["id"]})
    result = report(sandbox_server, key, folder.parent.parent, data)
    assert result.returncode == 0, result.stderr
    after = json.loads((folder / "summary.json").read_text())
    assert after["as_of"] > before["as_of"]
    assert {**after, "as_of": None} == {**before, "as_of": None}
    refunded = {row["id"]: row["amount_refunded"] for row in rows(folder, "charges")}
    assert Decimal(refunded[charge["id"]]) == major(charge["amount"], charge["currency"])


def test_two_runs_at_once_publish_whole_months(july, sandbox_server, tmp_path):
    """Both succeed; the month is whole, and no staging folder is left behind."""
    _, _, _, key, data = july
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "WORKBENCH_"))}
    environ.update(
        STRIPE_API_KEY=key,
        STRIPE_API_BASE=sandbox_server.url,
        WORKBENCH_DATA_DIR=str(data),
        WORKBENCH_ENV_FILE=os.devnull,
    )
    command = [sys.executable, "-m", "workbench.cli", "report", "--month", "2026-07"]
    runs = [
        subprocess.Popen([*command, "--out", str(tmp_path)], env=environ, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    assert [child.wait(timeout=300) for child in runs] == [0, 0]
    assert sorted(p.name for p in (tmp_path / "default").iterdir()) == ["2026-07"]
    assert sorted(p.name for p in (tmp_path / "default" / "2026-07").iterdir()) == [
        "balance_transactions.csv",
        "charges.csv",
        "payouts.csv",
        "summary.json",
    ]


@pytest.mark.parametrize("month", ["2026-13", "July", "2026-7", "0000-01"])
def test_a_bad_month_writes_nothing(tmp_path, month):
    result = run(
        "report",
        "--month",
        month,
        "--out",
        str(tmp_path / "reports"),
        env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"), "WORKBENCH_ENV_FILE": os.devnull},
    )
    assert_one_line_error(result, "YYYY-MM")
    assert list(tmp_path.iterdir()) == []
