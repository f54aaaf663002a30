"""Money as Stripe sends it: integer minor units plus a currency, converted to major units last.

Stripe's zero-decimal and three-decimal lists (kept in `workbench.sandbox.currencies`, the
one copy) decide the exponent; every other supported currency has two decimals. Conversions
are exact (`Decimal`), never through floats.
"""

from __future__ import annotations

import numbers
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pandas as pd

from workbench.exceptions import CurrencyError
from workbench.sandbox import currencies
from workbench.sandbox.currencies import SUPPORTED


def currency_code(currency: str) -> str:
    """The API's lower-case code, or a CurrencyError naming what was given."""
    code = currency.lower().strip() if isinstance(currency, str) else None
    if code not in SUPPORTED:
        raise CurrencyError(
            f"unknown currency {currency!r}: use a three-letter ISO code "
            "Stripe supports, such as usd, eur or jpy"
        )
    return code


def exponent(currency: str) -> int:
    """Digits after the decimal point in the major unit: 0 (JPY), 2 (USD) or 3 (KWD)."""
    return currencies.exponent(currency_code(currency))


def _whole(minor: object) -> int:
    if isinstance(minor, bool) or not isinstance(minor, numbers.Integral):
        raise CurrencyError(
            f"amount {minor!r} is not a whole number of minor units "
            "(Stripe amounts are integers such as 1050 for 10.50 USD)"
        )
    return int(minor)


def to_major(minor: int, currency: str) -> Decimal:
    """1050 usd -> Decimal('10.50'); 1050 jpy -> Decimal('1050'); 1050 kwd -> Decimal('1.050')."""
    digits = exponent(currency)
    return Decimal(_whole(minor)).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def to_minor(major: Decimal | str | int, currency: str, *, rounding: str | None = None) -> int:
    """Major units to minor units; more decimals than the currency has is an error unless
    `rounding` (a `decimal` rounding mode such as ROUND_HALF_UP) is given."""
    if isinstance(major, float | bool):
        raise CurrencyError(f"amount {major!r}: pass a Decimal or a string, never a float")
    try:
        value = Decimal(str(major).strip())
    except InvalidOperation:
        raise CurrencyError(f"amount {major!r} is not a number") from None
    if not value.is_finite():
        raise CurrencyError(f"amount {major!r} is not a finite number")
    scaled = value.scaleb(exponent(currency))
    whole = scaled.to_integral_value(rounding=rounding or ROUND_HALF_UP)
    if whole != scaled and rounding is None:
        raise CurrencyError(
            f"{major} {currency.upper()} has more decimals than "
            f"{currency.upper()}'s {exponent(currency)}; round it first"
        )
    return int(whole)


def format_amount(minor: int, currency: str) -> str:
    """For people: '1,234.50 USD', '1,235 JPY', '-1.234 KWD'."""
    return f"{to_major(minor, currency):,} {currency_code(currency).upper()}"


def as_major(frame, columns, currency: str = "currency"):
    """A copy of `frame` for people: the `columns` of integer minor units as exact decimals
    of each row's currency (missing stays missing). For display and files, never for sums."""
    shown = frame.copy()
    for column in columns:
        if column in shown:
            shown[column] = [
                None if pd.isna(value) else to_major(int(value), code)
                for value, code in zip(shown[column], shown[currency], strict=True)
            ]
    return shown
