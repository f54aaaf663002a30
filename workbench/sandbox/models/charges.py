"""Charges: authorize, capture (full or partial), release, and the card's outcome.

The Charges API and PaymentIntents both end here: `authorize` decides the outcome from the
test card, stores the charge (a declined one as `failed`, as Stripe keeps it) and raises the
card error; `capture_charge` writes the balance transaction. Releasing an authorization is
the refund's (models/refunds.py); a PaymentIntent's authorization expires with its intent.
"""

from __future__ import annotations

from workbench.sandbox import cards, ledger, lists, metadata, search
from workbench.sandbox.backend import Backend
from workbench.sandbox.currencies import SUPPORTED
from workbench.sandbox.exceptions import (
    CardError,
    InvalidRequest,
    ResourceMissing,
    SourceNotLinked,
)
from workbench.sandbox.models import customers, disputes, refunds, tokens

AUTHORIZATION_DAYS = 7
DAY = 86400


def check_currency(currency: str) -> str:
    if currency not in SUPPORTED:
        raise InvalidRequest(
            f"Invalid currency: {currency[:20]}. Stripe currently supports "
            "these currencies: usd, eur, gbp, jpy, ... (see "
            "https://stripe.com/docs/currencies)",
            param="currency",
            code="parameter_invalid_string",
        )
    return currency


def _outcome(backend: Backend, card: cards.TestCard) -> dict:
    decline = card.decline
    outcome = {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network",
        "reason": None,
        "risk_level": card.risk_level,
        "risk_score": backend.rng.randint(5, 60),
        "rule": None,
        "seller_message": "Payment complete.",
        "type": "authorized",
    }
    if card.risk_level == "elevated":
        outcome.update(reason="elevated_risk_level", risk_score=backend.rng.randint(66, 75))
    if decline:
        outcome.update(
            advice_code=decline.advice_code,
            network_status=decline.network_status,
            reason=decline.decline_code or decline.code,
            risk_level=decline.risk_level,
            seller_message=decline.seller_message,
            type=decline.outcome_type,
        )
        if decline.outcome_type == "blocked":
            outcome.update(
                risk_score=backend.rng.randint(90, 99),
                reason="highest_risk_level",
                rule={
                    "id": "block_if_high_risk",
                    "action": "block",
                    "predicate": ":risk_level: = 'highest'",
                },
            )
    return outcome


def _card_details(card_obj: dict, amount: int, capture_before: int | None) -> dict:
    network = cards.NETWORKS[card_obj["brand"]]
    return {
        "amount_authorized": amount,
        "authorization_code": None,
        "brand": network,
        "capture_before": capture_before,
        "checks": {
            "address_line1_check": card_obj["address_line1_check"],
            "address_postal_code_check": card_obj["address_zip_check"],
            "cvc_check": card_obj["cvc_check"],
        },
        "country": card_obj["country"],
        "description": None,
        "electronic_commerce_indicator": None,
        "exp_month": card_obj["exp_month"],
        "exp_year": card_obj["exp_year"],
        "extended_authorization": {"status": "disabled"},
        "fingerprint": card_obj["fingerprint"],
        "funding": card_obj["funding"],
        "iin": None,
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "issuer": None,
        "last4": card_obj["last4"],
        "mandate": None,
        "moto": None,
        "multicapture": {"status": "unavailable"},
        "network": network,
        "network_token": {"used": False},
        "network_transaction_id": None,
        "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
        "regulated_status": card_obj["regulated_status"],
        "setup_credential_usage": None,
        "stored_credential_usage": None,
        "three_d_secure": None,
        "transaction_link_id": None,
        "wallet": None,
    }


def statement_descriptor(backend: Backend, suffix: str | None) -> str:
    settings = backend.account["settings"]
    if suffix:
        return f"{settings['card_payments']['statement_descriptor_prefix']}* {suffix}"[:22]
    return settings["payments"]["statement_descriptor"]


def authorize(
    backend: Backend,
    *,
    amount: int,
    currency: str,
    card_obj: dict,
    card: cards.TestCard,
    customer: str | None,
    params: dict,
    capture: bool,
    payment_intent: str | None = None,
    payment_method: str | None = None,
) -> dict:
    """Create the charge for one attempt; a decline is stored and then raised."""
    declined = card.decline is not None
    capture_before = None if capture or declined else backend.now + AUTHORIZATION_DAYS * DAY
    charge_id = backend.new_id("ch")
    charge = {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "authorization_code": None,
        "balance_transaction": None,
        "billing_details": {
            "address": {
                "city": card_obj["address_city"],
                "country": card_obj["address_country"],
                "line1": card_obj["address_line1"],
                "line2": card_obj["address_line2"],
                "postal_code": card_obj["address_zip"],
                "state": card_obj["address_state"],
            },
            "email": None,
            "name": card_obj["name"],
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": statement_descriptor(
            backend, params.get("statement_descriptor_suffix")
        ),
        "captured": False,
        "created": backend.now,
        "currency": currency,
        "customer": customer,
        "description": params.get("description"),
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": card.decline.code if declined else None,
        "failure_message": card.decline.message if declined else None,
        "fraud_details": {"stripe_report": None, "user_report": None},
        "level3": None,
        "livemode": False,
        "metadata": metadata.merge({}, params.get("metadata")),
        "on_behalf_of": None,
        "outcome": _outcome(backend, card),
        "paid": not declined,
        "payment_intent": payment_intent,
        "payment_method": payment_method or card_obj["id"],
        "payment_method_details": {
            "card": _card_details(card_obj, amount, capture_before),
            "type": "card",
        },
        "presentment_details": None,
        "radar_options": None,
        "receipt_email": params.get("receipt_email"),
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{backend.token(40)}",
        "refunded": False,
        "review": None,
        "shipping": customers.shipping_object(params.get("shipping")),
        "source": None if payment_intent else card_obj,
        "source_transfer": None,
        "statement_descriptor": params.get("statement_descriptor"),
        "statement_descriptor_suffix": params.get("statement_descriptor_suffix"),
        "status": "failed" if declined else "succeeded",
        "transfer": None,
        "transfer_data": None,
        "transfer_group": params.get("transfer_group"),
    }
    if capture and not declined:
        _record_capture(backend, charge, amount, card)
    # A PaymentIntent's authorization expires with the intent (payment_intents.expire).
    due = capture_before if payment_intent is None else None
    backend.store.insert(charge, private={"number": card.number}, due=due)
    if declined:
        backend.emit("charge.failed", charge)
        raise card.decline.error(charge=charge_id)
    backend.emit("charge.succeeded", charge)
    if capture and card.dispute:
        disputes.open_dispute(backend, charge, card.dispute)
    return charge


def _number(backend: Backend, charge: dict) -> str:
    return backend.store.private(charge["id"])["number"]


def capture_charge(backend: Backend, charge: dict, amount: int | None) -> dict:
    """Capture `amount` (all when None) of an authorization; the rest is released."""
    charge_id = charge["id"]
    if charge["status"] == "failed":
        raise InvalidRequest(
            f"Charge {charge_id} cannot be captured because it has failed.",
            code="charge_not_capturable",
        )
    if charge["captured"]:
        raise InvalidRequest(
            f"Charge {charge_id} has already been captured.", code="charge_already_captured"
        )
    if charge["refunded"]:
        capture_before = charge["payment_method_details"]["card"]["capture_before"]
        if capture_before and capture_before <= backend.now:
            raise InvalidRequest(
                f"Charge {charge_id} cannot be captured because the charge has expired (a charge "
                "must be captured within 7 days). You will need to create a new charge to retry "
                "the payment.",
                code="charge_expired_for_capture",
            )
        raise InvalidRequest(
            f"Charge {charge_id} has already been refunded.", code="charge_already_refunded"
        )
    amount = charge["amount"] if amount is None else amount
    if amount > charge["amount"]:
        raise InvalidRequest(
            "The payment could not be captured because the requested capture "
            "amount is greater than the amount you can capture for this charge.",
            code="amount_too_large",
            param="amount",
        )
    ledger.check_amount(amount, charge["currency"])
    card = cards.lookup(_number(backend, charge))
    with backend.change(charge, "charge.captured", due=None):
        _record_capture(backend, charge, amount, card)
    if card.dispute:
        disputes.open_dispute(backend, charge, card.dispute)
    return charge


def _record_capture(backend: Backend, charge: dict, amount: int, card: cards.TestCard) -> None:
    """Book a capture: a `charge` balance transaction for the whole authorization; less
    captured than authorized, the rest released by a Refund (see ledger.py)."""
    transaction = ledger.charge_transaction(backend, charge, immediately=card.bypass_pending)
    charge.update(captured=True, amount_captured=amount, balance_transaction=transaction["id"])
    if amount < charge["amount"]:
        refunds.release_uncaptured(backend, charge, transaction)


def expire(backend: Backend, charge_id: str) -> None:
    """An authorization 7 days old is released (what is no longer open just stops being due)."""
    charge = backend.get(charge_id, "charge")
    if charge["captured"] or charge["refunded"] or charge["status"] != "succeeded":
        backend.store.update(charge, due=None)
        return
    refunds.release(backend, charge, "expired_uncaptured_charge")


# the Charges API


def _payment_source(backend: Backend, params: dict) -> tuple[dict, cards.TestCard, str | None]:
    """The card a charge is made with: with a customer, one saved on that customer (its
    default unless `source` names another); without, a token."""
    source = params.get("source")
    if params.get("customer"):
        customer = backend.get(params["customer"], "customer", param="customer")
        if source is None and not customer["default_source"]:
            raise CardError(
                "Cannot charge a customer that has no active card", code="missing", param="card"
            )
        source = source or customer["default_source"]
        card_obj, private = backend.store.with_private(source, "card")
        if card_obj is None or card_obj["customer"] != customer["id"]:
            raise SourceNotLinked(customer["id"], source)
        return card_obj, cards.lookup(private["number"]), customer["id"]
    if source is None:
        raise InvalidRequest("Must provide source or customer.", code="parameter_missing")
    if source.startswith("tok_"):
        card_obj, card = tokens.redeem(backend, source)
        return card_obj, card, None
    if source.startswith("card_"):
        raise InvalidRequest(
            f"Customer (none given) does not have a linked source with ID {source}.",
            code="resource_missing",
            param="source",
        )
    raise ResourceMissing("source", source, "source")


def create(backend: Backend, params: dict) -> dict:
    currency = check_currency(params["currency"])
    ledger.check_amount(params["amount"], currency)
    card_obj, card, customer = _payment_source(backend, params)
    return authorize(
        backend,
        amount=params["amount"],
        currency=currency,
        card_obj=card_obj,
        card=card,
        customer=customer,
        params=params,
        capture=params.get("capture", True) is not False,
    )


def retrieve(backend: Backend, params: dict, charge: str) -> dict:
    return backend.get(charge, "charge")


def update(backend: Backend, params: dict, charge: str) -> dict:
    obj = backend.get(charge, "charge")
    with backend.change(obj, "charge.updated"):
        for key in ("description", "receipt_email", "transfer_group"):
            if key in params:
                obj[key] = params[key]
        if "shipping" in params:
            obj["shipping"] = customers.shipping_object(params["shipping"])
        if "metadata" in params:
            obj["metadata"] = metadata.merge(obj["metadata"], params["metadata"])
        if "customer" in params and params["customer"]:
            if obj["customer"] and obj["customer"] != params["customer"]:
                raise InvalidRequest("This charge already has a customer.", param="customer")
            obj["customer"] = backend.get(params["customer"], "customer", param="customer")["id"]
    return obj


def capture(backend: Backend, params: dict, charge: str) -> dict:
    obj = backend.get(charge, "charge")
    if obj["payment_intent"] and not obj["captured"]:
        raise InvalidRequest(
            f"This uncaptured Charge was created by a PaymentIntent "
            f"({obj['payment_intent']}). You must capture the PaymentIntent "
            "instead."
        )
    for key in ("receipt_email", "statement_descriptor", "statement_descriptor_suffix"):
        if key in params:
            obj[key] = params[key]
    return capture_charge(backend, obj, params.get("amount"))


def list_(backend: Backend, params: dict) -> str:
    return lists.page(
        backend,
        "charge",
        params,
        "/v1/charges",
        where={"customer": params.get("customer"), "payment_intent": params.get("payment_intent")},
        conditions=[("json_extract(data, '$.transfer_group') = ?", params["transfer_group"])]
        if params.get("transfer_group")
        else (),
    )


def search_(backend: Backend, params: dict) -> str:
    return search.run(backend, "charge", params, "/v1/charges/search")
