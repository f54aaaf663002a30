"""Every object the sandbox returns has every attribute the pinned `stripe` package declares
on its class (nested classes too), of the declared type, with Literal values in range.

The expected shape is read from the installed client's annotations (tests/stripe_shapes.py).
"""

from __future__ import annotations

import typing

import pytest
import stripe

from tests.stripe_shapes import INCLUDABLE, conform, declared

CLASSES = {
    "account": stripe.Account,
    "balance": stripe.Balance,
    "balance_transaction": stripe.BalanceTransaction,
    "card": stripe.Card,
    "charge": stripe.Charge,
    "customer": stripe.Customer,
    "dispute": stripe.Dispute,
    "event": stripe.Event,
    "payment_intent": stripe.PaymentIntent,
    "payment_method": stripe.PaymentMethod,
    "payout": stripe.Payout,
    "refund": stripe.Refund,
    "reporting.report_run": stripe.reporting.ReportRun,
    "reporting.report_type": stripe.reporting.ReportType,
    "file": stripe.File,
    "token": stripe.Token,
    "webhook_endpoint": stripe.WebhookEndpoint,
}


@pytest.fixture(scope="module")
def world(sandbox_server):
    """One account with an object of every kind and state, fetched back as raw JSON."""
    from tests.conftest import RawApi

    key = f"{sandbox_server.api_key}_shapes"
    client = stripe.StripeClient(
        key, base_addresses={"api": sandbox_server.url}, max_network_retries=0
    )
    raw = RawApi(sandbox_server.url, key)
    c = client.v1
    customer = c.customers.create(
        params={
            "email": "shape@example.com",
            "source": "tok_visa",
            "address": {"city": "Berlin", "country": "DE"},
            "metadata": {"tier": "gold"},
        }
    )
    c.customers.payment_sources.create(customer.id, params={"source": "tok_mastercard"})
    token = c.tokens.create(
        params={
            "card": {
                "number": "4000056655665556",
                "exp_month": 12,
                "exp_year": 2031,
                "cvc": "123",
                "address_zip": "10115",
            }
        }
    )
    captured = c.charges.create(
        params={
            "amount": 2500,
            "currency": "usd",
            "customer": customer.id,
            "metadata": {"order_id": "S1"},
        }
    )
    c.charges.create(
        params={"amount": 900, "currency": "jpy", "source": token.id, "capture": False}
    )
    partial = c.charges.create(
        params={"amount": 5000, "currency": "eur", "source": "tok_de", "capture": False}
    )
    c.charges.capture(partial.id, params={"amount": 3000})
    with pytest.raises(stripe.CardError):
        c.charges.create(params={"amount": 1000, "currency": "usd", "source": "tok_radarBlock"})
    c.refunds.create(params={"charge": captured.id, "amount": 500, "reason": "duplicate"})
    disputed = c.charges.create(
        params={"amount": 4200, "currency": "usd", "source": "tok_createDispute"}
    )
    intent = c.payment_intents.create(
        params={
            "amount": 1999,
            "currency": "usd",
            "customer": customer.id,
            "confirm": True,
            "payment_method": "pm_card_visa",
            "capture_method": "manual",
        }
    )
    c.payment_intents.create(params={"amount": 1999, "currency": "gbp"})
    with pytest.raises(stripe.CardError):
        c.payment_intents.create(
            params={
                "amount": 1999,
                "currency": "usd",
                "confirm": True,
                "payment_method": "pm_card_chargeDeclined",
            }
        )
    method = c.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2032},
            "billing_details": {"name": "Ada", "address": {"postal_code": "94107"}},
        }
    )
    c.payment_methods.attach(method.id, params={"customer": customer.id})
    c.webhook_endpoints.create(
        params={"url": "http://127.0.0.1:9/hook", "enabled_events": ["charge.succeeded"]}
    )
    raw("POST", "/_sandbox/clock/advance", {"days": 9})
    report = c.reporting.report_types.retrieve("payout_reconciliation.itemized.5")
    run = c.reporting.report_runs.create(
        params={
            "report_type": report.id,
            "parameters": {
                "interval_start": report.data_available_start,
                "interval_end": report.data_available_end,
            },
        }
    )
    objects = {name: [] for name in CLASSES}

    def collect(name, path):
        single = name in ("account", "balance", "token", "file")
        unpaged = single or name == "reporting.report_type"  # Stripe lists them whole
        response = raw("GET", path, params=None if unpaged else {"limit": 100})
        assert response.status_code == 200, response.text
        body = response.json()
        objects[name].extend([body] if single else body["data"])

    for name, path in [
        ("account", "/v1/account"),
        ("balance", "/v1/balance"),
        ("balance_transaction", "/v1/balance_transactions"),
        ("charge", "/v1/charges"),
        ("customer", "/v1/customers"),
        ("dispute", "/v1/disputes"),
        ("event", "/v1/events"),
        ("payment_intent", "/v1/payment_intents"),
        ("payment_method", f"/v1/customers/{customer.id}/payment_methods"),
        ("payout", "/v1/payouts"),
        ("refund", "/v1/refunds"),
        ("token", f"/v1/tokens/{token.id}"),
        ("card", f"/v1/customers/{customer.id}/sources"),
        ("webhook_endpoint", "/v1/webhook_endpoints"),
        ("reporting.report_type", "/v1/reporting/report_types"),
        ("reporting.report_run", "/v1/reporting/report_runs"),
        ("file", f"/v1/files/{c.reporting.report_runs.retrieve(run.id).result.id}"),
    ]:
        collect(name, path)
    expanded = raw(
        "GET",
        f"/v1/charges/{disputed.id}",
        params={"expand[]": ["customer", "balance_transaction", "refunds", "payment_intent"]},
    ).json()
    objects["charge"].append(expanded)
    objects["payment_intent"].append(
        raw("GET", f"/v1/payment_intents/{intent.id}", params={"expand[]": "latest_charge"}).json()
    )
    objects["customer"].append(
        raw(
            "GET",
            f"/v1/customers/{customer.id}",
            params={"expand[]": sorted(INCLUDABLE["Customer"])},
        ).json()
    )
    return objects


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_declared_attribute_is_present_and_typed(world, name):
    assert world[name], f"no {name} objects were created"
    found = [problem for obj in world[name] for problem in conform(obj, CLASSES[name])]
    assert found == []


def test_the_world_covers_the_states_that_matter(world):
    statuses = {obj["status"] for obj in world["charge"]}
    assert {"succeeded", "failed"} <= statuses
    assert {obj["type"] for obj in world["balance_transaction"]} >= {
        "charge",
        "refund",
        "adjustment",
        "payout",
    }
    assert {obj["status"] for obj in world["payment_intent"]} >= {
        "requires_payment_method",
        "canceled",
    }
    assert any(obj["cancellation_reason"] == "automatic" for obj in world["payment_intent"])
    assert {obj["status"] for obj in world["payout"]} >= {"paid"}
    assert len({obj["type"] for obj in world["event"]}) >= 15


def test_includable_fields_are_left_out_unless_expanded(world, sandbox_server):
    """As Stripe does: the client raises AttributeError for what was not asked for."""
    customer = next(c for c in world["customer"] if "sources" not in c)
    assert not INCLUDABLE["Customer"] & customer.keys()
    client = stripe.StripeClient(
        f"{sandbox_server.api_key}_shapes", base_addresses={"api": sandbox_server.url}
    )
    fetched = client.v1.customers.retrieve(customer["id"])
    with pytest.raises(AttributeError):
        fetched.sources  # noqa: B018
    expanded = [c for c in world["customer"] if "sources" in c]
    assert expanded and INCLUDABLE["Customer"] <= expanded[0].keys()
    charge = world["charge"][0]
    assert "refunds" not in charge


def test_typed_objects_carry_only_the_hash_of_their_type(world):
    """Stripe's answers (and its fixtures) hold `card` beside `type: card`, not a null for
    each of the sixty other payment method types the client declares."""
    typed = [
        *(charge["payment_method_details"] for charge in world["charge"]),
        *(dispute["payment_method_details"] for dispute in world["dispute"]),
        *(refund["destination_details"] for refund in world["refund"]),
    ]
    assert typed and all(details.keys() == {"card", "type"} for details in typed)
    types = set(typing.get_args(typing.get_args(declared(stripe.PaymentMethod)["type"])[0]))
    for method in world["payment_method"]:
        assert types & method.keys() == {method["type"]}
