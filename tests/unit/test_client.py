"""The client factory: api base, retries, and the live-write guard below every service."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from workbench.client import MAX_NETWORK_RETRIES, make_client
from workbench.config import Account, ApiKey
from workbench.exceptions import LiveWriteRefused

LIVE = "sk_live_" + "Q1w2E3r4" * 4


@pytest.fixture
def recorder():
    """A stand-in API that records every request that reaches it."""
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            seen.append((self.command, self.path))
            body = json.dumps({"id": "ch_1", "object": "charge"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def live(base: str) -> Account:
    return Account("default", ApiKey(LIVE), "live", base)


def test_live_key_refuses_every_kind_of_write(recorder):
    base, seen = recorder
    client = make_client(live(base))
    writes = [
        lambda: client.v1.charges.create(params={"amount": 100, "currency": "usd"}),
        lambda: client.v1.charges.capture("ch_1"),
        lambda: client.v1.refunds.create(params={"charge": "ch_1"}),
        lambda: client.v1.customers.update("cus_1", params={"email": "a@b.c"}),
        lambda: client.v1.customers.delete("cus_1"),
    ]
    for write in writes:
        with pytest.raises(LiveWriteRefused, match="WORKBENCH_ALLOW_LIVE_WRITES=1") as caught:
            write()
        assert LIVE[8:] not in str(caught.value)
    assert seen == []
    client.v1.charges.retrieve("ch_1")
    assert seen == [("GET", "/v1/charges/ch_1")]


def test_a_live_key_may_ask_for_a_report_run(recorder):
    """A report run moves no money; Stripe lets read-only keys create them."""
    base, seen = recorder
    client = make_client(live(base))
    client.v1.reporting.report_runs.create(params={"report_type": "balance.summary.1"})
    assert seen == [("POST", "/v1/reporting/report_runs")]
    with pytest.raises(LiveWriteRefused):
        client.v1.files.create(params={"purpose": "dispute_evidence", "file": b"x"})


def test_live_writes_allowed_by_opt_in(recorder):
    base, seen = recorder
    client = make_client(live(base), allow_live_writes=True)
    client.v1.charges.create(params={"amount": 100, "currency": "usd"})
    assert seen == [("POST", "/v1/charges")]


def test_test_keys_write_without_opt_in(recorder):
    base, seen = recorder
    client = make_client(Account("default", ApiKey("sk_test_abc"), "test", base))
    client.v1.charges.create(params={"amount": 100, "currency": "usd"})
    assert seen == [("POST", "/v1/charges")]


def test_client_settings():
    client = make_client(
        Account("default", ApiKey("sk_test_abc"), "test", None), api_base="http://127.0.0.1:9/"
    )
    options = client._requestor._options
    assert options.base_addresses["api"] == "http://127.0.0.1:9"
    assert options.max_network_retries == MAX_NETWORK_RETRIES >= 2
    assert client._requestor._client._timeout <= 60
    default = make_client(Account("default", ApiKey("sk_test_abc"), "test", None))
    assert default._requestor._options.base_addresses["api"] == stripe.DEFAULT_API_BASE
