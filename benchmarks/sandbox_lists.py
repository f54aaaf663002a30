"""List throughput of the sandbox for full 100-object pages: it must reach 200 requests/s on
this 2-core machine, so that it never bottlenecks a sync held to Stripe's live rate limit of
100 requests/s. Prints figures; asserts nothing.

The server runs as its own process (`workbench sandbox serve`), as a standalone sandbox
would; the load comes from client threads here, over keep-alive HTTP connections, with
http.client: `requests` spends longer reading a 400 KB page of charges than the server takes
to make it, and the server is what is measured.

    .venv/bin/python benchmarks/sandbox_lists.py [--seconds 10] [--threads 4]
"""

from __future__ import annotations

import argparse
import calendar
import http.client
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import stripe
from standalone import served

from workbench.sandbox import DEFAULT_KEY, seed
from workbench.sandbox.server import Api

TARGET = 200


def cursors(url: str, path: str) -> list[str]:
    """Every `starting_after` that opens a full page, from one walk of the list."""
    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=30)
    headers = {"Authorization": f"Bearer {DEFAULT_KEY}"}
    ids, target = [], f"{path}?limit=100"
    while True:
        connection.request("GET", target, headers=headers)
        page = orjson.loads(connection.getresponse().read())
        ids.extend(obj["id"] for obj in page["data"])
        if not page["has_more"]:
            return ids[99:-100:100]
        target = f"{path}?limit=100&starting_after={ids[-1]}"


def hammer(url: str, path: str, seconds: float, threads: int) -> int:
    """Full pages from all over the list, from `threads` keep-alive connections; the answers
    are read but not parsed, so that the client does not become what is measured."""
    starts = cursors(url, path)
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def work(slot: int) -> None:
        connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=30)
        headers = {"Authorization": f"Bearer {DEFAULT_KEY}"}
        while time.perf_counter() < stop:
            cursor = starts[(slot + threads * counts[slot]) % len(starts)]
            connection.request("GET", f"{path}?limit=100&starting_after={cursor}", headers=headers)
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                raise SystemExit(f"{path}: HTTP {answer.status}")
            counts[slot] += 1

    workers = [threading.Thread(target=work, args=(slot,)) for slot in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--dir", default="/tmp/workbench-sandbox-lists")
    args = parser.parse_args()
    directory = Path(args.dir)
    shutil.rmtree(directory, ignore_errors=True)
    store = Api(directory, DEFAULT_KEY).store("default")
    truth = seed.seed(
        store, until=calendar.timegm((2026, 11, 1, 0, 0, 0)), months=3, seed=2, scale=2.0
    )
    store.close()
    with served(directory) as url:
        print(
            f"history: {truth['objects']['charge']:,} charges, "
            f"{truth['objects']['balance_transaction']:,} balance transactions"
        )
        for path in ("/v1/balance_transactions", "/v1/charges"):
            rate = hammer(url, path, args.seconds, args.threads) / args.seconds
            print(
                f"{path}: {rate:,.0f} requests/s of 100 objects ({rate * 100:,.0f} "
                f"objects/s) with {args.threads} client threads "
                f"(target {TARGET}: {'met' if rate >= TARGET else 'NOT met'})"
            )
        client = stripe.StripeClient(DEFAULT_KEY, base_addresses={"api": url})
        started = time.perf_counter()
        pages = 0
        for _ in range(20):
            client.v1.balance_transactions.list(params={"limit": 100})
            pages += 1
        per_page = (time.perf_counter() - started) / pages
        print(
            f"for comparison, one thread through the official client (parsing into "
            f"StripeObjects): {1 / per_page:,.0f} pages/s of balance transactions"
        )


if __name__ == "__main__":
    main()
