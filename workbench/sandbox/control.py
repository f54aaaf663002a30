"""/_sandbox: what Stripe does not have and tests need (clock, faults, account settings, a
difference planted in a report).

These handlers act on the server (faults) or on the account of the key used, and never
change how /v1 behaves beyond what time and settings mean in Stripe too.
"""

from __future__ import annotations

from dataclasses import asdict, fields

from workbench.sandbox import clock, webhooks
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest
from workbench.sandbox.faults import Faults
from workbench.sandbox.models import account, renewals, reporting

FAULT_FIELDS = tuple(spec.name for spec in fields(Faults))
DAY = 86400


def clock_state(api, backend: Backend, params: dict) -> dict:
    return clock.state(backend.store)


def _check_move(seconds: int, param: str) -> None:
    """Stripe's test clocks move forward only, at most two years at a time."""
    if seconds < 0:
        raise InvalidRequest("The sandbox clock only moves forward.", param=param)
    if seconds > clock.MAX_ADVANCE:
        raise InvalidRequest(
            f"The sandbox clock moves at most {clock.MAX_ADVANCE // DAY} days "
            f"({clock.MAX_ADVANCE} seconds) in one call, as Stripe's test clocks do; "
            "advance it in steps.",
            param=param,
        )


def advance_clock(api, backend: Backend, params: dict) -> dict:
    moves = {"seconds": params.get("seconds") or 0, "days": (params.get("days") or 0) * DAY}
    if params.get("to") is not None:
        moves["to"] = params["to"] - backend.store.now()
    seconds = sum(moves.values())
    _check_move(seconds, "to" if seconds < 0 else max(moves, key=moves.get))
    return clock.advance(backend.store, seconds)


def freeze_clock(api, backend: Backend, params: dict) -> dict:
    if params.get("real_time"):
        return clock.freeze(backend.store, None)
    at = params.get("at", backend.store.now())
    _check_move(at - backend.store.now(), "at")
    return clock.freeze(backend.store, at)


def faults(api, backend: Backend, params: dict) -> dict:
    return asdict(api.injector.faults)


def set_faults(api, backend: Backend, params: dict) -> dict:
    api.injector.configure(api.injector.faults.updated(params))
    return asdict(api.injector.faults)


def account_settings(api, backend: Backend, params: dict) -> dict:
    return {
        "account": account.retrieve(backend, {}),
        "bank_account": backend.store.setting("bank_account"),
        "subscription_after_retries": renewals.after_retries(backend),
    }


def configure_account(api, backend: Backend, params: dict) -> dict:
    after = params.pop("subscription_after_retries", None)
    if after:
        renewals.configure(backend, after)
    settings = account.configure(backend, params)
    return {**settings, "subscription_after_retries": renewals.after_retries(backend)}


def webhook_deliveries(api, backend: Backend, params: dict) -> dict:
    return {"deliveries": webhooks.delivery_log(backend.store)}


def plant_report_difference(api, backend: Backend, params: dict) -> dict:
    """The next payout_reconciliation.itemized.5 run's file differs from the ledger: one
    row's net off by one minor unit, or one row left out (see models/reporting.py)."""
    return reporting.plant(backend, params)


def reset(api, backend: Backend, params: dict) -> dict:
    """Empty the account: no objects, no events, a fresh clock; the account id stays."""
    store = backend.store
    for table in ("objects", "idempotency", "deliveries"):
        store.conn.execute(f"DELETE FROM {table}")
    saved = store.setting("account")
    store.conn.execute("DELETE FROM settings")
    account.initialize(Backend(store), "default")
    fresh = store.setting("account")
    fresh.update(
        id=saved["id"],
        business_profile=saved["business_profile"],
        email=saved["email"],
        settings={**fresh["settings"], "dashboard": saved["settings"]["dashboard"]},
    )
    store.set_setting("account", fresh)
    return {"reset": True}
