"""Customers and their saved cards (sources): the default card moves when one is removed."""

from __future__ import annotations

from workbench.sandbox import lists, metadata, search
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest, ResourceMissing
from workbench.sandbox.models import payment_methods, tokens

EDITABLE = ("email", "name", "description", "phone", "preferred_locales")


def _address(values: dict | None) -> dict | None:
    if values is None:
        return None
    return {
        key: values.get(key)
        for key in ("city", "country", "line1", "line2", "postal_code", "state")
    }


def create(backend: Backend, params: dict) -> dict:
    clock = None
    if params.get("test_clock"):  # the customer lives in the clock's time
        clock = backend.get(params["test_clock"], "test_helpers.test_clock", param="test_clock")
    customer = {
        "id": backend.new_id("cus", 14),
        "object": "customer",
        "address": _address(params.get("address")),
        "balance": params.get("balance") or 0,
        "business_name": None,
        "created": clock["frozen_time"] if clock else backend.now,
        "currency": None,
        "customer_account": None,
        "default_source": None,
        "deleted": None,
        "delinquent": False,
        "description": params.get("description"),
        "discount": None,
        "email": params.get("email"),
        "individual_name": None,
        "invoice_prefix": backend.token(8).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": metadata.merge({}, params.get("metadata")),
        "name": params.get("name"),
        "next_invoice_sequence": 1,
        "phone": params.get("phone"),
        "preferred_locales": params.get("preferred_locales") or [],
        "shipping": shipping_object(params.get("shipping")),
        "tax_exempt": "none",
        "test_clock": clock["id"] if clock else None,
    }
    backend.store.insert(customer)
    source = None
    if params.get("source"):
        source = _add_card(backend, customer, params["source"], param="source")
        customer["default_source"] = source["id"]
        backend.store.update(customer)
    backend.emit("customer.created", customer)
    if source:
        backend.emit("customer.source.created", source)
    if params.get("payment_method"):
        payment_methods.attach(backend, {"customer": customer["id"]}, params["payment_method"])
    return customer


def shipping_object(values: dict | None) -> dict | None:
    if not values:
        return None
    return {
        "address": _address(values.get("address")),
        "carrier": None,
        "name": values.get("name"),
        "phone": values.get("phone"),
        "tracking_number": None,
    }


def retrieve(backend: Backend, params: dict, customer: str) -> dict:
    obj = backend.store.get(customer)
    if obj is None or obj["object"] != "customer":
        raise ResourceMissing("customer", customer)
    return obj


def update(backend: Backend, params: dict, customer: str) -> dict:
    obj = backend.get(customer, "customer")
    with backend.change(obj, "customer.updated"):
        for key in EDITABLE:
            if key in params:
                obj[key] = params[key] if key != "preferred_locales" else params[key] or []
        if "address" in params:
            obj["address"] = _address(params["address"])
        if "shipping" in params:
            obj["shipping"] = shipping_object(params["shipping"])
        if "metadata" in params:
            obj["metadata"] = metadata.merge(obj["metadata"], params["metadata"])
        if params.get("source"):
            old_default = obj["default_source"]
            created_source = _add_card(backend, obj, params["source"], param="source")
            obj["default_source"] = created_source["id"]
            if old_default:
                _delete_card(backend, obj, old_default)
            backend.emit("customer.source.created", created_source)
        if "default_source" in params:
            wanted = params["default_source"]
            card = backend.store.get(wanted, "card") if wanted else None
            if wanted is not None and (card is None or card["customer"] != obj["id"]):
                raise InvalidRequest(
                    f"Customer {obj['id']} does not have a linked source with ID {wanted}.",
                    code="resource_missing",
                    param="default_source",
                )
            obj["default_source"] = wanted
        if "invoice_settings" in params:
            settings = params["invoice_settings"] or {}
            if "default_payment_method" in settings:
                invoice_settings = obj["invoice_settings"]
                invoice_settings["default_payment_method"] = settings["default_payment_method"]
    return obj


def delete(backend: Backend, params: dict, customer: str) -> dict:
    obj = backend.get(customer, "customer")
    rows = backend.store.conn.execute(
        "SELECT id FROM objects WHERE object = 'card' AND customer = ?", (obj["id"],)
    ).fetchall()
    for (card_id,) in rows:
        backend.store.delete(card_id)
    stub = {"id": obj["id"], "object": "customer", "deleted": True}
    backend.store.replace(obj["id"], stub, "deleted_customer")
    backend.emit("customer.deleted", obj)
    return stub


def list_(backend: Backend, params: dict) -> str:
    return lists.page(
        backend, "customer", params, "/v1/customers", where={"email": params.get("email")}
    )


def search_(backend: Backend, params: dict) -> str:
    return search.run(backend, "customer", params, "/v1/customers/search")


# saved cards


def _add_card(
    backend: Backend,
    customer: dict,
    token_id: str,
    *,
    param: str,
    given_metadata: dict | None = None,
) -> dict:
    if not isinstance(token_id, str) or not token_id.startswith("tok_"):
        raise InvalidRequest(f"No such token: '{token_id}'", code="resource_missing", param=param)
    card_fields, card = tokens.redeem(backend, token_id, param)
    if card.decline and card.decline.at_attach:
        raise card.decline.error()
    saved = dict(
        card_fields,
        id=backend.new_id("card"),
        customer=customer["id"],
        metadata=metadata.merge({}, given_metadata),
    )
    backend.store.insert(saved, private={"number": card.number}, created=backend.now)
    return saved


def create_source(backend: Backend, params: dict, customer: str) -> dict:
    obj = backend.get(customer, "customer")
    card = _add_card(
        backend, obj, params["source"], param="source", given_metadata=params.get("metadata")
    )
    backend.emit("customer.source.created", card)
    if obj["default_source"] is None:
        with backend.change(obj, "customer.updated"):
            obj["default_source"] = card["id"]
    return card


def owned_card(backend: Backend, customer: str, card_id: str, param: str = "id") -> dict:
    card = backend.store.get(card_id, "card")
    if card is None or card["customer"] != customer:
        raise ResourceMissing("source", card_id, param)
    return card


def retrieve_source(backend: Backend, params: dict, customer: str, source: str) -> dict:
    backend.get(customer, "customer", param="customer")
    return owned_card(backend, customer, source)


def update_source(backend: Backend, params: dict, customer: str, source: str) -> dict:
    backend.get(customer, "customer", param="customer")
    card = owned_card(backend, customer, source)
    with backend.change(card, "customer.source.updated"):
        if "exp_month" in params or "exp_year" in params:
            card["exp_month"], card["exp_year"] = tokens.check_expiry(
                params.get("exp_month", card["exp_month"]),
                params.get("exp_year", card["exp_year"]),
                backend.now,
            )
        for key in ("name", *tokens.ADDRESS_FIELDS):
            if key in params:
                card[key] = params[key]
        if "metadata" in params:
            card["metadata"] = metadata.merge(card["metadata"], params["metadata"])
    return card


def _delete_card(backend: Backend, customer: dict, card_id: str) -> dict:
    card = owned_card(backend, customer["id"], card_id)
    backend.store.delete(card_id)
    backend.emit("customer.source.deleted", card)
    return card


def delete_source(backend: Backend, params: dict, customer: str, source: str) -> dict:
    obj = backend.get(customer, "customer", param="customer")
    card = _delete_card(backend, obj, source)
    if obj["default_source"] == source:
        with backend.change(obj, "customer.updated"):
            newest = backend.store.conn.execute(
                "SELECT id FROM objects WHERE object = 'card' AND customer = ? "
                "ORDER BY created DESC, seq DESC LIMIT 1",
                (obj["id"],),
            ).fetchone()
            obj["default_source"] = newest[0] if newest else None
    return {"id": card["id"], "object": "card", "deleted": True}


def list_sources(backend: Backend, params: dict, customer: str) -> str:
    backend.get(customer, "customer", param="customer")
    if params.get("object") not in (None, "card"):
        return lists.listing(backend, [], False, f"/v1/customers/{customer}/sources")
    return lists.page(
        backend, "card", params, f"/v1/customers/{customer}/sources", where={"customer": customer}
    )
