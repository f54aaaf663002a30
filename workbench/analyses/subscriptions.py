"""Subscriptions: MRR and where it moved, subscribers, churn, trials, failed renewals,
cohorts, and MRR tied out against the invoices behind it.

MRR is read from what Stripe billed, as ChartMogul and Baremetrics read it: each invoice's
recurring lines set a subscription's MRR from their period's start (the price's unit amount
times the quantity, per month: an annual price over 12 months, `interval_count` respected,
rounded half up per line); proration lines move it from the moment of the change (a credit
for the old state, a charge for the new one) until the next recurring lines take over. A
subscription counts from its trial's end (or its start) until it ended; one that never
became active (`incomplete`, `incomplete_expired`) never counts. A change made with
`proration_behavior=none` bills nothing, so it counts from the next invoice, as Stripe bills
it. A month's figures compare each customer's MRR at its first instant and at the next
month's: new (from nothing, first time), reactivation (from nothing, again), expansion,
contraction, churn; opening + movements = closing, checked. Money stays integer minor units
per currency.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd

from workbench.analyses._frames import lookup
from workbench.money import exponent
from workbench.periods import Period

MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")
# Months in one interval of each kind (a week is 12/52 of a month, a day 12/365).
MONTHS = {
    "month": Fraction(1),
    "year": Fraction(12),
    "week": Fraction(12, 52),
    "day": Fraction(12, 365),
}
NEVER_ACTIVE = ("incomplete", "incomplete_expired")


def monthly(amount: int, interval: str, interval_count: int) -> int:
    """`amount` billed every `interval_count` `interval`s, per month, rounded half up
    (away from zero for a credit)."""
    exact = Fraction(abs(int(amount))) / (MONTHS[interval] * int(interval_count))
    rounded = int(exact + Fraction(1, 2))  # floor of x + 1/2: half up
    return rounded if amount >= 0 else -rounded


def _seconds(values: pd.Series) -> list:
    """Timestamps as Unix seconds (None where missing)."""
    return [None if pd.isna(v) else int(pd.Timestamp(v).timestamp()) for v in values]


def _instant(moment) -> int:
    return int(pd.Timestamp(moment).timestamp())


def lines_mrr(lines: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """Each subscription invoice line with the MRR it states (signed: a credit is negative),
    from its price's unit amount and interval and the line's quantity."""
    table = prices.set_index("id")
    found = lines[lines["subscription"].notna() & lines["price"].isin(table.index)].copy()
    price = table.loc[found["price"]]
    unit = price["unit_amount"].to_numpy()
    found["mrr"] = [
        monthly((-1 if amount < 0 else 1) * int(u) * int(q), interval, count)
        for amount, u, q, interval, count in zip(
            found["amount"],
            unit,
            found["quantity"].fillna(1),
            price["interval"].astype("object"),
            price["interval_count"],
            strict=True,
        )
    ]
    return found


def steps(subscriptions: pd.DataFrame, lines: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """Every subscription's MRR as steps: from `at` (Unix seconds) on, it is `mrr`, until
    its next step. Columns: subscription, customer, currency, at, mrr, invoice (the one
    whose lines set it; None for the 0 before the start or after the end)."""
    priced = lines_mrr(lines, prices)
    by_subscription = defaultdict(list)
    for row in priced[["subscription", "invoice", "period_start", "proration", "mrr"]].itertuples(
        index=False
    ):
        by_subscription[row.subscription].append(row)
    rows = []
    frame = subscriptions[~subscriptions["status"].astype("object").isin(NEVER_ACTIVE)]
    starts = _seconds(frame["trial_end"].where(frame["trial_end"].notna(), frame["start_date"]))
    ended = _seconds(frame["ended_at"])
    for (sub, customer, currency), live, end in zip(
        frame[["id", "customer", "currency"]].itertuples(index=False, name=None),
        starts,
        ended,
        strict=True,
    ):
        if end is not None and end <= live:
            continue  # ended before it was ever paid for (a trial that lapsed)
        changes = _changes(by_subscription.get(sub, []))
        current, invoice = 0, None
        for at, mrr, source in changes:
            if at <= live:
                current, invoice = mrr, source
        rows.append((sub, customer, str(currency), live, current, invoice))
        rows.extend(
            (sub, customer, str(currency), at, mrr, source)
            for at, mrr, source in changes
            if at > live and (end is None or at < end)
        )
        if end is not None:
            rows.append((sub, customer, str(currency), end, 0, None))
    return pd.DataFrame(
        rows, columns=["subscription", "customer", "currency", "at", "mrr", "invoice"]
    ).astype({"at": "int64", "mrr": "int64"})


def _changes(lines: list) -> list[tuple[int, int, str]]:
    """(moment, MRR from then, invoice) of one subscription from its lines: recurring lines
    set it from their period's start; each proration moves it from its own start, unless
    recurring lines start at that same moment (a new period, which already says it all)."""
    sets: dict[int, list] = defaultdict(list)
    moves: dict[int, list] = defaultdict(list)
    for line in lines:
        start = int(pd.Timestamp(line.period_start).timestamp())
        (moves if line.proration else sets)[start].append(line)
    moments = sorted(set(sets) | {m for m in moves if m not in sets})
    found, current = [], 0
    for moment in moments:
        if moment in sets:
            current = sum(line.mrr for line in sets[moment])
            invoice = sets[moment][-1].invoice
        else:
            current += sum(line.mrr for line in moves[moment])
            invoice = moves[moment][-1].invoice
        found.append((moment, current, invoice))
    return found


def mrr_at(mrr_steps: pd.DataFrame, moment) -> pd.DataFrame:
    """Each subscription's step in force at `moment` (a change at that very instant
    included): subscription, customer, currency, mrr, invoice."""
    at = _instant(moment)
    before = mrr_steps[mrr_steps["at"] <= at]
    return before.drop_duplicates("subscription", keep="last").drop(columns="at")


def _customers_at(mrr_steps: pd.DataFrame, moment) -> pd.Series:
    """MRR per (customer, currency) at `moment`."""
    return mrr_at(mrr_steps, moment).groupby(["customer", "currency"])["mrr"].sum()


def movements(mrr_steps: pd.DataFrame, months: list[Period]) -> pd.DataFrame:
    """Per month and currency: opening MRR, the movements, closing MRR, and the customers
    behind each; `balanced` is opening + movements = closing."""
    first_paid = mrr_steps[mrr_steps["mrr"] > 0].groupby(["customer", "currency"])["at"].min()
    rows = []
    for period in months:
        opening = _customers_at(mrr_steps, period.start)
        closing = _customers_at(mrr_steps, period.end)
        both = pd.concat([opening.rename("opening"), closing.rename("closing")], axis=1)
        both = both.fillna(0).astype("int64")
        before = first_paid.reindex(both.index) < _instant(period.start)
        currencies = sorted(set(both.index.get_level_values("currency")))
        for currency in currencies:
            mine = both.xs(currency, level="currency")
            was = before.xs(currency, level="currency")
            o, c = mine["opening"], mine["closing"]
            started = (o == 0) & (c > 0)
            stopped = (o > 0) & (c == 0)
            grew = (o > 0) & (c > o)
            shrank = (c > 0) & (c < o)
            row = {
                "month": period.label,
                "currency": currency,
                "opening": int(o.sum()),
                "new": int(c[started & ~was].sum()),
                "expansion": int((c - o)[grew].sum()),
                "contraction": int((c - o)[shrank].sum()),
                "churn": int(-o[stopped].sum()),
                "reactivation": int(c[started & was].sum()),
                "closing": int(c.sum()),
                "customers_opening": int((o > 0).sum()),
                "customers_new": int((started & ~was).sum()),
                "customers_churned": int(stopped.sum()),
                "customers_reactivated": int((started & was).sum()),
                "customers": int((c > 0).sum()),
            }
            row["balanced"] = row["opening"] + sum(row[m] for m in MOVEMENTS) == row["closing"]
            rows.append(row)
    columns = [
        "month",
        "currency",
        "opening",
        *MOVEMENTS,
        "closing",
        "customers_opening",
        "customers_new",
        "customers_churned",
        "customers_reactivated",
        "customers",
        "balanced",
    ]
    return pd.DataFrame(rows, columns=columns)


def settlement_rates(
    transactions: pd.DataFrame, charges: pd.DataFrame
) -> dict[str, tuple[str, Decimal]]:
    """Per currency customers paid in: the settlement currency its charges landed in and the
    exchange rate of the latest of them (Stripe's rate that day; 1 without a conversion)."""
    paid = transactions[transactions["type"].isin(("charge", "payment"))]
    paid_in = lookup(paid["source"], charges.set_index("id")["currency"])
    latest = (
        paid.assign(paid_in=paid_in)
        .dropna(subset=["paid_in"])
        .sort_values(["created", "id"])
        .groupby("paid_in")
        .tail(1)
    )
    return {
        row.paid_in: (
            str(row.currency),
            Decimal(1) if pd.isna(row.exchange_rate) else Decimal(repr(float(row.exchange_rate))),
        )
        for row in latest.itertuples()
    }


def in_settlement(moved: pd.DataFrame, rates: dict[str, tuple[str, Decimal]]) -> pd.DataFrame:
    """Opening and closing MRR per month in settlement currency: each currency's MRR (from
    `movements`) at its rate (`settlement_rates`), rounded half up to the settlement
    currency's minor unit, then summed. A currency never charged yet has no rate and stays
    as it is, in a row of its own."""
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in moved.itertuples():
        target, rate = rates.get(row.currency, (row.currency, Decimal(1)))
        shift = exponent(target) - exponent(row.currency)
        summed = totals[(row.month, target)]
        for index, minor in enumerate((row.opening, row.closing)):
            converted = (Decimal(int(minor)) * rate).scaleb(shift)
            summed[index] += int(converted.to_integral_value(ROUND_HALF_UP))
        summed[2] += row.customers
    return pd.DataFrame(
        [(month, currency, *figures) for (month, currency), figures in totals.items()],
        columns=["month", "settlement_currency", "opening", "closing", "customers"],
    )


def churn(moved: pd.DataFrame) -> pd.DataFrame:
    """Per month and currency: logo churn (customers lost over customers at the start),
    gross revenue churn (churned and contracted MRR over opening MRR) and net revenue churn
    (less expansion and reactivation: negative when the book grew from its own customers),
    and ARPU (closing MRR per customer, rounded half up, in minor units)."""
    table = moved[["month", "currency", "customers_opening", "customers", "opening", "closing"]]
    table = table.copy()
    opening = moved["opening"].where(moved["opening"] != 0)
    logos = moved["customers_opening"].where(moved["customers_opening"] != 0)
    table["logo_churn"] = (moved["customers_churned"] / logos).fillna(0.0)
    lost = -(moved["churn"] + moved["contraction"])
    table["revenue_churn"] = (lost / opening).fillna(0.0)
    regained = moved["expansion"] + moved["reactivation"]
    table["net_revenue_churn"] = ((lost - regained) / opening).fillna(0.0)
    table["arpu"] = [
        (2 * int(m) + n) // (2 * n) if n else 0
        for m, n in zip(moved["closing"], moved["customers"], strict=True)
    ]
    return table.reset_index(drop=True)


def trials(subscriptions: pd.DataFrame, as_of) -> pd.DataFrame:
    """Subscriptions whose trial ended by `as_of`: converted (still there when it ended)
    or lapsed (ended by then)."""
    moment = pd.Timestamp(as_of)
    ended = subscriptions[subscriptions["trial_end"].notna()]
    ended = ended[ended["trial_end"] <= moment]
    lapsed = ended["ended_at"].notna() & (ended["ended_at"] <= ended["trial_end"])
    lapsed |= ended["status"].astype("object").isin(NEVER_ACTIVE)
    table = ended[["id", "customer", "currency", "trial_start", "trial_end"]].copy()
    table["outcome"] = ["lapsed" if x else "converted" for x in lapsed]
    return table.sort_values("trial_end").reset_index(drop=True)


def trial_conversion(ended_trials: pd.DataFrame) -> pd.DataFrame:
    """Per currency: trials ended, converted, and the conversion rate."""
    rows = []
    for currency, group in ended_trials.groupby(ended_trials["currency"].astype("object")):
        converted = int((group["outcome"] == "converted").sum())
        rows.append(
            {
                "currency": currency,
                "trials": len(group),
                "converted": converted,
                "conversion_rate": converted / len(group),
            }
        )
    return pd.DataFrame(rows, columns=["currency", "trials", "converted", "conversion_rate"])


def failed_renewals(
    invoices: pd.DataFrame,
    subscriptions: pd.DataFrame,
    lines: pd.DataFrame,
    prices: pd.DataFrame,
    as_of=None,
) -> pd.DataFrame:
    """Renewal invoices whose payment failed at least once, with their outcome as of
    `as_of` (None: as stored): recovered (paid on a retry), retrying (not yet settled:
    its MRR is at risk), lost (the subscription ended, or the invoice was voided or given
    up as uncollectible) or unpaid (the subscription left `unpaid`); `mrr` is what the
    renewal bills per month."""
    renewals = invoices[
        (invoices["billing_reason"].astype("object") == "subscription_cycle")
        & invoices["subscription"].notna()
    ]
    status = renewals["status"].astype("object")
    failed = renewals[(renewals["attempt_count"] > 1) | status.isin(["open", "uncollectible"])]
    failed = failed[failed["attempt_count"] >= 1]
    moment = pd.Timestamp(as_of) if as_of is not None else None
    if moment is not None:  # first attempted (at finalizing) by then
        failed = failed[failed["finalized_at"] <= moment]
    priced = lines_mrr(lines[lines["invoice"].isin(failed["id"])], prices)
    recurring = priced[~priced["proration"].astype(bool)]
    mrr = recurring.groupby("invoice")["mrr"].sum()
    renewal = recurring.groupby("invoice")["period_start"].min()
    table = subscriptions.set_index("id")
    state = table["status"].astype("object")
    ended = table["ended_at"]

    def by(when) -> bool:  # happened, and by `as_of`
        return not pd.isna(when) and (moment is None or when <= moment)

    outcomes = []
    for row in failed.itertuples(index=False):
        if str(row.status) == "paid" and by(row.paid_at):
            outcomes.append("recovered")
        elif (
            by(ended.get(row.subscription))
            or by(row.voided_at)
            or str(row.status) == "uncollectible"
        ):
            outcomes.append("lost")
        elif state.get(row.subscription) == "unpaid":
            outcomes.append("unpaid")
        elif moment is None and pd.isna(row.next_payment_attempt):
            outcomes.append("lost")  # no attempt left, and nothing collected it
        else:
            outcomes.append("retrying")
    found = pd.DataFrame(
        {
            "invoice": failed["id"].to_numpy(),
            "subscription": failed["subscription"].to_numpy(),
            "customer": failed["customer"].to_numpy(),
            "currency": failed["currency"].astype("object").to_numpy(),
            "renewal": renewal.reindex(failed["id"]).to_numpy(),
            "attempt_count": failed["attempt_count"].astype("int64").to_numpy(),
            "next_payment_attempt": failed["next_payment_attempt"].to_numpy(),
            "amount_due": failed["amount_due"].astype("int64").to_numpy(),
            "mrr": mrr.reindex(failed["id"]).fillna(0).astype("int64").to_numpy(),
            "outcome": outcomes,
        }
    )
    return found.sort_values(["renewal", "invoice"]).reset_index(drop=True)


def recovery(failed: pd.DataFrame) -> pd.DataFrame:
    """Per currency: failed renewals by outcome, the recovery rate (recovered over those
    settled either way) and the MRR at risk (of those still being retried)."""
    rows = []
    for currency, group in failed.groupby("currency"):
        counts = group["outcome"].value_counts()
        recovered, lost = int(counts.get("recovered", 0)), int(counts.get("lost", 0))
        lost += int(counts.get("unpaid", 0))
        settled = recovered + lost
        retrying = group[group["outcome"] == "retrying"]
        rows.append(
            {
                "currency": currency,
                "failed": len(group),
                "recovered": recovered,
                "lost": lost,
                "retrying": len(retrying),
                "recovery_rate": recovered / settled if settled else 0.0,
                "mrr_recovered": int(group.loc[group["outcome"] == "recovered", "mrr"].sum()),
                "mrr_at_risk": int(retrying["mrr"].sum()),
            }
        )
    columns = [
        "currency",
        "failed",
        "recovered",
        "lost",
        "retrying",
        "recovery_rate",
        "mrr_recovered",
        "mrr_at_risk",
    ]
    return pd.DataFrame(rows, columns=columns)


def cohorts(mrr_steps: pd.DataFrame, months: list[Period]) -> pd.DataFrame:
    """Logo retention by the month customers first paid (the month whose closing MRR first
    holds them, as `movements` counts them new): per cohort and currency, the cohort's
    size, then for each month since (0, 1, 2, ...) the share of it with MRR at that
    month's end."""
    first = mrr_steps[mrr_steps["mrr"] > 0].groupby(["customer", "currency"])["at"].min()
    paying = {}
    for period in months:
        at_end = _customers_at(mrr_steps, period.end)
        paying[period.label] = set(at_end[at_end > 0].index)
    rows = []
    for index, period in enumerate(months):
        joined = first[(first > _instant(period.start)) & (first <= _instant(period.end))]
        for currency in sorted(set(joined.index.get_level_values("currency"))):
            members = {key for key in joined.index if key[1] == currency}
            row = {"cohort": period.label, "currency": currency, "customers": len(members)}
            for offset, later in enumerate(months[index:]):
                row[offset] = len(members & paying[later.label]) / len(members)
            rows.append(row)
    return pd.DataFrame(rows, columns=["cohort", "currency", "customers"] if not rows else None)


def tie_out(
    mrr_steps: pd.DataFrame,
    invoices: pd.DataFrame,
    lines: pd.DataFrame,
    months: list[Period],
) -> pd.DataFrame:
    """MRR against the invoices behind it, per month and currency. At the month's end:
    the closing MRR, the part whose invoice is paid and the part still unpaid (a renewal
    being retried, a draft). Over the month: the subscription invoices paid, what they
    collected, and that collection taken apart into recurring lines, prorations and the
    customer's credit balance used or added; `difference` (collected less those parts) is
    0 when every paid invoice ties to its lines."""
    status = invoices.set_index("id")["status"].astype("object")
    subscribed = invoices[invoices["subscription"].notna()]
    line_sums = (
        lines.assign(
            recurring=lines["amount"].where(~lines["proration"].astype(bool), 0),
            prorations=lines["amount"].where(lines["proration"].astype(bool), 0),
        )
        .groupby("invoice")[["recurring", "prorations"]]
        .sum()
    )
    rows = []
    for period in months:
        live = mrr_at(mrr_steps, period.end)
        live = live[live["mrr"] != 0]
        paid_behind = live["invoice"].map(status).eq("paid")
        paid_at = subscribed["paid_at"]
        paid = subscribed[
            (paid_at >= pd.Timestamp(period.start)) & (paid_at < pd.Timestamp(period.end))
        ]
        parts = line_sums.reindex(paid["id"]).fillna(0).astype("int64")
        # What a paid invoice collected is its lines and the customer's credit balance
        # it used (negative) or took on (positive): amount_paid = total + start - end.
        paid = paid.assign(
            recurring=parts["recurring"].to_numpy(),
            prorations=parts["prorations"].to_numpy(),
            customer_balance=(paid["starting_balance"].fillna(0) - paid["ending_balance"].fillna(0))
            .astype("int64")
            .to_numpy(),
        )
        currencies = sorted(set(live["currency"]) | set(paid["currency"].astype("object")))
        for currency in currencies:
            mine = live[live["currency"] == currency]
            bills = paid[paid["currency"].astype("object") == currency]
            row = {
                "month": period.label,
                "currency": currency,
                "mrr": int(mine["mrr"].sum()),
                "mrr_paid": int(mine.loc[paid_behind.loc[mine.index], "mrr"].sum()),
                "mrr_unpaid": int(mine.loc[~paid_behind.loc[mine.index], "mrr"].sum()),
                "invoices_paid": len(bills),
                "collected": int(bills["amount_paid"].sum()),
                "recurring": int(bills["recurring"].sum()),
                "prorations": int(bills["prorations"].sum()),
                "customer_balance": int(bills["customer_balance"].sum()),
            }
            parts_sum = row["recurring"] + row["prorations"] + row["customer_balance"]
            row["difference"] = row["collected"] - parts_sum
            rows.append(row)
    columns = [
        "month",
        "currency",
        "mrr",
        "mrr_paid",
        "mrr_unpaid",
        "invoices_paid",
        "collected",
        "recurring",
        "prorations",
        "customer_balance",
        "difference",
    ]
    table = pd.DataFrame(rows, columns=columns)
    table["tied_out"] = table["difference"] == 0
    return table
