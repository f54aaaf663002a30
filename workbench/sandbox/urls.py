"""The API's routes: each path, the parameters it takes, and the behaviour that answers it.

Read it as the sandbox's API reference. Parameters are declared as Stripe accepts them; any
other name is `parameter_unknown`. Routes under /_sandbox go beyond Stripe (clock, faults,
account settings) and never change what /v1 does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from workbench.sandbox import control
from workbench.sandbox.exceptions import UnrecognizedUrl
from workbench.sandbox.models import (
    account,
    balance,
    charges,
    checkout_sessions,
    customers,
    disputes,
    events,
    invoices,
    payment_intents,
    payment_methods,
    payouts,
    prices,
    products,
    refunds,
    renewals,
    reporting,
    subscriptions,
    test_clocks,
    tokens,
    webhook_endpoints,
)
from workbench.sandbox.params import LIST, Bool, Created, Int, ListOf, Metadata, Obj, Str

ADDRESS = Obj({key: Str() for key in ("city", "country", "line1", "line2", "postal_code", "state")})
SHIPPING = Obj(
    {"address": ADDRESS, "name": Str(), "phone": Str(), "carrier": Str(), "tracking_number": Str()}
)
CARD_ADDRESS = {key: Str() for key in tokens.ADDRESS_FIELDS}
DESCRIPTOR = Str(max_length=22)
SEARCH = {"query": Str(required=True), "limit": LIST["limit"], "page": Str()}
CUSTOMER = {
    "address": ADDRESS,
    "balance": Int(),
    "description": Str(),
    "email": Str(max_length=512),
    "metadata": Metadata(),
    "name": Str(),
    "phone": Str(),
    "preferred_locales": ListOf(Str()),
    "shipping": SHIPPING,
    "source": Str(),
    "invoice_settings": Obj({"default_payment_method": Str()}),
}
CHARGE_UPDATE = {
    "description": Str(),
    "metadata": Metadata(),
    "receipt_email": Str(),
    "shipping": SHIPPING,
    "transfer_group": Str(),
    "customer": Str(),
}
INTENT_UPDATE = {
    "amount": Int(nullable=False),
    "currency": Str(nullable=False),
    "customer": Str(),
    "payment_method": Str(),
    "description": Str(),
    "metadata": Metadata(),
    "receipt_email": Str(),
    "statement_descriptor_suffix": DESCRIPTOR,
    "capture_method": Str(choices=("automatic", "automatic_async", "manual")),
    "setup_future_usage": Str(choices=("off_session", "on_session")),
    "transfer_group": Str(),
}
BILLING = Obj({"address": ADDRESS, "email": Str(), "name": Str(), "phone": Str()})
EXPIRY = {"exp_month": Int(nullable=False), "exp_year": Int(nullable=False)}
TRANSACTIONS = {**LIST, "payout": Str(), "type": Str(), "source": Str(), "currency": Str()}
# Stripe Billing
PRODUCT = {
    "active": Bool(nullable=False),
    "description": Str(),
    "metadata": Metadata(),
    "statement_descriptor": DESCRIPTOR,
    "unit_label": Str(max_length=12),
    "url": Str(),
}
SUBSCRIPTION_ITEM = {"price": Str(), "quantity": Int(minimum=0), "metadata": Metadata()}
CANCELLATION = Obj(
    {
        "comment": Str(),
        "feedback": Str(
            choices=(
                "customer_service",
                "low_quality",
                "missing_features",
                "other",
                "switched_service",
                "too_complex",
                "too_expensive",
                "unused",
            )
        ),
    }
)
SUBSCRIPTION = {
    "default_payment_method": Str(),
    "cancel_at_period_end": Bool(nullable=False),
    "payment_behavior": Str(
        choices=(
            "allow_incomplete",
            "default_incomplete",
            "error_if_incomplete",
            "pending_if_incomplete",
        )
    ),
    "proration_behavior": Str(choices=("always_invoice", "create_prorations", "none")),
    "trial_end": Str(),
    "metadata": Metadata(),
    "description": Str(max_length=500),
    "off_session": Bool(),
}
REPORT_PARAMETERS = Obj(
    {
        "columns": ListOf(Str(max_length=100), max_items=200),
        "currency": Str(max_length=3),
        "interval_end": Int(minimum=0, maximum=reporting.LAST_MOMENT),
        "interval_start": Int(minimum=0, maximum=reporting.LAST_MOMENT),
        "reporting_category": Str(max_length=100),
        "timezone": Str(max_length=100),
    }
)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Callable
    params: dict
    control: bool = False
    media_type: str | None = None  # what a 200 answers, when not JSON (a file's contents)
    # A POST that a restricted key with read permissions may make: Stripe's
    # report_runs_and_report_types_read "allows creation of Report Runs".
    read_permission: bool = False

    @property
    def writes(self) -> bool:
        return self.method != "GET"

    @property
    def pattern(self) -> re.Pattern:
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path) + "$")


def _routes() -> list[Route]:
    def r(method, path, handler, params=None, **kwargs):
        return Route(method, path, handler, params or {}, **kwargs)

    return [
        r("GET", "/v1/account", account.retrieve),
        r("GET", "/v1/balance", balance.retrieve),
        r("GET", "/v1/balance_transactions", balance.list_transactions, TRANSACTIONS),
        r("GET", "/v1/balance/history", balance.list_transactions, TRANSACTIONS),
        r("GET", "/v1/balance_transactions/{transaction}", balance.retrieve_transaction),
        # tokens
        r(
            "POST",
            "/v1/tokens",
            tokens.create,
            {
                "card": Obj(
                    {
                        "number": Str(required=True),
                        "exp_month": Int(required=True),
                        "exp_year": Int(required=True),
                        "cvc": Str(),
                        "name": Str(),
                        "currency": Str(),
                        **CARD_ADDRESS,
                    }
                )
            },
        ),
        r("GET", "/v1/tokens/{token}", tokens.retrieve),
        # customers and saved cards
        r("GET", "/v1/customers/search", customers.search_, SEARCH),
        r(
            "POST",
            "/v1/customers",
            customers.create,
            {**CUSTOMER, "payment_method": Str(), "test_clock": Str()},
        ),
        r("GET", "/v1/customers", customers.list_, {**LIST, "email": Str(max_length=512)}),
        r("GET", "/v1/customers/{customer}", customers.retrieve),
        r(
            "POST",
            "/v1/customers/{customer}",
            customers.update,
            {**CUSTOMER, "default_source": Str()},
        ),
        r("DELETE", "/v1/customers/{customer}", renewals.delete_customer),
        r(
            "POST",
            "/v1/customers/{customer}/sources",
            customers.create_source,
            {"source": Str(required=True), "metadata": Metadata()},
        ),
        r(
            "GET",
            "/v1/customers/{customer}/sources",
            customers.list_sources,
            {**LIST, "object": Str()},
        ),
        r("GET", "/v1/customers/{customer}/sources/{source}", customers.retrieve_source),
        r(
            "POST",
            "/v1/customers/{customer}/sources/{source}",
            customers.update_source,
            {"name": Str(), "metadata": Metadata(), **EXPIRY, **CARD_ADDRESS},
        ),
        r("DELETE", "/v1/customers/{customer}/sources/{source}", customers.delete_source),
        r(
            "GET",
            "/v1/customers/{customer}/payment_methods",
            payment_methods.list_for_customer,
            {**LIST, "type": Str()},
        ),
        # charges
        r("GET", "/v1/charges/search", charges.search_, SEARCH),
        r(
            "POST",
            "/v1/charges",
            charges.create,
            {
                "amount": Int(required=True),
                "currency": Str(required=True),
                "customer": Str(),
                "source": Str(),
                "capture": Bool(),
                "description": Str(),
                "metadata": Metadata(),
                "receipt_email": Str(),
                "statement_descriptor": DESCRIPTOR,
                "statement_descriptor_suffix": DESCRIPTOR,
                "shipping": SHIPPING,
                "transfer_group": Str(),
            },
        ),
        r(
            "GET",
            "/v1/charges",
            charges.list_,
            {**LIST, "customer": Str(), "payment_intent": Str(), "transfer_group": Str()},
        ),
        r("GET", "/v1/charges/{charge}", charges.retrieve),
        r("POST", "/v1/charges/{charge}", charges.update, CHARGE_UPDATE),
        r(
            "POST",
            "/v1/charges/{charge}/capture",
            charges.capture,
            {
                "amount": Int(minimum=1, nullable=False),
                "receipt_email": Str(),
                "statement_descriptor": DESCRIPTOR,
                "statement_descriptor_suffix": DESCRIPTOR,
            },
        ),
        r("GET", "/v1/charges/{charge}/refunds", refunds.list_for_charge, LIST),
        r("GET", "/v1/charges/{charge}/refunds/{refund}", refunds.retrieve_for_charge),
        # payment intents and payment methods
        r("GET", "/v1/payment_intents/search", payment_intents.search_, SEARCH),
        r(
            "POST",
            "/v1/payment_intents",
            payment_intents.create,
            {
                **INTENT_UPDATE,
                "amount": Int(required=True),
                "currency": Str(required=True),
                "payment_method_types": ListOf(Str()),
                "confirm": Bool(),
                "off_session": Bool(),
                "confirmation_method": Str(choices=("automatic", "manual")),
                "return_url": Str(),
                "statement_descriptor": DESCRIPTOR,
                "automatic_payment_methods": Obj({"enabled": Bool(), "allow_redirects": Str()}),
            },
        ),
        r("GET", "/v1/payment_intents", payment_intents.list_, {**LIST, "customer": Str()}),
        r(
            "GET",
            "/v1/payment_intents/{intent}",
            payment_intents.retrieve,
            {"client_secret": Str()},
        ),
        r("POST", "/v1/payment_intents/{intent}", payment_intents.update, INTENT_UPDATE),
        r(
            "POST",
            "/v1/payment_intents/{intent}/confirm",
            payment_intents.confirm,
            {
                "payment_method": Str(),
                "receipt_email": Str(),
                "return_url": Str(),
                "off_session": Bool(),
                "setup_future_usage": INTENT_UPDATE["setup_future_usage"],
            },
        ),
        r(
            "POST",
            "/v1/payment_intents/{intent}/capture",
            payment_intents.capture,
            {
                "amount_to_capture": Int(minimum=1, nullable=False),
                "metadata": Metadata(),
                "statement_descriptor_suffix": DESCRIPTOR,
            },
        ),
        r(
            "POST",
            "/v1/payment_intents/{intent}/cancel",
            payment_intents.cancel,
            {
                "cancellation_reason": Str(
                    choices=("abandoned", "duplicate", "fraudulent", "requested_by_customer")
                )
            },
        ),
        r(
            "POST",
            "/v1/payment_methods",
            payment_methods.create,
            {
                "type": Str(required=True),
                "billing_details": BILLING,
                "metadata": Metadata(),
                "card": Obj({"number": Str(), "cvc": Str(), "token": Str(), **EXPIRY}),
            },
        ),
        r(
            "GET",
            "/v1/payment_methods",
            payment_methods.list_,
            {**LIST, "customer": Str(), "type": Str()},
        ),
        r("GET", "/v1/payment_methods/{payment_method}", payment_methods.retrieve),
        r(
            "POST",
            "/v1/payment_methods/{payment_method}",
            payment_methods.update,
            {"billing_details": BILLING, "metadata": Metadata(), "card": Obj(EXPIRY)},
        ),
        r(
            "POST",
            "/v1/payment_methods/{payment_method}/attach",
            payment_methods.attach,
            {"customer": Str()},
        ),
        r("POST", "/v1/payment_methods/{payment_method}/detach", payment_methods.detach),
        # refunds
        r(
            "POST",
            "/v1/refunds",
            refunds.create,
            {
                "charge": Str(),
                "payment_intent": Str(),
                "amount": Int(minimum=1, nullable=False),
                "metadata": Metadata(),
                "reason": Str(choices=("duplicate", "fraudulent", "requested_by_customer")),
            },
        ),
        r("GET", "/v1/refunds", refunds.list_, {**LIST, "charge": Str(), "payment_intent": Str()}),
        r("GET", "/v1/refunds/{refund}", refunds.retrieve),
        r("POST", "/v1/refunds/{refund}", refunds.update, {"metadata": Metadata()}),
        # payouts, disputes
        r(
            "POST",
            "/v1/payouts",
            payouts.create,
            {
                "amount": Int(required=True, minimum=1),
                "currency": Str(required=True),
                "description": Str(),
                "metadata": Metadata(),
                "statement_descriptor": DESCRIPTOR,
                "method": Str(choices=("standard",)),
                "destination": Str(),
            },
        ),
        r(
            "GET",
            "/v1/payouts",
            payouts.list_,
            {**LIST, "status": Str(), "destination": Str(), "arrival_date": Created()},
        ),
        r("GET", "/v1/payouts/{payout}", payouts.retrieve),
        r("POST", "/v1/payouts/{payout}", payouts.update, {"metadata": Metadata()}),
        r("POST", "/v1/payouts/{payout}/cancel", payouts.cancel),
        r(
            "GET",
            "/v1/disputes",
            disputes.list_,
            {**LIST, "charge": Str(), "payment_intent": Str()},
        ),
        r("GET", "/v1/disputes/{dispute}", disputes.retrieve),
        r(
            "POST",
            "/v1/disputes/{dispute}",
            disputes.update,
            {
                "evidence": Obj({name: Str(max_length=20000) for name in disputes.EVIDENCE_FIELDS}),
                "metadata": Metadata(),
                "submit": Bool(),
            },
        ),
        r("POST", "/v1/disputes/{dispute}/close", disputes.close),
        # events and webhooks
        r(
            "GET",
            "/v1/events",
            events.list_,
            {**LIST, "type": Str(), "types": ListOf(Str()), "delivery_success": Bool()},
        ),
        r("GET", "/v1/events/{event}", events.retrieve),
        r(
            "POST",
            "/v1/webhook_endpoints",
            webhook_endpoints.create,
            {
                "url": Str(required=True),
                "enabled_events": ListOf(Str(), required=True),
                "description": Str(),
                "metadata": Metadata(),
                "api_version": Str(),
            },
        ),
        r("GET", "/v1/webhook_endpoints", webhook_endpoints.list_, LIST),
        r("GET", "/v1/webhook_endpoints/{endpoint}", webhook_endpoints.retrieve),
        r(
            "POST",
            "/v1/webhook_endpoints/{endpoint}",
            webhook_endpoints.update,
            {
                "url": Str(),
                "enabled_events": ListOf(Str()),
                "description": Str(),
                "metadata": Metadata(),
                "disabled": Bool(),
            },
        ),
        r("DELETE", "/v1/webhook_endpoints/{endpoint}", webhook_endpoints.delete),
        # Stripe Billing: products, prices, subscriptions, invoices, test clocks
        r("POST", "/v1/products", products.create, {**PRODUCT, "name": Str(required=True)}),
        r("GET", "/v1/products", products.list_, {**LIST, "active": Bool()}),
        r("GET", "/v1/products/{product}", products.retrieve),
        r(
            "POST",
            "/v1/products/{product}",
            products.update,
            {**PRODUCT, "name": Str(nullable=False), "default_price": Str()},
        ),
        r("DELETE", "/v1/products/{product}", products.delete),
        r(
            "POST",
            "/v1/prices",
            prices.create,
            {
                "currency": Str(required=True),
                "unit_amount": Int(minimum=0, nullable=False),
                "product": Str(),
                "product_data": Obj(
                    {
                        "name": Str(required=True),
                        "active": Bool(nullable=False),
                        "metadata": Metadata(),
                        "statement_descriptor": DESCRIPTOR,
                        "unit_label": Str(max_length=12),
                    }
                ),
                "recurring": Obj(
                    {
                        "interval": Str(required=True, choices=prices.INTERVALS),
                        "interval_count": Int(minimum=1, nullable=False),
                        "trial_period_days": Int(minimum=1, maximum=730),
                        "usage_type": Str(choices=("licensed", "metered")),
                    }
                ),
                "nickname": Str(),
                "lookup_key": Str(max_length=200),
                "metadata": Metadata(),
                "active": Bool(nullable=False),
                "tax_behavior": Str(choices=("exclusive", "inclusive", "unspecified")),
            },
        ),
        r(
            "GET",
            "/v1/prices",
            prices.list_,
            {
                **LIST,
                "active": Bool(),
                "currency": Str(),
                "product": Str(),
                "type": Str(choices=("one_time", "recurring")),
                "lookup_keys": ListOf(Str()),
            },
        ),
        r("GET", "/v1/prices/{price}", prices.retrieve),
        r(
            "POST",
            "/v1/prices/{price}",
            prices.update,
            {
                "active": Bool(nullable=False),
                "nickname": Str(),
                "lookup_key": Str(max_length=200),
                "metadata": Metadata(),
            },
        ),
        r(
            "POST",
            "/v1/subscriptions",
            subscriptions.create,
            {
                **SUBSCRIPTION,
                "customer": Str(required=True),
                "items": ListOf(Obj(SUBSCRIPTION_ITEM), max_items=subscriptions.MAX_ITEMS),
                "trial_period_days": Int(minimum=0, maximum=730),
                "trial_from_plan": Bool(),
                "trial_settings": Obj(
                    {
                        "end_behavior": Obj(
                            {
                                "missing_payment_method": Str(
                                    required=True, choices=("cancel", "create_invoice", "pause")
                                )
                            },
                            required=True,
                        )
                    }
                ),
                "collection_method": Str(choices=("charge_automatically", "send_invoice")),
            },
        ),
        r(
            "GET",
            "/v1/subscriptions",
            subscriptions.list_,
            {
                **LIST,
                "customer": Str(),
                "price": Str(),
                "status": Str(choices=subscriptions.STATUSES),
                "test_clock": Str(),
            },
        ),
        r("GET", "/v1/subscriptions/{subscription}", subscriptions.retrieve),
        r(
            "POST",
            "/v1/subscriptions/{subscription}",
            subscriptions.update,
            {
                **SUBSCRIPTION,
                "items": ListOf(
                    Obj({**SUBSCRIPTION_ITEM, "id": Str(), "deleted": Bool()}),
                    max_items=subscriptions.MAX_ITEMS,
                ),
                "cancellation_details": CANCELLATION,
            },
        ),
        r(
            "DELETE",
            "/v1/subscriptions/{subscription}",
            subscriptions.cancel,
            {"cancellation_details": CANCELLATION},
        ),
        r(
            "GET",
            "/v1/subscription_items",
            subscriptions.list_items,
            {**LIST, "subscription": Str(required=True)},
        ),
        r("GET", "/v1/subscription_items/{item}", subscriptions.retrieve_item),
        r(
            "GET",
            "/v1/invoices",
            invoices.list_,
            {
                **LIST,
                "customer": Str(),
                "subscription": Str(),
                "status": Str(choices=("draft", "open", "paid", "uncollectible", "void")),
            },
        ),
        r("GET", "/v1/invoices/{invoice}", invoices.retrieve),
        r("GET", "/v1/invoices/{invoice}/lines", invoices.list_lines, LIST),
        r(
            "POST",
            "/v1/invoices/{invoice}/pay",
            renewals.pay_invoice,
            {"payment_method": Str(), "off_session": Bool()},
        ),
        r("POST", "/v1/invoices/{invoice}/void", renewals.void_invoice),
        r(
            "GET",
            "/v1/invoice_payments",
            invoices.list_payments,
            {
                **LIST,
                "invoice": Str(),
                "payment": Obj({"payment_intent": Str(), "type": Str()}),
                "status": Str(choices=("canceled", "open", "paid")),
            },
        ),
        r("GET", "/v1/invoice_payments/{invoice_payment}", invoices.retrieve_payment),
        r(
            "POST",
            "/v1/test_helpers/test_clocks",
            test_clocks.create,
            {"frozen_time": Int(required=True, minimum=0), "name": Str(max_length=300)},
        ),
        r("GET", "/v1/test_helpers/test_clocks", test_clocks.list_, LIST),
        r("GET", "/v1/test_helpers/test_clocks/{test_clock}", test_clocks.retrieve),
        r("DELETE", "/v1/test_helpers/test_clocks/{test_clock}", test_clocks.delete),
        r(
            "POST",
            "/v1/test_helpers/test_clocks/{test_clock}/advance",
            test_clocks.advance,
            {"frozen_time": Int(required=True, minimum=0)},
        ),
        # the Reporting API: report types, report runs and the files they make
        r("GET", "/v1/reporting/report_types", reporting.list_types),
        r("GET", "/v1/reporting/report_types/{report_type}", reporting.retrieve_type),
        r(
            "POST",
            "/v1/reporting/report_runs",
            reporting.create_run,
            {"report_type": Str(required=True), "parameters": REPORT_PARAMETERS},
            read_permission=True,
        ),
        r("GET", "/v1/reporting/report_runs", reporting.list_runs, LIST),
        r("GET", "/v1/reporting/report_runs/{report_run}", reporting.retrieve_run),
        r("GET", "/v1/files/{file}", reporting.retrieve_file),
        r("GET", "/v1/files/{file}/contents", reporting.contents, media_type="text/csv"),
        # Checkout: sessions whose url is the sandbox's own payment page (sandbox/pages.py)
        r(
            "POST",
            "/v1/checkout/sessions",
            checkout_sessions.create,
            {
                "mode": Str(required=True, choices=("payment", "setup", "subscription")),
                "line_items": ListOf(
                    Obj(
                        {
                            "price": Str(),
                            "price_data": Obj(
                                {
                                    "currency": Str(required=True),
                                    "unit_amount": Int(minimum=0),
                                    "product": Str(),
                                    "product_data": Obj(
                                        {
                                            "name": Str(required=True),
                                            "description": Str(),
                                            "metadata": Metadata(),
                                        }
                                    ),
                                    "tax_behavior": Str(
                                        choices=("exclusive", "inclusive", "unspecified")
                                    ),
                                }
                            ),
                            "quantity": Int(minimum=1, maximum=999999),
                        }
                    )
                ),
                "success_url": Str(),
                "cancel_url": Str(),
                "customer": Str(),
                "customer_email": Str(max_length=512),
                "customer_creation": Str(choices=("always", "if_required")),
                "client_reference_id": Str(max_length=200),
                "metadata": Metadata(),
                "payment_intent_data": Obj(
                    {
                        "capture_method": INTENT_UPDATE["capture_method"],
                        "description": Str(),
                        "metadata": Metadata(),
                        "receipt_email": Str(),
                        "statement_descriptor": DESCRIPTOR,
                        "statement_descriptor_suffix": DESCRIPTOR,
                        "transfer_group": Str(),
                    }
                ),
                "payment_method_types": ListOf(Str(choices=("card",))),
                "expires_at": Int(),
                "locale": Str(),
                "submit_type": Str(choices=("auto", "book", "donate", "pay", "subscribe")),
                "ui_mode": Str(choices=("hosted_page",)),
            },
        ),
        r(
            "GET",
            "/v1/checkout/sessions",
            checkout_sessions.list_,
            {**LIST, "customer": Str(), "payment_intent": Str(), "status": Str()},
        ),
        r("GET", "/v1/checkout/sessions/{session}", checkout_sessions.retrieve),
        r(
            "POST",
            "/v1/checkout/sessions/{session}",
            checkout_sessions.update,
            {"metadata": Metadata()},
        ),
        r("POST", "/v1/checkout/sessions/{session}/expire", checkout_sessions.expire),
        r(
            "GET",
            "/v1/checkout/sessions/{session}/line_items",
            checkout_sessions.list_line_items,
            {key: LIST[key] for key in ("limit", "starting_after", "ending_before")},
        ),
        # beyond Stripe
        r("GET", "/_sandbox/clock", control.clock_state, control=True),
        r(
            "POST",
            "/_sandbox/clock/advance",
            control.advance_clock,
            {"seconds": Int(minimum=0), "days": Int(minimum=0), "to": Int()},
            control=True,
        ),
        r(
            "POST",
            "/_sandbox/clock/freeze",
            control.freeze_clock,
            {"at": Int(), "real_time": Bool()},
            control=True,
        ),
        r("GET", "/_sandbox/faults", control.faults, control=True),
        r(
            "POST",
            "/_sandbox/faults",
            control.set_faults,
            {name: Str() for name in control.FAULT_FIELDS},
            control=True,
        ),
        r("GET", "/_sandbox/account", control.account_settings, control=True),
        r(
            "POST",
            "/_sandbox/account",
            control.configure_account,
            {
                "country": Str(choices=tuple(account.COUNTRIES)),
                "timezone": Str(),
                "interval": Str(choices=account.INTERVALS),
                "delay_days": Int(minimum=0, maximum=30),
                "monthly_anchor": Int(minimum=1, maximum=31),
                "weekly_anchor": Str(choices=account.WEEKDAYS + ("saturday", "sunday")),
                "bank_account_number": Str(choices=tuple(account.BANK_ACCOUNTS)),
                "restricted_deny": ListOf(Str()),
                "subscription_after_retries": Str(choices=renewals.AFTER_RETRIES),
            },
            control=True,
        ),
        r("GET", "/_sandbox/webhooks", control.webhook_deliveries, control=True),
        r(
            "POST",
            "/_sandbox/reporting/difference",
            control.plant_report_difference,
            {
                "difference": Str(required=True, choices=reporting.DIFFERENCES),
                "balance_transaction": Str(),
            },
            control=True,
        ),
        r("POST", "/_sandbox/reset", control.reset, control=True),
    ]


ROUTES = [(route, route.pattern) for route in _routes()]


def resolve(method: str, path: str) -> tuple[Route, dict]:
    """The route for a request and its path arguments, or Stripe's 404."""
    for route, pattern in ROUTES:
        match = pattern.match(path)
        if match and route.method == method:
            return route, match.groupdict()
    raise UnrecognizedUrl(method, path)
