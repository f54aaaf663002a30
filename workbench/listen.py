"""`workbench listen`: a local webhook endpoint that keeps the store current between syncs.

A delivery is trusted only if its `Stripe-Signature` verifies with the endpoint's secret and
is at most five minutes old (workbench.webhooks.verify, through the official client), and
if that very signature was not seen before: a captured delivery sent again is refused (400),
while Stripe's own retry of an event, signed anew, is acknowledged (200) and not stored twice.

What is newer. Stripe does not deliver events in order, and an event's snapshot may be older
than what the store holds (or than the object: some changes send no event), so a snapshot is
never written. The event itself is stored (an event never changes), and every synced object
it names is read again from the API, as the sync does with the events it lists (Sync.refresh).
Each such read and its write happen while holding the account's sync lock: a sync and the
listener take turns, so whatever is written last was read last, and the store only ever
moves forward. Deliveries are acknowledged at once and applied by one worker thread, in the
order they came; one acknowledged but not yet applied when the listener stops is found by
the next sync, as every event is.

With the sandbox the listener registers its own endpoint (all events) and removes it on
exit; with Stripe, which cannot reach 127.0.0.1, deliveries come through `stripe listen
--forward-to` or a tunnel, and the secret is STRIPE_WEBHOOK_SECRET. The secret is never shown.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager

import orjson

from workbench import actions, webhooks
from workbench.config import redact
from workbench.exceptions import ConfigError, WorkbenchError
from workbench.local_http import Reply, Request, Server
from workbench.sync import RATES, Sync

TOLERANCE = 300  # seconds: Stripe's, and the official client's default
FORWARD_TIMEOUT = 10
PATH = "/webhooks"


class Rejected(WorkbenchError):
    """A delivery that is not trusted: forged, stale, replayed or not an event."""


class Verifier:
    """Stripe's signature check plus replay protection: a signature is accepted once. Those
    older than the tolerance are forgotten, as the check refuses them anyway."""

    def __init__(self, secret: str, tolerance: int = TOLERANCE):
        self._secret = secret
        self.tolerance = tolerance
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, payload: bytes, header: str | None) -> dict:
        """The event in `payload`, or Rejected saying why (never with the secret in it)."""
        if not header or len(header) > 2000:
            raise Rejected("no Stripe-Signature header")
        try:
            webhooks.verify(payload, header, self._secret)
        except WorkbenchError as exc:
            raise Rejected(str(exc)) from None
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise Rejected("webhook body is not a JSON event") from None
        if not (
            isinstance(event, dict)
            and event.get("object") == "event"
            and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str)
            and isinstance(event.get("data"), dict)
            and isinstance(event["data"].get("object"), dict)
        ):
            raise Rejected("the body is not an event")
        signed = _signed_content(payload, header)
        now = time.time()
        with self._lock:
            for seen, at in list(self._seen.items()):
                if at < now - self.tolerance:
                    del self._seen[seen]
            if signed in self._seen:
                raise Rejected("replayed: this signature was already delivered")
            self._seen[signed] = now
        return event


def _signed_content(payload: bytes, header: str) -> str:
    """What a verified signature signs, `t.payload`, hashed: the same however the header
    around it is reshaped (elements reordered, a second v1 or a v0 added, the time written
    with leading zeros), so a captured delivery cannot be replayed by rewriting its header.
    The header is read as the official client reads it: the first `t`, as an integer."""
    items = [item.split("=", 2) for item in header.split(",")]
    moment = int(next(item[1] for item in items if item[0] == "t"))
    return hashlib.sha256(f"{moment}.".encode() + payload).hexdigest()


class Listener:
    """Verifies deliveries (`receive`), then stores each event once and reads again the
    objects it names, in a worker thread. `on_event(event)` runs after an event is first
    applied (the demo shop fulfils orders there); `out` hears one line per event."""

    def __init__(
        self,
        wb,
        secret: str,
        *,
        forward_to: str | None = None,
        forward_secret: str | None = None,
        on_event: Callable[[dict], None] | None = None,
        out: Callable[[str], None] = print,
    ):
        self.wb = wb
        self.verifier = Verifier(secret)
        self.forward_to = forward_to
        self._forward_secret = forward_secret or secret
        self.on_event = on_event
        self.out = out
        self.partition = wb.partition()
        self.livemode = wb.profile == "live"
        self.sync = Sync(wb.client, wb.store, self.partition, rate=RATES[wb.profile], threads=4)
        self._queue: queue.Queue[dict | None] = queue.Queue()
        self._queued: set[str] = set()  # ids waiting for the worker: a retry is not queued twice
        self._done = threading.Condition()
        self._received = 0
        self._applied = 0
        self._worker = threading.Thread(target=self._work, name="listener", daemon=True)
        self._worker.start()

    # the HTTP side

    def app(self, request: Request) -> Reply:
        if request.method != "POST":
            return Reply(405, "POST Stripe's webhook deliveries here.\n", headers={"Allow": "POST"})
        status, text = self.receive(request.body, request.headers.get("stripe-signature"))
        return Reply(status, text + "\n")

    def receive(self, payload: bytes, header: str | None) -> tuple[int, str]:
        """One delivery: (400, why) if it is not trusted, else (200, what happens to it)."""
        try:
            event = self.verifier.check(payload, header)
        except Rejected as exc:
            self.out(f"{_now()}  x-- rejected: {exc}")
            return 400, f"rejected: {exc}"
        if bool(event.get("livemode")) != self.livemode:
            mode = "live" if event.get("livemode") else "test"
            self.out(f"{_now()}  x-- rejected: a {mode}-mode event for a {self.wb.profile} account")
            return 400, f"rejected: a {mode}-mode event"
        event_id = event["id"]
        with self._done:
            retry = event_id in self._queued
            if not retry:
                self._queued.add(event_id)
                self._received += 1
        if retry:
            self.out(f"{_now()}  --> {event['type']} [{event_id}] retried: already queued")
            return 200, "already received"
        self._queue.put(event)
        return 200, "received"

    # the worker

    def _work(self) -> None:
        while (event := self._queue.get()) is not None:
            try:
                self._apply(event)
            except Exception as exc:  # keep listening; the next sync reads what was missed
                self.out(f"{_now()}  !!! {event['type']} [{event['id']}] failed: {exc}")
            with self._done:
                self._queued.discard(event["id"])
                self._applied += 1
                self._done.notify_all()

    def _apply(self, event: dict) -> None:
        """Read again what the event names, then store the event (so a stored event is an
        applied one), both under the sync lock."""
        store = self.wb.store
        with store.sync_lock(self.partition):
            known = store.stored("events", self.partition, event["id"]) is not None
            read = 0 if known else self.sync.refresh([event])
            if not known:
                with store.transaction():
                    store.upsert("events", self.partition, [event])
        note = "already stored" if known else "stored"
        if read:
            note += f", {read} object read again"
        self.out(f"{_now()}  --> {event['type']} [{event['id']}] {note}")
        if self.forward_to:
            self._forward(event)
        if not known and self.on_event is not None:
            self.on_event(event)

    def _forward(self, event: dict) -> None:
        """Pass the event on, signed anew with the forwarding secret (as `stripe listen`
        signs what it forwards), so the target checks it as it would Stripe's."""
        payload = orjson.dumps(event).decode()
        request = urllib.request.Request(
            self.forward_to,
            data=payload.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": webhooks.sign(payload, self._forward_secret),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=FORWARD_TIMEOUT) as answer:
                status = str(answer.status)
        except urllib.error.HTTPError as exc:
            status = str(exc.code)
        except (OSError, ValueError) as exc:
            status = f"failed: {getattr(exc, 'reason', exc)}"
        self.out(f"{_now()}  <-- [{status}] POST {self.forward_to} [{event['id']}]")

    def wait(self, count: int, timeout: float = 30.0) -> bool:
        """Until `count` deliveries (all received so far, if more) have been applied."""
        with self._done:
            return self._done.wait_for(lambda: self._applied >= count, timeout)

    @property
    def applied(self) -> int:
        with self._done:
            return self._applied

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=60)


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def secret_for(wb) -> str | None:
    """The endpoint secret to verify with when the listener does not register its own
    endpoint (with Stripe): STRIPE_WEBHOOK_SECRET."""
    secret = wb.settings.webhook_secret
    return secret.reveal() if secret is not None else None


@contextmanager
def listening(
    wb,
    *,
    port: int = 0,
    forward_to: str | None = None,
    on_event: Callable[[dict], None] | None = None,
    out: Callable[[str], None] = print,
):
    """A Listener on 127.0.0.1:`port`/webhooks (plain HTTP, as `stripe listen` forwards),
    its sandbox endpoint registered while it runs. Yields (listener, url)."""
    configured = secret_for(wb)
    if wb.profile != "sandbox" and configured is None:
        raise ConfigError(
            "set STRIPE_WEBHOOK_SECRET (in .env or the environment) to the endpoint's signing "
            "secret, or to the one `stripe listen --forward-to` prints"
        )
    if forward_to and configured is None:
        raise ConfigError(
            f"set STRIPE_WEBHOOK_SECRET: what is forwarded to {forward_to} is signed with it, "
            "for the target to check (with the sandbox, any whsec_ value of your own)"
        )
    holder: dict = {}
    server = Server(lambda request: holder["listener"].app(request), port)
    url = f"{server.url}{PATH}"
    endpoint, secret, listener = None, configured, None
    try:
        if wb.profile == "sandbox":
            registered = actions.register_webhook_endpoint(wb, url, ["*"]).object
            endpoint, secret = registered.id, registered.secret
        listener = holder["listener"] = Listener(
            wb, secret, forward_to=forward_to, forward_secret=configured, on_event=on_event, out=out
        )
        server.start()
        where = f"endpoint {endpoint} registered with the sandbox" if endpoint else "Stripe"
        out(
            f"listening on {url} for {wb.account!r} ({where}; secret {redact(secret)})"
            + (f", forwarding to {forward_to}" if forward_to else "")
        )
        yield listener, url
    finally:
        server.stop()
        if listener is not None:
            listener.close()
        if endpoint:
            wb.client.v1.webhook_endpoints.delete(endpoint)
