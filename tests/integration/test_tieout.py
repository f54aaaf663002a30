"""The tie-out against the sandbox's own payout_reconciliation.itemized.5 of a seeded month:
it agrees on every payout the API says arrived in the month, lists exactly a difference the
sandbox plants in its report, works with a restricted key, fails in one line, and, run by
`workbench report monthly --tie-out`, lands in tie_out.csv and summary.json without the key.
Expected figures come from what the API lists (plain HTTP), never from the code under test."""

from __future__ import annotations

import calendar
import csv
import json
import os
from decimal import Decimal

import pytest

from tests.conftest import RawApi
from tests.integration.test_cli import run
from tests.store_vs_api import api_listing, connect, seeded_account
from workbench.monthly import MonthlyReview
from workbench.tieout import TieOutFailed

JULY = (calendar.timegm((2026, 7, 1, 0, 0, 0)), calendar.timegm((2026, 8, 1, 0, 0, 0)))


@pytest.fixture(scope="module")
def account(sandbox_server, tmp_path_factory):
    key = seeded_account(sandbox_server, "tiedout")
    wb = connect(sandbox_server.url, key, tmp_path_factory.mktemp("data"))
    wb.sync(progress=False)
    listing = api_listing(sandbox_server.url, key)
    arrived = {
        p["id"]: p
        for p in listing["payouts"].values()
        if p["automatic"] and JULY[0] <= p["arrival_date"] < JULY[1]
    }
    swept = {
        txn: payout
        for txn, payout in listing["payout_of"].items()
        if payout in arrived and listing["balance_transactions"][txn]["type"] != "payout"
    }
    return {
        "key": key,
        "wb": wb,
        "listing": listing,
        "arrived": arrived,
        "swept": swept,
        "control": RawApi(sandbox_server.url, key),
        "server": sandbox_server,
    }


def test_the_tie_out_agrees_on_every_payout_of_the_month(account):
    review = MonthlyReview(account["wb"], "2026-07")
    result = review.tie_out_status()
    assert result.agrees and review.tie_out().empty
    assert {p["status"] for p in account["arrived"].values()} >= {"paid"}
    assert result.payouts == len(account["arrived"])
    assert result.stripe_rows == result.workbench_rows == len(account["swept"])
    assert review.tie_out_checks() == {"tie_out_agrees": True, "tie_out_differences": 0}
    assert "agrees with ours row by row" in result._repr_markdown_()


def _a_paid_item(account, offset: int) -> dict:
    """A balance transaction the API lists in a paid payout of the month."""
    paid = sorted(
        txn
        for txn, payout in account["swept"].items()
        if account["arrived"][payout]["status"] == "paid"
    )
    return account["listing"]["balance_transactions"][paid[offset]]


def test_a_planted_net_difference_is_listed_exactly(account, tmp_path):
    txn = _a_paid_item(account, 7)
    planted = {"difference": "net", "balance_transaction": txn["id"]}
    assert account["control"]("POST", "/_sandbox/reporting/difference", planted).ok
    review = MonthlyReview(account["wb"], "2026-07")
    found = review.tie_out()
    assert found[["balance_transaction_id", "difference", "fields"]].to_dict("records") == [
        {"balance_transaction_id": txn["id"], "difference": "differs", "fields": "net"}
    ]
    row = found.iloc[0]
    assert (row["stripe_net"], row["workbench_net"]) == (txn["net"] + 1, txn["net"])
    assert row["stripe_automatic_payout_id"] == account["swept"][txn["id"]]
    summary = review.summary(tie_out=True)
    assert summary["checks"]["tie_out_agrees"] is False
    assert summary["checks"]["tie_out_differences"] == 1
    assert summary["tie_out"]["differs"] == 1
    with review.write_tie_out(tmp_path / "tie_out.csv").open(newline="") as stream:
        (written,) = list(csv.DictReader(stream))
    exponent = 0 if txn["currency"] == "jpy" else 2
    assert Decimal(written["stripe_net"]) == Decimal(txn["net"] + 1).scaleb(-exponent)
    assert Decimal(written["workbench_net"]) == Decimal(txn["net"]).scaleb(-exponent)
    again = MonthlyReview(account["wb"], "2026-07")
    assert again.tie_out().empty  # the difference was the one run's


def test_a_row_left_out_of_stripe_report_is_only_in_ours(account):
    txn = _a_paid_item(account, 3)
    planted = {"difference": "missing_row", "balance_transaction": txn["id"]}
    assert account["control"]("POST", "/_sandbox/reporting/difference", planted).ok
    review = MonthlyReview(account["wb"], "2026-07")
    found = review.tie_out()
    assert list(found["balance_transaction_id"]) == [txn["id"]]
    assert list(found["difference"]) == ["only_in_workbench"]
    status = review.tie_out_status()
    assert status.stripe_rows == len(account["swept"]) - 1
    assert f"`{txn['id']}`" in status._repr_markdown_()


def test_a_restricted_key_is_enough(account, tmp_path):
    restricted = "rk_" + account["key"][3:]
    wb = connect(account["server"].url, restricted, tmp_path)
    wb.sync(progress=False)
    assert MonthlyReview(wb, "2026-07").tie_out_status().agrees


def test_a_month_stripe_has_no_data_for_yet_is_one_line_without_the_key(account):
    review = MonthlyReview(account["wb"], "2026-08")  # the seeded clock stops at Aug 1
    with pytest.raises(TieOutFailed) as caught:
        review.tie_out()
    message = str(caught.value)
    assert message.startswith("no Stripe report for 2026-08: Data for")
    assert "only available through 2026-08-01 00:00:00 UTC" in message
    assert "\n" not in message and account["key"] not in message


def test_the_monthly_report_with_tie_out(account, tmp_path):
    out = tmp_path / "reports"
    env = {
        "STRIPE_API_KEY": account["key"],
        "STRIPE_API_BASE": account["server"].url,
        "WORKBENCH_DATA_DIR": str(tmp_path / "data"),
        "WORKBENCH_ENV_FILE": os.devnull,
    }
    result = run("report", "monthly", "--month", "2026-07", "--tie-out", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    folder = out / "default" / "2026-07"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["checks"]["tie_out_agrees"] is True
    assert summary["checks"]["tie_out_differences"] == 0
    assert summary["tie_out"]["stripe_rows"] == len(account["swept"])
    assert (folder / "tie_out.csv").read_text().startswith("balance_transaction_id,difference,")
    assert len((folder / "tie_out.csv").read_text().splitlines()) == 1
    assert "agrees with ours row by row" in (folder / "monthly_report.html").read_text()
    assert "all checks pass" in result.stdout
    for path in out.rglob("*"):
        if path.is_file():
            assert account["key"] not in path.read_text(errors="replace"), path.name
