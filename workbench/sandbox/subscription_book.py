"""The seed's subscription book: subscribers of monthly, quarterly and annual plans in USD,
EUR and JPY, planted beside the one-off payments and drawn from a random generator of
their own, so that the rest of the seeded history stays what it was.

Every story a subscription analysis must tell is planted at least once (the stories cycle
by subscriber): staying, trials that convert and trials that lapse, upgrades (more seats,
a dearer plan), a downgrade, cancellations at the period's end and at once, a card that
starts failing and is never fixed (involuntary churn once the retries run out), one that
is fixed between retries (a recovered renewal), one that fails days before the end (a
renewal still being retried, its MRR at risk), and a customer who cancels and comes back.

Its ground truth is worked out here from what was planted, by this module's own rules,
never from the workbench's analyses: each customer's MRR changes when their story says
(a subscription's start or its trial's end, a change, a cancellation, the end of a period
canceled at its end, the last retry of a failing renewal), and the months' MRR and
movements follow from those moments.

MRR: a subscription item's price times its quantity per month (an annual price over 12
months, a quarterly one over 3), rounded half up to the currency's minor unit, per item.
Movements compare each customer's MRR at a month's start and end: new (from nothing, for
the first time), reactivation (from nothing, having paid before), expansion, contraction,
churn (to nothing). Opening MRR plus the movements is closing MRR, to the unit.
"""

from __future__ import annotations

import calendar
import random
import time
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime

from workbench.sandbox.backend import Backend
from workbench.sandbox.models import customers, prices, products, subscriptions
from workbench.sandbox.models.invoices import FINALIZE_AFTER, RETRY_DAYS
from workbench.sandbox.state import AccountState

DAY = 86400
SUBSCRIBERS = 40  # at scale 1
TRIAL_DAYS = 14
# (plan, product, currency, unit amount, interval, interval count)
PLANS = (
    ("starter_month", "Starter", "usd", 1500, "month", 1),
    ("starter_quarter", "Starter", "usd", 4000, "month", 3),
    ("starter_year", "Starter", "usd", 15000, "year", 1),
    ("team_month", "Team", "usd", 4900, "month", 1),
    ("starter_month", "Starter", "eur", 1400, "month", 1),
    ("starter_year", "Starter", "eur", 14500, "year", 1),
    ("team_month", "Team", "eur", 4500, "month", 1),
    ("starter_month", "Starter", "jpy", 980, "month", 1),
    ("starter_year", "Starter", "jpy", 9800, "year", 1),
    ("team_month", "Team", "jpy", 4800, "month", 1),
)
STORIES = (
    "steady",
    "trial_converts",
    "more_seats",
    "cancel_at_period_end",
    "card_fails",
    "trial_lapses",
    "fewer_seats",
    "recovers",
    "cancels_now",
    "comes_back",
    "dearer_plan",
    "steady_annual",
    "late_failure",
)
CURRENCIES = ("usd", "eur", "usd", "jpy", "jpy", "eur", "usd")  # by subscriber, in turn
MONTHS = {"month": 1, "year": 12}
LENGTH = {plan: MONTHS[interval] * count for plan, _, _, _, interval, count in PLANS}


def months_after(moment: int, months: int) -> int:
    """The same day-of-month and time `months` calendar months later (clamped to the
    month's last day; negative: earlier)."""
    t = time.gmtime(moment)
    year, month = divmod(t.tm_year * 12 + t.tm_mon - 1 + months, 12)
    day = min(t.tm_mday, calendar.monthrange(year, month + 1)[1])
    return calendar.timegm((year, month + 1, day, t.tm_hour, t.tm_min, t.tm_sec))


def monthly(amount: int, interval: str, count: int) -> int:
    """An item's amount per month, rounded half up (the book's own rule, see above)."""
    months = MONTHS[interval] * count
    return (2 * amount + months) // (2 * months)


@dataclass
class Subscriber:
    """One customer's planted story and what it did, for the truth."""

    index: int
    story: str
    currency: str
    customer: str = ""
    card: str = ""
    subscriptions: list[str] = field(default_factory=list)
    changes: list[tuple[int, int]] = field(default_factory=list)  # (moment, MRR from then)


class Book:
    def __init__(
        self,
        store: AccountState,
        *,
        start: int,
        until: int,
        seed: int,
        scale: float,
        timezone: str,
        events_from: int,
        later,
    ):
        self.store = store
        self.start = start
        self.until = until
        self.rng = random.Random(seed * 7919 + 29)
        self.count = max(len(STORIES), round(SUBSCRIBERS * scale))
        self.timezone = timezone
        self.events_from = events_from
        self.later = later  # the seed's agenda: later(moment, action, *args)
        self.prices: dict[tuple[str, str], dict] = {}
        self.subscribers: list[Subscriber] = []
        self.trials: dict[str, list[str]] = {"converted": [], "lapsed": []}
        self.failed_renewals: list[dict] = []

    def backend(self, moment: int) -> Backend:
        """The account at `moment`, drawing from the book's own generator."""
        backend = Backend(self.store, now=moment, rng=self.rng)
        backend.keep_events_from = self.events_from
        return backend

    # planting

    def open(self) -> None:
        """The catalogue at the start, and each subscriber's story on the agenda."""
        backend = self.backend(self.start)
        made = {}
        for key, name, currency, amount, interval, count in PLANS:
            if name not in made:
                made[name] = products.create(backend, {"name": name})
            self.prices[(key, currency)] = prices.create(
                backend,
                {
                    "product": made[name]["id"],
                    "currency": currency,
                    "unit_amount": amount,
                    "recurring": {"interval": interval, "interval_count": count},
                    "nickname": f"{name} {currency.upper()} {key.split('_')[1]}",
                    "lookup_key": f"{key}_{currency}",
                },
            )
        span = self.until - self.start
        for index in range(self.count):
            subscriber = Subscriber(
                index, STORIES[index % len(STORIES)], CURRENCIES[index % len(CURRENCIES)]
            )
            self.subscribers.append(subscriber)
            moment = self.start + self.rng.randrange(max(DAY, span * 40 // 100))
            if subscriber.story == "late_failure":
                moment = self._renewing_near_the_end()
            self.later(moment, "book", "subscribe", subscriber)

    def _renewing_near_the_end(self) -> int:
        """A start whose monthly renewal falls in the history's last ten days."""
        renewal = self.until - self.rng.randrange(2, 10) * DAY - self.rng.randrange(DAY)
        months = next((n for n in (3, 2, 1) if months_after(renewal, -n) >= self.start), 1)
        return max(self.start, months_after(renewal, -months))

    def price(self, subscriber: Subscriber, key: str) -> dict:
        return self.prices[(key, subscriber.currency)]

    def mrr(self, key: str, currency: str, quantity: int) -> int:
        price = self.prices[(key, currency)]
        return monthly(
            price["unit_amount"] * quantity,
            price["recurring"]["interval"],
            price["recurring"]["interval_count"],
        )

    def next_renewal(self, anchor: int, key: str, after: int) -> int:
        """The first period end after `after` of a plan billed from `anchor` (the book's
        own month arithmetic: whole months from the anchor, the day clamped)."""
        step = 1
        while (end := months_after(anchor, LENGTH[key] * step)) <= after:
            step += 1
        return end

    # the stories, each action at its moment

    def subscribe(self, moment: int, subscriber: Subscriber) -> None:
        backend = self.backend(moment)
        story = subscriber.story
        params = {
            "email": f"subscriber{subscriber.index:04d}@example.com",
            "name": f"Subscriber {subscriber.index:04d}",
            "metadata": {"segment": "subscription"},
        }
        if story != "trial_lapses":
            params["source"] = self.rng.choice(("tok_visa", "tok_mastercard", "tok_amex"))
        customer = customers.create(backend, params)
        subscriber.customer, subscriber.card = customer["id"], customer["default_source"] or ""
        key, quantity = {
            "steady_annual": ("starter_year", 1),
            "more_seats": ("team_month", 2),
            "fewer_seats": ("team_month", 4),
            "card_fails": ("starter_month", 1),
            "recovers": ("starter_month", 1),
            "comes_back": ("starter_month", 1),
            "dearer_plan": ("starter_month", 1),
            "late_failure": ("starter_month", 1),
        }.get(story, (self._any_plan(subscriber), 1))
        self._start(moment, subscriber, key, quantity)

    def _any_plan(self, subscriber: Subscriber) -> str:
        roll = self.rng.random()
        if subscriber.currency == "usd" and roll < 0.2:
            return "starter_quarter"
        return "starter_year" if roll < 0.4 else "starter_month"

    def _start(self, moment: int, subscriber: Subscriber, key: str, quantity: int) -> None:
        story = subscriber.story
        trial = story in ("trial_converts", "trial_lapses")
        params = {
            "customer": subscriber.customer,
            "items": [{"price": self.price(subscriber, key)["id"], "quantity": quantity}],
        }
        if trial:
            params["trial_period_days"] = TRIAL_DAYS
            params["trial_settings"] = {"end_behavior": {"missing_payment_method": "cancel"}}
        made = subscriptions.create(self.backend(moment), params)
        subscriber.subscriptions.append(made["id"])
        trial_end = moment + TRIAL_DAYS * DAY
        if story == "trial_lapses":
            if trial_end <= self.until:
                self.trials["lapsed"].append(made["id"])
            return
        begins = trial_end if trial else moment
        self._change(subscriber, begins, self.mrr(key, subscriber.currency, quantity))
        if trial and trial_end <= self.until:
            self.trials["converted"].append(made["id"])
        after = self.rng.randrange(35, 50) * DAY + self.rng.randrange(DAY)  # a month on
        follow_up = {
            "more_seats": ("seats", key, quantity + self.rng.randrange(1, 4)),
            "fewer_seats": ("seats", key, 2),
            "dearer_plan": ("plan", "team_month"),
            "cancel_at_period_end": ("cancel_at_period_end", key),
            "cancels_now": ("cancel_now",),
            "comes_back": ("cancel_now", "again"),
            "card_fails": ("card_fails", key, False),
            "recovers": ("card_fails", key, True),
        }.get(story)
        if story == "late_failure":  # the day before the last renewal of the history
            count = 1
            while months_after(moment, count + 1) + FINALIZE_AFTER <= self.until:
                count += 1
            renewal = months_after(moment, count)
            self.later(renewal - DAY, "book", "card_fails", subscriber, moment, key, False)
        elif follow_up and len(subscriber.subscriptions) == 1:
            self.later(moment + after, "book", follow_up[0], subscriber, moment, *follow_up[1:])

    def seats(self, moment: int, subscriber: Subscriber, began: int, key: str, seats: int):
        """More or fewer seats: charged now (always_invoice), or (fewer, when the next
        renewal comes before the end of the history) credited on the next invoice."""
        renewal = self.next_renewal(began, key, moment)
        fewer = seats < self._quantity(subscriber)
        behavior = "create_prorations" if fewer and renewal <= self.until else "always_invoice"
        self._update(moment, subscriber, {"quantity": seats}, behavior)
        self._change(subscriber, moment, self.mrr(key, subscriber.currency, seats))

    def plan(self, moment: int, subscriber: Subscriber, began: int, key: str) -> None:
        price = self.price(subscriber, key)
        self._update(moment, subscriber, {"price": price["id"]}, "always_invoice")
        self._change(subscriber, moment, self.mrr(key, subscriber.currency, 1))

    def _quantity(self, subscriber: Subscriber) -> int:
        made = self.store.get(subscriber.subscriptions[-1], "subscription")
        return made["items"]["data"][0]["quantity"]

    def _update(self, moment: int, subscriber: Subscriber, change: dict, behavior: str):
        backend = self.backend(moment)
        made = backend.get(subscriber.subscriptions[-1], "subscription")
        item = {"id": made["items"]["data"][0]["id"], **change}
        subscriptions.update(backend, {"items": [item], "proration_behavior": behavior}, made["id"])

    def cancel_at_period_end(self, moment: int, subscriber: Subscriber, began: int, key: str):
        subscriptions.update(
            self.backend(moment), {"cancel_at_period_end": True}, subscriber.subscriptions[-1]
        )
        end = self.next_renewal(began, key, moment)
        if end <= self.until:
            self._change(subscriber, end, 0)

    def cancel_now(self, moment: int, subscriber: Subscriber, began: int, again: str = ""):
        subscriptions.cancel(
            self.backend(moment),
            {"cancellation_details": {"feedback": "too_expensive"}},
            subscriber.subscriptions[-1],
        )
        self._change(subscriber, moment, 0)
        if again:  # back in a later month, on the same plan
            self.later(moment + self.rng.randrange(32, 45) * DAY, "book", "come_back", subscriber)

    def come_back(self, moment: int, subscriber: Subscriber) -> None:
        self._start(moment, subscriber, "starter_month", 1)

    def card_fails(self, moment: int, subscriber: Subscriber, began: int, key: str, fixed: bool):
        """From now the customer's card is declined; the next renewal fails and is retried
        (8 tries in 2 weeks, then canceled), unless the card is fixed after the first
        retry, when the second retry succeeds."""
        backend = self.backend(moment)
        failing = customers.create_source(
            backend, {"source": "tok_chargeCustomerFail"}, subscriber.customer
        )
        customers.update(backend, {"default_source": failing["id"]}, subscriber.customer)
        renewal = self.next_renewal(began, key, moment)
        first = renewal + FINALIZE_AFTER
        if first > self.until:
            return
        ends = first + (RETRY_DAYS[1] if fixed else RETRY_DAYS[-1]) * DAY
        outcome = "retrying" if ends > self.until else "recovered" if fixed else "canceled"
        self.failed_renewals.append(
            {
                "subscription": subscriber.subscriptions[-1],
                "customer": subscriber.customer,
                "currency": subscriber.currency,
                "renewal": renewal,
                "outcome": outcome,
                "mrr": self.mrr(key, subscriber.currency, 1),
            }
        )
        if fixed:  # between the first retry (day 2) and the second (day 4)
            self.later(first + (RETRY_DAYS[0] + 1) * DAY, "book", "card_fixed", subscriber)
        elif outcome == "canceled":
            self._change(subscriber, ends, 0)

    def card_fixed(self, moment: int, subscriber: Subscriber) -> None:
        customers.update(
            self.backend(moment), {"default_source": subscriber.card}, subscriber.customer
        )

    def _change(self, subscriber: Subscriber, moment: int, mrr: int) -> None:
        subscriber.changes.append((moment, mrr))

    # the truth

    def truth(self) -> dict:
        """Each month's MRR at its end and its movements, per currency; the trials, failed
        renewals and what was at risk at the end."""
        months = month_starts(self.start, self.until, self.timezone)
        result = {}
        for (label, begins), (_, ends) in zip(months, months[1:], strict=False):
            if ends > self.until:
                break
            result[label] = self._month(begins, ends)
        at_risk: dict[str, int] = {}
        for failed in self.failed_renewals:
            if failed["outcome"] == "retrying":
                at_risk[failed["currency"]] = at_risk.get(failed["currency"], 0) + failed["mrr"]
        return {
            "subscribers": [s.customer for s in self.subscribers],
            "months": result,
            "trials": self.trials,
            "failed_renewals": self.failed_renewals,
            "mrr_at_risk": at_risk,
        }

    def _month(self, begins: int, ends: int) -> dict:
        found: dict[str, dict[str, int]] = {}
        for subscriber in self.subscribers:
            opening = mrr_at(subscriber.changes, begins)
            closing = mrr_at(subscriber.changes, ends)
            before = any(mrr > 0 for moment, mrr in subscriber.changes if moment < begins)
            figures = found.setdefault(
                subscriber.currency,
                dict.fromkeys(
                    (
                        "opening",
                        "new",
                        "expansion",
                        "contraction",
                        "churn",
                        "reactivation",
                        "closing",
                        "subscribers",
                    ),
                    0,
                ),
            )
            figures["opening"] += opening
            figures["closing"] += closing
            figures["subscribers"] += closing > 0
            if opening == 0 and closing > 0:
                figures["reactivation" if before else "new"] += closing
            elif opening > 0 and closing == 0:
                figures["churn"] -= opening
            elif closing > opening:
                figures["expansion"] += closing - opening
            elif closing < opening:
                figures["contraction"] += closing - opening
        return found


def mrr_at(changes: list[tuple[int, int]], moment: int) -> int:
    """A customer's MRR at `moment`: the last change at or before it."""
    current = 0
    for when, mrr in sorted(changes):
        if when > moment:
            break
        current = mrr
    return current


def month_starts(start: int, until: int, timezone: str) -> list[tuple[str, int]]:
    """(YYYY-MM, its first instant) for every month of the account's timezone from the
    one `start` falls in to the first that begins after `until`."""
    zone = zoneinfo.ZoneInfo(timezone)
    local = datetime.fromtimestamp(start, zone)
    year, month = local.year, local.month
    found = []
    while True:
        begins = int(datetime(year, month, 1, tzinfo=zone).timestamp())
        found.append((f"{year:04d}-{month:02d}", begins))
        if begins > until:
            return found
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
