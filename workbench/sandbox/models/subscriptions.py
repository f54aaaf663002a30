"""Subscriptions (Stripe Billing): create, update (items, prorations, cancel at period end,
trials), cancel, retrieve and list, and their items. What a subscription does as time
passes and as its invoices are paid or fail is models/renewals.py.

A subscription's items share one currency and one interval (Stripe's classic billing
mode); a customer bills in one currency. Changes to items are prorated to the second:
unused time on the old price credited, remaining time on the new one charged, each line
rounded half up to the currency's minor unit. `proration_behavior`: create_prorations (the
lines wait for the next invoice: Stripe keeps them as pending invoice items, the sandbox
keeps them with the subscription and does not serve /v1/invoiceitems), always_invoice (an
invoice now), none. A change of interval restarts the period now and invoices at once, as
Stripe does. During a trial nothing is prorated. The first invoice is paid at once
(`payment_behavior` allow_incomplete: a decline leaves the subscription incomplete for 23
hours; error_if_incomplete: Stripe's 402 and nothing made; default_incomplete: no attempt).
"""

from __future__ import annotations

import copy

from workbench.sandbox import ledger, lists, metadata
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest, ResourceMissing
from workbench.sandbox.models import invoices, payment_methods, prices, renewals

DAY = 86400
LONGEST_TRIAL = 730 * DAY
MAX_ITEMS = 20
ENDED = renewals.ENDED
BILLED = renewals.BILLED
STATUSES = (
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
)


# objects


def _item(backend: Backend, subscription_id: str, choice: dict, span: tuple[int, int]) -> dict:
    return {
        "id": backend.new_id("si", 14),
        "object": "subscription_item",
        "billed_until": None,
        "billing_thresholds": None,
        "created": backend.now,
        "current_period_end": span[1],
        "current_period_start": span[0],
        "current_trial": None,
        "deleted": None,
        "discounts": [],
        "metadata": metadata.merge({}, choice.get("metadata")),
        "plan": prices.plan(choice["price"]),
        "price": choice["price"],
        "quantity": choice["quantity"],
        "subscription": subscription_id,
        "tax_rates": [],
    }


def _subscription_object(
    backend: Backend,
    subscription_id: str,
    params: dict,
    customer: dict,
    currency: str,
    trial_end: int | None,
    method: str | None,
) -> dict:
    missing = ((params.get("trial_settings") or {}).get("end_behavior") or {}).get(
        "missing_payment_method"
    )
    return {
        "id": subscription_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": trial_end or backend.now,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic", "updated_at": None},
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {
            "comment": None,
            "feedback": None,
            "feedback_option": None,
            "reason": None,
        },
        "collection_method": "charge_automatically",
        "created": backend.now,
        "currency": currency,
        "customer": customer["id"],
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": method,
        "default_source": None,
        "default_tax_rates": [],
        "description": params.get("description"),
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {
            "account_tax_ids": None,
            "custom_fields": None,
            "description": None,
            "footer": None,
            "issuer": {"account": None, "type": "self"},
        },
        "items": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={subscription_id}",
        },
        "latest_invoice": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": metadata.merge({}, params.get("metadata")),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "presentment_details": None,
        "schedule": None,
        "start_date": backend.now,
        "status": "trialing" if trial_end else "incomplete",
        "status_details": None,
        "test_clock": customer["test_clock"],
        "transfer_data": None,
        "trial_end": trial_end,
        "trial_settings": {
            "end_behavior": {
                "billing_cycle_anchor": None,
                "missing_payment_method": missing or "create_invoice",
            }
        },
        "trial_start": backend.now if trial_end else None,
    }


# checks


def _chosen(backend: Backend, items: list[dict] | None, param: str = "items") -> list[dict]:
    """The new items asked for: each {price, quantity, metadata}, checked."""
    if not items:
        raise InvalidRequest(
            f"Missing required param: {param}.", code="parameter_missing", param=param
        )
    chosen = []
    for index, given in enumerate(items):
        name = f"{param}[{index}][price]"
        if not given.get("price"):
            raise InvalidRequest(
                f"Missing required param: {name}.", code="parameter_missing", param=name
            )
        chosen.append(
            {
                "price": _recurring_price(backend, given["price"], name),
                "quantity": 1 if given.get("quantity") is None else given["quantity"],
                "metadata": given.get("metadata"),
            }
        )
    return chosen


def _recurring_price(backend: Backend, price_id: str, param: str) -> dict:
    price = backend.get(price_id, "price", param=param)
    if price["type"] != "recurring":
        raise InvalidRequest(
            "The price specified is set to `type=one_time` but this field only accepts prices "
            "with `type=recurring`.",
            param=param,
        )
    if not price["active"]:
        raise InvalidRequest(
            "The price specified is inactive. This field only accepts active prices.", param=param
        )
    return price


def _check_items(items: list[dict], currency: str | None = None) -> None:
    """One currency, one interval, each price once, at most 20 items, a payable total."""
    if not items:
        raise InvalidRequest("A subscription must have at least one active plan.", param="items")
    if len(items) > MAX_ITEMS:
        raise InvalidRequest(f"A subscription can have at most {MAX_ITEMS} items.", param="items")
    first = items[0]["price"]
    for item in items:
        price = item["price"]
        if price["currency"] != (currency or first["currency"]):
            raise InvalidRequest(
                "All prices on a subscription must have the same `currency`"
                + (f" as the subscription ({currency})." if currency else "."),
                param="items",
            )
        if (price["recurring"]["interval"], price["recurring"]["interval_count"]) != (
            first["recurring"]["interval"],
            first["recurring"]["interval_count"],
        ):
            raise InvalidRequest(
                "All prices on a subscription must have the same `recurring.interval` and "
                "`recurring.interval_count`.",
                param="items",
            )
    ids = [item["price"]["id"] for item in items]
    repeated = next((price for price in ids if ids.count(price) > 1), None)
    if repeated:
        raise InvalidRequest(
            f"Cannot add multiple subscription items with the same price: {repeated}.",
            param="items",
        )
    total = sum(item["price"]["unit_amount"] * item["quantity"] for item in items)
    if total > ledger.MAXIMUM_AMOUNT:
        currency = first["currency"]
        raise InvalidRequest(
            f"Amount must be no more than {ledger.display(ledger.MAXIMUM_AMOUNT, currency)} "
            f"{currency}: the items come to {ledger.display(total, currency)}.",
            code="amount_too_large",
            param="items",
        )


def _check_customer_currency(customer: dict, currency: str) -> None:
    if customer["currency"] and customer["currency"] != currency:
        raise InvalidRequest(
            "You cannot combine currencies on a single customer. This customer has an active "
            "subscription, subscription schedule, discount, quote, or invoice item with "
            f"currency {customer['currency']}.",
            param="currency",
        )


def _own_method(backend: Backend, customer: dict, method_id: str | None, param: str) -> str | None:
    """A default payment method must be attached to the subscription's customer."""
    if not method_id:
        return None
    method = payment_methods.resolve(backend, method_id, param)[0]
    if method["customer"] != customer["id"]:
        raise InvalidRequest(
            f"The customer does not have a payment method with the ID {method_id}. The "
            "payment method must be attached to the customer.",
            code="resource_missing",
            param=param,
        )
    return method["id"]


def _trial_end(params: dict, chosen: list[dict], now: int) -> int | None:
    if params.get("trial_end") is not None and params.get("trial_period_days") is not None:
        raise InvalidRequest(
            "You may only specify one of these parameters: trial_end, trial_period_days.",
            param="trial_end",
        )
    end = None
    if params.get("trial_end") is not None:
        end = _moment_param(params["trial_end"], "trial_end", now)
    elif params.get("trial_period_days"):
        end = now + params["trial_period_days"] * DAY
    elif params.get("trial_from_plan"):
        days = next((c["price"]["recurring"]["trial_period_days"] for c in chosen), None)
        end = now + days * DAY if days else None
    if end is not None and end > now + LONGEST_TRIAL:
        raise InvalidRequest(
            "The trial_end can be no more than 730 days in the future.", param="trial_end"
        )
    return end


def _moment_param(value: str, param: str, now: int) -> int | None:
    """`now` (None: no trial left) or a Unix time in the future."""
    if value == "now":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise InvalidRequest(
            f"Invalid {param}: must be `now` or an integer Unix timestamp.",
            code="parameter_invalid_integer",
            param=param,
        )
    if int(value) <= now:
        raise InvalidRequest(
            f"Invalid timestamp: must be an integer Unix timestamp in the future ({param}).",
            code="parameter_invalid_integer",
            param=param,
        )
    return int(value)


def _no_method() -> InvalidRequest:
    return InvalidRequest(
        "This customer has no attached payment source or default payment method. Please "
        "consider adding a default payment method. For more information, visit "
        "https://stripe.com/docs/billing/subscriptions/payment-methods-setting"
        "#payment-method-priority.",
        code="resource_missing",
    )


# create


def create(backend: Backend, params: dict) -> dict:
    customer = backend.get(params["customer"], "customer", param="customer")
    if params.get("collection_method") not in (None, "charge_automatically"):
        raise InvalidRequest(
            "The sandbox bills subscriptions with collection_method=charge_automatically only.",
            param="collection_method",
        )
    if ((params.get("trial_settings") or {}).get("end_behavior") or {}).get(
        "missing_payment_method"
    ) == "pause":
        raise InvalidRequest(
            "The sandbox does not pause subscriptions: use `cancel` or `create_invoice`.",
            param="trial_settings[end_behavior][missing_payment_method]",
        )
    chosen = _chosen(backend, params.get("items"))
    _check_items(chosen)
    currency = chosen[0]["price"]["currency"]
    _check_customer_currency(customer, currency)
    method = _own_method(
        backend, customer, params.get("default_payment_method"), "default_payment_method"
    )
    with renewals.at(backend, renewals.moment_of(backend, customer)):
        subscription = _create(backend, params, customer, chosen, currency, method)
        renewals.schedule(backend, subscription)
    return subscription


def _create(
    backend: Backend,
    params: dict,
    customer: dict,
    chosen: list[dict],
    currency: str,
    method: str | None,
) -> dict:
    now = backend.now
    trial_end = _trial_end(params, chosen, now)
    recurring = chosen[0]["price"]["recurring"]
    span = (now, trial_end or renewals.period_end(now, recurring, now))
    subscription_id = backend.new_id("sub")
    subscription = _subscription_object(
        backend, subscription_id, params, customer, currency, trial_end, method
    )
    items = [_item(backend, subscription_id, choice, span) for choice in chosen]
    subscription["items"]["data"] = items
    if params.get("cancel_at_period_end"):
        subscription.update(cancel_at_period_end=True, cancel_at=span[1], canceled_at=now)
    behavior = params.get("payment_behavior") or "allow_incomplete"
    specs = [renewals.regular(backend, item, span, trial=bool(trial_end)) for item in items]
    charging = not trial_end and sum(spec["amount"] for spec in specs) > 0
    paying_now = charging and behavior != "default_incomplete"
    if paying_now and not invoices.method_for(backend, subscription):
        raise _no_method()
    invoice = invoices.draft(
        backend,
        customer=customer,
        subscription=subscription,
        specs=specs,
        billing_reason="subscription_create",
        period=(now, now),
        auto_advance=False,
    )
    subscription["latest_invoice"] = invoice["id"]
    backend.store.insert(subscription)
    renewals.store_items(backend, subscription)
    if customer["currency"] is None:
        with backend.change(customer, "customer.updated"):
            customer["currency"] = currency
    backend.emit("customer.subscription.created", subscription)
    invoices.finalize(backend, invoice)
    declined = None
    if invoice["status"] == "open" and behavior != "default_incomplete":
        declined = invoices.attempt(
            backend, invoice, invoices.method_for(backend, subscription), retry=False
        )
        if declined is not None and behavior == "error_if_incomplete":
            declined.persists = False  # nothing is created, as Stripe answers 402
            raise declined
    if invoice["status"] == "paid" and not trial_end:
        with backend.change(subscription, "customer.subscription.updated"):
            subscription["status"] = "active"
    return subscription


# update


def update(backend: Backend, params: dict, subscription: str) -> dict:
    obj = backend.get(subscription, "subscription")
    if obj["status"] in ENDED and params.keys() - {"metadata", "cancellation_details"}:
        raise InvalidRequest(
            "A canceled subscription can only update its cancellation_details and metadata.",
            code="invalid_canceled_subscription_fields",
        )
    if params.get("payment_behavior") == "pending_if_incomplete":
        raise InvalidRequest(
            "The sandbox does not keep pending updates: use allow_incomplete or "
            "error_if_incomplete.",
            param="payment_behavior",
        )
    customer = backend.get(obj["customer"], "customer")
    method = _own_method(
        backend, customer, params.get("default_payment_method"), "default_payment_method"
    )
    with renewals.at(backend, renewals.moment_of(backend, customer)):
        _update(backend, obj, params, method)
        renewals.schedule(backend, obj)
    return obj


def _changed_items(backend: Backend, subscription: dict, given: list[dict]) -> tuple:
    """The items after `items[]`: (new list, removed ids, (old, new) pairs that changed, a
    None old for an item added and a None new for one removed)."""
    current = {item["id"]: item for item in subscription["items"]["data"]}
    kept = dict(current)
    changed = []
    for index, change in enumerate(given):
        item_id = change.get("id")
        if item_id is None:
            choice = _chosen(backend, [change], f"items[{index}]")[0]
            item = _item(backend, subscription["id"], choice, renewals.period(subscription))
            kept[item["id"]] = item
            changed.append((None, item))
            continue
        if item_id not in current:
            raise ResourceMissing("subscription_item", item_id, f"items[{index}][id]")
        old = current[item_id]
        if change.get("deleted"):
            kept.pop(item_id)
            changed.append((old, None))
            continue
        new = copy.deepcopy(old)
        if change.get("price"):
            price = _recurring_price(backend, change["price"], f"items[{index}][price]")
            new.update(price=price, plan=prices.plan(price))
        if change.get("quantity") is not None:
            new["quantity"] = change["quantity"]
        if "metadata" in change:
            new["metadata"] = metadata.merge(new["metadata"], change["metadata"])
        kept[item_id] = new
        if (new["price"]["id"], new["quantity"]) != (old["price"]["id"], old["quantity"]):
            changed.append((old, new))
    removed = [item_id for item_id in current if item_id not in kept]
    return list(kept.values()), removed, changed


def _interval(items: list[dict]) -> tuple[str, int]:
    recurring = items[0]["price"]["recurring"]
    return recurring["interval"], recurring["interval_count"]


def _update(backend: Backend, subscription: dict, params: dict, method: str | None) -> None:
    behavior = params.get("proration_behavior") or "create_prorations"
    old_items = subscription["items"]["data"]
    items, removed, changed = old_items, [], []
    if params.get("items"):
        items, removed, changed = _changed_items(backend, subscription, params["items"])
        _check_items(items, subscription["currency"])
    restart = _interval(items) != _interval(old_items)  # a new interval starts a new period
    billed = subscription["status"] in BILLED
    specs = []
    if billed and behavior != "none":
        span = renewals.period(subscription)
        if restart:
            changed = [(old, None) for old in old_items]
        for old, new in changed:
            if old is not None:
                specs.append(renewals.proration(backend, old, span, credit=True))
            if new is not None:
                specs.append(renewals.proration(backend, new, span, credit=False))
    trial_end = params.get("trial_end")
    if trial_end is not None and subscription["status"] != "trialing":
        raise InvalidRequest(
            "The sandbox changes trial_end only while the subscription is trialing.",
            param="trial_end",
        )
    invoice = None
    with backend.change(subscription, "customer.subscription.updated"):
        subscription["items"]["data"] = items
        _set_fields(backend, subscription, params, method)
        if trial_end not in (None, "now"):
            moment = _moment_param(trial_end, "trial_end", backend.now)
            subscription["trial_end"] = moment
            renewals.set_period(subscription, (renewals.period(subscription)[0], moment))
        if specs:
            renewals.add_pending(backend, subscription, specs)
        if specs and not restart and behavior == "always_invoice":
            now = backend.now
            invoice = renewals.invoice_now(
                backend, subscription, [], "subscription_update", (now, now)
            )
            subscription["latest_invoice"] = invoice["id"]
    renewals.store_items(backend, subscription, removed)
    if (billed and restart) or trial_end == "now":
        invoice = renewals.start_paying(
            backend, subscription, "subscription_update", auto_advance=False
        )
    if invoice is not None:
        renewals.bill_now(backend, subscription, invoice, params.get("payment_behavior"))


def _set_fields(backend: Backend, subscription: dict, params: dict, method: str | None) -> None:
    """The plain fields of an update: payment method, description, metadata, cancellation."""
    if "default_payment_method" in params:
        subscription["default_payment_method"] = method
    if "description" in params:
        subscription["description"] = params["description"]
    if "metadata" in params:
        subscription["metadata"] = metadata.merge(subscription["metadata"], params["metadata"])
    details = params.get("cancellation_details") or {}
    for key in ("comment", "feedback"):
        if key in details:
            subscription["cancellation_details"][key] = details[key]
    if "cancel_at_period_end" in params and subscription["status"] not in ENDED:
        ending = bool(params["cancel_at_period_end"])
        subscription.update(
            cancel_at_period_end=ending,
            cancel_at=renewals.period(subscription)[1] if ending else None,
            canceled_at=backend.now if ending else None,
        )


# cancel


def cancel(backend: Backend, params: dict, subscription: str) -> dict:
    obj = backend.get(subscription, "subscription")
    if obj["status"] in ENDED:
        raise InvalidRequest(
            f"This subscription ({obj['id']}) has already been canceled.", param="subscription"
        )
    customer = backend.store.get(obj["customer"], "customer")
    with renewals.at(backend, renewals.moment_of(backend, customer) if customer else backend.now):
        details = params.get("cancellation_details") or {}
        for key in ("comment", "feedback"):
            if key in details:
                obj["cancellation_details"][key] = details[key]
        renewals.cancel(backend, obj, "cancellation_requested")
        renewals.schedule(backend, obj)
    return obj


# reading


def retrieve(backend: Backend, params: dict, subscription: str) -> dict:
    return backend.get(subscription, "subscription")


def list_(backend: Backend, params: dict) -> bytes:
    conditions = []
    status = params.get("status")
    if status is None:
        conditions.append(("status NOT IN ('canceled', 'incomplete_expired')",))
    elif status == "ended":
        conditions.append(("status IN ('canceled', 'incomplete_expired')",))
    elif status != "all":
        conditions.append(("status = ?", status))
    if params.get("price"):
        conditions.append(
            (
                "EXISTS (SELECT 1 FROM json_each(data, '$.items.data') "
                "WHERE json_extract(value, '$.price.id') = ?)",
                params["price"],
            )
        )
    if params.get("test_clock"):
        conditions.append(("json_extract(data, '$.test_clock') = ?", params["test_clock"]))
    return lists.page(
        backend,
        "subscription",
        params,
        "/v1/subscriptions",
        where={"customer": params.get("customer")},
        conditions=tuple(conditions),
    )


def retrieve_item(backend: Backend, params: dict, item: str) -> dict:
    return backend.get(item, "subscription_item")


def list_items(backend: Backend, params: dict) -> bytes:
    backend.get(params["subscription"], "subscription", param="subscription")
    return lists.page(
        backend,
        "subscription_item",
        params,
        "/v1/subscription_items",
        conditions=(("json_extract(data, '$.subscription') = ?", params["subscription"]),),
    )
