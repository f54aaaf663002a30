"""The account itself: `GET /v1/account`, its payout settings and its bank account.

Stripe lets an account change its own payout schedule and its Dashboard timezone
(`settings.dashboard.timezone`, an IANA name, Etc/UTC by default) only in the Dashboard, so
the sandbox does it under /_sandbox/account; the bank account number picks a payout outcome
the way Stripe's test bank accounts do (000111111113 fails with account_closed, ...). The
timezone is what the account's days and months are for people reading reports; the sandbox's
own timing (availability, payouts) stays in UTC.
"""

from __future__ import annotations

import functools
import zoneinfo

from workbench.sandbox.backend import API_VERSION, Backend, changes
from workbench.sandbox.exceptions import InvalidRequest

COUNTRIES = {
    "US": "usd",
    "GB": "gbp",
    "DE": "eur",
    "FR": "eur",
    "IE": "eur",
    "NL": "eur",
    "JP": "jpy",
}
# Stripe's test bank account numbers and the payout failure each one causes.
BANK_ACCOUNTS = {
    "000123456789": None,
    "000111111116": (
        "no_account",
        "The bank account details on file are probably incorrect. "
        "No bank account could be located with those details.",
    ),
    "000111111113": ("account_closed", "The bank account has been closed."),
    "000222222227": (
        "insufficient_funds",
        "Your Stripe account has insufficient funds to cover the payout.",
    ),
    "000333333335": (
        "debit_not_authorized",
        "Debit transactions are not approved on the bank "
        "account. (Stripe requires bank accounts to be set up for both credit and "
        "debit payouts.)",
    ),
    "000444444440": (
        "invalid_currency",
        "The bank was unable to process this payout because of "
        "its currency. This is probably because the bank account cannot accept "
        "payments in that currency.",
    ),
}
INTERVALS = ("manual", "daily", "weekly", "monthly")
DEFAULT_TIMEZONE = "Etc/UTC"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def _requirements() -> dict:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": [],
        "disabled_reason": None,
        "errors": [],
        "eventually_due": [],
        "past_due": [],
        "pending_verification": [],
    }


@functools.cache
def timezones() -> frozenset[str]:
    """IANA zone names, from zoneinfo (less `localtime`, a host's link rather than a zone)."""
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def check_timezone(name: str) -> str:
    if name not in timezones():
        raise InvalidRequest(
            f"Invalid timezone: {name[:60]!r} is not an IANA time zone name such as "
            "Pacific/Auckland.",
            param="timezone",
        )
    return name


def account_object(
    backend: Backend, name: str, country: str = "US", timezone: str = DEFAULT_TIMEZONE
) -> dict:
    created = backend.now
    title = "Workbench Sandbox" + ("" if name == "default" else f" ({name})")
    return {
        "id": f"acct_{backend.token(16)}",
        "object": "account",
        "business_profile": {
            "annual_revenue": None,
            "estimated_worker_count": None,
            "mcc": "5734",
            "minority_owned_business_designation": None,
            "monthly_estimated_revenue": None,
            "name": title,
            "product_description": None,
            "specified_commercial_transactions_act_url": None,
            "support_address": None,
            "support_email": None,
            "support_phone": None,
            "support_url": None,
            "url": "https://example.com",
        },
        "business_type": "company",
        "capabilities": None,
        "charges_enabled": True,
        "company": None,
        "controller": None,
        "country": country,
        "created": created,
        "default_currency": COUNTRIES[country],
        "deleted": None,
        "details_submitted": True,
        "email": f"{name}@example.com",
        "external_accounts": None,
        "future_requirements": _requirements(),
        "groups": None,
        "individual": None,
        "metadata": {},
        "payouts_enabled": True,
        "requirements": _requirements(),
        "settings": {
            "bacs_debit_payments": None,
            "branding": {
                "icon": None,
                "logo": None,
                "primary_color": None,
                "secondary_color": None,
            },
            "card_issuing": None,
            "card_payments": {
                "decline_on": {"avs_failure": False, "cvc_failure": False},
                "statement_descriptor_prefix": "WORKBENCH",
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "dashboard": {"display_name": title, "timezone": timezone},
            "invoices": None,
            "payments": {
                "statement_descriptor": "WORKBENCH SANDBOX",
                "statement_descriptor_kana": None,
                "statement_descriptor_kanji": None,
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "payouts": {
                "debit_negative_balances": True,
                "schedule": {
                    "delay_days": 2,
                    "interval": "daily",
                    "monthly_anchor": None,
                    "monthly_payout_days": None,
                    "weekly_anchor": None,
                    "weekly_payout_days": None,
                },
                "statement_descriptor": None,
            },
            "paypay_payments": None,
            "sepa_debit_payments": None,
            "treasury": None,
        },
        "tos_acceptance": {
            "date": created,
            "ip": "127.0.0.1",
            "service_agreement": "full",
            "user_agent": None,
        },
        "type": "standard",
        "api_version": API_VERSION,
    }


def initialize(
    backend: Backend, name: str, country: str = "US", timezone: str = DEFAULT_TIMEZONE
) -> None:
    """A new account: settings, a bank account that pays out, the payout clock started."""
    account = account_object(backend, name, country, check_timezone(timezone))
    backend.store.set_setting("account", account)
    backend.store.set_setting(
        "bank_account", {"id": backend.new_id("ba"), "account_number": "000123456789"}
    )


def retrieve(backend: Backend, params: dict) -> dict:
    """The account as the API shows it, in Stripe's order (it is kept as a setting, whose
    keys are stored sorted)."""
    account = {key: value for key, value in backend.account.items() if key != "api_version"}
    return {"id": account.pop("id"), "object": account.pop("object"), **account}


def configure(backend: Backend, params: dict) -> dict:
    """/_sandbox/account: country, timezone, payout schedule and delay, the bank account."""
    account = backend.account
    before = backend.snapshot(retrieve(backend, {}))
    if "country" in params:
        account["country"] = params["country"]
        account["default_currency"] = COUNTRIES[params["country"]]
    if "timezone" in params:
        account["settings"]["dashboard"]["timezone"] = check_timezone(params["timezone"] or "")
    schedule = account["settings"]["payouts"]["schedule"]
    for key in ("interval", "delay_days", "weekly_anchor", "monthly_anchor"):
        if params.get(key) is not None:
            schedule[key] = params[key]
    if schedule["interval"] == "weekly":
        schedule["weekly_anchor"] = schedule["weekly_anchor"] or "monday"
    if schedule["interval"] == "monthly":
        schedule["monthly_anchor"] = schedule["monthly_anchor"] or 1
    backend.store.set_setting("account", account)
    if "restricted_deny" in params:
        backend.store.set_setting("restricted_deny", params["restricted_deny"] or [])
    if params.get("bank_account_number"):
        bank = backend.store.setting("bank_account")
        bank["account_number"] = params["bank_account_number"]
        backend.store.set_setting("bank_account", bank)
    # The account is a setting, not a stored object, and its event shows it as
    # GET /v1/account does: so the diff is made here rather than by backend.change.
    after = retrieve(backend, {})
    previous = changes(before, after)
    if previous:
        backend.emit("account.updated", after, previous)
    return {"account": after, "bank_account": backend.store.setting("bank_account")}
