"""Sync: a fast, resumable, incremental pull of a Stripe account into the local store.

Speed. Stripe pages hold at most 100 objects and an account allows about 100 requests/s
(live; 25 in test mode), so the ceiling is about 10,000 objects/s, and only parallel requests
get near it. Each object type's `created` range is cut into slices, all fetched by one pool
of threads (a SliceQueue), each slice newest-first; a slice that turns out to be long is
split again while threads are idle. Object types are fetched side by side, which is what
keeps a live account near its 100 requests/s when each endpoint may have only 25. One token
bucket shared by all threads keeps the account under its rate limit, and one per endpoint
keeps each list under Stripe's per-endpoint limit, so Stripe never has to answer 429 (when
it does, we back off and retry).

Incremental. A later run lists only objects created since the last run (less a short
lookback, for objects created in the same second as the boundary). What changed since is
learned from /v1/events, per object type from where that type's last run stopped, and every
changed object is read again from the API rather than taken from the event: Stripe does not
deliver events in order, and an event's snapshot can be older than what the listing fetched.
An object this run's listing already fetched is not read again: it was fetched after the
newest event was noted. Some changes have no event at all (a PaymentIntent's metadata): the
PaymentIntents of the week before the last run are listed again (RELISTED). Stripe
keeps events for 30 days: a type last synced longer ago is listed again whole, and the run
says so. Balance transactions change without events (pending -> available), so the window of
pending ones is listed again; what each payout contains comes from
/v1/balance_transactions?payout=.

Resumable. Every page is written in one transaction together with its slice's cursor, so a
sync killed at any point (even kill -9) continues where it stopped and ends with the same
store as an uninterrupted run. A resumed type also lists again from the newest object it
holds, so what was created while the sync was down is not missed; a slice whose cursor
object was deleted meanwhile starts again from that object's second.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import stripe

from workbench.exceptions import WorkbenchError
from workbench.store import CHILDREN, KINDS, Store

RATES = {"sandbox": 100.0, "test": 25.0, "live": 100.0}
ENDPOINT_RATE = 25.0  # Stripe's default limit per endpoint (GET /v1/charges is one), in both modes
THREADS = 24  # 100 requests/s at ~200 ms a round trip (150 ms of latency, our work) needs 20+
PAGE = 100
LOOKBACK = 300
BURST = 60  # seconds: a page made faster than this tells little about the pages to come
PAGES_PER_SLICE = 3  # a slice is cut off for another thread only when it has this much work
EVENT_RETENTION = 30 * 86400
MAX_TYPES = 20  # Stripe's limit for `types[]` on /v1/events
DEFAULT_KINDS = (
    "customers",
    "charges",
    "payment_intents",
    "refunds",
    "disputes",
    "payouts",
    "balance_transactions",
    "products",
    "prices",
    "subscriptions",
    "invoices",
    "events",
)
MAX_ATTEMPTS = 8
# Every event type in Stripe's list whose object is (or belongs to) a synced type: when one
# of these happened since a type's last run, its object is read again. Balance transactions
# have none (their only change, pending -> available, is found by listing again).
CHANGES = {
    "charges": (
        "charge.captured",
        "charge.expired",
        "charge.failed",
        "charge.pending",
        "charge.refunded",
        "charge.succeeded",
        "charge.updated",
    ),
    "customers": (
        "customer.created",
        "customer.deleted",
        "customer.updated",
        "customer.discount.created",
        "customer.discount.deleted",
        "customer.discount.updated",
        "customer.source.created",
        "customer.source.deleted",
        "customer.source.expiring",
        "customer.source.updated",
    ),
    "payment_intents": (
        "payment_intent.amount_capturable_updated",
        "payment_intent.canceled",
        "payment_intent.created",
        "payment_intent.partially_funded",
        "payment_intent.payment_failed",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "payment_intent.succeeded",
    ),
    "refunds": ("charge.refund.updated", "refund.created", "refund.failed", "refund.updated"),
    "disputes": (
        "charge.dispute.closed",
        "charge.dispute.created",
        "charge.dispute.funds_reinstated",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
    ),
    "payouts": (
        "payout.canceled",
        "payout.created",
        "payout.failed",
        "payout.paid",
        "payout.reconciliation_completed",
        "payout.updated",
    ),
    "products": ("product.created", "product.deleted", "product.updated"),
    # A recurring price is also a (legacy) plan, under the same id.
    "prices": (
        "plan.created",
        "plan.deleted",
        "plan.updated",
        "price.created",
        "price.deleted",
        "price.updated",
    ),
    "subscriptions": (
        "customer.subscription.created",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.pending_update_applied",
        "customer.subscription.pending_update_expired",
        "customer.subscription.resumed",
        "customer.subscription.trial_will_end",
        "customer.subscription.updated",
    ),
    "invoices": (
        "invoice.created",
        "invoice.deleted",
        "invoice.finalization_failed",
        "invoice.finalized",
        "invoice.marked_uncollectible",
        "invoice.overdue",
        "invoice.overpaid",
        "invoice.paid",
        "invoice.payment_action_required",
        "invoice.payment_attempt_required",
        "invoice.payment_failed",
        "invoice.payment_succeeded",
        "invoice.sent",
        "invoice.upcoming",
        "invoice.updated",
        "invoice.voided",
        "invoice.will_be_due",
    ),
}
CHANGED_KIND = {event: name for name, types in CHANGES.items() for event in types}
# Types whose objects change without any event (a PaymentIntent's metadata, description or
# amount: Stripe has no payment_intent.updated), and how far back before the last run they
# are listed again: an authorization's seven days, in which such changes are made.
RELISTED = {"payment_intents": 7 * 86400}
FAR_FUTURE = 2**40


class RateLimiter:
    """A token bucket shared by every thread: at most `rate` requests a second, on average,
    and no bursts above one second's worth."""

    def __init__(self, rate: float):
        self.rate = rate
        self._tokens = 1.0
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.rate, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.rate
            time.sleep(wait)


@dataclass
class Report:
    """What a run did, per object type, for people and tests."""

    fetched: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    refreshed: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{name} {count:,}" for name, count in self.fetched.items()]
        text = (
            f"synced in {self.seconds:.1f} s with {self.requests:,} requests: "
            + ", ".join(parts)
            + f"; {self.refreshed:,} changed objects read again"
        )
        return "\n".join([text, *self.notes])


class Progress:
    """One tqdm bar per object type; nothing when progress is off."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bars = {}
        self._lock = threading.Lock()

    def add(self, name: str, count: int) -> None:
        if not self.enabled:
            return
        from tqdm.auto import tqdm

        with self._lock:
            if name not in self._bars:
                self._bars[name] = tqdm(
                    desc=f"{name:>20}", unit=" objects", leave=True, dynamic_ncols=True
                )
            self._bars[name].update(count)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()


def default_progress() -> bool:
    """On in a terminal; off in pipes, cron logs and papermill runs."""
    return sys.stderr.isatty()


@dataclass
class KindState:
    """What the store knows of one object type of one account: one JSON value in the store,
    so a run reads and writes it whole."""

    watermark: int | None = None  # every object created before this (less LOOKBACK) is stored
    changes: int | None = None  # events created before this (less LOOKBACK) have been applied
    synced_at: float | None = None  # when a run of this type last finished (local clock)
    run: dict | None = None  # the run in progress, for resuming: {"low", "watermark", "events"}
    covered_since: int | None = None  # events only: every event created since then is stored

    @classmethod
    def load(cls, store: Store, account: str, name: str) -> KindState:
        return cls(**store.get_state(account, f"sync:{name}", {}))

    def save(self, store: Store, account: str, name: str) -> None:
        store.set_state(account, f"sync:{name}", asdict(self))

    def changes_cursor(self) -> int | None:
        """From which event on changes are still to be applied: the last finished run's,
        or a killed run's start if earlier (what it fetched may have changed since)."""
        marks = [at for at in (self.changes, (self.run or {}).get("events")) if at is not None]
        return min(marks) if marks else None

    def expired(self, newest_event: int | None, now: float) -> bool:
        """Whether events Stripe no longer keeps may hold changes this type has not seen."""
        too_old = (
            self.changes is not None
            and newest_event is not None
            and self.changes < newest_event - EVENT_RETENTION
        )
        return too_old or (self.synced_at is not None and now - self.synced_at > EVENT_RETENTION)


@dataclass
class Slice:
    """A part [lo, hi) of one object type's `created` range, listed newest first; `cursor` is
    the last object fetched, where listing goes on."""

    kind: str
    id: int
    lo: int
    hi: int
    cursor: str | None = None


def parts_wanted(count: int, newest: int, oldest: int, lo: int, *, idle: int, page: int) -> int:
    """Into how many parts to cut what is left of a slice after a page of `count` objects
    created from `newest` down to `oldest`: one per idle thread, but only parts worth
    PAGES_PER_SLICE pages each, guessed from the page's density. A page made within BURST
    seconds is taken as that long (a burst more often than a rhythm: an import, a batch of
    refunds), so it does not fan out into empty slices."""
    per_second = count / max(BURST, newest - oldest)
    pages_left = int(per_second * (oldest - lo) / page) + 1
    return max(1, min(idle + 1, pages_left // PAGES_PER_SLICE))


def cut_points(lo: int, oldest: int, parts: int, history_start: int) -> list[int]:
    """Lower bounds that cut [lo, oldest] into `parts` slices of equal time, the oldest part
    starting where the account's history does when that lies inside (nothing is older). The
    slice being listed keeps the newest part, from the last bound; [] keeps it whole."""
    bounds = [lo] if not lo < history_start < oldest else [lo, history_start]
    base = bounds[-1]
    step = (oldest - base) // parts
    if step >= 1:
        bounds += [base + step * index for index in range(1, parts)]
    return bounds if len(bounds) > 1 else []


class SliceQueue:
    """Slices waiting for one of `threads` workers. A worker hands the older parts it cuts off
    a long slice back with `give`; workers stop when nothing is queued and no one is busy, or
    at the first error, which `run` raises in the caller's thread."""

    def __init__(self, slices: Iterable[Slice], threads: int):
        self.threads = threads
        self._pending = deque(sorted(slices, key=lambda part: -part.hi))
        self._busy = 0
        self._error: BaseException | None = None
        self._changed = threading.Condition()

    @property
    def idle(self) -> int:
        """Workers that would have nothing to do if no slice were cut."""
        with self._changed:
            return self.threads - self._busy - len(self._pending)

    def give(self, slices: list[Slice]) -> None:
        if slices:
            with self._changed:
                self._pending.extend(slices)
                self._changed.notify_all()

    def _take(self) -> Slice | None:
        with self._changed:
            while not self._pending and self._busy and self._error is None:
                self._changed.wait()
            if not self._pending or self._error is not None:
                self._changed.notify_all()
                return None
            self._busy += 1
            return self._pending.popleft()

    def _release(self, error: BaseException | None) -> None:
        with self._changed:
            self._busy -= 1
            self._error = self._error or error
            self._changed.notify_all()

    def run(self, work: Callable[[Slice], None]) -> None:
        def worker() -> None:
            while (part := self._take()) is not None:
                error = None
                try:
                    work(part)
                except BaseException as exc:  # stop the others; raised from the caller's thread
                    error = exc
                self._release(error)

        workers = [threading.Thread(target=worker, daemon=True) for _ in range(self.threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        if self._error is not None:
            raise self._error


class Sync:
    def __init__(
        self,
        client: stripe.StripeClient,
        store: Store,
        account: str,
        *,
        rate: float,
        endpoint_rate: float | None = None,
        threads: int = THREADS,
        progress: bool = False,
        lookback: int = LOOKBACK,
        page: int = PAGE,
    ):
        self.client = client
        self.store = store
        self.account = account
        self.limiter = RateLimiter(rate)
        self.endpoint_rate = endpoint_rate
        self._endpoint_limiters: dict[str, RateLimiter] = {}
        self.threads = threads
        self.progress = Progress(progress)
        self.lookback = lookback
        self.page = page
        self.report = Report()
        self._lock = threading.Lock()
        self._history_start: int | None = None
        self._listed: dict[str, set[str]] = {}  # ids this run's listing fetched, per type

    # requests

    def get(self, path: str, **params) -> dict:
        """One GET through the official client, rate-limited, retried on 429 and 5xx."""
        endpoint = self._endpoint_limiter(path)
        for attempt in range(MAX_ATTEMPTS):
            if endpoint is not None:
                endpoint.acquire()
            self.limiter.acquire()
            with self._lock:
                self.report.requests += 1
            try:
                return self.client.raw_request("get", path, **params).data
            except stripe.RateLimitError:
                delay = min(8.0, 0.5 * 2**attempt)
            except (stripe.APIConnectionError, stripe.APIError) as exc:
                if attempt == MAX_ATTEMPTS - 1:
                    raise WorkbenchError(
                        f"Stripe kept failing on GET {path}: "
                        f"{exc.user_message or type(exc).__name__}; run the "
                        "sync again to continue where it stopped"
                    ) from None
                delay = min(8.0, 0.5 * 2**attempt)
            except stripe.PermissionError:
                raise WorkbenchError(
                    f"the key for account {self.account!r} may not read "
                    f"{path}: grant it read access to that resource, or "
                    "leave that object type out with --objects"
                ) from None
            with self._lock:
                self.report.retries += 1
            time.sleep(delay * (0.5 + random.random()))
        raise WorkbenchError(f"Stripe kept answering 429 on GET {path}; lower --rate")

    def _endpoint_limiter(self, path: str) -> RateLimiter | None:
        """/v1/customers/cus_1/sources counts as /v1/customers: stricter than Stripe, never
        looser."""
        if self.endpoint_rate is None:
            return None
        endpoint = "/".join(path.split("/")[:3])
        with self._lock:
            return self._endpoint_limiters.setdefault(endpoint, RateLimiter(self.endpoint_rate))

    def _pages(self, path: str, **params) -> list[dict]:
        """Every object of a list, one page after another."""
        found, cursor = [], None
        while True:
            page = self.get(
                path, limit=self.page, **params, **({"starting_after": cursor} if cursor else {})
            )
            found.extend(page["data"])
            if not page["has_more"] or not page["data"]:
                return found
            cursor = page["data"][-1]["id"]

    # the run

    def run(
        self, kinds: Iterable[str] = DEFAULT_KINDS, *, since: int | None = None, full: bool = False
    ) -> Report:
        started = time.monotonic()
        kinds = list(kinds)
        for name in kinds:
            if name not in KINDS or KINDS[name].within:
                raise WorkbenchError(
                    f"unknown object type {name!r}: use some of {', '.join(DEFAULT_KINDS)}"
                )
        with self.store.sync_lock(self.account):  # two syncs of one account take turns
            self._run(kinds, since, full)
        self.report.seconds = time.monotonic() - started
        return self.report

    def _run(self, kinds: list[str], since: int | None, full: bool) -> None:
        for name in kinds:  # a key that may not read one of them fails before writing any
            self.get(KINDS[name].path, limit=1)
        newest_event = self._newest_event()
        now = time.time()
        states = {name: KindState.load(self.store, self.account, name) for name in kinds}
        dropped = self._events_dropped(states)
        expired = sorted(
            name
            for name, state in states.items()
            if state.expired(newest_event, now) or name in dropped
        )
        whole = set(kinds) if full else set(expired)
        if expired and not full:
            self.report.notes.append(
                f"the last sync of {', '.join(expired)} is older than the 30 days of events "
                "Stripe keeps: listed again whole"
            )
        pending = None
        if "balance_transactions" in kinds and "balance_transactions" not in whole:
            pending = self._pending_window(states["balance_transactions"])
        cursors = {name: states[name].changes_cursor() for name in CHANGES.keys() & set(kinds)}
        cursors = {name: at for name, at in cursors.items() if at is not None}
        noted = newest_event if newest_event is not None else 0
        try:
            slices = [
                part
                for name in kinds
                for part in self._plan(name, states[name], since, whole=name in whole, noted=noted)
            ]
            queue = SliceQueue(slices, self.threads)
            queue.run(lambda part: self._fetch_slice(part, queue))
            for name in kinds:
                self._finish(name, states[name], since=since, whole=name in whole)
            if "payouts" in kinds and "balance_transactions" in kinds:
                self._payout_items()
            if pending:
                self._refresh_transactions(*pending)
            if cursors:
                self._apply_changes(cursors, from_store=self._events_stored(states, cursors))
        finally:
            self.progress.close()
        with self.store.transaction():
            for name, state in states.items():
                state.changes = noted
                state.synced_at = time.time()
                state.save(self.store, self.account, name)

    def _events_dropped(self, states: dict[str, KindState]) -> set[str]:
        """Types whose last run (or a killed one) noted an event Stripe no longer has: events
        after it may be gone too. (Stripe keeps 30 days of events by its own clock, which a
        sandbox's advance moves while the local one stands still.) Events go oldest first,
        so while one at or before a type's cursor is left, none it needs is missing."""
        cursors = {name: state.changes_cursor() for name, state in states.items()}
        dropped = set()
        for cursor in {cursor for cursor in cursors.values() if cursor}:
            if not self.get("/v1/events", limit=1, created={"lte": cursor})["data"]:
                dropped.update(name for name, at in cursors.items() if at == cursor)
        return dropped

    def _newest_event(self) -> int | None:
        page = self.get("/v1/events", limit=1)
        return page["data"][0]["created"] if page["data"] else None

    # listing object types in parallel slices

    def _plan(
        self, name: str, state: KindState, since: int | None, *, whole: bool, noted: int
    ) -> list[Slice]:
        """The slices to fetch for this type: what a killed run left (plus a slice from the
        newest object held, for what was created since), or one slice for the range to
        fetch, which splits as it turns out long. Recorded before any is fetched, with the
        newest event at the start (`noted`): what the run fetches may change after it."""
        with self.store.transaction():
            if state.run is not None and not whole:
                slices = self.store.open_slices(self.account, name)
                newest = self.store.newest_created(name, self.account)
                low = max(state.run["low"], (newest or 0) - self.lookback)
                slices.append(self.store.add_slice(self.account, name, low, FAR_FUTURE))
                return [Slice(*row) for row in slices]
            if whole or state.watermark is None:
                low = since or 0
            else:
                low = state.watermark - self.lookback
                if name in RELISTED and state.changes_cursor() is not None:
                    low = min(low, state.changes_cursor() - RELISTED[name] - self.lookback)
                low = max(since or 0, low)
            state.run = {
                "low": low,
                "watermark": None if whole else state.watermark,
                "events": noted,
            }
            state.save(self.store, self.account, name)
            self.store.drop_slices(self.account, name)
            return [Slice(*self.store.add_slice(self.account, name, low, FAR_FUTURE))]

    def _finish(self, name: str, state: KindState, *, since: int | None, whole: bool) -> None:
        """All slices fetched: forget them, and remember how far this type is known."""
        with self.store.transaction():
            self.store.drop_slices(self.account, name)
            if name == "customers" and whole and state.run["low"] == 0:
                # Listed whole: a customer not listed was deleted, perhaps longer ago than
                # the events Stripe keeps.
                listed = self._listed.get(name, set())
                self.store.mark_deleted(self.account, self.store.ids(name, self.account) - listed)
            newest = self.store.newest_created(name, self.account)
            if name == "events":
                continuous = state.watermark is not None and not whole
                if not continuous or state.run["low"] > state.watermark - self.lookback:
                    state.covered_since = state.run["low"]
            state.watermark = max(newest or 0, state.run["watermark"] or 0)
            state.run = None
            state.save(self.store, self.account, name)
        self.report.fetched.setdefault(name, 0)

    def _history_begins(self) -> int:
        """When the account was created (Stripe's word, asked once): nothing is older, so
        slices are cut from there rather than from 1970."""
        with self._lock:
            known = self._history_start
        if known is None:
            known = self.get("/v1/account").get("created") or 0
            with self._lock:
                self._history_start = known
        return known

    def _fetch_slice(self, part: Slice, queue: SliceQueue) -> None:
        kind = KINDS[part.kind]
        while True:
            params = {"limit": self.page, "created": {"gte": part.lo}, **dict(kind.listed)}
            if part.hi < FAR_FUTURE:
                params["created"]["lt"] = part.hi
            if part.cursor:
                params["starting_after"] = part.cursor
            if part.kind == "customers":
                params["expand"] = ["data.sources"]
            try:
                page = self.get(kind.path, **params)
            except stripe.InvalidRequestError as exc:
                if not (part.cursor and exc.code == "resource_missing"):
                    raise
                self._restart(part)  # the cursor object was deleted since
                continue
            data = page["data"]
            more = bool(page["has_more"] and data)
            cuts = []
            if more:
                parts = parts_wanted(
                    len(data),
                    data[0]["created"],
                    data[-1]["created"],
                    part.lo,
                    idle=queue.idle,
                    page=self.page,
                )
                if parts > 1:
                    cuts = cut_points(part.lo, data[-1]["created"], parts, self._history_begins())
            with self.store.transaction():
                self._write(part.kind, data)
                part.cursor = data[-1]["id"] if data else part.cursor
                new = [
                    Slice(*self.store.add_slice(self.account, part.kind, low, high))
                    for low, high in zip(cuts, cuts[1:], strict=False)
                ]
                if cuts:  # older parts go to idle threads; this one keeps the newest
                    part.lo = cuts[-1]
                self.store.update_slice(part.id, part.lo, part.hi, part.cursor, done=not more)
            self.progress.add(part.kind, len(data))
            with self._lock:
                self.report.fetched[part.kind] = self.report.fetched.get(part.kind, 0) + len(data)
                self._listed.setdefault(part.kind, set()).update(obj["id"] for obj in data)
            queue.give(new)
            if not more:
                return

    def _restart(self, part: Slice) -> None:
        """List the slice again from the second of its vanished cursor object (or its top)."""
        created = self.store.created_of(part.kind, self.account, part.cursor)
        if created is not None:
            part.hi = min(part.hi, created + 1)
        part.cursor = None
        with self.store.transaction():
            self.store.update_slice(part.id, part.lo, part.hi, None, done=False)

    def _write(self, name: str, objects: list[dict]) -> None:
        """Store a page (inside the caller's transaction), and the children its objects
        carry in their own table: a subscription's items, an invoice's lines, and a
        customer's cards (expanded: the customer is stored as the API shows it unexpanded,
        so both ways of learning it agree). A list of children with more than the parent
        shows is read whole."""
        child = CHILDREN.get(name)
        if child is None:
            self.store.upsert(name, self.account, objects)
            return
        field = child.within.field
        shown = objects
        if name == "customers":
            shown = [{k: v for k, v in c.items() if k != field} for c in objects]
        self.store.upsert(name, self.account, shown)
        for parent in objects:
            children = parent.get(field)
            if not isinstance(children, dict):
                continue
            if children.get("has_more"):
                column = child.within.column
                path = child.path.format(**{column: parent["id"]})
                extra = {} if "{" in child.path else {column: parent["id"]}
                children = {"data": self._pages(path, **extra)}
            data = [c for c in children["data"] if c.get("object") == child.object]
            self.store.replace_children(child.name, self.account, parent["id"], data)

    # what listing by `created` cannot see

    def _payout_items(self) -> None:
        """Record which balance transactions each automatic payout swept: once per payout, as
        a payout's contents are fixed when it is made (its own transaction among them)."""
        for payout in self.store.payouts_to_itemize(self.account):
            items = self._pages("/v1/balance_transactions", payout=payout)
            with self.store.transaction():
                self.store.upsert("balance_transactions", self.account, items)
                self.store.assign_payout(self.account, payout, [t["id"] for t in items])

    def _pending_window(self, state: KindState) -> tuple[int, int] | None:
        """Stored balance transactions still pending that this run's listing (of what was
        created since the last run) will not see again: [oldest pending, listing start)."""
        oldest = self.store.oldest_pending(self.account)
        if oldest is None or state.watermark is None or oldest >= state.watermark - self.lookback:
            return None
        return oldest, state.watermark - self.lookback

    def _refresh_transactions(self, low: int, high: int) -> None:
        """Balance transactions turn available without an event: list them again."""
        cursor = None
        while True:
            params = {
                "limit": self.page,
                "created": {"gte": low, "lt": high},
                **({"starting_after": cursor} if cursor else {}),
            }
            page = self.get("/v1/balance_transactions", **params)
            with self.store.transaction():
                self.store.upsert("balance_transactions", self.account, page["data"])
            if not page["has_more"] or not page["data"]:
                return
            cursor = page["data"][-1]["id"]

    # changes, from events

    def _events_stored(self, states: dict[str, KindState], cursors: dict[str, int]) -> bool:
        """Whether this run's listing left every event the changes need in the store."""
        events = states.get("events")
        low = min(cursors.values()) - self.lookback
        return (
            events is not None and events.covered_since is not None and events.covered_since <= low
        )

    def _apply_changes(self, cursors: dict[str, int], *, from_store: bool) -> None:
        """Read again every object that an event since its type's cursor says changed."""
        events = [
            event
            for event in self._events_since(cursors, from_store)
            if event["created"] >= cursors[CHANGED_KIND[event["type"]]] - self.lookback
        ]
        self.report.refreshed += self.refresh(events)

    def refresh(self, events: Iterable[dict]) -> int:
        """Read again from the API every synced object these events say changed (never
        taking the event's snapshot, which may be older), unless this run's listing fetched
        it after the newest event was noted; how many were read. The webhook listener
        (workbench.listen) calls this for the events it receives, holding the sync lock."""
        changed: dict[tuple[str, str], dict] = {}
        for event in events:
            name = CHANGED_KIND.get(event["type"])
            if name is None:
                continue
            obj = event["data"]["object"]
            # A card's event changes its customer; any other event, the object it names
            # (a plan is its price, under the same id).
            object_id = obj["customer"] if obj.get("object") == "card" else obj["id"]
            if object_id not in self._listed.get(name, ()):
                key = (name, object_id)
                if event["type"] == "customer.deleted" or key not in changed:
                    changed[key] = obj
        if changed:
            jobs = [(name, object_id, obj) for (name, object_id), obj in changed.items()]
            with ThreadPoolExecutor(min(self.threads, len(jobs))) as pool:
                list(pool.map(lambda job: self._reread(*job), jobs))
        return len(changed)

    def _events_since(self, cursors: dict[str, int], from_store: bool) -> list[dict]:
        low = min(cursors.values()) - self.lookback
        types = [event for name in cursors for event in CHANGES[name]]
        if from_store:
            return self.store.events_since(self.account, low, types)
        found = []
        for start in range(0, len(types), MAX_TYPES):
            found += self._pages(
                "/v1/events", created={"gte": low}, types=types[start : start + MAX_TYPES]
            )
        return found

    def _reread(self, name: str, object_id: str, snapshot: dict) -> None:
        """The object as the API has it now. A deleted customer keeps what it last was, marked
        deleted (Stripe answers only a stub), and loses its cards, as in Stripe."""
        params = {"expand": ["sources"]} if name == "customers" else {}
        try:
            obj = self.get(f"{KINDS[name].path}/{object_id}", **params)
        except stripe.InvalidRequestError as exc:
            if exc.code != "resource_missing":
                raise
            obj = {"id": object_id, "deleted": True}
        with self.store.transaction():
            if name == "customers" and obj.get("deleted"):
                unseen = self.store.created_of(name, self.account, object_id) is None
                if unseen and snapshot.get("object") == "customer":
                    self.store.upsert(name, self.account, [snapshot])  # as its deletion left it
                self.store.mark_deleted(self.account, [object_id])
            elif obj.get("deleted"):
                self.store.remove(name, self.account, object_id)  # a deleted product
            else:
                self._write(name, [obj])
