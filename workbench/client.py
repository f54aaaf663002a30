"""The one way to build a `stripe.StripeClient`: api base, retries, timeout, live-write guard.

The guard sits in the HTTP client, below every service method, so no code path (a notebook
cell, an action, a library call we did not anticipate) can write to a live account unless
WORKBENCH_ALLOW_LIVE_WRITES=1. Every Stripe write is a POST or a DELETE; the one POST let
through is a report run, which moves no money and which Stripe grants to read-only keys
(report_runs_and_report_types_read "allows creation of Report Runs").
"""

from __future__ import annotations

import stripe

from workbench.config import Account
from workbench.exceptions import LiveWriteRefused

MAX_NETWORK_RETRIES = 3
READS_BY_POST = ("v1/reporting/report_runs",)
TIMEOUT_SECONDS = 30.0


class GuardedHTTPClient(stripe.RequestsClient):
    """`requests` transport that refuses writes when the account is live and writes are off."""

    def __init__(self, *, refuse_writes: bool, timeout: float = TIMEOUT_SECONDS):
        super().__init__(timeout=timeout)
        self.refuse_writes = refuse_writes

    def _check(self, method: str, url: str) -> None:
        if self.refuse_writes and method.lower() in ("post", "delete"):
            path = url.split("://", 1)[-1].partition("/")[2].split("?")[0]
            if method.lower() == "post" and path in READS_BY_POST:
                return
            raise LiveWriteRefused(
                f"refused {method.upper()} /{path} with a live key: set "
                "WORKBENCH_ALLOW_LIVE_WRITES=1 to allow writes to the live account"
            )

    def request_with_retries(
        self, method, url, headers, post_data=None, max_network_retries=None, *, _usage=None
    ):
        self._check(method, url)
        return super().request_with_retries(
            method, url, headers, post_data, max_network_retries, _usage=_usage
        )

    def request_stream_with_retries(
        self, method, url, headers, post_data=None, max_network_retries=None, *, _usage=None
    ):
        self._check(method, url)
        return super().request_stream_with_retries(
            method, url, headers, post_data, max_network_retries, _usage=_usage
        )


def make_client(
    account: Account,
    *,
    api_base: str | None = None,
    allow_live_writes: bool = False,
    max_network_retries: int = MAX_NETWORK_RETRIES,
) -> stripe.StripeClient:
    """A StripeClient for `account`, talking to `api_base` (Stripe's own when None)."""
    base = api_base or account.api_base
    return stripe.StripeClient(
        account.key.reveal(),
        base_addresses={"api": base.rstrip("/")} if base else None,
        max_network_retries=max_network_retries,
        http_client=GuardedHTTPClient(
            refuse_writes=account.profile == "live" and not allow_live_writes
        ),
    )
