"""Files from outside Stripe that the analyses hold Stripe's data against: the merchant's
orders export and the bank's statement. Each is read whole and checked before any analysis
sees it: a malformed file is one error naming the file, row and column to fix."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from workbench.exceptions import CurrencyError, WorkbenchError
from workbench.money import currency_code, to_minor

ORDER_COLUMNS = ("order_id", "created", "amount", "currency", "status")


class FileError(WorkbenchError):
    """A file the workbench reads is malformed; the message names the row and column."""


def _rows(path: Path, required: tuple[str, ...], what: str) -> list[dict]:
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as stream:
            reader = csv.DictReader(stream)
            missing = [c for c in required if c not in (reader.fieldnames or ())]
            if missing:
                found = ", ".join(reader.fieldnames or ()) or "no header"
                raise FileError(
                    f"{what} {path}: missing column {missing[0]!r} (it has {found}; "
                    f"needs {', '.join(required)})"
                )
            return list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise FileError(f"cannot read {what} {path}: {reason}") from None


def _amount(text: str, currency: str, where: str) -> int:
    try:
        return to_minor(text, currency)
    except CurrencyError as exc:
        raise FileError(f"{where}, column amount: {exc}") from None


def _moment(text: str, where: str, column: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise FileError(
            f"{where}, column {column}: {text!r} is not a date (e.g. 2026-10-01T12:00:00Z)"
        )
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _currency(text: str, where: str) -> str:
    try:
        return currency_code(text)
    except CurrencyError:
        raise FileError(
            f"{where}, column currency: {text!r} is not a currency Stripe supports (e.g. USD)"
        ) from None


def read_orders(path: Path | str) -> pd.DataFrame:
    """The merchant's orders (CSV: order_id, created, amount in major units, currency,
    status), with amounts as integer minor units and currencies as Stripe writes them."""
    records, first_row = [], {}
    for number, row in enumerate(_rows(Path(path), ORDER_COLUMNS, "orders file"), start=2):
        where = f"orders file {path}, row {number}"
        order_id = (row["order_id"] or "").strip()
        if not order_id:
            raise FileError(f"{where}, column order_id: empty")
        if order_id in first_row:
            raise FileError(
                f"{where}, column order_id: {order_id!r} appears again (first on row "
                f"{first_row[order_id]})"
            )
        first_row[order_id] = number
        currency = _currency(row["currency"], where)
        records.append(
            {
                "order_id": order_id,
                "created": _moment(row["created"], where, "created"),
                "amount": _amount(row["amount"], currency, where),
                "currency": currency,
                "status": (row["status"] or "").strip().lower(),
            }
        )
    frame = pd.DataFrame(records, columns=list(ORDER_COLUMNS))
    frame["created"] = pd.to_datetime(frame["created"], utc=True)
    return frame.astype({"amount": "int64"})


STATEMENT_COLUMNS = ("date", "description", "amount", "currency")


def read_bank_statement(path: Path | str) -> pd.DataFrame:
    """A bank statement's lines (date, description, amount in integer minor units, currency,
    reference): a CSV with the columns date, description, amount (major units, signed: money
    in is positive) and currency, or an OFX file (.ofx/.qfx, read with ofxtools)."""
    path = Path(path)
    if path.suffix.lower() in (".ofx", ".qfx"):
        return _ofx_statement(path)
    records = []
    for number, row in enumerate(_rows(path, STATEMENT_COLUMNS, "bank statement"), start=2):
        where = f"bank statement {path}, row {number}"
        currency = _currency(row["currency"], where)
        records.append(
            {
                "date": _moment(row["date"], where, "date").date(),
                "description": (row["description"] or "").strip(),
                "amount": _amount(row["amount"], currency, where),
                "currency": currency,
                "reference": row.get("reference") or f"row {number}",
            }
        )
    return pd.DataFrame(records, columns=[*STATEMENT_COLUMNS, "reference"]).astype(
        {"amount": "int64"}
    )


def _ofx_statement(path: Path) -> pd.DataFrame:
    from ofxtools.Parser import OFXTree

    tree = OFXTree()
    try:
        tree.parse(str(path))
        statements = tree.convert().statements
    except Exception as exc:  # ofxtools raises its own and parser errors alike
        raise FileError(f"bank statement {path} is not a readable OFX file: {exc}") from None
    records = []
    for statement in statements:
        for line in statement.transactions:
            currency = _currency(
                getattr(line.currency, "cursym", None) or statement.curdef, f"bank statement {path}"
            )
            records.append(
                {
                    "date": line.dtposted.date(),
                    "description": " ".join(filter(None, (line.name, line.memo))),
                    "amount": _amount(str(line.trnamt), currency, f"bank statement {path}"),
                    "currency": currency,
                    "reference": line.fitid,
                }
            )
    return pd.DataFrame(records, columns=[*STATEMENT_COLUMNS, "reference"]).astype(
        {"amount": "int64"}
    )
