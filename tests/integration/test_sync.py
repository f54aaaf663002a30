"""Sync against the sandbox over HTTP: the store ends equal to what the API lists, after a
full run, after an incremental one, after kill -9, and under 429s and dropped connections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import stripe

from tests.store_vs_api import (
    api_listing,
    assert_same,
    connect,
    seeded_account,
    stored,
    stored_rows,
)
from workbench import sandbox
from workbench.sandbox.faults import Faults
from workbench.store import CHILDREN, KINDS
from workbench.sync import Sync


@pytest.fixture(scope="module")
def history(sandbox_server):
    return seeded_account(sandbox_server, "synced")


def test_full_sync_equals_the_api_listing(sandbox_server, history, tmp_path):
    wb = connect(sandbox_server.url, history, tmp_path)
    report = wb.sync(progress=False, rate=1000)
    truth = api_listing(sandbox_server.url, history)
    assert_same(truth, stored(wb))
    assert report.fetched["charges"] == len(truth["charges"]) > 500
    assert len(truth["payout_of"]) > 100


def test_object_types_are_fetched_side_by_side_under_endpoint_limits(
    sandbox_server, history, tmp_path
):
    """With Stripe's 25 requests/s per endpoint, one type at a time would hold a live sync
    to a quarter of the account's 100: the types' requests must interleave."""
    wb = connect(sandbox_server.url, history, tmp_path)
    asked = []

    class Recorded(Sync):
        def get(self, path, **params):
            if "created" in params:  # a slice's page, not a check or a follow-up
                asked.append(path)
            return super().get(path, **params)

    runner = Recorded(wb.client, wb.store, wb.partition(), rate=1000, endpoint_rate=200)
    runner.run(["charges", "refunds", "balance_transactions"])
    switches = sum(earlier != later for earlier, later in zip(asked, asked[1:], strict=False))
    assert len(set(asked)) == 3 and switches > 2, "one type waited for another"
    assert_same(
        {name: api_listing(sandbox_server.url, history)[name] for name in ("charges", "refunds")},
        stored(wb),
    )


def test_incremental_sync_picks_up_every_change(sandbox_server, tmp_path):
    key = seeded_account(sandbox_server, "incremental")
    wb = connect(sandbox_server.url, key, tmp_path)
    full = wb.sync(progress=False, rate=1000)
    c = wb.client.v1
    old = [
        ch
        for ch in c.charges.list(params={"limit": 100}).data
        if ch.captured and not ch.refunded and not ch.disputed
    ][:3]
    customer = c.customers.list(params={"limit": 1}).data[0]
    c.refunds.create(params={"charge": old[0].id, "amount": 100})
    c.refunds.create(params={"charge": old[1].id})
    c.charges.update(old[2].id, params={"metadata": {"note": "checked"}})
    c.customers.update(customer.id, params={"email": "changed@example.com"})
    card = c.customers.payment_sources.create(customer.id, params={"source": "tok_amex"})
    auth = c.charges.create(
        params={"amount": 4000, "currency": "usd", "source": "tok_visa", "capture": False}
    )
    later = c.charges.create(
        params={"amount": 7000, "currency": "eur", "source": "tok_visa", "capture": False}
    )
    c.charges.create(params={"amount": 5100, "currency": "usd", "source": "tok_createDispute"})
    c.charges.capture(auth.id, params={"amount": 3500})
    requests.post(
        f"{sandbox_server.url}/_sandbox/clock/advance",
        data={"days": "8"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    incremental = wb.sync(progress=False, rate=1000)
    truth = api_listing(sandbox_server.url, key)
    assert_same(truth, stored(wb))
    assert truth["charges"][later.id]["refunded"] is True  # expired on the clock
    assert card.id in stored(wb)["cards"]
    # Each synced type costs two requests a run (a probe and its first page): with twelve
    # types they are most of what a two-month history's incremental run asks.
    assert incremental.requests < full.requests / 3


class Gate:
    """A proxy in front of the sandbox that serves the first `allow` pages of slice listings
    and holds every later one, so a sync stops after exactly those pages, whatever the
    machine's speed. Counts the rows those pages put in a store (objects and the children they
    carry: saved cards, subscription items, invoice lines)."""

    def __init__(self, upstream: str, allow: int):
        self.upstream = upstream
        self.allow = allow
        self.sent = 0  # pages answered in full
        self.rows: set[str] = set()
        self.release = threading.Event()
        self._lock = threading.Lock()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                query = parse_qs(urlsplit(self.path).query)
                listing = any(key.startswith("created") for key in query)
                if listing:
                    with gate._lock:
                        allowed = gate.allow > 0
                        gate.allow -= 1
                    if not allowed:
                        gate.release.wait()
                        self.close_connection = True
                        return
                answer = requests.get(
                    gate.upstream + self.path,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                    timeout=30,
                )
                if listing and answer.status_code == 200:
                    with gate._lock:
                        for obj in answer.json()["data"]:
                            gate.rows.add(obj["id"])
                            for child in CHILDREN.values():  # cards, items, lines
                                if obj["object"] == KINDS[child.within.parent].object:
                                    listed = obj.get(child.within.field) or {"data": []}
                                    gate.rows.update(item["id"] for item in listed["data"])
                self.send_response(answer.status_code)
                for name in ("Content-Type", "Request-Id", "Stripe-Version"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)
                if listing:
                    with gate._lock:
                        gate.sent += 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.slow
@pytest.mark.parametrize("pages", [0, 3, 9, 20])
def test_kill_9_then_rerun_ends_with_the_same_store(sandbox_server, history, tmp_path, pages):
    """Killed after exactly `pages` pages are committed (read back from the store), the next
    run resumes and ends with the store an uninterrupted run makes."""
    expected = api_listing(sandbox_server.url, history)
    gate = Gate(sandbox_server.url, pages)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "WORKBENCH_"))}
    env.update(STRIPE_API_KEY=history, WORKBENCH_DATA_DIR=str(tmp_path))
    command = [sys.executable, "-m", "workbench.cli", "sync", "--quiet", "--rate", "1000"]
    try:
        child = subprocess.Popen(command, env={**env, "STRIPE_API_BASE": gate.url})
        deadline = time.monotonic() + 120
        while gate.sent < pages or stored_rows(tmp_path) < len(gate.rows):
            assert child.poll() is None, "the sync ended before it was killed"
            assert time.monotonic() < deadline, "the gated sync never committed its pages"
            time.sleep(0.02)
        assert stored_rows(tmp_path) == len(gate.rows)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        gate.close()
    finished = subprocess.run(command, env={**env, "STRIPE_API_BASE": sandbox_server.url})
    assert finished.returncode == 0
    assert_same(expected, stored(connect(sandbox_server.url, history, tmp_path)))


def test_429_storms_and_dropped_connections(tmp_path_factory):
    """With the client's own retries off, every 429, 500 and dropped answer reaches the
    sync, which must retry until the store is whole."""
    rough = Faults(rate_limit=40.0, drop_rate=0.1, error_rate=0.05)
    with sandbox.start(tmp_path_factory.mktemp("rough"), faults=rough) as server:
        key = seeded_account(server, "rough")
        wb = connect(server.url, key, tmp_path_factory.mktemp("roughstore"))
        bare = stripe.StripeClient(key, base_addresses={"api": server.url}, max_network_retries=0)
        report = Sync(bare, wb.store, wb.partition(), rate=200, threads=8).run()
        requests.post(
            f"{server.url}/_sandbox/faults",
            data={"rate_limit": "0", "drop_rate": "0", "error_rate": "0"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert_same(api_listing(server.url, key), stored(wb))
        assert report.retries > 0


def test_a_reader_and_two_syncs_at_once(sandbox_server, history, tmp_path):
    """A reader keeps its snapshot while two syncs write (they take turns), and both end
    with the store equal to the API."""
    first = connect(sandbox_server.url, history, tmp_path)
    second = connect(sandbox_server.url, history, tmp_path)
    partition = first.partition(refresh=True)
    reader = first.store.conn
    reader.execute("BEGIN")
    count = "SELECT COUNT(*) FROM charges WHERE account = ?"
    assert reader.execute(count, (partition,)).fetchone()[0] == 0  # the snapshot starts here
    errors = []

    def run(wb):
        try:
            wb.sync(progress=False, rate=1000, threads=4)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(wb,)) for wb in (first, second)]
    for thread in threads:
        thread.start()
    watcher = connect(sandbox_server.url, history, tmp_path).store.conn
    deadline = time.monotonic() + 120
    while watcher.execute(count, (partition,)).fetchone()[0] == 0:
        assert time.monotonic() < deadline, "no sync committed a charge"
        time.sleep(0.02)
    assert reader.execute(count, (partition,)).fetchone()[0] == 0  # its snapshot, no lock error
    reader.execute("COMMIT")
    for thread in threads:
        thread.join()
    assert errors == []
    assert_same(api_listing(sandbox_server.url, history), stored(first))
