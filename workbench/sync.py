"""Sync: a fast, resumable, incremental pull of a Stripe account into the local store.

Speed. Stripe pages hold at most 100 objects and an account allows about 100 requests/s
(live; 25 in test mode), so the ceiling is about 10,000 objects/s, and only parallel requests
get near it. Each object type's `created` range is cut into slices, all fetched by one pool
of threads, each slice newest-first with `limit=100`; a slice that turns out to be long is
split again while threads are idle. Object types are fetched side by side, which is what
keeps a live account near its 100 requests/s when each endpoint may have only 25. One token
bucket shared by all threads keeps the account under its rate limit, and one per endpoint
keeps each list under Stripe's per-endpoint limit, so Stripe never has to answer 429 (when
it does, we back off and retry).

Incremental. A later run lists only objects created since the last run (less a short
lookback, for objects created in the same second as the boundary), and learns what changed
from /v1/events since then, applying each event's object in order. Stripe keeps events for
30 days: a store older than that re-fetches the whole window since its last run, and says
so. Balance transactions change without events (pending -> available), so the window of
pending ones is listed again; what each payout contains comes from
/v1/balance_transactions?payout=.

Resumable. Every page is written in one transaction together with the slice's cursor, so a
sync killed at any point (even kill -9) continues where it stopped and ends with the same
store as an uninterrupted run.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import stripe

from workbench.exceptions import WorkbenchError
from workbench.store import KINDS, Store

RATES = {"sandbox": 100.0, "test": 25.0, "live": 100.0}
ENDPOINT_RATE = 25.0  # Stripe's default limit per endpoint (GET /v1/charges is one), in both modes
THREADS = 24  # 100 requests/s at ~200 ms a round trip (150 ms of latency, our work) needs 20+
PAGE = 100
LOOKBACK = 300
BURST = 60  # seconds: a page made faster than this tells little about the pages to come
PAGES_PER_SLICE = 3  # a slice is cut off for another thread only when it has this much work
EVENT_RETENTION = 30 * 86400
DEFAULT_KINDS = (
    "customers",
    "charges",
    "payment_intents",
    "refunds",
    "disputes",
    "payouts",
    "balance_transactions",
    "events",
)
MAX_ATTEMPTS = 8
# Events that change an object created earlier (creations are seen by listing); 20 at most,
# Stripe's limit for `types[]`.
CHANGES = (
    "charge.captured",
    "charge.expired",
    "charge.refunded",
    "charge.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_reinstated",
    "charge.dispute.updated",
    "customer.updated",
    "customer.deleted",
    "customer.source.created",
    "customer.source.updated",
    "customer.source.deleted",
    "payment_intent.succeeded",
    "payment_intent.canceled",
    "payment_intent.amount_capturable_updated",
    "payment_intent.payment_failed",
    "payout.updated",
    "payout.paid",
    "payout.failed",
    "refund.updated",
)
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
    events_applied: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{name} {count:,}" for name, count in self.fetched.items()]
        text = (
            f"synced in {self.seconds:.1f} s with {self.requests:,} requests: "
            + ", ".join(parts)
            + f"; {self.events_applied:,} changes from events"
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
        self.report = Report()
        self._lock = threading.Lock()
        self._created: int | None = None

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

    # the run

    def run(
        self, kinds: Iterable[str] = DEFAULT_KINDS, *, since: int | None = None, full: bool = False
    ) -> Report:
        started = time.monotonic()
        kinds = list(kinds)
        for name in kinds:
            if name not in KINDS or name == "cards":
                raise WorkbenchError(
                    f"unknown object type {name!r}: use some of {', '.join(DEFAULT_KINDS)}"
                )
        for name in kinds:  # a key that may not read one of them fails before writing any
            self.get(KINDS[name].path, limit=1)
        newest_event = self._newest_event_time()
        previous_events = self.store.get_state(self.account, "events_cursor")
        last_run = self.store.get_state(self.account, "last_run")
        expired = (
            previous_events is not None
            and newest_event is not None
            and previous_events < newest_event - EVENT_RETENTION
        ) or (last_run is not None and time.time() - last_run > EVENT_RETENTION)
        if expired and not full:
            self.report.notes.append(
                "the last sync is older than the 30 days of events Stripe keeps: the whole "
                "window since then is fetched again"
            )
        pending = None
        if "balance_transactions" in kinds and not (full or expired):
            pending = self._pending_window()
        try:
            runs = {name: self._planned(name, since=since, full=full or expired) for name in kinds}
            self._fetch_slices(kinds)
            for name, run in runs.items():
                self._finish(name, run)
            if "payouts" in kinds and "balance_transactions" in kinds:
                self._payout_items()
            if pending:
                self._refresh_transactions(*pending)
            if previous_events is not None and not (full or expired):
                self._replay_events(previous_events - self.lookback, set(kinds))
        finally:
            self.progress.close()
        with self.store.transaction():
            if newest_event is not None:
                self.store.set_state(self.account, "events_cursor", newest_event)
            self.store.set_state(self.account, "last_run", time.time())
        self.report.seconds = time.monotonic() - started
        return self.report

    def _newest_event_time(self) -> int | None:
        page = self.get("/v1/events", limit=1)
        return page["data"][0]["created"] if page["data"] else None

    # listing object types in parallel slices

    def _planned(self, name: str, *, since: int | None, full: bool) -> dict:
        """The run a killed sync left for this object type, or a new one."""
        run = self.store.get_state(self.account, f"run:{name}")
        return run if run is not None else self._plan(name, since=since, full=full)

    def _finish(self, name: str, run: dict) -> None:
        """All slices fetched: forget them, and remember how far this type is known."""
        with self.store.transaction():
            self.store.conn.execute(
                "DELETE FROM slices WHERE account = ? AND kind = ?", (self.account, name)
            )
            self.store.conn.execute(
                "DELETE FROM state WHERE account = ? AND key = ?", (self.account, f"run:{name}")
            )
            newest = self.store.conn.execute(
                f"SELECT MAX(created) FROM {name} WHERE account = ?", (self.account,)
            ).fetchone()[0]
            self.store.set_state(
                self.account, f"watermark:{name}", max(newest or 0, run["watermark"] or 0)
            )
        self.report.fetched.setdefault(name, 0)

    def _plan(self, name: str, *, since: int | None, full: bool) -> dict:
        """Record the range to fetch as one slice (it splits as it turns out long), so that
        a killed run can resume."""
        watermark = self.store.get_state(self.account, f"watermark:{name}")
        if full or watermark is None:
            low = since or 0
        else:
            low = max(since or 0, watermark - self.lookback)
        run = {"watermark": None if full else watermark}
        with self.store.transaction():
            self.store.conn.execute(
                "DELETE FROM slices WHERE account = ? AND kind = ?", (self.account, name)
            )
            self.store.conn.execute(
                "INSERT INTO slices (account, kind, lo, hi) VALUES (?, ?, ?, ?)",
                (self.account, name, low, FAR_FUTURE),
            )
            self.store.set_state(self.account, f"run:{name}", run)
        return run

    def _history_start(self) -> int:
        """When the account was created (Stripe's word, asked once): nothing is older, so
        slices are cut from there rather than from 1970."""
        with self._lock:
            if self._created is None:
                self._created = 0
                fetch = True
            else:
                fetch = False
        if fetch:
            created = self.get("/v1/account").get("created") or 0
            with self._lock:
                self._created = created
        return self._created

    @staticmethod
    def _pages_left(data: list[dict], lo: int) -> int:
        """Pages still to come in [lo, oldest seen], guessed from this page's density. A page
        made within a minute is a burst more often than a rhythm (an import, a batch of
        refunds): taken as a minute's worth, it does not fan out into empty slices."""
        newest, oldest = data[0]["created"], data[-1]["created"]
        per_second = len(data) / max(BURST, newest - oldest)
        return int(per_second * (oldest - lo) / PAGE) + 1

    def _cuts(self, lo: int, last: int, parts: int) -> list[int]:
        """Boundaries that cut [lo, last] into `parts` slices, the oldest part starting at the
        account's creation when that lies inside."""
        start = self._history_start()
        bounds = [lo] if not lo < start < last else [lo, start]
        base = bounds[-1]
        step = (last - base) // parts
        if step >= 1:
            bounds += [base + step * index for index in range(1, parts)]
        return bounds

    def _fetch_slices(self, kinds: list[str]) -> None:
        rows = self.store.conn.execute(
            "SELECT kind, id, lo, hi, cursor FROM slices WHERE account = ? AND kind IN "
            f"({', '.join('?' for _ in kinds)}) AND done = 0 ORDER BY hi DESC",
            (self.account, *kinds),
        ).fetchall()
        pending = list(rows)
        state = {"busy": 0, "error": None}
        changed = threading.Condition()

        def worker() -> None:
            while True:
                with changed:
                    while not pending and state["busy"] and state["error"] is None:
                        changed.wait()
                    if not pending or state["error"] is not None:
                        changed.notify_all()
                        return
                    job = pending.pop(0)
                    state["busy"] += 1
                try:
                    self._fetch_slice(*job, pending=pending, state=state, changed=changed)
                except BaseException as exc:  # stop the others; report from the main thread
                    with changed:
                        state["error"] = state["error"] or exc
                finally:
                    with changed:
                        state["busy"] -= 1
                        changed.notify_all()

        workers = [threading.Thread(target=worker, daemon=True) for _ in range(self.threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        if state["error"] is not None:
            raise state["error"]

    def _fetch_slice(
        self,
        name: str,
        slice_id: int,
        lo: int,
        hi: int,
        cursor: str | None,
        *,
        pending: list,
        state: dict,
        changed: threading.Condition,
    ) -> None:
        kind = KINDS[name]
        while True:
            params = {"limit": PAGE, "created": {"gte": lo}}
            if hi < FAR_FUTURE:
                params["created"]["lt"] = hi
            if cursor:
                params["starting_after"] = cursor
            if name == "customers":
                params["expand"] = ["data.sources"]
            page = self.get(kind.path, **params)
            data = page["data"]
            cuts = []
            if page["has_more"] and data:
                with changed:
                    idle = self.threads - state["busy"] - len(pending)
                parts = min(idle + 1, self._pages_left(data, lo) // PAGES_PER_SLICE)
                if parts > 1:
                    cuts = self._cuts(lo, data[-1]["created"], parts)
            new_slices = []
            with self.store.transaction():
                self._write(name, data)
                conn = self.store.conn
                if not page["has_more"] or not data:
                    conn.execute(
                        "UPDATE slices SET done = 1, cursor = ? WHERE id = ?",
                        (data[-1]["id"] if data else cursor, slice_id),
                    )
                else:
                    cursor = data[-1]["id"]
                    if len(cuts) > 1:  # older parts go to idle threads; this one keeps the top
                        for low, high in zip(cuts, cuts[1:], strict=False):
                            new_id = conn.execute(
                                "INSERT INTO slices (account, kind, lo, hi) VALUES (?, ?, ?, ?)",
                                (self.account, name, low, high),
                            ).lastrowid
                            new_slices.append((name, new_id, low, high, None))
                        lo = cuts[-1]
                    conn.execute(
                        "UPDATE slices SET lo = ?, cursor = ? WHERE id = ?", (lo, cursor, slice_id)
                    )
            self.progress.add(name, len(data))
            with self._lock:
                self.report.fetched[name] = self.report.fetched.get(name, 0) + len(data)
            if new_slices:
                with changed:
                    pending.extend(new_slices)
                    changed.notify_all()
            if not page["has_more"] or not data:
                return

    def _write(self, name: str, objects: list[dict]) -> None:
        """Store a page (inside the caller's transaction). Customers come with their cards
        expanded; the cards go to their own table and the customer is stored as the API
        shows it unexpanded (as events carry it), so both ways of learning it agree."""
        if name != "customers":
            self.store.upsert(name, self.account, objects)
            return
        unexpanded = [{k: v for k, v in c.items() if k != "sources"} for c in objects]
        self.store.upsert(name, self.account, unexpanded)
        for customer in objects:
            sources = customer.get("sources")
            if not isinstance(sources, dict):
                continue
            cards = [s for s in sources["data"] if s.get("object") == "card"]
            if sources.get("has_more"):
                cards = [s for s in self._all_sources(customer["id"]) if s.get("object") == "card"]
            self._replace_cards(customer["id"], cards)

    def _all_sources(self, customer: str) -> list[dict]:
        found, cursor = [], None
        while True:
            params = {"limit": PAGE, **({"starting_after": cursor} if cursor else {})}
            page = self.get(f"/v1/customers/{customer}/sources", **params)
            found.extend(page["data"])
            if not page["has_more"] or not page["data"]:
                return found
            cursor = page["data"][-1]["id"]

    def _replace_cards(self, customer: str, cards: list[dict]) -> None:
        ids = [card["id"] for card in cards]
        self.store.conn.execute(
            f"DELETE FROM cards WHERE account = ? AND customer = ? "
            f"AND id NOT IN ({', '.join('?' for _ in ids)})",
            (self.account, customer, *ids),
        )
        self.store.upsert("cards", self.account, cards)

    # what listing by `created` cannot see

    def _payout_items(self) -> None:
        """Record which balance transactions each payout swept (once per payout)."""
        done = set(self.store.get_state(self.account, "itemized_payouts", []))
        payouts = [
            row[0]
            for row in self.store.conn.execute(
                "SELECT id FROM payouts WHERE account = ? AND status IN ('paid', 'in_transit', "
                "'pending', 'failed') ORDER BY created",
                (self.account,),
            )
            if row[0] not in done
        ]
        for payout in payouts:
            cursor, items = None, []
            while True:
                params = {
                    "limit": PAGE,
                    "payout": payout,
                    **({"starting_after": cursor} if cursor else {}),
                }
                page = self.get("/v1/balance_transactions", **params)
                items.extend(page["data"])
                if not page["has_more"] or not page["data"]:
                    break
                cursor = page["data"][-1]["id"]
            with self.store.transaction():
                self.store.upsert("balance_transactions", self.account, items)
                self.store.assign_payout(self.account, payout, [t["id"] for t in items])
                done.add(payout)
                self.store.set_state(self.account, "itemized_payouts", sorted(done))

    def _pending_window(self) -> tuple[int, int] | None:
        """Stored balance transactions still pending that this run's listing (of what was
        created since the last run) will not see again: [oldest pending, listing start)."""
        oldest = self.store.conn.execute(
            "SELECT MIN(created) FROM balance_transactions WHERE account = ? "
            "AND status = 'pending'",
            (self.account,),
        ).fetchone()[0]
        watermark = self.store.get_state(self.account, "watermark:balance_transactions")
        if oldest is None or watermark is None or oldest >= watermark - self.lookback:
            return None
        return oldest, watermark - self.lookback

    def _refresh_transactions(self, low: int, high: int) -> None:
        """Balance transactions turn available without an event: list them again."""
        cursor = None
        while True:
            params = {
                "limit": PAGE,
                "created": {"gte": low, "lt": high},
                **({"starting_after": cursor} if cursor else {}),
            }
            page = self.get("/v1/balance_transactions", **params)
            with self.store.transaction():
                self.store.upsert("balance_transactions", self.account, page["data"])
            if not page["has_more"] or not page["data"]:
                return
            cursor = page["data"][-1]["id"]

    def _replay_events(self, since: int, kinds: set[str]) -> None:
        """Apply what changed since the last run, oldest event first."""
        events, cursor = [], None
        while True:
            params = {
                "limit": PAGE,
                "created": {"gte": since},
                "types": list(CHANGES),
                **({"starting_after": cursor} if cursor else {}),
            }
            page = self.get("/v1/events", **params)
            events.extend(page["data"])
            if not page["has_more"] or not page["data"]:
                break
            cursor = page["data"][-1]["id"]
        for event in reversed(events):  # the API lists newest first: this is their order
            obj = event["data"]["object"]
            kind = next((k for k in KINDS.values() if k.object == obj.get("object")), None)
            if kind is None or (kind.name not in kinds and kind.name != "cards"):
                continue
            with self.store.transaction():
                if event["type"] == "customer.source.deleted":
                    self.store.conn.execute(
                        "DELETE FROM cards WHERE account = ? AND id = ?", (self.account, obj["id"])
                    )
                elif kind.name == "cards" and "customers" in kinds:
                    self.store.upsert("cards", self.account, [obj])
                elif kind.name != "cards":
                    if event["type"] == "customer.deleted":
                        obj = {**obj, "deleted": True}
                    self.store.upsert(kind.name, self.account, [obj])
            self.report.events_applied += 1
