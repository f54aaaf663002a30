"""The subscription analyses on a book small enough to work out by hand (the figures in the
comments), in JPY, KWD (three decimals) and USD, January to March 2026, UTC.

    A  JPY  980/month from 10 Jan; its 10 Feb renewal paid on the third try; 1 -> 3 seats
            on 20 Mar (prorated): MRR 980, then 2,940 from 20 Mar
    B  KWD  12.345/year, 14-day trial from 5 Jan (MRR 12345/12 = 1028.75 -> 1029 from
            19 Jan); canceled on 15 Feb; back on 3 Mar on the same plan
    C  USD  40.00 every 3 months, 2 seats, since 15 Dec (8000/3 = 2666.67 -> 2667); its
            15 Mar renewal fails and is being retried
    D  USD  a trial from 20 Jan that lapses on 3 Feb: never MRR
    E  USD  15.00/month, 2 seats, from 1 Feb 00:00 (January's closing instant), canceled at
            the period's end, 1 Mar (February's closing instant)
    F  USD  15.00/month, 4 seats from 2 Jan; down to 1 seat on 20 Feb, prorations on the
            2 Mar invoice, which leaves a credit of 1.07
"""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.analyses import subscriptions as subs
from workbench.periods import months_between


def at(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


PRICES = pd.DataFrame(
    [
        ("p_jpy", 980, "month", 1),
        ("p_kwd", 12345, "year", 1),
        ("p_usd_q", 4000, "month", 3),
        ("p_usd", 1500, "month", 1),
    ],
    columns=["id", "unit_amount", "interval", "interval_count"],
)
NONE = pd.NaT
SUBSCRIPTIONS = pd.DataFrame(
    [
        ("sub_a", "cus_a", "active", "jpy", at("2026-01-10"), NONE, NONE, NONE),
        ("sub_b1", "cus_b", "canceled", "kwd", at("2026-01-05"), at("2026-01-05"),
         at("2026-01-19"), at("2026-02-15")),
        ("sub_b2", "cus_b", "active", "kwd", at("2026-03-03"), NONE, NONE, NONE),
        ("sub_c", "cus_c", "past_due", "usd", at("2025-12-15"), NONE, NONE, NONE),
        ("sub_d", "cus_d", "canceled", "usd", at("2026-01-20"), at("2026-01-20"),
         at("2026-02-03"), at("2026-02-03")),
        ("sub_e", "cus_e", "canceled", "usd", at("2026-02-01"), NONE, NONE, at("2026-03-01")),
        ("sub_f", "cus_f", "active", "usd", at("2026-01-02"), NONE, NONE, NONE),
        ("sub_g", "cus_g", "incomplete_expired", "usd", at("2026-01-07"), NONE, NONE,
         at("2026-01-08")),
    ],
    columns=["id", "customer", "status", "currency", "start_date", "trial_start", "trial_end",
             "ended_at"],
)  # fmt: skip
LINES = pd.DataFrame(
    [
        # invoice, subscription, price, quantity, amount, proration, period start
        ("in_a1", "sub_a", "p_jpy", 1, 980, False, at("2026-01-10")),
        ("in_a2", "sub_a", "p_jpy", 1, 980, False, at("2026-02-10")),
        ("in_a3", "sub_a", "p_jpy", 1, 980, False, at("2026-03-10")),
        ("in_a4", "sub_a", "p_jpy", 1, -664, True, at("2026-03-20")),
        ("in_a4", "sub_a", "p_jpy", 3, 1992, True, at("2026-03-20")),
        ("in_b1", "sub_b1", "p_kwd", 1, 0, False, at("2026-01-05")),  # the trial
        ("in_b2", "sub_b1", "p_kwd", 1, 12345, False, at("2026-01-19")),
        ("in_b3", "sub_b2", "p_kwd", 1, 12345, False, at("2026-03-03")),
        ("in_c1", "sub_c", "p_usd_q", 2, 8000, False, at("2025-12-15")),
        ("in_c2", "sub_c", "p_usd_q", 2, 8000, False, at("2026-03-15")),
        ("in_d1", "sub_d", "p_usd", 1, 0, False, at("2026-01-20")),
        ("in_e1", "sub_e", "p_usd", 2, 3000, False, at("2026-02-01")),
        ("in_f1", "sub_f", "p_usd", 4, 6000, False, at("2026-01-02")),
        ("in_f2", "sub_f", "p_usd", 4, 6000, False, at("2026-02-02")),
        ("in_f3", "sub_f", "p_usd", 4, -2143, True, at("2026-02-20")),
        ("in_f3", "sub_f", "p_usd", 1, 536, True, at("2026-02-20")),
        ("in_f3", "sub_f", "p_usd", 1, 1500, False, at("2026-03-02")),
        ("in_g1", "sub_g", "p_usd", 1, 1500, False, at("2026-01-07")),
    ],
    columns=["invoice", "subscription", "price", "quantity", "amount", "proration",
             "period_start"],
)  # fmt: skip
INVOICES = pd.DataFrame(
    [
        # id, subscription, customer, currency, status, reason, attempts, next attempt,
        # due, paid, paid at, starting and ending balance
        ("in_a1", "sub_a", "cus_a", "jpy", "paid", "subscription_create", 1, NONE, 980, 980,
         at("2026-01-10"), 0, 0),
        ("in_a2", "sub_a", "cus_a", "jpy", "paid", "subscription_cycle", 3, NONE, 980, 980,
         at("2026-02-14"), 0, 0),
        ("in_a3", "sub_a", "cus_a", "jpy", "paid", "subscription_cycle", 1, NONE, 980, 980,
         at("2026-03-10"), 0, 0),
        ("in_a4", "sub_a", "cus_a", "jpy", "paid", "subscription_update", 1, NONE, 1328, 1328,
         at("2026-03-20"), 0, 0),
        ("in_b1", "sub_b1", "cus_b", "kwd", "paid", "subscription_create", 0, NONE, 0, 0,
         at("2026-01-05"), 0, 0),
        ("in_b2", "sub_b1", "cus_b", "kwd", "paid", "subscription_cycle", 1, NONE, 12345,
         12345, at("2026-01-19"), 0, 0),
        ("in_b3", "sub_b2", "cus_b", "kwd", "paid", "subscription_create", 1, NONE, 12345,
         12345, at("2026-03-03"), 0, 0),
        ("in_c1", "sub_c", "cus_c", "usd", "paid", "subscription_cycle", 1, NONE, 8000, 8000,
         at("2025-12-15"), 0, 0),
        ("in_c2", "sub_c", "cus_c", "usd", "open", "subscription_cycle", 2,
         at("2026-03-19"), 8000, 0, NONE, 0, 0),
        ("in_d1", "sub_d", "cus_d", "usd", "paid", "subscription_create", 0, NONE, 0, 0,
         at("2026-01-20"), 0, 0),
        ("in_e1", "sub_e", "cus_e", "usd", "paid", "subscription_create", 1, NONE, 3000, 3000,
         at("2026-02-01"), 0, 0),
        ("in_f1", "sub_f", "cus_f", "usd", "paid", "subscription_create", 1, NONE, 6000, 6000,
         at("2026-01-02"), 0, 0),
        ("in_f2", "sub_f", "cus_f", "usd", "paid", "subscription_cycle", 1, NONE, 6000, 6000,
         at("2026-02-02"), 0, 0),
        ("in_f3", "sub_f", "cus_f", "usd", "paid", "subscription_cycle", 0, NONE, 0, 0,
         at("2026-03-02"), 0, -107),
        ("in_g1", "sub_g", "cus_g", "usd", "void", "subscription_create", 1, NONE, 1500, 0,
         NONE, 0, 0),
    ],
    columns=["id", "subscription", "customer", "currency", "status", "billing_reason",
             "attempt_count", "next_payment_attempt", "amount_due", "amount_paid", "paid_at",
             "starting_balance", "ending_balance"],
)  # fmt: skip
# Finalized (and first attempted) when their period starts; G's first invoice voided a day on.
INVOICES["finalized_at"] = INVOICES["id"].map(LINES.groupby("invoice")["period_start"].min())
INVOICES["voided_at"] = (
    INVOICES["id"].map({"in_g1": at("2026-01-08")}).astype("datetime64[ns, UTC]")
)
MONTHS = months_between("2026-01", "2026-03")


@pytest.fixture(scope="module")
def steps():
    return subs.steps(SUBSCRIPTIONS, LINES, PRICES)


def test_monthly_amounts_round_half_up_in_minor_units():
    assert subs.monthly(12345, "year", 1) == 1029  # 1028.75 fils
    assert subs.monthly(8000, "month", 3) == 2667  # 2666.67 cents
    assert subs.monthly(980, "month", 1) == 980  # yen
    assert subs.monthly(18, "year", 1) == 2  # 1.5 -> 2
    assert subs.monthly(-18, "year", 1) == -2  # a credit mirrors its charge
    assert subs.monthly(1200, "month", 6) == 200
    assert subs.monthly(5200, "week", 1) == 22533  # 5200 x 52 / 12 = 22533.33


def test_movements_by_hand(steps):
    moved = subs.movements(steps, MONTHS).set_index(["month", "currency"])
    figures = ["opening", *subs.MOVEMENTS, "closing", "customers"]
    expected = {
        # opening, new, expansion, contraction, churn, reactivation, closing, customers
        ("2026-01", "jpy"): (0, 980, 0, 0, 0, 0, 980, 1),
        ("2026-02", "jpy"): (980, 0, 0, 0, 0, 0, 980, 1),
        ("2026-03", "jpy"): (980, 0, 1960, 0, 0, 0, 2940, 1),
        ("2026-01", "kwd"): (0, 1029, 0, 0, 0, 0, 1029, 1),
        ("2026-02", "kwd"): (1029, 0, 0, 0, -1029, 0, 0, 0),
        ("2026-03", "kwd"): (0, 0, 0, 0, 0, 1029, 1029, 1),
        # E begins at January's closing instant, and ends at February's
        ("2026-01", "usd"): (2667, 9000, 0, 0, 0, 0, 11667, 3),
        ("2026-02", "usd"): (11667, 0, 0, -4500, -3000, 0, 4167, 2),
        ("2026-03", "usd"): (4167, 0, 0, 0, 0, 0, 4167, 2),  # C still counts while retried
    }
    assert {k: tuple(int(moved.loc[k, f]) for f in figures) for k in expected} == expected
    assert len(moved) == len(expected)
    assert moved["balanced"].all()


def test_churn_and_arpu_by_hand(steps):
    table = subs.churn(subs.movements(steps, MONTHS)).set_index(["month", "currency"])
    usd_feb = table.loc[("2026-02", "usd")]
    assert usd_feb["logo_churn"] == pytest.approx(1 / 3)
    assert usd_feb["revenue_churn"] == pytest.approx(7500 / 11667)
    assert usd_feb["net_revenue_churn"] == pytest.approx(7500 / 11667)
    assert table.loc[("2026-03", "jpy"), "net_revenue_churn"] == pytest.approx(-1960 / 980)
    assert table.loc[("2026-01", "usd"), "arpu"] == 3889  # 11667 / 3
    assert table.loc[("2026-02", "usd"), "arpu"] == 2084  # 4167 / 2 = 2083.5, half up
    assert table.loc[("2026-02", "kwd"), "arpu"] == 0  # nobody left


def test_trials_by_hand():
    ended = subs.trials(SUBSCRIPTIONS, at("2026-03-31"))
    assert dict(zip(ended["id"], ended["outcome"], strict=True)) == {
        "sub_b1": "converted",  # canceled later, after paying
        "sub_d": "lapsed",
    }
    rates = subs.trial_conversion(ended).set_index("currency")
    assert rates.loc["kwd", "conversion_rate"] == 1.0
    assert rates.loc["usd", "conversion_rate"] == 0.0
    assert subs.trials(SUBSCRIPTIONS, at("2026-01-18"))["id"].tolist() == []


def test_failed_renewals_by_hand():
    failed = subs.failed_renewals(INVOICES, SUBSCRIPTIONS, LINES, PRICES)
    assert failed[["invoice", "outcome", "mrr"]].values.tolist() == [
        ["in_a2", "recovered", 980],
        ["in_c2", "retrying", 2667],
    ]
    summary = subs.recovery(failed).set_index("currency")
    assert summary.loc["jpy", "recovery_rate"] == 1.0
    assert summary.loc["usd", "mrr_at_risk"] == 2667
    assert summary.loc["usd", "recovery_rate"] == 0.0  # nothing settled yet
    # As of 12 February, A's renewal was still being retried, and C's not yet due
    then = subs.failed_renewals(INVOICES, SUBSCRIPTIONS, LINES, PRICES, as_of=at("2026-02-12"))
    assert then[["invoice", "outcome", "mrr"]].values.tolist() == [["in_a2", "retrying", 980]]
    assert subs.recovery(then).set_index("currency").loc["jpy", "mrr_at_risk"] == 980


def test_cohorts_by_hand(steps):
    table = subs.cohorts(steps, MONTHS).set_index(["cohort", "currency"])
    assert table.loc[("2026-01", "usd"), "customers"] == 2  # E (at January's close) and F
    assert [table.loc[("2026-01", "usd"), k] for k in (0, 1, 2)] == [1.0, 0.5, 0.5]
    assert [table.loc[("2026-01", "kwd"), k] for k in (0, 1, 2)] == [1.0, 0.0, 1.0]
    assert [table.loc[("2026-01", "jpy"), k] for k in (0, 1, 2)] == [1.0, 1.0, 1.0]
    assert len(table) == 3  # C joined before January; nobody new after it


def test_tie_out_by_hand(steps):
    table = subs.tie_out(steps, INVOICES, LINES, MONTHS).set_index(["month", "currency"])
    assert table["tied_out"].all()
    usd_march = table.loc[("2026-03", "usd")]
    # C's 2667 stands on an open invoice; F's 1500 on a paid one
    assert (usd_march["mrr"], usd_march["mrr_paid"], usd_march["mrr_unpaid"]) == (4167, 1500, 2667)
    # F's March invoice: 15.00 for the month, 16.07 of prorations back, 1.07 left as credit
    assert (usd_march["collected"], usd_march["recurring"], usd_march["prorations"]) == (
        0,
        1500,
        -1607,
    )
    assert usd_march["customer_balance"] == 107
    jpy_march = table.loc[("2026-03", "jpy")]
    assert (jpy_march["collected"], jpy_march["prorations"]) == (2308, 1328)
    kwd_jan = table.loc[("2026-01", "kwd")]
    assert (kwd_jan["invoices_paid"], kwd_jan["collected"]) == (2, 12345)  # trial's and first


def test_mrr_in_settlement_currency_by_hand():
    """Closing October in USD: 10.00 + 20.00 EUR x 1.08 = 21.60 + 18,811 JPY x 0.0067 =
    126.0337 -> 126.03 + 1.029 KWD x 3.25 = 3.34425 -> 3.34: 160.97. November's 50 JPY is
    0.335 USD, rounded half up to 0.34. GBP was never charged: no rate, a row of its own."""
    from decimal import Decimal

    moved = pd.DataFrame(
        [
            ("2026-10", "usd", 900, 1000, 2),
            ("2026-10", "eur", 0, 2000, 1),
            ("2026-10", "jpy", 18811, 18811, 3),
            ("2026-10", "kwd", 0, 1029, 1),
            ("2026-10", "gbp", 0, 500, 1),
            ("2026-11", "jpy", 18811, 50, 1),
        ],
        columns=["month", "currency", "opening", "closing", "customers"],
    )
    rates = {
        "usd": ("usd", Decimal(1)),
        "eur": ("usd", Decimal("1.08")),
        "jpy": ("usd", Decimal("0.0067")),
        "kwd": ("usd", Decimal("3.25")),
    }
    found = subs.in_settlement(moved, rates)
    assert found.values.tolist() == [
        ["2026-10", "usd", 900 + 12603, 1000 + 2160 + 12603 + 334, 7],
        ["2026-10", "gbp", 0, 500, 1],
        ["2026-11", "usd", 12603, 34, 1],
    ]


def test_settlement_rates_are_the_latest_charges():
    transactions = pd.DataFrame(
        [
            ("txn_1", at("2026-10-01"), "charge", "ch_eur_old", "usd", 1.07),
            ("txn_2", at("2026-10-20"), "charge", "ch_eur_new", "usd", 1.08),
            ("txn_3", at("2026-10-25"), "refund", "re_1", "usd", 1.5),
            ("txn_4", at("2026-10-05"), "charge", "ch_usd", "usd", float("nan")),
            ("txn_5", at("2026-10-06"), "payment", "ch_jpy", "usd", 0.0067),
        ],
        columns=["id", "created", "type", "source", "currency", "exchange_rate"],
    )
    charges = pd.DataFrame(
        [("ch_eur_old", "eur"), ("ch_eur_new", "eur"), ("ch_usd", "usd"), ("ch_jpy", "jpy")],
        columns=["id", "currency"],
    )
    assert {
        c: (t, str(r)) for c, (t, r) in subs.settlement_rates(transactions, charges).items()
    } == {
        "eur": ("usd", "1.08"),
        "usd": ("usd", "1"),
        "jpy": ("usd", "0.0067"),
    }
