"""Going live: Stripe's account and integration checklists as checks against the account
and this workbench's configuration. Each check passes or fails and says what to do; the
notebook shows them as a table. Reads only (the API and local files); changes nothing.
"""

from __future__ import annotations

import stat
import time
from dataclasses import dataclass

import pandas as pd

RECENT = 3 * 86400  # how far before the newest event a failed delivery counts


@dataclass(frozen=True)
class Check:
    check: str
    passed: bool
    found: str
    to_do: str = ""


def key_checks(wb) -> list[Check]:
    """The key: live, and restricted (read-only) where writes are not needed."""
    key = wb.account_config.key
    live = Check(
        "live key configured",
        key.mode == "live",
        f"{wb.profile} profile, key {key!r}",
        ""
        if key.mode == "live"
        else "put the live key in STRIPE_API_KEY (or STRIPE_API_KEY__<NAME>) in .env",
    )
    restricted = Check(
        "restricted key for reading",
        key.restricted,
        "restricted (rk_) key" if key.restricted else "secret (sk_) key: it can do anything",
        ""
        if key.restricted
        else "for reports and reconciliation create a restricted key with read access "
        "(Dashboard > Developers > API keys) and keep the secret key for the writes only",
    )
    return [live, restricted]


def env_file_check(settings) -> Check:
    """Keys in .env must not be readable by other users of the machine."""
    path = settings.env_file
    if path is None or not path.exists():
        return Check(".env not readable by others", True, "no .env file: keys from the environment")
    mode = stat.S_IMODE(path.stat().st_mode)
    private = mode & 0o077 == 0
    return Check(
        ".env not readable by others",
        private,
        f"{path.name} has mode {mode:o}",
        "" if private else f"chmod 600 {path.name}",
    )


def account_checks(account: dict) -> list[Check]:
    """From GET /v1/account: statement descriptor, payouts and their schedule, bank."""
    settings = account.get("settings") or {}
    descriptor = (settings.get("payments") or {}).get("statement_descriptor") or ""
    schedule = (settings.get("payouts") or {}).get("schedule") or {}
    banks = ((account.get("external_accounts") or {}).get("data")) or []
    interval = schedule.get("interval")
    return [
        Check(
            "statement descriptor set",
            5 <= len(descriptor) <= 22,
            repr(descriptor) if descriptor else "none",
            ""
            if 5 <= len(descriptor) <= 22
            else "set a 5-22 character statement descriptor customers recognise "
            "(Dashboard > Settings > Public details)",
        ),
        Check(
            "charges and payouts enabled",
            bool(account.get("charges_enabled") and account.get("payouts_enabled")),
            f"charges {'on' if account.get('charges_enabled') else 'off'}, "
            f"payouts {'on' if account.get('payouts_enabled') else 'off'}",
            ""
            if account.get("charges_enabled") and account.get("payouts_enabled")
            else "finish the account's activation (Dashboard > Settings > Business)",
        ),
        Check(
            "payout schedule chosen",
            interval in ("daily", "weekly", "monthly"),
            f"{interval or 'none'}"
            + (f", {schedule.get('delay_days')} days' delay" if schedule.get("delay_days") else ""),
            ""
            if interval in ("daily", "weekly", "monthly")
            else "choose an automatic payout schedule so reconciliation by payout works",
        ),
        Check(
            "bank account for payouts",
            bool(banks) or account.get("payouts_enabled") is True,
            f"{len(banks)} external account(s) listed"
            if banks
            else "payouts enabled"
            if account.get("payouts_enabled")
            else "none",
            "" if banks or account.get("payouts_enabled") else "add the bank account for payouts",
        ),
    ]


def mode_check(wb, livemode: bool | None) -> Check:
    """Objects the account returns must be live ones when going live: a test object (or a
    test key) in a live set-up means something still points at test mode."""
    return Check(
        "no test-mode objects",
        livemode is True,
        "no events yet"
        if livemode is None
        else "live objects"
        if livemode
        else "the account answers with test-mode objects",
        "" if livemode else "switch this account's key to live mode and re-sync",
    )


def webhook_checks(endpoints: pd.DataFrame, failing: int) -> list[Check]:
    """Endpoints over HTTPS and enabled; no recent event whose delivery failed."""
    plain = endpoints[~endpoints["https"]] if len(endpoints) else endpoints
    return [
        Check(
            "webhook endpoints over HTTPS",
            len(endpoints) > 0 and plain.empty,
            f"{len(endpoints)} endpoint(s), {len(plain)} not HTTPS",
            ""
            if len(endpoints) and plain.empty
            else "register an https:// endpoint for the events you act on "
            "(payment_intent.succeeded, charge.dispute.created, payout.failed)",
        ),
        Check(
            "recent webhook deliveries succeeded",
            failing == 0,
            f"{failing} event(s) of the last 3 days still waiting for delivery",
            "" if failing == 0 else "fix the endpoint (it must answer 2xx within seconds)",
        ),
    ]


def idempotency_check(wb) -> Check:
    """Writes must not repeat on a retry: the client retries, with a key on every POST."""
    retries = wb.client._requestor._options.max_network_retries or 0
    return Check(
        "idempotency keys on writes",
        retries > 0,
        f"the stripe client retries {retries} times with an Idempotency-Key on every POST; "
        "workbench.actions sends its own key and names it",
        "" if retries > 0 else "build the client with workbench.client.make_client",
    )


def live_writes_check(settings) -> Check:
    return Check(
        "live writes off by default",
        not settings.allow_live_writes,
        "WORKBENCH_ALLOW_LIVE_WRITES is "
        + ("set: every notebook can write" if settings.allow_live_writes else "not set"),
        "set WORKBENCH_ALLOW_LIVE_WRITES=1 only for the run that must write"
        if settings.allow_live_writes
        else "",
    )


def checks(wb) -> pd.DataFrame:
    """Every check for this account and configuration, as a table (passed first: no)."""
    from workbench import webhooks

    account = wb.client.v1.accounts.retrieve_current().to_dict()
    newest = wb.client.v1.events.list(params={"limit": 1}).data
    since = (newest[0].created if newest else int(time.time())) - RECENT
    undelivered = wb.client.v1.events.list(
        params={"delivery_success": False, "created": {"gte": since}, "limit": 100}
    ).auto_paging_iter()
    failing = [e for e in undelivered if e.pending_webhooks]
    found = [
        *key_checks(wb),
        mode_check(wb, newest[0].livemode if newest else None),
        *account_checks(account),
        *webhook_checks(webhooks.endpoints(wb), len(failing)),
        env_file_check(wb.settings),
        idempotency_check(wb),
        live_writes_check(wb.settings),
    ]
    return pd.DataFrame([vars(c) for c in found], columns=["check", "passed", "found", "to_do"])
