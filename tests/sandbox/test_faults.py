"""Injected faults: a client with retries and idempotency keys, under dropped answers and
429 bursts, still makes exactly one charge per logical request."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests
import stripe

from workbench import sandbox
from workbench.sandbox.faults import Faults


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    faults = Faults(drop_rate=0.2, rate_limit=40.0)
    with sandbox.start(tmp_path_factory.mktemp("faulty"), faults=faults) as server:
        yield server


def test_exactly_one_charge_per_logical_request(faulty):
    client = stripe.StripeClient(
        faulty.api_key, base_addresses={"api": faulty.url}, max_network_retries=12
    )
    orders = [f"F-{index:03d}" for index in range(80)]
    errors = []

    def pay(batch):
        for order in batch:
            try:
                client.v1.charges.create(
                    params={
                        "amount": 1000,
                        "currency": "usd",
                        "source": "tok_visa",
                        "metadata": {"order_id": order},
                    }
                )
            except stripe.StripeError as exc:  # pragma: no cover - reported below
                errors.append((order, exc))

    threads = [threading.Thread(target=pay, args=(orders[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    quiet = requests.post(
        f"{faulty.url}/_sandbox/faults",
        data={"drop_rate": "0", "rate_limit": "0"},
        headers={"Authorization": f"Bearer {faulty.api_key}"},
        timeout=10,
    )
    assert quiet.status_code == 200
    made = Counter(
        c.metadata["order_id"]
        for c in client.v1.charges.list(params={"limit": 100}).auto_paging_iter()
    )
    assert made == Counter(orders)


def test_faults_are_visible_and_really_injected(faulty):
    auth = {"Authorization": f"Bearer {faulty.api_key}"}
    requests.post(
        f"{faulty.url}/_sandbox/faults",
        data={"error_rate": "1", "drop_rate": "0", "rate_limit": "0"},
        headers=auth,
        timeout=10,
    )
    answer = requests.get(f"{faulty.url}/v1/balance", headers=auth, timeout=10)
    assert answer.status_code == 500 and answer.json()["error"]["type"] == "api_error"
    assert answer.headers["Stripe-Should-Retry"] == "true"
    requests.post(
        f"{faulty.url}/_sandbox/faults",
        data={"error_rate": "0", "rate_limit": "2"},
        headers=auth,
        timeout=10,
    )
    statuses = [
        requests.get(f"{faulty.url}/v1/balance", headers=auth, timeout=10) for _ in range(6)
    ]
    limited = [a for a in statuses if a.status_code == 429]
    assert limited, [a.status_code for a in statuses]
    assert limited[0].json()["error"]["code"] == "rate_limit"
    assert limited[0].headers["Stripe-Should-Retry"] == "true"
    settings = requests.get(f"{faulty.url}/_sandbox/faults", headers=auth, timeout=10).json()
    assert settings["rate_limit"] == 2.0
    requests.post(
        f"{faulty.url}/_sandbox/faults", data={"rate_limit": "0"}, headers=auth, timeout=10
    )
