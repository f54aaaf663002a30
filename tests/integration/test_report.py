"""`workbench report`: a month's CSVs and summary, checked against the API's own listing."""

from __future__ import annotations

import calendar
import csv
import json
import os
from collections import Counter
from decimal import Decimal

import pytest

from tests.integration.test_cli import assert_bad_usage, run
from tests.integration.test_sync import api_listing, seeded_account

JULY = (calendar.timegm((2026, 7, 1, 0, 0, 0)), calendar.timegm((2026, 8, 1, 0, 0, 0)))
EXPONENT = {"usd": 2, "eur": 2, "gbp": 2, "jpy": 0}


def in_july(obj: dict) -> bool:
    return JULY[0] <= obj["created"] < JULY[1]


def major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-EXPONENT[currency])


@pytest.fixture(scope="module")
def july(sandbox_server, tmp_path_factory):
    """The report for July 2026 of a seeded account, written by the command line."""
    key = seeded_account(sandbox_server, "reported")
    out = tmp_path_factory.mktemp("reports")
    result = run(
        "report",
        "--month",
        "2026-07",
        "--out",
        str(out),
        env={
            "STRIPE_API_KEY": key,
            "STRIPE_API_BASE": sandbox_server.url,
            "WORKBENCH_DATA_DIR": str(tmp_path_factory.mktemp("data")),
            "WORKBENCH_ENV_FILE": os.devnull,
        },
    )
    assert result.returncode == 0, result.stderr
    (folder,) = (out / "default").iterdir()
    return api_listing(sandbox_server.url, key), folder, result.stdout


def rows(folder, name: str) -> list[dict]:
    with (folder / f"{name}.csv").open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_every_object_of_the_month_and_no_other(july):
    listing, folder, stdout = july
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
    listing, folder, _ = july
    for row in rows(folder, "balance_transactions"):
        txn = listing["balance_transactions"][row["id"]]
        for field in ("amount", "fee", "net"):
            assert Decimal(row[field]) == major(txn[field], txn["currency"]), (row["id"], field)
    currencies = {row["currency"] for row in rows(folder, "charges")}
    assert "jpy" in currencies, "the seed's zero-decimal charges belong in the export"
    for row in rows(folder, "charges"):
        charge = listing["charges"][row["id"]]
        assert Decimal(row["amount"]) == major(charge["amount"], charge["currency"])


def test_summary_totals_match_the_api(july):
    listing, folder, _ = july
    summary = json.loads((folder / "summary.json").read_text())
    charges = [c for c in listing["charges"].values() if in_july(c)]
    assert summary["charges"]["count"] == len(charges)
    assert summary["charges"]["failed"] == sum(c["status"] == "failed" for c in charges)
    captured = Counter()
    for charge in charges:
        if charge["status"] == "succeeded":
            captured[charge["currency"]] += charge["amount_captured"]
    assert {
        currency: totals["amount_captured"]["minor"]
        for currency, totals in summary["charges"]["by_currency"].items()
    } == dict(captured)
    net = Counter()
    for txn in listing["balance_transactions"].values():
        if in_july(txn):
            net[txn["currency"]] += txn["net"]
    for currency, total in net.items():
        reported = summary["balance_transactions"]["by_currency"][currency]["net"]
        assert reported["minor"] == total
        assert Decimal(reported["major"]) == major(total, currency)
    payouts = [p for p in listing["payouts"].values() if in_july(p)]
    assert summary["payouts"]["count"] == len(payouts)
    assert summary["payouts"]["failed"] == sum(p["status"] == "failed" for p in payouts)


@pytest.mark.parametrize("month", ["2026-13", "July", "2026-7"])
def test_a_bad_month_writes_nothing(tmp_path, month):
    result = run(
        "report",
        "--month",
        month,
        "--out",
        str(tmp_path / "reports"),
        env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"), "WORKBENCH_ENV_FILE": os.devnull},
    )
    assert_bad_usage(result, "YYYY-MM")
    assert list(tmp_path.iterdir()) == []
