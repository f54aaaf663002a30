"""A deterministic, realistic account history, written through the models (not HTTP).

`seed(store, until=..., months=6, seed=0, scale=1.0, timezone="Etc/UTC")` builds, day by
day, what a small shop sees (the account in `timezone`; the days themselves are UTC days, as
the sandbox's payouts are): customers saving cards (some expiring soon, some with no
default), a daily rhythm of orders paid by card with Stripe-like declines, authorize-then-
capture (full, partial, some left to expire, some still open near expiry), refunds, disputes
(won, lost, open), charges in USD, EUR and JPY, automatic payouts (one of them failing), and
the merchant's own `orders.csv`, which matches the charges except for planted discrepancies
of every kind a reconciliation must catch. The same arguments give the same bytes: every id
and random choice comes from one seeded generator, and the clock ends at `until`.

Beside the orders file the seed writes its ground truth (`<account>.truth.json`): what it
planted and counted, for tests to compare analyses against: the account, its timezone, the
planted discrepancies, expiring cards, customers without a default card, open authorizations
and each partial capture (charge, authorized, captured and released amounts).
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import fcntl
import functools
import gc
import heapq
import itertools
import json
import math
import multiprocessing
import queue
import random
import shutil
import signal
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from workbench.sandbox import clock, handoff, state, subscription_book
from workbench.sandbox.backend import Backend
from workbench.sandbox.currencies import exponent
from workbench.sandbox.exceptions import SandboxError
from workbench.sandbox.models import account as account_model
from workbench.sandbox.models import (
    charges,
    customers,
    disputes,
    payment_intents,
    refunds,
)
from workbench.sandbox.state import AccountState

DAY = 86400
COMMIT_DAYS = 7
# A setting the seed keeps while it runs: a seed killed half-way leaves the weeks it
# committed and this mark, which tells `ensure` to seed again.
SEEDING = "seeding"
ORDERS_PER_DAY = 40  # at scale 1, on a weekday
# A seed this large or larger runs as two parts, one per core (see SecondPart); below it,
# starting a process costs more than the second core saves.
SPLIT_SCALE = 5.0
FIRST_SHARE = 0.53  # of the shop's orders and customers; the second part has the book
CUSTOMERS = 150  # at scale 1
CURRENCIES = (("usd", 0.80), ("eur", 0.12), ("jpy", 0.08))
MEDIAN = {"usd": 4500, "eur": 4000, "jpy": 5000}  # minor units
SAVED_CARDS = (
    ("tok_visa", 45),
    ("tok_mastercard", 25),
    ("tok_amex", 10),
    ("tok_visa_debit", 10),
    ("tok_gb", 4),
    ("tok_de", 3),
    ("tok_jp", 3),
)
DECLINES = (
    ("tok_chargeDeclined", 40),
    ("tok_chargeDeclinedInsufficientFunds", 28),
    ("tok_chargeDeclinedExpiredCard", 10),
    ("tok_chargeDeclinedIncorrectCvc", 8),
    ("tok_chargeDeclinedProcessingError", 5),
    ("tok_chargeDeclinedLostCard", 3),
    ("tok_chargeDeclinedStolenCard", 2),
    ("tok_radarBlock", 4),
)
DECLINE_RATE = 0.07
RETRY_RATE = 0.6
GUEST_RATE = 0.3
INTENT_RATE = 0.25
MANUAL_RATE = 0.10
REFUND_RATE = 0.05
DISPUTE_RATE = 0.004
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 10, 9, 9, 8, 8, 9, 10, 10, 8, 6, 4, 2]
HOURS = tuple(itertools.accumulate(HOUR_WEIGHTS))  # choices(cum_weights=) draws as weights= does
PLANTED = (
    "missing_payment",
    "amount_mismatch",
    "duplicate_payment",
    "unknown_order",
    "refunded_order",
)


@functools.lru_cache
def _cumulative(weighted: tuple) -> tuple[tuple, tuple]:
    names, weights = zip(*weighted, strict=True)
    return names, tuple(itertools.accumulate(weights))


@dataclass
class Order:
    order_id: str
    created: int
    amount: int
    currency: str
    # pending (awaiting a retry), authorized (held, not captured), paid, refunded (fully),
    # cancelled (declined for good, or an authorization the shop let lapse)
    status: str = "pending"
    listed: bool = True  # False: the merchant has no such order (an unknown order)


@dataclass
class History:
    """What the seed did, kept as the ground truth for tests."""

    orders: list[Order] = field(default_factory=list)
    planted: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in PLANTED})
    counts: Counter = field(default_factory=Counter)
    declines: Counter = field(default_factory=Counter)
    expiring_cards: list[str] = field(default_factory=list)
    without_default: list[str] = field(default_factory=list)
    open_authorizations: list[str] = field(default_factory=list)
    # per partial capture: the charge and its authorized, captured and released amounts
    partial_captures: list[dict] = field(default_factory=list)
    failed_payout_day: int | None = None

    def absorb(self, other: History) -> None:
        """Add a second part's history to this one."""
        self.orders += other.orders
        for kind, orders in other.planted.items():
            self.planted[kind] += orders
        self.counts.update(other.counts)
        self.declines.update(other.declines)
        self.expiring_cards += other.expiring_cards
        self.without_default += other.without_default
        self.partial_captures += other.partial_captures


def _share(part: int, parts: int) -> float:
    """The part of the shop's orders and customers that part `part` of `parts` seeds."""
    return 1.0 if parts == 1 else (FIRST_SHARE, 1 - FIRST_SHARE)[part]


def _customers(scale: float) -> int:
    return max(8, round(CUSTOMERS * scale))


def months_before(moment: int, months: int) -> int:
    """The same day-of-month and time, `months` calendar months earlier (clamped)."""
    return subscription_book.months_after(moment, -months)


class Seeder:
    def __init__(
        self,
        store: AccountState,
        *,
        until: int,
        months: int,
        seed: int,
        scale: float,
        name: str,
        timezone: str,
        subscriptions: bool = True,
        part: int = 0,
        parts: int = 1,
    ):
        self.store = store
        self.until = until
        self.start = months_before(until, months)
        self.part, self.parts = part, parts
        self.rng = random.Random(seed if part == 0 else f"{seed}/{part}")
        self.scale = scale * _share(part, parts)
        self.first_customer = 0 if part == 0 else _customers(scale * _share(0, parts))
        self.order_prefix = "ORD-" if parts == 1 else f"ORD-{'AB'[part]}"
        self.arguments = {
            "until": until,
            "months": months,
            "seed": seed,
            "scale": scale,
            "name": name,
            "timezone": timezone,
            "subscriptions": subscriptions,
        }
        self.second: SecondPart | None = None  # in the first of two parts
        self.outbox = None  # in the second part: where its days go
        self.inherited: dict = {}  # in the second part: the first part's account settings
        self.name = name
        self.timezone = account_model.check_timezone(timezone)  # before anything is replaced
        self.history = History()
        self.agenda: list[tuple[int, int, str, tuple]] = []
        self.customers: list[dict] = []
        self.order_seq = 0
        self.events_from = until - clock.EVENT_RETENTION
        self.scheduled = 0
        self.plants = 0
        self.no_default: set[str] = set()
        self._backend: Backend | None = None
        self.book = (
            subscription_book.Book(
                store,
                start=self.start,
                until=until,
                seed=seed,
                scale=scale,
                timezone=self.timezone,
                events_from=self.events_from,
                later=self.later,
            )
            if subscriptions and part == parts - 1
            else None
        )

    # time and randomness

    def backend(self, moment: int) -> Backend:
        """The account at `moment`; one Backend per day keeps the account object cached."""
        if self._backend is None:
            self._backend = Backend(self.store, now=moment, rng=self.rng)
            self._backend.keep_events_from = self.events_from
        self._backend.now = moment
        return self._backend

    def later(self, moment: int, action: str, *args) -> None:
        if moment < self.until:
            self.scheduled += 1
            heapq.heappush(self.agenda, (moment, self.scheduled, action, args))

    def pick(self, weighted):
        names, cumulative = _cumulative(weighted)
        return names[self.draw(cumulative)]

    def draw(self, cumulative: tuple) -> int:
        """An index drawn by cumulative weights: `rng.choices(cum_weights=...)` for one,
        which draws the same from the generator, without the list it builds."""
        return bisect.bisect(cumulative, self.rng.random() * cumulative[-1], 0, len(cumulative) - 1)

    def amount(self, currency: str) -> int:
        value = MEDIAN[currency] * math.exp(self.rng.gauss(0, 0.8))
        if currency == "jpy":
            return max(100, int(round(value, -1)))
        return max(500, int(value // 100) * 100 + self.rng.choice((0, 0, 99, 50, 95)))

    # the history

    def run(self) -> History:
        # A seed is rebuilt, not recovered: no syncs to disk, and fewer, larger checkpoints.
        # Each insert also lands in the indexes by customer, amount and due time: a cache
        # that holds the indexes of a million-transaction history keeps that off the disk.
        conn = self.store.conn
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA wal_autocheckpoint=10000")
        conn.execute("PRAGMA cache_size=-2097152")  # 2 GiB, a ceiling, for this run only
        try:
            return self._run()
        finally:
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint=1000")
            conn.execute(f"PRAGMA cache_size=-{state.CACHE_KIB}")

    def _run(self) -> History:
        self.reset()
        day = self.start - self.start % DAY
        self.plan_customers()
        if self.book:
            self.book.open()
        billing_rng = self.book.rng if self.book else None
        if self.part == 0:
            self.plan_failed_payout(day)
        if self.parts > 1 and self.part == 0:
            self.second = SecondPart(self)
        try:
            # A week to a commit: a day's pages are often written again within the week (its
            # index pages, balance transactions made available, charges captured).
            for week in range(day, self.until, COMMIT_DAYS * DAY):
                with self.store.transaction():
                    for day in range(week, min(week + COMMIT_DAYS * DAY, self.until), DAY):
                        self.run_day(day, billing_rng)
                        self.hand_over(day)
            with self.store.transaction():
                clock.run(
                    self.store,
                    self.until,
                    rng=self.rng,
                    billing_rng=billing_rng,
                    ledger_here=self.part == 0,
                )
                self.hand_over(self.until)
                if self.second:
                    self.history.absorb(self.second.finish())
                if self.part == 0:
                    self.mark_open_authorizations()
        finally:
            if self.second:
                self.second.close()
        return self.history

    def subscriptions(self) -> tuple[dict | None, list[str]]:
        """The subscription book's truth (None without one) and its subscribers whose trial
        lapsed before they saved a card (customers without a default), wherever it ran."""
        if self.second:
            return self.second.subscriptions, self.second.cardless
        if self.book is None:
            return None, []
        return self.book.truth(), [s.customer for s in self.book.subscribers if not s.card]

    def plan_failed_payout(self, day: int) -> None:
        """A payout to a bank account that refuses it, half-way through the history."""
        failing = day + (self.until - day) // DAY // 2 * DAY
        while time.gmtime(failing).tm_wday >= 5:  # a weekday, when a payout is made
            failing += DAY
        self.history.failed_payout_day = failing
        self.later(self.history.failed_payout_day - 3600, "bank", "000111111113")
        self.later(self.history.failed_payout_day + 3600, "bank", "000123456789")

    def hand_over(self, day: int) -> None:
        """Two parts meet at the end of each day: the second sends its changes, the first
        writes them into the account before its next day's payouts."""
        if self.second:
            self.second.merge(day)
        elif self.outbox is not None:
            if not multiprocessing.parent_process().is_alive():
                raise SystemExit("the seed's first part is gone")  # killed: stop too
            handoff.send(self.store.conn, changes_path(self.store.path, day))
            self.outbox.put(("day", day))

    def run_day(self, day: int, billing_rng) -> None:
        clock.run(
            self.store,
            max(day, self.start),
            rng=self.rng,
            events_from=self.events_from,
            billing_rng=billing_rng,
            ledger_here=self.part == 0,
        )
        self._backend = None
        self.plan_day(day)
        end = min(day + DAY, self.until)
        while self.agenda and self.agenda[0][0] < end:
            moment, _, action, args = heapq.heappop(self.agenda)
            if moment >= self.start:
                getattr(self, f"do_{action}")(moment, *args)

    def reset(self) -> None:
        store = self.store
        with store.transaction():
            for table in ("objects", "idempotency", "deliveries", "settings"):
                store.conn.execute(f"DELETE FROM {table}")
            account_model.initialize(self.backend(self.start), self.name, timezone=self.timezone)
            store.set_setting("processed_until", self.start)
            store.set_setting("clock", {"offset": 0, "frozen": self.start})
            store.set_setting(SEEDING, True)  # until the whole history is in: see ensure
            for setting, value in self.inherited.items():
                store.set_setting(setting, value)

    def plan_customers(self) -> None:
        span = max(DAY, (self.until - self.start) * 2 // 3)
        for index in range(self.first_customer, self.first_customer + _customers(self.scale)):
            self.later(self.start + self.rng.randrange(span), "customer", index)

    def plan_day(self, day: int) -> None:
        weekday = time.gmtime(day).tm_wday
        volume = ORDERS_PER_DAY * self.scale * (0.6 if weekday >= 5 else 1.0)
        count = max(0, round(self.rng.gauss(volume, math.sqrt(volume))))
        for _ in range(count):
            hour = self.draw(HOURS)
            moment = day + hour * 3600 + self.rng.randrange(3600)
            if self.start <= moment < self.until:
                self.later(moment, "order")

    # actions, each at its moment

    def do_book(self, moment: int, action: str, *args) -> None:
        """A step of a subscriber's story, once what fell due for subscriptions until
        then has run (the rest of the sandbox's clock keeps its own pace)."""
        clock.run_billing(self.store, moment, self.book.rng, self.events_from)
        getattr(self.book, action)(moment, *args)

    def do_bank(self, moment: int, number: str) -> None:
        account_model.configure(self.backend(moment), {"bank_account_number": number})

    def do_customer(self, moment: int, index: int) -> None:
        backend = self.backend(moment)
        customer = customers.create(
            backend,
            {
                "email": f"customer{index:05d}@example.com",
                "name": f"Customer {index:05d}",
                "source": self.pick(SAVED_CARDS),
                "metadata": {"segment": self.rng.choice(("retail", "retail", "wholesale"))},
            },
        )
        if self.rng.random() < 0.3:
            customers.create_source(backend, {"source": self.pick(SAVED_CARDS)}, customer["id"])
        if index % 8 == 3:
            self.expire_soon(backend, customer)
        if index % 20 == 11:
            customers.update(backend, {"default_source": None}, customer["id"])
            self.history.without_default.append(customer["id"])
            self.no_default.add(customer["id"])
        self.customers.append(customer)

    def expire_soon(self, backend: Backend, customer: dict) -> None:
        """A saved card that expires within two months of the end of the history."""
        target = time.gmtime(self.until + self.rng.randrange(5, 55) * DAY)
        card = customer["default_source"]
        customers.update_source(
            backend, {"exp_month": target.tm_mon, "exp_year": target.tm_year}, customer["id"], card
        )
        self.history.expiring_cards.append(card)

    def new_order(self, moment: int) -> Order:
        self.order_seq += 1
        currency = self.pick(CURRENCIES)
        order = Order(
            f"{self.order_prefix}{self.order_seq:06d}",
            moment - self.rng.randrange(5, 120),
            self.amount(currency),
            currency,
        )
        self.history.orders.append(order)
        return order

    def do_order(self, moment: int) -> None:
        order = self.new_order(moment)
        roll = self.rng.random()
        # Disputes are rare; a small history still gets one every ten days or so.
        dispute_rate = max(DISPUTE_RATE, 1 / (10 * ORDERS_PER_DAY * self.scale))
        if roll < dispute_rate:
            self.pay(moment, order, source="tok_createDispute", then="dispute")
        elif roll < dispute_rate + DECLINE_RATE:
            made = self.pay(moment, order, source=self.pick(DECLINES))
            if made is None and self.rng.random() < RETRY_RATE:
                self.later(moment + self.rng.randrange(60, 1800), "retry", order)
            elif made is None:
                order.status = "cancelled"
        else:
            manual = self.rng.random() < MANUAL_RATE
            self.pay(moment, order, manual=manual)

    def do_retry(self, moment: int, order: Order) -> None:
        self.pay(moment, order, source=self.pick(SAVED_CARDS))

    def pay(
        self,
        moment: int,
        order: Order,
        *,
        source: str | None = None,
        manual=False,
        then: str | None = None,
    ) -> dict | None:
        """One payment attempt for an order; None when it was declined."""
        backend = self.backend(moment)
        params = {
            "description": f"Order {order.order_id}",
            "metadata": {"order_id": order.order_id},
        }
        customer = None
        if source is None and self.customers and self.rng.random() > GUEST_RATE:
            customer = self.rng.choice(self.customers)
            if customer["id"] in self.no_default:
                customer = None
        if source is None and customer is None:
            source = self.pick(SAVED_CARDS)
        try:
            if self.rng.random() < INTENT_RATE and source is not None:
                made = self.pay_with_intent(backend, order, source, manual, params)
            else:
                made = charges.create(
                    backend,
                    {
                        "amount": order.amount,
                        "currency": order.currency,
                        "capture": not manual,
                        **({"customer": customer["id"]} if customer else {"source": source}),
                        **params,
                    },
                )
        except SandboxError as error:
            self.history.counts["failed"] += 1
            self.history.declines[error.decline_code or error.code] += 1
            return None
        self.history.counts["succeeded"] += 1
        order.status = "authorized" if manual else "paid"
        self.follow_up(moment, order, made, manual, then)
        return made

    def pay_with_intent(
        self, backend: Backend, order: Order, source: str, manual: bool, params: dict
    ) -> dict:
        method = "pm_card_" + source.removeprefix("tok_")
        intent = payment_intents.create(
            backend,
            {
                "amount": order.amount,
                "currency": order.currency,
                "payment_method": method,
                "confirm": True,
                "capture_method": "manual" if manual else "automatic_async",
                **params,
            },
        )
        return backend.get(intent["latest_charge"], "charge")

    def follow_up(self, moment: int, order: Order, made: dict, manual: bool, then) -> None:
        if then == "dispute":
            self.later(moment + self.rng.randrange(2, 6) * DAY, "evidence", made["id"])
            return
        if manual:
            roll = self.rng.random()
            if roll < 0.80:
                self.later(
                    moment + self.rng.randrange(3600, 4 * DAY), "capture", made["id"], order, None
                )
            elif roll < 0.95:
                part = made["amount"] * self.rng.randrange(50, 95) // 100
                if made["currency"] == "jpy":
                    part = part // 10 * 10
                self.later(
                    moment + self.rng.randrange(3600, 4 * DAY), "capture", made["id"], order, part
                )
            else:
                order.status = "cancelled"  # never captured: the hold lapses after 7 days
            return
        if not self.maybe_plant(moment, order, made):
            self.plan_refund(moment, order, made["id"])

    def plan_refund(self, moment: int, order: Order, charge_id: str) -> None:
        if self.rng.random() < REFUND_RATE:
            full = self.rng.random() < 0.7
            self.later(moment + self.rng.randrange(DAY, 20 * DAY), "refund", charge_id, order, full)

    def do_capture(self, moment: int, charge_id: str, order: Order, amount: int | None) -> None:
        backend = self.backend(moment)
        charge = backend.get(charge_id, "charge")
        if charge["payment_intent"]:
            payment_intents.capture(
                backend,
                {} if amount is None else {"amount_to_capture": amount},
                charge["payment_intent"],
            )
        else:
            charges.capture(backend, {} if amount is None else {"amount": amount}, charge_id)
        order.status = "paid"
        if amount is not None:
            order.amount = amount  # the shop shipped less and charged what it shipped
            self.history.partial_captures.append(
                {
                    "charge": charge_id,
                    "authorized": charge["amount"],
                    "captured": amount,
                    "released": charge["amount"] - amount,
                }
            )
        self.plan_refund(moment, order, charge_id)

    def do_refund(self, moment: int, charge_id: str, order: Order, full: bool) -> None:
        backend = self.backend(moment)
        charge = backend.get(charge_id, "charge")
        if charge["disputed"] or charge["refunded"]:
            return
        params = {"charge": charge_id, "reason": "requested_by_customer"}
        if not full:
            part = charge["amount_captured"] * self.rng.randrange(10, 60) // 100
            params["amount"] = max(1, part // 10 * 10 if charge["currency"] == "jpy" else part)
        refunds.create(backend, params)
        if full and order.status == "paid":
            order.status = "refunded"

    def do_evidence(self, moment: int, charge_id: str) -> None:
        backend = self.backend(moment)
        row = self.store.conn.execute(
            "SELECT id FROM objects WHERE object = 'dispute' AND charge = ?", (charge_id,)
        ).fetchone()
        dispute = backend.get(row[0], "dispute")
        if moment > self.until - 10 * DAY or dispute["status"] != "needs_response":
            return  # recent disputes stay open, evidence due
        choice = self.rng.random()
        if choice < 0.15:
            return  # never answered: lost when due_by passes
        text = "winning_evidence" if choice < 0.65 else "losing_evidence"
        disputes.update(
            backend,
            {"evidence": {"uncategorized_text": text, "product_description": "Goods shipped"}},
            row[0],
        )

    # planted discrepancies, about one of each kind a month

    def maybe_plant(self, moment: int, order: Order, made: dict) -> bool:
        """Now and then plant the next kind of discrepancy; True when this order got one."""
        if self.rng.random() > len(PLANTED) / (30 * ORDERS_PER_DAY * self.scale * 0.85):
            return False
        kind = PLANTED[self.plants % len(PLANTED)]
        self.plants += 1
        planted = self.history.planted[kind]
        if kind == "missing_payment":  # an order the shop marked paid, never charged
            ghost = self.new_order(moment + 60)
            ghost.status = "paid"
            planted.append(ghost.order_id)
            return False
        if kind == "amount_mismatch":
            order.amount += 1000 if order.currency == "jpy" else 100
            planted.append(order.order_id)
        elif kind == "unknown_order":
            order.listed = False
            planted.append(order.order_id)
        elif kind == "duplicate_payment":
            self.later(moment + self.rng.randrange(5, 90), "duplicate", order)
        elif kind == "refunded_order":
            self.later(moment + self.rng.randrange(DAY, 5 * DAY), "refund_only", made["id"], order)
        return True

    def do_duplicate(self, moment: int, order: Order) -> None:
        """The customer paid twice for one order (a second, separate charge)."""
        charges.create(
            self.backend(moment),
            {
                "amount": order.amount,
                "currency": order.currency,
                "source": "tok_visa",
                "description": f"Order {order.order_id}",
                "metadata": {"order_id": order.order_id},
            },
        )
        self.history.counts["succeeded"] += 1
        self.history.planted["duplicate_payment"].append(order.order_id)

    def do_refund_only(self, moment: int, charge_id: str, order: Order) -> None:
        """Refunded in Stripe, still `paid` in the shop's orders."""
        refunds.create(
            self.backend(moment), {"charge": charge_id, "reason": "requested_by_customer"}
        )
        self.history.planted["refunded_order"].append(order.order_id)

    def mark_open_authorizations(self) -> None:
        """Authorizations still open at the end: charges due to expire, and the charges of
        PaymentIntents due to expire (a PaymentIntent's authorization expires with it). The
        few due objects are found by their index and the charges by id: asked as `object =
        'charge' AND id IN (...)`, SQLite read every charge (12 s at a million)."""
        rows = self.store.conn.execute(
            "SELECT charge.id FROM ("
            "SELECT id FROM objects INDEXED BY objects_due "
            "WHERE due IS NOT NULL AND object = 'charge' UNION "
            "SELECT json_extract(data, '$.latest_charge') FROM objects INDEXED BY objects_due "
            "WHERE due IS NOT NULL AND object = 'payment_intent') AS open "
            "CROSS JOIN objects AS charge ON charge.id = open.id "
            "WHERE charge.object = 'charge' ORDER BY charge.created, charge.seq"
        ).fetchall()
        self.history.open_authorizations = [row[0] for row in rows]


class SecondPart:
    """A large seed's second part, in a process of its own so that the second core works
    too: the same account seen from its own file, with its own generator, customers and
    order series (ORD-B...), and the subscription book. At the end of each day it sends
    what changed (handoff), and the first part writes that into the account before its next
    day runs availability and payouts over both parts' balance transactions; so the same
    arguments still give the same bytes."""

    def __init__(self, seeder: Seeder):
        store = seeder.store
        prefix = f".{seeder.name}.seed-"
        for left in store.path.parent.glob(f"{prefix}*"):  # by a seed that was killed
            shutil.rmtree(left, ignore_errors=True)
        self.folder = Path(tempfile.mkdtemp(prefix=prefix, dir=store.path.parent))
        self.conn = store.conn
        context = multiprocessing.get_context("spawn")  # no locks of the caller's threads
        self.inbox = context.Queue()
        inherited = {name: store.setting(name) for name in ("account", "bank_account")}
        self.path = self.folder / "part.sqlite3"
        self.process = context.Process(
            target=_second_part,
            args=(self.path, seeder.arguments, inherited, self.inbox),
            daemon=True,
        )
        self.process.start()
        self.subscriptions: dict | None = None
        self.cardless: list[str] = []

    def receive(self, kind: str) -> tuple:
        while True:
            try:
                message = self.inbox.get(timeout=1)
            except queue.Empty:
                if not self.process.is_alive():
                    raise RuntimeError(
                        f"the seed's second part stopped (exit code {self.process.exitcode})"
                    ) from None
                continue
            if message[0] == "failed":
                raise RuntimeError(f"the seed's second part failed: {message[1]}")
            if message[0] != kind:
                raise RuntimeError(f"the seed's second part sent {message[0]!r}, not {kind!r}")
            return message[1:]

    def merge(self, day: int) -> None:
        (sent,) = self.receive("day")
        if sent != day:
            raise RuntimeError(f"the seed's second part is at {sent}, the first at {day}")
        handoff.receive(self.conn, changes_path(self.path, day))

    def finish(self) -> History:
        """The second part's last word: the due instants still ahead, and its history."""
        dues, history, self.subscriptions, self.cardless = self.receive("done")
        handoff.restore(self.conn, dues)
        return history

    def close(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.inbox.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def changes_path(path: Path, day: int) -> Path:
    """Where the second part, its state at `path`, leaves the changes of `day`."""
    return path.with_suffix(f".{day}.changes")


def _second_part(path: Path, arguments: dict, inherited: dict, outbox) -> None:
    """The second part of a seed, in its own process (see SecondPart)."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the first part, and it this
        gc.disable()  # as for the first part: see _collector_off
        store = AccountState(path)
        store.conn.execute("PRAGMA journal_mode=OFF")  # a file of its own, thrown away after
        for index in ("objects_unpaid", "objects_balance", "objects_payout"):
            store.conn.execute(f"DROP INDEX {index}")  # the ledger's: it runs in the first part
        seeder = Seeder(store, part=1, parts=2, **arguments)
        seeder.inherited, seeder.outbox = inherited, outbox
        handoff.watch(store.conn)
        history = seeder.run()
        outbox.put(("done", handoff.dues(store.conn), history, *seeder.subscriptions()))
    except BaseException as error:  # the first part raises it, with this line
        outbox.put(("failed", f"{type(error).__name__}: {error}"))
        raise


def major(amount: int, currency: str) -> str:
    return str(Decimal(amount).scaleb(-exponent(currency)))


def write_orders(history: History, path: Path) -> None:
    """The merchant's orders export: what the shop believes it sold and was paid."""
    temporary = path.with_suffix(".csv.tmp")
    with temporary.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["order_id", "created", "amount", "currency", "status"])
        for order in sorted(history.orders, key=lambda o: (o.created, o.order_id)):
            if order.listed:
                writer.writerow(
                    [
                        order.order_id,
                        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(order.created)),
                        major(order.amount, order.currency),
                        order.currency.upper(),
                        order.status,
                    ]
                )
    temporary.replace(path)


def orders_path(data_dir: Path, account: str) -> Path:
    """Where the merchant's orders export of an account lives."""
    return Path(data_dir) / ("orders.csv" if account == "default" else f"orders-{account}.csv")


def statement_path(data_dir: Path, account: str) -> Path:
    """Where the bank statement of an account's payouts lives."""
    return Path(data_dir) / ("bank.csv" if account == "default" else f"bank-{account}.csv")


BANK_PLANTED = ("missing_deposit", "amount_differs", "late", "no_payout")


def _business_days_later(day: int, count: int) -> int:
    while count:
        day += DAY
        count -= time.gmtime(day).tm_wday < 5
    return day


def write_statement(store: AccountState, path: Path, *, seed: int, until: int) -> dict:
    """The bank's statement of the account: each paid payout arriving as a deposit on its
    arrival date, among the account's other lines (rent, a client's transfer), except for
    one planted discrepancy of each kind, which the returned truth names: a payout that
    never arrived, one short by a bank fee, one five business days late, and a deposit from
    Stripe that is no payout. Drawn from its own generator, so the history stays the same."""
    rng = random.Random(seed * 7919 + 17)
    rows = store.conn.execute(
        "SELECT data FROM objects WHERE object = 'payout' ORDER BY created, seq"
    ).fetchall()
    paid = [p for p in (state.loads(row[0]) for row in rows) if p["status"] == "paid"]
    middle = [p for p in paid if p["arrival_date"] < until - 14 * DAY and p["amount"] >= 5000]
    planted = {kind: [] for kind in BANK_PLANTED}
    chosen = rng.sample(middle, 3) if len(middle) >= 3 else []
    lines = []
    for payout in paid:
        day, amount = payout["arrival_date"], payout["amount"]
        if chosen and payout is chosen[0]:
            planted["missing_deposit"].append(payout["id"])
            continue
        if chosen and payout is chosen[1]:
            amount -= min(1500, amount // 20)  # the bank kept a fee
            planted["amount_differs"].append(payout["id"])
        if chosen and payout is chosen[2]:
            day = _business_days_later(day, 5)
            planted["late"].append(payout["id"])
        lines.append((day, "STRIPE TRANSFER", amount, payout["currency"], payout["id"]))
    if chosen:
        stray = _business_days_later(chosen[0]["arrival_date"] + 3 * DAY, 1)
        lines.append((stray, "STRIPE TRANSFER", 12345, paid[0]["currency"], "stray"))
        planted["no_payout"].append(time.strftime("%Y-%m-%d", time.gmtime(stray)))
    first = paid[0]["arrival_date"] if paid else until
    for month_start in range(first - first % DAY, until, 30 * DAY):
        lines.append((month_start + 2 * DAY, "RENT OFFICE", -250000, "usd", "rent"))
        lines.append((month_start + 9 * DAY, "ACME CLIENT TRANSFER", 80000, "usd", "client"))
    temporary = path.with_suffix(".csv.tmp")
    with temporary.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["date", "description", "amount", "currency", "reference"])
        for number, (day, text, amount, currency, _) in enumerate(sorted(lines), start=1):
            writer.writerow(
                [
                    time.strftime("%Y-%m-%d", time.gmtime(day)),
                    text,
                    major(amount, currency),
                    currency.upper(),
                    f"BANK-{number:06d}",
                ]
            )
    temporary.replace(path)
    return planted


def _collector_off(function):
    """A seed makes millions of dicts that hold no cycles: nothing for the collector to find.
    It stays off until the files are written, too: turned on any earlier, its first passes
    would walk every object the history still holds."""

    @functools.wraps(function)
    def without_collector(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return without_collector


@_collector_off
def seed(
    store: AccountState,
    *,
    until: int,
    months: int = 6,
    seed: int = 0,
    scale: float = 1.0,
    name: str = "default",
    timezone: str = account_model.DEFAULT_TIMEZONE,
    files: Path | None = None,
    frozen: bool = True,
    subscriptions: bool = True,
    parts: int | None = None,
) -> dict:
    """Replace the account's state with a seeded history; returns its ground truth. The
    merchant's orders export and the bank's statement are written into the folder `files`
    (orders_path, statement_path). `parts`: 2 to seed in two processes (SecondPart), 1 in
    one; by default 2 from SPLIT_SCALE up."""
    started = time.monotonic()
    seeder = Seeder(
        store,
        until=until,
        months=months,
        seed=seed,
        scale=scale,
        name=name,
        timezone=timezone,
        subscriptions=subscriptions,
        parts=parts or (2 if scale >= SPLIT_SCALE else 1),
    )
    history = seeder.run()
    with store.transaction():
        store.set_setting(
            "clock",
            {"offset": 0, "frozen": until}
            if frozen
            else {"offset": until - int(time.time()), "frozen": None},
        )
        store.set_setting("processed_until", until)
        store.delete_setting(SEEDING)
        counts = dict(
            store.conn.execute(
                "SELECT object, COUNT(*) FROM objects GROUP BY object ORDER BY object"
            ).fetchall()
        )
    truth = {
        "account": store.setting("account")["id"],
        "name": name,
        "seed": seed,
        "scale": scale,
        "parts": seeder.parts,
        "timezone": timezone,
        "months": months,
        "start": seeder.start,
        "until": until,
        "objects": counts,
        "charges": dict(sorted(history.counts.items())),
        "declines": dict(sorted(history.declines.items())),
        "orders": sum(1 for o in history.orders if o.listed),
        "planted": history.planted,
        "expiring_cards": history.expiring_cards,
        "customers_without_default": history.without_default,
        "open_authorizations": history.open_authorizations,
        "partial_captures": history.partial_captures,
        "failed_payout_day": history.failed_payout_day,
    }
    book, cardless = seeder.subscriptions()
    if book is not None:
        truth["subscriptions"] = book
        truth["customers_without_default"] = history.without_default + cardless
    if files is not None:
        write_orders(history, orders_path(files, name))
        truth["bank"] = write_statement(store, statement_path(files, name), seed=seed, until=until)
    truth["seconds"] = round(time.monotonic() - started, 1)
    truth_path = store.path.with_suffix(".truth.json")
    truth_path.write_text(json.dumps(truth, indent=2, sort_keys=True))
    return truth


def ensure(store: AccountState, data_dir: Path, name: str, *, announce=None) -> dict | None:
    """Seed an empty account with the default history (six months until now), or one whose
    seed was interrupted. Returns the ground truth when it seeded."""
    with exclusive(store):
        with store.transaction(write=False):
            empty = store.conn.execute("SELECT 1 FROM objects LIMIT 1").fetchone() is None
            interrupted = store.setting(SEEDING) is not None
        if not (empty or interrupted):
            return None
        if announce:
            why = "its last seed was interrupted" if interrupted else "first use"
            announce(
                f"sandbox account {name!r}, {why}: seeding six months of history "
                f"(a few seconds; `workbench sandbox seed` rebuilds it)"
            )
        return seed(store, until=int(time.time()), name=name, files=data_dir, frozen=False)


@contextlib.contextmanager
def exclusive(store: AccountState):
    """One seed of an account at a time across processes (`ensure` and `workbench sandbox
    seed`): a lock on a file beside its state. Without it, a server starting during a
    seed would find the seed's mark and seed the account a second time."""
    with store.path.with_suffix(".seed.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
