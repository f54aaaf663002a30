"""The tie-out's pure parts: Stripe's CSV read exactly into minor units, the row-by-row
comparison, polling a report run, and where the key may go; no server involved."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
import stripe

from workbench import tieout
from workbench.tieout import TieOutFailed

HEADER = "automatic_payout_id,balance_transaction_id,currency,gross,fee,net,reporting_category\n"
KEY = "sk_test_tieoutUnitKey0123456789abcdef"


def frame(*rows: tuple) -> pd.DataFrame:
    """Rows of (payout, transaction, currency, gross, fee, net, category), minor units."""
    names = ["automatic_payout_id", "balance_transaction_id", "currency", "gross", "fee", "net"]
    table = pd.DataFrame([row[:6] for row in rows], columns=names)
    table["reporting_category"] = [row[6] for row in rows]
    return table.astype({"gross": "int64", "fee": "int64", "net": "int64"})


def test_amounts_become_exact_minor_units_per_currency():
    text = HEADER + (
        "po_1,txn_usd,usd,-3.00,0.00,-3.00,refund\n"
        "po_1,txn_jpy,jpy,1500,54,1446,charge\n"
        "po_2,txn_kwd,kwd,1.500,0.049,1.451,charge\n"
        "po_2,txn_big,usd,999999.99,0.01,999999.98,charge\n"
    )
    parsed = tieout.parse(text)
    assert parsed.to_dict("records") == frame(
        ("po_1", "txn_usd", "usd", -300, 0, -300, "refund"),
        ("po_1", "txn_jpy", "jpy", 1500, 54, 1446, "charge"),
        ("po_2", "txn_kwd", "kwd", 1500, 49, 1451, "charge"),
        ("po_2", "txn_big", "usd", 99999999, 1, 99999998, "charge"),
    ).to_dict("records")
    assert parsed["net"].dtype == "int64"


def test_columns_are_read_by_name_in_any_order():
    text = (
        "net,fee,gross,reporting_category,currency,balance_transaction_id,automatic_payout_id,x\n"
    )
    text += "9.41,0.59,10.00,charge,USD,txn_1,po_1,anything\n"
    parsed = tieout.parse(text)
    assert parsed.loc[0, "net"] == 941 and parsed.loc[0, "currency"] == "usd"


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("po_1,txn_1,usd,10.005,0.00,10.005,charge", "line 2"),
        ("po_1,txn_1,jpy,10.5,0,10.5,charge", "JPY"),
        ("po_1,txn_1,xyz,1.00,0,1.00,charge", "unknown currency"),
        ("po_1,txn_1,usd,,0,1.00,charge", "not a number"),
    ],
)
def test_a_figure_that_is_not_exact_is_an_error_naming_the_line(line, fragment):
    with pytest.raises(TieOutFailed, match=fragment):
        tieout.parse(HEADER + line + "\n")


def test_a_missing_column_is_named():
    with pytest.raises(TieOutFailed, match="no column 'net'"):
        tieout.parse(HEADER.replace(",net", ""))


def test_agreeing_frames_have_no_differences():
    ours = frame(("po_1", "txn_1", "usd", 1000, 59, 941, "charge"))
    assert tieout.compare(ours.copy(), ours).empty
    assert tieout.compare(ours.iloc[:0], ours.iloc[:0]).empty


def test_every_kind_of_difference_is_listed_once():
    theirs = frame(
        ("po_1", "txn_same", "usd", 1000, 59, 941, "charge"),
        ("po_1", "txn_net", "usd", 1000, 59, 942, "charge"),
        ("po_2", "txn_moved", "usd", -300, 0, -300, "partial_capture_reversal"),
        ("po_1", "txn_theirs", "jpy", 1500, 54, 1446, "charge"),
        ("po_1", "txn_twice", "usd", 500, 0, 500, "charge"),
        ("po_1", "txn_twice", "usd", 500, 0, 500, "charge"),
    )
    ours = frame(
        ("po_1", "txn_same", "usd", 1000, 59, 941, "charge"),
        ("po_1", "txn_net", "usd", 1000, 59, 941, "charge"),
        ("po_1", "txn_moved", "usd", -300, 0, -300, "refund"),
        ("po_1", "txn_ours", "kwd", 1500, 49, 1451, "charge"),
        ("po_1", "txn_twice", "usd", 500, 0, 500, "charge"),
    )
    found = tieout.compare(theirs, ours).set_index("balance_transaction_id")
    assert found["difference"].to_dict() == {
        "txn_net": "differs",
        "txn_theirs": "only_in_stripe",
        "txn_ours": "only_in_workbench",
        "txn_twice": "repeated",
        "txn_moved": "differs",
    }
    assert found.loc["txn_net", "fields"] == "net"
    assert (found.loc["txn_net", "stripe_net"], found.loc["txn_net", "workbench_net"]) == (942, 941)
    assert found.loc["txn_moved", "fields"] == "automatic_payout_id,reporting_category"
    assert pd.isna(found.loc["txn_theirs", "workbench_net"])
    assert found.loc["txn_ours", "workbench_currency"] == "kwd"
    result = tieout.TieOut("2026-07", "frr_1", found.reset_index(), 6, 5, 2)
    assert not result.agrees
    assert result.summary()["differs"] == 2 and result.summary()["repeated"] == 1
    text = result._repr_markdown_()
    assert "differs from ours in 5 balance transactions" in text
    assert "net is 9.42 USD in Stripe's, 9.41 USD in ours" in text
    assert "`txn_ours` (po_1, charge, net 1.451 KWD): only in ours." in text
    assert "`txn_theirs` (po_1, charge, net 1446 JPY): only in Stripe's report." in text


def _runs(*states: tuple[str, str | None]):
    """A client whose report run is pending, succeeded or failed in turn."""
    answers = iter(states)

    def retrieve(run_id):
        status, error = next(answers)
        result = SimpleNamespace(url="http://127.0.0.1:1/v1/files/file_1/contents")
        return SimpleNamespace(status=status, error=error, result=result)

    return SimpleNamespace(
        v1=SimpleNamespace(
            reporting=SimpleNamespace(report_runs=SimpleNamespace(retrieve=retrieve))
        )
    )


def test_a_run_is_polled_at_once_then_less_and_less_often():
    slept = []
    client = _runs(("pending", None), ("pending", None), ("succeeded", None))
    url = tieout.wait_for(client, "frr_1", sleep=slept.append, clock=lambda: 0.0)
    assert url.endswith("/v1/files/file_1/contents") and slept == [1.0, 2.0]


def test_a_failed_or_slow_run_is_one_line():
    with pytest.raises(TieOutFailed, match="frr_1 failed: no data"):
        tieout.wait_for(_runs(("failed", "no data")), "frr_1", sleep=lambda s: None)
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    pending = _runs(*[("pending", None)] * 20)
    with pytest.raises(TieOutFailed, match="still pending after 60 s") as caught:
        tieout.wait_for(pending, "frr_1", timeout=60, sleep=sleep, clock=lambda: now[0])
    assert "\n" not in str(caught.value) and now[0] <= 60


def test_the_key_goes_only_to_stripe_files_or_the_api_host():
    with pytest.raises(TieOutFailed, match="not sent there") as caught:
        tieout.download("https://example.com/v1/files/file_1/contents", KEY, "http://127.0.0.1:9")
    assert KEY not in str(caught.value)
    with pytest.raises(TieOutFailed, match="not sent there"):
        tieout.download("ftp://files.stripe.com/x", KEY, "https://api.stripe.com")


def test_stripe_errors_are_passed_on_without_the_key():
    def refuse(params):
        raise stripe.InvalidRequestError(f"Data is only available through ... ({KEY})", None)

    client = SimpleNamespace(
        v1=SimpleNamespace(reporting=SimpleNamespace(report_runs=SimpleNamespace(create=refuse)))
    )
    from workbench.periods import month_bounds

    with pytest.raises(TieOutFailed, match="only available through") as caught:
        tieout.request_run(client, month_bounds("2026-07"), KEY)
    assert KEY not in str(caught.value) and "sk_test_...cdef" in str(caught.value)
