"""Events: what changed and when; kept 30 days, as Stripe keeps them."""

from __future__ import annotations

from workbench.sandbox import lists
from workbench.sandbox.backend import Backend


def retrieve(backend: Backend, params: dict, event: str) -> dict:
    return backend.get(event, "event")


def list_(backend: Backend, params: dict) -> str:
    conditions = []
    if params.get("type"):
        pattern = params["type"]
        if "*" in pattern:
            conditions.append(("type LIKE ?", pattern.replace("%", r"\%").replace("*", "%")))
        else:
            conditions.append(("type = ?", pattern))
    if params.get("types"):
        marks = ", ".join("?" for _ in params["types"])
        conditions.append((f"type IN ({marks})", *params["types"]))
    return lists.page(backend, "event", params, "/v1/events", conditions=tuple(conditions))
