"""Webhook delivery to a real local receiver: signed so that stripe.Webhook verifies it,
retried when the receiver fails, never holding up the API answer."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from workbench.sandbox import webhooks


class Receiver:
    """An HTTP endpoint that records deliveries and answers with the statuses it is given."""

    def __init__(self, statuses=()):
        self.deliveries: list[tuple[bytes, dict]] = []
        self.statuses = list(statuses)
        self.release = threading.Event()
        self.release.set()
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.deliveries.append((body, dict(self.headers)))
                receiver.arrived.set()
                receiver.release.wait(30)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.deliveries) >= count, f"{len(self.deliveries)} of {count} arrived"


@pytest.fixture
def receiver():
    made = []

    def make(statuses=()):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for each in made:
        each.release.set()
        each.server.shutdown()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(webhooks, "RETRY_DELAYS", (0.1, 0.2, 0.3))


def test_delivery_is_signed_and_verifiable(client, receiver):
    hook = receiver()
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": hook.url, "enabled_events": ["charge.succeeded", "customer.created"]}
    )
    assert endpoint.secret.startswith("whsec_")
    assert client.v1.webhook_endpoints.retrieve(endpoint.id).secret is None
    client.v1.customers.create(params={"email": "hook@example.com"})
    charge = client.v1.charges.create(
        params={"amount": 1200, "currency": "usd", "source": "tok_visa"}
    )
    hook.wait_for(2)
    received = {}
    for body, headers in hook.deliveries:
        assert headers["Content-Type"].startswith("application/json")
        event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], endpoint.secret)
        received[event.type] = event
    assert set(received) == {"customer.created", "charge.succeeded"}
    assert received["charge.succeeded"].data.object.id == charge.id
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            hook.deliveries[0][0], hook.deliveries[0][1]["Stripe-Signature"], "whsec_forged"
        )
    forged = hook.deliveries[0][0].replace(b"hook@example.com", b"evil@example.com")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            forged, hook.deliveries[0][1]["Stripe-Signature"], endpoint.secret
        )


def stripe_signature(payload: str, secret: str, timestamp: int) -> str:
    """Stripe's documented scheme, written out here: `t=<timestamp>,v1=<HMAC-SHA256 of
    "<timestamp>.<payload>" keyed with the endpoint secret, in hex>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def test_signatures_follow_stripes_scheme_and_go_stale(client, receiver):
    hook = receiver()
    endpoint = client.v1.webhook_endpoints.create(params={"url": hook.url, "enabled_events": ["*"]})
    client.v1.customers.create()
    hook.wait_for(1)
    body, headers = hook.deliveries[0][0].decode(), hook.deliveries[0][1]
    sent = dict(part.split("=", 1) for part in headers["Stripe-Signature"].split(","))
    assert headers["Stripe-Signature"] == stripe_signature(body, endpoint.secret, int(sent["t"]))
    old = stripe_signature(body, endpoint.secret, int(time.time()) - 600)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(body, old, endpoint.secret)
    fresh = stripe_signature(body, endpoint.secret, int(time.time()))
    assert stripe.Webhook.construct_event(body, fresh, endpoint.secret).type == "customer.created"


def test_failed_deliveries_are_retried(client, receiver, raw):
    hook = receiver(statuses=[500, 503])
    client.v1.webhook_endpoints.create(
        params={"url": hook.url, "enabled_events": ["customer.created"]}
    )
    customer = client.v1.customers.create()
    hook.wait_for(3)
    ids = {json.loads(body)["id"] for body, _ in hook.deliveries}
    assert len(ids) == 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        log = raw("GET", "/_sandbox/webhooks").json()["deliveries"]
        if log and log[0]["status"] == "delivered":
            break
        time.sleep(0.05)
    assert [(d["status"], d["attempts"]) for d in log] == [("delivered", 3)]
    event = client.v1.events.list(params={"type": "customer.created"}).data[0]
    assert event.data.object.id == customer.id and event.pending_webhooks == 0


def test_delivery_never_holds_up_the_api(client, receiver):
    hook = receiver()
    hook.release.clear()  # the receiver takes the delivery and does not answer
    client.v1.webhook_endpoints.create(params={"url": hook.url, "enabled_events": ["*"]})
    client.v1.customers.create()
    assert hook.arrived.wait(20)
    made = [client.v1.customers.create() for _ in range(3)]  # answered while it hangs
    assert len(made) == 3 and len(hook.deliveries) == 1
    hook.release.set()
    hook.wait_for(4)


def test_only_enabled_events_are_sent(client, receiver):
    hook = receiver()
    client.v1.webhook_endpoints.create(
        params={"url": hook.url, "enabled_events": ["charge.refunded"]}
    )
    charge = client.v1.charges.create(
        params={"amount": 900, "currency": "usd", "source": "tok_visa"}
    )
    client.v1.refunds.create(params={"charge": charge.id})
    hook.wait_for(1)
    time.sleep(0.3)
    assert [json.loads(body)["type"] for body, _ in hook.deliveries] == ["charge.refunded"]


def test_endpoint_crud(client):
    made = client.v1.webhook_endpoints.create(
        params={
            "url": "https://example.com/a",
            "enabled_events": ["charge.succeeded"],
            "description": "orders",
        }
    )
    updated = client.v1.webhook_endpoints.update(
        made.id, params={"enabled_events": ["charge.failed"], "disabled": True}
    )
    assert (updated.enabled_events, updated.status) == (["charge.failed"], "disabled")
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [made.id]
    assert client.v1.webhook_endpoints.delete(made.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.webhook_endpoints.retrieve(made.id)
