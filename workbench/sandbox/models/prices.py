"""Prices: a product's amount in one currency, charged once or every interval. Create,
retrieve, list, update (archive with active=false: Stripe never deletes a price that may
have been used). Per-unit prices only; a subscription item shows its price as it was when
the item was last changed (Stripe expands it when asked, so it shows the price as it is).

Intervals are at most three years (3 years, 36 months, 156 weeks or 1,095 days), as Stripe
allows; the currency must be one the sandbox can charge (ledger.RATES).
"""

from __future__ import annotations

from workbench.sandbox import ledger, lists, metadata
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest
from workbench.sandbox.models import charges, products

INTERVALS = ("day", "week", "month", "year")
LONGEST = {"day": 1095, "week": 156, "month": 36, "year": 3}


def _recurring(values: dict | None) -> dict | None:
    if values is None:
        return None
    interval = values["interval"]
    count = values.get("interval_count") or 1
    if count > LONGEST[interval]:
        raise InvalidRequest(
            "The maximum billing interval is three years (3 years, 36 months, 156 weeks or "
            f"1095 days): {count} {interval}s is longer.",
            param="recurring[interval_count]",
        )
    if values.get("usage_type", "licensed") != "licensed":
        raise InvalidRequest(
            "The sandbox bills licensed (per-seat) prices only, not metered usage.",
            param="recurring[usage_type]",
        )
    return {
        "interval": interval,
        "interval_count": count,
        "meter": None,
        "trial_period_days": values.get("trial_period_days"),
        "usage_type": "licensed",
    }


def create(backend: Backend, params: dict) -> dict:
    currency = charges.check_currency(params["currency"])
    if currency not in ledger.RATES:
        raise InvalidRequest(
            f"The sandbox has no exchange rate for {currency}: price in one of "
            f"{', '.join(sorted(ledger.RATES))}.",
            param="currency",
            code="parameter_invalid_string",
        )
    if params.get("unit_amount") is None:
        raise InvalidRequest(
            "Missing required param: unit_amount.", code="parameter_missing", param="unit_amount"
        )
    if params["unit_amount"] > ledger.MAXIMUM_AMOUNT:
        raise InvalidRequest(
            f"Amount must be no more than {ledger.display(ledger.MAXIMUM_AMOUNT, currency)} "
            f"{currency}",
            code="amount_too_large",
            param="unit_amount",
        )
    product = _product(backend, params)
    lookup_key = params.get("lookup_key")
    if lookup_key and _by_lookup_key(backend, lookup_key):
        raise InvalidRequest(
            f"A price ({_by_lookup_key(backend, lookup_key)}) already uses that lookup key.",
            param="lookup_key",
        )
    recurring = _recurring(params.get("recurring"))
    price = {
        "id": backend.new_id("price"),
        "object": "price",
        "active": params.get("active", True) is not False,
        "billing_scheme": "per_unit",
        "created": backend.now,
        "currency": currency,
        "currency_options": None,
        "custom_unit_amount": None,
        "deleted": None,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": metadata.merge({}, params.get("metadata")),
        "nickname": params.get("nickname"),
        "product": product["id"],
        "recurring": recurring,
        "tax_behavior": params.get("tax_behavior") or "unspecified",
        "tiers": None,
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": params["unit_amount"],
        "unit_amount_decimal": str(params["unit_amount"]),
    }
    backend.store.insert(price)
    backend.emit("price.created", price)
    return price


def _product(backend: Backend, params: dict) -> dict:
    if params.get("product") and params.get("product_data"):
        raise InvalidRequest(
            "You may only specify one of these parameters: product, product_data.",
            param="product",
        )
    if params.get("product"):
        return backend.get(params["product"], "product", param="product")
    if params.get("product_data"):
        return products.create(backend, params["product_data"])
    raise InvalidRequest(
        "Missing required param: product. You must pass either product or product_data.",
        code="parameter_missing",
        param="product",
    )


def _by_lookup_key(backend: Backend, key: str) -> str | None:
    row = backend.store.conn.execute(
        "SELECT id FROM objects WHERE object = 'price' AND json_extract(data, '$.lookup_key') = ?",
        (key,),
    ).fetchone()
    return row[0] if row else None


def retrieve(backend: Backend, params: dict, price: str) -> dict:
    return backend.get(price, "price")


def update(backend: Backend, params: dict, price: str) -> dict:
    obj = backend.get(price, "price")
    with backend.change(obj, "price.updated"):
        for key in ("active", "nickname"):
            if key in params:
                obj[key] = params[key]
        if "lookup_key" in params:
            taken = params["lookup_key"] and _by_lookup_key(backend, params["lookup_key"])
            if taken and taken != obj["id"]:
                raise InvalidRequest(
                    f"A price ({taken}) already uses that lookup key.", param="lookup_key"
                )
            obj["lookup_key"] = params["lookup_key"]
        if "metadata" in params:
            obj["metadata"] = metadata.merge(obj["metadata"], params["metadata"])
    return obj


def list_(backend: Backend, params: dict) -> bytes:
    conditions = []
    if params.get("active") is not None:
        conditions.append(("json_extract(data, '$.active') = ?", int(params["active"])))
    if params.get("product"):
        conditions.append(("json_extract(data, '$.product') = ?", params["product"]))
    if params.get("lookup_keys"):
        marks = ", ".join("?" for _ in params["lookup_keys"])
        keys = params["lookup_keys"]
        conditions.append((f"json_extract(data, '$.lookup_key') IN ({marks})", *keys))
    return lists.page(
        backend,
        "price",
        params,
        "/v1/prices",
        where={"currency": params.get("currency"), "type": params.get("type")},
        conditions=tuple(conditions),
    )


def plan(price: dict) -> dict:
    """The price as the legacy Plan a subscription item also shows."""
    recurring = price["recurring"]
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "deleted": None,
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": False,
        "metadata": price["metadata"],
        "meter": None,
        "nickname": price["nickname"],
        "product": price["product"],
        "tiers": None,
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": recurring["trial_period_days"],
        "usage_type": recurring["usage_type"],
    }
