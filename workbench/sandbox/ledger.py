"""Balance transactions: every movement of money, with Stripe's fees, exchange rates and
availability. The one fee schedule and the one rate table of the sandbox live here.

Fee schedule (card payments, by the account's settlement currency):

| settlement | domestic card     | card from abroad | currency conversion | dispute fee |
|------------|-------------------|------------------|---------------------|-------------|
| usd        | 2.9% + 0.30 USD   | +1.5%            | +1%                 | 15.00 USD   |
| eur        | 1.5% + 0.25 EUR   | +1.75%           | +2%                 | 20.00 EUR   |
| gbp        | 1.5% + 0.20 GBP   | +1.75%           | +2%                 | 20.00 GBP   |
| jpy        | 3.6%              | +1.0%            | +2%                 | 1,500 JPY   |

"Abroad" means a card issued outside the account's country (outside the EEA for EEA
accounts). Refunds return no fee. A won dispute returns the amount but not the dispute fee
(Stripe's current rule). Fees are rounded half up to the settlement currency's minor unit.
Exchange rates are fixed (RATES) so that every figure is reproducible; a converted amount is
rounded half up.

Partial captures, as Stripe books them (docs.stripe.com/reports/reporting-categories, "A
separate category for partial-capture reversals"): capturing less than was authorized writes
two balance transactions at once, a `charge` for the whole authorization and a `refund` with
reporting category `partial_capture_reversal` for the uncaptured part (its source is the
Refund that releases that part), which sum to the captured amount. Fees: Stripe charges none
on what is not captured ("fees after you capture are the same as any other charge",
stripe.com/blog/auth-capture); its docs do not say how the fee splits between the two
entries, and integrations built on live data read the reversal's fee as negative. So the
charge entry has the fee of the whole authorization and the reversal gives back the
difference to the fee of the captured amount: together, exactly a charge of the captured
amount. Both become available at the same time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from workbench.sandbox.backend import Backend
from workbench.sandbox.currencies import exponent
from workbench.sandbox.exceptions import InvalidRequest
from workbench.sandbox.state import field_update


@dataclass(frozen=True)
class Pricing:
    percent: Decimal
    fixed: int
    international: Decimal
    conversion: Decimal
    dispute_fee: int


PRICING = {
    "usd": Pricing(Decimal("2.9"), 30, Decimal("1.5"), Decimal("1"), 1500),
    "eur": Pricing(Decimal("1.5"), 25, Decimal("1.75"), Decimal("2"), 2000),
    "gbp": Pricing(Decimal("1.5"), 20, Decimal("1.75"), Decimal("2"), 2000),
    "jpy": Pricing(Decimal("3.6"), 0, Decimal("1.0"), Decimal("2"), 1500),
}
EEA = frozenset(
    (
        "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE SI SK"
    ).split()
)
# US dollars per unit of each currency: the sandbox's fixed, documented rate table.
RATES = {
    "usd": Decimal("1"),
    "eur": Decimal("1.08"),
    "gbp": Decimal("1.27"),
    "jpy": Decimal("0.0067"),
    "cad": Decimal("0.74"),
    "aud": Decimal("0.66"),
    "chf": Decimal("1.13"),
    "sek": Decimal("0.095"),
    "nok": Decimal("0.094"),
    "dkk": Decimal("0.145"),
    "pln": Decimal("0.25"),
    "mxn": Decimal("0.058"),
    "brl": Decimal("0.20"),
    "sgd": Decimal("0.74"),
    "hkd": Decimal("0.128"),
    "nzd": Decimal("0.61"),
    "inr": Decimal("0.012"),
    "kwd": Decimal("3.25"),
    "bhd": Decimal("2.65"),
    "krw": Decimal("0.00075"),
}
MINIMUM_USD_CENTS = 50
MAXIMUM_AMOUNT = 99_999_999
DAY = 86400


@functools.cache
def exchange_rate(source: str, target: str) -> Decimal | None:
    """Units of `target` per unit of `source` (None when no conversion happens); the table
    is fixed, so each pair is worked out once."""
    if source == target:
        return None
    return (RATES[source] / RATES[target]).quantize(Decimal("0.000001"))


def convert(amount: int, source: str, target: str) -> int:
    """Minor units of `source` to minor units of `target`, through the rate table."""
    rate = exchange_rate(source, target)
    if rate is None:
        return amount
    major = Decimal(amount).scaleb(-exponent(source)) * rate
    return int(major.scaleb(exponent(target)).to_integral_value(ROUND_HALF_UP))


def check_amount(amount: int, currency: str, param: str = "amount") -> None:
    """Stripe's per-currency minimum (the equivalent of 0.50 USD) and maximum charge amount."""
    if currency not in RATES:
        raise InvalidRequest(
            f"The sandbox has no exchange rate for {currency}: charge in one of "
            f"{', '.join(sorted(RATES))}.",
            param="currency",
            code="parameter_invalid_string",
        )
    if convert(amount, currency, "usd") < MINIMUM_USD_CENTS or amount < 1:
        minimum = max(1, convert(MINIMUM_USD_CENTS, "usd", currency))
        raise InvalidRequest(
            f"Amount must be at least {display(minimum, currency)} {currency}",
            code="amount_too_small",
            param=param,
        )
    if amount > MAXIMUM_AMOUNT:
        raise InvalidRequest(
            f"Amount must be no more than {display(MAXIMUM_AMOUNT, currency)} {currency}",
            code="amount_too_large",
            param=param,
        )


def below_minimum(amount: int, currency: str) -> bool:
    """Less than Stripe's smallest charge (the equivalent of 0.50 USD)."""
    return convert(amount, currency, "usd") < MINIMUM_USD_CENTS


def display(amount: int, currency: str) -> str:
    digits = exponent(currency)
    return f"{Decimal(amount).scaleb(-digits):,.{digits}f}"


def pricing(settlement: str) -> Pricing:
    return PRICING.get(settlement, PRICING["usd"])


def card_fee(
    amount: int, settlement: str, *, presentment: str, card_country: str, account_country: str
) -> int:
    """Stripe's processing fee on `amount` (already in settlement minor units)."""
    price = pricing(settlement)
    percent = price.percent
    domestic = card_country == account_country or (card_country in EEA and account_country in EEA)
    if not domestic:
        percent += price.international
    if presentment != settlement:
        percent += price.conversion
    fixed = convert(price.fixed, "usd", settlement) if settlement not in PRICING else price.fixed
    variable = (Decimal(amount) * percent / 100).to_integral_value(ROUND_HALF_UP)
    return int(variable) + fixed


def available_on(created: int, delay_days: int) -> int:
    """Midnight UTC, `delay_days` after the day the money moved."""
    return created - created % DAY + delay_days * DAY


def fee_detail(amount: int, currency: str, description: str) -> dict:
    return {
        "amount": amount,
        "application": None,
        "currency": currency,
        "description": description,
        "type": "stripe_fee",
    }


def record(
    backend: Backend,
    *,
    amount: int,
    currency: str,
    type: str,  # noqa: A002
    reporting_category: str,
    source: str | None,
    description: str | None = None,
    fee_details: list[dict] = (),
    exchange_rate: Decimal | None = None,
    available: int | None = None,
    created: int | None = None,
    payout: str | None = None,
) -> dict:
    """Write one balance transaction; `available` defaults to at once."""
    created = backend.now if created is None else created
    available = created if available is None else available
    fee = sum(detail["amount"] for detail in fee_details)
    transaction = {
        "id": backend.new_id("txn"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": available,
        "balance_type": "payments",
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": float(exchange_rate) if exchange_rate is not None else None,
        "fee": fee,
        "fee_details": list(fee_details),
        "net": amount - fee,
        "reporting_category": reporting_category,
        "source": source,
        "status": "available" if available <= backend.now else "pending",
        "type": type,
    }
    backend.store.insert(
        transaction, payout=payout, due=available if transaction["status"] == "pending" else None
    )
    return transaction


def settlement(backend: Backend) -> tuple[str, str, int]:
    """The account's settlement currency, country and payout delay in days."""
    account = backend.account
    schedule = account["settings"]["payouts"]["schedule"]
    return account["default_currency"], account["country"], schedule["delay_days"]


def _settled_with_fee(backend: Backend, charge: dict, amount: int) -> tuple[int, int]:
    """`amount` of the charge in the settlement currency, and the card fee on it."""
    currency, country, _ = settlement(backend)
    settled = convert(amount, charge["currency"], currency)
    fee = card_fee(
        settled,
        currency,
        presentment=charge["currency"],
        card_country=charge["payment_method_details"]["card"]["country"],
        account_country=country,
    )
    return settled, fee


def charge_transaction(backend: Backend, charge: dict, *, immediately: bool = False) -> dict:
    """The `charge` balance transaction written at capture: the whole authorization (see
    partial_capture_reversal for a capture of less) and its fee."""
    currency, _, delay = settlement(backend)
    settled, fee = _settled_with_fee(backend, charge, charge["amount"])
    return record(
        backend,
        amount=settled,
        currency=currency,
        type="charge",
        reporting_category="charge",
        source=charge["id"],
        description=charge["description"],
        fee_details=[fee_detail(fee, currency, "Stripe processing fees")],
        exchange_rate=exchange_rate(charge["currency"], currency),
        available=backend.now if immediately else available_on(backend.now, delay),
    )


def partial_capture_reversal(
    backend: Backend, refund: dict, charge: dict, charge_entry: dict
) -> dict:
    """The `refund` balance transaction giving back what a partial capture left uncaptured,
    with the fee's difference: with `charge_entry`, a charge of the captured amount."""
    settled, fee = _settled_with_fee(backend, charge, charge["amount_captured"])
    returned = fee - charge_entry["fee"]
    return record(
        backend,
        amount=settled - charge_entry["amount"],
        currency=charge_entry["currency"],
        type="refund",
        reporting_category="partial_capture_reversal",
        source=refund["id"],
        description=_refund_description(charge),
        fee_details=[fee_detail(returned, charge_entry["currency"], "Stripe processing fees")]
        if returned
        else [],
        exchange_rate=exchange_rate(charge["currency"], charge_entry["currency"]),
        available=charge_entry["available_on"],
    )


def refund_transaction(backend: Backend, refund: dict, charge: dict) -> dict:
    currency, _, _ = settlement(backend)
    return record(
        backend,
        amount=-convert(refund["amount"], charge["currency"], currency),
        currency=currency,
        type="refund",
        reporting_category="refund",
        source=refund["id"],
        description=_refund_description(charge),
        exchange_rate=exchange_rate(charge["currency"], currency),
    )


def _refund_description(charge: dict) -> str:
    return "REFUND FOR CHARGE" + (f" ({charge['description']})" if charge["description"] else "")


def balance(backend: Backend) -> dict:
    """GET /v1/balance: the ledger summed by currency and status, nothing kept on the side."""
    rows = backend.store.conn.execute(
        "SELECT currency, status, SUM(net) FROM objects INDEXED BY objects_balance "
        "WHERE object = 'balance_transaction' GROUP BY currency, status"
    ).fetchall()
    sums = {(currency, status): total for currency, status, total in rows}
    currencies = sorted({currency for currency, _ in sums} | {backend.account["default_currency"]})

    def entries(status: str) -> list[dict]:
        return [
            {
                "amount": sums.get((c, status), 0),
                "currency": c,
                "source_types": {
                    "bank_account": None,
                    "card": sums.get((c, status), 0),
                    "fpx": None,
                },
            }
            for c in currencies
        ]

    return {
        "object": "balance",
        "available": entries("available"),
        "connect_reserved": None,
        "instant_available": None,
        "issuing": None,
        "livemode": False,
        "pending": entries("pending"),
        "refund_and_dispute_prefunding": None,
    }


def release_pending(backend: Backend, until: int) -> int:
    """Make pending balance transactions whose `available_on` has come available."""
    data, args = field_update("status", "pending", "available")
    cursor = backend.store.conn.execute(
        "UPDATE objects INDEXED BY objects_due SET status = 'available', due = NULL, "
        f"data = {data} WHERE object = 'balance_transaction' AND status = 'pending' AND due <= ?",
        (*args, until),
    )
    return cursor.rowcount


def hand_over_pending(backend: Backend, until: int) -> None:
    """Where the ledger runs in another file (a seed's second part, see handoff), pending
    balance transactions stay pending here and only leave the clock's due instants."""
    backend.store.conn.execute(
        "UPDATE objects INDEXED BY objects_due SET due = NULL "
        "WHERE object = 'balance_transaction' AND due <= ?",
        (until,),
    )
