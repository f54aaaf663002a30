"""Invoices of subscriptions: draft -> open -> paid (or void), their line items, and each
payment attempt through a PaymentIntent, whose charge lands in the ledger like any other.

What the subscription does about an invoice's outcome (active, past_due, canceled) is the
subscription's (models/subscriptions.py); this module keeps the invoice's own rules:

- Finalizing numbers the invoice (`<customer prefix>-0001`), applies the customer's balance
  (a credit lowers what is due; a total below zero becomes a credit) and marks an invoice
  with nothing due paid at once. What is due but below Stripe's minimum charge (the
  equivalent of 0.50 USD) is not charged: the invoice is paid and the amount is added to
  the customer's balance, to be collected with the next invoice, as Stripe does.
- A renewal's invoice stays a draft for an hour (`automatically_finalizes_at`), as Stripe
  leaves time for webhooks to edit it; then it is finalized and its payment attempted.
- Payment method: the subscription's default_payment_method, else the customer's
  invoice_settings.default_payment_method, else its default source (Stripe's order).
- Retries (Stripe's Smart Retries, simplified to a fixed schedule): after the attempt at
  finalization, retries 2, 4, 6, 8, 10, 12 and 14 days later, Stripe's recommended default
  of 8 tries within 2 weeks. A hard decline (lost or stolen card, incorrect number, ...)
  or no payment method at all is not retried, as Stripe does not retry them.
"""

from __future__ import annotations

from contextlib import contextmanager

from workbench.sandbox import ledger, lists
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import (
    CardError,
    InvalidRequest,
    ResourceMissing,
    SandboxError,
)
from workbench.sandbox.models import payment_intents, payment_methods

DAY = 86400
FINALIZE_AFTER = 3600
RETRY_DAYS = (2, 4, 6, 8, 10, 12, 14)
# Decline codes Stripe does not retry ("hard declines"): the issuer will never approve.
HARD_DECLINES = frozenset(
    "incorrect_number invalid_account lost_card pickup_card restricted_card "
    "revocation_of_all_authorizations revocation_of_authorization security_violation "
    "stolen_card stop_payment_order".split()
)
EMBEDDED_LINES = 10  # Stripe shows an invoice's first ten lines; /lines pages the rest
DESCRIPTIONS = {  # a PaymentIntent's description, by the invoice's billing_reason
    "subscription_create": "Subscription creation",
    "subscription_cycle": "Subscription update",
    "subscription_update": "Subscription update",
}
PAYABLE = ("draft", "open", "uncollectible")


def line_object(backend: Backend, invoice: dict, spec: dict) -> dict:
    """One line from a subscription's spec: amount, description, period, price, quantity,
    subscription_item, proration."""
    price = spec["price"]
    start, end = spec["period"]
    return {
        "id": backend.new_id("il"),
        "object": "line_item",
        "amount": spec["amount"],
        "currency": invoice["currency"],
        "description": spec["description"],
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice["id"],
        "livemode": False,
        "metadata": {},
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": spec["proration"],
                "proration_details": {"credited_items": None},
                "subscription": invoice["parent"]["subscription_details"]["subscription"],
                "subscription_item": spec["subscription_item"],
            },
            "type": "subscription_item_details",
        },
        "period": {"end": end, "start": start},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price["unit_amount_decimal"],
        },
        "quantity": spec["quantity"],
        "quantity_decimal": str(spec["quantity"]),
        "subscription": invoice["parent"]["subscription_details"]["subscription"],
        "subtotal": spec["amount"],
        "taxes": [],
    }


def draft(
    backend: Backend,
    *,
    customer: dict,
    subscription: dict,
    specs: list[dict],
    billing_reason: str,
    period: tuple[int, int],
    auto_advance: bool = True,
) -> dict:
    """A new draft invoice of a subscription with these lines (invoice.created). A renewal's
    finalizes itself an hour later; the others are finalized by the caller at once."""
    account = backend.account
    total = sum(spec["amount"] for spec in specs)
    finalizes = backend.now + FINALIZE_AFTER if auto_advance else None
    invoice = {
        "id": backend.new_id("in"),
        "object": "invoice",
        "account_country": account["country"],
        "account_name": account["business_profile"]["name"],
        "account_tax_ids": None,
        "amount_due": total,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_paid_off_stripe": 0,
        "amount_remaining": total,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": auto_advance,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": finalizes,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "confirmation_secret": None,
        "created": backend.now,
        "currency": subscription["currency"],
        "custom_fields": None,
        "customer": customer["id"],
        "customer_account": None,
        "customer_address": customer["address"],
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": customer["phone"],
        "customer_shipping": customer["shipping"],
        "customer_tax_exempt": customer["tax_exempt"],
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "deleted": None,
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"account": None, "type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": None,
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": finalizes,
        "number": None,
        "on_behalf_of": None,
        "parent": {
            "quote_details": None,
            "subscription_details": {
                "metadata": subscription["metadata"],
                "subscription": subscription["id"],
                "subscription_proration_date": None,
            },
            "type": "subscription_details",
        },
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": period[1],
        "period_start": period[0],
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_details": None,
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "test_clock": customer["test_clock"],
        "threshold_reason": None,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": total,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }
    lines = [line_object(backend, invoice, spec) for spec in specs]
    invoice["lines"] = {
        "object": "list",
        "data": lines[:EMBEDDED_LINES],
        "has_more": len(lines) > EMBEDDED_LINES,
        "url": f"/v1/invoices/{invoice['id']}/lines",
    }
    for line in lines:
        backend.store.insert(line, created=invoice["created"])
    backend.store.insert(invoice, due=due(invoice))
    backend.emit("invoice.created", invoice)
    return invoice


def due(invoice: dict) -> int | None:
    """When the invoice next acts on its own, for the sandbox's clock (an invoice on a test
    clock acts when its clock advances: see next_moment)."""
    return None if invoice["test_clock"] else next_moment(invoice)


def next_moment(invoice: dict) -> int | None:
    """A draft finalizing itself, or an open invoice's next retry."""
    if invoice["status"] == "draft" and invoice["auto_advance"]:
        return invoice["automatically_finalizes_at"]
    if invoice["status"] == "open":
        return invoice["next_payment_attempt"]
    return None


@contextmanager
def _change(backend: Backend, invoice: dict, *events: str):
    """backend.change, with the invoice's due moment worked out again as the block ends."""
    with backend.change(invoice, *events) as change:
        yield change
        change.columns["due"] = due(invoice)


def finalize(backend: Backend, invoice: dict) -> dict:
    """Draft -> open: numbered, the customer's balance applied; paid at once when nothing
    (or less than Stripe's minimum charge) is due."""
    customer = backend.get(invoice["customer"], "customer")
    with backend.change(customer, "customer.updated"):
        starting = customer["balance"]
        owed = invoice["total"] + starting
        chargeable = owed <= 0 or not ledger.below_minimum(owed, invoice["currency"])
        ending = min(0, owed) if chargeable else owed
        customer["balance"] = ending
        number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
        customer["next_invoice_sequence"] += 1
    token = backend.token(24)
    with _change(backend, invoice, "invoice.finalized"):
        invoice.update(
            amount_due=max(0, owed) if chargeable else 0,
            amount_remaining=max(0, owed) if chargeable else 0,
            automatically_finalizes_at=None,
            effective_at=backend.now,
            ending_balance=ending,
            hosted_invoice_url=f"https://invoice.stripe.com/i/{backend.account['id']}/test_{token}",
            invoice_pdf=f"https://pay.stripe.com/invoice/{backend.account['id']}/test_{token}/pdf",
            next_payment_attempt=None,
            number=number,
            starting_balance=starting,
            status="open",
        )
        invoice["status_transitions"]["finalized_at"] = backend.now
    if invoice["amount_due"] == 0:
        _paid(backend, invoice, 0)
    return invoice


def _paid(backend: Backend, invoice: dict, amount: int) -> None:
    """Paid: by a successful attempt of `amount`, or (0) with nothing to collect."""
    with _change(backend, invoice, "invoice.paid", "invoice.payment_succeeded"):
        if amount:
            invoice["attempt_count"] += 1
            invoice["attempted"] = True
        invoice.update(
            amount_paid=amount, amount_remaining=0, next_payment_attempt=None, status="paid"
        )
        invoice["status_transitions"]["paid_at"] = backend.now
    _delinquent(backend, invoice["customer"], False)


def _delinquent(backend: Backend, customer_id: str, delinquent: bool) -> None:
    """Stripe marks a customer delinquent while an invoice of theirs has failed."""
    customer = backend.store.get(customer_id, "customer")
    if customer is not None and customer["delinquent"] != delinquent:
        with backend.change(customer, "customer.updated"):
            customer["delinquent"] = delinquent


def payment_of(backend: Backend, invoice_id: str) -> dict | None:
    """The invoice's InvoicePayment (its PaymentIntent), once a payment was attempted: its id
    is among the invoice's private facts, so finding it reads one row, not every object (a
    seed of a million charges attempts tens of thousands of invoices)."""
    payment = backend.store.private(invoice_id).get("payment")
    return backend.store.get(payment, "invoice_payment") if payment else None


def _payment_object(backend: Backend, invoice: dict, intent: dict) -> dict:
    return {
        "id": backend.new_id("inpay"),
        "object": "invoice_payment",
        "amount_paid": None,
        "amount_requested": invoice["amount_due"],
        "created": backend.now,
        "currency": invoice["currency"],
        "invoice": invoice["id"],
        "is_default": True,
        "livemode": False,
        "payment": {
            "charge": None,
            "payment_intent": intent["id"],
            "payment_record": None,
            "type": "payment_intent",
        },
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }


def attempt(
    backend: Backend, invoice: dict, method: str | None, *, retry: bool = True
) -> SandboxError | None:
    """Try to collect an open invoice with `method` (None: the customer has none). Returns
    the decline (None when paid); a failed attempt schedules the next retry, if any (none
    when `retry` is False: a subscription's first invoice is not retried)."""
    if method is None:
        _failed(backend, invoice, retry=False)
        return CardError(
            "This customer has no attached payment source or default payment method.",
            code="missing",
            persists=True,
        )
    payment = payment_of(backend, invoice["id"])
    declined = None
    try:
        if payment is None:
            intent = payment_intents.create(
                backend,
                {
                    "amount": invoice["amount_due"],
                    "currency": invoice["currency"],
                    "customer": invoice["customer"],
                    "payment_method": method,
                    "confirm": True,
                    "off_session": True,
                    "description": DESCRIPTIONS.get(invoice["billing_reason"]),
                },
            )
        else:
            intent = payment_intents.confirm(
                backend, {"payment_method": method}, payment["payment"]["payment_intent"]
            )
    except CardError as exc:
        declined, intent = exc, exc.extra["payment_intent"]
    except InvalidRequest as exc:  # cannot be charged at all (an amount out of range)
        _failed(backend, invoice, retry=False)
        exc.persists = True
        return exc
    if payment is None:
        payment = _payment_object(backend, invoice, intent)
        backend.store.insert(payment)
        facts = backend.store.private(invoice["id"])
        backend.store.set_private(invoice["id"], {**facts, "payment": payment["id"]})
    if declined is not None:
        code = declined.decline_code or declined.code
        _failed(backend, invoice, retry=retry and code not in HARD_DECLINES)
        declined.persists = True
        return declined
    with backend.change(payment, "invoice_payment.paid"):
        payment.update(amount_paid=intent["amount_received"], status="paid")
        payment["status_transitions"]["paid_at"] = backend.now
    _paid(backend, invoice, intent["amount_received"])
    return None


def _failed(backend: Backend, invoice: dict, *, retry: bool) -> None:
    with _change(backend, invoice, "invoice.payment_failed"):
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        invoice["next_payment_attempt"] = _next_retry(backend, invoice) if retry else None
    _delinquent(backend, invoice["customer"], True)


def _next_retry(backend: Backend, invoice: dict) -> int | None:
    """The next time on the retry schedule (counted from finalization) still ahead."""
    first = invoice["status_transitions"]["finalized_at"]
    ahead = [first + days * DAY for days in RETRY_DAYS if first + days * DAY > backend.now]
    return ahead[0] if ahead and invoice["attempt_count"] <= len(RETRY_DAYS) else None


def stop_collecting(backend: Backend, invoice: dict) -> None:
    """No more automatic finalizing or attempts, as when Stripe cancels a subscription
    ("stops automatic collection of all finalized invoices")."""
    if invoice["status"] in ("draft", "open") and invoice["auto_advance"]:
        with _change(backend, invoice, "invoice.updated"):
            invoice.update(auto_advance=False, next_payment_attempt=None)
            if invoice["status"] == "draft":
                invoice["automatically_finalizes_at"] = None


def void(backend: Backend, invoice: dict) -> dict:
    """Open or uncollectible -> void: its PaymentIntent canceled, the customer's balance the
    invoice used given back."""
    if invoice["status"] not in ("open", "uncollectible"):
        raise InvalidRequest(
            f"You can only void invoices with status `open` or `uncollectible`; this invoice "
            f"({invoice['id']}) is `{invoice['status']}`.",
            code="invoice_not_editable",
        )
    payment = payment_of(backend, invoice["id"])
    if payment is not None:
        intent = backend.get(payment["payment"]["payment_intent"], "payment_intent")
        if intent["status"] in payment_intents.CANCELABLE:
            payment_intents.cancel(backend, {}, intent["id"])
        with backend.change(payment):
            payment["status"] = "canceled"
            payment["status_transitions"]["canceled_at"] = backend.now
    used = invoice["starting_balance"] - invoice["ending_balance"]
    if used:
        customer = backend.get(invoice["customer"], "customer")
        with backend.change(customer, "customer.updated"):
            customer["balance"] += used
    with _change(backend, invoice, "invoice.voided"):
        invoice.update(amount_remaining=0, next_payment_attempt=None, status="void")
        invoice["status_transitions"]["voided_at"] = backend.now
    return invoice


def check_payable(invoice: dict) -> None:
    if invoice["status"] == "paid":
        raise InvalidRequest("Invoice is already paid.", code="invoice_already_paid")
    if invoice["status"] not in PAYABLE:
        raise InvalidRequest(
            f"You cannot pay an invoice with status `{invoice['status']}`.",
            code="invoice_not_editable",
        )


def method_for(backend: Backend, subscription: dict, given: str | None = None) -> str | None:
    """The payment method an invoice of `subscription` is charged with, in Stripe's order;
    a default that no longer exists is passed over."""
    customer = backend.get(subscription["customer"], "customer")
    for candidate in (
        given,
        subscription["default_payment_method"],
        customer["invoice_settings"]["default_payment_method"],
        customer["default_source"],
    ):
        if candidate:
            try:
                return payment_methods.resolve(backend, candidate)[0]["id"]
            except ResourceMissing:
                if candidate == given:
                    raise
    return None


# the API


def retrieve(backend: Backend, params: dict, invoice: str) -> dict:
    return backend.get(invoice, "invoice")


def list_(backend: Backend, params: dict) -> bytes:
    conditions = []
    if params.get("subscription"):
        conditions.append(
            (
                "json_extract(data, '$.parent.subscription_details.subscription') = ?",
                params["subscription"],
            )
        )
    return lists.page(
        backend,
        "invoice",
        params,
        "/v1/invoices",
        where={"customer": params.get("customer"), "status": params.get("status")},
        conditions=tuple(conditions),
    )


def list_lines(backend: Backend, params: dict, invoice: str) -> bytes:
    """Every line of an invoice, in the invoice's order (lines have no `created` of their
    own), paged like any list."""
    backend.get(invoice, "invoice", param="invoice")
    rows = backend.store.conn.execute(
        "SELECT id, CAST(data AS BLOB) FROM objects WHERE object = 'line_item' "
        "AND json_extract(data, '$.invoice') = ? ORDER BY seq",
        (invoice,),
    ).fetchall()
    ids = [row[0] for row in rows]
    limit = params.get("limit") or 10
    start, end = 0, len(rows)
    for name in ("starting_after", "ending_before"):
        if params.get(name):
            if params[name] not in ids:
                raise ResourceMissing("line_item", params[name], name)
            if name == "starting_after":
                start = ids.index(params[name]) + 1
            else:
                end = ids.index(params[name])
                start = max(0, end - limit)
    chosen = rows[start:end][:limit]
    return lists.listing(
        backend,
        [row[1] for row in chosen],
        start + len(chosen) < end or (bool(params.get("ending_before")) and start > 0),
        f"/v1/invoices/{invoice}/lines",
        params.get("expand"),
    )


def retrieve_payment(backend: Backend, params: dict, invoice_payment: str) -> dict:
    return backend.get(invoice_payment, "invoice_payment")


def list_payments(backend: Backend, params: dict) -> bytes:
    conditions = []
    if params.get("invoice"):
        conditions.append(("json_extract(data, '$.invoice') = ?", params["invoice"]))
    intent = (params.get("payment") or {}).get("payment_intent")
    if intent:
        conditions.append(("json_extract(data, '$.payment.payment_intent') = ?", intent))
    return lists.page(
        backend,
        "invoice_payment",
        params,
        "/v1/invoice_payments",
        where={"status": params.get("status")},
        conditions=tuple(conditions),
    )
