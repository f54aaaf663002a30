"""Sync's rate limits: one bucket for the account, one per endpoint with Stripe."""

from __future__ import annotations

import time

from workbench.sync import RateLimiter, Sync


def test_the_bucket_holds_the_rate():
    limiter = RateLimiter(20)
    started = time.monotonic()
    for _ in range(11):
        limiter.acquire()
    assert time.monotonic() - started >= 0.45  # 10 waits of 1/20 s; a slow machine only adds


def test_an_endpoint_is_its_path_without_ids():
    runner = Sync(None, None, "acct_1:live", rate=100, endpoint_rate=25)
    customers = runner._endpoint_limiter("/v1/customers")
    assert runner._endpoint_limiter("/v1/customers/cus_9/sources") is customers
    assert runner._endpoint_limiter("/v1/charges") is not customers
    assert customers.rate == 25


def test_the_sandbox_has_no_endpoint_limit():
    assert Sync(None, None, "acct_1:test", rate=100)._endpoint_limiter("/v1/charges") is None
