"""Disputes from Stripe's dispute test cards, settled by its test evidence; events for
every change; authorizations expiring on the sandbox clock."""

from __future__ import annotations

import pytest
import stripe


def disputed(client, token="tok_createDispute", amount=5000):
    charge = client.v1.charges.create(params={"amount": amount, "currency": "usd", "source": token})
    disputes = client.v1.disputes.list(params={"charge": charge.id}).data
    assert len(disputes) == 1
    return charge, disputes[0]


def test_the_dispute_card_opens_a_chargeback(client):
    charge, dispute = disputed(client)
    assert (dispute.status, dispute.reason, dispute.amount) == (
        "needs_response",
        "fraudulent",
        5000,
    )
    assert client.v1.charges.retrieve(charge.id).disputed is True
    # Evidence is due by the end (23:59:59 UTC) of the eighth day after the dispute's day.
    day = dispute.created - dispute.created % 86400
    assert dispute.evidence_details.due_by == day + 9 * 86400 - 1
    withdrawal = dispute.balance_transactions[0]
    assert (withdrawal.type, withdrawal.reporting_category) == ("adjustment", "dispute")
    assert (withdrawal.amount, withdrawal.fee, withdrawal.net) == (-5000, 1500, -6500)
    assert withdrawal.fee_details[0].description == "Dispute fee"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"charge": charge.id})
    assert caught.value.code == "charge_disputed"


def test_winning_evidence_returns_the_amount_not_the_fee(client):
    _, dispute = disputed(client)
    won = client.v1.disputes.update(
        dispute.id,
        params={"evidence": {"uncategorized_text": "winning_evidence", "customer_name": "Ada"}},
    )
    assert won.status == "won"
    assert won.evidence.customer_name == "Ada"
    assert won.evidence_details.submission_count == 1
    reversal = won.balance_transactions[1]
    assert (reversal.reporting_category, reversal.amount, reversal.fee) == (
        "dispute_reversal",
        5000,
        0,
    )
    with pytest.raises(stripe.InvalidRequestError, match="already closed"):
        client.v1.disputes.update(dispute.id, params={"metadata": {"x": "y"}})


def test_losing_evidence_and_closing(client):
    _, dispute = disputed(client)
    lost = client.v1.disputes.update(
        dispute.id, params={"evidence": {"uncategorized_text": "losing_evidence"}}
    )
    assert lost.status == "lost" and len(lost.balance_transactions) == 1
    _, other = disputed(client)
    closed = client.v1.disputes.close(other.id)
    assert closed.status == "lost"


def test_evidence_saved_without_submitting(client):
    _, dispute = disputed(client)
    saved = client.v1.disputes.update(
        dispute.id, params={"evidence": {"product_description": "A lamp"}, "submit": False}
    )
    assert saved.status == "needs_response" and saved.evidence_details.has_evidence is True


def test_no_answer_by_the_deadline_loses(client, raw):
    _, dispute = disputed(client)
    raw("POST", "/_sandbox/clock/advance", {"days": "10"})
    after = client.v1.disputes.retrieve(dispute.id)
    assert after.status == "lost" and after.evidence_details.past_due is True


def test_inquiry_moves_no_money(client):
    _, dispute = disputed(client, "tok_createDisputeInquiry")
    assert dispute.status == "warning_needs_response"
    assert dispute.balance_transactions == []


def test_dispute_events_in_order(client):
    charge, dispute = disputed(client)
    client.v1.disputes.update(
        dispute.id, params={"evidence": {"uncategorized_text": "winning_evidence"}}
    )
    types = [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]
    assert types == [
        "charge.succeeded",
        "charge.dispute.created",
        "charge.updated",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.dispute.funds_reinstated",
        "charge.dispute.closed",
    ]


class TestEvents:
    def test_every_change_is_an_event_with_its_object(self, client):
        customer = client.v1.customers.create(
            params={"email": "e@example.com", "source": "tok_visa"}
        )
        client.v1.customers.update(customer.id, params={"metadata": {"tier": "gold"}})
        charge = client.v1.charges.create(
            params={"amount": 900, "currency": "usd", "customer": customer.id}
        )
        client.v1.refunds.create(params={"charge": charge.id, "amount": 100})
        events = list(reversed(client.v1.events.list(params={"limit": 100}).data))
        assert [e.type for e in events] == [
            "customer.created",
            "customer.source.created",
            "customer.updated",
            "charge.succeeded",
            "refund.created",
            "charge.refunded",
        ]
        updated = events[2]
        assert updated.data.object.metadata.tier == "gold"
        assert updated.data.previous_attributes.metadata.to_dict() == {"tier": None}
        refunded = events[-1]
        assert refunded.data.previous_attributes.amount_refunded == 0
        assert refunded.request.id.startswith("req_")
        assert refunded.request.idempotency_key

    def test_filters(self, client):
        client.v1.customers.create()
        client.v1.charges.create(params={"amount": 900, "currency": "usd", "source": "tok_visa"})
        with pytest.raises(stripe.CardError):
            client.v1.charges.create(
                params={"amount": 900, "currency": "usd", "source": "tok_chargeDeclined"}
            )
        only = client.v1.events.list(params={"type": "charge.failed"}).data
        assert [e.type for e in only] == ["charge.failed"]
        wildcard = client.v1.events.list(params={"type": "charge.*"}).data
        assert {e.type for e in wildcard} == {"charge.succeeded", "charge.failed"}
        several = client.v1.events.list(
            params={"types": ["customer.created", "charge.failed"]}
        ).data
        assert {e.type for e in several} == {"customer.created", "charge.failed"}
        newest = several[0].created
        assert client.v1.events.list(params={"created": {"gt": newest}}).data == []

    def test_a_nested_account_setting_change_is_an_event(self, client, raw):
        raw("POST", "/_sandbox/account", {"interval": "weekly"})
        (event,) = client.v1.events.list(params={"type": "account.updated"}).data
        schedule = event.data.object.settings.payouts.schedule
        assert (schedule.interval, schedule.weekly_anchor) == ("weekly", "monday")
        previous = event.data.previous_attributes.settings.payouts.schedule
        assert (previous.interval, previous.weekly_anchor) == ("daily", None)

    def test_events_older_than_30_days_are_gone(self, client, raw):
        client.v1.customers.create()
        assert len(client.v1.events.list().data) == 1
        raw("POST", "/_sandbox/clock/advance", {"days": "31"})
        assert client.v1.events.list().data == []


class TestAuthorizationExpiry:
    def test_charges_api_authorization(self, client, raw):
        auth = client.v1.charges.create(
            params={"amount": 5000, "currency": "usd", "source": "tok_visa", "capture": False}
        )
        raw("POST", "/_sandbox/clock/advance", {"seconds": str(7 * 86400 - 60)})
        assert client.v1.charges.retrieve(auth.id).refunded is False
        client.v1.charges.capture(auth.id, params={"amount": 100})
        late = client.v1.charges.create(
            params={"amount": 5000, "currency": "usd", "source": "tok_visa", "capture": False}
        )
        raw("POST", "/_sandbox/clock/advance", {"seconds": str(7 * 86400 + 1)})
        expired = client.v1.charges.retrieve(late.id)
        assert (expired.refunded, expired.captured) == (True, False)
        event = client.v1.events.list(params={"type": "charge.expired"}).data[0]
        assert event.created == late.payment_method_details.card.capture_before
        assert event.request.id is None

    def test_payment_intent_is_canceled(self, client, raw):
        intent = client.v1.payment_intents.create(
            params={
                "amount": 2500,
                "currency": "eur",
                "confirm": True,
                "capture_method": "manual",
                "payment_method": "pm_card_visa",
            }
        )
        raw("POST", "/_sandbox/clock/advance", {"days": "8"})
        after = client.v1.payment_intents.retrieve(intent.id)
        assert (after.status, after.cancellation_reason) == ("canceled", "automatic")
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.payment_intents.capture(intent.id)
