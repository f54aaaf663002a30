"""Sync against the sandbox over HTTP: the store ends equal to what the API lists, after a
full run, after an incremental one, after kill -9, and under 429s and dropped connections."""

from __future__ import annotations

import calendar
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import orjson
import pytest
import requests

import workbench
from workbench import config, sandbox
from workbench.sandbox import seed
from workbench.sandbox.faults import Faults
from workbench.sandbox.server import Api
from workbench.store import KINDS
from workbench.sync import DEFAULT_KINDS, Sync

UNTIL = calendar.timegm((2026, 8, 1, 0, 0, 0))
LISTED = {name: KINDS[name].path for name in DEFAULT_KINDS}


def seeded_account(server, name: str, **kwargs) -> str:
    """Seed a sandbox account of `server`; returns its key."""
    store = Api(server.data_dir, server.api_key).store(name)
    seed.seed(store, until=UNTIL, months=2, seed=5, scale=0.3, name=name, **kwargs)
    store.close()
    return f"{server.api_key}_{name}"


def connect(server_url: str, key: str, data_dir) -> workbench.Session:
    settings = config.load(
        {"STRIPE_API_KEY": key, "STRIPE_API_BASE": server_url, "WORKBENCH_DATA_DIR": str(data_dir)}
    )
    return workbench.connect(settings=settings)


def api_listing(url: str, key: str) -> dict[str, dict[str, dict]]:
    """Everything the API lists, per object type, by id: the independent ground truth."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {key}"
    found = {}
    for name, path in LISTED.items():
        objects, params = {}, {"limit": 100}
        if name == "customers":
            params["expand[]"] = "data.sources"
        while True:
            page = http.get(url + path, params=params, timeout=30).json()
            objects.update((obj["id"], obj) for obj in page["data"])
            if not page["has_more"]:
                break
            params["starting_after"] = page["data"][-1]["id"]
        found[name] = objects
    found["cards"] = {
        card["id"]: card
        for customer in found["customers"].values()
        for card in customer["sources"]["data"]
    }
    for customer in found["customers"].values():
        del customer["sources"]  # stored unexpanded; its cards are compared as cards
    payouts = {}
    for payout in found["payouts"]:
        page = http.get(
            url + "/v1/balance_transactions", params={"payout": payout, "limit": 100}, timeout=30
        ).json()
        payouts.update((txn["id"], payout) for txn in page["data"])
    found["payout_of"] = payouts
    return found


def stored(wb: workbench.Session) -> dict[str, dict[str, dict]]:
    partition = wb.partition()
    found = {}
    for name in (*DEFAULT_KINDS, "cards"):
        rows = wb.store.conn.execute(
            f"SELECT id, data FROM {name} WHERE account = ?", (partition,)
        ).fetchall()
        found[name] = {object_id: orjson.loads(data) for object_id, data in rows}
    found["payout_of"] = dict(
        wb.store.conn.execute(
            "SELECT id, payout FROM balance_transactions WHERE account = ? AND payout IS NOT NULL",
            (partition,),
        ).fetchall()
    )
    return found


def assert_same(expected: dict, actual: dict) -> None:
    """Equal, object for object; events may be more (the store keeps those Stripe dropped
    after 30 days)."""
    for name in expected:
        if name == "events":
            assert set(actual[name]) >= set(expected[name])
        else:
            assert set(actual[name]) == set(expected[name]), name
        for object_id, obj in expected[name].items():
            assert actual[name][object_id] == obj, (name, object_id)


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
    assert incremental.requests < full.requests / 4


def stored_rows(data_dir) -> int:
    """How many objects a (possibly running) sync has committed so far."""
    path = data_dir / "store.sqlite3"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return sum(
                conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]
                for name in (*DEFAULT_KINDS, "cards")
            )
    except sqlite3.Error:
        return 0


def test_kill_9_then_rerun_ends_with_the_same_store(tmp_path_factory):
    slow = Faults(latency_ms=10.0)
    with sandbox.start(tmp_path_factory.mktemp("killsandbox"), faults=slow) as server:
        key = seeded_account(server, "killed")
        reference = connect(server.url, key, tmp_path_factory.mktemp("reference"))
        reference.sync(progress=False, rate=1000)
        expected = stored(reference)
        total = sum(len(expected[name]) for name in (*DEFAULT_KINDS, "cards"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "WORKBENCH_"))}
        env.update(STRIPE_API_KEY=key, STRIPE_API_BASE=server.url)
        command = [sys.executable, "-m", "workbench.cli", "sync", "--quiet", "--rate", "1000"]
        for index, share in enumerate((0.0, 0.3, 0.6, 0.95)):
            data_dir = tmp_path_factory.mktemp(f"killed{index}")
            env["WORKBENCH_DATA_DIR"] = str(data_dir)
            child = subprocess.Popen(command, env=env)
            deadline = time.monotonic() + 120
            while stored_rows(data_dir) <= share * total and child.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=30) == -signal.SIGKILL, "the sync ended before the kill"
            assert stored_rows(data_dir) < total, "killed too late to test anything"
            finished = subprocess.run(command, env=env, timeout=300)
            assert finished.returncode == 0
            assert_same(expected, stored(connect(server.url, key, data_dir)))


def test_429_storms_and_dropped_connections(tmp_path_factory):
    rough = Faults(rate_limit=40.0, drop_rate=0.1, error_rate=0.05)
    with sandbox.start(tmp_path_factory.mktemp("rough"), faults=rough) as server:
        key = seeded_account(server, "rough")
        wb = connect(server.url, key, tmp_path_factory.mktemp("roughstore"))
        report = wb.sync(progress=False, rate=200, threads=8)
        requests.post(
            f"{server.url}/_sandbox/faults",
            data={"rate_limit": "0", "drop_rate": "0", "error_rate": "0"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert_same(api_listing(server.url, key), stored(wb))
        assert report.requests > sum(report.fetched.values()) / 100


def test_a_reader_and_two_syncs_at_once(sandbox_server, history, tmp_path):
    first = connect(sandbox_server.url, history, tmp_path)
    second = connect(sandbox_server.url, history, tmp_path)
    partition = first.partition(refresh=True)
    reader = first.store.conn
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM charges").fetchone()  # holds a read snapshot
    errors = []

    def run(wb):
        try:
            wb.sync(progress=False, rate=1000, threads=4)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(wb,)) for wb in (first, second)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    assert (
        reader.execute("SELECT COUNT(*) FROM charges WHERE account = ?", (partition,)).fetchone()[0]
        == 0
    )  # its snapshot, not a lock error
    reader.execute("COMMIT")
    for thread in threads:
        thread.join()
    assert errors == []
    assert_same(api_listing(sandbox_server.url, history), stored(first))
