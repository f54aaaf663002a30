"""The account at a glance, for the start of every notebook: who we are talking to (the key
redacted), every configured account side by side, what the local store holds, and the
account's settings that answer the first questions (statement descriptor, payout timing).
Also `export`, for notebooks that write CSVs only when asked to."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import workbench
from workbench import exports, periods
from workbench.analyses import charges, deposits, disputes, orders
from workbench.store import KINDS
from workbench.sync import DEFAULT_KINDS, KindState


def connection(wb) -> pd.DataFrame:
    """Which account, profile, mode and key (redacted) this session uses."""
    key = wb.account_config.key
    facts = {
        "account": wb.account,
        "profile": wb.profile,
        "mode": key.mode,
        "key": repr(key),
        "restricted key": key.restricted,
        "timezone": wb.timezone,
        "live writes": "allowed" if wb.settings.allow_live_writes else "refused",
    }
    return pd.DataFrame({"what": list(facts), "value": [str(v) for v in facts.values()]})


def account_settings(wb) -> pd.DataFrame:
    """What the account tells customers and when it pays out (GET /v1/account)."""
    account = wb.client.v1.accounts.retrieve_current().to_dict()
    settings = account.get("settings") or {}
    schedule = (settings.get("payouts") or {}).get("schedule") or {}
    facts = {
        "name": ((settings.get("dashboard") or {}).get("display_name")),
        "country": account.get("country"),
        "settles in": str(account.get("default_currency") or "").upper(),
        "statement descriptor": (settings.get("payments") or {}).get("statement_descriptor"),
        "descriptor prefix (for suffixes)": (settings.get("card_payments") or {}).get(
            "statement_descriptor_prefix"
        ),
        "payout schedule": schedule.get("interval"),
        "payout delay (days)": schedule.get("delay_days"),
    }
    return pd.DataFrame({"what": list(facts), "value": [str(v) for v in facts.values()]})


def store_contents(wb) -> pd.DataFrame:
    """Per object type: how many the store holds for this account, and when last synced."""
    partition = wb.partition()
    rows = []
    for kind in DEFAULT_KINDS:
        (count,) = wb.store.conn.execute(
            f"SELECT count(*) FROM {KINDS[kind].name} WHERE account = ?", (partition,)
        ).fetchone()
        synced = KindState.load(wb.store, partition, kind).synced_at
        rows.append(
            {
                "object": kind,
                "stored": count,
                "synced": pd.Timestamp(synced, unit="s", tz="UTC").floor("s") if synced else None,
            }
        )
    return pd.DataFrame(rows)


def side_by_side(month: str | None, names: list[str] | None = None, settings=None) -> pd.DataFrame:
    """Every configured account (or `names`), each synced and summed for `month`: captured
    volume per currency, balance at the month's end, payouts arriving, open disputes.
    Accounts operate independently; nothing is added across them."""
    settings = settings or workbench.config.load()
    rows = []
    for name in names or sorted(settings.accounts):
        wb = workbench.connect(name, settings)
        wb.sync(progress=False)
        period = periods.month_bounds(month, wb.timezone)
        charged = wb.charges(period.start, period.end)
        volume = charges.refund_rate(charged).set_index("currency")["captured"]
        payouts = wb.payouts(period.start - pd.Timedelta(days=35), period.end)
        arriving = payouts[payouts["arrival_date"] >= pd.Timestamp(period.start)]
        paid_out = arriving.groupby("currency", observed=True)["amount"].sum()
        balance = wb.balance_at(period.end).set_index("currency")["balance"]
        open_now = wb.disputes(end=period.end)
        open_now = open_now[open_now["status"].isin(disputes.OPEN)]
        for currency in sorted(set(volume.index) | set(balance.index)):
            rows.append(
                {
                    "account": name,
                    "timezone": wb.timezone,
                    "currency": currency,
                    "captured": int(volume.get(currency, 0)),
                    "paid_out": int(paid_out.get(currency, 0)),
                    "balance_at_end": int(balance.get(currency, 0)),
                    "open_disputes": int((open_now["currency"] == currency).sum()),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "account",
            "timezone",
            "currency",
            "captured",
            "paid_out",
            "balance_at_end",
            "open_disputes",
        ],
    )


def export(out: Path | str | None, tables: dict[str, tuple[pd.DataFrame, tuple]]) -> list[str]:
    """Write each table as `<out>/<name>.csv` (its money columns as exact decimals); with
    `out` None nothing is written, and the answer says so."""
    if out is None:
        return [f"not written: set out to a folder to write {', '.join(tables)}"]
    written = []
    for name, (frame, money) in tables.items():
        path = exports.write_csv(frame, Path(out) / f"{name}.csv", money)
        written.append(f"{path.name}: {len(frame):,} rows")
    return written


def as_of(wb, moment=None) -> pd.Timestamp:
    """The moment a question is asked (hours left, cards expiring): `moment` if given
    (a date, datetime or ISO string; naive is UTC), else when the store was last synced."""
    if moment is not None:
        stamp = pd.Timestamp(moment)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    synced = wb.synced_at(DEFAULT_KINDS)
    return (
        pd.Timestamp(synced, unit="s", tz="UTC").floor("s") if synced else pd.Timestamp.now("UTC")
    )


def orders_file(wb, path=None) -> Path | None:
    """The shop's orders export: `path`, or for a sandbox account the orders file its seed
    wrote beside its state (None when there is none)."""
    return _file(wb, path, "orders_path")


def statement_file(wb, path=None) -> Path | None:
    """The bank statement: `path`, or for a sandbox account the one its seed wrote."""
    return _file(wb, path, "statement_path")


def _file(wb, path, which: str) -> Path | None:
    if path is not None:
        return Path(path)
    if wb.profile != "sandbox":
        return None
    from workbench.sandbox import seed

    found = getattr(seed, which)(wb.settings.data_dir, wb.account)
    return found if found.exists() else None


def period(wb, start, end) -> dict:
    """`start` and `end` days (or moments) read in the account's timezone, as the
    start=/end= of an analysis."""

    def local(value):
        if value is None:
            return None
        stamp = pd.Timestamp(value)
        return stamp.tz_localize(wb.timezone) if stamp.tzinfo is None else stamp

    return {"start": local(start), "end": local(end)}


def export_file(out, frame: pd.DataFrame, money=("amount",)) -> str:
    """Write `frame` to the CSV file `out` (money as exact decimals); None writes nothing."""
    if out is None:
        return "not written: set out to a CSV file name to write the selection"
    path = exports.write_csv(frame, out, money)
    return f"{path.name}: {len(frame):,} rows"


def journal_exports(out, review) -> list[str]:
    """The month's journal as a plain CSV and for Xero, QuickBooks Online and Beancount
    (with the clearing account's balance asserted at the month's start and end)."""
    if out is None:
        return ["not written: set out to a folder to write the journal and its exports"]
    folder = Path(out)
    lines, accounts = review.journal, review.accounts
    written = [
        exports.write_journal(lines, folder / "journal.csv", accounts),
        exports.write_xero(lines, folder / "journal_xero.csv", accounts),
        exports.write_quickbooks(lines, folder / "journal_quickbooks.csv", accounts),
        exports.write_beancount(
            lines,
            folder / "journal.beancount",
            accounts,
            assertions={
                review.start.date(): review.clearing["start"],
                review.end.date(): review.clearing["end"],
            },
        ),
    ]
    return [path.name for path in written]


def orders_summary(review) -> pd.DataFrame | str:
    """The month's orders by class and currency, or why there are none to show."""
    if review.orders is None:
        return "no orders file: set orders to the shop's orders CSV"
    return orders.summary(review.orders)


def order_problems(review) -> pd.DataFrame | str:
    """Every order or charge that needs a person, or why there is no list."""
    if review.orders is None:
        return "no orders file: set orders to the shop's orders CSV"
    return review.order_discrepancies


def deposits_summary(review) -> pd.DataFrame | str:
    """How many paid payouts each deposit result has, or why there is none."""
    if review.deposits is None:
        return "no bank statement: set statement to the bank's CSV or OFX file"
    return deposits.summary(review.deposits)


def deposit_problems(review) -> pd.DataFrame | str:
    """The payouts (and deposits) that did not simply match."""
    if review.deposits is None:
        return "no bank statement: set statement to the bank's CSV or OFX file"
    return review.deposits[review.deposits["result"] != "matched"].reset_index(drop=True)
