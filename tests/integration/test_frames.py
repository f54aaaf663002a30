"""Frames from the store: types an analyst can rely on, amounts exact in every currency."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import stripe

from tests.store_vs_api import connect
from workbench import frames, money
from workbench.exceptions import WorkbenchError


@pytest.fixture
def wb(sandbox_server, account_key, tmp_path):
    session = connect(sandbox_server.url, account_key, tmp_path)
    c = session.client.v1
    customer = c.customers.create(params={"email": "f@example.com", "source": "tok_visa"})
    c.charges.create(
        params={
            "amount": 1999,
            "currency": "usd",
            "customer": customer.id,
            "metadata": {"order_id": "F-1", "channel": "web"},
        }
    )
    c.charges.create(
        params={
            "amount": 5000,
            "currency": "jpy",
            "source": "tok_jp",
            "metadata": {"order_id": "F-2"},
        }
    )
    c.charges.create(
        params={"amount": 12340, "currency": "kwd", "source": "tok_visa", "capture": False}
    )
    with pytest.raises(stripe.CardError):  # a decline is stored too
        c.charges.create(
            params={
                "amount": 700,
                "currency": "usd",
                "source": "tok_chargeDeclinedInsufficientFunds",
            }
        )
    session.sync(progress=False, rate=1000)
    return session


def test_charges_frame_types(wb):
    charges = wb.frame("charges")
    assert len(charges) == 4
    assert str(charges["created"].dtype) == "datetime64[us, UTC]" or str(
        charges["created"].dtype
    ).endswith(", UTC]")
    for column in ("amount", "amount_captured", "amount_refunded"):
        assert charges[column].dtype == "int64"
    assert charges["captured"].dtype == bool
    assert isinstance(charges["currency"].dtype, pd.CategoricalDtype)
    by_currency = charges.set_index("currency")
    assert by_currency.loc["jpy", "amount"] == 5000
    assert money.to_major(int(by_currency.loc["jpy", "amount"]), "jpy") == Decimal("5000")
    assert money.to_major(int(by_currency.loc["kwd", "amount"]), "kwd") == Decimal("12.340")
    assert by_currency.loc["kwd", "captured"] == False  # noqa: E712
    assert set(charges["metadata.order_id"].dropna()) == {"F-1", "F-2"}
    assert charges["metadata.channel"].dropna().tolist() == ["web"]
    failed = charges[charges["status"] == "failed"].iloc[0]
    assert (failed["decline_code"], failed["failure_code"]) == (
        "insufficient_funds",
        "card_declined",
    )
    web = charges[charges["metadata.order_id"] == "F-1"].iloc[0]
    assert (web["card_brand"], web["card_last4"], web["card_funding"]) == ("visa", "4242", "credit")
    assert charges["card_exp_year"].dtype == "int64"


def test_balance_transactions_frame(wb):
    transactions = wb.frame("balance_transactions")
    assert len(transactions) == 2  # the authorization moved no money, the decline none
    assert set(transactions["currency"]) == {"usd"}
    assert (transactions["net"] == transactions["amount"] - transactions["fee"]).all()
    assert (transactions["fee"] == transactions["fee.stripe_fee"]).all()
    jpy = transactions[transactions["exchange_rate"].notna()].iloc[0]
    assert jpy["amount"] == 3350  # 5000 JPY at 0.0067
    assert transactions["available_on"].dt.tz is not None


def test_periods_and_filters(wb, raw):
    first = wb.frame("charges")["created"].max()
    raw("POST", "/_sandbox/clock/advance", {"days": "2"})
    later = wb.client.v1.charges.create(
        params={"amount": 800, "currency": "usd", "source": "tok_visa"}
    )
    wb.sync(progress=False, rate=1000)
    day = pd.Timedelta(days=1)
    early = wb.frame("charges", first - day, first + day)
    assert len(early) == 4 and later.id not in set(early["id"])
    recent = wb.frame("charges", start=(first + day).date())
    assert recent["id"].tolist() == [later.id]
    assert len(wb.frame("charges", end=first.to_pydatetime() + day)) == 4
    assert len(wb.frame("charges", status="failed")) == 1
    assert wb.frame("charges", "2001-01-01", "2001-02-01").empty
    assert len(wb.cards()) == 1
    assert wb.customers()["email"].tolist() == ["f@example.com"]
    assert wb.charges(first - day, first + day, status="failed")["decline_code"].tolist() == [
        "insufficient_funds"
    ]
    assert wb.refunds().empty and wb.disputes().empty


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("charges", "2026-02-01", "2026-01-01"), {}, "is not before end"),
        (("charges", "yesterday-ish"), {}, "is not a date"),
        (("quotes",), {}, "unknown frame"),
        (("charges",), {"colour": "red"}, "cannot filter charges by 'colour'"),
    ],
)
def test_bad_requests_are_clear(wb, args, kwargs, message):
    with pytest.raises(WorkbenchError, match=message):
        wb.frame(*args, **kwargs)


def test_text_holding_the_column_separator_survives(wb):
    odd = "tab\tunit\x1fseparator"
    charge = wb.client.v1.charges.create(
        params={"amount": 100, "currency": "usd", "source": "tok_visa", "description": odd}
    )
    wb.sync(progress=False, rate=1000)
    for _ in ("from SQLite", "from the day's copy"):
        charges = wb.charges().set_index("id")
        assert charges.loc[charge.id, "description"] == odd
        assert charges["description"].isna().sum() == 4  # the fixture's charges have none


def test_key_order_is_checked_not_assumed():
    ids = np.array(["ch_a", "ch_b", "ch_c"], dtype=object)
    assert frames._in_order(ids, np.array([1, 1, 2]))
    assert not frames._in_order(ids, np.array([1, 2, 1]))
    assert not frames._in_order(ids[::-1], np.array([1, 1, 2]))
    assert frames._in_order(ids, None) and not frames._in_order(ids[::-1], None)
