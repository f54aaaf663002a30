"""The sandbox's documented exchange rates (top of workbench/sandbox/ledger.py), written out
by hand so that tests compute expected settlement amounts without the code under test."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

USD_PER_UNIT = {
    "usd": Decimal(1),
    "eur": Decimal("1.08"),
    "jpy": Decimal("0.0067"),
    "kwd": Decimal("3.25"),
}
EXPONENT = {"usd": 2, "eur": 2, "jpy": 0, "kwd": 3}


def settled(amount: int, currency: str) -> int:
    """`amount` minor units of `currency` in US cents at the documented rate, half up."""
    major = Decimal(amount).scaleb(-EXPONENT[currency]) * USD_PER_UNIT[currency]
    return int(major.scaleb(2).to_integral_value(ROUND_HALF_UP))
