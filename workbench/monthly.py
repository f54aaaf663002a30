"""A month of an account, reviewed: every analysis the monthly report and the notebooks
show, computed from the store on first use and kept. The frames are read once, a little
wider than the month where an analysis needs what came before (a payout's items, the
transactions a payout arriving on the 1st swept, what is in transit at the start).

    review = MonthlyReview(wb, "2026-10", orders="orders.csv", statement="bank.csv")
    review.payout_checks, review.balance_summary, review.order_discrepancies, review.checks

Everything here is read from the store (sync first); `as_of` says when it was synced."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

import pandas as pd

from workbench import exports, imports, periods, tieout
from workbench.analyses import (
    auth,
    balance,
    cards,
    charges,
    declines,
    deposits,
    disputes,
    fees,
    journal,
    orders,
    reconcile,
    subscriptions,
)
from workbench.money import as_major, to_major

# How far before the month the review reads: a daily or weekly payout sweeps what became
# available a few days earlier, and is in transit for a few days; two weeks covers both. A
# payout that swept older items (a monthly schedule) has them read by payout.
BEFORE = timedelta(days=14)
# The month's own objects, as listed in the CSVs an accountant opens first.
LISTINGS = {
    "charges": [
        "id",
        "created",
        "amount",
        "amount_captured",
        "amount_refunded",
        "currency",
        "status",
        "captured",
        "refunded",
        "customer",
        "payment_intent",
        "decline_code",
        "card_brand",
        "card_country",
        "metadata.order_id",
    ],
    "balance_transactions": [
        "id",
        "created",
        "type",
        "reporting_category",
        "amount",
        "fee",
        "net",
        "currency",
        "status",
        "available_on",
        "source",
        "payout",
        "exchange_rate",
    ],
    "payouts": [
        "id",
        "created",
        "arrival_date",
        "amount",
        "currency",
        "status",
        "automatic",
        "failure_code",
    ],
}
HEADLINES = (
    "gross_volume",
    "refunds",
    "partial_capture_reversals",
    "disputes",
    "fees",
    "net",
    "payouts",
)
REPORTED = ("charges", "refunds", "disputes", "payouts", "balance_transactions", "customers")
# The charge columns the review and the notebooks use: reading a column of a million charges
# costs about a fifth of a second, so the rest (free text, the whole metadata) stay unread.
CHARGE_COLUMNS = (
    "amount amount_captured amount_refunded currency status captured refunded customer "
    "payment_intent failure_code decline_code network_status card_brand card_funding "
    "card_country statement_descriptor statement_descriptor_suffix capture_before "
    "metadata.order_id"
).split()


class MonthlyReview:
    def __init__(
        self,
        session,
        month: str | None = None,
        *,
        orders: Path | str | None = None,
        statement: Path | str | None = None,
        accounts: Path | str | None = None,
        expiring_months: int = 3,
    ):
        self.session = session
        self.period = periods.month_bounds(month, session.timezone)
        self.orders_path = orders
        self.statement_path = statement
        self.accounts = exports.read_accounts(accounts)
        self.expiring_months = expiring_months

    @classmethod
    def of(
        cls,
        session,
        month: str | None = None,
        *,
        orders=None,
        statement=None,
        sync: bool = False,
        **options,
    ) -> MonthlyReview:
        """The review a notebook or report asks for: synced first if asked, with the
        merchant's files the session knows (a seeded sandbox's) unless others are named."""
        if sync:
            session.sync(progress=False)
        return cls(
            session,
            month,
            orders=orders or session.orders_file,
            statement=statement or session.statement_file,
            **options,
        ).load()

    def load(self) -> MonthlyReview:
        """Read the month's large inputs side by side: SQLite and the CSV reader do most of
        their work outside Python's lock, so a second core shares it. Every analysis then
        computes from what is in memory."""
        inputs = ("_transactions_around", "_charges_around", "_all_orders", "refunds", "customers")
        with ThreadPoolExecutor(len(inputs)) as pool:
            list(pool.map(lambda name: getattr(self, name), inputs))
        return self

    def previous(self) -> MonthlyReview:
        """The month before, read the same way (for figures side by side)."""
        return MonthlyReview(
            self.session,
            f"{self.start - timedelta(days=1):%Y-%m}",
            orders=self.orders_path,
            statement=self.statement_path,
            expiring_months=self.expiring_months,
        )

    # when, and from what

    @property
    def timezone(self) -> str:
        return self.period.timezone

    @cached_property
    def as_of(self) -> datetime:
        """When the store was last synced for what the review reads (now, if never)."""
        synced = self.session.synced_at(REPORTED)
        return datetime.fromtimestamp(synced, UTC) if synced else datetime.now(UTC)

    @property
    def start(self) -> datetime:
        return self.period.start

    @property
    def end(self) -> datetime:
        return self.period.end

    def _frame(self, name: str, start=None, end=None, **filters) -> pd.DataFrame:
        return self.session.frame(name, start, end, **filters)

    @cached_property
    def _transactions_around(self) -> pd.DataFrame:
        return self._frame("balance_transactions", self.start - BEFORE, self.end)

    @cached_property
    def transactions(self) -> pd.DataFrame:
        """Balance transactions created in the month."""
        around = self._transactions_around
        return around[around["created"] >= pd.Timestamp(self.start)]

    @cached_property
    def _charges_around(self) -> pd.DataFrame:
        return self._frame("charges", self.start - BEFORE, self.end, columns=CHARGE_COLUMNS)

    @cached_property
    def charges(self) -> pd.DataFrame:
        """Charges created in the month."""
        around = self._charges_around
        return around[around["created"] >= pd.Timestamp(self.start)].reset_index(drop=True)

    @cached_property
    def refunds(self) -> pd.DataFrame:
        return self._frame("refunds", self.start - BEFORE, self.end)

    @cached_property
    def disputes(self) -> pd.DataFrame:
        return self._frame("disputes", end=self.end)

    @cached_property
    def customers(self) -> pd.DataFrame:
        return self._frame("customers")

    @cached_property
    def cards(self) -> pd.DataFrame:
        return self._frame("cards")

    @cached_property
    def _payouts_around(self) -> pd.DataFrame:
        return self._frame("payouts", self.start - 2 * BEFORE, self.end)

    @cached_property
    def payouts(self) -> pd.DataFrame:
        """Automatic payouts arriving in the month (Stripe's report selects them so)."""
        return reconcile.payouts_arriving(self._payouts_around, self.start, self.end)

    # payouts

    @cached_property
    def _payout_items(self) -> pd.DataFrame:
        return self._items_of(self.payouts)

    @cached_property
    def reconciliation(self) -> pd.DataFrame:
        """Payout reconciliation, itemized (Stripe's payout_reconciliation.itemized.5)."""
        return reconcile.itemized(
            self._payout_items,
            self.payouts,
            self._charges_around,
            self.refunds,
            self.disputes,
            self.customers,
        )

    @cached_property
    def payout_checks(self) -> pd.DataFrame:
        return reconcile.checks(self.reconciliation, self.payouts)

    # the balance

    @cached_property
    def balance_summary(self) -> pd.DataFrame:
        return balance.summary(
            self.transactions,
            self.session.balance_at(self.start),
            self.session.balance_at(self.end),
        )

    @cached_property
    def activity(self) -> pd.DataFrame:
        return balance.activity(self.transactions)

    @cached_property
    def fees_by_type(self) -> pd.DataFrame:
        return fees.by_type(self.transactions)

    @cached_property
    def fees_by_category(self) -> pd.DataFrame:
        return fees.by_category(self.transactions)

    @cached_property
    def effective_rate(self) -> pd.DataFrame:
        return fees.effective_rate(self.transactions)

    @cached_property
    def fees_by_presentment(self) -> pd.DataFrame:
        return fees.by_presentment(self.transactions, self._charges_around)

    # charges and what needs attention

    @cached_property
    def daily(self) -> pd.DataFrame:
        return charges.daily(self.charges, self.timezone)

    @cached_property
    def refund_rate(self) -> pd.DataFrame:
        return charges.refund_rate(self.charges)

    @cached_property
    def declines(self) -> pd.DataFrame:
        return declines.by(self.charges, "decline_code")

    @cached_property
    def open_authorizations(self) -> pd.DataFrame:
        """Authorizations still held when the store was synced, soonest deadline first."""
        held = self._frame("charges", self.as_of - timedelta(days=8))
        return auth.open_authorizations(held, self.as_of)

    @cached_property
    def expired_authorizations(self) -> pd.DataFrame:
        lapsed = self.refunds[self.refunds["created"] >= pd.Timestamp(self.start)]
        return auth.expired(self._charges_around, lapsed)

    @cached_property
    def open_disputes(self) -> pd.DataFrame:
        return disputes.open_disputes(self.disputes, self._transactions_around, self.as_of)

    @cached_property
    def dispute_outcomes(self) -> pd.DataFrame:
        return disputes.outcomes(self.disputes)

    @cached_property
    def expiring_cards(self) -> pd.DataFrame:
        return cards.expiring(self.cards, self.customers, self.as_of, self.expiring_months)

    # orders

    @cached_property
    def _all_orders(self) -> pd.DataFrame | None:
        if self.orders_path is None:
            return None
        return imports.read_orders(self.orders_path, self.session.store.copies)

    @cached_property
    def _numbered(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Every order and the charges around the month, their order IDs numbered once
        for both ways they are matched."""
        return orders.numbered(self._all_orders, self._charges_around)

    @cached_property
    def _orders(self) -> pd.DataFrame | None:
        if self._all_orders is None:
            return None
        table = self._numbered[0]
        created = table["created"]
        return table[(created >= pd.Timestamp(self.start)) & (created < pd.Timestamp(self.end))]

    @cached_property
    def orders(self) -> pd.DataFrame | None:
        """The month's orders, each with its class (None without an orders file)."""
        if self._orders is None:
            return None
        return orders.match(self._orders, self._numbered[1])

    @cached_property
    def order_discrepancies(self) -> pd.DataFrame | None:
        if self._orders is None:
            return None
        every, around = self._numbered
        charges = around[around["created"] >= pd.Timestamp(self.start)]
        return orders.discrepancies(self.orders, orders.unknown_orders(every, charges))

    # the books

    def _items_of(self, payouts: pd.DataFrame) -> pd.DataFrame:
        """The balance transactions these payouts swept, older ones read by payout."""
        around = self._transactions_around
        swept = around[around["payout"].isin(payouts["id"])]
        older = self._frame(
            "balance_transactions", end=self.start - BEFORE, payout=list(payouts["id"])
        )
        return pd.concat([older, swept], ignore_index=True) if len(older) else swept

    @cached_property
    def _journal_all(self) -> pd.DataFrame:
        """Entries of the automatic payouts made since five weeks before the month, and of
        any earlier one whose returned funds they swept: enough to know what the clearing
        account held at the month's start and end."""
        around = self._payouts_around
        made = around[
            around["automatic"].astype(bool)
            & (around["created"] >= pd.Timestamp(self.start - BEFORE))
        ]
        items = self._items_of(made)
        returned = items.loc[items["reporting_category"] == "payout_reversal", "source"]
        earlier = sorted(set(returned) - set(made["id"]))
        if earlier:
            failed = self._frame("payouts", id=earlier)
            made = pd.concat([made, failed], ignore_index=True)
            items = pd.concat(
                [items, self._frame("balance_transactions", payout=earlier)], ignore_index=True
            )
        return journal.entries(items, made, self.timezone)

    @cached_property
    def journal(self) -> pd.DataFrame:
        """The entries dated in the month."""
        lines = self._journal_all
        first, last = self.start.date(), self.end.date()
        return lines[(lines["date"] >= first) & (lines["date"] < last)].reset_index(drop=True)

    @cached_property
    def clearing(self) -> dict[str, dict[str, int]]:
        """The clearing account at the month's start and end, per currency."""
        return {
            "start": journal.clearing_balance(self._journal_all, self.start.date()),
            "end": journal.clearing_balance(self._journal_all, self.end.date()),
        }

    # the bank

    @cached_property
    def deposits(self) -> pd.DataFrame | None:
        """The month's paid payouts against the bank's deposits, and the Stripe-looking
        deposits dated in the month that no payout explains. A statement may cover many
        months, so the payouts of the fortnight either side are matched too: a deposit on the
        1st may be the last payout of the month before, and is not a stray."""
        if self.statement_path is None:
            return None
        near = reconcile.payouts_arriving(self._payouts_around, self.start - BEFORE, self.end)
        later = self._frame("payouts", self.end - BEFORE, self.end + BEFORE)
        later = reconcile.payouts_arriving(later, self.end, self.end + BEFORE)
        paid = pd.concat([near, later], ignore_index=True)
        matched = deposits.match(paid, imports.read_bank_statement(self.statement_path))
        first, last = self.start.date(), self.end.date()
        arrival = matched["arrival_date"].where(matched["result"] != "no_payout")
        day = arrival.fillna(matched["deposit_date"])
        shown = (day >= first) & (day < last)
        return matched[shown].reset_index(drop=True)

    # subscriptions: MRR at the month's end and how it moved, from everything billed so far

    @cached_property
    def _billing(self) -> dict[str, pd.DataFrame]:
        names = ("subscriptions", "invoice_line_items", "prices", "invoices")
        return {name: self._frame(name) for name in names}

    @property
    def has_subscriptions(self) -> bool:
        return len(self._billing["subscriptions"]) > 0

    @cached_property
    def mrr_steps(self) -> pd.DataFrame:
        billing = self._billing
        return subscriptions.steps(
            billing["subscriptions"], billing["invoice_line_items"], billing["prices"]
        )

    def subscription_months(self, count: int = 6) -> list[periods.Period]:
        """The `count` months ending with this one."""
        year, month = divmod(self.start.year * 12 + self.start.month - count, 12)
        return periods.months_between(
            f"{year:04d}-{month + 1:02d}", self.period.label, self.timezone
        )

    @cached_property
    def mrr_movements(self) -> pd.DataFrame:
        """The month's opening MRR, movements and closing MRR, per currency."""
        return subscriptions.movements(self.mrr_steps, [self.period])

    def mrr_history(self, count: int = 6) -> pd.DataFrame:
        return subscriptions.movements(self.mrr_steps, self.subscription_months(count))

    @cached_property
    def settlement_rates(self) -> dict:
        """Per currency paid in, its settlement currency and the rate of its latest charge
        by the month's end."""
        moved = self._transactions_around
        before = moved[moved["created"] < pd.Timestamp(self.end)]
        return subscriptions.settlement_rates(before, self._charges_around)

    def mrr_in_settlement(self, moved: pd.DataFrame | None = None) -> pd.DataFrame:
        """MRR per month in settlement currency (default: this month's movements)."""
        moved = self.mrr_movements if moved is None else moved
        return subscriptions.in_settlement(moved, self.settlement_rates)

    @cached_property
    def subscription_churn(self) -> pd.DataFrame:
        return subscriptions.churn(self.mrr_movements)

    @cached_property
    def failed_renewals(self) -> pd.DataFrame:
        """Renewals that failed by the month's end, with their outcome then (so a closed
        month's figures stay what they were)."""
        billing = self._billing
        return subscriptions.failed_renewals(
            billing["invoices"],
            billing["subscriptions"],
            billing["invoice_line_items"],
            billing["prices"],
            as_of=self.end,
        )

    @cached_property
    def at_risk_renewals(self) -> pd.DataFrame:
        """Renewals still being retried at the month's end, the MRR each put at risk."""
        failed = self.failed_renewals
        retrying = failed[failed["outcome"] == "retrying"]
        return retrying.sort_values("next_payment_attempt").reset_index(drop=True)

    @cached_property
    def renewal_recovery(self) -> pd.DataFrame:
        return subscriptions.recovery(self.failed_renewals)

    def trials(self) -> pd.DataFrame:
        return subscriptions.trials(self._billing["subscriptions"], self.end)

    def cohorts(self, count: int = 6) -> pd.DataFrame:
        return subscriptions.cohorts(self.mrr_steps, self.subscription_months(count))

    @cached_property
    def mrr_tie_out(self) -> pd.DataFrame:
        billing = self._billing
        return subscriptions.tie_out(
            self.mrr_steps, billing["invoices"], billing["invoice_line_items"], [self.period]
        )

    def subscription_summary(self) -> dict[str, dict[str, int]]:
        """Per currency, in minor units: the month's MRR figures and what is at risk."""
        at_risk = self.renewal_recovery.set_index("currency")["mrr_at_risk"]
        return {
            row["currency"]: {
                **{
                    name: int(row[name])
                    for name in ("opening", *subscriptions.MOVEMENTS, "closing")
                },
                "subscribers": int(row["customers"]),
                "mrr_at_risk": int(at_risk.get(row["currency"], 0)),
            }
            for row in self.mrr_movements.to_dict("records")
        }

    # every check, for summary.json and the top of the report

    @cached_property
    def checks(self) -> dict:
        result = {
            "payouts_reconciled": bool(self.payout_checks["reconciled"].all()),
            "payouts_not_reconciled": list(reconcile.discrepancies(self.payout_checks)["id"]),
            "roll_forward_balanced": bool(self.balance_summary["balanced"].all()),
            "journal_balanced": bool(journal.balance_check(self.journal)["balanced"].all()),
        }
        if self.orders is not None:
            result["order_discrepancies"] = len(self.order_discrepancies)
        if self.deposits is not None:
            result["deposits_matched"] = bool((self.deposits["result"] == "matched").all())
        if self.has_subscriptions:
            result["mrr_balanced"] = bool(self.mrr_movements["balanced"].all())
            result["invoices_tied_out"] = bool(self.mrr_tie_out["tied_out"].all())
        return result

    # the month's files: what a report publishes beside its HTML

    def headline(self) -> dict[str, dict[str, int]]:
        """Per settlement currency, in minor units: gross volume, refunds (partial-capture
        reversals apart), disputes, fees, net activity and payouts, from the month's
        balance transactions."""
        frame = self.transactions
        category = frame["reporting_category"].astype("object")
        figures = {
            "gross_volume": frame["amount"].where(category == "charge", 0),
            "refunds": frame["amount"].where(category.isin(["refund", "refund_failure"]), 0),
            "partial_capture_reversals": frame["amount"].where(
                category == "partial_capture_reversal", 0
            ),
            "disputes": frame["amount"].where(category.isin(["dispute", "dispute_reversal"]), 0),
            "fees": frame["fee"],
            "net": frame["net"].where(~category.isin(balance.PAYOUT_CATEGORIES), 0),
            "payouts": -frame["net"].where(category.isin(balance.PAYOUT_CATEGORIES), 0),
        }
        table = pd.DataFrame({"currency": frame["currency"].astype("object"), **figures})
        sums = table.groupby("currency").sum()
        return {
            str(currency): {name: int(value) for name, value in row.items()}
            for currency, row in sums.iterrows()
        }

    def write(
        self, folder: Path | str, previous: MonthlyReview | None = None, *, tie_out: bool = False
    ) -> dict:
        """Write the month's CSVs, the books in each accountant's format and summary.json
        into `folder` (with `tie_out`, Stripe's own report compared: tie_out.csv); returns
        the summary."""
        folder = Path(folder)
        money = ("gross", "fee", "net", "amount", "customer_facing_amount")
        files = {
            "payout_reconciliation.csv": (self.reconciliation, money, "currency"),
            "payout_checks.csv": (
                self.payout_checks,
                ("amount", "items_net", "difference"),
                "currency",
            ),
            "balance_summary.csv": (
                self.balance_summary,
                (
                    "starting_balance",
                    "activity",
                    "payouts",
                    "ending_balance",
                    "computed_ending",
                    "difference",
                ),
                "currency",
            ),
            "balance_activity.csv": (self.activity, ("gross", "fee", "net"), "currency"),
            "fees_by_type.csv": (self.fees_by_type, ("amount",), "currency"),
            "fees_by_category.csv": (self.fees_by_category, ("gross", "fee", "net"), "currency"),
            "disputes.csv": (self.open_disputes, ("amount",), "currency"),
            "open_authorizations.csv": (self.open_authorizations, ("amount",), "currency"),
        }
        if self.orders is not None:
            files["order_discrepancies.csv"] = (
                self.order_discrepancies,
                ("order_amount", "amount_at_stake"),
                "currency",
            )
        if self.deposits is not None:
            files["deposits.csv"] = (
                self.deposits,
                ("amount", "deposit_amount", "difference"),
                "currency",
            )
        if self.has_subscriptions:
            files["mrr_movements.csv"] = (
                self.mrr_movements,
                ("opening", *subscriptions.MOVEMENTS, "closing"),
                "currency",
            )
        for name, listed in LISTINGS.items():
            source = self.transactions if name == "balance_transactions" else getattr(self, name)
            files[f"{name}.csv"] = (
                source[[c for c in listed if c in source]],
                ("amount", "amount_captured", "amount_refunded", "fee", "net"),
                "currency",
            )
        for name, (frame, columns, currency) in files.items():
            exports.write_csv(frame, folder / name, money=columns, currency=currency)
        exports.write_journal(self.journal, folder / "journal.csv", self.accounts)
        exports.write_xero(self.journal, folder / "journal_xero.csv", self.accounts)
        exports.write_quickbooks(self.journal, folder / "journal_quickbooks.csv", self.accounts)
        exports.write_beancount(
            self.journal,
            folder / "journal.beancount",
            self.accounts,
            assertions={
                self.start.date(): self.clearing["start"] or {},
                self.end.date(): self.clearing["end"] or {},
            },
            opening=self.clearing["start"],
            title=f"Stripe payouts {self.period.label}",
        )
        if tie_out:
            self.write_tie_out(folder / "tie_out.csv")
        summary = self.summary(previous, tie_out=tie_out)
        (folder / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        return summary

    def summary(self, previous: MonthlyReview | None = None, *, tie_out: bool = False) -> dict:
        """The headline figures (beside the previous month's) and every check's result, for
        other programs to read without the HTML (with `tie_out`, Stripe's report's too)."""
        figures = self.headline()
        before = previous.headline() if previous is not None else {}
        return {
            "account": self.session.account,
            "month": self.period.label,
            "period": {
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "timezone": self.timezone,
            },
            "as_of": self.as_of.isoformat(),
            "headline": {
                currency: {
                    name: {
                        "minor": value,
                        "major": str(to_major(value, currency)),
                        "previous_minor": before.get(currency, {}).get(name),
                    }
                    for name, value in values.items()
                }
                for currency, values in figures.items()
            },
            "checks": {**self.checks, **(self.tie_out_checks() if tie_out else {})},
            **({"tie_out": self.tie_out_status().summary()} if tie_out else {}),
            **({"subscriptions": self.subscription_summary()} if self.has_subscriptions else {}),
            "clearing": self.clearing,
            "counts": {
                "charges": len(self.charges),
                "balance_transactions": len(self.transactions),
                "payouts": len(self.payouts),
                "open_authorizations": len(self.open_authorizations),
                "open_disputes": len(self.open_disputes),
            },
        }

    # for people: the report's first lines and its headline table

    def status(self) -> list[str]:
        """What a treasurer reads first, in plain words: whether every payout reconciles
        (or which do not, by how much), whether the balance and the books tie out, and what
        needs a person."""
        lines = []
        checks = self.payout_checks
        bad = reconcile.discrepancies(checks)
        if checks.empty:
            lines.append("No automatic payout arrived this month.")
        elif bad.empty:
            lines.append(f"All {len(checks)} payouts reconcile: each equals the sum of its items.")
        else:
            for row in bad.itertuples():
                lines.append(
                    f"Payout {row.id} ({row.status}) does not reconcile: it is "
                    f"{to_major(int(row.difference), row.currency)} {row.currency.upper()} "
                    "more than its items."
                )
        summary = self.balance_summary
        off = summary[~summary["balanced"]]
        if summary.empty:
            lines.append("No balance this month.")
        elif off.empty:
            lines.append(
                "The balance rolls forward to the cent: starting balance + activity - payouts "
                "= ending balance in " + ", ".join(c.upper() for c in summary["currency"]) + "."
            )
        else:
            for row in off.itertuples():
                lines.append(
                    f"The {row.currency.upper()} balance does not roll forward: "
                    f"{to_major(int(row.difference), row.currency)} unexplained."
                )
        lines.append(
            "The journal balances: debits equal credits in every entry."
            if self.checks["journal_balanced"]
            else "The journal does not balance: see the entries below."
        )
        if self.orders is not None:
            found = self.order_discrepancies
            lines.append(
                "Every order was paid exactly once."
                if found.empty
                else f"{len(found)} orders or charges need a look: "
                + ", ".join(f"{n} {kind}" for kind, n in found["kind"].value_counts().items())
                + "."
            )
        if self.deposits is not None:
            results = self.deposits["result"].value_counts()
            missed = {k: int(v) for k, v in results.items() if k != "matched"}
            lines.append(
                "Every payout arrived at the bank as expected."
                if not missed
                else "At the bank: " + ", ".join(f"{n} {kind}" for kind, n in missed.items()) + "."
            )
        held = self.open_authorizations
        soon = held[held["bucket"].isin(["expired", "within 24 h", "within 72 h"])]
        if len(soon):
            lines.append(f"{len(soon)} authorizations lapse within three days unless captured.")
        evidence = self.open_disputes
        evidence = evidence[evidence["needs_evidence"]]
        if len(evidence):
            lines.append(f"{len(evidence)} disputes need evidence before their deadline.")
        if self.has_subscriptions:
            lines.extend(self.subscription_status())
        return lines

    def subscription_status(self) -> list[str]:
        """MRR's roll-forward and the renewals at risk, in plain words."""
        moved = self.mrr_movements
        off = moved[~moved["balanced"]]
        lines = [
            "MRR rolls forward: opening + new + expansion + reactivation - contraction - "
            "churn = closing in " + ", ".join(c.upper() for c in moved["currency"]) + "."
            if off.empty
            else "MRR does not roll forward in "
            + ", ".join(c.upper() for c in off["currency"])
            + "."
        ]
        risk = self.at_risk_renewals
        if len(risk):
            amounts = risk.groupby("currency")["mrr"].sum()
            lines.append(
                f"{len(risk)} renewals are being retried; MRR at risk: "
                + ", ".join(f"{to_major(int(v), c)} {c.upper()}" for c, v in amounts.items())
                + "."
            )
        return lines

    def headline_table(self, previous: MonthlyReview | None = None) -> pd.DataFrame:
        """The headline figures per currency in major units, the previous month beside."""
        now = self.headline()
        before = previous.headline() if previous is not None else {}
        rows = []
        for currency in sorted(now.keys() | before.keys()):
            for name in HEADLINES:
                this = now.get(currency, {}).get(name, 0)
                that = before.get(currency, {}).get(name)
                rows.append(
                    {
                        "figure": name.replace("_", " "),
                        "currency": currency.upper(),
                        self.period.label: to_major(this, currency),
                        "previous month": None if that is None else to_major(that, currency),
                    }
                )
        return pd.DataFrame(rows)

    def shown(self, frame: pd.DataFrame, *money: str, rows: int = 50) -> pd.DataFrame:
        """A table for the report: its first `rows`, money in major units (the CSVs hold
        all of it)."""
        head = frame.head(rows)
        return as_major(head, money) if money and "currency" in head else head

    def discrepancies(self) -> pd.DataFrame:
        """Payouts that do not reconcile and orders not paid exactly once, in one table."""
        payouts = reconcile.discrepancies(self.payout_checks)
        rows = [
            pd.DataFrame(
                {
                    "kind": "payout_does_not_reconcile",
                    "order_id": None,
                    "charges": payouts["id"],
                    "currency": payouts["currency"],
                    "order_amount": payouts["amount"].astype("Int64"),
                    "amount_at_stake": payouts["difference"],
                }
            )
        ]
        if self.order_discrepancies is not None:
            rows.append(self.order_discrepancies)
        found = [frame for frame in rows if len(frame)]
        return pd.concat(found, ignore_index=True) if found else rows[0]

    def trial_balance(self) -> pd.DataFrame:
        return journal.totals(self.journal)

    def clearing_table(self) -> pd.DataFrame:
        """The clearing account at the month's start and end, per currency."""
        currencies = sorted(self.clearing["start"].keys() | self.clearing["end"].keys())
        return pd.DataFrame(
            {
                "currency": currencies,
                "start": [self.clearing["start"].get(c, 0) for c in currencies],
                "end": [self.clearing["end"].get(c, 0) for c in currencies],
            }
        )

    def deposit_summary(self) -> pd.DataFrame:
        if self.deposits is None:
            return pd.DataFrame({"result": ["no bank statement given"], "count": [0]})
        return deposits.summary(self.deposits)

    def publish(self, folder: Path | str, previous: MonthlyReview | None = None, **options) -> str:
        """Write the month's files into `folder` (the report's staging folder); a line
        saying so."""
        summary = self.write(folder, previous, tie_out=options.get("tie_out", False))
        return f"Wrote {len(list(Path(folder).iterdir()))} files; checks: " + ", ".join(
            f"{name} {'yes' if ok is True else 'no' if ok is False else ok}"
            for name, ok in summary["checks"].items()
            if not isinstance(ok, list)
        )

    # Stripe's own report beside ours (`workbench report monthly --tie-out`)

    @cached_property
    def _tie_out(self) -> tieout.TieOut:
        return tieout.tie_out(self.session, self.period, self.reconciliation)

    def tie_out(self) -> pd.DataFrame:
        """Every balance transaction on which Stripe's own payout_reconciliation.itemized.5
        for the month and `reconciliation` disagree; empty when they agree. Stripe is asked
        once (a report run, then its file; see workbench.tieout)."""
        return self._tie_out.differences

    def tie_out_status(self) -> tieout.TieOut:
        """The tie-out in words: agreed, or each difference (Markdown in a notebook)."""
        return self._tie_out

    def tie_out_checks(self) -> dict:
        return {
            "tie_out_agrees": self._tie_out.agrees,
            "tie_out_differences": len(self._tie_out.differences),
        }

    def write_tie_out(self, path: Path) -> Path:
        """tie_out.csv: each difference with both sides' values, money in each side's
        currency as exact decimals."""
        shown = self.tie_out()
        for side in ("stripe", "workbench"):
            money = [f"{side}_{name}" for name in tieout.MONEY]
            shown = as_major(shown, money, f"{side}_currency")
        return exports.write_csv(shown, path)
