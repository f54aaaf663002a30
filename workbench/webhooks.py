"""Webhooks from the receiving side: Stripe (or the sandbox) POSTs each event, signed with
the endpoint's secret, to a URL of ours. A receiver must check the signature before it
trusts the body (`verify`, through the official client's `stripe.Webhook`), and answer 2xx
quickly or Stripe retries.

`Receiver` is a small local endpoint for notebooks and tests: the sandbox can reach it;
Stripe itself cannot reach 127.0.0.1 (use `stripe listen --forward-to` for that) and a live
endpoint must be HTTPS. Secrets are kept out of reprs and outputs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import stripe

from workbench.exceptions import WorkbenchError

STAND_IN = {
    "id": "evt_example",
    "object": "event",
    "type": "charge.succeeded",
    "data": {"object": {"id": "ch_example", "object": "charge"}},
}


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send for `payload` (for trying `verify`)."""
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.{payload}".encode(), hashlib.sha256)
    return f"t={moment},v1={digest.hexdigest()}"


def verify(payload: str | bytes, header: str | None, secret: str) -> stripe.Event:
    """The event in `payload` if its signature is the endpoint's; a one-line error if not
    (tampered, signed with another secret, or older than five minutes)."""
    try:
        return stripe.Webhook.construct_event(payload, header, secret)
    except stripe.SignatureVerificationError as exc:
        raise WorkbenchError(f"webhook signature rejected: {exc.user_message or exc}") from None
    except ValueError:
        raise WorkbenchError("webhook body is not a JSON event") from None


def endpoints(wb) -> pd.DataFrame:
    """The account's webhook endpoints: where events go, which, and whether over HTTPS."""
    rows = [
        {
            "id": e.id,
            "url": e.url,
            "status": e.status,
            "https": e.url.startswith("https://"),
            "enabled_events": ", ".join(e.enabled_events),
        }
        for e in wb.client.v1.webhook_endpoints.list(params={"limit": 100}).auto_paging_iter()
    ]
    return pd.DataFrame(rows, columns=["id", "url", "status", "https", "enabled_events"])


class Receiver:
    """A local webhook endpoint on 127.0.0.1 that keeps what it is sent and answers 200.
    `trust(...)` gives it the endpoint's signing secret; `events()` verifies each
    delivery with it."""

    def __init__(self):
        self.deliveries: list[tuple[bytes, str | None]] = []
        self._arrived = threading.Condition()
        self._secret: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.end_headers()
                with receiver._arrived:
                    receiver.deliveries.append((body, self.headers.get("Stripe-Signature")))
                    receiver._arrived.notify_all()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def trust(self, registered) -> None:
        """Verify with the signing secret of the endpoint that
        actions.register_webhook_endpoint made (its result), or with a secret itself."""
        if isinstance(registered, str):
            self._secret = registered
        else:
            self._secret = getattr(registered.object, "secret", None)

    def wait(self, count: int = 1, timeout: float = 30.0) -> int:
        """Until `count` deliveries have arrived (or `timeout` seconds); how many did."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.deliveries) >= count, timeout)
            return len(self.deliveries)

    def events(self) -> pd.DataFrame:
        """Every delivery, verified: id, type, the object it is about, and whether the
        signature held."""
        rows = []
        for body, header in list(self.deliveries):
            try:
                event = verify(body, header, self._secret or "")
                rows.append(
                    {
                        "id": event.id,
                        "type": event.type,
                        "object": event.data.object.id,
                        "verified": True,
                    }
                )
            except WorkbenchError as exc:
                rows.append({"id": None, "type": None, "object": str(exc), "verified": False})
        return pd.DataFrame(rows, columns=["id", "type", "object", "verified"])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __repr__(self) -> str:
        return f"<webhook receiver {self.url}: {len(self.deliveries)} deliveries>"


def example(wb) -> tuple[str, str, str]:
    """The account's newest event (a stand-in when it has none) as Stripe would deliver
    it: its JSON body, the Stripe-Signature header and the throw-away secret it was signed
    with (made here, shown nowhere)."""
    newest = wb.client.v1.events.list(params={"limit": 1}).data
    event = newest[0].to_dict() if newest else STAND_IN
    payload = json.dumps(event)
    secret = "whsec_" + secrets.token_hex(16)
    return payload, sign(payload, secret), secret


def check(payload: str | bytes, header: str | None, secret: str) -> str:
    """`verify` in words: which event a delivery holds, or why it was rejected."""
    try:
        event = verify(payload, header, secret)
    except WorkbenchError as exc:
        return f"rejected: {exc}"
    return f"verified: {event.id} ({event.type})"
