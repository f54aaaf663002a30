"""Disputes, as Stripe's dispute test cards raise them and its test evidence settles them.

A chargeback withdraws the amount plus the dispute fee at once; `winning_evidence` in
`evidence[uncategorized_text]` wins it (the amount comes back, the fee does not: Stripe's
current rule), `losing_evidence` loses it; no answer by `due_by` (the end, 23:59:59 UTC, of
the eighth day after the dispute's) loses it too. An inquiry (4000000000001976) moves no
money unless escalated.
"""

from __future__ import annotations

from workbench.sandbox import ledger, lists, metadata
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest

EVIDENCE_FIELDS = (
    "access_activity_log billing_address cancellation_policy cancellation_policy_disclosure "
    "cancellation_rebuttal customer_communication customer_email_address customer_name "
    "customer_purchase_ip customer_signature duplicate_charge_documentation "
    "duplicate_charge_explanation duplicate_charge_id product_description receipt "
    "refund_policy refund_policy_disclosure refund_refusal_explanation service_date "
    "service_documentation shipping_address shipping_carrier shipping_date "
    "shipping_documentation shipping_tracking_number uncategorized_file uncategorized_text"
).split()
# The evidence object's keys in the order answers list them (see state.stored).
EVIDENCE_KEYS = dict.fromkeys(sorted([*EVIDENCE_FIELDS, "appeal", "enhanced_evidence"]))
NETWORK_REASON = {"fraudulent": "10.4", "product_not_received": "13.1"}
CLOSED = ("won", "lost", "warning_closed")
DAY = 86400
RESPONSE_DAYS = 8


def open_dispute(backend: Backend, charge: dict, kind: str) -> dict:
    """The dispute a test card raises right after its charge is captured."""
    reason, _, case = kind.partition(":")
    inquiry = case == "inquiry"
    created = backend.now
    card = charge["payment_method_details"]["card"]
    dispute = {
        "id": backend.new_id("dp"),
        "object": "dispute",
        "amount": charge["amount_captured"],
        "balance_transactions": [],
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {
            **EVIDENCE_KEYS,
            "enhanced_evidence": {
                "mastercard_compliance": None,
                "visa_compelling_evidence_3": None,
                "visa_compliance": None,
            },
        },
        "evidence_details": {
            "due_by": created - created % DAY + (RESPONSE_DAYS + 1) * DAY - 1,
            "enhanced_eligibility": {
                "mastercard_compliance": None,
                "visa_compelling_evidence_3": None,
                "visa_compliance": None,
            },
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "intended_submission_method": None,
        "is_charge_refundable": inquiry,
        "livemode": False,
        "metadata": {},
        "network_reason_code": "10" if inquiry else NETWORK_REASON.get(reason, "10.4"),
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": card["brand"],
                "case_type": "inquiry" if inquiry else "chargeback",
                "network": card["network"],
                "network_reason_code": "10" if inquiry else NETWORK_REASON.get(reason),
            },
            "type": "card",
        },
        "reason": reason,
        "status": "warning_needs_response" if inquiry else "needs_response",
    }
    with backend.change(charge, "charge.updated"):
        charge["disputed"] = True
        backend.store.insert(dispute, due=dispute["evidence_details"]["due_by"])
        backend.emit("charge.dispute.created", dispute)
    if not inquiry:
        _withdraw(backend, dispute, charge)
    return dispute


def _withdraw(backend: Backend, dispute: dict, charge: dict) -> None:
    currency, _, _ = ledger.settlement(backend)
    transaction = ledger.record(
        backend,
        amount=-ledger.convert(dispute["amount"], dispute["currency"], currency),
        currency=currency,
        type="adjustment",
        reporting_category="dispute",
        source=dispute["id"],
        description=f"Chargeback withdrawal for {charge['id']}",
        fee_details=[
            ledger.fee_detail(ledger.pricing(currency).dispute_fee, currency, "Dispute fee")
        ],
        exchange_rate=ledger.exchange_rate(dispute["currency"], currency),
    )
    dispute["balance_transactions"].append(transaction)
    backend.store.update(dispute)
    backend.emit("charge.dispute.funds_withdrawn", dispute)


def _close(backend: Backend, dispute: dict, outcome: str, *, past_due: bool = False) -> None:
    """A chargeback closes `won` or `lost` (a won one returns the amount); an inquiry simply
    closes."""
    status = "warning_closed" if dispute["status"].startswith("warning") else outcome
    with backend.change(dispute, "charge.dispute.closed", due=None):
        if past_due:
            dispute["evidence_details"]["past_due"] = True
        dispute["status"] = status
        dispute["is_charge_refundable"] = status in ("won", "warning_closed")
        if status == "won":
            currency, _, _ = ledger.settlement(backend)
            withdrawn = dispute["balance_transactions"][0]
            transaction = ledger.record(
                backend,
                amount=-withdrawn["amount"],
                currency=currency,
                type="adjustment",
                reporting_category="dispute_reversal",
                source=dispute["id"],
                description=f"Chargeback reversal for {dispute['charge']}",
                exchange_rate=ledger.exchange_rate(dispute["currency"], currency),
            )
            dispute["balance_transactions"].append(transaction)
            backend.emit("charge.dispute.funds_reinstated", dispute)


def retrieve(backend: Backend, params: dict, dispute: str) -> dict:
    return backend.get(dispute, "dispute")


def update(backend: Backend, params: dict, dispute: str) -> dict:
    obj = backend.get(dispute, "dispute")
    if obj["status"] in CLOSED:
        raise InvalidRequest("This dispute is already closed")
    evidence = params.get("evidence") or {}
    with backend.change(obj, "charge.dispute.updated"):
        obj["evidence"].update(evidence)
        if "metadata" in params:
            obj["metadata"] = metadata.merge(obj["metadata"], params["metadata"])
        details = obj["evidence_details"]
        details["has_evidence"] = details["has_evidence"] or any(v for v in evidence.values())
        if params.get("submit", True):
            details["submission_count"] += 1
            details["submission_method"] = "manual"
            obj["status"] = (
                "warning_under_review" if obj["status"].startswith("warning") else "under_review"
            )
    if params.get("submit", True):
        _decide(backend, obj, obj["evidence"].get("uncategorized_text") or "")
    return obj


def _decide(backend: Backend, dispute: dict, text: str) -> None:
    """Stripe's test evidence values settle a submitted dispute at once."""
    if "escalate_inquiry_evidence" in text and dispute["status"].startswith("warning"):
        with backend.change(dispute, "charge.dispute.updated"):
            dispute["status"] = "needs_response"
            dispute["is_charge_refundable"] = False
            dispute["payment_method_details"]["card"]["case_type"] = "chargeback"
        _withdraw(backend, dispute, backend.get(dispute["charge"], "charge"))
    elif "winning_evidence" in text:
        _close(backend, dispute, "won")
    elif "losing_evidence" in text:
        _close(backend, dispute, "lost")


def close(backend: Backend, params: dict, dispute: str) -> dict:
    obj = backend.get(dispute, "dispute")
    if obj["status"] in CLOSED:
        raise InvalidRequest("This dispute is already closed")
    _close(backend, obj, "lost")
    return obj


def expire(backend: Backend, dispute_id: str) -> None:
    """No evidence by `due_by`: the dispute is lost (an inquiry simply closes)."""
    obj = backend.get(dispute_id, "dispute")
    if obj["status"] not in ("needs_response", "warning_needs_response"):
        backend.store.update(obj, due=None)
        return
    _close(backend, obj, "lost", past_due=True)


def list_(backend: Backend, params: dict) -> str:
    return lists.page(
        backend,
        "dispute",
        params,
        "/v1/disputes",
        where={"charge": params.get("charge"), "payment_intent": params.get("payment_intent")},
    )
