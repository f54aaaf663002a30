"""Webhook endpoints: where events are delivered; the signing secret is shown once."""

from __future__ import annotations

import re

from workbench.sandbox import lists, metadata
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest

EVENT_PATTERN = re.compile(r"^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$")


def _check(params: dict) -> None:
    url = params.get("url")
    if url is not None and not re.match(r"^https?://[^\s/]+(/\S*)?$", url):
        raise InvalidRequest(f"Invalid URL: {url[:100]}", code="url_invalid", param="url")
    for index, name in enumerate(params.get("enabled_events") or ()):
        if not EVENT_PATTERN.match(name):
            raise InvalidRequest(
                f"Invalid enabled_events[{index}]: {name[:60]!r} is not an event type",
                param=f"enabled_events[{index}]",
            )


def create(backend: Backend, params: dict) -> dict:
    _check(params)
    secret = "whsec_" + backend.token(32)
    endpoint = {
        "id": backend.new_id("we"),
        "object": "webhook_endpoint",
        "api_version": params.get("api_version"),
        "application": None,
        "created": backend.now,
        "deleted": None,
        "description": params.get("description"),
        "enabled_events": params["enabled_events"],
        "livemode": False,
        "metadata": metadata.merge({}, params.get("metadata")),
        "secret": None,
        "status": "enabled",
        "url": params["url"],
    }
    backend.store.insert(endpoint, private={"secret": secret})
    return {**endpoint, "secret": secret}


def retrieve(backend: Backend, params: dict, endpoint: str) -> dict:
    return backend.get(endpoint, "webhook_endpoint")


def update(backend: Backend, params: dict, endpoint: str) -> dict:
    _check(params)
    obj = backend.get(endpoint, "webhook_endpoint")
    with backend.change(obj):  # Stripe has no event for a webhook endpoint's changes
        for key in ("url", "enabled_events", "description"):
            if key in params and params[key] is not None:
                obj[key] = params[key]
        if "disabled" in params:
            obj["status"] = "disabled" if params["disabled"] else "enabled"
        if "metadata" in params:
            obj["metadata"] = metadata.merge(obj["metadata"], params["metadata"])
    return obj


def delete(backend: Backend, params: dict, endpoint: str) -> dict:
    backend.get(endpoint, "webhook_endpoint")
    backend.store.conn.execute(
        "DELETE FROM deliveries WHERE endpoint = ? AND status = 'pending'", (endpoint,)
    )
    backend.store.delete(endpoint)
    return {"id": endpoint, "object": "webhook_endpoint", "deleted": True}


def list_(backend: Backend, params: dict) -> str:
    return lists.page(backend, "webhook_endpoint", params, "/v1/webhook_endpoints")
