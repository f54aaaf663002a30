"""The balance and its history: balance transactions, filtered as Stripe filters them."""

from __future__ import annotations

from workbench.sandbox import ledger, lists
from workbench.sandbox.backend import Backend


def retrieve(backend: Backend, params: dict) -> dict:
    return ledger.balance(backend)


def list_transactions(backend: Backend, params: dict) -> str:
    return lists.page(
        backend,
        "balance_transaction",
        params,
        "/v1/balance_transactions",
        where={
            "payout": params.get("payout"),
            "type": params.get("type"),
            "source": params.get("source"),
            "currency": params.get("currency"),
        },
    )


def retrieve_transaction(backend: Backend, params: dict, transaction: str) -> dict:
    return backend.get(transaction, "balance_transaction")
