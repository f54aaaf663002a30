"""Shared fixtures: a real sandbox on a real port, and the official client talking to it."""

from __future__ import annotations

import pytest
import stripe

from workbench import sandbox


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory):
    """One sandbox server for the session; tests isolate themselves by account name."""
    with sandbox.start(tmp_path_factory.mktemp("sandbox")) as server:
        yield server


@pytest.fixture
def account_key(sandbox_server, request):
    """A fresh, empty sandbox account for this test (its own SQLite file)."""
    name = "t" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:60]
    return f"{sandbox_server.api_key}_{name}"


@pytest.fixture
def client(sandbox_server, account_key) -> stripe.StripeClient:
    return stripe.StripeClient(
        account_key, base_addresses={"api": sandbox_server.url}, max_network_retries=0
    )


class RawApi:
    """Plain HTTP to the sandbox, for what the official client hides (raw JSON, headers)."""

    def __init__(self, url: str, key: str | None):
        import requests

        self.url = url
        self.key = key
        self.http = requests.Session()

    def __call__(
        self,
        method: str,
        path: str,
        data=None,
        *,
        key: str | None = "default",
        headers: dict | None = None,
        params=None,
    ):
        sent = dict(headers or {})
        chosen = self.key if key == "default" else key
        if chosen:
            sent.setdefault("Authorization", f"Bearer {chosen}")
        return self.http.request(
            method, self.url + path, data=data, params=params, headers=sent, timeout=30
        )


@pytest.fixture
def raw(sandbox_server, account_key) -> RawApi:
    return RawApi(sandbox_server.url, account_key)
