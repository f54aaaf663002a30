"""Payments as Stripe's testing docs describe them: test cards and tokens, saved cards,
authorize and capture, refunds, PaymentIntents and PaymentMethods. Expected values are
Stripe's documented ones, written out here, not read from the sandbox's tables."""

from __future__ import annotations

import pytest
import stripe

# token -> (error code, decline code, message), per docs.stripe.com/testing#declined-payments
DECLINES = {
    "tok_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "tok_visa_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "tok_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "tok_chargeDeclinedLostCard": ("card_declined", "lost_card", "Your card was declined."),
    "tok_chargeDeclinedStolenCard": ("card_declined", "stolen_card", "Your card was declined."),
    "tok_chargeDeclinedExpiredCard": ("expired_card", None, "Your card has expired."),
    "tok_chargeDeclinedIncorrectCvc": (
        "incorrect_cvc",
        None,
        "Your card's security code is incorrect.",
    ),
    "tok_chargeDeclinedProcessingError": (
        "processing_error",
        None,
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    "tok_radarBlock": ("card_declined", "fraudulent", "Your card was declined."),
}
# token -> (brand, funding, country)
SUCCESSES = {
    "tok_visa": ("visa", "credit", "US"),
    "tok_visa_debit": ("visa", "debit", "US"),
    "tok_mastercard": ("mastercard", "credit", "US"),
    "tok_amex": ("amex", "credit", "US"),
    "tok_mastercard_prepaid": ("mastercard", "prepaid", "US"),
    "tok_gb": ("visa", "credit", "GB"),
    "tok_jp": ("visa", "credit", "JP"),
    "tok_discover": ("discover", "credit", "US"),
}


def charge(client, source="tok_visa", amount=2000, currency="usd", **params):
    return client.v1.charges.create(
        params={"amount": amount, "currency": currency, "source": source, **params}
    )


class TestTestCards:
    @pytest.mark.parametrize("token", sorted(SUCCESSES))
    def test_successful_cards(self, client, token):
        made = charge(client, token)
        brand, funding, country = SUCCESSES[token]
        card = made.payment_method_details.card
        assert (card.brand, card.funding, card.country) == (brand, funding, country)
        assert (made.status, made.paid, made.captured) == ("succeeded", True, True)
        assert made.outcome.type == "authorized"
        assert made.outcome.network_status == "approved_by_network"
        assert made.outcome.seller_message == "Payment complete."

    @pytest.mark.parametrize("token", sorted(DECLINES))
    def test_declines_raise_and_are_stored_as_failed(self, client, token):
        code, decline_code, message = DECLINES[token]
        with pytest.raises(stripe.CardError) as caught:
            charge(client, token)
        error = caught.value
        assert error.http_status == 402
        assert (error.code, error.error.decline_code, error.user_message) == (
            code,
            decline_code,
            message,
        )
        failed = client.v1.charges.retrieve(error.error.charge)
        assert (failed.status, failed.paid, failed.captured) == ("failed", False, False)
        assert (failed.failure_code, failed.failure_message) == (code, message)
        assert failed.balance_transaction is None
        blocked = token == "tok_radarBlock"
        assert failed.outcome.type == ("blocked" if blocked else "issuer_declined")
        assert failed.outcome.network_status == (
            "not_sent_to_network" if blocked else "declined_by_network"
        )
        assert failed.outcome.reason == ("highest_risk_level" if blocked else decline_code or code)

    def test_raw_card_numbers_in_tokens(self, client):
        token = client.v1.tokens.create(
            params={
                "card": {
                    "number": "4000000000009995",
                    "exp_month": 12,
                    "exp_year": 2034,
                    "cvc": "314",
                }
            }
        )
        assert token.card.last4 == "9995" and token.used is False
        with pytest.raises(stripe.CardError) as caught:
            charge(client, token.id)
        assert caught.value.error.decline_code == "insufficient_funds"

    def test_incorrect_number_fails_at_tokenization(self, client):
        with pytest.raises(stripe.CardError) as caught:
            client.v1.tokens.create(
                params={"card": {"number": "4242424242424241", "exp_month": 12, "exp_year": 2034}}
            )
        assert caught.value.code == "incorrect_number"
        assert caught.value.user_message == "Your card number is incorrect."

    @pytest.mark.parametrize(
        ("month", "year", "code"),
        [(13, 2034, "invalid_expiry_month"), (1, 2001, "invalid_expiry_year")],
    )
    def test_impossible_expiry(self, client, month, year, code):
        with pytest.raises(stripe.CardError) as caught:
            client.v1.tokens.create(
                params={
                    "card": {"number": "4242424242424242", "exp_month": month, "exp_year": year}
                }
            )
        assert caught.value.code == code

    def test_a_created_token_is_single_use_but_test_tokens_are_not(self, client):
        token = client.v1.tokens.create(
            params={"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034}}
        )
        charge(client, token.id)
        assert client.v1.tokens.retrieve(token.id).used is True
        with pytest.raises(stripe.InvalidRequestError) as caught:
            charge(client, token.id)
        assert caught.value.code == "token_already_used"
        charge(client, "tok_visa")
        charge(client, "tok_visa")

    def test_card_that_attaches_but_fails_to_charge(self, client):
        customer = client.v1.customers.create(params={"source": "tok_chargeCustomerFail"})
        assert customer.default_source.startswith("card_")
        with pytest.raises(stripe.CardError) as caught:
            client.v1.charges.create(
                params={"amount": 1000, "currency": "usd", "customer": customer.id}
            )
        assert caught.value.code == "card_declined"

    def test_declining_cards_cannot_be_saved(self, client):
        with pytest.raises(stripe.CardError):
            client.v1.customers.create(params={"source": "tok_chargeDeclined"})
        assert client.v1.customers.list().data == []

    def test_bypass_pending_funds_are_available_at_once(self, client):
        made = charge(client, "tok_bypassPending")
        assert (
            client.v1.balance_transactions.retrieve(made.balance_transaction).status == "available"
        )
        assert (
            client.v1.balance_transactions.retrieve(charge(client).balance_transaction).status
            == "pending"
        )


class TestSavedCards:
    def test_create_update_delete_and_the_default(self, client):
        customer = client.v1.customers.create(
            params={"email": "ada@example.com", "source": "tok_visa"}
        )
        first = customer.default_source
        second = client.v1.customers.payment_sources.create(
            customer.id, params={"source": "tok_mastercard", "metadata": {"label": "work"}}
        )
        assert client.v1.customers.retrieve(customer.id).default_source == first
        updated = client.v1.customers.payment_sources.update(
            customer.id,
            second.id,
            params={
                "exp_month": 3,
                "exp_year": 2035,
                "name": "Ada L",
                "address_zip": "10115",
                "metadata": {"label": "home"},
            },
        )
        assert (updated.exp_month, updated.exp_year, updated.name, updated.address_zip) == (
            3,
            2035,
            "Ada L",
            "10115",
        )
        assert updated.metadata["label"] == "home"
        listed = client.v1.customers.payment_sources.list(customer.id)
        assert {s.id for s in listed.data} == {first, second.id}
        switched = client.v1.customers.update(customer.id, params={"default_source": second.id})
        assert switched.default_source == second.id
        deleted = client.v1.customers.payment_sources.delete(customer.id, second.id)
        assert deleted.deleted is True
        assert client.v1.customers.retrieve(customer.id).default_source == first
        client.v1.customers.payment_sources.delete(customer.id, first)
        assert client.v1.customers.retrieve(customer.id).default_source is None
        with pytest.raises(stripe.CardError) as caught:
            client.v1.charges.create(
                params={"amount": 500, "currency": "usd", "customer": customer.id}
            )
        assert caught.value.code == "missing"

    @pytest.mark.parametrize("source", ["another customer's card", "tok_visa"])
    def test_a_source_not_saved_on_the_customer_is_missing(self, client, source):
        """Stripe's error code `missing`: a customer and a source that is not saved on that
        customer (Stripe answers 404, invalid_request_error, param `source`)."""
        mine = client.v1.customers.create(params={"source": "tok_visa"})
        other = client.v1.customers.create(params={"source": "tok_mastercard"})
        source = other.default_source if source.startswith("another") else source
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.charges.create(
                params={"amount": 1000, "currency": "usd", "customer": mine.id, "source": source}
            )
        error = caught.value
        assert (error.http_status, error.code, error.param) == (404, "missing", "source")
        assert error.user_message == (
            f"Customer {mine.id} does not have a linked source with ID {source}."
        )
        assert client.v1.charges.list().data == []
        saved = client.v1.charges.create(
            params={
                "amount": 1000,
                "currency": "usd",
                "customer": other.id,
                "source": other.default_source,
            }
        )
        assert saved.source.id == other.default_source

    def test_default_source_must_belong_to_the_customer(self, client):
        mine = client.v1.customers.create(params={"source": "tok_visa"})
        other = client.v1.customers.create(params={"source": "tok_visa"})
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.customers.update(mine.id, params={"default_source": other.default_source})
        assert caught.value.http_status == 400
        assert caught.value.param == "default_source"
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.update(mine.id, params={"default_source": "card_nope"})

    def test_charge_a_saved_card(self, client):
        customer = client.v1.customers.create(params={"source": "tok_amex"})
        made = client.v1.charges.create(
            params={"amount": 1234, "currency": "usd", "customer": customer.id}
        )
        assert made.customer == customer.id
        assert made.source.id == customer.default_source
        assert made.payment_method_details.card.brand == "amex"

    def test_deleted_customer(self, client):
        customer = client.v1.customers.create(params={"source": "tok_visa"})
        assert client.v1.customers.delete(customer.id).deleted is True
        assert client.v1.customers.retrieve(customer.id).deleted is True
        assert client.v1.customers.list().data == []
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.update(customer.id, params={"email": "x@example.com"})


class TestAuthorizeAndCapture:
    def test_full_capture(self, client):
        auth = charge(client, capture=False, amount=5000)
        assert (auth.captured, auth.amount_captured, auth.balance_transaction) == (False, 0, None)
        assert auth.payment_method_details.card.capture_before == auth.created + 7 * 86400
        captured = client.v1.charges.capture(auth.id)
        assert (captured.captured, captured.amount_captured, captured.amount_refunded) == (
            True,
            5000,
            0,
        )
        assert client.v1.balance_transactions.retrieve(captured.balance_transaction).amount == 5000

    def test_partial_capture_books_the_authorization_and_its_reversal(self, client):
        """Stripe's reporting categories page: two balance transactions, one for the whole
        authorization and a `refund` (partial_capture_reversal) for the uncaptured part,
        summing to what was captured; the released part is a Refund on the charge."""
        auth = charge(client, capture=False, amount=5000)
        captured = client.v1.charges.capture(auth.id, params={"amount": 3200})
        assert (captured.amount_captured, captured.amount_refunded, captured.refunded) == (
            3200,
            1800,
            False,
        )
        (refund,) = client.v1.refunds.list(params={"charge": auth.id}).data
        assert (refund.amount, refund.reason, refund.status) == (1800, None, "succeeded")
        assert refund.destination_details.card.type == "reversal"
        whole = client.v1.balance_transactions.retrieve(captured.balance_transaction)
        reversal = client.v1.balance_transactions.retrieve(refund.balance_transaction)
        # The fee is the fee of a 32.00 charge (2.9% is 0.928, so 0.93, plus 0.30 = 1.23):
        # 1.75 on the whole 50.00 (1.45 + 0.30), 0.52 of it given back with the reversal.
        assert (whole.type, whole.reporting_category, whole.source) == ("charge", "charge", auth.id)
        assert (whole.amount, whole.fee, whole.net) == (5000, 175, 4825)
        assert (reversal.type, reversal.reporting_category, reversal.source) == (
            "refund",
            "partial_capture_reversal",
            refund.id,
        )
        assert (reversal.amount, reversal.fee, reversal.net) == (-1800, -52, -1748)
        assert [(d.type, d.amount) for d in reversal.fee_details] == [("stripe_fee", -52)]
        assert (whole.amount + reversal.amount, whole.fee + reversal.fee) == (3200, 123)
        assert (reversal.status, reversal.available_on) == (whole.status, whole.available_on)
        expanded = client.v1.charges.retrieve(auth.id, params={"expand": ["refunds"]})
        assert [r.id for r in expanded.refunds.data] == [refund.id]
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.refunds.create(params={"charge": auth.id, "amount": 3201})
        assert "greater than unrefunded amount" in caught.value.user_message
        rest = client.v1.refunds.create(params={"charge": auth.id})
        assert rest.amount == 3200
        assert client.v1.balance_transactions.retrieve(rest.balance_transaction).amount == -3200
        after = client.v1.charges.retrieve(auth.id)
        assert (after.amount_refunded, after.refunded) == (5000, True)

    def test_capture_errors(self, client):
        auth = charge(client, capture=False, amount=5000)
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.charges.capture(auth.id, params={"amount": 5001})
        assert caught.value.code == "amount_too_large"
        client.v1.charges.capture(auth.id)
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.charges.capture(auth.id)
        assert caught.value.code == "charge_already_captured"
        with pytest.raises(stripe.CardError) as declined:
            charge(client, "tok_chargeDeclined", capture=False)
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.charges.capture(declined.value.error.charge)

    def test_expired_authorization(self, client, raw):
        auth = charge(client, capture=False, amount=5000)
        raw("POST", "/_sandbox/clock/advance", {"days": "8"})
        expired = client.v1.charges.retrieve(auth.id)
        assert (expired.refunded, expired.amount_refunded, expired.captured) == (True, 5000, False)
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.charges.capture(auth.id)
        assert caught.value.code == "charge_expired_for_capture"
        refunds = client.v1.refunds.list(params={"charge": auth.id}).data
        assert [(r.reason, r.balance_transaction) for r in refunds] == [
            ("expired_uncaptured_charge", None)
        ]
        types = [e.type for e in client.v1.events.list(params={"limit": 100}).data]
        assert "charge.expired" in types


class TestRefunds:
    def test_full_and_partial(self, client):
        made = charge(client, amount=3000)
        first = client.v1.refunds.create(
            params={
                "charge": made.id,
                "amount": 1000,
                "reason": "requested_by_customer",
                "metadata": {"ticket": "42"},
            }
        )
        assert (first.amount, first.status, first.reason) == (
            1000,
            "succeeded",
            "requested_by_customer",
        )
        transaction = client.v1.balance_transactions.retrieve(first.balance_transaction)
        assert (
            transaction.type,
            transaction.reporting_category,
            transaction.amount,
            transaction.fee,
        ) == ("refund", "refund", -1000, 0)
        rest = client.v1.refunds.create(params={"charge": made.id})
        assert rest.amount == 2000
        after = client.v1.charges.retrieve(made.id)
        assert (after.amount_refunded, after.refunded) == (3000, True)
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.refunds.create(params={"charge": made.id, "amount": 1})
        assert caught.value.code == "charge_already_refunded"
        assert [r.id for r in client.v1.refunds.list(params={"charge": made.id}).data] == [
            rest.id,
            first.id,
        ]
        updated = client.v1.refunds.update(first.id, params={"metadata": {"ticket": "43"}})
        assert updated.metadata["ticket"] == "43"

    def test_more_than_remains(self, client):
        made = charge(client, amount=3000)
        client.v1.refunds.create(params={"charge": made.id, "amount": 2500})
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.refunds.create(params={"charge": made.id, "amount": 501})
        assert caught.value.http_status == 400
        assert caught.value.user_message == (
            "Refund amount ($5.01) is greater than unrefunded amount on charge ($5.00)"
        )

    def test_refund_an_authorization_releases_it(self, client):
        auth = charge(client, capture=False, amount=4000)
        refund = client.v1.refunds.create(params={"charge": auth.id})
        assert refund.balance_transaction is None
        released = client.v1.charges.retrieve(auth.id)
        assert (released.refunded, released.captured) == (True, False)


class TestPaymentIntents:
    def test_automatic_confirmation(self, client):
        intent = client.v1.payment_intents.create(
            params={
                "amount": 4200,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "metadata": {"order_id": "PI-1"},
            }
        )
        assert (intent.status, intent.amount_received) == ("succeeded", 4200)
        made = client.v1.charges.retrieve(intent.latest_charge)
        assert (made.payment_intent, made.captured, made.amount) == (intent.id, True, 4200)
        listed = client.v1.charges.list(params={"payment_intent": intent.id})
        assert [c.id for c in listed.data] == [made.id]

    def test_manual_capture_and_amount_to_capture(self, client):
        intent = client.v1.payment_intents.create(
            params={"amount": 5000, "currency": "usd", "capture_method": "manual"}
        )
        assert intent.status == "requires_payment_method"
        intent = client.v1.payment_intents.confirm(
            intent.id, params={"payment_method": "pm_card_mastercard"}
        )
        assert (intent.status, intent.amount_capturable) == ("requires_capture", 5000)
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.payment_intents.capture(intent.id, params={"amount_to_capture": 6000})
        intent = client.v1.payment_intents.capture(intent.id, params={"amount_to_capture": 4000})
        assert (intent.status, intent.amount_received, intent.amount_capturable) == (
            "succeeded",
            4000,
            0,
        )
        made = client.v1.charges.retrieve(intent.latest_charge)
        assert (made.amount_captured, made.amount_refunded) == (4000, 1000)
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.payment_intents.capture(intent.id)
        assert caught.value.code == "payment_intent_unexpected_state"
        # Booked as the Charges API books a partial capture: 50.00 with its fee (1.45 + 0.30),
        # then 10.00 reversed with the fee's difference to a 40.00 charge (1.16 + 0.30).
        (refund,) = client.v1.refunds.list(params={"payment_intent": intent.id}).data
        assert (refund.amount, refund.charge, refund.payment_intent) == (1000, made.id, intent.id)
        whole = client.v1.balance_transactions.retrieve(made.balance_transaction)
        reversal = client.v1.balance_transactions.retrieve(refund.balance_transaction)
        assert (whole.amount, whole.fee) == (5000, 175)
        assert (reversal.reporting_category, reversal.amount, reversal.fee) == (
            "partial_capture_reversal",
            -1000,
            -29,
        )

    def test_decline_leaves_the_intent_retryable(self, client):
        with pytest.raises(stripe.CardError) as caught:
            client.v1.payment_intents.create(
                params={
                    "amount": 4200,
                    "currency": "usd",
                    "confirm": True,
                    "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
                }
            )
        intent = caught.value.error.payment_intent
        assert intent.status == "requires_payment_method"
        assert intent.last_payment_error.decline_code == "insufficient_funds"
        assert client.v1.charges.retrieve(intent.latest_charge).status == "failed"
        retried = client.v1.payment_intents.confirm(
            intent.id, params={"payment_method": "pm_card_visa"}
        )
        assert retried.status == "succeeded"
        assert len(client.v1.charges.list(params={"payment_intent": intent.id}).data) == 2

    def test_cancel_releases_the_authorization(self, client):
        intent = client.v1.payment_intents.create(
            params={
                "amount": 3000,
                "currency": "usd",
                "capture_method": "manual",
                "confirm": True,
                "payment_method": "pm_card_visa",
            }
        )
        canceled = client.v1.payment_intents.cancel(
            intent.id, params={"cancellation_reason": "requested_by_customer"}
        )
        assert (canceled.status, canceled.cancellation_reason) == (
            "canceled",
            "requested_by_customer",
        )
        assert client.v1.charges.retrieve(intent.latest_charge).refunded is True
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.payment_intents.cancel(intent.id)

    @pytest.mark.parametrize("confirm", [None, False])
    def test_off_session_needs_confirm(self, client, confirm):
        """Stripe's reference: `off_session` can only be used with confirm=true."""
        params = {
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "off_session": True,
        }
        if confirm is not None:
            params["confirm"] = confirm
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.payment_intents.create(params=params)
        assert (caught.value.http_status, caught.value.param) == (400, "off_session")
        assert client.v1.payment_intents.list().data == []
        confirmed = client.v1.payment_intents.create(params={**params, "confirm": True})
        assert confirmed.status == "succeeded"

    def test_a_saved_card_as_the_payment_method(self, client):
        """Stripe accepts a PaymentMethod, Card or compatible Source id as payment_method;
        a customer's saved card pays that customer's PaymentIntent."""
        customer = client.v1.customers.create(params={"source": "tok_amex"})
        card = customer.default_source
        intent = client.v1.payment_intents.create(
            params={
                "amount": 2500,
                "currency": "usd",
                "customer": customer.id,
                "payment_method": card,
                "confirm": True,
            }
        )
        assert (intent.status, intent.payment_method) == ("succeeded", card)
        made = client.v1.charges.retrieve(intent.latest_charge)
        assert (made.payment_method, made.customer) == (card, customer.id)
        assert made.payment_method_details.card.brand == "amex"
        viewed = client.v1.payment_methods.retrieve(card)
        assert (viewed.id, viewed.object, viewed.type, viewed.customer) == (
            card,
            "payment_method",
            "card",
            customer.id,
        )
        assert (viewed.card.brand, viewed.card.last4) == ("amex", "0005")  # 378282246310005
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.payment_methods.attach(card, params={"customer": customer.id})
        assert caught.value.code == "payment_method_unexpected_state"
        still = client.v1.customers.payment_sources.retrieve(customer.id, card)
        assert (still.object, still.last4) == ("card", "0005")
        stranger = client.v1.customers.create()
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.payment_intents.create(
                params={
                    "amount": 2500,
                    "currency": "usd",
                    "customer": stranger.id,
                    "payment_method": card,
                    "confirm": True,
                }
            )
        assert caught.value.param == "payment_method"


class TestPaymentMethods:
    def test_attach_list_detach(self, client):
        customer = client.v1.customers.create()
        method = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
        assert method.id.startswith("pm_") and method.customer == customer.id
        listed = client.v1.payment_methods.list(params={"customer": customer.id, "type": "card"})
        assert [m.id for m in listed.data] == [method.id]
        via_customer = client.v1.customers.payment_methods.list(customer.id)
        assert [m.id for m in via_customer.data] == [method.id]
        detached = client.v1.payment_methods.detach(method.id)
        assert detached.customer is None
        assert client.v1.payment_methods.list(params={"customer": customer.id}).data == []

    def test_declining_cards_cannot_be_attached(self, client):
        customer = client.v1.customers.create()
        with pytest.raises(stripe.CardError):
            client.v1.payment_methods.attach(
                "pm_card_chargeDeclined", params={"customer": customer.id}
            )
        attached = client.v1.payment_methods.attach(
            "pm_card_chargeCustomerFail", params={"customer": customer.id}
        )
        assert attached.card.last4 == "0341"
