"""Card tokens: `POST /v1/tokens`, Stripe's reusable test tokens (`tok_visa`), single use."""

from __future__ import annotations

import time

from workbench.sandbox import cards
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import CardError, InvalidRequest, ResourceMissing

ADDRESS_FIELDS = (
    "address_line1",
    "address_line2",
    "address_city",
    "address_state",
    "address_zip",
    "address_country",
)


def check_expiry(exp_month: int | None, exp_year: int | None, now: int) -> tuple[int, int]:
    """Stripe's card errors for an impossible or past expiry; two-digit years are 20xx."""
    if exp_month is None or not 1 <= exp_month <= 12:
        raise CardError(
            "Your card's expiration month is invalid.",
            code="invalid_expiry_month",
            param="exp_month",
        )
    if exp_year is not None and exp_year < 100:
        exp_year += 2000
    today = time.gmtime(now)
    if (
        exp_year is None
        or (exp_year, exp_month) < (today.tm_year, today.tm_mon)
        or exp_year > today.tm_year + 50
    ):
        raise CardError(
            "Your card's expiration year is invalid.", code="invalid_expiry_year", param="exp_year"
        )
    return exp_month, exp_year


def card_from_params(backend: Backend, params: dict) -> tuple[cards.TestCard, dict]:
    """Validate raw card data: the test card it is, and the card object's own fields."""
    number = "".join(str(params.get("number") or "").split())
    if not cards.luhn_valid(number):
        raise CardError("Your card number is incorrect.", code="incorrect_number", param="number")
    exp_month, exp_year = check_expiry(params.get("exp_month"), params.get("exp_year"), backend.now)
    cvc = params.get("cvc")
    if cvc is not None and not (cvc.isdigit() and 3 <= len(cvc) <= 4):
        raise CardError("Your card's security code is invalid.", code="invalid_cvc", param="cvc")
    card = cards.lookup(number)
    fields = {
        "exp_month": exp_month,
        "exp_year": exp_year,
        "name": params.get("name"),
        "address": {k: params.get(k) for k in ADDRESS_FIELDS},
        "cvc_check": (card.cvc_check if cvc else None),
    }
    return card, fields


def default_expiry(now: int) -> tuple[int, int]:
    """What Stripe's test tokens carry: this month, a year ahead."""
    today = time.gmtime(now)
    return today.tm_mon, today.tm_year + 1


def create(backend: Backend, params: dict) -> dict:
    if "card" not in params:
        raise InvalidRequest(
            "You must supply either a card, customer, PII data, bank account, "
            "or account legal entity to create a token."
        )
    card, fields = card_from_params(backend, params["card"])
    token = token_object(backend, card, fields)
    backend.store.insert(token, private={"number": card.number})
    return token


def token_object(backend: Backend, card: cards.TestCard, fields: dict) -> dict:
    return {
        "id": backend.new_id("tok"),
        "object": "token",
        "bank_account": None,
        "card": cards.card_object(
            card,
            card_id=backend.new_id("card"),
            exp_month=fields["exp_month"],
            exp_year=fields["exp_year"],
            name=fields.get("name"),
            address=fields.get("address"),
            cvc_check=fields.get("cvc_check"),
        ),
        "client_ip": None,
        "created": backend.now,
        "livemode": False,
        "type": "card",
        "used": False,
    }


def retrieve(backend: Backend, params: dict, token: str) -> dict:
    magic = magic_token(backend, token)
    return magic or backend.get(token, "token")


def magic_token(backend: Backend, token: str) -> dict | None:
    """A fresh token for `tok_visa` and the other test tokens, which Stripe lets you reuse."""
    number = cards.magic_number(token[4:]) if token.startswith("tok_") else None
    if number is None:
        return None
    month, year = default_expiry(backend.now)
    return token_object(
        backend, cards.CARDS[number], {"exp_month": month, "exp_year": year, "cvc_check": "pass"}
    )


def redeem(backend: Backend, token_id: str, param: str = "source") -> tuple[dict, cards.TestCard]:
    """Use a token: its card object and test card. A created token works once only."""
    token = magic_token(backend, token_id)
    if token is not None:
        return token["card"], cards.CARDS[cards.magic_number(token_id[4:])]
    token, private = backend.store.with_private(token_id, "token")
    if token is None:
        raise ResourceMissing("token", token_id, param)
    if token["used"]:
        raise InvalidRequest(
            f"You cannot use a Stripe token more than once: {token_id}.",
            code="token_already_used",
            param=param,
        )
    token["used"] = True
    backend.store.update(token)
    return token["card"], cards.lookup(private["number"])
