"""Files for people and other programs, written from analysis frames: CSV with exact
decimal amounts, and the journal in the formats accountants import (a plain journal CSV,
Xero manual journals, QuickBooks Online journal entries, a Beancount ledger).

Money becomes major units here, last, per currency (JPY none, KWD three decimals), as exact
decimals: never floats. Each file is written to a temporary name and renamed into place,
so a reader never finds half a file.

Account names come from a mapping of the journal's roles (workbench.analyses.journal.ROLES)
to each product's accounts: DEFAULT_ACCOUNTS, or an `accounts.toml` that overrides any of
them (read_accounts)."""

from __future__ import annotations

import csv
import os
import tempfile
import tomllib
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import UTC, date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.analyses.journal import ROLES
from workbench.exceptions import WorkbenchError
from workbench.money import exponent, to_major

# role -> (Beancount account, Xero account code, QuickBooks Online account name)
DEFAULT_ACCOUNTS = {
    "bank": ("Assets:Bank:Checking", "090", "Checking"),
    "clearing": ("Assets:Stripe:Clearing", "610", "Stripe Clearing"),
    "sales": ("Income:Sales", "200", "Sales"),
    "refunds": ("Income:Sales:Refunds", "210", "Sales:Refunds"),
    "partial_capture_reversals": ("Income:Sales:Uncaptured", "211", "Sales:Uncaptured"),
    "disputes": ("Expenses:Stripe:Disputes", "480", "Stripe Disputes"),
    "dispute_fees": ("Expenses:Stripe:DisputeFees", "481", "Stripe Dispute Fees"),
    "stripe_fees": ("Expenses:Stripe:Fees", "404", "Stripe Fees"),
    "application_fees": ("Expenses:Stripe:ApplicationFees", "405", "Stripe Application Fees"),
    "fee_tax": ("Expenses:Stripe:FeeTax", "406", "Stripe Fee Tax"),
    "other": ("Expenses:Stripe:Unclassified", "499", "Stripe Unclassified"),
}
PRODUCTS = ("beancount", "xero", "quickbooks")
XERO_TAX_RATE = "Tax Exempt"
OPENING = "Equity:Opening-Balances"


def read_accounts(path: Path | str | None) -> dict[str, dict[str, str]]:
    """role -> {product: account} from the defaults, overridden by a TOML file such as

    [sales]
    beancount = "Income:Shop:Sales"
    xero = "200"
    quickbooks = "Sales of Product Income"
    """
    accounts = {
        role: dict(zip(PRODUCTS, names, strict=True)) for role, names in DEFAULT_ACCOUNTS.items()
    }
    if path is None:
        return accounts
    try:
        with Path(path).open("rb") as stream:
            overrides = tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise WorkbenchError(f"cannot read the accounts file {path}: {exc}") from None
    for role, names in overrides.items():
        if role not in accounts or not isinstance(names, dict):
            raise WorkbenchError(
                f"accounts file {path}: [{role}] is not a journal role (use {', '.join(ROLES)})"
            )
        for product, name in names.items():
            if product not in PRODUCTS or not isinstance(name, str) or not name:
                raise WorkbenchError(
                    f"accounts file {path}: [{role}] {product} must be one of "
                    f"{', '.join(PRODUCTS)} with a non-empty account name"
                )
            accounts[role][product] = name
    return accounts


@contextmanager
def _atomic(path: Path):
    """An open text file at a temporary name beside `path`, renamed over it on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            yield stream
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def major_text(amounts: pd.Series, currencies: pd.Series) -> pd.Series:
    """Integer minor units as exact major-unit text per currency ('10.50', '1050' for JPY,
    '1.050' for KWD), by integer arithmetic; missing stays empty. Each distinct amount is
    written once (a month's million rows hold far fewer amounts) and taken for every row."""
    known = amounts.notna().to_numpy()
    values = amounts.to_numpy(dtype="int64", na_value=0)
    codes = currencies.astype(str).to_numpy()
    text = np.full(len(amounts), "", dtype=object)
    for code in pd.unique(codes[known]):
        rows = known & (codes == code)
        distinct, each = np.unique(values[rows], return_inverse=True)
        digits = exponent(code)
        whole, fraction = np.divmod(np.abs(distinct), 10**digits)
        shown = pd.Series(whole).astype(str)
        if digits:
            shown = shown + "." + pd.Series(fraction).astype(str).str.zfill(digits)
        shown = shown.where(distinct >= 0, "-" + shown).to_numpy(dtype=object)
        text[rows] = shown[each]
    return pd.Series(text, index=amounts.index)


def utc_text(moments: pd.Series) -> pd.Series:
    """UTC moments as the text pandas would write ('2026-10-01 00:00:01+00:00'), by NumPy
    over the whole column: pandas formats a timezone-aware value at a time, some 4 s for a
    month's million. Other timezones and fractions of a second are left to pandas."""
    if moments.empty or (moments.dt.tz != UTC and str(moments.dt.tz) != "UTC"):
        return moments
    values = moments.dt.tz_localize(None).to_numpy()
    whole, missing = values.astype("datetime64[s]"), np.isnat(values)
    if (whole != values)[~missing].any():
        return moments
    text = np.strings.add(np.strings.replace(np.datetime_as_string(whole), "T", " "), "+00:00")
    text = text.astype(object)
    text[missing] = None
    return pd.Series(text, index=moments.index)


def write_csv(
    frame: pd.DataFrame, path: Path | str, money: Iterable[str] = (), currency: str = "currency"
) -> Path:
    """`frame` as CSV; the `money` columns (integer minor units of the row's `currency`
    column) as exact major-unit decimals."""
    shown = frame.copy()
    for column in money:
        if column in shown.columns:
            shown[column] = major_text(shown[column], shown[currency])
    for column in shown.columns:
        if isinstance(shown[column].dtype, pd.DatetimeTZDtype):
            shown[column] = utc_text(shown[column])
    with _atomic(Path(path)) as stream:
        shown.to_csv(stream, index=False)
    return Path(path)


def _major(amount: int, currency: str) -> Decimal:
    return to_major(int(amount), currency)


def write_journal(lines: pd.DataFrame, path: Path | str, accounts: dict) -> Path:
    """The plain journal: one row a line, debit and credit in major units, the account as
    Beancount names it (the clearest of the three)."""
    with _atomic(Path(path)) as stream:
        writer = csv.writer(stream)
        writer.writerow(
            ["entry", "date", "account", "debit", "credit", "currency", "payout", "description"]
        )
        for line in lines.itertuples(index=False):
            amount = _major(abs(line.amount), line.currency)
            writer.writerow(
                [
                    line.entry,
                    line.date.isoformat(),
                    accounts[line.role]["beancount"],
                    amount if line.amount > 0 else "",
                    amount if line.amount < 0 else "",
                    line.currency.upper(),
                    line.payout,
                    line.description,
                ]
            )
    return Path(path)


def write_xero(
    lines: pd.DataFrame, path: Path | str, accounts: dict, date_format: str = "%d/%m/%Y"
) -> Path:
    """Xero's manual journal import: rows with the same Narration and Date form one journal;
    Amount is positive for a debit, negative for a credit; TaxRate is the rate's name.
    Xero imports them as drafts, in the organisation's base currency."""
    with _atomic(Path(path)) as stream:
        writer = csv.writer(stream)
        writer.writerow(
            ["*Narration", "*Date", "Description", "*AccountCode", "*TaxRate", "*Amount"]
        )
        for line in lines.itertuples(index=False):
            writer.writerow(
                [
                    f"{line.description} ({line.currency.upper()})",
                    line.date.strftime(date_format),
                    line.role.replace("_", " "),
                    accounts[line.role]["xero"],
                    XERO_TAX_RATE,
                    _major(line.amount, line.currency),
                ]
            )
    return Path(path)


def write_quickbooks(
    lines: pd.DataFrame, path: Path | str, accounts: dict, date_format: str = "%m/%d/%Y"
) -> Path:
    """QuickBooks Online's journal entry import: rows with the same Journal No. form one
    entry; a line has Debits or Credits, never negative; Account Name as in the chart of
    accounts (Parent:Sub for a sub-account)."""
    numbers = {entry: index for index, entry in enumerate(dict.fromkeys(lines["entry"]), start=1)}
    with _atomic(Path(path)) as stream:
        writer = csv.writer(stream)
        writer.writerow(
            [
                "Journal No.",
                "Journal Date",
                "Account Name",
                "Debits",
                "Credits",
                "Description",
                "Name",
            ]
        )
        for line in lines.itertuples(index=False):
            amount = _major(abs(line.amount), line.currency)
            writer.writerow(
                [
                    f"STRIPE-{numbers[line.entry]:05d}",
                    line.date.strftime(date_format),
                    accounts[line.role]["quickbooks"],
                    amount if line.amount > 0 else "",
                    amount if line.amount < 0 else "",
                    f"{line.description} ({line.currency.upper()})",
                    "",
                ]
            )
    return Path(path)


def write_beancount(
    lines: pd.DataFrame,
    path: Path | str,
    accounts: dict,
    *,
    assertions: dict[date, dict[str, int]] | None = None,
    opening: dict[str, int] | None = None,
    title: str = "Stripe payouts",
) -> Path:
    """A Beancount ledger of the journal, with `balance` assertions for the clearing account
    (date -> {currency: minor units} held at the start of that date), for `bean-check`. The
    assertions allow no tolerance (Beancount's default would let a last-digit difference
    pass)."""
    names = {role: accounts[role]["beancount"] for role in ROLES}
    currencies = sorted(
        {c.upper() for c in lines["currency"]}
        | {c.upper() for a in (assertions or {}).values() for c in a}
        | {c.upper() for c in opening or {}}
    )
    first = min([*lines["date"], *(assertions or {})], default=date.today()) - timedelta(days=1)
    with _atomic(Path(path)) as stream:
        stream.write(f'option "title" "{title}"\n')
        for currency in currencies:
            stream.write(f'option "operating_currency" "{currency}"\n')
        stream.write("\n")
        for role in ROLES:
            stream.write(f"{first.isoformat()} open {names[role]}\n")
        carried = {c: a for c, a in (opening or {}).items() if a}
        if carried:  # what the clearing account held before these entries
            stream.write(f"{first.isoformat()} open {OPENING}\n")
            stream.write(f'\n{first.isoformat()} * "Stripe" "In transit before this ledger"\n')
            for currency, amount in sorted(carried.items()):
                stream.write(
                    f"  {names['clearing']:<40} {_major(amount, currency)} {currency.upper()}\n"
                )
                stream.write(f"  {OPENING:<40} {_major(-amount, currency)} {currency.upper()}\n")
        for _, group in lines.groupby("entry", sort=False):
            head = group.iloc[0]
            day, text, link = head["date"].isoformat(), head["description"], head["payout"]
            stream.write(f'\n{day} * "Stripe" "{text}" ^{link}\n')
            for line in group.itertuples(index=False):
                amount = _major(line.amount, line.currency)
                stream.write(f"  {names[line.role]:<40} {amount} {line.currency.upper()}\n")
        for moment, balances in sorted((assertions or {}).items()):
            for currency, amount in sorted(balances.items()):
                stream.write(
                    f"\n{moment.isoformat()} balance {names['clearing']} "
                    f"{_major(amount, currency)} ~ 0 {currency.upper()}"
                )
            stream.write("\n")
    return Path(path)
