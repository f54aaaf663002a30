"""The package functions behind notebooks 2, 8, 9 and 10, without a browser: the widgets
driven by setting their controls, a webhook delivered by the sandbox and verified with the
official client's check, and the go-live checks against an account and files made here."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import pytest

import workbench
from tests.analyses.handmade import Handmade, at, txn
from workbench import actions, config, golive, overview, plots, webhooks, widgets


@pytest.fixture
def wb(sandbox_server, account_key, tmp_path):
    settings = config.load(
        {
            "STRIPE_API_KEY": account_key,
            "STRIPE_API_BASE": sandbox_server.url,
            "WORKBENCH_DATA_DIR": str(tmp_path / "data"),
        }
    )
    return workbench.connect(settings=settings)


def test_balance_history_widget_exports_exactly_its_selection(tmp_path):
    frame = (
        Handmade(tmp_path)
        .add(
            "balance_transactions",
            txn("t1", at(2026, 10, 1), 1000, 59, payout="po_1"),
            txn("t2", at(2026, 10, 2), -300, category="refund"),
            txn("t3", at(2026, 10, 3), 25000, 755),
            txn("t4", at(2026, 10, 4), 900, 56, currency="eur"),
        )
        .frame("balance_transactions")
    )
    widget = widgets.BalanceHistory(frame, "Etc/UTC", export_to=tmp_path / "shown.csv")
    assert widget.currency.value == "eur" and list(widget.selection()["id"]) == ["t4"]
    widget.currency.value = "usd"
    assert widget.amount.value == (-3.0, 250.0)  # the usd amounts, in dollars
    assert list(widget.selection()["id"]) == ["t1", "t2", "t3"]
    widget.categories.value = ("refund",)
    assert list(widget.shown["id"]) == ["t2"]  # the observer refreshed what is shown
    with widget.export().open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [(r["id"], r["amount"], r["net"]) for r in rows] == [("t2", "-3.00", "-3.00")]
    widget.categories.value = ()
    widget.amount.value = (5.0, 250.0)
    widget.payout.value = "po_1"
    assert list(widget.shown["id"]) == ["t1"]
    assert "<b>1</b> balance transactions, net <b>9.41 USD</b>" in widget.summary.value


def test_payment_desk_buttons_call_the_actions(wb, client):
    held = actions.charge(wb, 4000, "usd", capture=False)
    frame = wb.charges(sync=True)
    desk = widgets.PaymentDesk(wb, frame, writes=False)
    assert desk.act("capture").what.startswith(f"Would capture all of {held.id}")
    assert client.v1.charges.retrieve(held.id).captured is False
    desk = widgets.PaymentDesk(wb, frame, writes=True)
    desk.amount.value = 2500
    done = desk.buttons["capture"].click() or desk.result.value
    assert done == f"Done: capture 25.00 USD of {held.id} ({held.id})."
    assert client.v1.charges.retrieve(held.id).amount_captured == 2500


def test_a_delivered_webhook_is_verified_and_a_forged_one_is_not(wb):
    receiver = webhooks.Receiver()
    try:
        registered = actions.register_webhook_endpoint(wb, receiver.url, ["charge.succeeded"])
        assert registered.object.secret.startswith("whsec_")
        assert registered.object.secret not in str(registered) + repr(registered)
        receiver.trust(registered)
        paid = actions.charge(wb, 1000, "usd")
        assert receiver.wait(1, timeout=30) >= 1
        found = receiver.events()
        assert list(found[["type", "object", "verified"]].itertuples(index=False, name=None)) == [
            ("charge.succeeded", paid.id, True)
        ]
        body, header = receiver.deliveries[0]
        assert webhooks.check(body + b" ", header, registered.object.secret).startswith("rejected")
        assert webhooks.check(body, header, "whsec_other").startswith("rejected")
        listed = webhooks.endpoints(wb)
        assert list(listed["url"]) == [receiver.url] and not listed["https"].any()
    finally:
        receiver.close()


def test_signing_matches_the_official_check():
    payload = '{"id": "evt_1", "object": "event", "type": "payout.paid", "data": {"object": {}}}'
    header = webhooks.sign(payload, "whsec_test")
    assert webhooks.check(payload, header, "whsec_test") == "verified: evt_1 (payout.paid)"
    old = webhooks.sign(payload, "whsec_test", timestamp=1_000_000_000)
    assert "rejected" in webhooks.check(payload, old, "whsec_test")  # older than 5 minutes


def test_env_file_readable_by_others_fails_and_says_what_to_do(tmp_path):
    env = tmp_path / ".env"
    env.write_text("STRIPE_API_KEY=sk_test_abc123\n")
    env.chmod(0o644)
    settings = config.load({"WORKBENCH_ENV_FILE": str(env)})
    check = golive.env_file_check(settings)
    assert (check.passed, check.to_do) == (False, "chmod 600 .env")
    env.chmod(0o600)
    assert golive.env_file_check(settings).passed


def test_account_checks_from_an_account_object():
    account = {
        "charges_enabled": True,
        "payouts_enabled": False,
        "settings": {
            "payments": {"statement_descriptor": "ACME"},  # too short: 5 to 22 characters
            "payouts": {"schedule": {"interval": "manual"}},
        },
    }
    found = {c.check: c.passed for c in golive.account_checks(account)}
    assert found == {
        "statement descriptor set": False,
        "charges and payouts enabled": False,
        "payout schedule chosen": False,
        "bank account for payouts": False,
    }


def test_going_live_checks_on_a_test_account(wb):
    actions.register_webhook_endpoint(wb, "http://127.0.0.1:9/hooks", ["payout.failed"])
    checks = golive.checks(wb).set_index("check")
    assert not checks.loc["live key configured", "passed"]
    assert "STRIPE_API_KEY" in checks.loc["live key configured", "to_do"]
    assert not checks.loc["no test-mode objects", "passed"]
    assert checks.loc["statement descriptor set", "passed"]
    assert checks.loc["webhook endpoints over HTTPS", "found"] == "1 endpoint(s), 1 not HTTPS"
    assert checks.loc["idempotency keys on writes", "passed"]
    # a check that passes has nothing to do; one that fails says what
    assert ((checks["to_do"] == "") == checks["passed"]).all()


def test_without_orders_or_statement_the_notebooks_say_what_to_set():
    review = SimpleNamespace(orders=None, deposits=None)
    assert overview.orders_summary(review) == "no orders file: set orders to the shop's orders CSV"
    assert overview.order_problems(review) == overview.orders_summary(review)
    assert overview.deposits_summary(review).startswith("no bank statement: set statement")
    assert plots.table(overview.deposit_problems(review)) == overview.deposits_summary(review)


def test_an_account_with_no_events_still_shows_a_signed_example(wb):
    payload, header, secret = webhooks.example(wb)
    assert webhooks.check(payload, header, secret) == "verified: evt_example (charge.succeeded)"
