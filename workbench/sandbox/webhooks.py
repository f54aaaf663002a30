"""Webhook delivery, in the background, signed as Stripe signs it.

Events are queued (table `deliveries`) in the same transaction that records them; a thread
per server posts them, so the API answer never waits for a receiver. Each attempt carries
`Stripe-Signature: t=<now>,v1=<HMAC-SHA256 of "t.body" with the endpoint secret>`, which
`stripe.Webhook.construct_event` verifies. A failed attempt (no 2xx within 5 s) is retried
after 1, 5 and 25 seconds, then given up: Stripe retries over hours; the sandbox, over
half a minute. Deliveries are claimed with a lease, so two servers never send one twice.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
import urllib.error
import urllib.request

from workbench.sandbox.state import as_answer

log = logging.getLogger("workbench.sandbox")
RETRY_DELAYS = (1, 5, 25)
TIMEOUT = 5
LEASE = 30
IDLE_WAIT = 0.5


def signature(payload: str, secret: str, timestamp: int) -> str:
    digest = hmac.new(
        secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


class Deliverer:
    """One background thread delivering the queued events of every account a server holds."""

    def __init__(self, api):
        self.api = api
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout=TIMEOUT + 1)

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(IDLE_WAIT)
            self._wake.clear()
            for store in self.api.stores():
                try:
                    while self._deliver_due(store) and not self._stopped.is_set():
                        pass
                except Exception:  # keep delivering other accounts; log, never crash the server
                    log.exception("webhook delivery failed")

    def _deliver_due(self, store) -> bool:
        now = time.time()
        with store.transaction():
            claimed = store.conn.execute(
                "UPDATE deliveries SET claimed_until = ? WHERE seq IN ("
                " SELECT seq FROM deliveries WHERE status = 'pending' AND next_attempt <= ?"
                " AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY seq LIMIT 20)"
                " RETURNING seq, event, endpoint, attempts",
                (now + LEASE, now, now),
            ).fetchall()
        for seq, event_id, endpoint_id, attempts in sorted(claimed):
            self._attempt(store, seq, event_id, endpoint_id, attempts)
        return bool(claimed)

    def _attempt(self, store, seq: int, event_id: str, endpoint_id: str, attempts: int) -> None:
        with store.transaction(write=False):
            raw = store.raw(event_id)
            payload = as_answer(raw) if raw is not None else None
            endpoint = store.get(endpoint_id, "webhook_endpoint")
            secret = store.private(endpoint_id).get("secret")
        if payload is None or endpoint is None:
            with store.transaction():
                store.conn.execute("UPDATE deliveries SET status = 'dropped' WHERE seq = ?", (seq,))
            return
        status = self._post(endpoint["url"], payload, secret)
        with store.transaction():
            if status is not None and 200 <= status < 300:
                store.conn.execute(
                    "UPDATE deliveries SET status = 'delivered', attempts = ?, "
                    "last_status = ? WHERE seq = ?",
                    (attempts + 1, status, seq),
                )
                event = store.get(event_id, "event")
                if event is not None:
                    event["pending_webhooks"] = max(event["pending_webhooks"] - 1, 0)
                    store.update(event)
            elif attempts < len(RETRY_DELAYS):
                store.conn.execute(
                    "UPDATE deliveries SET attempts = ?, last_status = ?, next_attempt = ?, "
                    "claimed_until = NULL WHERE seq = ?",
                    (attempts + 1, status, time.time() + RETRY_DELAYS[attempts], seq),
                )
            else:
                store.conn.execute(
                    "UPDATE deliveries SET status = 'failed', attempts = ?, "
                    "last_status = ? WHERE seq = ?",
                    (attempts + 1, status, seq),
                )

    @staticmethod
    def _post(url: str, payload: str, secret: str) -> int | None:
        request = urllib.request.Request(
            url,
            data=payload.encode("utf-8"),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": signature(payload, secret, int(time.time())),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (OSError, ValueError):
            return None


def delivery_log(store) -> list[dict]:
    """What was delivered where, for /_sandbox/webhooks and tests."""
    rows = store.conn.execute(
        "SELECT event, endpoint, status, attempts, last_status FROM deliveries ORDER BY seq"
    ).fetchall()
    return [
        dict(zip(("event", "endpoint", "status", "attempts", "last_status"), row, strict=True))
        for row in rows
    ]
