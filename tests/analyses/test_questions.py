"""Authorizations, saved cards, declines, disputes, fees and charges at a glance, on small
histories worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from tests.analyses.handmade import Handmade, at, charge, txn
from workbench.analyses import auth, balance, cards, charges, declines, disputes, fees

AS_OF = datetime(2026, 10, 10, 12, tzinfo=UTC)


def test_open_authorizations_by_deadline(tmp_path):
    made = Handmade(tmp_path).add(
        "charges",
        charge("a_later", at(2026, 10, 9), 1000, captured=0),  # 7 days: Oct 16 12:00, 144 h
        charge("a_soon", at(2026, 10, 3, 14), 2000, captured=0),  # Oct 10 14:00: 2 h left
        charge("a_card", at(2026, 10, 8), 3000, captured=0, capture_before=at(2026, 10, 12, 0)),
        charge("a_gone", at(2026, 10, 2), 4000, captured=0),  # Oct 9 12:00: 24 h ago
        charge("a_released", at(2026, 10, 8), 500, captured=0, refunded=500),
        charge("captured", at(2026, 10, 8), 600),
    )
    found = auth.open_authorizations(made.frame("charges"), AS_OF)
    assert list(found["id"]) == ["a_gone", "a_soon", "a_card", "a_later"]
    assert list(found["hours_left"]) == [-24.0, 2.0, 36.0, 144.0]
    assert list(found["bucket"].astype(str)) == ["expired", "within 24 h", "within 72 h", "later"]
    aging = auth.aging(found).set_index("bucket")
    assert aging.loc["within 72 h", "amount"] == 3000 and aging["count"].sum() == 4


def test_authorizations_that_lapsed_with_the_amount_released(tmp_path):
    made = Handmade(tmp_path).add(
        "charges", charge("ch_l", at(2026, 10, 1), 4200, captured=0, refunded=4200, order="O-9")
    )
    made.add(
        "refunds",
        {
            "id": "re_l",
            "object": "refund",
            "created": at(2026, 10, 8),
            "amount": 4200,
            "currency": "usd",
            "charge": "ch_l",
            "reason": "expired_uncaptured_charge",
            "status": "succeeded",
        },
        {
            "id": "re_x",
            "object": "refund",
            "created": at(2026, 10, 8),
            "amount": 100,
            "currency": "usd",
            "charge": "ch_other",
            "reason": "requested_by_customer",
            "status": "succeeded",
        },
    )
    lapsed = auth.expired(made.frame("charges"), made.frame("refunds"))
    assert lapsed[["charge", "released_amount", "order_id"]].to_dict("records") == [
        {"charge": "ch_l", "released_amount": 4200, "order_id": "O-9"}
    ]


def test_cards_expiring_and_customers_without_a_default(tmp_path):
    made = Handmade(tmp_path).add(
        "cards",
        {
            "id": "card_oct",
            "object": "card",
            "customer": "cus_a",
            "brand": "Visa",
            "funding": "credit",
            "last4": "4242",
            "exp_month": 10,
            "exp_year": 2026,
        },
        {
            "id": "card_jan",
            "object": "card",
            "customer": "cus_a",
            "brand": "Visa",
            "funding": "debit",
            "last4": "5556",
            "exp_month": 1,
            "exp_year": 2027,
        },
        {
            "id": "card_far",
            "object": "card",
            "customer": "cus_b",
            "brand": "MasterCard",
            "funding": "credit",
            "last4": "4444",
            "exp_month": 2,
            "exp_year": 2027,
        },
        {
            "id": "card_old",
            "object": "card",
            "customer": "cus_b",
            "brand": "Visa",
            "funding": "credit",
            "last4": "0000",
            "exp_month": 9,
            "exp_year": 2026,
        },
    )
    made.add(
        "customers",
        {
            "id": "cus_a",
            "object": "customer",
            "created": at(2026, 1, 1),
            "email": "a@example.com",
            "default_source": "card_oct",
        },
        {
            "id": "cus_b",
            "object": "customer",
            "created": at(2026, 1, 2),
            "email": "b@example.com",
            "default_source": None,
        },
        {
            "id": "cus_c",
            "object": "customer",
            "created": at(2026, 1, 3),
            "email": "c@example.com",
            "default_source": None,
            "deleted": True,
        },
    )
    soon = cards.expiring(made.frame("cards"), made.frame("customers"), AS_OF, months=3)
    # Good through the end of the expiry month: September's card ended Oct 1, October's has
    # until Nov 1; January's stops Feb 1, beyond three months of Oct 10 (Jan 10), within four.
    assert list(soon["id"]) == ["card_old", "card_oct"]
    assert list(soon["expired"]) == [True, False]
    assert list(soon["email"]) == ["b@example.com", "a@example.com"]
    later = cards.expiring(made.frame("cards"), made.frame("customers"), AS_OF, months=4)
    assert list(later["id"]) == ["card_old", "card_oct", "card_jan"]
    lonely = cards.without_default(made.frame("customers"), made.frame("cards"))
    assert lonely[["id", "saved_cards"]].to_dict("records") == [{"id": "cus_b", "saved_cards": 2}]
    assert cards.by_brand(made.frame("cards")).iloc[0].to_dict() == {
        "brand": "Visa",
        "funding": "credit",
        "count": 2,
    }


def declined(id, amount, code, decline, brand="visa"):
    found = charge(id, at(2026, 10, 1), amount, status="failed", failure_code=code)
    found["outcome"] = {
        "type": "issuer_declined",
        "reason": decline,
        "network_status": "declined_by_network",
    }
    found["payment_method_details"]["card"]["brand"] = brand
    return found


def test_declines_by_code_and_day(tmp_path):
    made = Handmade(tmp_path).add(
        "charges",
        charge("ok_1", at(2026, 10, 1), 1000),
        charge("ok_2", at(2026, 10, 1, 23), 1000),
        declined("no_1", 500, "card_declined", "insufficient_funds"),
        declined("no_2", 700, "card_declined", "insufficient_funds"),
        declined("no_3", 900, "expired_card", "expired_card", brand="mastercard"),
    )
    frame = made.frame("charges")
    codes = declines.by(frame, "decline_code").set_index("decline_code")
    assert codes.loc["insufficient_funds", "failed_amount"] == 1200
    assert codes.loc["insufficient_funds", "failed"] == 2
    brands = declines.by(frame, "card_brand").set_index("card_brand")
    assert brands.loc["visa", "attempts"] == 4 and brands.loc["visa", "decline_rate"] == 0.5
    assert brands.loc["mastercard", "decline_rate"] == 1.0
    # 23:00 UTC on Oct 1 is Oct 2 in Auckland (UTC+13 in October)
    days = declines.daily(frame, "Pacific/Auckland").set_index("day")["attempts"]
    assert {str(day): int(n) for day, n in days.items()} == {"2026-10-02": 5}
    utc = declines.daily(frame, "Etc/UTC")
    assert list(utc["attempts"]) == [5] and list(utc["decline_rate"]) == [0.6]


def test_disputes_open_at_stake_and_won(tmp_path):
    def dispute(id, status, reason, due):
        return {
            "id": id,
            "object": "dispute",
            "created": at(2026, 10, 1),
            "amount": 5000,
            "currency": "usd",
            "status": status,
            "reason": reason,
            "charge": f"ch_{id}",
            "evidence_details": {"due_by": due},
        }

    made = Handmade(tmp_path).add(
        "disputes",
        dispute("dp_open", "needs_response", "fraudulent", at(2026, 10, 12)),
        dispute("dp_review", "under_review", "fraudulent", at(2026, 10, 11)),
        dispute("dp_won", "won", "fraudulent", at(2026, 10, 9)),
        dispute("dp_lost", "lost", "product_not_received", at(2026, 10, 9)),
        dispute("dp_lost2", "lost", "fraudulent", at(2026, 10, 9)),
    )
    made.add(
        "balance_transactions",
        txn("t1", at(2026, 10, 1), -5000, 1500, category="dispute", source="dp_open"),
        txn("t2", at(2026, 10, 1), -5000, 1500, category="dispute", source="dp_won"),
        txn("t3", at(2026, 10, 5), 5000, category="dispute_reversal", source="dp_won"),
    )
    transactions = made.frame("balance_transactions")
    found = disputes.open_disputes(made.frame("disputes"), transactions, AS_OF)
    assert list(found["id"]) == ["dp_open", "dp_review"]  # evidence needed first
    assert found.iloc[0][["withdrawn", "fee", "days_left"]].tolist() == [5000, 1500, 2.0]
    staked = disputes.at_stake(made.frame("disputes"), transactions).set_index("id")
    assert staked.loc["dp_won", "reinstated"] == 5000
    outcomes = disputes.outcomes(made.frame("disputes")).set_index("reason")
    assert outcomes.loc["fraudulent", "win_rate"] == 0.5
    assert outcomes.loc["(all)", "won"] == 1 and outcomes.loc["(all)", "lost"] == 2


def test_fees_by_type_category_and_presentment(tmp_path):
    made = Handmade(tmp_path).add(
        "balance_transactions",
        txn("t_usd", at(2026, 10, 1), 10000, 320, source="ch_usd"),
        txn("t_eur", at(2026, 10, 1), 10800, 562, source="ch_eur", exchange_rate=1.08),
        txn("t_radar", at(2026, 10, 2), -500, 0, category="fee", type="stripe_fee"),
        txn("t_dispute", at(2026, 10, 3), -2000, 1500, category="dispute", source="dp_1"),
    )
    made.add(
        "charges",
        charge("ch_usd", at(2026, 10, 1), 10000),
        charge("ch_eur", at(2026, 10, 1), 10000, "eur"),
    )
    frame = made.frame("balance_transactions")
    assert fees.by_type(frame).to_dict("records") == [
        {"currency": "usd", "fee_type": "stripe_fee", "amount": 2382}
    ]
    rate = fees.effective_rate(frame).iloc[0]
    assert (rate["fee"], rate["gross"]) == (2382, 20800)
    by_currency = fees.by_presentment(frame, made.frame("charges")).set_index(
        "presentment_currency"
    )
    assert (
        by_currency.loc["eur", "fee"] == 562
        and by_currency.loc["eur", "effective_rate"] == 562 / 10800
    )
    categories = fees.by_category(frame).set_index("reporting_category")
    assert categories.loc["fee", "net"] == -500 and categories.loc["dispute", "fee"] == 1500


def test_charges_overview(tmp_path):
    made = Handmade(tmp_path).add(
        "charges",
        charge(
            "c1", at(2026, 10, 1), 1000, customer="cus_a", calculated_statement_descriptor="SHOP* A"
        ),
        charge(
            "c2",
            at(2026, 10, 1),
            3000,
            customer="cus_b",
            refunded=1000,
            calculated_statement_descriptor="SHOP* B",
        ),
        charge("c3", at(2026, 10, 2), 5000, customer="cus_a", captured=4000, refunded=1000),
        declined("c4", 700, "card_declined", "generic_decline"),
    )
    made.add(
        "customers", {"id": "cus_a", "object": "customer", "created": 1, "email": "a@example.com"}
    )
    frame = made.frame("charges")
    rate = charges.refund_rate(frame).iloc[0]
    # c3's uncaptured 10.00 is a release, not a refund
    assert (rate["captured"], rate["refunded"]) == (8000, 1000)
    top = charges.top_customers(frame, made.frame("customers"), 1)
    assert top[["customer", "email", "captured"]].to_dict("records") == [
        {"customer": "cus_a", "email": "a@example.com", "captured": 5000}
    ]
    daily = charges.daily(frame, "Etc/UTC")
    assert daily[["attempts", "succeeded", "failed", "captured"]].values.tolist() == [
        [3, 2, 1, 4000],
        [1, 1, 0, 4000],
    ]
    assert len(charges.select(frame, customer="cus_a")) == 2
    assert charges.statement_descriptors(frame)["count"].sum() == 3


def test_balance_history_selects_like_the_dashboard(tmp_path):
    made = Handmade(tmp_path).add(
        "balance_transactions",
        txn("t1", at(2026, 10, 1), 1000, 59, payout="po_1"),
        txn("t2", at(2026, 10, 2), -300, category="refund"),
        txn("t3", at(2026, 10, 3), 25000, 755, currency="usd"),
        txn("t4", at(2026, 10, 4), 900, 56, currency="eur"),
    )
    frame = made.frame("balance_transactions")
    pick = balance.history
    assert list(pick(frame, categories=["refund"])["id"]) == ["t2"]
    assert list(pick(frame, min_amount=0, max_amount=1000)["id"]) == ["t1", "t4"]
    assert list(pick(frame, currency="usd", start=datetime(2026, 10, 2, tzinfo=UTC))["id"]) == [
        "t2",
        "t3",
    ]
    assert list(pick(frame, payout="po_1")["id"]) == ["t1"]
    assert list(pick(frame, types=["charge"], end=datetime(2026, 10, 3, tzinfo=UTC))["id"]) == [
        "t1"
    ]
    assert isinstance(pick(frame), pd.DataFrame) and len(pick(frame)) == 4
