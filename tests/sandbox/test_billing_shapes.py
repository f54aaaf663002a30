"""Every Billing object the sandbox returns has every attribute the pinned `stripe` package
declares on its class, of the declared type (tests/stripe_shapes.py), in every state the
sandbox moves it through."""

from __future__ import annotations

import calendar

import pytest
import stripe

from tests.stripe_shapes import conform

CLASSES = {
    "product": stripe.Product,
    "price": stripe.Price,
    "subscription": stripe.Subscription,
    "subscription_item": stripe.SubscriptionItem,
    "invoice": stripe.Invoice,
    "line_item": stripe.InvoiceLineItem,
    "invoice_payment": stripe.InvoicePayment,
    "test_helpers.test_clock": stripe.test_helpers.TestClock,
    "event": stripe.Event,
}
JAN = calendar.timegm((2027, 1, 1, 0, 0, 0))
DAY = 86400


@pytest.fixture(scope="module")
def world(sandbox_server):
    """One account with subscriptions in every status, fetched back as raw JSON."""
    from tests.conftest import RawApi

    key = f"{sandbox_server.api_key}_billing_shapes"
    client = stripe.StripeClient(
        key, base_addresses={"api": sandbox_server.url}, max_network_retries=0
    )
    raw = RawApi(sandbox_server.url, key)
    c = client.v1
    monthly = c.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 1200,
            "product_data": {"name": "Pro"},
            "recurring": {"interval": "month", "trial_period_days": 14},
            "nickname": "Pro monthly",
        }
    )
    yearly = c.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 12000,
            "product": monthly.product,
            "recurring": {"interval": "year"},
        }
    )
    c.prices.create(params={"currency": "jpy", "unit_amount": 900, "product": monthly.product})
    archived = c.products.create(params={"name": "Old plan", "active": False})
    c.products.update(archived.id, params={"default_price": None, "metadata": {"era": "old"}})
    clock = c.test_helpers.test_clocks.create(params={"frozen_time": JAN, "name": "shapes"})

    def customer(source):
        return c.customers.create(params={"test_clock": clock.id, "source": source})

    def subscribe(who, price=monthly, **params):
        return c.subscriptions.create(
            params={"customer": who.id, "items": [{"price": price.id, "quantity": 2}], **params}
        )

    paying = customer("tok_visa")
    subscribe(paying)
    subscribe(customer("tok_visa"), trial_from_plan=True)
    subscribe(customer("tok_chargeCustomerFail"))  # incomplete
    expiring = customer("tok_chargeCustomerFail")
    subscribe(expiring, payment_behavior="default_incomplete")
    failing = customer("tok_visa")
    subscribe(failing)
    card = c.customers.payment_sources.create(
        failing.id, params={"source": "tok_chargeCustomerFail"}
    )
    c.customers.update(failing.id, params={"default_source": card.id})
    upgraded = subscribe(customer("tok_visa"))
    item = upgraded["items"].data[0]
    c.subscriptions.update(upgraded.id, params={"items": [{"id": item.id, "quantity": 3}]})
    ending = subscribe(customer("tok_visa"), cancel_at_period_end=True)
    c.subscriptions.cancel(subscribe(customer("tok_visa")).id)
    subscribe(customer("tok_visa"), trial_end=str(JAN + 33 * DAY - 60))  # a draft at the end
    c.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": JAN + 33 * DAY})
    c.subscriptions.update(ending.id, params={"metadata": {"why": "moved"}})  # still allowed
    subscribe(customer("tok_visa"), trial_period_days=30)
    interval = subscribe(customer("tok_visa"))
    c.subscriptions.update(
        interval.id,
        params={"items": [{"id": interval["items"].data[0].id, "price": yearly.id}]},
    )
    objects = {name: [] for name in CLASSES}

    def collect(name, path, **params):
        params = {"limit": 100, **params}
        while True:
            response = raw("GET", path, params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            objects[name].extend(page["data"])
            if not page["has_more"]:
                return
            params["starting_after"] = page["data"][-1]["id"]

    collect("product", "/v1/products")
    collect("price", "/v1/prices")
    collect("subscription", "/v1/subscriptions", status="all")
    collect("invoice", "/v1/invoices")
    collect("invoice_payment", "/v1/invoice_payments")
    collect("test_helpers.test_clock", "/v1/test_helpers/test_clocks")
    collect("event", "/v1/events")
    for subscription in objects["subscription"]:
        collect("subscription_item", "/v1/subscription_items", subscription=subscription["id"])
    for invoice in objects["invoice"]:
        collect("line_item", f"/v1/invoices/{invoice['id']}/lines")
    objects["test_helpers.test_clock"].append(
        raw(
            "POST",
            f"/v1/test_helpers/test_clocks/{clock.id}/advance",
            {"frozen_time": JAN + 34 * DAY},
        ).json()
    )
    return objects


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_declared_attribute_is_present_and_typed(world, name):
    assert world[name], f"no {name} objects were made"
    found = [problem for obj in world[name] for problem in conform(obj, CLASSES[name])]
    assert found == []


def test_the_world_covers_every_status(world):
    assert {s["status"] for s in world["subscription"]} >= {
        "active",
        "trialing",
        "past_due",
        "canceled",
        "incomplete_expired",
    }
    assert {i["status"] for i in world["invoice"]} >= {"draft", "open", "paid", "void"}
    assert any(
        line["parent"]["subscription_item_details"]["proration"] for line in world["line_item"]
    )
    assert {p["type"] for p in world["price"]} == {"one_time", "recurring"}
    assert {c["status"] for c in world["test_helpers.test_clock"]} == {"ready", "advancing"}
    types = {e["type"] for e in world["event"]}
    assert types >= {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.trial_will_end",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.voided",
        "product.created",
        "price.created",
    }
