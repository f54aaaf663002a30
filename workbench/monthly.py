"""A month of an account, reviewed: every analysis the monthly report and the notebooks
show, computed from the store on first use and kept. The frames are read once, a little
wider than the month where an analysis needs what came before (a payout's items, the
transactions a payout arriving on the 1st swept, what is in transit at the start).

    review = MonthlyReview(wb, "2026-10", orders="orders.csv", statement="bank.csv")
    review.payout_checks, review.balance_summary, review.order_discrepancies, review.checks

Everything here is read from the store (sync first); `as_of` says when it was synced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

import pandas as pd

from workbench import exports, imports, reports
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
)

# How far before the month the review reads: a payout sweeps what became available a few
# days earlier, and is in transit for a few days; five weeks covers both with room.
BEFORE = timedelta(days=35)
REPORTED = ("charges", "refunds", "disputes", "payouts", "balance_transactions", "customers")
# What the analyses read of a charge (a million charges read faster without the rest).
CHARGE_COLUMNS = (
    "amount amount_captured amount_refunded currency status captured refunded customer "
    "payment_intent failure_code decline_code network_status card_brand card_funding "
    "card_country card_last4 capture_before calculated_statement_descriptor "
    "statement_descriptor statement_descriptor_suffix metadata"
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
        self.period = reports.month_bounds(month, session.timezone)
        self.orders_path = orders
        self.statement_path = statement
        self.accounts = exports.read_accounts(accounts)
        self.expiring_months = expiring_months

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
        return around[around["created"] >= pd.Timestamp(self.start)]

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
        held = self._frame("charges", self.as_of - timedelta(days=8), columns=CHARGE_COLUMNS)
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
        return None if self.orders_path is None else imports.read_orders(self.orders_path)

    @cached_property
    def _orders(self) -> pd.DataFrame | None:
        if self._all_orders is None:
            return None
        table = self._all_orders
        created = table["created"]
        return table[(created >= pd.Timestamp(self.start)) & (created < pd.Timestamp(self.end))]

    @cached_property
    def orders(self) -> pd.DataFrame | None:
        """The month's orders, each with its class (None without an orders file)."""
        if self._orders is None:
            return None
        return orders.match(self._orders, self._charges_around)

    @cached_property
    def order_discrepancies(self) -> pd.DataFrame | None:
        if self._orders is None:
            return None
        strangers = orders.unknown_orders(self._all_orders, self.charges)
        return orders.discrepancies(self.orders, strangers)

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
        if self.statement_path is None:
            return None
        paid = self.payouts[self.payouts["status"] == "paid"]
        return deposits.match(paid, imports.read_bank_statement(self.statement_path))

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
        return result
