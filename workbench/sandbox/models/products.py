"""Products: what a price sells. Create, retrieve, list, update (archive with active=false),
and delete, which Stripe allows only while no price belongs to the product."""

from __future__ import annotations

from workbench.sandbox import lists, metadata
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest

EDITABLE = ("active", "description", "name", "statement_descriptor", "unit_label", "url")


def product_object(backend: Backend, params: dict) -> dict:
    return {
        "id": backend.new_id("prod", 14),
        "object": "product",
        "active": params.get("active", True) is not False,
        "created": backend.now,
        "default_price": None,
        "deleted": None,
        "description": params.get("description"),
        "images": params.get("images") or [],
        "livemode": False,
        "marketing_features": [],
        "metadata": metadata.merge({}, params.get("metadata")),
        "name": params["name"],
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": params.get("statement_descriptor"),
        "tax_code": None,
        "tax_details": None,
        "type": "service",
        "unit_label": params.get("unit_label"),
        "updated": backend.now,
        "url": params.get("url"),
    }


def create(backend: Backend, params: dict) -> dict:
    product = product_object(backend, params)
    backend.store.insert(product)
    backend.emit("product.created", product)
    return product


def retrieve(backend: Backend, params: dict, product: str) -> dict:
    return backend.get(product, "product")


def update(backend: Backend, params: dict, product: str) -> dict:
    obj = backend.get(product, "product")
    with backend.change(obj, "product.updated"):
        for key in EDITABLE:
            if key in params:
                obj[key] = params[key]
        if "metadata" in params:
            obj["metadata"] = metadata.merge(obj["metadata"], params["metadata"])
        if "default_price" in params:
            obj["default_price"] = _own_price(backend, obj, params["default_price"])
        obj["updated"] = backend.now
    return obj


def _own_price(backend: Backend, product: dict, price_id: str | None) -> str | None:
    if price_id is None:
        return None
    price = backend.get(price_id, "price", param="default_price")
    if price["product"] != product["id"]:
        raise InvalidRequest(
            f"The price {price_id} does not belong to product {product['id']}.",
            param="default_price",
        )
    return price_id


def delete(backend: Backend, params: dict, product: str) -> dict:
    obj = backend.get(product, "product")
    priced = backend.store.conn.execute(
        "SELECT 1 FROM objects WHERE object = 'price' AND json_extract(data, '$.product') = ? "
        "LIMIT 1",
        (obj["id"],),
    ).fetchone()
    if priced:
        raise InvalidRequest(
            "This product cannot be deleted because it has one or more user-created prices."
        )
    backend.store.delete(obj["id"])
    backend.emit("product.deleted", obj)
    return {"id": obj["id"], "object": "product", "deleted": True}


def list_(backend: Backend, params: dict) -> bytes:
    conditions = []
    if params.get("active") is not None:
        conditions.append(("json_extract(data, '$.active') = ?", int(params["active"])))
    return lists.page(backend, "product", params, "/v1/products", conditions=tuple(conditions))
