"""The month's analyses at scale: a store holding a month of 1,000,000 balance transactions
(charges, refunds, disputes and daily payouts, written straight into the store), then every
analysis of the monthly review (MonthlyReview: payout reconciliation and checks, the balance
roll-forward, fees, declines, authorizations, disputes, cards, orders, the journal), frames
loaded from the store included: first as the month's first read after a sync (frames from
SQLite, their day copies made), then read again (frames from the copies). Target: under 10
seconds. The naive way, measured in the same run: the same month's charges and balance
transactions parsed from their stored JSON (pd.json_normalize), as most notebooks build frames.
Then the monthly report of that month as `workbench report monthly` makes it (papermill, a
real kernel, HTML and CSVs): target under 60 seconds and an HTML file under 5 MB. Prints
figures; asserts nothing.

    .venv/bin/python benchmarks/analyses.py [--transactions 1000000] [--dir DIR] [--reuse]
"""

from __future__ import annotations

import argparse
import calendar
import csv
import os
import random
import shutil
import time
from pathlib import Path

import orjson
import pandas as pd

import workbench
from workbench import config, reports, sandbox
from workbench.monthly import REPORTED, MonthlyReview
from workbench.sync import KindState

START = calendar.timegm((2026, 10, 1, 0, 0, 0))
DAY = 86400
BATCH = 20_000


def charge(index: int, created: int, amount: int, customer: str, rng: random.Random) -> dict:
    failed = rng.random() < 0.06
    return {
        "id": f"ch_{index:010d}",
        "object": "charge",
        "created": created,
        "amount": amount,
        "amount_captured": 0 if failed else amount,
        "amount_refunded": 0,
        "currency": "usd",
        "status": "failed" if failed else "succeeded",
        "paid": not failed,
        "captured": not failed,
        "refunded": False,
        "disputed": False,
        "customer": customer,
        "failure_code": "card_declined" if failed else None,
        "outcome": {
            "type": "issuer_declined" if failed else "authorized",
            "reason": rng.choice(("insufficient_funds", "generic_decline")) if failed else None,
            "network_status": "declined_by_network" if failed else "approved_by_network",
        },
        "payment_method_details": {
            "card": {
                "brand": rng.choice(("visa", "mastercard", "amex")),
                "funding": "credit",
                "country": "US",
                "last4": "4242",
                "exp_month": 12,
                "exp_year": 2030,
            }
        },
        "calculated_statement_descriptor": "WORKBENCH SHOP",
        "metadata": {"order_id": f"ORD-{index:08d}"},
    }


def transaction(id: str, created: int, amount: int, fee: int, category: str, source: str) -> dict:
    kind = {"dispute": "adjustment", "payout": "payout"}.get(category, category)
    return {
        "id": id,
        "object": "balance_transaction",
        "created": created,
        "amount": amount,
        "fee": fee,
        "net": amount - fee,
        "currency": "usd",
        "type": kind,
        "reporting_category": category,
        "status": "available",
        "available_on": created - created % DAY + 2 * DAY,
        "source": source,
        "description": None,
        "fee_details": [{"amount": fee, "currency": "usd", "type": "stripe_fee"}] if fee else [],
    }


def build(wb, count: int, orders_path: Path) -> None:
    """A month of `count` balance transactions in the store, as a sync would leave them."""
    rng = random.Random(7)
    store, account = wb.store, wb.partition()
    customers = [f"cus_{n:06d}" for n in range(5000)]
    charges, transactions, refunds, orders = [], [], [], []
    per_day = count * 93 // 100 // 31
    unpaid: dict[int, list[str]] = {}

    def flush(force: bool = False) -> None:
        for name, batch in (
            ("charges", charges),
            ("balance_transactions", transactions),
            ("refunds", refunds),
        ):
            if batch and (force or len(batch) >= BATCH):
                with store.transaction():
                    store.upsert(name, account, batch)
                batch.clear()

    index = 0
    for day in range(31):
        for _ in range(per_day):
            created = START + day * DAY + rng.randrange(DAY)
            amount = rng.randrange(500, 20000)
            made = charge(index, created, amount, rng.choice(customers), rng)
            charges.append(made)
            orders.append((made["metadata"]["order_id"], created, amount))
            if made["status"] == "succeeded":
                fee = amount * 29 // 1000 + 30
                txn = transaction(f"txn_c{index:010d}", created, amount, fee, "charge", made["id"])
                transactions.append(txn)
                unpaid.setdefault(txn["available_on"], []).append(txn["id"])
                if rng.random() < 0.05:
                    refund_id = f"re_{index:010d}"
                    refunds.append(
                        {
                            "id": refund_id,
                            "object": "refund",
                            "created": created + 3600,
                            "amount": amount,
                            "currency": "usd",
                            "charge": made["id"],
                            "status": "succeeded",
                            "reason": "requested_by_customer",
                        }
                    )
                    made.update(amount_refunded=amount, refunded=True)
                    back = transaction(
                        f"txn_r{index:010d}", created + 3600, -amount, 0, "refund", refund_id
                    )
                    transactions.append(back)
                    unpaid.setdefault(back["available_on"], []).append(back["id"])
            index += 1
            flush()
    flush(force=True)
    payouts = []
    for available in sorted(unpaid):
        ids = unpaid[available]
        marks = ", ".join("?" * len(ids))
        rows = store.conn.execute(
            f"SELECT SUM(net) FROM balance_transactions WHERE account = ? AND id IN ({marks})",
            (account, *ids),
        ).fetchone()
        payout_id = f"po_{available}"
        payouts.append(
            {
                "id": payout_id,
                "object": "payout",
                "created": available,
                "amount": rows[0],
                "arrival_date": available + DAY,
                "currency": "usd",
                "status": "paid",
                "automatic": True,
            }
        )
        with store.transaction():
            store.upsert(
                "balance_transactions",
                account,
                [transaction(f"txn_{payout_id}", available, -rows[0], 0, "payout", payout_id)],
            )
            store.assign_payout(account, payout_id, [*ids, f"txn_{payout_id}"])
    with store.transaction():
        store.upsert("payouts", account, payouts)
        store.upsert(
            "customers",
            account,
            [
                {"id": c, "object": "customer", "created": START - DAY, "email": f"{c}@example.com"}
                for c in customers
            ],
        )
        for name in REPORTED:
            KindState(synced_at=time.time()).save(store, account, name)
    with orders_path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["order_id", "created", "amount", "currency", "status"])
        for order_id, created, amount in orders:
            writer.writerow(
                [
                    order_id,
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
                    f"{amount // 100}.{amount % 100:02d}",
                    "USD",
                    "paid",
                ]
            )


ANALYSES = (
    "payout_checks",
    "balance_summary",
    "activity",
    "fees_by_type",
    "fees_by_category",
    "effective_rate",
    "fees_by_presentment",
    "daily",
    "refund_rate",
    "declines",
    "open_authorizations",
    "expired_authorizations",
    "open_disputes",
    "dispute_outcomes",
    "expiring_cards",
    "orders",
    "order_discrepancies",
    "journal",
    "clearing",
    "checks",
)


def reviewed(wb, directory: Path) -> tuple[float, MonthlyReview]:
    """Seconds for every analysis of the review, its inputs read first; and the review."""
    started = time.perf_counter()
    review = MonthlyReview(wb, "2026-10", orders=directory / "orders.csv").load()
    for name in ANALYSES:
        getattr(review, name)
    return time.perf_counter() - started, review


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--dir", default="/tmp/workbench-analyses-bench")
    parser.add_argument("--reuse", action="store_true", help="keep a store built by a past run")
    args = parser.parse_args()
    directory = Path(args.dir)
    reuse = args.reuse and (directory / "orders.csv").exists()
    if not reuse:
        shutil.rmtree(directory, ignore_errors=True)
    with sandbox.start(directory / "sandbox") as server:
        environment = {
            "STRIPE_API_KEY": server.api_key,
            "STRIPE_API_BASE": server.url,
            "WORKBENCH_DATA_DIR": str(directory / "workbench"),
        }
        settings = config.load(environment)
        wb = workbench.connect(settings=settings)
        started = time.perf_counter()
        if not reuse:
            build(wb, args.transactions, directory / "orders.csv")
        stored = wb.store.count("balance_transactions", wb.partition())
        print(
            f"store: {stored:,} balance transactions in October 2026, "
            + ("reused" if reuse else f"built in {time.perf_counter() - started:.0f} s")
        )
        shutil.rmtree(wb.store.copies, ignore_errors=True)
        first, review = reviewed(wb, directory)
        print(
            f"every monthly analysis, the month's first read (frames from SQLite, copies made): "
            f"{first:.2f} s; {len(review.reconciliation):,} payout items, "
            f"{len(review.orders):,} orders matched, checks {review.checks}"
        )
        fast, again = reviewed(wb, directory)
        print(
            f"every monthly analysis, read again (frames from the day copies): {fast:.2f} s "
            f"(target < 10 s); checks {again.checks}"
        )
        started = time.perf_counter()
        naive = {}
        for name in ("charges", "balance_transactions"):
            rows = wb.store.documents(
                name,
                wb.partition(),
                "AND o.created >= ? AND o.created < ?",
                (START, START + 31 * DAY),
            )
            naive[name] = pd.json_normalize([orjson.loads(data) for _, data in rows])
        slow = time.perf_counter() - started
        print(
            f"the naive way, only the month's charges and balance transactions parsed from JSON: "
            f"{slow:.2f} s ({slow / fast:.1f}x the whole review)"
        )
        os.environ.update(environment)  # the report's kernel connects as the command would
        started = time.perf_counter()
        folder, summary = reports.monthly(
            wb, "2026-10", directory / "reports", orders=directory / "orders.csv"
        )
        took = time.perf_counter() - started
        html = (folder / "monthly_report.html").stat().st_size
        csvs = sum(path.stat().st_size for path in folder.glob("*.csv"))
        print(
            f"the monthly report (papermill, HTML, CSVs): {took:.1f} s (target < 60 s; "
            f"{took / fast:.1f}x the analyses alone); HTML {html / 1e6:.2f} MB (target < 5 MB), "
            f"CSVs {csvs / 1e6:.0f} MB; checks {summary['checks']}"
        )


if __name__ == "__main__":
    main()
