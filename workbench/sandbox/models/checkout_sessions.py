"""Checkout Sessions (mode `payment`): what the customer is asked to pay, the hosted page's
payment through the same PaymentIntent code as the API, completion and expiry.

A session's `url` is the sandbox's own payment page (sandbox/pages.py), as Stripe's is
checkout.stripe.com. Paying there creates the session's PaymentIntent on the first attempt
and confirms it with the card typed in; a decline leaves the session open for another card,
as Stripe's page does. Line items keep their inline Price (`price_data`) on the item itself:
the sandbox does not list such prices or products, which Stripe hides too (`active: false`).
"""

from __future__ import annotations

import re

from workbench.sandbox import ledger, lists, metadata
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest, ResourceMissing
from workbench.sandbox.models import charges, customers, payment_intents, payment_methods
from workbench.sandbox.state import stored

DEFAULT_LIFETIME = 24 * 3600
MINIMUM_LIFETIME = 30 * 60
MAX_LINE_ITEMS = 100
ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"
URL = re.compile(r"https?://[^\s/?#]+([/?#]\S*)?")
# Every payment method a session's payment_method_options can describe: card only here.
OPTION_TYPES = (
    "acss_debit affirm afterpay_clearpay alipay alma amazon_pay au_becs_debit bacs_debit "
    "bancontact billie boleto cashapp customer_balance eps fpx giropay grabpay ideal kakao_pay "
    "klarna konbini kr_card link mobilepay multibanco naver_pay oxxo p24 payco paynow paypal "
    "payto pix revolut_pay samsung_pay satispay scalapay sepa_debit sequra sofort sunbit swish "
    "twint upi us_bank_account wechat_pay"
).split()
CARD_OPTIONS = {
    "capture_method": None,
    "installments": None,
    "request_extended_authorization": None,
    "request_incremental_authorization": None,
    "request_multicapture": None,
    "request_overcapture": None,
    "request_three_d_secure": "automatic",
    "restrictions": None,
    "setup_future_usage": None,
    "statement_descriptor_suffix_kana": None,
    "statement_descriptor_suffix_kanji": None,
}
# In the order answers list keys (see state.stored).
PAYMENT_METHOD_OPTIONS = dict(sorted({**dict.fromkeys(OPTION_TYPES), "card": CARD_OPTIONS}.items()))


def _check_url(value: str | None, param: str) -> str | None:
    if value is not None and not URL.fullmatch(value):
        raise InvalidRequest(
            f"Not a valid URL: {value[:100]}. An explicit scheme (http or https) must be provided.",
            code="url_invalid",
            param=param,
        )
    return value


def _price(backend: Backend, item: dict, index: int) -> dict:
    """The line item's Price: an existing one (`price`), or one made inline from
    `price_data` that lives on this item only."""
    param = f"line_items[{index}]"
    if item.get("price") and item.get("price_data"):
        raise InvalidRequest(
            f"You may only specify one of these parameters: {param}[price], {param}[price_data].",
            param=f"{param}[price]",
        )
    if item.get("price"):
        return backend.get(item["price"], "price", param=f"{param}[price]")
    data = item.get("price_data")
    if not data:
        raise InvalidRequest(
            f"You must specify either {param}[price] or {param}[price_data].",
            code="parameter_missing",
            param=f"{param}[price_data]",
        )
    if data.get("unit_amount") is None:
        raise InvalidRequest(
            f"Missing required param: {param}[price_data][unit_amount].",
            code="parameter_missing",
            param=f"{param}[price_data][unit_amount]",
        )
    if bool(data.get("product")) == bool(data.get("product_data")):
        raise InvalidRequest(
            f"You must specify exactly one of {param}[price_data][product] or "
            f"{param}[price_data][product_data].",
            code="parameter_missing",
            param=f"{param}[price_data][product_data]",
        )
    product = data.get("product") or backend.new_id("prod", 14)
    return {
        "id": backend.new_id("price"),
        "object": "price",
        "active": False,
        "billing_scheme": "per_unit",
        "created": backend.now,
        "currency": charges.check_currency(data["currency"]),
        "currency_options": None,
        "custom_unit_amount": None,
        "deleted": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": product,
        "recurring": None,
        "tax_behavior": data.get("tax_behavior") or "unspecified",
        "tiers": None,
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": data["unit_amount"],
        "unit_amount_decimal": str(data["unit_amount"]),
    }


def _line_item(backend: Backend, item: dict, index: int) -> dict:
    price = _price(backend, item, index)
    if price.get("unit_amount") is None or price.get("type") != "one_time":
        raise InvalidRequest(
            f"{price['id']} is not a one-time price with a unit amount: mode `payment` takes "
            "only those.",
            param=f"line_items[{index}][price]",
        )
    quantity = item.get("quantity")
    if quantity is None:
        raise InvalidRequest(
            f"Missing required param: line_items[{index}][quantity].",
            code="parameter_missing",
            param=f"line_items[{index}][quantity]",
        )
    product_data = (item.get("price_data") or {}).get("product_data") or {}
    amount = price["unit_amount"] * quantity
    return {
        "id": backend.new_id("li"),
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": price["currency"],
        "description": product_data.get("name") or price.get("nickname"),
        "discounts": [],
        "metadata": {},
        "price": price,
        "quantity": quantity,
        "taxes": [],
    }


def _line_items(backend: Backend, given: list[dict] | None) -> list[dict]:
    if not given:
        raise InvalidRequest(
            "Missing required param: line_items. Pass at least one line item in `payment` mode.",
            code="parameter_missing",
            param="line_items",
        )
    if len(given) > MAX_LINE_ITEMS:
        raise InvalidRequest(
            f"A Checkout Session can have at most {MAX_LINE_ITEMS} line items.",
            param="line_items",
        )
    items = [_line_item(backend, item, index) for index, item in enumerate(given)]
    currencies = {item["currency"] for item in items}
    if len(currencies) > 1:
        raise InvalidRequest(
            f"All line items must use the same currency; found {', '.join(sorted(currencies))}.",
            param="line_items",
        )
    return items


def _expires_at(backend: Backend, value: int | None) -> int:
    if value is None:
        return backend.now + DEFAULT_LIFETIME
    if not backend.now + MINIMUM_LIFETIME <= value <= backend.now + DEFAULT_LIFETIME:
        raise InvalidRequest(
            "The `expires_at` timestamp must be at least 30 minutes and at most 24 hours "
            "after the Checkout Session is created.",
            param="expires_at",
        )
    return value


def create(backend: Backend, params: dict) -> dict:
    if params["mode"] != "payment":
        raise InvalidRequest(
            f"The sandbox's Checkout Sessions take mode `payment` only, not `{params['mode']}`.",
            param="mode",
        )
    if params.get("customer") and params.get("customer_email"):
        raise InvalidRequest(
            "You may only specify one of these parameters: customer, customer_email.",
            param="customer_email",
        )
    customer = None
    if params.get("customer"):
        customer = backend.get(params["customer"], "customer", param="customer")["id"]
    for name in ("success_url", "cancel_url"):
        _check_url(params.get(name), name)
    items = _line_items(backend, params.get("line_items"))
    currency = items[0]["currency"]
    total = sum(item["amount_total"] for item in items)
    ledger.check_amount(total, currency, param="line_items")
    intent_data = params.get("payment_intent_data") or {}
    session_id = backend.new_id("cs_test", 58)
    session = {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "allowed_payment_method_types": None,
        "amount_subtotal": total,
        "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "branding_settings": None,
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": backend.now,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer,
        "customer_account": None,
        "customer_creation": None if customer else params.get("customer_creation", "if_required"),
        "customer_details": None,
        "customer_email": params.get("customer_email"),
        "discounts": [],
        "excluded_payment_method_types": None,
        "expires_at": _expires_at(backend, params.get("expires_at")),
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "livemode": False,
        "locale": params.get("locale"),
        "managed_payments": None,
        "metadata": metadata.merge({}, params.get("metadata")),
        "mode": "payment",
        "name_collection": None,
        "optional_items": None,
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": None,
        "payment_method_configuration_details": None,
        "payment_method_options": PAYMENT_METHOD_OPTIONS,
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "presentment_details": None,
        "recovered_from": None,
        "redirect_on_completion": None,
        "return_url": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": params.get("submit_type"),
        "subscription": None,
        "success_url": params.get("success_url"),
        "tax_id_collection": {"enabled": False, "required": "never"},
        "total_details": {
            "amount_discount": 0,
            "amount_shipping": 0,
            "amount_tax": 0,
            "breakdown": {"discounts": [], "taxes": []},
        },
        "ui_mode": "hosted_page",
        "url": f"{backend.pages}/pay/{session_id}" if backend.pages else None,
        "wallet_options": None,
    }
    private = {
        "line_items": items,
        "intent": {key: intent_data[key] for key in intent_data if intent_data[key] is not None},
    }
    backend.store.insert(session, private=private, due=session["expires_at"])
    return session


def with_line_items(backend: Backend, session: str) -> tuple[dict, list[dict]]:
    """The session and its line items in the order given (what the hosted page shows)."""
    obj, private = backend.store.with_private(session, "checkout.session")
    if obj is None:
        raise ResourceMissing("checkout.session", session, "session")
    return obj, private["line_items"]


def retrieve(backend: Backend, params: dict, session: str) -> dict:
    """The session; its line items only when asked for (`expand[]=line_items`), as Stripe."""
    obj, items = with_line_items(backend, session)
    if "line_items" in (params.get("expand") or ()):
        obj["line_items"] = {
            "object": "list",
            "data": items[:10],
            "has_more": len(items) > 10,
            "url": f"/v1/checkout/sessions/{session}/line_items",
        }
    return obj


def list_line_items(backend: Backend, params: dict, session: str) -> bytes:
    """Line items in the order given (not newest first), paged by id like other lists."""
    _, items = with_line_items(backend, session)
    ids = [item["id"] for item in items]
    limit = params.get("limit") or 10
    cursor_param = "ending_before" if params.get("ending_before") else "starting_after"
    cursor = params.get(cursor_param)
    if cursor and cursor not in ids:
        raise ResourceMissing("line item", cursor, cursor_param)
    if cursor_param == "ending_before" and cursor:
        end = ids.index(cursor)
        start = max(0, end - limit)
        more = start > 0
    else:
        start = ids.index(cursor) + 1 if cursor else 0
        end = min(len(items), start + limit)
        more = end < len(items)
    raw = [stored(item).encode() for item in items[start:end]]
    url = f"/v1/checkout/sessions/{session}/line_items"
    return lists.listing(backend, raw, more, url, params.get("expand"))


def list_(backend: Backend, params: dict) -> bytes:
    return lists.page(
        backend,
        "checkout.session",
        params,
        "/v1/checkout/sessions",
        where={
            "customer": params.get("customer"),
            "payment_intent": params.get("payment_intent"),
            "status": params.get("status"),
        },
    )


def update(backend: Backend, params: dict, session: str) -> dict:
    obj = backend.get(session, "checkout.session", param="session")
    with backend.change(obj):  # Stripe has no checkout.session.updated event
        if "metadata" in params:
            obj["metadata"] = metadata.merge(obj["metadata"], params["metadata"])
    return obj


def _not_open(obj: dict, action: str) -> InvalidRequest:
    return InvalidRequest(
        f'Only Checkout Sessions with a status in ["open"] can be {action}. This Checkout '
        f'Session has a status of "{obj["status"]}".',
        code="checkout_session_unexpected_state" if action == "paid" else None,
    )


def expire(backend: Backend, params: dict, session: str) -> dict:
    obj = backend.get(session, "checkout.session", param="session")
    if obj["status"] != "open":
        raise _not_open(obj, "expired")
    return _expired(backend, obj)


def _expired(backend: Backend, session: dict) -> dict:
    with backend.change(session, "checkout.session.expired", due=None):
        session.update(status="expired", url=None)
    if session["payment_intent"]:
        intent = backend.get(session["payment_intent"], "payment_intent")
        if intent["status"] in payment_intents.CANCELABLE:
            payment_intents.cancel(backend, {}, intent["id"])
    return session


def expire_due(backend: Backend, session_id: str) -> None:
    """Past `expires_at` and still open: expired, as Stripe does after 24 hours."""
    session = backend.get(session_id, "checkout.session")
    if session["status"] == "open":
        _expired(backend, session)
    else:
        backend.store.update(session, due=None)


def pay(backend: Backend, session_id: str, card: dict, email: str | None, name: str | None):
    """The hosted page's Pay button: a PaymentMethod from the card typed in, the session's
    PaymentIntent (made on the first attempt) confirmed with it, and on success the session
    complete. A decline raises the CardError (its failed charge kept) with the session open."""
    session = backend.get(session_id, "checkout.session", param="session")
    if session["status"] != "open":
        raise _not_open(session, "paid")
    email = _email(backend, session, email)
    method = payment_methods.create(
        backend,
        {
            "type": "card",
            "card": card,
            "billing_details": {"email": email, "name": name},
        },
    )
    if session["payment_intent"] is None:
        _, private = backend.store.with_private(session_id, "checkout.session")
        intent_data = private["intent"]
        intent = payment_intents.create(
            backend,
            {
                "amount": session["amount_total"],
                "currency": session["currency"],
                "customer": session["customer"],
                "payment_method_types": ["card"],
                **intent_data,
            },
        )
        session["payment_intent"] = intent["id"]
        backend.store.update(session)  # Stripe has no event for this
    intent = payment_intents.confirm(
        backend, {"payment_method": method["id"]}, session["payment_intent"]
    )
    return _complete(backend, session, intent, email, name)


def _email(backend: Backend, session: dict, typed: str | None) -> str:
    """The email the page collects: the one the merchant gave (customer_email, or the
    customer's) takes precedence, as Stripe shows it read-only."""
    given = session["customer_email"]
    if session["customer"]:
        given = backend.get(session["customer"], "customer")["email"] or given
    email = (given or typed or "").strip()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) or len(email) > 512:
        raise InvalidRequest("Your email address is invalid.", code="email_invalid", param="email")
    return email


def _complete(backend: Backend, session: dict, intent: dict, email: str, name: str | None):
    customer = session["customer"]
    if customer is None and session["customer_creation"] == "always":
        customer = customers.create(backend, {"email": email, "name": name})["id"]
    with backend.change(session, "checkout.session.completed", due=None):
        session.update(
            collected_information={
                "business_name": None,
                "individual_name": None,
                "shipping_details": None,
            },
            customer=customer,
            customer_details={
                "address": {
                    "city": None,
                    "country": None,
                    "line1": None,
                    "line2": None,
                    "postal_code": None,
                    "state": None,
                },
                "business_name": None,
                "email": email,
                "individual_name": None,
                "name": name,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
            # Authorized only (manual capture): nothing is paid until it is captured.
            payment_status="paid" if intent["status"] == "succeeded" else "unpaid",
            status="complete",
            url=None,
        )
    return session


def success_url(session: dict) -> str | None:
    """Where the customer goes after paying, the session's id put in for the placeholder."""
    url = session["success_url"]
    return url.replace(ID_PLACEHOLDER, session["id"]) if url else None
