"""Sync speed against the sandbox as Stripe would behave: 100,000 balance transactions, 150 ms
of latency per request and a 100 requests/s limit. Prints figures; asserts nothing.

(a) the usual notebook snippet: auto_paging_iter() into a DataFrame, one page after another;
(b) `workbench sync` of the same objects. Targets: (b) at least 8x faster than (a) and at
least 85% of the ceiling (100 requests/s x 100 objects); an incremental run after 1% new
objects makes at most 5% of the full run's requests; a month of 1,000,000 balance
transactions loads from the store into a frame in under 5 seconds (read from SQLite, the
first time; then from its day copies).

    .venv/bin/python benchmarks/sync.py [--skip-naive] [--dir /tmp/workbench-sync-bench]
"""

from __future__ import annotations

import argparse
import calendar
import random
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pandas as pd
import requests
import stripe
from standalone import served

import workbench
from workbench import config, frames, sandbox
from workbench.sandbox import seed
from workbench.sandbox.server import Api
from workbench.store import Store

LATENCY_MS = 150
RATE = 100
CEILING = RATE * 100
UNTIL = calendar.timegm((2026, 11, 1, 0, 0, 0))


def naive(server_url: str) -> tuple[float, int]:
    """What most notebooks do: walk the list with the client, then build a DataFrame."""
    client = stripe.StripeClient(
        sandbox.DEFAULT_KEY, base_addresses={"api": server_url}, max_network_retries=5
    )
    started = time.perf_counter()
    rows = [
        t.to_dict()
        for t in client.v1.balance_transactions.list(params={"limit": 100}).auto_paging_iter()
    ]
    frame = pd.DataFrame(rows)
    return time.perf_counter() - started, len(frame)


def faults(server_url: str, **values) -> None:
    requests.post(
        f"{server_url}/_sandbox/faults",
        data=values,
        timeout=30,
        headers={"Authorization": f"Bearer {sandbox.DEFAULT_KEY}"},
    )


def a_day_of_charges(server_url: str, count: int) -> None:
    """The seeded clock stands still at the end of the history: let a day pass, hour by
    hour, with `count` new charges spread over it, as the next day's sync would find them."""
    for hour in range(24):
        requests.post(
            f"{server_url}/_sandbox/clock/advance",
            data={"seconds": "3600"},
            timeout=120,
            headers={"Authorization": f"Bearer {sandbox.DEFAULT_KEY}"},
        ).raise_for_status()
        add_charges(server_url, count // 24 + (hour < count % 24))


def add_charges(server_url: str, count: int) -> None:
    client = stripe.StripeClient(sandbox.DEFAULT_KEY, base_addresses={"api": server_url})
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: client.v1.charges.create(
                    params={"amount": 1000 + i, "currency": "usd", "source": "tok_visa"}
                ),
                range(count),
            )
        )


def month_of_transactions(directory: Path, count: int) -> tuple[Store, str]:
    """A store holding `count` balance transactions created within one month."""
    store = Store(directory / "frames.sqlite3")
    rng = random.Random(1)
    start = calendar.timegm((2026, 10, 1, 0, 0, 0))
    batch = []
    for index in range(count):
        created = start + index * (31 * 86400) // count
        amount = rng.randrange(500, 50000)
        fee = amount * 29 // 1000 + 30
        batch.append(
            {
                "id": f"txn_{index:024d}",
                "object": "balance_transaction",
                "amount": amount,
                "available_on": created + 2 * 86400,
                "balance_type": "payments",
                "created": created,
                "currency": "usd",
                "description": f"Order {index}",
                "exchange_rate": None,
                "fee": fee,
                "fee_details": [
                    {
                        "amount": fee,
                        "application": None,
                        "currency": "usd",
                        "description": "Stripe processing fees",
                        "type": "stripe_fee",
                    }
                ],
                "net": amount - fee,
                "reporting_category": "charge",
                "source": f"ch_{index}",
                "status": "available",
                "type": "charge",
            }
        )
        if len(batch) == 20000:
            with store.transaction():
                store.upsert("balance_transactions", "bench", batch)
            batch = []
    if batch:
        with store.transaction():
            store.upsert("balance_transactions", "bench", batch)
    return store, "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=15.2, help="seed scale (~100k txns)")
    parser.add_argument("--skip-naive", action="store_true", help="skip (a); it takes minutes")
    parser.add_argument("--dir", default="/tmp/workbench-sync-bench")
    args = parser.parse_args()
    directory = Path(args.dir)
    shutil.rmtree(directory, ignore_errors=True)
    store = Api(directory / "sandbox-data", sandbox.DEFAULT_KEY).store("default")
    truth = seed.seed(store, until=UNTIL, months=6, seed=9, scale=args.scale)
    store.close()
    total = truth["objects"]["balance_transaction"]
    print(
        f"sandbox: {total:,} balance transactions; {LATENCY_MS} ms latency, {RATE} requests/s limit"
    )
    with served(
        directory / "sandbox-data", "--latency-ms", str(LATENCY_MS), "--rate-limit", str(RATE)
    ) as url:
        settings = config.load(
            {
                "STRIPE_API_KEY": sandbox.DEFAULT_KEY,
                "STRIPE_API_BASE": url,
                "WORKBENCH_DATA_DIR": str(directory / "workbench"),
            }
        )
        wb = workbench.connect(settings=settings)
        started = time.perf_counter()
        report = wb.sync(["balance_transactions"], progress=False, rate=RATE)
        fast = time.perf_counter() - started
        rate = report.fetched["balance_transactions"] / fast
        print(
            f"(b) workbench sync: {fast:.1f} s for {report.fetched['balance_transactions']:,} "
            f"objects in {report.requests:,} requests: {rate:,.0f} objects/s = "
            f"{rate / CEILING:.0%} of the {CEILING:,}/s ceiling (target 85%)"
        )
        if not args.skip_naive:
            slow_seconds, rows = naive(url)
            print(
                f"(a) naive auto_paging_iter() into a DataFrame: {slow_seconds:.1f} s for "
                f"{rows:,} rows"
            )
            print(f"speed-up (a)/(b): {slow_seconds / fast:.1f}x (target 8x)")
        faults(url, latency_ms="0", rate_limit="0")
        a_day_of_charges(url, total // 100)
        faults(url, latency_ms=str(LATENCY_MS), rate_limit=str(RATE))
        again = wb.sync(["balance_transactions"], progress=False, rate=RATE)
        print(
            f"incremental after {total // 100:,} new objects (1%): {again.requests} requests "
            f"= {again.requests / report.requests:.1%} of the full run's (target 5%), "
            f"{again.fetched['balance_transactions']:,} objects"
        )

    big, account = month_of_transactions(directory, 1_000_000)
    start, end = "2026-10-01", "2026-11-01"
    started = time.perf_counter()
    frames.load(big, account, "balance_transactions", start, end)
    first = time.perf_counter() - started
    started = time.perf_counter()
    frame = frames.load(big, account, "balance_transactions", start, end)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    rows = big.documents(
        "balance_transactions",
        account,
        "AND o.created >= ? AND o.created < ?",
        (frames.moment(start, "start"), frames.moment(end, "end")),
    )
    naive_frame = pd.json_normalize([orjson.loads(data) for _, data in rows])
    naive_seconds = time.perf_counter() - started
    print(
        f"a month of {len(frame):,} balance transactions into a frame: {first:.2f} s from "
        f"SQLite (target < 5 s), {loaded:.2f} s read again from the day copies; parsing the "
        f"stored JSON instead: {naive_seconds:.2f} s ({naive_seconds / first:.1f}x slower than "
        f"the first, {len(naive_frame):,} rows)"
    )


if __name__ == "__main__":
    main()
