"""Stripe's Reporting API: report types, report runs and the CSV files they produce, computed
here from the sandbox's own ledger (never from the workbench's analyses), so that a tie-out
against them compares two independent computations.

Two report types: `payout_reconciliation.itemized.5` (the automatic payouts whose effective
date, their arrival date, falls in [interval_start, interval_end), one row per balance
transaction each swept, older ones included; the payout's own `payout` balance transaction
is left out, as the workbench's itemized reconciliation leaves it out; failed payouts are
listed like paid ones, their returned funds being an item of a later payout) and
`balance.summary.1` (per currency: starting balance, activity, payouts, ending balance; the
payouts row signed as balance transactions are, negative when money left, so the four rows
roll forward as starting + activity + payouts = ending).

Stripe's CSV conventions: a header row of the columns asked for (or the type's
`default_columns`), amounts in major units as exact decimals (10.00 USD, 1500 JPY, 1.500
KWD), timestamps as `YYYY-MM-DD HH:MM:SS` in UTC (`*_utc` columns) and in the requested
timezone (the others), empty cells for what does not apply.

Data is available from the day the account was made until the last 00:00 or 12:00 UTC
(Stripe prepares report data twice a day); an interval must lie inside, edges included. A
run is computed when it is created (from the ledger as it is then) and answered `pending`;
it has succeeded by the next request to the account (the clock finishes it, see `finish`),
with its file. The file's `url` is this sandbox's own `/v1/files/{id}/contents`, served with
the key as Stripe's files host takes it (Bearer, or Basic with the key as user name).

/_sandbox/reporting/difference plants a difference in the next itemized run's file (one
row's net off by one minor unit, or one row left out), so a tie-out can be seen to catch it.
"""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from zoneinfo import ZoneInfo

from workbench.sandbox import lists
from workbench.sandbox.backend import Backend
from workbench.sandbox.currencies import SUPPORTED, exponent
from workbench.sandbox.exceptions import InvalidRequest, ParameterMissing, ResourceMissing
from workbench.sandbox.models import account
from workbench.sandbox.state import dumps, loads

RUN = "reporting.report_run"
ITEMIZED = "payout_reconciliation.itemized.5"
SUMMARY = "balance.summary.1"
DAY = 86400
PREPARED_EVERY = DAY // 2
LAST_MOMENT = 253402300799  # 9999-12-31 23:59:59 UTC: a time every date function can show
# Balance transactions of reporting categories payout and payout_reversal, as SQL.
PAID_OUT = "type IN ('payout', 'payout_cancel', 'payout_failure')"
REFUNDED = ("refund", "partial_capture_reversal", "refund_failure")
DISPUTED = ("dispute", "dispute_reversal")
METADATA_COLUMN = re.compile(r"(payment|refund)_metadata\[([^\[\]]{1,40})\]")
DIFFERENCES = ("net", "missing_row")
ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code", "country")


def _get(obj: dict | None, *path: str):
    """A nested field, None wherever a step is missing (a deleted customer, no shipping)."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def major(minor: int | None, currency: str | None) -> str | None:
    """Minor units as Stripe's CSVs write them: an exact decimal of the major unit."""
    if minor is None or currency is None:
        return None
    return str(Decimal(minor).scaleb(-exponent(currency)))


class Item:
    """One balance transaction swept into a payout, with what it concerns (charge, refund,
    dispute, customer, PaymentIntent), each read from the account's objects when a column
    first asks for it: a report of ids and amounts reads nothing more."""

    def __init__(self, backend: Backend, transaction: dict, payout: dict, zone: ZoneInfo):
        self.store, self.zone = backend.store, zone
        self.transaction, self.payout = transaction, payout
        self.category, self.source = transaction["reporting_category"], transaction["source"]

    def _read(self, object_id: str | None, kind: str | None = None) -> dict | None:
        return self.store.get(object_id, kind) if object_id else None

    @cached_property
    def refund(self) -> dict | None:
        return self._read(self.source, "refund") if self.category in REFUNDED else None

    @cached_property
    def dispute(self) -> dict | None:
        return self._read(self.source, "dispute") if self.category in DISPUTED else None

    @cached_property
    def charge(self) -> dict | None:
        if self.category == "charge":
            return self._read(self.source, "charge")
        return self._read(_get(self.refund or self.dispute, "charge"), "charge")

    @cached_property
    def customer(self) -> dict | None:
        return self._read(_get(self.charge, "customer"))  # a deleted one is its stub

    @cached_property
    def intent(self) -> dict | None:
        return self._read(_get(self.charge, "payment_intent"), "payment_intent")

    @cached_property
    def facing(self) -> dict | None:
        """What the customer saw: the refund, the dispute, or the charge itself."""
        return self.refund or self.dispute or (self.charge if self.category == "charge" else None)

    def stamp(self, moment: int | None, utc: bool) -> str | None:
        if moment is None:
            return None
        zone = UTC if utc else self.zone
        return datetime.fromtimestamp(moment, zone).strftime("%Y-%m-%d %H:%M:%S")

    def metadata(self, kind: str, key: str) -> str | None:
        """`payment_metadata[key]`: the PaymentIntent's metadata, or the charge's when the
        intent has none (Stripe's rule); `refund_metadata[key]`: the refund's."""
        if kind == "refund":
            return _get(self.refund, "metadata", key)
        source = self.intent if _get(self.intent, "metadata") else self.charge
        return _get(source, "metadata", key)


def _address(prefix: str, source: str, *path: str) -> dict:
    """The six columns of an address: `<prefix>_line1` ... `<prefix>_country`."""
    return {
        f"{prefix}_{field}": lambda item, field=field: _get(getattr(item, source), *path, field)
        for field in ADDRESS_FIELDS
    }


def _amount(field: str):
    return lambda item: major(item.transaction[field], item.transaction["currency"])


# The itemized columns the sandbox can fill, in the order of Stripe's documentation; each
# reads an Item. (Connect, invoice, order and Link columns are not offered: the sandbox has
# none of those objects, and an always-empty column would pass for an answer.)
ITEMIZED_COLUMNS = {
    "automatic_payout_id": lambda i: i.payout["id"],
    "automatic_payout_effective_at": lambda i: i.stamp(i.payout["arrival_date"], False),
    "balance_transaction_id": lambda i: i.transaction["id"],
    "created_utc": lambda i: i.stamp(i.transaction["created"], True),
    "created": lambda i: i.stamp(i.transaction["created"], False),
    "available_on_utc": lambda i: i.stamp(i.transaction["available_on"], True),
    "available_on": lambda i: i.stamp(i.transaction["available_on"], False),
    "currency": lambda i: i.transaction["currency"],
    "gross": _amount("amount"),
    "fee": _amount("fee"),
    "net": _amount("net"),
    "reporting_category": lambda i: i.transaction["reporting_category"],
    "source_id": lambda i: i.transaction["source"],
    "description": lambda i: i.transaction["description"],
    "customer_facing_amount": lambda i: major(_get(i.facing, "amount"), _get(i.facing, "currency")),
    "customer_facing_currency": lambda i: _get(i.facing, "currency"),
    "regulatory_tag": lambda i: None,  # only Brazilian accounts have one
    "automatic_payout_effective_at_utc": lambda i: i.stamp(i.payout["arrival_date"], True),
    "customer_id": lambda i: _get(i.charge, "customer"),
    "customer_email": lambda i: _get(i.customer, "email"),
    "customer_name": lambda i: _get(i.customer, "name"),
    "customer_description": lambda i: _get(i.customer, "description"),
    **_address("customer_shipping_address", "customer", "shipping", "address"),
    **_address("customer_address", "customer", "address"),
    **_address("shipping_address", "charge", "shipping", "address"),
    **_address("card_address", "charge", "billing_details", "address"),
    "charge_id": lambda i: _get(i.charge, "id"),
    "payment_intent_id": lambda i: _get(i.charge, "payment_intent"),
    "charge_created_utc": lambda i: i.stamp(_get(i.charge, "created"), True),
    "charge_created": lambda i: i.stamp(_get(i.charge, "created"), False),
    "payment_method_type": lambda i: _get(i.charge, "payment_method_details", "type"),
    "card_brand": lambda i: _get(i.charge, "payment_method_details", "card", "brand"),
    "card_funding": lambda i: _get(i.charge, "payment_method_details", "card", "funding"),
    "card_country": lambda i: _get(i.charge, "payment_method_details", "card", "country"),
    "statement_descriptor": lambda i: (
        _get(i.charge, "statement_descriptor") or _get(i.charge, "statement_descriptor_suffix")
    ),
    "dispute_reason": lambda i: _get(i.dispute, "reason"),
    "trace_id": lambda i: _get(i.payout, "trace_id", "value"),
    "trace_id_status": lambda i: _get(i.payout, "trace_id", "status"),
}
SUMMARY_COLUMNS = ("category", "description", "net_amount", "currency")
SUMMARY_ROWS = ("starting_balance", "activity", "payouts", "ending_balance")
REPORT_TYPES = {
    ITEMIZED: {
        "name": "Itemized payout reconciliation",
        "version": 5,
        # Stripe's docs mark the defaults with an icon every stored copy lost: here, the
        # transaction's own columns, up to the customer's details.
        "default_columns": list(ITEMIZED_COLUMNS)[: list(ITEMIZED_COLUMNS).index("customer_id")],
    },
    SUMMARY: {"name": "Balance summary", "version": 1, "default_columns": list(SUMMARY_COLUMNS)},
}


# report types


def availability(backend: Backend) -> tuple[int, int]:
    """[data_available_start, data_available_end]: from the account's first day to the last
    time Stripe would have prepared its data (00:00 or 12:00 UTC)."""
    created = backend.account["created"]
    start = created - created % DAY
    return start, max(start, backend.now - backend.now % PREPARED_EVERY)


def report_type_object(backend: Backend, report_type: str) -> dict:
    definition = REPORT_TYPES.get(report_type)
    if definition is None:
        raise ResourceMissing("report type", report_type)
    start, end = availability(backend)
    return {
        "id": report_type,
        "object": "reporting.report_type",
        "data_available_end": end,
        "data_available_start": start,
        "default_columns": list(definition["default_columns"]),
        "livemode": False,
        "name": definition["name"],
        "updated": end,  # Stripe updates a report type as each batch of data comes in
        "version": definition["version"],
    }


def retrieve_type(backend: Backend, params: dict, report_type: str) -> dict:
    return report_type_object(backend, report_type)


def list_types(backend: Backend, params: dict) -> dict:
    return {
        "object": "list",
        "data": [report_type_object(backend, name) for name in sorted(REPORT_TYPES)],
        "has_more": False,
        "url": "/v1/reporting/report_types",
    }


# report runs


def _moment(value: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value))


def _checked(backend: Backend, report_type: str, given: dict) -> dict:
    """The run's parameters as Stripe echoes them (every field, null when not given), or
    Stripe's 400 for a bad interval, timezone, currency or column."""
    for name in ("interval_start", "interval_end"):
        if given.get(name) is None:
            raise ParameterMissing(f"parameters[{name}]")
    start, end = given["interval_start"], given["interval_end"]
    first, last = availability(backend)
    if start < first:
        raise InvalidRequest(
            f"Data for the report type {report_type} is only available from {_moment(first)}; "
            f"you requested `interval_start` = {_moment(start)}.",
            param="parameters[interval_start]",
        )
    if end > last:
        raise InvalidRequest(
            f"Data for the report type {report_type} is only available through "
            f"{_moment(last)}; you requested `interval_end` = {_moment(end)}.",
            param="parameters[interval_end]",
        )
    if start >= end:
        raise InvalidRequest(
            "`interval_start` must be before `interval_end`.", param="parameters[interval_start]"
        )
    timezone = given.get("timezone")
    if timezone is not None and timezone not in account.timezones():
        raise InvalidRequest(
            f"Invalid timezone: {timezone[:60]!r} is not an IANA time zone name such as "
            "America/New_York.",
            param="parameters[timezone]",
        )
    currency = given.get("currency")
    currency = currency.lower() if currency is not None else None
    if currency is not None and currency not in SUPPORTED:
        raise InvalidRequest(
            f"Invalid currency: {currency[:20]}. Use a three-letter ISO code in lower case.",
            param="parameters[currency]",
        )
    columns = given.get("columns")
    known = [*ITEMIZED_COLUMNS, "payment_metadata[key]", "refund_metadata[key]"]
    if report_type == SUMMARY:
        known = list(SUMMARY_COLUMNS)
    for index, column in enumerate(columns or ()):
        metadata = report_type == ITEMIZED and METADATA_COLUMN.fullmatch(column)
        if column not in known and not metadata:
            raise InvalidRequest(
                f"Invalid column {column[:100]!r} for {report_type}: the sandbox offers "
                f"{', '.join(known)}.",
                param=f"parameters[columns][{index}]",
            )
    category = given.get("reporting_category")
    if category is not None and report_type != ITEMIZED:
        raise InvalidRequest(
            f"{report_type} does not take parameters[reporting_category].",
            param="parameters[reporting_category]",
        )
    return {
        "columns": columns,
        "connected_account": None,
        "currency": currency,
        "interval_end": end,
        "interval_start": start,
        "payout": None,
        "reporting_category": category,
        "timezone": timezone,
    }


def create_run(backend: Backend, params: dict) -> dict:
    """Check the parameters, compute the report from the ledger now, keep its file, and
    answer the run as `pending` (the clock finishes it: see `finish`)."""
    report_type = params["report_type"]
    if report_type not in REPORT_TYPES:
        raise ResourceMissing("report type", report_type, "report_type")
    parameters = _checked(backend, report_type, params.get("parameters") or {})
    contents = (itemized if report_type == ITEMIZED else balance_summary)(backend, parameters)
    run = {
        "id": backend.new_id("frr"),
        "object": RUN,
        "created": backend.now,
        "error": None,
        "livemode": False,
        "parameters": parameters,
        "report_type": report_type,
        "result": None,
        "status": "pending",
        "succeeded_at": None,
    }
    data = contents.encode("utf-8")
    file = {
        "id": backend.new_id("file"),
        "object": "file",
        "created": backend.now,
        "expires_at": None,
        "filename": f"{run['id']}.csv",
        "links": None,
        "purpose": "finance_report_run",
        "size": len(data),
        "title": f"FinanceReportRun {run['id']}",
        "type": "csv",
        "url": None,
    }
    file["links"] = {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": f"/v1/file_links?file={file['id']}",
    }
    file["url"] = _url(backend, file["id"])
    backend.store.insert(file, private={"contents": contents})
    backend.store.insert(run, private={"file": file["id"]}, due=backend.now)
    return run


def finish(backend: Backend, run_id: str) -> None:
    """The clock's step for a pending run: it succeeds with its file, and Stripe's
    `reporting.report_run.succeeded` event says so."""
    run = backend.get(run_id, RUN)
    if run["status"] != "pending":
        backend.store.update(run, due=None)
        return
    file = backend.get(backend.store.private(run_id)["file"], "file")
    with backend.change(run, due=None):
        run.update(result=file, status="succeeded", succeeded_at=backend.now)
    backend.emit("reporting.report_run.succeeded", run)


def _url(backend: Backend, file_id: str) -> str | None:
    """Where the file's contents are: this sandbox's own address, as the request reached it."""
    return f"{backend.origin}/v1/files/{file_id}/contents" if backend.origin else None


def _located(backend: Backend, run: dict) -> dict:
    """The run with its file's url on the address that answers now (the stored one may be a
    sandbox started earlier on another port)."""
    if not run["result"] or not backend.origin:
        return run
    return {**run, "result": {**run["result"], "url": _url(backend, run["result"]["id"])}}


def retrieve_run(backend: Backend, params: dict, report_run: str) -> dict:
    return _located(backend, backend.get(report_run, RUN))


def list_runs(backend: Backend, params: dict) -> str:
    page = loads(lists.page(backend, RUN, params, "/v1/reporting/report_runs"))
    page["data"] = [_located(backend, run) for run in page["data"]]
    return dumps(page)


# files


def retrieve_file(backend: Backend, params: dict, file: str) -> dict:
    obj = backend.get(file, "file")
    return {**obj, "url": _url(backend, obj["id"])} if backend.origin else obj


def contents(backend: Backend, params: dict, file: str) -> bytes:
    backend.get(file, "file")
    return backend.store.private(file)["contents"].encode("utf-8")


# the reports


def _csv(header: list[str], rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return out.getvalue()


def _zone(parameters: dict) -> ZoneInfo:
    return ZoneInfo(parameters["timezone"] or "Etc/UTC")


def plant(backend: Backend, params: dict) -> dict:
    """/_sandbox/reporting/difference: what the next itemized run's file gets wrong."""
    if params.get("balance_transaction"):
        backend.get(
            params["balance_transaction"], "balance_transaction", param="balance_transaction"
        )
    planted = {
        "balance_transaction": params.get("balance_transaction"),
        "difference": params["difference"],
    }
    backend.store.set_setting("report_difference", planted)
    return {"planted": planted}


def _planted(backend: Backend, rows: list[tuple[dict, dict]]) -> list[tuple[dict, dict]]:
    """The rows with the planted difference, if one waits (used up by this run): the named
    balance transaction's row (or the first) with its net one minor unit more, or left out."""
    planted = backend.store.setting("report_difference")
    if not planted or not rows:
        return rows
    backend.store.set_setting("report_difference", None)
    target = planted["balance_transaction"] or rows[0][0]["id"]
    changed = []
    for transaction, payout in rows:
        if transaction["id"] == target:
            if planted["difference"] == "missing_row":
                continue
            transaction = {**transaction, "net": transaction["net"] + 1}
        changed.append((transaction, payout))
    return changed


def itemized(backend: Backend, parameters: dict) -> str:
    """payout_reconciliation.itemized.5: every balance transaction each automatic payout
    effective in the interval swept (its own `payout` transaction apart), by payout."""
    conn = backend.store.conn
    clauses, args = "", [parameters["interval_start"], parameters["interval_end"]]
    if parameters["currency"]:
        clauses, args = " AND currency = ?", [*args, parameters["currency"]]
    payouts = [
        loads(row[0])
        for row in conn.execute(
            "SELECT data FROM objects WHERE object = 'payout' "
            "AND json_extract(data, '$.automatic') = 1 "
            "AND json_extract(data, '$.arrival_date') >= ? "
            f"AND json_extract(data, '$.arrival_date') < ?{clauses} "
            "ORDER BY json_extract(data, '$.arrival_date'), created, seq",
            args,
        )
    ]
    category = parameters["reporting_category"]
    rows = []
    for payout in payouts:
        for (text,) in conn.execute(
            "SELECT data FROM objects INDEXED BY objects_payout WHERE payout = ? "
            "AND object = 'balance_transaction' AND type != 'payout' ORDER BY created, seq",
            (payout["id"],),
        ):
            transaction = loads(text)
            if category is None or transaction["reporting_category"] == category:
                rows.append((transaction, payout))
    columns = parameters["columns"] or REPORT_TYPES[ITEMIZED]["default_columns"]
    readers = [_reader(column) for column in columns]
    zone = _zone(parameters)
    items = (
        Item(backend, transaction, payout, zone) for transaction, payout in _planted(backend, rows)
    )
    return _csv(columns, ([read(item) for read in readers] for item in items))


def _reader(column: str):
    metadata = METADATA_COLUMN.fullmatch(column)
    if metadata:
        return lambda item: item.metadata(metadata.group(1), metadata.group(2))
    return ITEMIZED_COLUMNS[column]


def balance_summary(backend: Backend, parameters: dict) -> str:
    """balance.summary.1: per currency, the balance (available and pending) before the
    interval, the activity in it (all but payouts and returned payouts), its payouts and the
    balance at its end."""
    start, end = parameters["interval_start"], parameters["interval_end"]
    sums = {}
    for currency, *totals in backend.store.conn.execute(
        "SELECT currency, SUM(CASE WHEN created < :start THEN net ELSE 0 END), "
        f"SUM(CASE WHEN created >= :start AND NOT {PAID_OUT} THEN net ELSE 0 END), "
        f"SUM(CASE WHEN created >= :start AND {PAID_OUT} THEN net ELSE 0 END), "
        "SUM(net) FROM objects WHERE object = 'balance_transaction' AND created < :end "
        "GROUP BY currency",
        {"start": start, "end": end},
    ):
        sums.update(
            ((name, currency), total) for name, total in zip(SUMMARY_ROWS, totals, strict=True)
        )
    currencies = sorted({currency for _, currency in sums} | {backend.account["default_currency"]})
    if parameters["currency"]:
        currencies = [parameters["currency"]]
    zone = _zone(parameters)
    first = datetime.fromtimestamp(start, zone).strftime("%Y-%m-%d")
    last = datetime.fromtimestamp(end - 1, zone).strftime("%Y-%m-%d")
    descriptions = (
        f"Starting balance ({first})",
        "Activity",
        "Total payouts",
        f"Ending balance ({last})",
    )
    columns = parameters["columns"] or list(SUMMARY_COLUMNS)
    rows = []
    for currency in currencies:
        for name, description in zip(SUMMARY_ROWS, descriptions, strict=True):
            values = {
                "category": name,
                "description": description,
                "net_amount": major(sums.get((name, currency), 0), currency),
                "currency": currency,
            }
            rows.append([values[column] for column in columns])
    return _csv(columns, rows)
