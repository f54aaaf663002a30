"""Seeded random histories of changes to a sandbox account, interleaved with syncs: partial
ones (some object types), interrupted ones (stopped after a few pages) and whole ones. After
any such history and a last plain sync, the store must equal the API.

Used by tests/integration/test_sync_property.py (a few seeds) and benchmarks/sync_soak.py
(hundreds).
"""

from __future__ import annotations

import contextlib
import random
import shutil
from dataclasses import dataclass, field

import pandas as pd
import requests
import stripe

from tests.store_vs_api import Interrupted, StopsAfter, api_listing, assert_same, connect, stored
from workbench.sync import DEFAULT_KINDS, Sync

CARDS = ("tok_visa", "tok_mastercard", "tok_amex", "tok_visa_debit", "tok_gb", "tok_jp")
COPIED = ("charges", "balance_transactions")  # the types frames read from daily copies
CURRENCIES = (("usd", 2000), ("eur", 1500), ("jpy", 3000), ("kwd", 900))


@dataclass
class World:
    """What the history has made so far, for choosing what to change next."""

    customers: list[str] = field(default_factory=list)
    charges: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # uncaptured charges
    intents: list[str] = field(default_factory=list)  # PaymentIntents awaiting capture
    disputes: list[str] = field(default_factory=list)
    payouts: list[str] = field(default_factory=list)  # manual, pending
    prices: list[str] = field(default_factory=list)  # recurring
    subscriptions: list[str] = field(default_factory=list)


class History:
    """One seeded history against one sandbox account."""

    def __init__(self, server_url: str, key: str, data_dir, seed: int):
        self.url = server_url
        self.key = key
        self.rng = random.Random(seed)
        self.client = stripe.StripeClient(key, base_addresses={"api": server_url})
        self.wb = connect(server_url, key, data_dir)
        self.world = World()
        self.interrupted = False

    def control(self, path: str, **data) -> None:
        answer = requests.post(
            self.url + path, data=data, headers={"Authorization": f"Bearer {self.key}"}, timeout=60
        )
        answer.raise_for_status()

    def pick(self, items: list[str]) -> str | None:
        return self.rng.choice(items) if items else None

    # changes

    def new_customer(self) -> None:
        params = {"email": f"c{self.rng.randrange(10**6)}@example.com"}
        if self.rng.random() < 0.7:
            params["source"] = self.rng.choice(CARDS)
        self.world.customers.append(self.client.v1.customers.create(params=params).id)

    def update_customer(self) -> None:
        if customer := self.pick(self.world.customers):
            self.client.v1.customers.update(
                customer,
                params={
                    "email": f"u{self.rng.randrange(10**6)}@example.com",
                    "metadata": {"tier": self.rng.choice(("a", "b", ""))},
                },
            )

    def add_card(self) -> None:
        if customer := self.pick(self.world.customers):
            self.client.v1.customers.payment_sources.create(
                customer, params={"source": self.rng.choice(CARDS)}
            )

    def change_cards(self) -> None:
        """Update, delete, or make default one of a customer's cards."""
        customer = self.pick(self.world.customers)
        if customer is None:
            return
        cards = self.client.v1.customers.payment_sources.list(customer).data
        if not cards:
            return
        card = self.rng.choice(cards).id
        action = self.rng.randrange(3)
        if action == 0:
            self.client.v1.customers.payment_sources.update(
                customer, card, params={"name": f"N {self.rng.randrange(100)}"}
            )
        elif action == 1:
            self.client.v1.customers.payment_sources.delete(customer, card)
        else:
            self.client.v1.customers.update(customer, params={"default_source": card})

    def delete_customer(self) -> None:
        if customer := self.pick(self.world.customers):
            self.world.customers.remove(customer)
            self.client.v1.customers.delete(customer)

    def charge(self) -> None:
        currency, median = self.rng.choice(CURRENCIES)
        params = {
            "amount": median * self.rng.randrange(1, 6),
            "currency": currency,
            "capture": self.rng.random() < 0.7,
            "metadata": {"order_id": f"R-{self.rng.randrange(10**6)}"},
        }
        customer = self.pick(self.world.customers)
        if customer and self.rng.random() < 0.5:
            params["customer"] = customer
        else:
            params["source"] = self.rng.choice(
                (*CARDS, "tok_chargeDeclined", "tok_bypassPending", "tok_createDispute")
            )
        try:
            made = self.client.v1.charges.create(params=params)
        except stripe.CardError:
            return
        (self.world.charges if made.captured else self.world.held).append(made.id)
        if made.disputed:
            self.world.disputes.extend(
                d.id for d in self.client.v1.disputes.list(params={"charge": made.id}).data
            )

    def capture(self) -> None:
        if charge := self.pick(self.world.held):
            self.world.held.remove(charge)
            found = self.client.v1.charges.retrieve(charge)
            if found.refunded:  # expired meanwhile
                return
            part = self.rng.random() < 0.4
            params = {"amount": found.amount * 3 // 4} if part else {}
            self.client.v1.charges.capture(charge, params=params)
            self.world.charges.append(charge)

    def refund(self) -> None:
        charge = self.pick(self.world.charges)
        if charge is None:
            return
        found = self.client.v1.charges.retrieve(charge)
        left = (
            found.amount_captured - found.amount_refunded + (found.amount - found.amount_captured)
        )
        if found.disputed or found.refunded or left <= 0:
            return
        params = {"charge": charge}
        if self.rng.random() < 0.5 and left > 1:
            params["amount"] = max(1, left // 2)
        try:
            self.client.v1.refunds.create(params=params)
        except stripe.InvalidRequestError:
            return  # below the currency's minimum, or nothing left to refund

    def update_charge(self) -> None:
        if charge := self.pick(self.world.charges + self.world.held):
            self.client.v1.charges.update(
                charge, params={"metadata": {"note": str(self.rng.randrange(1000))}}
            )

    def intent(self) -> None:
        currency, median = self.rng.choice(CURRENCIES)
        manual = self.rng.random() < 0.5
        try:
            made = self.client.v1.payment_intents.create(
                params={
                    "amount": median * self.rng.randrange(1, 4),
                    "currency": currency,
                    "payment_method": self.rng.choice(
                        ("pm_card_visa", "pm_card_mastercard", "pm_card_chargeDeclined")
                    ),
                    "capture_method": "manual" if manual else "automatic",
                    "confirm": True,
                }
            )
        except stripe.CardError:
            return
        if manual:
            self.world.intents.append(made.id)

    def settle_intent(self) -> None:
        """Capture (all or part), cancel, or give metadata (a change with no event)."""
        intent = self.pick(self.world.intents)
        if intent is None:
            return
        found = self.client.v1.payment_intents.retrieve(intent)
        if found.status != "requires_capture":
            self.world.intents.remove(intent)
            return
        action = self.rng.randrange(3)
        if action == 0:
            self.client.v1.payment_intents.update(
                intent, params={"metadata": {"order_id": f"P-{self.rng.randrange(1000)}"}}
            )
            return
        self.world.intents.remove(intent)
        if action == 1:
            part = found.amount * self.rng.choice((2, 3, 4)) // 4
            self.client.v1.payment_intents.capture(intent, params={"amount_to_capture": part})
        else:
            self.client.v1.payment_intents.cancel(intent)

    def answer_dispute(self) -> None:
        if dispute := self.pick(self.world.disputes):
            self.world.disputes.remove(dispute)
            if self.client.v1.disputes.retrieve(dispute).status != "needs_response":
                return
            text = self.rng.choice(("winning_evidence", "losing_evidence"))
            self.client.v1.disputes.update(
                dispute, params={"evidence": {"uncategorized_text": text}}
            )

    def manual_payout(self) -> None:
        """Switch to manual payouts, pay some of what is available out, maybe cancel it."""
        self.control("/_sandbox/account", interval="manual")
        balance = self.client.v1.balance.retrieve()
        usd = next((b.amount for b in balance.available if b.currency == "usd"), 0)
        if usd >= 200:
            payout = self.client.v1.payouts.create(params={"amount": usd // 2, "currency": "usd"})
            if self.rng.random() < 0.5:
                self.client.v1.payouts.cancel(payout.id)
        self.control("/_sandbox/account", interval="daily")

    def subscribe(self) -> None:
        """A customer subscribes to one of a few plans (made on first use)."""
        if not self.world.prices:
            for currency, amount, interval in (("usd", 1500, "month"), ("usd", 9000, "year")):
                price = self.client.v1.prices.create(
                    params={
                        "currency": currency,
                        "unit_amount": amount,
                        "product_data": {"name": f"Plan {interval}"},
                        "recurring": {"interval": interval},
                    }
                )
                self.world.prices.append(price.id)
        customer = self.pick(self.world.customers)
        if customer is None:
            return
        params = {
            "customer": customer,
            "items": [{"price": self.pick(self.world.prices), "quantity": 1}],
        }
        if self.rng.random() < 0.3:
            params["trial_period_days"] = 3
        try:
            self.world.subscriptions.append(self.client.v1.subscriptions.create(params=params).id)
        except stripe.InvalidRequestError:
            return  # no card to bill, or a customer gone

    def change_subscription(self) -> None:
        """More or fewer seats (prorated one of Stripe's three ways), or a cancellation."""
        subscription = self.pick(self.world.subscriptions)
        if subscription is None:
            return
        found = self.client.v1.subscriptions.retrieve(subscription)
        if found.status in ("canceled", "incomplete_expired"):
            self.world.subscriptions.remove(subscription)
            return
        action = self.rng.randrange(4)
        if action == 0:
            self.client.v1.subscriptions.cancel(subscription)
        elif action == 1:
            self.client.v1.subscriptions.update(subscription, params={"cancel_at_period_end": True})
        else:
            item = found["items"].data[0]
            behavior = self.rng.choice(("create_prorations", "always_invoice", "none"))
            with contextlib.suppress(stripe.CardError):
                self.client.v1.subscriptions.update(
                    subscription,
                    params={
                        "items": [{"id": item.id, "quantity": self.rng.randrange(1, 5)}],
                        "proration_behavior": behavior,
                    },
                )

    def advance_a_month(self) -> None:
        """Far enough for renewals, their invoices and retries."""
        self.control("/_sandbox/clock/advance", days="32")

    def advance(self) -> None:
        self.control(
            "/_sandbox/clock/advance", seconds=str(self.rng.choice((600, 3600, 86400, 3 * 86400)))
        )

    # syncs

    def sync_some(self) -> None:
        kinds = self.rng.sample(DEFAULT_KINDS, self.rng.randrange(1, len(DEFAULT_KINDS)))
        self.syncer(Sync).run(kinds)
        self.read_frames()

    def sync_interrupted(self) -> None:
        if self.interrupted:
            return self.sync_some()
        self.interrupted = True
        with contextlib.suppress(Interrupted):
            self.syncer(StopsAfter, pages=self.rng.randrange(0, 12)).run()
        self.read_frames()

    def sync_all(self) -> None:
        self.syncer(Sync).run()
        self.read_frames()

    def read_frames(self) -> None:
        """Frames read between syncs leave copies of days that later changes must retire."""
        for name in COPIED:
            self.wb.frame(name, columns=self.rng.choice((None, ["amount"])))

    def check_frames(self, truth: dict) -> None:
        """Frames read through the copies equal the API, and the store read afresh."""
        for name in COPIED:
            for columns in (None, ["amount"]):
                copied = self.wb.frame(name, columns=columns)
                amounts = {i: obj["amount"] for i, obj in truth[name].items()}
                assert dict(zip(copied["id"], copied["amount"], strict=True)) == amounts
                shutil.rmtree(self.wb.store.copies, ignore_errors=True)
                pd.testing.assert_frame_equal(copied, self.wb.frame(name, columns=columns))

    def syncer(self, cls, **kwargs) -> Sync:
        wb = self.wb
        return cls(
            wb.client,
            wb.store,
            wb.partition(),
            rate=1000,
            threads=self.rng.choice((1, 3, 8)),
            page=self.rng.choice((2, 5, 100)),
            **kwargs,
        )

    # the whole history

    STEPS = (
        (new_customer, 8),
        (update_customer, 4),
        (add_card, 3),
        (change_cards, 3),
        (delete_customer, 2),
        (charge, 14),
        (capture, 4),
        (refund, 4),
        (update_charge, 3),
        (intent, 5),
        (settle_intent, 4),
        (answer_dispute, 2),
        (manual_payout, 1),
        (advance, 4),
        (subscribe, 3),
        (change_subscription, 3),
        (advance_a_month, 1),
        (sync_some, 3),
        (sync_interrupted, 1),
        (sync_all, 2),
    )

    def run(self, steps: int = 60) -> int:
        """Make the history, sync once more, and check the store; returns how many objects
        were compared."""
        actions, weights = zip(*self.STEPS, strict=True)
        for _ in range(3):
            self.new_customer()
        for _ in range(steps):
            self.rng.choices(actions, weights)[0](self)
        self.sync_all()
        truth = api_listing(self.url, self.key)
        found = stored(self.wb)
        assert_same(truth, found)
        self.check_frames(truth)
        for customer in set(found["customers"]) - set(truth["customers"]):
            assert self.client.v1.customers.retrieve(customer).to_dict()["deleted"] is True
        return sum(len(objects) for objects in truth.values())
