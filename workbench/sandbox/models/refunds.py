"""Refunds: full or partial, never more than what remains, each with its balance transaction;
and the Refunds that release what is authorized but not captured: a whole authorization
(refunded before capture, expired, or its PaymentIntent canceled), which moves no money, and
the part a partial capture leaves (with its partial_capture_reversal balance transaction).
"""

from __future__ import annotations

from workbench.sandbox import ledger, lists, metadata
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest, ResourceMissing

SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}


def refund_object(
    backend: Backend,
    charge: dict,
    amount: int,
    reason: str | None,
    given_metadata: dict | None,
    *,
    reversal: bool = False,
) -> dict:
    """A Refund; `reversal` when it gives back an authorization rather than captured money."""
    return {
        "id": backend.new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": charge["id"],
        "created": backend.now,
        "currency": charge["currency"],
        "customer": charge["customer"],
        "customer_account": None,
        "description": None,
        "destination_details": {
            "card": {
                "reference": None,
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "reversal" if reversal else "refund",
            },
            "type": "card",
        },
        "failure_balance_transaction": None,
        "failure_reason": None,
        "instructions_email": None,
        "metadata": metadata.merge({}, given_metadata),
        "next_action": None,
        "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"],
        "pending_reason": None,
        "presentment_details": None,
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def _money(amount: int, currency: str) -> str:
    """As Stripe words amounts in refund errors: `$40.00`, `€1.50`."""
    symbol = SYMBOLS.get(currency)
    text = ledger.display(amount, currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def _refundable_charge(backend: Backend, params: dict) -> dict:
    if params.get("charge"):
        return backend.get(params["charge"], "charge", param="charge")
    if params.get("payment_intent"):
        intent = backend.get(params["payment_intent"], "payment_intent", param="payment_intent")
        if not intent["latest_charge"] or intent["status"] not in ("succeeded", "requires_capture"):
            raise InvalidRequest(
                f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund."
            )
        return backend.get(intent["latest_charge"], "charge")
    raise InvalidRequest(
        "One of the following params should be provided for this request: payment_intent or charge."
    )


def create(backend: Backend, params: dict) -> dict:
    charge = _refundable_charge(backend, params)
    if charge["status"] != "succeeded":
        raise InvalidRequest(
            f"Charge {charge['id']} has failed and cannot be refunded.", param="charge"
        )
    if charge["refunded"]:
        raise InvalidRequest(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    dispute = charge["disputed"] and disputes_lost_funds(backend, charge["id"])
    if dispute:
        raise InvalidRequest(
            f"Charge {charge['id']} has been charged back; cannot issue a refund.",
            code="charge_disputed",
        )
    if not charge["captured"]:
        if params.get("amount") not in (None, charge["amount"]):
            raise InvalidRequest(
                "You cannot partially refund an uncaptured charge. Instead, "
                "capture the charge for an amount less than the original "
                "amount",
                param="amount",
            )
        return release(backend, charge, params.get("reason"), params.get("metadata"))
    released = charge["amount"] - charge["amount_captured"]  # by a partial capture
    remaining = charge["amount_captured"] - (charge["amount_refunded"] - released)
    amount = params.get("amount", remaining)
    if amount > remaining:
        raise InvalidRequest(
            f"Refund amount ({_money(amount, charge['currency'])}) is greater "
            "than unrefunded amount on charge "
            f"({_money(remaining, charge['currency'])})",
            param="amount",
        )
    with backend.change(charge, "charge.refunded"):
        refund = refund_object(
            backend, charge, amount, params.get("reason"), params.get("metadata")
        )
        refund["balance_transaction"] = ledger.refund_transaction(backend, refund, charge)["id"]
        backend.store.insert(refund)
        backend.emit("refund.created", refund)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    return refund


def release(
    backend: Backend, charge: dict, reason: str | None, given_metadata: dict | None = None
) -> dict:
    """Let an uncaptured authorization go: a Refund of all of it, and no money moves."""
    expired = reason == "expired_uncaptured_charge"
    events = ("charge.expired", "charge.refunded") if expired else ("charge.refunded",)
    with backend.change(charge, *events, due=None):
        refund = refund_object(
            backend, charge, charge["amount"], reason, given_metadata, reversal=True
        )
        backend.store.insert(refund)
        backend.emit("refund.created", refund)
        charge.update(refunded=True, amount_refunded=charge["amount"])
    return refund


def release_uncaptured(backend: Backend, charge: dict, charge_entry: dict) -> dict:
    """What a partial capture leaves uncaptured goes back as a Refund (no reason: Stripe's
    own), with its partial_capture_reversal; called while the capture changes the charge."""
    released = charge["amount"] - charge["amount_captured"]
    refund = refund_object(backend, charge, released, None, None, reversal=True)
    entry = ledger.partial_capture_reversal(backend, refund, charge, charge_entry)
    refund["balance_transaction"] = entry["id"]
    backend.store.insert(refund)
    backend.emit("refund.created", refund)
    charge["amount_refunded"] = released
    return refund


def disputes_lost_funds(backend: Backend, charge_id: str) -> bool:
    """Whether a dispute took this charge's money (a chargeback, not an inquiry)."""
    row = backend.store.conn.execute(
        "SELECT 1 FROM objects WHERE object = 'dispute' AND charge = ? "
        "AND status IN ('needs_response', 'under_review', 'lost')",
        (charge_id,),
    ).fetchone()
    return row is not None


def retrieve(backend: Backend, params: dict, refund: str) -> dict:
    return backend.get(refund, "refund")


def update(backend: Backend, params: dict, refund: str) -> dict:
    obj = backend.get(refund, "refund")
    with backend.change(obj, "refund.updated"):
        if "metadata" in params:
            obj["metadata"] = metadata.merge(obj["metadata"], params["metadata"])
    return obj


def list_(backend: Backend, params: dict) -> str:
    return lists.page(
        backend,
        "refund",
        params,
        "/v1/refunds",
        where={"charge": params.get("charge"), "payment_intent": params.get("payment_intent")},
    )


def list_for_charge(backend: Backend, params: dict, charge: str) -> str:
    backend.get(charge, "charge")
    return lists.page(
        backend, "refund", params, f"/v1/charges/{charge}/refunds", where={"charge": charge}
    )


def retrieve_for_charge(backend: Backend, params: dict, charge: str, refund: str) -> dict:
    obj = backend.get(refund, "refund")
    if obj["charge"] != charge:
        raise ResourceMissing("refund", refund)
    return obj
