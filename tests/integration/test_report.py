"""`workbench report`: the monthly report run by papermill as cron runs it, its files checked
against the API's own listing and against the analyses run directly; failures, concurrency,
kills and secrets."""

from __future__ import annotations

import calendar
import csv
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import stripe

from tests.integration.test_cli import run
from tests.store_vs_api import api_listing, connect, seeded_account, seeded_truth
from workbench.monthly import MonthlyReview

JULY = (calendar.timegm((2026, 7, 1, 0, 0, 0)), calendar.timegm((2026, 8, 1, 0, 0, 0)))
EXPONENT = {"usd": 2, "eur": 2, "gbp": 2, "jpy": 0}
FILES = [
    "balance_activity.csv",
    "balance_summary.csv",
    "balance_transactions.csv",
    "charges.csv",
    "deposits.csv",
    "disputes.csv",
    "fees_by_category.csv",
    "fees_by_type.csv",
    "journal.beancount",
    "journal.csv",
    "journal_quickbooks.csv",
    "journal_xero.csv",
    "monthly_report.html",
    "monthly_report.ipynb",
    "mrr_movements.csv",
    "open_authorizations.csv",
    "order_discrepancies.csv",
    "payout_checks.csv",
    "payout_reconciliation.csv",
    "payouts.csv",
    "summary.json",
]
SECRET = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9_]+|whsec_[A-Za-z0-9]+")


def in_july(obj: dict) -> bool:
    return JULY[0] <= obj["created"] < JULY[1]


def major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-EXPONENT[currency])


def environment(server, key: str, data) -> dict:
    return {
        "STRIPE_API_KEY": key,
        "STRIPE_API_BASE": server.url,
        "WORKBENCH_DATA_DIR": str(data),
        "WORKBENCH_ENV_FILE": os.devnull,
    }


@pytest.fixture(scope="module")
def july(sandbox_server, tmp_path_factory):
    """The report for July 2026 of a seeded account, written by the command line."""
    files = tmp_path_factory.mktemp("files")
    key = seeded_account(sandbox_server, "reported", files=files)
    out, data = tmp_path_factory.mktemp("reports"), tmp_path_factory.mktemp("data")
    env = environment(sandbox_server, key, data)
    merchant = [
        "--orders",
        str(files / "orders-reported.csv"),
        "--statement",
        str(files / "bank-reported.csv"),
    ]
    result = run("report", "monthly", "--month", "2026-07", "--out", str(out), *merchant, env=env)
    assert result.returncode == 0, result.stderr
    return {
        "listing": api_listing(sandbox_server.url, key),
        "folder": out / "default" / "2026-07",
        "out": out,
        "stdout": result.stdout,
        "key": key,
        "data": data,
        "env": env,
        "merchant": merchant,
        "server": sandbox_server,
        "truth": seeded_truth(sandbox_server, "reported"),
    }


def rows(folder, name: str) -> list[dict]:
    with (folder / name).open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_the_report_has_every_file_and_an_html_that_opens_offline(july):
    folder = july["folder"]
    assert sorted(p.name for p in folder.iterdir()) == FILES
    page = (folder / "monthly_report.html").read_text()
    assert "<script" not in page
    assert not re.search(r'(src|href)="https?://', page), "the page fetches something"
    assert page.count("data:image/png;base64") >= 3  # the charts, inside
    assert (folder / "monthly_report.html").stat().st_size < 5_000_000
    assert "wrote " in july["stdout"] and "monthly_report.html" in july["stdout"]
    index = (july["out"] / "index.html").read_text()
    assert 'href="default/2026-07/monthly_report.html"' in index


def test_listings_match_the_api(july):
    listing, folder = july["listing"], july["folder"]
    for name, source in (("charges", "charges"), ("balance_transactions", "balance_transactions")):
        expected = {i for i, obj in listing[source].items() if in_july(obj)}
        assert expected and {row["id"] for row in rows(folder, f"{name}.csv")} == expected
    for row in rows(folder, "balance_transactions.csv"):
        txn = listing["balance_transactions"][row["id"]]
        for field in ("amount", "fee", "net"):
            assert Decimal(row[field]) == major(txn[field], txn["currency"]), (row["id"], field)
    for row in rows(folder, "charges.csv"):
        charge = listing["charges"][row["id"]]
        assert Decimal(row["amount_refunded"]) == major(charge["amount_refunded"], row["currency"])
    assert "jpy" in {row["currency"] for row in rows(folder, "charges.csv")}


def test_payout_reconciliation_is_what_the_api_says_each_payout_holds(july):
    listing, folder = july["listing"], july["folder"]
    swept = defaultdict(set)
    for txn_id, payout in listing["payout_of"].items():
        if listing["balance_transactions"][txn_id]["type"] != "payout":
            swept[payout].add(txn_id)
    items = rows(folder, "payout_reconciliation.csv")
    by_payout = defaultdict(set)
    for row in items:
        by_payout[row["automatic_payout_id"]].add(row["balance_transaction_id"])
        txn = listing["balance_transactions"][row["balance_transaction_id"]]
        assert Decimal(row["net"]) == major(txn["net"], txn["currency"])
    assert by_payout and all(by_payout[p] == swept[p] for p in by_payout)
    for row in rows(folder, "payout_checks.csv"):
        payout = listing["payouts"][row["id"]]
        assert Decimal(row["amount"]) == major(payout["amount"], payout["currency"])
        assert row["reconciled"] == "True"


def test_deposits_are_the_months_payouts_and_strays_as_the_seed_planted_them(july):
    """The statement covers every month; July's deposits.csv holds July's paid payouts (from
    the API), each matched unless the seed planted a discrepancy on it, and the stray
    deposits dated in July: a payout of June deposited on July 1st is not a stray."""
    planted = july["truth"]["bank"]
    kind = {payout: name for name, ids in planted.items() if name != "no_payout" for payout in ids}
    expected = sorted(
        (p["id"], kind.get(p["id"], "matched"))
        for p in july["listing"]["payouts"].values()
        if p["status"] == "paid" and p["automatic"] and in_july({"created": p["arrival_date"]})
    )
    shown = rows(july["folder"], "deposits.csv")
    assert sorted((r["payout"], r["result"]) for r in shown if r["payout"]) == expected
    strays = [d for d in planted["no_payout"] if d.startswith("2026-07")]
    assert [r["deposit_date"] for r in shown if r["result"] == "no_payout"] == strays
    summary = json.loads((july["folder"] / "summary.json").read_text())
    agrees = all(result == "matched" for _, result in expected) and not strays
    assert summary["checks"]["deposits_matched"] is agrees


def test_the_summary_equals_the_analyses_run_directly(july):
    summary = json.loads((july["folder"] / "summary.json").read_text())
    wb = connect(july["server"].url, july["key"], july["data"])
    review = MonthlyReview.of(
        wb, "2026-07", orders=july["merchant"][1], statement=july["merchant"][3]
    )
    assert summary["checks"] == json.loads(json.dumps(review.checks))
    headline = review.headline()
    assert {
        c: {n: f["minor"] for n, f in figures.items()} for c, figures in summary["headline"].items()
    } == headline
    previous = review.previous().headline()
    assert (
        summary["headline"]["usd"]["gross_volume"]["previous_minor"]
        == previous["usd"]["gross_volume"]
    )
    gross = sum(
        t["amount"]
        for t in july["listing"]["balance_transactions"].values()
        if in_july(t) and t["reporting_category"] == "charge"
    )
    assert headline["usd"]["gross_volume"] == gross  # and that is the API's own sum
    assert summary["checks"]["payouts_reconciled"] and summary["checks"]["roll_forward_balanced"]
    assert summary["checks"]["journal_balanced"]


def test_the_subscriptions_section_holds_the_books_july(july):
    """The seed's subscription book worked out July's MRR from its own stories: the
    summary, the CSV and the page say the same."""
    server = july["server"]
    truth = json.loads((Path(server.data_dir) / "sandbox" / "reported.truth.json").read_text())
    planted = truth["subscriptions"]["months"]["2026-07"]
    summary = json.loads((july["folder"] / "summary.json").read_text())
    found = summary["subscriptions"]
    assert {c: {k: v for k, v in f.items() if k != "mrr_at_risk"} for c, f in found.items()} == (
        planted
    )
    assert summary["checks"]["mrr_balanced"] and summary["checks"]["invoices_tied_out"]
    for row in rows(july["folder"], "mrr_movements.csv"):
        assert Decimal(row["closing"]) == major(
            planted[row["currency"]]["closing"], row["currency"]
        )
    page = (july["folder"] / "monthly_report.html").read_text()
    assert "Subscriptions" in page and "MRR rolls forward" in page


def test_no_secret_lands_in_the_reports(july):
    key = july["key"]
    assert key.startswith("sk_test_") and len(key) > 20
    found = []
    for path in july["out"].rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            if key in text or SECRET.search(text):
                found.append(path.name)
    assert found == []


def test_a_rerun_of_a_closed_month_gives_the_same_figures(july):
    """Refunding a July charge in August changes the charge, not July's figures."""
    folder = july["folder"]
    before = json.loads((folder / "summary.json").read_text())
    charge = next(
        c
        for c in july["listing"]["charges"].values()
        if in_july(c) and c["captured"] and not c["refunded"] and not c["disputed"]
    )
    client = stripe.StripeClient(july["key"], base_addresses={"api": july["server"].url})
    client.v1.refunds.create(params={"charge": charge["id"]})
    again = run(
        "report",
        "monthly",
        "--month",
        "2026-07",
        "--out",
        str(july["out"]),
        *july["merchant"],
        env=july["env"],
    )
    assert again.returncode == 0, again.stderr
    after = json.loads((folder / "summary.json").read_text())
    assert after["as_of"] > before["as_of"]
    for section in ("headline", "period", "clearing"):
        assert after[section] == before[section], section
    ledger = ("payouts_reconciled", "roll_forward_balanced", "journal_balanced")
    assert [after["checks"][c] for c in ledger] == [before["checks"][c] for c in ledger]
    # Orders are a work list as of the sync: the refund makes one more to look at.
    assert after["checks"]["order_discrepancies"] >= before["checks"]["order_discrepancies"]
    refunded = {row["id"]: row["amount_refunded"] for row in rows(folder, "charges.csv")}
    assert Decimal(refunded[charge["id"]]) == major(charge["amount"], charge["currency"])


def test_a_failing_notebook_leaves_no_month_and_keeps_the_failed_one(july, tmp_path):
    broken = tmp_path / "orders.csv"
    broken.write_text("order_id,created,amount,currency,status\nA,2026-07-01,1.0x,USD,paid\n")
    result = run(
        "report",
        "monthly",
        "--month",
        "2026-07",
        "--no-sync",
        "--out",
        str(tmp_path / "out"),
        "--orders",
        str(broken),
        env=july["env"],
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("workbench: error: monthly_report.ipynb failed in cell")
    assert "FileError" in line and "2026-07.failed/" in line
    account = tmp_path / "out" / "default"
    assert sorted(p.name for p in account.iterdir()) == ["2026-07.failed"]
    assert (account / "2026-07.failed" / "monthly_report.ipynb").is_file()
    assert "the report failed" in (tmp_path / "out" / "index.html").read_text()


def test_a_killed_run_leaves_no_half_month(july, tmp_path):
    """Killed (the whole process group, kernel too) once the notebook is under way."""
    out = tmp_path / "out"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "WORKBENCH_"))}
    environ.update(july["env"])
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workbench.cli",
            "report",
            "monthly",
            "--month",
            "2026-07",
            "--no-sync",
            "--out",
            str(out),
            *july["merchant"],
        ],
        env=environ,
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(out.glob("default/.2026-07.*/monthly_report.ipynb")):
        assert child.poll() is None, "the report ended before it was killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert not (out / "default" / "2026-07").exists()
    assert not (out / "default" / "2026-07.failed").exists()


def locked(path: Path) -> bool:
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def test_report_due_makes_each_month_once_even_twice_at_once(july, tmp_path):
    out = tmp_path / "out"
    today = datetime.now(UTC)
    last = f"{today.year - (today.month == 1)}-{(today.month - 2) % 12 + 1:02d}"
    command = ["report", "due", "--since", last, "--out", str(out)]
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "WORKBENCH_"))}
    environ.update(july["env"])
    first = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", *command],
        env=environ,
        stdout=subprocess.PIPE,
        text=True,
    )
    lock = out / ".due.lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and locked(lock)):
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    second = run(*command, env=july["env"])
    assert second.returncode == 0 and "another `workbench report due` is running" in second.stdout
    assert first.wait(timeout=600) == 0
    made = sorted(p.name for p in (out / "default").iterdir())
    expected = [last]  # the last complete month, and no other since
    assert made == expected
    again = run(*command, env=july["env"])
    assert again.returncode == 0 and "every complete month has its report" in again.stdout
    index = (out / "index.html").read_text()
    assert all(f'href="default/{m}/monthly_report.html"' in index for m in expected)


@pytest.mark.parametrize("month", ["2026-13", "July", "2026-7", "0000-01"])
def test_a_bad_month_writes_nothing(tmp_path, month):
    result = run(
        "report",
        "monthly",
        "--month",
        month,
        "--out",
        str(tmp_path / "reports"),
        env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"), "WORKBENCH_ENV_FILE": os.devnull},
    )
    assert result.returncode in (1, 2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "YYYY-MM" in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "reports").exists()


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="install Debian's chromium")
def test_the_html_renders_its_charts_in_a_browser_with_no_network(july, tmp_path):
    """Opened from the file system, as a treasurer would open the file: from the index, in
    chromium with every request beyond the file system refused. Screenshots in tmp_path."""
    from playwright.sync_api import expect, sync_playwright

    from tests.notebooks.test_browser import FLAGS

    fetched = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("request", lambda request: fetched.append(request.url))
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(("file:", "data:"))
                else route.abort()
            ),
        )
        try:
            page.goto((july["out"] / "index.html").as_uri())
            page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
            page.get_by_role("link", name="2026-07").click()
            expect(page.get_by_role("heading", name="Is everything reconciled?")).to_be_visible()
            charts = page.locator("img")
            assert charts.count() >= 3
            widths = charts.evaluate_all("images => images.map(i => i.complete && i.naturalWidth)")
            assert all(width and width >= 300 for width in widths), widths
            expect(page.get_by_role("heading", name="The books")).to_be_visible()
            assert "Traceback" not in page.inner_text("body")
            page.screenshot(path=str(tmp_path / "monthly_report.png"), full_page=True)
        finally:
            browser.close()
    assert [url for url in fetched if not url.startswith(("file:", "data:"))] == []
    assert (tmp_path / "monthly_report.png").stat().st_size > 50_000
