"""What Stripe charged: fees by type (`fee_details`: Stripe's own, application fees, tax),
by reporting category, by the currency the customer paid in, and the effective rate
(fees over the gross of captured charges). Fees are in settlement currency, as Stripe
books them."""

from __future__ import annotations

import pandas as pd

from workbench.analyses._frames import lookup, named, ratio, totals

TYPES = {"fee.stripe_fee": "stripe_fee", "fee.application_fee": "application_fee", "fee.tax": "tax"}


def by_type(transactions: pd.DataFrame) -> pd.DataFrame:
    """Per settlement currency and fee type, the total (types with nothing left out)."""
    rows = []
    for currency, group in transactions.groupby("currency", observed=True):
        for column, name in TYPES.items():
            amount = int(group[column].sum())
            if amount:
                rows.append({"currency": str(currency), "fee_type": name, "amount": amount})
    return pd.DataFrame(rows, columns=["currency", "fee_type", "amount"]).astype(
        {"amount": "int64"}
    )


def by_category(transactions: pd.DataFrame) -> pd.DataFrame:
    """Per reporting category and settlement currency: count, gross, fee and net."""
    frame = transactions.rename(columns={"amount": "gross"})
    return totals(frame, ["reporting_category", "currency"], ["gross", "fee", "net"])


def effective_rate(transactions: pd.DataFrame) -> pd.DataFrame:
    """Per settlement currency: all fees, the gross of captured charges, and their ratio."""
    charged = transactions[transactions["reporting_category"] == "charge"]
    fees = totals(transactions, ["currency"], ["fee"]).set_index("currency")
    gross = totals(charged, ["currency"], ["amount"]).set_index("currency")["amount"]
    result = fees.drop(columns="count").assign(gross=gross).fillna(0).astype("int64").reset_index()
    result["effective_rate"] = ratio(result["fee"], result["gross"])
    return result


def by_presentment(transactions: pd.DataFrame, charges: pd.DataFrame) -> pd.DataFrame:
    """Charge fees by the currency the customer paid in (still in settlement currency):
    what paying in another currency costs."""
    charged = transactions[transactions["reporting_category"] == "charge"]
    # Stripe gives an exchange rate only where it converted: every other charge was paid in
    # the settlement currency, so only the converted ones are looked up among the charges.
    presentment = charged["currency"].astype("category")
    converted = charged["source"][charged["exchange_rate"].notna()]
    if len(converted):
        found = lookup(converted, named(charges, converted)["currency"].astype("object"))
        currencies = set(presentment.cat.categories) | set(found.dropna())
        presentment = presentment.cat.set_categories(sorted(currencies))
        presentment[converted.index] = found
    frame = charged.assign(presentment_currency=presentment)
    result = totals(frame, ["presentment_currency", "currency"], ["amount", "fee"])
    result = result.rename(columns={"currency": "settlement_currency", "amount": "gross"})
    result["effective_rate"] = ratio(result["fee"], result["gross"])
    return result
