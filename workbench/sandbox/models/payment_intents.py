"""PaymentIntents: create, confirm (automatic or manual capture), capture, cancel.

Each confirmation is one charge through `charges.authorize`; a decline leaves the intent in
`requires_payment_method` with `last_payment_error`, as Stripe does, so it can be retried.
"""

from __future__ import annotations

from workbench.sandbox import ledger, lists, metadata, search
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import CardError, InvalidRequest
from workbench.sandbox.models import charges, payment_methods, refunds

CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
CONFIRMABLE = ("requires_payment_method", "requires_confirmation")


def _unexpected(action: str, intent: dict, allowed: tuple[str, ...]) -> InvalidRequest:
    return InvalidRequest(
        f"This PaymentIntent could not be {action} because it has a status of "
        f"{intent['status']}. Only a PaymentIntent with one of the following statuses may be "
        f"{action}: {', '.join(allowed)}.",
        code="payment_intent_unexpected_state",
    )


def create(backend: Backend, params: dict) -> dict:
    if params.get("off_session") is not None and params.get("confirm") is not True:
        raise InvalidRequest(
            "off_session can only be used when confirm is true: pass confirm=true to create "
            "and confirm the PaymentIntent at once.",
            param="off_session",
        )
    currency = charges.check_currency(params["currency"])
    ledger.check_amount(params["amount"], currency)
    customer = params.get("customer")
    if customer:
        backend.get(customer, "customer", param="customer")
    method = None
    if params.get("payment_method"):
        method = payment_methods.resolve(backend, params["payment_method"])[0]["id"]
    intent_id = backend.new_id("pi")
    intent = {
        "id": intent_id,
        "object": "payment_intent",
        "allowed_payment_method_types": None,
        "amount": params["amount"],
        "amount_capturable": 0,
        "amount_details": None,
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": params.get("capture_method") or "automatic_async",
        "client_secret": f"{intent_id}_secret_{backend.token(25)}",
        "confirmation_method": params.get("confirmation_method") or "automatic",
        "created": backend.now,
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "description": params.get("description"),
        "excluded_payment_method_types": None,
        "hooks": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": metadata.merge({}, params.get("metadata")),
        "next_action": None,
        "on_behalf_of": None,
        "payment_details": None,
        "payment_method": method,
        "payment_method_configuration_details": None,
        "payment_method_options": None,
        "payment_method_types": params.get("payment_method_types") or ["card"],
        "payment_record": None,
        "presentment_details": None,
        "processing": None,
        "receipt_email": params.get("receipt_email"),
        "review": None,
        "setup_future_usage": params.get("setup_future_usage"),
        "shipping": None,
        "source": None,
        "statement_descriptor": params.get("statement_descriptor"),
        "statement_descriptor_suffix": params.get("statement_descriptor_suffix"),
        "status": "requires_confirmation" if method else "requires_payment_method",
        "transfer_data": None,
        "transfer_group": params.get("transfer_group"),
    }
    backend.store.insert(intent)
    backend.emit("payment_intent.created", intent)
    if params.get("confirm"):
        return _confirm(backend, intent, {})
    return intent


def retrieve(backend: Backend, params: dict, intent: str) -> dict:
    return backend.get(intent, "payment_intent", param="intent")


def update(backend: Backend, params: dict, intent: str) -> dict:
    """Stripe sends no event for this (there is no `payment_intent.updated`)."""
    obj = backend.get(intent, "payment_intent", param="intent")
    if {"amount", "currency", "payment_method", "capture_method"} & params.keys() and obj[
        "status"
    ] not in CONFIRMABLE:
        raise _unexpected("updated", obj, CONFIRMABLE)
    with backend.change(obj):
        if "currency" in params:
            obj["currency"] = charges.check_currency(params["currency"])
        if "amount" in params:
            ledger.check_amount(params["amount"], obj["currency"])
            obj["amount"] = params["amount"]
        if params.get("customer"):
            obj["customer"] = backend.get(params["customer"], "customer", param="customer")["id"]
        if params.get("payment_method"):
            method = payment_methods.resolve(backend, params["payment_method"])[0]
            obj.update(payment_method=method["id"], status="requires_confirmation")
        for key in (
            "description",
            "receipt_email",
            "statement_descriptor_suffix",
            "capture_method",
            "setup_future_usage",
            "transfer_group",
        ):
            if key in params:
                obj[key] = params[key]
        if "metadata" in params:
            obj["metadata"] = metadata.merge(obj["metadata"], params["metadata"])
    return obj


def confirm(backend: Backend, params: dict, intent: str) -> dict:
    return _confirm(backend, backend.get(intent, "payment_intent", param="intent"), params)


def _confirm(backend: Backend, intent: dict, params: dict) -> dict:
    if intent["status"] not in CONFIRMABLE:
        raise InvalidRequest(
            f"You cannot confirm this PaymentIntent because it has a status of {intent['status']}.",
            code="payment_intent_unexpected_state",
        )
    for key in ("receipt_email", "setup_future_usage"):
        if key in params:
            intent[key] = params[key]
    method_id = params.get("payment_method") or intent["payment_method"]
    if not method_id:
        raise InvalidRequest(
            "You cannot confirm this PaymentIntent because it's missing a "
            "payment method. To confirm the PaymentIntent with "
            f"{intent['customer'] or 'a customer'}, specify a payment method "
            "attached to this customer along with the customer ID.",
            code="payment_intent_unexpected_state",
        )
    method, card = payment_methods.resolve(backend, method_id)
    if method["customer"] and intent["customer"] and method["customer"] != intent["customer"]:
        raise InvalidRequest(
            f"The provided PaymentMethod belongs to another customer than {intent['customer']}.",
            param="payment_method",
        )
    manual = intent["capture_method"] == "manual"
    with backend.change(intent) as change:
        intent["payment_method"] = method["id"]
        try:
            charge = charges.authorize(
                backend,
                amount=intent["amount"],
                currency=intent["currency"],
                card_obj=payment_methods.card_view(method, card),
                card=card,
                customer=intent["customer"],
                params=intent,
                capture=not manual,
                payment_intent=intent["id"],
                payment_method=method["id"],
            )
        except CardError as exc:
            declined = exc
            _record_decline(intent, exc, method)
            change.events.append("payment_intent.payment_failed")
        else:
            declined = None
            intent.update(latest_charge=charge["id"], last_payment_error=None)
            if manual:
                intent.update(status="requires_capture", amount_capturable=intent["amount"])
                change.events.append("payment_intent.amount_capturable_updated")
                change.columns["due"] = charge["payment_method_details"]["card"]["capture_before"]
            else:
                intent.update(status="succeeded", amount_received=charge["amount_captured"])
                change.events.append("payment_intent.succeeded")
    if declined:
        declined.extra.update(payment_intent=intent, payment_method=method)
        raise declined
    return intent


def _record_decline(intent: dict, exc: CardError, method: dict) -> None:
    """The intent goes back to `requires_payment_method`, the decline in last_payment_error."""
    intent.update(
        status="requires_payment_method",
        latest_charge=exc.charge,
        payment_method=None,
        last_payment_error={
            "advice_code": exc.extra.get("advice_code"),
            "charge": exc.charge,
            "code": exc.code,
            "decline_code": exc.decline_code,
            "doc_url": f"https://stripe.com/docs/error-codes/{exc.code.replace('_', '-')}",
            "message": exc.message,
            "network_advice_code": None,
            "network_decline_code": None,
            "param": exc.param,
            "payment_intent": None,
            "payment_method": method,
            "payment_method_type": "card",
            "request_log_url": None,
            "setup_intent": None,
            "source": None,
            "type": "card_error",
        },
    )


def capture(backend: Backend, params: dict, intent: str) -> dict:
    obj = backend.get(intent, "payment_intent", param="intent")
    if obj["status"] != "requires_capture":
        raise _unexpected("captured", obj, ("requires_capture",))
    amount = params.get("amount_to_capture", obj["amount_capturable"])
    if amount > obj["amount_capturable"]:
        raise InvalidRequest(
            "The amount_to_capture must be less than or equal to the "
            f"amount_capturable ({obj['amount_capturable']}).",
            code="amount_too_large",
            param="amount_to_capture",
        )
    with backend.change(obj, "payment_intent.succeeded", due=None):
        charges.capture_charge(backend, backend.get(obj["latest_charge"], "charge"), amount)
        obj.update(status="succeeded", amount_received=amount, amount_capturable=0)
    return obj


def cancel(backend: Backend, params: dict, intent: str) -> dict:
    obj = backend.get(intent, "payment_intent", param="intent")
    if obj["status"] not in CANCELABLE:
        raise InvalidRequest(
            f"You cannot cancel this PaymentIntent because it has a status of {obj['status']}. "
            "Only a PaymentIntent with one of the following statuses may be canceled: "
            f"{', '.join(CANCELABLE)}.",
            code="payment_intent_unexpected_state",
        )
    if obj["status"] == "requires_capture":
        refunds.release(backend, backend.get(obj["latest_charge"], "charge"), None)
    return _canceled(backend, obj, params.get("cancellation_reason"))


def _canceled(backend: Backend, intent: dict, reason: str | None) -> dict:
    with backend.change(intent, "payment_intent.canceled", due=None):
        intent.update(
            status="canceled",
            canceled_at=backend.now,
            cancellation_reason=reason,
            amount_capturable=0,
        )
    return intent


def expire(backend: Backend, intent_id: str) -> None:
    """Not captured within 7 days: the authorization is released and the intent canceled
    (`automatic`), as Stripe does when its charge's `capture_before` passes."""
    intent = backend.get(intent_id, "payment_intent")
    if intent["status"] != "requires_capture":
        backend.store.update(intent, due=None)
        return
    refunds.release(
        backend, backend.get(intent["latest_charge"], "charge"), "expired_uncaptured_charge"
    )
    _canceled(backend, intent, "automatic")


def list_(backend: Backend, params: dict) -> str:
    return lists.page(
        backend,
        "payment_intent",
        params,
        "/v1/payment_intents",
        where={"customer": params.get("customer")},
    )


def search_(backend: Backend, params: dict) -> str:
    return search.run(backend, "payment_intent", params, "/v1/payment_intents/search")
