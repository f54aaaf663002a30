"""Money: minor units <-> exact major units, per Stripe's currency exponents."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from workbench import money
from workbench.exceptions import CurrencyError


@pytest.mark.parametrize(
    ("minor", "currency", "major"),
    [
        (1050, "usd", "10.50"),
        (1, "usd", "0.01"),
        (-1999, "USD", "-19.99"),
        (0, "usd", "0.00"),
        (1050, "jpy", "1050"),
        (7, "JPY", "7"),
        (1050, "kwd", "1.050"),
        (1, "kwd", "0.001"),
        (123456789, "bhd", "123456.789"),
        (np.int64(250), "eur", "2.50"),
    ],
)
def test_to_major_is_exact(minor, currency, major):
    assert money.to_major(minor, currency) == Decimal(major)
    assert str(money.to_major(minor, currency)) == major


@pytest.mark.parametrize(
    ("major", "currency", "minor"),
    [
        ("10.50", "usd", 1050),
        (Decimal("0.1"), "usd", 10),
        (5, "usd", 500),
        ("1050", "jpy", 1050),
        ("1.050", "kwd", 1050),
        ("0.001", "kwd", 1),
    ],
)
def test_to_minor(major, currency, minor):
    assert money.to_minor(major, currency) == minor


@pytest.mark.parametrize(
    ("major", "currency"),
    [
        ("10.005", "usd"),
        ("0.5", "jpy"),
        ("1.0005", "kwd"),
    ],
)
def test_to_minor_refuses_to_round_silently(major, currency):
    with pytest.raises(CurrencyError, match="more decimals"):
        money.to_minor(major, currency)


def test_rounding_edge_cases_when_asked():
    assert money.to_minor("10.005", "usd", rounding=ROUND_HALF_UP) == 1001
    assert money.to_minor("10.005", "usd", rounding=ROUND_HALF_EVEN) == 1000
    assert money.to_minor("-10.005", "usd", rounding=ROUND_HALF_UP) == -1001
    assert money.to_minor("0.5", "jpy", rounding=ROUND_HALF_UP) == 1
    assert money.to_minor("1.0005", "kwd", rounding=ROUND_HALF_UP) == 1001


def test_sums_stay_exact():
    """Sums that floats get wrong (0.1 + 0.2, ten dimes) come out exact."""
    assert sum(money.to_major(10, "usd") for _ in range(10)) == Decimal("1.00")
    assert money.to_major(10, "usd") + money.to_major(20, "usd") == Decimal("0.30")
    assert sum(money.to_major(1, "kwd") for _ in range(1000)) == Decimal("1.000")
    assert str(money.to_major(10, "usd") + money.to_major(20, "usd")) == "0.30"


@pytest.mark.parametrize("bad", [10.5, 1e3, True, "100", None])
def test_non_integral_minor_amounts_are_rejected(bad):
    with pytest.raises(CurrencyError, match="whole number of minor units"):
        money.to_major(bad, "usd")


@pytest.mark.parametrize("bad", ["xyz", "", "US", "dollar", None, 840])
def test_unknown_currencies_are_rejected(bad):
    with pytest.raises(CurrencyError, match="unknown currency"):
        money.exponent(bad)


def test_floats_are_refused_as_major_amounts():
    with pytest.raises(CurrencyError, match="never a float"):
        money.to_minor(10.5, "usd")
    for bad in ("abc", "nan", "inf"):
        with pytest.raises(CurrencyError):
            money.to_minor(bad, "usd")


def test_formatting():
    assert money.format_amount(123456789, "usd") == "1,234,567.89 USD"
    assert money.format_amount(-1234, "kwd") == "-1.234 KWD"
    assert money.format_amount(1234567, "jpy") == "1,234,567 JPY"


def test_exponents_follow_stripes_lists():
    assert [money.exponent(c) for c in ("usd", "eur", "jpy", "krw", "vnd", "kwd", "tnd")] == [
        2,
        2,
        0,
        0,
        0,
        3,
        3,
    ]
