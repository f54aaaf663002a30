"""What a subscription does as time passes and as its invoices are paid or fail: renewals,
trials ending, incomplete first invoices expiring, cancellation at a period's end, and the
subscription's status after each payment attempt.

    incomplete --first invoice paid--> active --renewal fails--> past_due --paid--> active
        |  (23 hours unpaid)                                        | retries run out
        v                                                           v
    incomplete_expired                              canceled / unpaid / past_due (setting)
    trialing --trial ends--> active (its first invoice finalizes an hour later)

Periods run from the billing cycle anchor (creation, the end of a trial, or a change of
interval) by whole intervals, on the anchor's day of the month (clamped to shorter months)
and time of day, in UTC. Billing periods live on the items (`current_period_start/end`), as
in Stripe's recent API versions.

What happens when an invoice's retries run out is the account's setting (Stripe's
Dashboard; here POST /_sandbox/account subscription_after_retries): the subscription is
canceled (Stripe's default), marked unpaid (its later invoices stay drafts), or left
past_due. Deleting a customer cancels its subscriptions at once.

The sandbox's clock runs `advance` and `advance_invoice` for what falls due; a test clock
runs the same for its customers' subscriptions and invoices (models/test_clocks.py).
"""

from __future__ import annotations

import calendar
import time
from contextlib import contextmanager

from workbench.sandbox import ledger
from workbench.sandbox.backend import Backend
from workbench.sandbox.models import customers, invoices, refunds
from workbench.sandbox.state import loads

DAY = 86400
INCOMPLETE_EXPIRES = 23 * 3600
TRIAL_WILL_END = 3 * DAY  # customer.subscription.trial_will_end, before the trial ends
AFTER_RETRIES = ("canceled", "unpaid", "past_due")
ENDED = ("canceled", "incomplete_expired")
BILLED = ("active", "past_due", "unpaid")


@contextmanager
def at(backend: Backend, moment: int):
    """The backend at another instant (a test clock's), for what happens inside."""
    saved = backend.now
    backend.now = moment
    try:
        yield backend
    finally:
        backend.now = saved


def moment_of(backend: Backend, customer: dict) -> int:
    """Now, for this customer: its test clock's frozen time, else the sandbox's."""
    if customer.get("test_clock"):
        return backend.get(customer["test_clock"], "test_helpers.test_clock")["frozen_time"]
    return backend.now


def add_intervals(anchor: int, interval: str, count: int) -> int:
    """`count` intervals after `anchor`, keeping its day of the month and time of day."""
    if interval in ("day", "week"):
        return anchor + count * (7 if interval == "week" else 1) * DAY
    moment = time.gmtime(anchor)
    months = count * (12 if interval == "year" else 1)
    year, month = divmod(moment.tm_year * 12 + moment.tm_mon - 1 + months, 12)
    day = min(moment.tm_mday, calendar.monthrange(year, month + 1)[1])
    return calendar.timegm((year, month + 1, day, moment.tm_hour, moment.tm_min, moment.tm_sec))


def period_end(anchor: int, recurring: dict, start: int) -> int:
    """The first billing boundary after `start`: the anchor plus whole intervals."""
    count = recurring["interval_count"]
    intervals = 1
    while (end := add_intervals(anchor, recurring["interval"], count * intervals)) <= start:
        intervals += 1
    return end


def period(subscription: dict) -> tuple[int, int]:
    item = subscription["items"]["data"][0]
    return item["current_period_start"], item["current_period_end"]


def next_moment(subscription: dict, after: int) -> int | None:
    """The next instant after `after` at which the subscription acts on its own: its
    incomplete first invoice expiring, its trial about to end and ending, its period ending
    (renewed, or canceled at period end)."""
    status = subscription["status"]
    if status == "incomplete":
        moments = [subscription["created"] + INCOMPLETE_EXPIRES]
    elif status == "trialing":
        moments = [subscription["trial_end"] - TRIAL_WILL_END, subscription["trial_end"]]
    elif status in BILLED:
        moments = [period(subscription)[1]]
    else:
        return None
    ahead = [moment for moment in moments if moment > after]
    return min(ahead) if ahead else None


def schedule(backend: Backend, subscription: dict) -> None:
    """Tell the sandbox's clock when the subscription next acts (one on a test clock acts
    when its clock advances: test_clocks.advance)."""
    due = None if subscription["test_clock"] else next_moment(subscription, backend.now)
    backend.store.conn.execute("UPDATE objects SET due = ? WHERE id = ?", (due, subscription["id"]))


def store_items(backend: Backend, subscription: dict, removed: list[str] = ()) -> None:
    """Write the items as objects of their own too (GET /v1/subscription_items)."""
    for object_id in removed:
        backend.store.delete(object_id)
    for item in subscription["items"]["data"]:
        if backend.store.raw(item["id"]) is None:
            backend.store.insert(item)
        else:
            backend.store.update(item)


def _price_text(amount: int, currency: str) -> str:
    symbol = refunds.SYMBOLS.get(currency)
    text = ledger.display(amount, currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def _every(recurring: dict) -> str:
    count, interval = recurring["interval_count"], recurring["interval"]
    return interval if count == 1 else f"every {count} {interval}s"


def _name(backend: Backend, price: dict) -> str:
    product = backend.store.get(price["product"], "product")
    return product["name"] if product else price["product"]


def regular(backend: Backend, item: dict, span: tuple[int, int], *, trial: bool = False) -> dict:
    """The line that bills an item for a period (free during a trial)."""
    price, quantity = item["price"], item["quantity"]
    name = _name(backend, price)
    description = (
        f"Trial period for {name}"
        if trial
        else f"{quantity} × {name} (at {_price_text(price['unit_amount'], price['currency'])}"
        f" / {_every(price['recurring'])})"
    )
    return {
        "amount": 0 if trial else price["unit_amount"] * quantity,
        "description": description,
        "period": span,
        "price": price,
        "quantity": quantity,
        "subscription_item": item["id"],
        "proration": False,
    }


def prorated(amount: int, now: int, span: tuple[int, int]) -> int:
    """`amount` for the part of `span` left after `now`, to the second, rounded half up."""
    left, whole = span[1] - now, span[1] - span[0]
    return (2 * amount * left + whole) // (2 * whole)


def proration(backend: Backend, item: dict, span: tuple[int, int], *, credit: bool) -> dict:
    """Unused time on an item's old state (a credit), or remaining time on its new one."""
    price, quantity = item["price"], item["quantity"]
    amount = prorated(price["unit_amount"] * quantity, backend.now, span)
    moment = time.gmtime(backend.now)
    day = f"{moment.tm_mday} {calendar.month_abbr[moment.tm_mon]} {moment.tm_year}"
    word = "Unused" if credit else "Remaining"
    return {
        "amount": -amount if credit else amount,
        "description": f"{word} time on {quantity} × {_name(backend, price)} after {day}",
        "period": (backend.now, span[1]),
        "price": price,
        "quantity": quantity,
        "subscription_item": item["id"],
        "proration": True,
    }


def pending(backend: Backend, subscription: dict) -> list[dict]:
    """Prorations waiting for the next invoice."""
    return backend.store.with_private(subscription["id"], "subscription")[1].get("pending", [])


def set_pending(backend: Backend, subscription: dict, specs: list[dict]) -> None:
    backend.store.set_private(subscription["id"], {"pending": specs} if specs else None)


def add_pending(backend: Backend, subscription: dict, specs: list[dict]) -> None:
    set_pending(backend, subscription, pending(backend, subscription) + specs)


def invoice_now(
    backend: Backend,
    subscription: dict,
    specs: list[dict],
    reason: str,
    span: tuple[int, int],
    *,
    auto_advance: bool = False,
) -> dict:
    """A draft with the waiting prorations first, then `specs`."""
    waiting = pending(backend, subscription)
    set_pending(backend, subscription, [])
    return invoices.draft(
        backend,
        customer=backend.get(subscription["customer"], "customer"),
        subscription=subscription,
        specs=waiting + specs,
        billing_reason=reason,
        period=span,
        auto_advance=auto_advance,
    )


def advance(backend: Backend, subscription_id: str) -> None:
    """The sandbox clock's handler: what falls due for the subscription at backend.now."""
    subscription = backend.store.get(subscription_id, "subscription")
    if subscription is None:
        return
    step(backend, subscription)
    schedule(backend, subscription)


def step(backend: Backend, subscription: dict) -> None:
    """Act as Stripe would at backend.now: expire, warn of a trial's end, end a trial,
    renew, or cancel at the period's end."""
    now, status = backend.now, subscription["status"]
    if status == "incomplete" and now >= subscription["created"] + INCOMPLETE_EXPIRES:
        _expire(backend, subscription)
    elif status == "trialing" and now >= subscription["trial_end"]:
        _end_trial(backend, subscription)
    elif status == "trialing" and now >= subscription["trial_end"] - TRIAL_WILL_END:
        backend.emit("customer.subscription.trial_will_end", subscription)
    elif status in BILLED and now >= period(subscription)[1]:
        if subscription["cancel_at_period_end"]:
            cancel(backend, subscription, "cancellation_requested")
        else:
            _renew(backend, subscription)


def set_period(subscription: dict, span: tuple[int, int]) -> None:
    for item in subscription["items"]["data"]:
        item["current_period_start"], item["current_period_end"] = span


def _renew(backend: Backend, subscription: dict) -> None:
    """A new period, billed by an invoice that finalizes itself in an hour (a draft left as
    it is while the subscription is unpaid)."""
    start, end = period(subscription)
    recurring = subscription["items"]["data"][0]["price"]["recurring"]
    span = (end, period_end(subscription["billing_cycle_anchor"], recurring, end))
    with backend.change(subscription, "customer.subscription.updated"):
        set_period(subscription, span)
        invoice = invoice_now(
            backend,
            subscription,
            [regular(backend, item, span) for item in subscription["items"]["data"]],
            "subscription_cycle",
            (start, end),
            auto_advance=subscription["status"] != "unpaid",
        )
        subscription["latest_invoice"] = invoice["id"]
    store_items(backend, subscription)


def _end_trial(backend: Backend, subscription: dict) -> None:
    """The first paid period starts (its invoice finalizes in an hour); or, without a
    payment method and asked to, or set to cancel at the period's end, the trial ends it."""
    behavior = subscription["trial_settings"]["end_behavior"]["missing_payment_method"]
    if subscription["cancel_at_period_end"] or (
        behavior == "cancel" and invoices.method_for(backend, subscription) is None
    ):
        cancel(
            backend,
            subscription,
            "cancellation_requested" if subscription["cancel_at_period_end"] else None,
        )
        return
    start_paying(backend, subscription, "subscription_cycle", auto_advance=True)


def start_paying(backend: Backend, subscription: dict, reason: str, *, auto_advance: bool):
    """Active from now, the anchor reset: a new period and its invoice."""
    now = backend.now
    recurring = subscription["items"]["data"][0]["price"]["recurring"]
    span = (now, period_end(now, recurring, now))
    with backend.change(subscription, "customer.subscription.updated"):
        subscription.update(billing_cycle_anchor=now, status="active")
        if subscription["trial_end"] and subscription["trial_end"] > now:
            subscription["trial_end"] = now
        set_period(subscription, span)
        invoice = invoice_now(
            backend,
            subscription,
            [regular(backend, item, span) for item in subscription["items"]["data"]],
            reason,
            (now, now),
            auto_advance=auto_advance,
        )
        subscription["latest_invoice"] = invoice["id"]
    store_items(backend, subscription)
    return invoice


def _expire(backend: Backend, subscription: dict) -> None:
    """The first invoice unpaid after 23 hours: voided, the subscription over."""
    invoice = backend.get(subscription["latest_invoice"], "invoice")
    if invoice["status"] == "open":
        invoices.void(backend, invoice)
    with backend.change(subscription, "customer.subscription.deleted"):
        subscription.update(status="incomplete_expired", ended_at=backend.now)


def cancel(backend: Backend, subscription: dict, reason: str | None) -> None:
    """Over now: waiting prorations dropped, its invoices no longer collected."""
    with backend.change(subscription, "customer.subscription.deleted"):
        subscription.update(status="canceled", ended_at=backend.now)
        subscription["canceled_at"] = subscription["canceled_at"] or backend.now
        subscription["cancellation_details"]["reason"] = reason
    set_pending(backend, subscription, [])
    for invoice in open_invoices(backend, subscription, "draft"):
        invoices.stop_collecting(backend, invoice)


def open_invoices(backend: Backend, subscription: dict, *others: str) -> list[dict]:
    """The subscription's open invoices (and those of the `other` statuses)."""
    statuses = ("open", *others)
    rows = backend.store.conn.execute(
        "SELECT data FROM objects WHERE object = 'invoice' AND customer = ? "
        f"AND status IN ({', '.join('?' for _ in statuses)}) "
        "AND json_extract(data, '$.parent.subscription_details.subscription') = ?",
        (subscription["customer"], *statuses, subscription["id"]),
    ).fetchall()
    return [loads(row[0]) for row in rows]


def advance_invoice(backend: Backend, invoice_id: str) -> None:
    """The sandbox clock's handler for an invoice: a renewal's draft finalized and its
    payment attempted, or a retry."""
    invoice = backend.store.get(invoice_id, "invoice")
    if invoice is None:
        return
    now = backend.now
    subscription = backend.store.get(
        invoice["parent"]["subscription_details"]["subscription"], "subscription"
    )
    moment = invoices.next_moment(invoice)
    if moment is not None and now >= moment:
        if invoice["status"] == "draft":
            invoices.finalize(backend, invoice)
        if invoice["status"] == "open":
            collect(backend, subscription, invoice)
    backend.store.conn.execute(
        "UPDATE objects SET due = ? WHERE id = ?", (invoices.due(invoice), invoice_id)
    )
    if subscription is not None:
        schedule(backend, subscription)


def collect(backend: Backend, subscription: dict | None, invoice: dict, method=None):
    """One payment attempt of an open invoice and what it does to its subscription."""
    if subscription is None:
        return invoices.attempt(backend, invoice, None, retry=False)
    method = invoices.method_for(backend, subscription, method)
    declined = invoices.attempt(
        backend, invoice, method, retry=subscription["status"] != "incomplete"
    )
    _settle(backend, subscription, invoice, declined)
    return declined


def _settle(backend: Backend, subscription: dict, invoice: dict, declined) -> None:
    status = subscription["status"]
    if declined is None:
        if status in ("incomplete", "past_due", "unpaid") and not open_invoices(
            backend, subscription
        ):
            with backend.change(subscription, "customer.subscription.updated"):
                subscription["status"] = "active"
        return
    if status in ("incomplete", *ENDED):
        return
    if status in ("active", "trialing"):
        with backend.change(subscription, "customer.subscription.updated"):
            subscription["status"] = "past_due"
    if invoice["status"] == "open" and invoice["next_payment_attempt"] is None:
        after = after_retries(backend)
        if after == "canceled":
            cancel(backend, subscription, "payment_failed")
        elif after == "unpaid" and subscription["status"] != "unpaid":
            with backend.change(subscription, "customer.subscription.updated"):
                subscription["status"] = "unpaid"


def after_retries(backend: Backend) -> str:
    """The account's setting: what a subscription becomes when its retries run out."""
    return (backend.store.setting("billing") or {}).get("after_retries", "canceled")


def configure(backend: Backend, after: str) -> None:
    backend.store.set_setting("billing", {"after_retries": after})


def bill_now(backend: Backend, subscription: dict, invoice: dict, behavior: str | None) -> None:
    invoices.finalize(backend, invoice)
    if invoice["status"] != "open" or behavior == "default_incomplete":
        return
    declined = collect(backend, subscription, invoice)
    if declined is not None and behavior == "error_if_incomplete":
        declined.persists = False
        raise declined


def pay_invoice(backend: Backend, params: dict, invoice: str) -> dict:
    """POST /v1/invoices/{id}/pay: finalize a draft, then attempt payment now (a decline is
    Stripe's 402, with the attempt recorded)."""
    obj = backend.get(invoice, "invoice")
    invoices.check_payable(obj)
    subscription = backend.store.get(
        obj["parent"]["subscription_details"]["subscription"], "subscription"
    )
    customer = backend.get(obj["customer"], "customer")
    with at(backend, moment_of(backend, customer)):
        if obj["status"] == "draft":
            invoices.finalize(backend, obj)
        declined = None
        if obj["status"] in ("open", "uncollectible"):
            declined = collect(backend, subscription, obj, params.get("payment_method"))
        if subscription is not None:
            schedule(backend, subscription)
    if declined is not None:
        raise declined
    return obj


def void_invoice(backend: Backend, params: dict, invoice: str) -> dict:
    """POST /v1/invoices/{id}/void; a past_due or unpaid subscription with no other open
    invoice is active again, as when it is paid."""
    obj = backend.get(invoice, "invoice")
    customer = backend.get(obj["customer"], "customer")
    subscription = backend.store.get(
        obj["parent"]["subscription_details"]["subscription"], "subscription"
    )
    with at(backend, moment_of(backend, customer)):
        invoices.void(backend, obj)
        if subscription is not None and subscription["status"] in ("past_due", "unpaid"):
            if not open_invoices(backend, subscription):
                with backend.change(subscription, "customer.subscription.updated"):
                    subscription["status"] = "active"
            schedule(backend, subscription)
    return obj


def delete_customer(backend: Backend, params: dict, customer: str) -> dict:
    """DELETE /v1/customers/{id}: its subscriptions end first, as Stripe cancels them."""
    obj = backend.get(customer, "customer")
    with at(backend, moment_of(backend, obj)):
        for subscription in live(backend, obj["id"]):
            cancel(backend, subscription, "cancellation_requested")
            schedule(backend, subscription)
    return customers.delete(backend, params, customer)


def live(backend: Backend, customer: str) -> list[dict]:
    """A customer's subscriptions not ended."""
    rows = backend.store.conn.execute(
        "SELECT data FROM objects WHERE object = 'subscription' AND customer = ? "
        "AND status NOT IN ('canceled', 'incomplete_expired') ORDER BY seq",
        (customer,),
    ).fetchall()
    return [loads(row[0]) for row in rows]
