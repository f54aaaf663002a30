"""Files from outside Stripe that the analyses hold Stripe's data against: the merchant's
orders export and the bank's statement. Each is read whole and checked before any analysis
sees it: a malformed file is one error naming the file, row and column to fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbench.exceptions import WorkbenchError
from workbench.money import exponent
from workbench.sandbox.currencies import SUPPORTED

ORDER_COLUMNS = ("order_id", "created", "amount", "currency", "status")
STATEMENT_COLUMNS = ("date", "description", "amount", "currency")


class FileError(WorkbenchError):
    """A file the workbench reads is malformed; the message names the row and column."""


def read_orders(path: Path | str) -> pd.DataFrame:
    """The merchant's orders (CSV: order_id, created, amount in major units, currency,
    status), with amounts as integer minor units and currencies as Stripe writes them.
    Checked column by column over the whole file at once; the first bad row is named."""
    path = Path(path)
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
            "order_id": ids,
            "created": _moments(table["created"], where, "created"),
            "amount": _amounts(table["amount"], currency, where),
            "currency": currency,
            "status": table["status"].str.strip().str.lower(),
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
    codes = column.str.strip().str.lower()
    known = codes.isin(SUPPORTED)
    _first_bad(~known, where, "currency", column, "is not a currency Stripe supports (e.g. USD)")
    return codes


def _moments(column: pd.Series, where: str, name: str) -> pd.Series:
    found = pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601")
    _first_bad(found.isna(), where, name, column, "is not a date (e.g. 2026-10-01T12:00:00Z)")
    return found


def _amounts(column: pd.Series, currency: pd.Series, where: str) -> pd.Series:
    """Major-unit decimals as integer minor units, exactly: the digits are read as one
    integer and shifted by powers of ten, never multiplied as floats; more decimals than the
    currency has (other than trailing zeros) is an error."""
    text = column.str.strip()
    well_formed = text.str.fullmatch(r"-?\d{1,15}(?:\.\d{0,6})?").fillna(False)
    _first_bad(~well_formed, where, "amount", column, "is not an amount (e.g. 10.50)")
    digits = currency.map({code: exponent(code) for code in currency.unique()})
    point = text.str.find(".")
    decimals = (text.str.len() - point - 1).where(point >= 0, 0)
    shown = text.str.rstrip("0").where(point >= 0, text)
    significant = (shown.str.len() - point - 1).where(point >= 0, 0).clip(lower=0)
    too_many = significant > digits
    if too_many.any():
        row = too_many.idxmax()
        raise FileError(
            f"{where}, row {row + 2}, column amount: {column[row]} {currency[row].upper()} has "
            f"more decimals than {currency[row].upper()}'s {digits[row]}"
        )
    number = text.str.replace(".", "", regex=False).astype("int64").to_numpy()
    shift = (digits - decimals).to_numpy()
    up = np.power(10, np.clip(shift, 0, None), dtype="int64")
    down = np.power(10, np.clip(-shift, 0, None), dtype="int64")
    return pd.Series(number * up // down, index=column.index, dtype="int64")


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
