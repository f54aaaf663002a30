"""Payouts: the automatic sweep of the available balance to the bank, manual payouts, and
their journey pending -> in_transit -> paid (or failed, with the funds coming back).

Automatic payouts run at 00:00 UTC on the schedule's days (daily: Monday to Friday), after
that midnight's funds have become available. Each sweeps every available balance
transaction not yet paid out, per currency, and marks it with the payout, so
`GET /v1/balance_transactions?payout=po_...` lists exactly its items (and the payout's own
transaction). A payout goes in_transit an hour after creation and arrives the next business
day at 00:00 UTC, unless the account's test bank account makes it fail then.
"""

from __future__ import annotations

import calendar
import time

from workbench.sandbox import ledger, lists, metadata
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest
from workbench.sandbox.models import account as account_model

DAY = 86400
IN_TRANSIT_AFTER = 3600


def _weekday(moment: int) -> int:
    return time.gmtime(moment).tm_wday


def next_run(schedule: dict, after: int) -> int | None:
    """The first automatic payout time strictly after `after`, or None for manual payouts."""
    interval = schedule["interval"]
    if interval == "manual":
        return None
    day = after - after % DAY + DAY
    for _ in range(400):
        moment = time.gmtime(day)
        if interval == "daily" and moment.tm_wday < 5:
            return day
        if (
            interval == "weekly"
            and calendar.day_name[moment.tm_wday].lower() == schedule["weekly_anchor"]
        ):
            return day
        if interval == "monthly":
            last = calendar.monthrange(moment.tm_year, moment.tm_mon)[1]
            if moment.tm_mday == min(schedule["monthly_anchor"], last):
                return day
        day += DAY
    return None


def arrival_date(created: int) -> int:
    """00:00 UTC of the next business day."""
    day = created - created % DAY + DAY
    while _weekday(day) >= 5:
        day += DAY
    return day


def _payout_object(
    backend: Backend, amount: int, currency: str, *, automatic: bool, params: dict
) -> dict:
    bank = backend.store.setting("bank_account")
    return {
        "id": backend.new_id("po"),
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": arrival_date(backend.now),
        "automatic": automatic,
        "balance_transaction": None,
        "created": backend.now,
        "currency": currency,
        "description": params.get("description", "STRIPE PAYOUT"),
        "destination": bank["id"],
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": metadata.merge({}, params.get("metadata")),
        "method": params.get("method") or "standard",
        "original_payout": None,
        "payout_method": None,
        "reconciliation_status": "completed" if automatic else "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": params.get("statement_descriptor"),
        "status": "pending",
        "trace_id": {"status": "pending", "value": None},
        "type": "bank_account",
    }


def _start(backend: Backend, payout: dict) -> dict:
    """Write the payout and its (negative) balance transaction."""
    transaction = ledger.record(
        backend,
        amount=-payout["amount"],
        currency=payout["currency"],
        type="payout",
        reporting_category="payout",
        source=payout["id"],
        description=payout["description"],
        payout=payout["id"],
    )
    payout["balance_transaction"] = transaction["id"]
    bank = backend.store.setting("bank_account")
    failure = account_model.BANK_ACCOUNTS.get(bank["account_number"])
    backend.store.insert(
        payout,
        due=backend.now + IN_TRANSIT_AFTER,
        private={"failure": failure} if failure else None,
    )
    backend.emit("payout.created", payout)
    return payout


def run_automatic(backend: Backend) -> list[dict]:
    """Sweep the available, not yet paid-out balance of each currency into a payout."""
    conn = backend.store.conn
    totals = conn.execute(
        "SELECT currency, SUM(net) FROM objects INDEXED BY objects_unpaid "
        "WHERE object = 'balance_transaction' AND payout IS NULL AND status = 'available' "
        "AND created <= ? GROUP BY currency ORDER BY currency",
        (backend.now,),
    ).fetchall()
    made = []
    for currency, total in totals:
        if total <= 0:
            continue
        payout = _payout_object(backend, total, currency, automatic=True, params={})
        conn.execute(
            "UPDATE objects INDEXED BY objects_unpaid SET payout = ? "
            "WHERE object = 'balance_transaction' AND payout IS NULL AND status = 'available' "
            "AND currency = ? AND created <= ?",
            (payout["id"], currency, backend.now),
        )
        made.append(_start(backend, payout))
    return made


def advance(backend: Backend, payout_id: str) -> None:
    """The payout's next step: in_transit, then paid or failed at its arrival date."""
    payout = backend.get(payout_id, "payout")
    if payout["status"] == "pending":
        with backend.change(payout, "payout.updated", due=payout["arrival_date"]):
            payout["status"] = "in_transit"
        return
    if payout["status"] != "in_transit":
        backend.store.update(payout, due=None)
        return
    failure = backend.store.private(payout_id).get("failure")
    with backend.change(payout, "payout.updated", due=None):
        if failure:
            payout.update(
                status="failed",
                failure_code=failure[0],
                failure_message=failure[1],
                failure_balance_transaction=_return_funds(
                    backend, payout, "payout_failure", f"Payout failure ({failure[0]})"
                ),
                trace_id={"status": "unsupported", "value": None},
            )
        else:
            payout.update(
                status="paid",
                trace_id={"status": "supported", "value": f"TRACE{payout['id'][3:15].upper()}"},
            )
    backend.emit(f"payout.{payout['status']}", payout)


def create(backend: Backend, params: dict) -> dict:
    currency = params["currency"]
    schedule = backend.account["settings"]["payouts"]["schedule"]
    if schedule["interval"] != "manual":
        raise InvalidRequest(
            "You cannot create manual payouts while automatic payouts are "
            "enabled. Set the payout schedule to manual (in the sandbox: "
            "POST /_sandbox/account interval=manual)."
        )
    if currency != backend.account["default_currency"]:
        raise InvalidRequest(
            f"Sorry, you don't have any external accounts in that currency ({currency}).",
            param="currency",
        )
    available = ledger.balance(backend)["available"]
    funds = next((entry["amount"] for entry in available if entry["currency"] == currency), 0)
    if params["amount"] > funds:
        raise InvalidRequest(
            "You have insufficient funds in your Stripe account for this transfer. Your card "
            "balance is too low.  You can use the /v1/balance endpoint to view your Stripe "
            "balance (for more details, see stripe.com/docs/api#balance).",
            code="balance_insufficient",
            param="amount",
        )
    return _start(
        backend, _payout_object(backend, params["amount"], currency, automatic=False, params=params)
    )


def retrieve(backend: Backend, params: dict, payout: str) -> dict:
    return backend.get(payout, "payout", param="payout")


def update(backend: Backend, params: dict, payout: str) -> dict:
    obj = backend.get(payout, "payout", param="payout")
    with backend.change(obj, "payout.updated"):
        if "metadata" in params:
            obj["metadata"] = metadata.merge(obj["metadata"], params["metadata"])
    return obj


def cancel(backend: Backend, params: dict, payout: str) -> dict:
    obj = backend.get(payout, "payout", param="payout")
    if obj["status"] != "pending" or obj["automatic"]:
        raise InvalidRequest(
            f"Payout {obj['id']} cannot be canceled: only a pending manual payout can be."
        )
    with backend.change(obj, "payout.canceled", due=None):
        obj.update(
            status="canceled",
            failure_balance_transaction=_return_funds(
                backend, obj, "payout_cancel", f"Payout cancellation ({obj['id']})"
            ),
        )
    return obj


def _return_funds(backend: Backend, payout: dict, kind: str, description: str) -> str:
    """The balance transaction (its id) that puts a failed or canceled payout back."""
    return ledger.record(
        backend,
        amount=payout["amount"],
        currency=payout["currency"],
        type=kind,
        reporting_category="payout_reversal",
        source=payout["id"],
        description=description,
    )["id"]


def list_(backend: Backend, params: dict) -> str:
    conditions = []
    for op, bound in (params.get("arrival_date") or {}).items():
        sign = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        conditions.append((f"json_extract(data, '$.arrival_date') {sign} ?", bound))
    if params.get("destination"):
        conditions.append(("json_extract(data, '$.destination') = ?", params["destination"]))
    return lists.page(
        backend,
        "payout",
        params,
        "/v1/payouts",
        where={"status": params.get("status")},
        conditions=tuple(conditions),
    )
