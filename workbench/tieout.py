"""The tie-out: Stripe's own `payout_reconciliation.itemized.5` for a month, compared row by
row (by balance transaction) with the workbench's reconciliation of the same month. Two
computations of one thing, made apart: where they differ, one of them is wrong (or the store
is behind), and the report says so.

    result = tieout.tie_out(session, period, review.reconciliation)
    result.agrees, result.differences, result.summary()

Getting Stripe's figures is the only I/O (`fetch`: a report run, polled until it succeeds,
then its file downloaded with the key through plain HTTP, as Stripe's SDK has no download
helper); reading the CSV (`parse`) and comparing (`compare`) are pure. Stripe's CSV has
major units as decimals: they become integer minor units here, exactly, per currency.

With Stripe, a restricted key needs only "Report runs and report types: Read"
(`report_runs_and_report_types_read`, which allows creating runs) and "Files: Read" to
download them. The key goes only to Stripe's files host or to the API's own host, in the
Authorization header; no message here ever holds it.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import stripe

from workbench.config import redact
from workbench.exceptions import CurrencyError, WorkbenchError
from workbench.money import currency_code, to_major, to_minor
from workbench.periods import Period

REPORT_TYPE = "payout_reconciliation.itemized.5"
# What is asked for and compared: the row's payout, category and money.
TEXT = ("automatic_payout_id", "currency", "reporting_category")
MONEY = ("gross", "fee", "net")
FIELDS = (*TEXT, *MONEY)
COLUMNS = ["balance_transaction_id", *FIELDS]
TIMEOUT = 300  # seconds to wait for Stripe's run; the sandbox's is done at once
FIRST_WAIT, LONGEST_WAIT = 1.0, 30.0
DOWNLOAD_TIMEOUT = 120
FILES_HOST = "files.stripe.com"
SHOWN = 20  # differences listed in words in the report; tie_out.csv has every one
DIFFERENCES = ("only_in_stripe", "only_in_workbench", "repeated", "differs")


class TieOutFailed(WorkbenchError):
    """Stripe's report could not be had (refused, failed, too slow, unreadable)."""


# getting Stripe's report


def _scrubbed(text: str, key: str) -> str:
    return text.replace(key, redact(key)) if key else text


def request_run(client: stripe.StripeClient, period: Period, key: str = "") -> str:
    """Ask Stripe for the month's report: the automatic payouts effective in [start, end),
    with the month's timezone for the local columns; returns the run's id."""
    try:
        run = client.v1.reporting.report_runs.create(
            params={
                "report_type": REPORT_TYPE,
                "parameters": {
                    "interval_start": int(period.start.timestamp()),
                    "interval_end": int(period.end.timestamp()),
                    "timezone": period.timezone,
                    "columns": COLUMNS,
                },
            }
        )
    except stripe.StripeError as exc:
        reason = _scrubbed(exc.user_message or type(exc).__name__, key)
        raise TieOutFailed(f"no Stripe report for {period.label}: {reason}") from None
    return run.id


def wait_for(
    client: stripe.StripeClient,
    run_id: str,
    *,
    timeout: float = TIMEOUT,
    sleep=time.sleep,
    clock=time.monotonic,
) -> str:
    """Poll the run (at once, then after 1, 2, 4 ... 30 s) until it succeeds; its file's
    url. A failed run, or one still pending after `timeout` seconds, is a TieOutFailed."""
    deadline, wait = clock() + timeout, FIRST_WAIT
    while True:
        try:
            run = client.v1.reporting.report_runs.retrieve(run_id)
        except stripe.StripeError as exc:
            raise TieOutFailed(
                f"could not read Stripe's report run {run_id}: {type(exc).__name__}"
            ) from None
        if run.status == "succeeded":
            return run.result.url
        if run.status != "pending":
            raise TieOutFailed(f"Stripe's report run {run_id} {run.status}: {run.error}")
        if clock() + wait > deadline:
            raise TieOutFailed(
                f"Stripe's report run {run_id} was still pending after {timeout:.0f} s; "
                "run the tie-out again later"
            )
        sleep(wait)
        wait = min(wait * 2, LONGEST_WAIT)


def download(url: str, key: str, api_base: str) -> str:
    """The file's text, fetched with the key as Stripe's files host takes it (HTTP Basic,
    the key as user name); only from that host or the API's own (a sandbox)."""
    import requests

    where = urlsplit(url or "")
    trusted = {FILES_HOST, urlsplit(api_base).netloc}
    if where.scheme not in ("https", "http") or where.netloc not in trusted:
        raise TieOutFailed(
            f"Stripe's report file is at {where.netloc or 'no address'}, not at {FILES_HOST} "
            "or the API's host: the key is not sent there"
        )
    try:
        answer = requests.get(url, auth=(key, ""), timeout=DOWNLOAD_TIMEOUT)
    except requests.RequestException as exc:
        raise TieOutFailed(
            f"could not download Stripe's report file: {type(exc).__name__}"
        ) from None
    if answer.status_code != 200:
        raise TieOutFailed(f"could not download Stripe's report file: HTTP {answer.status_code}")
    answer.encoding = "utf-8"
    return answer.text


def fetch(session, period: Period, *, timeout: float = TIMEOUT) -> tuple[str, str]:
    """Stripe's report for the session's account and `period`: (run id, CSV text)."""
    key = session.account_config.key.reveal()
    run_id = request_run(session.client, period, key)
    url = wait_for(session.client, run_id, timeout=timeout)
    return run_id, download(url, key, session.api_base)


# reading and comparing (pure)


def parse(text: str) -> pd.DataFrame:
    """Stripe's CSV as a frame of COLUMNS, money in integer minor units of each row's
    currency, exactly (a figure with more decimals than its currency has is an error)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in COLUMNS if name not in (reader.fieldnames or ())]
    if missing:
        raise TieOutFailed(f"Stripe's report has no column {missing[0]!r}")
    rows = []
    for line, row in enumerate(reader, start=2):
        try:
            currency = currency_code(row["currency"])
            money = {name: to_minor(row[name], currency) for name in MONEY}
        except CurrencyError as exc:
            raise TieOutFailed(f"Stripe's report, line {line}: {exc}") from None
        rows.append({**{name: row[name] for name in COLUMNS}, "currency": currency, **money})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({name: "int64" for name in MONEY})


def _side(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """One side's rows by balance transaction, its fields prefixed with `name`, and whether
    the transaction appears more than once."""
    table = frame[COLUMNS].astype({**{f: "object" for f in TEXT}, **{m: "Int64" for m in MONEY}})
    table[f"{name}_repeated"] = table["balance_transaction_id"].duplicated(keep=False)
    table = table.drop_duplicates("balance_transaction_id").set_index("balance_transaction_id")
    return table.rename(columns={f: f"{name}_{f}" for f in FIELDS})


def compare(theirs: pd.DataFrame, ours: pd.DataFrame) -> pd.DataFrame:
    """Every balance transaction on which Stripe's rows and ours disagree: only in Stripe's,
    only in ours, in either more than once, or in both with `fields` that differ. Each
    side's values stand beside each other (money in minor units of that side's currency)."""
    joined = _side(theirs, "stripe").join(_side(ours, "workbench"), how="outer")
    in_stripe = joined["stripe_currency"].notna()
    in_ours = joined["workbench_currency"].notna()
    flags = pd.DataFrame(
        {
            f: (joined[f"stripe_{f}"] != joined[f"workbench_{f}"]).fillna(True)
            & in_stripe
            & in_ours
            for f in FIELDS
        },
        index=joined.index,
    )
    joined["fields"] = [
        ",".join(f for f, differs in zip(FIELDS, row, strict=True) if differs)
        for row in flags.itertuples(index=False)
    ]
    repeated = joined[["stripe_repeated", "workbench_repeated"]].eq(True).any(axis=1)
    joined["difference"] = np.select(
        [~in_ours, ~in_stripe, repeated, joined["fields"] != ""],
        ["only_in_stripe", "only_in_workbench", "repeated", "differs"],
        default="",
    )
    found = joined[joined["difference"] != ""].reset_index()
    payout = found["stripe_automatic_payout_id"].fillna(found["workbench_automatic_payout_id"])
    order = np.lexsort((found["balance_transaction_id"].to_numpy(), payout.to_numpy(dtype=str)))
    columns = [
        "balance_transaction_id",
        "difference",
        "fields",
        *(f"{side}_{field}" for field in FIELDS for side in ("stripe", "workbench")),
    ]
    return found.iloc[order][columns].reset_index(drop=True)


@dataclass(frozen=True)
class TieOut:
    """Stripe's report beside ours for one month: what differs, and enough to say so."""

    month: str
    run: str
    differences: pd.DataFrame
    stripe_rows: int
    workbench_rows: int
    payouts: int

    @property
    def agrees(self) -> bool:
        return self.differences.empty

    def summary(self) -> dict:
        kinds = self.differences["difference"].value_counts()
        return {
            "agrees": self.agrees,
            "report_run": self.run,
            "stripe_rows": self.stripe_rows,
            "workbench_rows": self.workbench_rows,
            "payouts": self.payouts,
            "differences": len(self.differences),
            **{kind: int(kinds.get(kind, 0)) for kind in DIFFERENCES},
        }

    def lines(self) -> list[str]:
        """The result in words, and the first differences one by one."""
        if self.agrees:
            return [
                f"Stripe's own {REPORT_TYPE} for {self.month} agrees with ours row by row: "
                f"{_count(self.stripe_rows, 'balance transaction')} in "
                f"{_count(self.payouts, 'payout')} "
                f"(report run {self.run})."
            ]
        lines = [
            f"Stripe's own {REPORT_TYPE} for {self.month} differs from ours in "
            f"{_count(len(self.differences), 'balance transaction')} (report run {self.run}; "
            f"Stripe lists {self.stripe_rows} rows, we list {self.workbench_rows}):"
        ]
        lines += [_in_words(row) for row in self.differences.head(SHOWN).itertuples()]
        if len(self.differences) > SHOWN:
            lines.append(f"... and {len(self.differences) - SHOWN} more: tie_out.csv has them all.")
        return lines

    def _repr_markdown_(self) -> str:
        first, *rest = self.lines()
        return "\n".join([first, "", *(f"- {line}" for line in rest)])

    def __repr__(self) -> str:
        return "\n".join(self.lines())


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def _shown(row, side: str, field: str) -> str:
    value = getattr(row, f"{side}_{field}")
    if field in MONEY:
        currency = getattr(row, f"{side}_currency")
        return f"{to_major(int(value), currency)} {currency.upper()}"
    return str(value)


def _in_words(row) -> str:
    side = "stripe" if row.difference != "only_in_workbench" else "workbench"
    where = (
        f"`{row.balance_transaction_id}` ({getattr(row, f'{side}_automatic_payout_id')}, "
        f"{getattr(row, f'{side}_reporting_category')}, net {_shown(row, side, 'net')})"
    )
    if row.difference == "only_in_stripe":
        return f"{where}: only in Stripe's report."
    if row.difference == "only_in_workbench":
        return f"{where}: only in ours."
    if row.difference == "repeated":
        return f"{where}: listed more than once."
    return f"`{row.balance_transaction_id}`: " + "; ".join(
        f"{field} is {_shown(row, 'stripe', field)} in Stripe's, "
        f"{_shown(row, 'workbench', field)} in ours"
        for field in row.fields.split(",")
    )


def tie_out(session, period: Period, ours: pd.DataFrame, *, timeout: float = TIMEOUT) -> TieOut:
    """Stripe's report for `period` against `ours` (MonthlyReview.reconciliation)."""
    run, text = fetch(session, period, timeout=timeout)
    theirs = parse(text)
    payouts = set(theirs["automatic_payout_id"]) | set(ours["automatic_payout_id"])
    return TieOut(period.label, run, compare(theirs, ours), len(theirs), len(ours), len(payouts))
