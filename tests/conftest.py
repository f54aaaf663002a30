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
