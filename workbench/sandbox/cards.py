"""Stripe's test cards, tokens (`tok_*`) and PaymentMethods (`pm_card_*`), and what each does.

From Stripe's testing docs (docs.stripe.com/testing). A card's behaviour is decided by its
number, so `tok_chargeDeclined`, `pm_card_chargeDeclined` and 4000000000000002 typed into a
token all decline the same way. Any other number passing the Luhn check succeeds as a Visa.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass

from workbench.sandbox.exceptions import CardError

BRANDS = {  # brand as on Card objects, as in payment_method_details, network
    "visa": ("Visa", "visa"),
    "mastercard": ("MasterCard", "mastercard"),
    "amex": ("American Express", "amex"),
    "discover": ("Discover", "discover"),
    "diners": ("Diners Club", "diners"),
    "jcb": ("JCB", "jcb"),
    "unionpay": ("UnionPay", "unionpay"),
}
NETWORKS = {display: network for display, network in BRANDS.values()}  # by brand as displayed


@dataclass(frozen=True)
class Decline:
    """How a charge on this card fails: the error Stripe raises and what the charge records."""

    code: str  # error code and failure_code
    decline_code: str | None  # Stripe sends none for expired_card, incorrect_cvc, processing_error
    message: str
    outcome_type: str = "issuer_declined"
    network_status: str = "declined_by_network"
    seller_message: str = "The bank did not return any further details with this decline."
    risk_level: str = "normal"
    advice_code: str | None = None
    at_attach: bool = True  # False: attaches to a customer, fails only when charged

    def error(self, charge: str | None = None, **extra) -> CardError:
        """The card error Stripe raises for this decline; with a failed charge (which Stripe
        keeps) the request's writes persist, otherwise (saving the card) they are undone."""
        if self.advice_code:
            extra["advice_code"] = self.advice_code
        return CardError(
            self.message,
            code=self.code,
            decline_code=self.decline_code,
            param={"expired_card": "exp_month", "incorrect_cvc": "cvc"}.get(self.code),
            charge=charge,
            extra=extra,
            persists=charge is not None,
        )


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str = "visa"
    funding: str = "credit"
    country: str = "US"
    decline: Decline | None = None
    dispute: str | None = None  # reason of the dispute a successful charge receives
    bypass_pending: bool = False  # funds available at once (4000000000000077)
    risk_level: str = "normal"
    cvc_check: str = "pass"

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def fingerprint(self) -> str:
        return _fingerprint(self.number)


def _issuer(decline_code: str, message: str = "Your card was declined.", **kwargs) -> Decline:
    return Decline(
        "card_declined",
        decline_code,
        message,
        seller_message=kwargs.pop(
            "seller_message",
            "The bank did not return any further details with this decline."
            if decline_code == "generic_decline"
            else f"The bank returned the decline code `{decline_code}`.",
        ),
        **kwargs,
    )


GENERIC = _issuer("generic_decline")
CARDS = {
    card.number: card
    for card in (
        TestCard("4242424242424242"),
        TestCard("4000056655665556", funding="debit"),
        TestCard("4000058260000005", funding="debit", country="GB"),
        TestCard("5555555555554444", brand="mastercard"),
        TestCard("2223003122003222", brand="mastercard"),
        TestCard("5200828282828210", brand="mastercard", funding="debit"),
        TestCard("5105105105105100", brand="mastercard", funding="prepaid"),
        TestCard("378282246310005", brand="amex"),
        TestCard("371449635398431", brand="amex"),
        TestCard("6011111111111117", brand="discover"),
        TestCard("6011000990139424", brand="discover"),
        TestCard("3056930009020004", brand="diners"),
        TestCard("36227206271667", brand="diners"),
        TestCard("3566002020360505", brand="jcb", country="JP"),
        TestCard("6200000000000005", brand="unionpay", country="CN"),
        TestCard("4000000760000002", country="BR"),
        TestCard("4000001240000000", country="CA"),
        TestCard("4000004840008001", country="MX"),
        TestCard("4000000400000008", country="AT"),
        TestCard("4000000560000004", country="BE"),
        TestCard("4000002760000016", country="DE"),
        TestCard("4000002500000003", country="FR"),
        TestCard("4000003800000008", country="IT"),
        TestCard("4000005280000002", country="NL"),
        TestCard("4000007240000007", country="ES"),
        TestCard("4000008260000000", country="GB"),
        TestCard("4000000360000006", country="AU"),
        TestCard("4000003720000005", country="IE"),
        TestCard("4000007560000009", country="CH"),
        TestCard("4000007520000008", country="SE"),
        TestCard("4000001560000002", country="CN"),
        TestCard("4000003560000008", country="IN"),
        TestCard("4000007020000003", country="SG"),
        TestCard("4000003920000003", country="JP"),
        TestCard("4000000000000077", bypass_pending=True),
        TestCard("4000000000000101", cvc_check="fail"),
        TestCard("4000000000009235", risk_level="elevated"),
        TestCard("4000000000000002", decline=GENERIC),
        TestCard(
            "4000000000009995",
            decline=_issuer(
                "insufficient_funds",
                "Your card has insufficient funds.",
                advice_code="try_again_later",
            ),
        ),
        TestCard("4000000000009987", decline=_issuer("lost_card")),
        TestCard("4000000000009979", decline=_issuer("stolen_card")),
        TestCard(
            "4000000000000069",
            decline=Decline(
                "expired_card",
                None,
                "Your card has expired.",
                seller_message="The bank returned the decline code `expired_card`.",
            ),
        ),
        TestCard(
            "4000000000000127",
            decline=Decline(
                "incorrect_cvc",
                None,
                "Your card's security code is incorrect.",
                seller_message="The bank returned the decline code `incorrect_cvc`.",
            ),
        ),
        TestCard(
            "4000000000000119",
            decline=Decline(
                "processing_error",
                None,
                "An error occurred while processing your card. Try again in a little bit.",
                seller_message="The bank returned the decline code `processing_error`.",
            ),
        ),
        TestCard(
            "4000000000006975",
            decline=_issuer(
                "card_velocity_exceeded",
                "Your card was declined for making repeated attempts too "
                "frequently or exceeding its amount limit.",
            ),
        ),
        TestCard(
            "4100000000000019",
            decline=Decline(
                "card_declined",
                "fraudulent",
                "Your card was declined.",
                outcome_type="blocked",
                network_status="not_sent_to_network",
                risk_level="highest",
                seller_message="Stripe blocked this payment as too risky.",
            ),
            risk_level="highest",
        ),
        TestCard(
            "4000000000000341",
            decline=Decline(
                "card_declined", "generic_decline", "Your card was declined.", at_attach=False
            ),
        ),
        TestCard("4000000000000259", dispute="fraudulent"),
        TestCard("4000000000001976", dispute="fraudulent:inquiry"),
        TestCard("4000000000002685", dispute="product_not_received"),
    )
}

# tok_* and pm_card_* names (pm_card_ + the same suffix) -> card number.
TOKENS = {
    "visa": "4242424242424242",
    "visa_debit": "4000056655665556",
    "mastercard": "5555555555554444",
    "mastercard_debit": "5200828282828210",
    "mastercard_prepaid": "5105105105105100",
    "amex": "378282246310005",
    "discover": "6011111111111117",
    "diners": "3056930009020004",
    "jcb": "3566002020360505",
    "unionpay": "6200000000000005",
    "br": "4000000760000002",
    "ca": "4000001240000000",
    "mx": "4000004840008001",
    "at": "4000000400000008",
    "be": "4000000560000004",
    "de": "4000002760000016",
    "fr": "4000002500000003",
    "it": "4000003800000008",
    "nl": "4000005280000002",
    "es": "4000007240000007",
    "gb": "4000008260000000",
    "au": "4000000360000006",
    "jp": "4000003920000003",
    "ie": "4000003720000005",
    "ch": "4000007560000009",
    "se": "4000007520000008",
    "cn": "4000001560000002",
    "in": "4000003560000008",
    "sg": "4000007020000003",
    "us": "4242424242424242",
    "gb_debit": "4000058260000005",
    "bypassPending": "4000000000000077",
    "cvcCheckFail": "4000000000000101",
    "riskLevelElevated": "4000000000009235",
    "chargeDeclined": "4000000000000002",
    "chargeDeclinedInsufficientFunds": "4000000000009995",
    "chargeDeclinedLostCard": "4000000000009987",
    "chargeDeclinedStolenCard": "4000000000009979",
    "chargeDeclinedExpiredCard": "4000000000000069",
    "chargeDeclinedIncorrectCvc": "4000000000000127",
    "chargeDeclinedProcessingError": "4000000000000119",
    "chargeDeclinedVelocityLimitExceeded": "4000000000006975",
    "chargeDeclinedFraudulent": "4100000000000019",
    "radarBlock": "4100000000000019",
    "chargeCustomerFail": "4000000000000341",
    "createDispute": "4000000000000259",
    "createDisputeInquiry": "4000000000001976",
    "createDisputeProductNotReceived": "4000000000002685",
}


@functools.cache
def _fingerprint(number: str) -> str:
    """The same card number always has the same fingerprint, as in Stripe."""
    digest = hashlib.sha256(f"fingerprint:{number}".encode()).digest()
    return base64.b64encode(digest, altchars=b"Ab").decode()[:16]


def magic_number(name: str) -> str | None:
    """The card behind a test token or PaymentMethod suffix (`visa`, `visa_chargeDeclined`)."""
    return TOKENS.get(name) or TOKENS.get(name.removeprefix("visa_"))


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, digit in enumerate(int(d) for d in reversed(number)):
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def lookup(number: str) -> TestCard:
    """The test card for a number; any other valid number behaves like a plain Visa."""
    if number in CARDS:
        return CARDS[number]
    brand = (
        "amex"
        if number[:2] in ("34", "37")
        else "mastercard"
        if number[:1] == "5" or number[:2] == "22"
        else "discover"
        if number.startswith("6011")
        else "visa"
    )
    return TestCard(number, brand=brand)


def card_object(
    card: TestCard,
    *,
    card_id: str,
    exp_month: int,
    exp_year: int,
    customer: str | None = None,
    name: str | None = None,
    address: dict | None = None,
    metadata: dict | None = None,
    cvc_check: str | None = None,
) -> dict:
    """The `card` object (a customer's saved source, or inside a token)."""
    address = address or {}
    has_zip = bool(address.get("address_zip"))
    has_line1 = bool(address.get("address_line1"))
    return {
        "id": card_id,
        "object": "card",
        "account": None,
        "address_city": address.get("address_city"),
        "address_country": address.get("address_country"),
        "address_line1": address.get("address_line1"),
        "address_line1_check": "pass" if has_line1 else None,
        "address_line2": address.get("address_line2"),
        "address_state": address.get("address_state"),
        "address_zip": address.get("address_zip"),
        "address_zip_check": "pass" if has_zip else None,
        "allow_redisplay": "unspecified",
        "available_payout_methods": None,
        "brand": BRANDS[card.brand][0],
        "country": card.country,
        "currency": None,
        "customer": customer,
        "cvc_check": cvc_check,
        "default_for_currency": None,
        "deleted": None,
        "description": None,
        "dynamic_last4": None,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": card.fingerprint,
        "funding": card.funding,
        "iin": None,
        "issuer": None,
        "last4": card.last4,
        "metadata": metadata or {},
        "name": name,
        "networks": {"preferred": None},
        "regulated_status": "unregulated",
        "status": None,
        "tokenization_method": None,
    }
