"""PaymentMethods (cards only): create, Stripe's `pm_card_*` test values, attach and detach;
and a customer's saved card seen as a PaymentMethod under its own `card_...` id, as Stripe
shows "compatible" cards and sources (usable wherever a PaymentMethod id is)."""

from __future__ import annotations

from workbench.sandbox import cards, lists, metadata
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest, ResourceMissing
from workbench.sandbox.models import tokens

MAGIC_PREFIX = "pm_card_"
# billing_details.address key -> the card object's field
CARD_ADDRESS = {
    "line1": "address_line1",
    "line2": "address_line2",
    "city": "address_city",
    "state": "address_state",
    "postal_code": "address_zip",
    "country": "address_country",
}


def _billing(values: dict | None) -> dict:
    values = values or {}
    address = values.get("address") or {}
    return {
        "address": {
            key: address.get(key)
            for key in ("city", "country", "line1", "line2", "postal_code", "state")
        },
        "email": values.get("email"),
        "name": values.get("name"),
        "phone": values.get("phone"),
        "tax_id": None,
    }


def payment_method_object(
    backend: Backend,
    card: cards.TestCard,
    fields: dict,
    billing: dict | None,
    given_metadata: dict | None,
    *,
    saved_card: dict | None = None,
) -> dict:
    """A new PaymentMethod, or (`saved_card`: its object, `created` added) that card's view."""
    brand = cards.BRANDS[card.brand][1]
    address = (billing or {}).get("address") or {}
    return {
        "id": saved_card["id"] if saved_card else backend.new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": _billing(billing),
        "card": {
            "brand": brand,
            "checks": {
                "address_line1_check": "pass" if address.get("line1") else None,
                "address_postal_code_check": "pass" if address.get("postal_code") else None,
                "cvc_check": fields.get("cvc_check"),
            },
            "country": card.country,
            "description": None,
            "display_brand": brand,
            "exp_month": fields["exp_month"],
            "exp_year": fields["exp_year"],
            "fingerprint": card.fingerprint,
            "funding": card.funding,
            "generated_from": None,
            "iin": None,
            "issuer": None,
            "last4": card.last4,
            "networks": {"available": [brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": saved_card["created"] if saved_card else backend.now,
        "customer": saved_card["customer"] if saved_card else None,
        "customer_account": None,
        "livemode": False,
        "metadata": metadata.merge({}, given_metadata),
        "radar_options": None,
        "type": "card",
    }


def create(backend: Backend, params: dict) -> dict:
    if params["type"] != "card":
        raise InvalidRequest(
            f"The sandbox supports only card PaymentMethods, not {params['type']!r}.", param="type"
        )
    card_params = params.get("card")
    if not card_params:
        raise InvalidRequest(
            "Missing required param: card.", code="parameter_missing", param="card"
        )
    if card_params.get("token"):
        card_obj, card = tokens.redeem(backend, card_params["token"], "card[token]")
        fields = {
            "exp_month": card_obj["exp_month"],
            "exp_year": card_obj["exp_year"],
            "cvc_check": card_obj["cvc_check"],
        }
    else:
        card, fields = tokens.card_from_params(backend, card_params)
    method = payment_method_object(
        backend, card, fields, params.get("billing_details"), params.get("metadata")
    )
    backend.store.insert(method, private={"number": card.number})
    return method


def resolve(
    backend: Backend, method_id: str, param: str = "payment_method"
) -> tuple[dict, cards.TestCard]:
    """A stored PaymentMethod, a saved card's view (`card_...`), or a new PaymentMethod for
    `pm_card_visa` and the other test values."""
    if method_id.startswith(MAGIC_PREFIX):
        number = cards.magic_number(method_id[len(MAGIC_PREFIX) :])
        if number is None:
            raise ResourceMissing("PaymentMethod", method_id, param)
        month, year = tokens.default_expiry(backend.now)
        method = payment_method_object(
            backend,
            cards.CARDS[number],
            {"exp_month": month, "exp_year": year, "cvc_check": "pass"},
            None,
            None,
        )
        backend.store.insert(method, private={"number": number})
        return method, cards.CARDS[number]
    kind = "card" if method_id.startswith("card_") else "payment_method"
    found, private = backend.store.with_private(method_id, kind)
    if found is None:
        raise ResourceMissing("PaymentMethod", method_id, param)
    card = cards.lookup(private["number"])
    return (_saved_card(backend, found, card) if kind == "card" else found), card


def _saved_card(backend: Backend, card_obj: dict, card: cards.TestCard) -> dict:
    created = backend.store.conn.execute(
        "SELECT created FROM objects WHERE id = ?", (card_obj["id"],)
    ).fetchone()[0]
    return payment_method_object(
        backend,
        card,
        {
            "exp_month": card_obj["exp_month"],
            "exp_year": card_obj["exp_year"],
            "cvc_check": card_obj["cvc_check"],
        },
        {
            "name": card_obj["name"],
            "address": {key: card_obj[field] for key, field in CARD_ADDRESS.items()},
        },
        card_obj["metadata"],
        saved_card={**card_obj, "created": created},
    )


def card_view(method: dict, card: cards.TestCard) -> dict:
    """The PaymentMethod seen as a card, for a charge's payment_method_details."""
    address = method["billing_details"]["address"]
    return cards.card_object(
        card,
        card_id=method["id"],
        exp_month=method["card"]["exp_month"],
        exp_year=method["card"]["exp_year"],
        name=method["billing_details"]["name"],
        address={field: address[key] for key, field in CARD_ADDRESS.items()},
        cvc_check=method["card"]["checks"]["cvc_check"],
    )


def retrieve(backend: Backend, params: dict, payment_method: str) -> dict:
    return resolve(backend, payment_method, "id")[0]


def update(backend: Backend, params: dict, payment_method: str) -> dict:
    method = backend.get(payment_method, "payment_method")
    with backend.change(method, "payment_method.updated"):
        if "billing_details" in params:
            method["billing_details"] = _billing(params["billing_details"])
        if "metadata" in params:
            method["metadata"] = metadata.merge(method["metadata"], params["metadata"])
        card_params = params.get("card") or {}
        if card_params:
            month, year = tokens.check_expiry(
                card_params.get("exp_month", method["card"]["exp_month"]),
                card_params.get("exp_year", method["card"]["exp_year"]),
                backend.now,
            )
            method["card"].update(exp_month=month, exp_year=year)
    return method


def attach(backend: Backend, params: dict, payment_method: str) -> dict:
    if not params.get("customer"):
        raise InvalidRequest("Must provide customer or customer_account.", code="parameter_missing")
    customer = backend.get(params["customer"], "customer", param="customer")
    method, card = resolve(backend, payment_method, "payment_method")
    saved_card = method["id"].startswith("card_")  # attached for good, to its customer
    if method["customer"] and (method["customer"] != customer["id"] or saved_card):
        raise InvalidRequest(
            "The payment method you provided has already been attached to a customer.",
            code="payment_method_unexpected_state",
        )
    if card.decline and card.decline.at_attach:
        raise card.decline.error()
    method["customer"] = customer["id"]
    backend.store.update(method)
    backend.emit("payment_method.attached", method)
    return method


def detach(backend: Backend, params: dict, payment_method: str) -> dict:
    method = backend.get(payment_method, "payment_method")
    if not method["customer"]:
        raise InvalidRequest(
            "The payment method you provided is not attached to a customer so "
            "detachment is impossible.",
            code="payment_method_unexpected_state",
        )
    with backend.change(method, "payment_method.detached"):
        method["customer"] = None
    return method


def list_(backend: Backend, params: dict) -> str:
    if params.get("customer"):
        backend.get(params["customer"], "customer", param="customer")
    return lists.page(
        backend,
        "payment_method",
        params,
        "/v1/payment_methods",
        where={"customer": params.get("customer"), "type": params.get("type")},
    )


def list_for_customer(backend: Backend, params: dict, customer: str) -> str:
    backend.get(customer, "customer", param="customer")
    return lists.page(
        backend,
        "payment_method",
        params,
        f"/v1/customers/{customer}/payment_methods",
        where={"customer": customer, "type": params.get("type")},
    )
