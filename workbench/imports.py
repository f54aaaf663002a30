"""Files from outside Stripe that the analyses hold Stripe's data against: the merchant's
orders export and the bank's statement. Each is read whole and checked before any analysis
sees it: a malformed file is one error naming the file, row and column to fix."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

from workbench import copies
from workbench.exceptions import WorkbenchError
from workbench.money import exponent
from workbench.sandbox.currencies import SUPPORTED

# Bumped whenever what read_orders gives changes shape: older parsed copies are then not read.
ORDERS_LAYOUT = 2
ORDER_COLUMNS = ("order_id", "created", "amount", "currency", "status")
STATEMENT_COLUMNS = ("date", "description", "amount", "currency")
AMOUNT = re.compile(r"(?P<sign>-?)(?P<whole>\d{1,15})(?:\.(?P<fraction>\d{0,6}))?")


class FileError(WorkbenchError):
    """A file the workbench reads is malformed; the message names the row and column."""


def read_orders(path: Path | str, copies_in: Path | None = None) -> pd.DataFrame:
    """The merchant's orders (CSV: order_id, created, amount in major units, currency,
    status), with amounts as integer minor units and currencies as Stripe writes them.
    Checked column by column over the whole file at once; the first bad row is named.
    With `copies_in` (the store's copies), a file read before is taken from its parsed
    copy, found by a digest of its bytes: a million orders parse in seconds."""
    path = Path(path)
    if copies_in is None:
        return _parsed_orders(path)
    try:
        content = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return _parsed_orders(path)  # it says what is wrong with the file
    place = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    copy = copies_in / "orders" / f"{place}.{ORDERS_LAYOUT}.{content}.pickle"
    orders = copies.kept(copy)
    if orders is None:
        orders = _parsed_orders(path)
        copies.keep(copy, orders, replaces=f"{place}.*.pickle")  # the file as it was before
    return orders


def _parsed_orders(path: Path) -> pd.DataFrame:
    table = _table(path, ORDER_COLUMNS, "orders file")
    where = f"orders file {path}"
    ids = table["order_id"].str.strip()
    _first_bad(ids == "", where, "order_id", ids, "empty")
    repeated = ids.duplicated()
    if repeated.any():
        row = repeated.idxmax()
        first = ids[ids == ids[row]].index[0]
        raise FileError(
            f"{where}, row {row + 2}, column order_id: {ids[row]!r} appears again (first on row "
            f"{first + 2})"
        )
    currency = _currencies(table["currency"], where)
    frame = pd.DataFrame(
        {
            "order_id": ids.astype(object),  # as the frames' texts: compared with them
            "created": _moments(table["created"], where, "created"),
            "amount": _amounts(table["amount"], currency, where),
            "currency": currency,
            "status": _lowered(table["status"]),
        }
    )
    return frame


def _table(path: Path, required: tuple[str, ...], what: str) -> pd.DataFrame:
    """The CSV as text columns, every required one present."""
    try:
        table = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True
        )
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        raise FileError(f"cannot read {what} {path}: {reason}") from None
    missing = [c for c in required if c not in table.columns]
    if missing:
        found = ", ".join(table.columns) or "no header"
        raise FileError(
            f"{what} {path}: missing column {missing[0]!r} (it has {found}; "
            f"needs {', '.join(required)})"
        )
    return table.reset_index(drop=True)


def _first_bad(bad: pd.Series, where: str, column: str, values: pd.Series, why: str) -> None:
    if bad.any():
        row = bad.idxmax()
        raise FileError(f"{where}, row {row + 2}, column {column}: {values[row]!r} {why}")


def _currencies(column: pd.Series, where: str) -> pd.Series:
    codes = _lowered(column)
    known = codes.isin(SUPPORTED)
    _first_bad(~known, where, "currency", column, "is not a currency Stripe supports (e.g. USD)")
    return codes


def _moments(column: pd.Series, where: str, name: str) -> pd.Series:
    found = pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601")
    _first_bad(found.isna(), where, name, column, "is not a date (e.g. 2026-10-01T12:00:00Z)")
    return found


def _amounts(column: pd.Series, currency: pd.Series, where: str) -> pd.Series:
    """Major-unit decimals as integer minor units, exactly: the digits are read as one
    integer, never as a float; more decimals than the currency has (other than trailing
    zeros) is an error. Each distinct (amount, currency) is read once: a file of a million
    orders holds far fewer distinct amounts."""
    texts, text_codes = _distinct(column)
    currencies, currency_codes = _distinct(currency)
    pairs, row_pair = np.unique(text_codes * len(currencies) + currency_codes, return_inverse=True)
    minor = np.zeros(len(pairs), dtype="int64")
    problem = np.zeros(len(pairs), dtype="int8")  # 1: not an amount, 2: too many decimals
    for index, pair in enumerate(pairs.tolist()):
        text, code = texts[pair // len(currencies)], currencies[pair % len(currencies)]
        found = AMOUNT.fullmatch(text.strip())
        digits = exponent(code)
        if found is None:
            problem[index] = 1
        elif len((found["fraction"] or "").rstrip("0")) > digits:
            problem[index] = 2
        else:
            fraction = ((found["fraction"] or "") + "0" * digits)[:digits]
            minor[index] = int(found["sign"] + found["whole"] + fraction)
    bad = problem[row_pair.ravel()]
    if bad.any():
        row = int(np.argmax(bad != 0))
        shown, code = column.iloc[row], currency.iloc[row]
        if bad[row] == 1:
            raise FileError(
                f"{where}, row {row + 2}, column amount: {shown!r} is not an amount (e.g. 10.50)"
            )
        raise FileError(
            f"{where}, row {row + 2}, column amount: {shown} {code.upper()} has more decimals "
            f"than {code.upper()}'s {exponent(code)}"
        )
    return pd.Series(minor[row_pair.ravel()], index=column.index, dtype="int64")


def _lowered(column: pd.Series) -> pd.Series:
    """Stripped and lower-cased, each distinct value once (a code or a status repeats)."""
    values, codes = _distinct(column)
    lowered = np.array([value.strip().lower() for value in values], dtype=object)
    return pd.Series(lowered[codes], index=column.index, dtype=object)


def _distinct(column: pd.Series) -> tuple[list, np.ndarray]:
    """The column's distinct values and each row's index into them."""
    codes, values = pd.factorize(column, use_na_sentinel=False)
    return list(values), codes.astype("int64")


def read_bank_statement(path: Path | str) -> pd.DataFrame:
    """A bank statement's lines (date, description, amount in integer minor units, currency,
    reference): a CSV with the columns date, description, amount (major units, signed: money
    in is positive), currency and optionally reference, or an OFX file (.ofx/.qfx, read with
    ofxtools)."""
    path = Path(path)
    if path.suffix.lower() in (".ofx", ".qfx"):
        table = _ofx_lines(path)
    else:
        table = _table(path, STATEMENT_COLUMNS, "bank statement")
    where = f"bank statement {path}"
    currency = _currencies(table["currency"], where)
    references = (
        table["reference"]
        if "reference" in table
        else pd.Series([f"row {n + 2}" for n in range(len(table))], index=table.index, dtype=object)
    )
    return pd.DataFrame(
        {
            "date": _moments(table["date"], where, "date").dt.date,
            "description": table["description"].str.strip(),
            "amount": _amounts(table["amount"], currency, where),
            "currency": currency,
            "reference": references,
        },
        columns=[*STATEMENT_COLUMNS, "reference"],
    )


def _ofx_lines(path: Path) -> pd.DataFrame:
    """An OFX statement's transactions as text columns, like a CSV's."""
    from ofxtools.Parser import OFXTree

    tree = OFXTree()
    try:
        tree.parse(str(path))
        statements = tree.convert().statements
    except Exception as exc:  # ofxtools raises its own and parser errors alike
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FileError(f"bank statement {path} is not a readable OFX file: {reason}") from None
    rows = [
        {
            "date": line.dtposted.date().isoformat(),
            "description": " ".join(filter(None, (line.name, line.memo))),
            "amount": str(line.trnamt),
            "currency": getattr(line.currency, "cursym", None) or statement.curdef,
            "reference": line.fitid,
        }
        for statement in statements
        for line in statement.transactions
    ]
    return pd.DataFrame(rows, columns=[*STATEMENT_COLUMNS, "reference"], dtype=object)
