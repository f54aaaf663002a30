"""A request's view of one account: its store, the instant it happens at, ids and events.

Models take a Backend and never see HTTP. A Backend is cheap and made per request (or per
seeded day), so `now` is one instant for everything a request writes.
"""

from __future__ import annotations

import binascii
import functools
import pickle
import random
import string
from collections.abc import Callable
from typing import TypeVar

from workbench.sandbox.exceptions import ResourceMissing, SandboxError
from workbench.sandbox.state import AccountState, loads

T = TypeVar("T")
API_VERSION = "2026-10-28.endive"
EVENT_RETENTION = 30 * 86400
_SORTED = string.digits + string.ascii_uppercase + string.ascii_lowercase  # in ASCII order
_STAMP = 6
_ALTCHARS = bytes.maketrans(b"+/", b"xZ")  # base64 with letters for its two symbols
_SYSTEM_RANDOM = random.SystemRandom()
# The label Stripe's "No such ..." message uses for each object.
LABELS = {
    "payment_intent": "payment_intent",
    "payment_method": "PaymentMethod",
    "balance_transaction": "balance transaction",
    "webhook_endpoint": "webhook endpoint",
    "card": "source",
}


def new_id(
    prefix: str, length: int = 24, rng: random.Random = _SYSTEM_RANDOM, moment: int | None = None
) -> str:
    """Stripe-style ids: a type prefix, then (as Stripe's own ids do) a part that grows with
    time, so ids made later sort later and index inserts stay local, then random letters."""
    if moment is None:
        return f"{prefix}_{_token(length, rng)}"
    return f"{prefix}_{_stamp(moment)}{_token(length - _STAMP, rng)}"


_PAIRS = [high + low for high in _SORTED for low in _SORTED]  # two digits, 0 to 62**2 - 1


def _stamp(moment: int) -> str:
    """`moment` in six base-62 digits; the first four change about once an hour."""
    hour, rest = divmod(moment, 62 * 62)
    return _hour(hour) + _PAIRS[rest]


@functools.lru_cache(maxsize=256)
def _hour(hour: int) -> str:
    return _PAIRS[hour // (62 * 62) % (62 * 62)] + _PAIRS[hour % (62 * 62)]


def _token(length: int, rng: random.Random) -> str:
    size = (length + 3) // 4 * 3  # whole base64 quanta: no padding
    raw = rng.getrandbits(8 * size).to_bytes(size, "big")
    return binascii.b2a_base64(raw, newline=False).translate(_ALTCHARS)[:length].decode()


class Backend:
    def __init__(
        self,
        store: AccountState,
        *,
        now: int | None = None,
        rng: random.Random | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        origin: str | None = None,
        pages: str | None = None,
    ):
        self.store = store
        # Where the sandbox serves this account's pages (a Checkout Session's `url` points
        # there); None outside a request (the clock, the seed).
        self.pages = pages
        self.now = store.now() if now is None else now
        self.rng = rng or _SYSTEM_RANDOM
        self.request_id = request_id
        self.idempotency_key = idempotency_key
        self.origin = origin  # the server's address, for URLs answers carry (a file's url)
        self.keep_events_from = self.now - EVENT_RETENTION
        self.events_written: list[str] = []
        self._endpoints: list[dict] | None = None
        self._account: dict | None = None

    def new_id(self, prefix: str, length: int = 24) -> str:
        return new_id(prefix, length, self.rng, self.now)

    def token(self, length: int = 16) -> str:
        return _token(length, self.rng)

    def get(self, object_id: str, kind: str, *, param: str = "id") -> dict:
        """The object, or Stripe's 404 `No such charge: 'ch_...'`."""
        obj = self.store.get(object_id, kind) if isinstance(object_id, str) else None
        if obj is None:
            raise ResourceMissing(LABELS.get(kind, kind), str(object_id), param)
        return obj

    @property
    def account(self) -> dict:
        """The account object, read once per Backend (models change it in place)."""
        if self._account is None:
            self._account = self.store.setting("account")
        return self._account

    def records_events(self, created: int | None = None) -> bool:
        """Whether an event at `created` (default now) is still inside Stripe's 30 days."""
        return (self.now if created is None else created) >= self.keep_events_from

    def emit(
        self, event_type: str, obj: dict, previous: dict | None = None, created: int | None = None
    ) -> None:
        """Record an event (and queue its webhook deliveries), as Stripe does on every change."""
        created = self.now if created is None else created
        if not self.records_events(created):
            return
        automatic = self.request_id is None
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "account": None,
            "api_version": self.account["api_version"] if self.account else API_VERSION,
            "context": None,
            "created": created,
            "data": {"object": obj, "previous_attributes": previous},
            "livemode": False,
            "pending_webhooks": 0,
            "request": {
                "id": None if automatic else self.request_id,
                "idempotency_key": None if automatic else self.idempotency_key,
            },
            "type": event_type,
        }
        endpoints = [
            e
            for e in self.endpoints()
            if "*" in e["enabled_events"] or event_type in e["enabled_events"]
        ]
        event["pending_webhooks"] = len(endpoints)
        self.store.insert(event)
        self.events_written.append(event["id"])
        for endpoint in endpoints:
            self.store.conn.execute(
                "INSERT INTO deliveries (event, endpoint, next_attempt) VALUES (?, ?, 0)",
                (event["id"], endpoint["id"]),
            )

    def attempt(self, work: Callable[[], T]) -> T:
        """`work()` inside a savepoint: a SandboxError undoes its writes (and is raised
        again), unless it is one that Stripe keeps (a declined charge is stored as failed)."""
        conn = self.store.conn
        conn.execute("SAVEPOINT request")
        try:
            result = work()
        except SandboxError as exc:
            if not exc.persists:
                conn.execute("ROLLBACK TO request")
                self.events_written.clear()
            conn.execute("RELEASE request")
            raise
        conn.execute("RELEASE request")
        return result

    def change(self, obj: dict, *events: str, **columns) -> Change:
        """The one way to change a stored object: `with backend.change(charge,
        "charge.updated"): charge[...] = ...` snapshots it, lets the block change it, writes
        it (with `columns`, e.g. `due=None`) and emits each event with Stripe's
        `previous_attributes`, if anything changed. An error in the block writes nothing."""
        return Change(self, obj, list(events), columns)

    def snapshot(self, obj: dict) -> dict | None:
        """A deep copy to diff against for an event's previous_attributes (pickle is ten
        times quicker than copy.deepcopy); None when the event would fall outside the 30
        days Stripe keeps (as in most of a seeded history), where no event is recorded."""
        if not self.records_events():
            return None
        return pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))

    def endpoints(self) -> list[dict]:
        if self._endpoints is None:
            rows = self.store.conn.execute(
                "SELECT data FROM objects WHERE object = 'webhook_endpoint' AND status = 'enabled'"
            ).fetchall()
            self._endpoints = [loads(row[0]) for row in rows]
        return self._endpoints


class Change:
    """See Backend.change. The block may still choose the events (`change.events`) and the
    columns (`change.columns`), where they depend on how the change turns out."""

    def __init__(self, backend: Backend, obj: dict, events: list[str], columns: dict):
        self.backend = backend
        self.obj = obj
        self.events = events
        self.columns = columns
        self.before: dict | None = None

    def __enter__(self) -> Change:
        self.before = self.backend.snapshot(self.obj)
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        if error_type is not None:
            return
        self.backend.store.update(self.obj, **self.columns)
        previous = changes(self.before, self.obj)
        if previous:
            for event in self.events:
                self.backend.emit(event, self.obj, previous)


def changes(before: dict | None, after: dict) -> dict | None:
    """Stripe's `previous_attributes`: the old values of what changed, nested where nested
    (None without a snapshot: see Backend.snapshot)."""
    if before is None:
        return None
    previous = {}
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and old.get("object") != "list":
            previous[key] = changes(old, new) or old
        else:
            previous[key] = old
    return previous or None
