"""Checkout Sessions through the official client, and the sandbox's hosted payment page and
legacy token form through plain HTTP, as a browser would post them (the browser itself is
in tests/browser). Expected amounts are worked out here from what each test sends."""

from __future__ import annotations

import html
import re

import pytest
import requests
import stripe

from tests.stripe_shapes import conform
from workbench.sandbox import state

SUCCESS = "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "https://shop.example/cancel"
GOOD = {"email": "ada@example.com", "number": "4242 4242 4242 4242", "exp": "12 / 34", "cvc": "123"}


def item(name: str, unit_amount: int, quantity: int = 1, currency: str = "usd") -> dict:
    return {
        "price_data": {
            "currency": currency,
            "unit_amount": unit_amount,
            "product_data": {"name": name},
        },
        "quantity": quantity,
    }


def session(client, *items, **params):
    return client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": list(items) or [item("Mug", 1250, 2)],
            "success_url": SUCCESS,
            "cancel_url": CANCEL,
            **params,
        }
    )


def pay(url: str, **fields) -> requests.Response:
    return requests.post(url, data={**GOOD, **fields}, allow_redirects=False, timeout=30)


def text(response: requests.Response) -> str:
    """The page's visible text, tags dropped and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", response.text))


class TestSessions:
    def test_create_retrieve_and_line_items(self, client, raw, sandbox_server):
        created = session(
            client,
            item("Mug", 1250, 2),
            item("Tea", 400),
            metadata={"order_id": "W-1"},
            client_reference_id="W-1",
        )
        assert created.id.startswith("cs_test_")
        assert (created.amount_total, created.amount_subtotal) == (2 * 1250 + 400, 2900)
        assert (created.status, created.payment_status) == ("open", "unpaid")
        assert created.payment_intent is None and created.mode == "payment"
        assert created.url.startswith(f"{sandbox_server.url}/c/")
        assert created.metadata.to_dict() == {"order_id": "W-1"}
        assert created.expires_at == created.created + 24 * 3600
        items = client.v1.checkout.sessions.line_items.list(created.id)
        assert [(i.description, i.quantity, i.amount_total) for i in items.data] == [
            ("Mug", 2, 2500),
            ("Tea", 1, 400),
        ]
        assert items.data[0].price.unit_amount == 1250 and items.data[0].price.type == "one_time"
        expanded = client.v1.checkout.sessions.retrieve(
            created.id, params={"expand": ["line_items"]}
        )
        assert [i.id for i in expanded.line_items.data] == [i.id for i in items.data]
        with pytest.raises(AttributeError):
            client.v1.checkout.sessions.retrieve(created.id).line_items  # noqa: B018

    def test_line_items_page_in_the_order_given(self, client):
        created = session(client, *[item(f"Item {n}", 100 + n) for n in range(12)])
        first = client.v1.checkout.sessions.line_items.list(created.id, params={"limit": 5})
        assert [i.description for i in first.data] == [f"Item {n}" for n in range(5)]
        assert first.has_more
        rest = client.v1.checkout.sessions.line_items.list(
            created.id, params={"limit": 100, "starting_after": first.data[-1].id}
        )
        assert [i.description for i in rest.data] == [f"Item {n}" for n in range(5, 12)]
        assert not rest.has_more
        before = client.v1.checkout.sessions.line_items.list(
            created.id, params={"limit": 2, "ending_before": rest.data[0].id}
        )
        assert [i.description for i in before.data] == ["Item 3", "Item 4"]
        assert before.has_more

    def test_list_filters(self, client):
        first, second = session(client), session(client)
        client.v1.checkout.sessions.expire(first.id)
        listed = client.v1.checkout.sessions.list()
        assert [s.id for s in listed.data] == [second.id, first.id]
        expired = client.v1.checkout.sessions.list(params={"status": "expired"})
        assert [s.id for s in expired.data] == [first.id]
        pay(second.url)
        paid = client.v1.checkout.sessions.retrieve(second.id)
        by_intent = client.v1.checkout.sessions.list(params={"payment_intent": paid.payment_intent})
        assert [s.id for s in by_intent.data] == [second.id]

    @pytest.mark.parametrize(
        ("change", "param", "code"),
        [
            ({"line_items": None}, "line_items", "parameter_missing"),
            ({"success_url": "shop.example/ok"}, "success_url", "url_invalid"),
            ({"cancel_url": "javascript:alert(1)"}, "cancel_url", "url_invalid"),
            (
                {"customer_email": "a@example.com", "customer": "cus_x"},
                "customer_email",
                None,
            ),
            ({"mode": "setup"}, "mode", None),
            ({"line_items": [item("Gum", 10)]}, "line_items", "amount_too_small"),
            (
                {"line_items": [item("A", 1000), item("B", 1000, currency="eur")]},
                "line_items",
                None,
            ),
            ({"line_items": [{"price_data": item("A", 100)["price_data"]}]}, None, None),
            ({"line_items": [{"price": "price_nope", "quantity": 1}]}, None, "resource_missing"),
            ({"expires_at": 1}, "expires_at", None),
        ],
    )
    def test_create_refuses_what_stripe_refuses(self, client, change, param, code):
        params = {
            "mode": "payment",
            "line_items": [item("Mug", 1250)],
            "success_url": SUCCESS,
            **change,
        }
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.checkout.sessions.create(params={k: v for k, v in params.items() if v})
        if param:
            assert caught.value.param == param
        if code:
            assert caught.value.code == code

    def test_expire_and_expiry(self, client, raw):
        created = session(client)
        expired = client.v1.checkout.sessions.expire(created.id)
        assert (expired.status, expired.url) == ("expired", None)
        with pytest.raises(stripe.InvalidRequestError, match='status of "expired"'):
            client.v1.checkout.sessions.expire(created.id)
        page = requests.get(created.url, timeout=30)
        assert page.status_code == 410 and "expired" in text(page)
        assert pay(created.url).status_code == 400

        later = session(client)
        raw("POST", "/_sandbox/clock/advance", {"seconds": str(24 * 3600 + 1)})
        assert client.v1.checkout.sessions.retrieve(later.id).status == "expired"
        types = [e.type for e in client.v1.events.list(params={"type": "checkout.session.*"})]
        assert types == ["checkout.session.expired", "checkout.session.expired"]


class TestHostedPage:
    @pytest.mark.parametrize(
        ("currency", "unit_amount", "shown"),
        [("usd", 1250, "25.00 USD"), ("jpy", 1250, "2,500 JPY"), ("kwd", 1250, "2.500 KWD")],
    )
    def test_the_page_shows_items_and_total_in_the_currency(
        self, client, currency, unit_amount, shown
    ):
        created = session(client, item("Mug", unit_amount, 2, currency))
        page = requests.get(created.url, timeout=30)
        assert page.status_code == 200
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        visible = " ".join(text(page).split())
        assert f"Pay {shown}" in visible and "Mug × 2" in visible
        assert "Workbench Sandbox" in visible and "TEST MODE" in visible

    def test_a_decline_then_a_good_card_completes_the_session(self, client):
        created = session(
            client,
            metadata={"order_id": "W-7"},
            payment_intent_data={"metadata": {"order_id": "W-7"}},
        )
        declined = pay(created.url, number="4000 0000 0000 0002")
        assert declined.status_code == 402
        assert "Your card was declined." in text(declined)
        assert 'value="4000 0000 0000 0002"' in declined.text  # kept, to correct
        opened = client.v1.checkout.sessions.retrieve(created.id)
        assert opened.status == "open" and opened.payment_intent.startswith("pi_")
        intent = client.v1.payment_intents.retrieve(opened.payment_intent)
        assert intent.status == "requires_payment_method"
        assert intent.last_payment_error.decline_code == "generic_decline"

        paid = pay(created.url)
        assert paid.status_code == 303
        assert paid.headers["Location"] == SUCCESS.replace("{CHECKOUT_SESSION_ID}", created.id)
        done = client.v1.checkout.sessions.retrieve(
            created.id, params={"expand": ["payment_intent.latest_charge"]}
        )
        assert (done.status, done.payment_status, done.url) == ("complete", "paid", None)
        assert done.customer_details.email == GOOD["email"]
        assert done.payment_intent.id == opened.payment_intent
        assert done.payment_intent.status == "succeeded" and done.payment_intent.amount == 2500
        charge = done.payment_intent.latest_charge
        assert charge.amount_captured == 2500 and charge.metadata.to_dict() == {"order_id": "W-7"}
        assert charge.balance_transaction.startswith("txn_")
        charges = client.v1.charges.list(params={"payment_intent": opened.payment_intent})
        assert sorted(c.status for c in charges.data) == ["failed", "succeeded"]
        types = [e.type for e in client.v1.events.list(params={"limit": 100}).data][::-1]
        assert types == [
            "payment_intent.created",
            "charge.failed",
            "payment_intent.payment_failed",
            "charge.succeeded",
            "payment_intent.succeeded",
            "checkout.session.completed",
        ]
        again = requests.get(created.url, timeout=30)
        assert again.status_code == 200 and "complete" in text(again)
        assert pay(created.url).status_code == 400  # a complete session takes no payment

    def test_manual_capture_is_authorized_not_paid(self, client):
        created = session(client, payment_intent_data={"capture_method": "manual"})
        assert pay(created.url).status_code == 303
        done = client.v1.checkout.sessions.retrieve(created.id)
        assert (done.status, done.payment_status) == ("complete", "unpaid")
        intent = client.v1.payment_intents.retrieve(done.payment_intent)
        assert intent.status == "requires_capture" and intent.amount_capturable == 2500

    def test_the_merchants_email_and_customer_creation(self, client):
        customer = client.v1.customers.create(params={"email": "known@example.com"})
        known = session(client, customer=customer.id)
        page = requests.get(known.url, timeout=30)
        assert "known@example.com" in text(page) and 'name="email"' not in page.text
        pay(known.url, email="")
        done = client.v1.checkout.sessions.retrieve(known.id)
        assert done.customer == customer.id
        assert done.customer_details.email == "known@example.com"
        made = session(client, customer_email="new@example.com", customer_creation="always")
        pay(made.url, email="")
        created = client.v1.checkout.sessions.retrieve(made.id, params={"expand": ["customer"]})
        assert created.customer.email == "new@example.com"

    def test_a_session_without_success_url_shows_its_own_confirmation(self, client):
        created = client.v1.checkout.sessions.create(
            params={"mode": "payment", "line_items": [item("Mug", 1250)]}
        )
        answer = pay(created.url)
        assert answer.status_code == 200 and "complete" in text(answer)

    @pytest.mark.parametrize(
        ("fields", "status", "message"),
        [
            ({"number": "4242 4242 4242 4241"}, 402, "Your card number is incorrect."),
            ({"number": "4242-4242"}, 402, "Your card number is invalid."),
            ({"exp": "13 / 34"}, 402, "Your card's expiration month is invalid."),
            ({"exp": "12 / 20"}, 402, "Your card's expiration year is invalid."),
            ({"exp": "soon"}, 402, "Your card's expiration date is incomplete."),
            ({"cvc": "12a"}, 402, "Your card's security code is invalid."),
            ({"email": "not-an-email"}, 400, "Your email address is invalid."),
        ],
    )
    def test_bad_card_details_are_shown_on_the_page(self, client, fields, status, message):
        created = session(client)
        answer = pay(created.url, **fields)
        assert answer.status_code == status
        assert message in text(answer)
        assert client.v1.checkout.sessions.retrieve(created.id).status == "open"

    def test_bad_requests_are_4xx_pages(self, client, sandbox_server, account_key):
        created = session(client)
        account = created.url.split("/c/")[1].split("/")[0]
        base = f"{sandbox_server.url}/c/{account}"
        answers = [
            requests.post(created.url, data=b"number=\xff", timeout=30),
            requests.post(created.url, data="number=1&number=2", timeout=30),
            requests.post(created.url, data={"number": "4" * 5000}, timeout=30),
            requests.post(created.url, data="a=%zz&" * 40, timeout=30),
            requests.put(created.url, timeout=30),
            requests.get(f"{base}/pay/cs_test_nope", timeout=30),
            requests.get(f"{sandbox_server.url}/c/no_such_account/pay/{created.id}", timeout=30),
            requests.get(f"{sandbox_server.url}/c/a%2F..%2Fb/pay/x", timeout=30),
            requests.get(f"{base}/elsewhere", timeout=30),
            requests.get(f"{base}/token", timeout=30),  # no `action`
            requests.get(f"{base}/token?action=javascript:x", timeout=30),
            requests.get(f"{base}/token?action=https://shop.example/&amount=-1", timeout=30),
            requests.get(f"{base}/token?action=https://shop.example/&currency=xxx", timeout=30),
        ]
        for answer in answers:
            assert 400 <= answer.status_code < 500, (answer.request.url, answer.status_code)
            assert answer.headers["Content-Type"].startswith("text/html")
            assert "Traceback" not in answer.text
        assert requests.get(created.url, timeout=30).status_code == 200  # still serving

    def test_the_page_loads_nothing_from_elsewhere(self, client):
        created = session(client)
        page = requests.get(created.url, timeout=30)
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert not re.search(r"""<(script|link|img|iframe)[^>]*(src|href)=""", page.text)
        assert set(re.findall(r'href="([^"]+)"', page.text)) == {CANCEL}

    def test_values_are_escaped(self, client):
        created = session(client, item("<script>alert(1)</script>", 1250))
        page = requests.get(created.url, timeout=30)
        assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text


class TestLegacyTokenForm:
    def test_the_form_posts_a_token_the_merchant_charges_once(self, client, sandbox_server):
        account = session(client).url.split("/c/")[1].split("/")[0]
        form = f"{sandbox_server.url}/c/{account}/token"
        query = {
            "action": "https://shop.example/charge?order=W-9",
            "amount": "1999",
            "currency": "eur",
            "name": "Demo shop",
            "description": "A poster",
        }
        page = requests.get(form, params=query, timeout=30)
        assert page.status_code == 200 and "Pay 19.99 EUR" in text(page)
        posted = requests.post(
            form, params=query, data={**GOOD, "email": "bob@example.com", "name": "Bob"}, timeout=30
        )
        assert posted.status_code == 200
        handoff = re.search(r'<form method="post" id="handoff" action="([^"]+)">', posted.text)
        assert html.unescape(handoff[1]) == query["action"]
        fields = dict(re.findall(r'name="(stripe\w+)" value="([^"]*)"', posted.text))
        assert fields["stripeTokenType"] == "card" and fields["stripeEmail"] == "bob@example.com"
        token = fields["stripeToken"]
        card = client.v1.tokens.retrieve(token).card
        assert (card.last4, card.name) == ("4242", "Bob")

        charge = client.v1.charges.create(
            params={"amount": 1999, "currency": "eur", "source": token}
        )
        assert charge.paid and charge.source.last4 == "4242"
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.charges.create(params={"amount": 1999, "currency": "eur", "source": token})
        assert caught.value.code == "token_already_used"
        assert f"You cannot use a Stripe token more than once: {token}." in str(caught.value)

    def test_a_bad_card_stays_on_the_form(self, client, sandbox_server):
        account = session(client).url.split("/c/")[1].split("/")[0]
        form = f"{sandbox_server.url}/c/{account}/token"
        query = {"action": "https://shop.example/charge"}
        data = {**GOOD, "number": "4242 4242 4242 4241"}
        answer = requests.post(form, params=query, data=data, timeout=30)
        assert answer.status_code == 402 and "Your card number is incorrect." in text(answer)
        assert "stripeToken" not in answer.text


def test_every_declared_field_and_the_stored_layout(client, raw, sandbox_server, account_key):
    """Open, complete and expired sessions and their line items carry what the pinned
    client declares; they are stored in the layout answers have (see state.stored)."""
    opened, paid, expired = session(client), session(client), session(client)
    pay(paid.url)
    client.v1.checkout.sessions.expire(expired.id)
    found = []
    for created in (opened, paid, expired):
        body = raw(
            "GET", f"/v1/checkout/sessions/{created.id}", params={"expand[]": "line_items"}
        ).json()
        found += conform(body, stripe.checkout.Session)
        found += [p for i in body["line_items"]["data"] for p in conform(i, stripe.LineItem)]
    listed = raw("GET", "/v1/checkout/sessions").json()["data"]
    assert len(listed) == 3
    found += [p for body in listed for p in conform(body, stripe.checkout.Session)]
    assert found == []
    store = sandbox_server.api.store(account_key.rsplit("sk_test_workbench_", 1)[1])
    for kind, data in store.conn.execute(
        "SELECT object, data FROM objects WHERE object IN ('checkout.session', 'event')"
    ):
        obj = state.loads(data)
        assert state.stored(obj) == state.dumps(obj).replace("\n", "\n" + state.ITEM_INDENT), kind
