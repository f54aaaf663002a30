"""Stripe Billing through the official client: products and prices, subscriptions through
their lives on test clocks (renewals, trials, failed renewals and their retries, prorated
changes, cancellations), invoices and their payments in the ledger. Expected amounts are
worked out here from the prices and dates, not read from the sandbox."""

from __future__ import annotations

import calendar
from decimal import Decimal

import pytest
import stripe

from tests.sandbox_rates import settled

HOUR = 3600
DAY = 86400
JAN = calendar.timegm((2027, 1, 1, 0, 0, 0))
FEB = calendar.timegm((2027, 2, 1, 0, 0, 0))
MAR = calendar.timegm((2027, 3, 1, 0, 0, 0))
APR = calendar.timegm((2027, 4, 1, 0, 0, 0))


def recurring_price(client, amount=1000, currency="usd", interval="month", count=1, **params):
    return client.v1.prices.create(
        params={
            "currency": currency,
            "unit_amount": amount,
            "product_data": {"name": params.pop("name", "Pro")},
            "recurring": {"interval": interval, "interval_count": count},
            **params,
        }
    )


def clock_at(client, moment=JAN):
    return client.v1.test_helpers.test_clocks.create(params={"frozen_time": moment})


def subscriber(client, clock, source="tok_visa", **params):
    return client.v1.customers.create(
        params={
            "email": "subscriber@example.com",
            "test_clock": clock.id,
            "source": source,
            **params,
        }
    )


def advance(client, clock, to):
    answer = client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": to})
    assert answer.status == "advancing"
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).status == "ready"


def subscribe(client, customer, *prices, quantity=1, **params):
    return client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id, "quantity": quantity} for price in prices],
            **params,
        }
    )


def card_fails(client, customer):
    """From now on the customer's default card is declined (4000000000000341)."""
    failing = client.v1.customers.payment_sources.create(
        customer.id, params={"source": "tok_chargeCustomerFail"}
    )
    client.v1.customers.update(customer.id, params={"default_source": failing.id})


def failing_at_renewal(client, amount=2000):
    """A monthly subscription from January 1st whose card is declined from its first
    renewal on; the clock stands two hours into February, the first attempt made."""
    price = recurring_price(client, amount)
    clock = clock_at(client)
    customer = subscriber(client, clock)
    subscription = subscribe(client, customer, price)
    card_fails(client, customer)
    advance(client, clock, FEB + 2 * HOUR)
    return clock, customer, client.v1.subscriptions.retrieve(subscription.id)


def events(client, kind):
    return [
        e for e in client.v1.events.list(params={"type": kind, "limit": 100}).auto_paging_iter()
    ]


def paid_charge(client, invoice):
    """The invoice's charge, through its InvoicePayment and PaymentIntent."""
    payments = client.v1.invoice_payments.list(params={"invoice": invoice.id}).data
    assert len(payments) == 1 and payments[0].status == "paid"
    intent = client.v1.payment_intents.retrieve(payments[0].payment.payment_intent)
    return client.v1.charges.retrieve(
        intent.latest_charge, params={"expand": ["balance_transaction"]}
    )


class TestProductsAndPrices:
    def test_create_retrieve_list_and_archive(self, client):
        product = client.v1.products.create(params={"name": "Team plan", "unit_label": "seat"})
        monthly = client.v1.prices.create(
            params={
                "product": product.id,
                "currency": "eur",
                "unit_amount": 1500,
                "recurring": {"interval": "month"},
                "lookup_key": "team-monthly",
            }
        )
        once = client.v1.prices.create(
            params={"product": product.id, "currency": "jpy", "unit_amount": 5000}
        )
        assert (monthly.type, monthly.recurring.interval, monthly.recurring.interval_count) == (
            "recurring",
            "month",
            1,
        )
        assert (once.type, once.recurring, once.unit_amount_decimal) == (
            "one_time",
            None,
            Decimal(5000),
        )
        assert client.v1.prices.retrieve(monthly.id).product == product.id
        listed = client.v1.prices.list(params={"product": product.id, "type": "recurring"})
        assert [p.id for p in listed.data] == [monthly.id]
        keyed = client.v1.prices.list(params={"lookup_keys": ["team-monthly"]})
        assert [p.id for p in keyed.data] == [monthly.id]
        archived = client.v1.prices.update(monthly.id, params={"active": False})
        assert archived.active is False
        assert [p.id for p in client.v1.prices.list(params={"active": True}).data] == [once.id]
        client.v1.products.update(product.id, params={"active": False})
        assert client.v1.products.list(params={"active": True}).data == []
        assert client.v1.products.list(params={"active": False}).data[0].id == product.id

    def test_a_product_with_prices_is_archived_not_deleted(self, client):
        price = recurring_price(client)
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.products.delete(price.product)
        assert caught.value.http_status == 400
        bare = client.v1.products.create(params={"name": "Nothing priced"})
        assert client.v1.products.delete(bare.id).deleted is True
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.products.retrieve(bare.id)
        assert caught.value.http_status == 404

    @pytest.mark.parametrize(
        ("params", "param"),
        [
            ({"currency": "usd", "product_data": {"name": "x"}}, "unit_amount"),
            ({"currency": "usd", "unit_amount": 100}, "product"),
            ({"currency": "xyz", "unit_amount": 100, "product_data": {"name": "x"}}, "currency"),
            (
                {
                    "currency": "usd",
                    "unit_amount": 100,
                    "product_data": {"name": "x"},
                    "recurring": {"interval": "month", "interval_count": 37},
                },
                "recurring[interval_count]",
            ),
            (
                {
                    "currency": "usd",
                    "unit_amount": 100,
                    "product_data": {"name": "x"},
                    "recurring": {"interval": "fortnight"},
                },
                "recurring[interval]",
            ),
            ({"currency": "usd", "unit_amount": 100, "product": "prod_missing"}, "product"),
        ],
    )
    def test_bad_prices_are_4xx(self, client, params, param):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.prices.create(params=params)
        assert 400 <= caught.value.http_status < 500
        assert caught.value.param == param


class TestSubscriptions:
    def test_a_subscription_is_paid_at_once_and_its_charge_lands_in_the_ledger(self, client):
        price = recurring_price(client, 1250)
        customer = subscriber(client, clock_at(client))
        subscription = subscribe(client, customer, price, quantity=2)
        assert subscription.status == "active"
        item = subscription["items"].data[0]
        assert (item.current_period_start, item.current_period_end) == (JAN, FEB)
        assert (item.quantity, item.price.id, item.plan.amount) == (2, price.id, 1250)
        invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
        assert (invoice.status, invoice.billing_reason, invoice.amount_paid) == (
            "paid",
            "subscription_create",
            2500,
        )
        assert invoice.parent.subscription_details.subscription == subscription.id
        assert invoice.number.endswith("-0001")
        line = invoice.lines.data[0]
        assert (line.amount, line.quantity, line.period.start, line.period.end) == (
            2500,
            2,
            JAN,
            FEB,
        )
        assert line.parent.subscription_item_details.subscription_item == item.id
        assert line.parent.subscription_item_details.proration is False
        charge = paid_charge(client, invoice)
        assert (charge.amount, charge.customer, charge.created) == (2500, customer.id, JAN)
        assert charge.balance_transaction.amount == 2500
        assert charge.balance_transaction.reporting_category == "charge"
        assert client.v1.customers.retrieve(customer.id).currency == "usd"

    def test_a_renewal_after_advancing_the_test_clock(self, client):
        price = recurring_price(client, 1000)
        clock = clock_at(client)
        subscription = subscribe(client, subscriber(client, clock), price)
        advance(client, clock, FEB + 60)  # past the period's end: the invoice is a draft
        renewed = client.v1.subscriptions.retrieve(subscription.id)
        assert renewed.status == "active"
        item = renewed["items"].data[0]
        assert (item.current_period_start, item.current_period_end) == (FEB, MAR)
        invoice = client.v1.invoices.retrieve(renewed.latest_invoice)
        assert (invoice.status, invoice.billing_reason) == ("draft", "subscription_cycle")
        assert invoice.automatically_finalizes_at == FEB + HOUR
        assert (invoice.lines.data[0].period.start, invoice.lines.data[0].period.end) == (FEB, MAR)
        advance(client, clock, FEB + 2 * HOUR)
        invoice = client.v1.invoices.retrieve(renewed.latest_invoice)
        assert (invoice.status, invoice.amount_paid, invoice.attempt_count) == ("paid", 1000, 1)
        assert invoice.status_transitions.paid_at == FEB + HOUR
        assert paid_charge(client, invoice).created == FEB + HOUR
        kinds = {e.type for e in client.v1.events.list(params={"created": {"gte": FEB}}).data}
        assert kinds >= {
            "customer.subscription.updated",
            "invoice.created",
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_succeeded",
            "invoice_payment.paid",
            "charge.succeeded",
        }

    def test_a_renewal_still_a_draft_when_canceled_is_never_charged(self, client):
        """Canceling stops automatic collection: the renewal drafted at the period's end
        does not finalize an hour later and charge the customer for a period they left."""
        price = recurring_price(client, 1000)
        clock = clock_at(client)
        customer = subscriber(client, clock)
        subscription = subscribe(client, customer, price)
        advance(client, clock, FEB + 60)
        drafted = client.v1.subscriptions.retrieve(subscription.id).latest_invoice
        client.v1.subscriptions.cancel(subscription.id)
        advance(client, clock, FEB + 3 * HOUR)
        invoice = client.v1.invoices.retrieve(drafted)
        assert (invoice.status, invoice.auto_advance, invoice.amount_paid) == ("draft", False, 0)
        assert invoice.automatically_finalizes_at is None
        charged = client.v1.charges.list(params={"customer": customer.id}).data
        assert [c.created for c in charged] == [JAN]  # the first period's, no other

    def test_a_trial_ends_in_its_first_paid_period(self, client):
        price = recurring_price(client, 900)
        clock = clock_at(client)
        subscription = subscribe(client, subscriber(client, clock), price, trial_period_days=14)
        assert (subscription.status, subscription.trial_start, subscription.trial_end) == (
            "trialing",
            JAN,
            JAN + 14 * DAY,
        )
        first = client.v1.invoices.retrieve(subscription.latest_invoice)
        assert (first.status, first.amount_due, first.lines.data[0].amount) == ("paid", 0, 0)
        advance(client, clock, JAN + 12 * DAY)
        warned = events(client, "customer.subscription.trial_will_end")
        assert [e.created for e in warned] == [JAN + 11 * DAY]
        advance(client, clock, JAN + 14 * DAY + 2 * HOUR)
        converted = client.v1.subscriptions.retrieve(subscription.id)
        assert (converted.status, converted.billing_cycle_anchor) == ("active", JAN + 14 * DAY)
        item = converted["items"].data[0]
        assert item.current_period_end == calendar.timegm((2027, 2, 15, 0, 0, 0))
        invoice = client.v1.invoices.retrieve(converted.latest_invoice)
        assert (invoice.status, invoice.amount_paid, invoice.billing_reason) == (
            "paid",
            900,
            "subscription_cycle",
        )

    def test_a_trial_without_a_payment_method_can_end_the_subscription(self, client):
        price = recurring_price(client)
        clock = clock_at(client)
        customer = client.v1.customers.create(params={"test_clock": clock.id})
        subscription = subscribe(
            client,
            customer,
            price,
            trial_period_days=7,
            trial_settings={"end_behavior": {"missing_payment_method": "cancel"}},
        )
        advance(client, clock, JAN + 8 * DAY)
        ended = client.v1.subscriptions.retrieve(subscription.id)
        assert (ended.status, ended.ended_at) == ("canceled", JAN + 7 * DAY)
        assert client.v1.charges.list().data == []

    def test_a_failed_renewal_is_retried_and_recovered(self, client):
        clock, customer, subscription = failing_at_renewal(client)
        late = subscription
        invoice = client.v1.invoices.retrieve(late.latest_invoice)
        assert late.status == "past_due"
        assert (invoice.status, invoice.attempt_count) == ("open", 1)
        assert invoice.next_payment_attempt == FEB + HOUR + 2 * DAY
        assert client.v1.customers.retrieve(customer.id).delinquent is True
        advance(client, clock, FEB + 5 * DAY)  # retries on days 2 and 4 fail too
        invoice = client.v1.invoices.retrieve(invoice.id)
        assert (invoice.attempt_count, invoice.next_payment_attempt) == (3, FEB + HOUR + 6 * DAY)
        assert len(events(client, "invoice.payment_failed")) == 3
        client.v1.customers.update(customer.id, params={"default_source": customer.default_source})
        advance(client, clock, FEB + 7 * DAY)
        recovered = client.v1.subscriptions.retrieve(subscription.id)
        invoice = client.v1.invoices.retrieve(invoice.id)
        assert recovered.status == "active"
        assert (invoice.status, invoice.attempt_count, invoice.amount_paid) == ("paid", 4, 2000)
        assert invoice.status_transitions.paid_at == FEB + HOUR + 6 * DAY
        assert client.v1.customers.retrieve(customer.id).delinquent is False

    def test_retries_that_run_out_cancel_the_subscription(self, client):
        clock, _, subscription = failing_at_renewal(client)
        advance(client, clock, FEB + 20 * DAY)
        ended = client.v1.subscriptions.retrieve(subscription.id)
        invoice = client.v1.invoices.retrieve(ended.latest_invoice)
        assert (ended.status, ended.cancellation_details.reason) == ("canceled", "payment_failed")
        assert ended.ended_at == FEB + HOUR + 14 * DAY  # the eighth try, two weeks on
        assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == (
            "open",
            8,
            None,
        )
        assert [e.data.object.id for e in events(client, "customer.subscription.deleted")] == [
            subscription.id
        ]

    def test_retries_that_run_out_can_leave_the_subscription_unpaid(self, client, raw):
        raw("POST", "/_sandbox/account", {"subscription_after_retries": "unpaid"})
        clock, customer, subscription = failing_at_renewal(client)
        advance(client, clock, FEB + 20 * DAY)
        advance(client, clock, MAR + 2 * HOUR)
        unpaid = client.v1.subscriptions.retrieve(subscription.id)
        assert unpaid.status == "unpaid"
        left = client.v1.invoices.retrieve(unpaid.latest_invoice)
        assert left.status == "draft" and left.auto_advance is False  # March's stays a draft
        first = client.v1.invoices.list(params={"subscription": subscription.id, "status": "open"})
        client.v1.customers.update(customer.id, params={"default_source": customer.default_source})
        client.v1.invoices.pay(first.data[0].id)
        assert client.v1.subscriptions.retrieve(subscription.id).status == "active"

    def test_a_declined_first_payment_leaves_the_subscription_incomplete(self, client):
        price = recurring_price(client, 1500)
        clock = clock_at(client)
        customer = subscriber(client, clock, source="tok_chargeCustomerFail")
        subscription = subscribe(client, customer, price)
        assert subscription.status == "incomplete"
        invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
        assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == (
            "open",
            1,
            None,
        )
        method = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
        paid = client.v1.invoices.pay(invoice.id, params={"payment_method": method.id})
        assert (paid.status, paid.amount_paid) == ("paid", 1500)
        assert client.v1.subscriptions.retrieve(subscription.id).status == "active"

    def test_an_unpaid_first_invoice_expires_after_23_hours(self, client):
        price = recurring_price(client, 1500)
        clock = clock_at(client)
        subscription = subscribe(
            client, subscriber(client, clock, source="tok_chargeCustomerFail"), price
        )
        advance(client, clock, JAN + 23 * HOUR + 1)
        expired = client.v1.subscriptions.retrieve(subscription.id)
        assert (expired.status, expired.ended_at) == ("incomplete_expired", JAN + 23 * HOUR)
        assert client.v1.invoices.retrieve(expired.latest_invoice).status == "void"

    def test_error_if_incomplete_creates_nothing(self, client):
        price = recurring_price(client, 1500)
        customer = subscriber(client, clock_at(client), source="tok_chargeCustomerFail")
        with pytest.raises(stripe.CardError) as caught:
            subscribe(client, customer, price, payment_behavior="error_if_incomplete")
        assert caught.value.http_status == 402
        assert client.v1.subscriptions.list(params={"status": "all"}).data == []

    def test_an_upgrade_is_prorated_to_the_second(self, client):
        price = recurring_price(client, 1000)  # January has 31 days
        clock = clock_at(client)
        subscription = subscribe(client, subscriber(client, clock), price, quantity=2)
        item = subscription["items"].data[0]
        advance(client, clock, JAN + 31 * DAY // 2)  # half-way through the period
        upgraded = client.v1.subscriptions.update(
            subscription.id,
            params={
                "items": [{"id": item.id, "quantity": 3}],
                "proration_behavior": "always_invoice",
            },
        )
        invoice = client.v1.invoices.retrieve(upgraded.latest_invoice)
        amounts = [(line.amount, line.quantity, line.period.start) for line in invoice.lines.data]
        half = JAN + 31 * DAY // 2
        assert amounts == [(-1000, 2, half), (1500, 3, half)]
        assert all(line.parent.subscription_item_details.proration for line in invoice.lines.data)
        assert (invoice.billing_reason, invoice.status, invoice.amount_paid) == (
            "subscription_update",
            "paid",
            500,
        )
        assert upgraded["items"].data[0].quantity == 3

    def test_prorations_created_wait_for_the_next_invoice(self, client):
        cheap, dear = recurring_price(client, 1000), recurring_price(client, 4000, name="Max")
        clock = clock_at(client)
        subscription = subscribe(client, subscriber(client, clock), dear)
        item = subscription["items"].data[0]
        advance(client, clock, JAN + 31 * DAY * 3 // 4)
        client.v1.subscriptions.update(
            subscription.id, params={"items": [{"id": item.id, "price": cheap.id}]}
        )
        assert client.v1.invoices.list(params={"subscription": subscription.id}).data[0].id == (
            subscription.latest_invoice
        )
        advance(client, clock, FEB + 2 * HOUR)
        renewal = client.v1.invoices.retrieve(
            client.v1.subscriptions.retrieve(subscription.id).latest_invoice
        )
        lines = [
            (line.amount, line.parent.subscription_item_details.proration)
            for line in renewal.lines.data
        ]
        assert lines == [(-1000, True), (250, True), (1000, False)]
        assert (renewal.total, renewal.amount_paid) == (250, 250)

    def test_no_prorations_change_only_the_next_invoice(self, client):
        price = recurring_price(client, 1000)
        clock = clock_at(client)
        subscription = subscribe(client, subscriber(client, clock), price)
        item = subscription["items"].data[0]
        client.v1.subscriptions.update(
            subscription.id,
            params={"items": [{"id": item.id, "quantity": 5}], "proration_behavior": "none"},
        )
        advance(client, clock, FEB + 2 * HOUR)
        renewal = client.v1.invoices.retrieve(
            client.v1.subscriptions.retrieve(subscription.id).latest_invoice
        )
        assert [line.amount for line in renewal.lines.data] == [5000]

    def test_a_downgrade_below_zero_becomes_a_credit(self, client):
        cheap, dear = recurring_price(client, 1000), recurring_price(client, 5000, name="Max")
        clock = clock_at(client)
        customer = subscriber(client, clock)
        subscription = subscribe(client, customer, dear)
        advance(client, clock, JAN + 31 * DAY // 2)
        item = subscription["items"].data[0]
        updated = client.v1.subscriptions.update(
            subscription.id,
            params={
                "items": [{"id": item.id, "price": cheap.id}],
                "proration_behavior": "always_invoice",
            },
        )
        invoice = client.v1.invoices.retrieve(updated.latest_invoice)
        assert (invoice.total, invoice.amount_due, invoice.status, invoice.ending_balance) == (
            -2000,
            0,
            "paid",
            -2000,
        )
        assert client.v1.customers.retrieve(customer.id).balance == -2000
        advance(client, clock, FEB + 2 * HOUR)
        renewal = client.v1.invoices.retrieve(
            client.v1.subscriptions.retrieve(subscription.id).latest_invoice
        )
        assert (renewal.total, renewal.starting_balance, renewal.amount_due) == (1000, -2000, 0)
        assert client.v1.customers.retrieve(customer.id).balance == -1000

    def test_a_change_of_interval_starts_a_new_period_now(self, client):
        monthly = recurring_price(client, 1000)
        yearly = recurring_price(client, 10000, interval="year", name="Pro yearly")
        clock = clock_at(client)
        subscription = subscribe(client, subscriber(client, clock), monthly)
        advance(client, clock, JAN + 31 * DAY // 2)
        item = subscription["items"].data[0]
        updated = client.v1.subscriptions.update(
            subscription.id, params={"items": [{"id": item.id, "price": yearly.id}]}
        )
        half = JAN + 31 * DAY // 2
        assert updated.billing_cycle_anchor == half
        moved = updated["items"].data[0]
        assert (moved.current_period_start, moved.current_period_end) == (half, half + 365 * DAY)
        invoice = client.v1.invoices.retrieve(updated.latest_invoice)
        assert [line.amount for line in invoice.lines.data] == [-500, 10000]
        assert invoice.amount_paid == 9500

    def test_cancel_at_period_end(self, client):
        price = recurring_price(client)
        clock = clock_at(client)
        subscription = subscribe(client, subscriber(client, clock), price)
        advance(client, clock, JAN + 10 * DAY)
        ending = client.v1.subscriptions.update(
            subscription.id, params={"cancel_at_period_end": True}
        )
        assert (ending.status, ending.cancel_at, ending.canceled_at) == (
            "active",
            FEB,
            JAN + 10 * DAY,
        )
        advance(client, clock, FEB + 2 * HOUR)
        ended = client.v1.subscriptions.retrieve(subscription.id)
        assert (ended.status, ended.ended_at, ended.cancellation_details.reason) == (
            "canceled",
            FEB,
            "cancellation_requested",
        )
        assert len(client.v1.invoices.list(params={"subscription": subscription.id}).data) == 1
        assert client.v1.subscriptions.list().data == []
        assert [s.id for s in client.v1.subscriptions.list(params={"status": "all"}).data] == [
            subscription.id
        ]

    def test_cancel_now(self, client):
        price = recurring_price(client)
        subscription = subscribe(client, subscriber(client, clock_at(client)), price)
        canceled = client.v1.subscriptions.cancel(
            subscription.id, params={"cancellation_details": {"feedback": "too_expensive"}}
        )
        assert (canceled.status, canceled.ended_at, canceled.cancellation_details.feedback) == (
            "canceled",
            JAN,
            "too_expensive",
        )
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.subscriptions.cancel(subscription.id)
        assert caught.value.http_status == 400
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.subscriptions.update(subscription.id, params={"cancel_at_period_end": True})

    @pytest.mark.parametrize(
        ("currency", "amount", "interval"), [("jpy", 9800, "year"), ("kwd", 1250, "month")]
    )
    def test_zero_and_three_decimal_currencies_are_exact(self, client, currency, amount, interval):
        price = recurring_price(client, amount, currency=currency, interval=interval)
        customer = subscriber(client, clock_at(client))
        subscription = subscribe(client, customer, price, quantity=3)
        invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
        assert (invoice.currency, invoice.amount_paid) == (currency, 3 * amount)
        charge = paid_charge(client, invoice)
        assert (charge.amount, charge.currency) == (3 * amount, currency)
        assert charge.balance_transaction.amount == settled(3 * amount, currency)
        assert charge.balance_transaction.currency == "usd"

    def test_deleting_a_test_clock_ends_its_customers_and_subscriptions(self, client):
        price = recurring_price(client)
        clock = clock_at(client)
        customer = subscriber(client, clock)
        subscription = subscribe(client, customer, price)
        assert client.v1.test_helpers.test_clocks.delete(clock.id).deleted is True
        assert client.v1.subscriptions.retrieve(subscription.id).status == "canceled"
        assert client.v1.customers.retrieve(customer.id).deleted is True


class TestInvoices:
    def test_lines_are_paged_and_items_listed(self, client):
        prices = [recurring_price(client, 1000 + n, name=f"Seat {n}") for n in range(12)]
        subscription = subscribe(client, subscriber(client, clock_at(client)), *prices)
        invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
        assert (len(invoice.lines.data), invoice.lines.has_more) == (10, True)
        lines = list(
            client.v1.invoices.line_items.list(invoice.id, params={"limit": 5}).auto_paging_iter()
        )
        assert [line.amount for line in lines] == [1000 + n for n in range(12)]
        assert invoice.total == sum(1000 + n for n in range(12))
        items = client.v1.subscription_items.list(params={"subscription": subscription.id})
        assert len(items.data) == 10 and items.has_more
        one = client.v1.subscription_items.retrieve(
            lines[0].parent.subscription_item_details.subscription_item
        )
        assert one.price.id == prices[0].id

    def test_pay_and_void_refuse_what_cannot_be(self, client):
        price = recurring_price(client)
        subscription = subscribe(client, subscriber(client, clock_at(client)), price)
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.invoices.pay(subscription.latest_invoice)
        assert caught.value.http_status == 400
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.invoices.void_invoice(subscription.latest_invoice)

    def test_voiding_an_open_invoice_stops_its_retries(self, client):
        _, _, subscription = failing_at_renewal(client)
        invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
        voided = client.v1.invoices.void_invoice(invoice.id)
        assert (voided.status, voided.next_payment_attempt) == ("void", None)
        assert client.v1.subscriptions.retrieve(subscription.id).status == "active"
        intent = client.v1.invoice_payments.list(params={"invoice": invoice.id}).data[0]
        assert (
            client.v1.payment_intents.retrieve(intent.payment.payment_intent).status == "canceled"
        )


class TestRefusals:
    def test_bad_subscriptions_are_4xx(self, client):
        usd, eur = recurring_price(client), recurring_price(client, currency="eur")
        once = client.v1.prices.create(
            params={"currency": "usd", "unit_amount": 500, "product_data": {"name": "Setup"}}
        )
        yearly = recurring_price(client, interval="year")
        clock = clock_at(client)
        customer = subscriber(client, clock)
        bare = client.v1.customers.create(params={"test_clock": clock.id})
        cases = [
            ({"customer": customer.id, "items": [{"price": usd.id}, {"price": eur.id}]}, "items"),
            (
                {"customer": customer.id, "items": [{"price": usd.id}, {"price": yearly.id}]},
                "items",
            ),
            ({"customer": customer.id, "items": [{"price": once.id}]}, "items[0][price]"),
            ({"customer": customer.id, "items": [{"price": usd.id}, {"price": usd.id}]}, "items"),
            ({"customer": customer.id, "items": [{"price": "price_missing"}]}, "items[0][price]"),
            ({"customer": "cus_missing", "items": [{"price": usd.id}]}, "customer"),
            ({"customer": customer.id}, "items"),
            (
                {"customer": customer.id, "items": [{"price": usd.id}], "trial_end": "soon"},
                "trial_end",
            ),
            (
                {"customer": customer.id, "items": [{"price": usd.id}], "trial_end": str(JAN - 1)},
                "trial_end",
            ),
            ({"customer": bare.id, "items": [{"price": usd.id}]}, None),
        ]
        for params, param in cases:
            with pytest.raises(stripe.InvalidRequestError) as caught:
                client.v1.subscriptions.create(params=params)
            assert 400 <= caught.value.http_status < 500, params
            assert caught.value.param == param, params
        subscribe(client, customer, usd)
        with pytest.raises(stripe.InvalidRequestError) as caught:
            subscribe(client, customer, eur)
        assert "combine currencies" in caught.value.user_message

    def test_clocks_move_forward_only_and_not_too_far(self, client):
        price = recurring_price(client)
        clock = clock_at(client)
        subscribe(client, subscriber(client, clock), price)
        for moment in (JAN - 1, JAN, APR):  # two months is as far as a monthly plan lets it go
            with pytest.raises(stripe.InvalidRequestError) as caught:
                client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": moment})
            assert (caught.value.http_status, caught.value.param) == (400, "frozen_time")
        advance(client, clock, MAR)
