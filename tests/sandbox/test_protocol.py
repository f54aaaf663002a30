"""The protocol every resource shares: auth, request ids, versions, parameters, errors,
idempotency, lists, expand and search; all through a real server on a real port."""

from __future__ import annotations

import base64
import json

import pytest
import stripe


def error_of(response, status: int, type_: str = "invalid_request_error") -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == type_
    assert error["message"]
    assert error["request_log_url"].endswith(response.headers["Request-Id"])
    return error


class TestAuthentication:
    def test_bearer_and_basic_auth_both_work(self, raw, account_key):
        assert raw("GET", "/v1/account").status_code == 200
        basic = base64.b64encode(f"{account_key}:".encode()).decode()
        answer = raw("GET", "/v1/account", key=None, headers={"Authorization": f"Basic {basic}"})
        assert answer.status_code == 200
        assert answer.json()["object"] == "account"

    def test_missing_key(self, raw):
        error = error_of(raw("GET", "/v1/charges", key=None), 401)
        assert error["message"].startswith("You did not provide an API key.")

    @pytest.mark.parametrize(
        "key",
        [
            "sk_test_somebodyElse",
            "sk_live_workbench",
            "pk_test_workbench",
            "sk_test_workbench_Bad-Name",
        ],
    )
    def test_unknown_and_live_keys_are_refused(self, raw, key):
        error = error_of(raw("GET", "/v1/charges", key=key), 401)
        assert error["message"].startswith("Invalid API Key provided: ")
        assert key not in error["message"]

    def test_the_client_raises_authentication_error(self, sandbox_server):
        client = stripe.StripeClient(
            "sk_test_nobody", max_network_retries=0, base_addresses={"api": sandbox_server.url}
        )
        with pytest.raises(stripe.AuthenticationError) as caught:
            client.v1.customers.list()
        assert caught.value.http_status == 401


class TestHeaders:
    def test_request_id_and_the_version_that_answered(self, raw):
        """Stripe-Version says which version rendered the answer. The sandbox serves one,
        the version of the stripe package it is checked against, whatever was asked for."""
        for asked in ("2024-06-20", "2020-08-27", stripe.api_version, None):
            answer = raw("GET", "/v1/balance", headers={"Stripe-Version": asked} if asked else {})
            assert answer.headers["Request-Id"].startswith("req_")
            assert answer.headers["Stripe-Version"] == stripe.api_version
            assert answer.headers["Content-Type"] == "application/json"

    def test_client_version_is_honoured(self, client):
        customer = client.v1.customers.create()
        assert customer.last_response.headers["Stripe-Version"] == stripe.api_version

    def test_invalid_version(self, raw):
        error = error_of(raw("GET", "/v1/balance", headers={"Stripe-Version": "yesterday"}), 400)
        assert error["code"] == "api_version_invalid"
        assert error["message"] == "Invalid Stripe API version: yesterday"


class TestStripeAccount:
    """A Stripe-Account header naming an account the key cannot reach is Stripe's 403
    `account_invalid` (the sandbox has no connected accounts), never a request quietly made
    on the platform's own account."""

    def test_an_unknown_account_is_refused(self, client, raw, account_key):
        with pytest.raises(stripe.PermissionError) as caught:
            client.v1.customers.create(
                params={"email": "a@example.com"}, options={"stripe_account": "acct_1Nope"}
            )
        assert caught.value.http_status == 403
        assert caught.value.error.code == "account_invalid"  # the client keeps no code for 403s
        assert str(caught.value.user_message) == (
            f"The provided key '{account_key[:8]}{'*' * (len(account_key) - 12)}"
            f"{account_key[-4:]}' does not have access to account 'acct_1Nope' (or that "
            "account does not exist). Application access may have been revoked."
        )
        assert client.v1.customers.list().data == []
        for value in ("", "acct_1Nope", "not an account"):
            error = error_of(raw("GET", "/v1/balance", headers={"Stripe-Account": value}), 403)
            assert error["code"] == "account_invalid"

    def test_the_account_of_the_key_itself(self, client):
        own = client.v1.accounts.retrieve_current().id
        listed = client.v1.customers.list(options={"stripe_account": own})
        assert listed.data == []


def stripe_layout(value) -> str:
    """Stripe's layout, written out independently of the sandbox: indented by two, `id`
    and `object` first in every object, the other keys in alphabetical order."""

    def ordered(item):
        if isinstance(item, list):
            return [ordered(each) for each in item]
        if not isinstance(item, dict):
            return item
        first = [key for key in ("id", "object") if key in item]
        rest = sorted(key for key in item if key not in first)
        return {key: ordered(item[key]) for key in first + rest}

    return json.dumps(ordered(value), indent=2, ensure_ascii=False) + "\n"


class TestLayout:
    """Answers read as Stripe's do, for people who follow Stripe's docs with curl and grep."""

    def test_objects_lists_searches_events_and_errors(self, client, raw):
        customer = client.v1.customers.create(
            params={"source": "tok_visa", "name": "Zoë", "metadata": {"b": "2", "a": "1"}}
        )
        charge = client.v1.charges.create(
            params={"amount": 1500, "currency": "eur", "customer": customer.id}
        )
        client.v1.refunds.create(params={"charge": charge.id, "amount": 500})
        raw("POST", "/_sandbox/clock/advance", {"days": "10"})  # funds become available
        for path in (
            f"/v1/charges/{charge.id}",
            f"/v1/customers/{customer.id}?expand[]=sources",
            "/v1/charges?limit=3",
            "/v1/charges?expand[]=data.customer&expand[]=data.balance_transaction",
            "/v1/balance_transactions",
            "/v1/events",
            "/v1/refunds",
            "/v1/customers/search?query=name:'Zoë'",
            "/v1/balance",
            "/v1/charges/ch_nope",
            "/v1/charges/search?query=colour:'red'",
            "/_sandbox/clock",
        ):
            answer = raw("GET", path)
            assert answer.text == stripe_layout(answer.json()), path
        text = raw("GET", f"/v1/charges/{charge.id}").text
        assert text.startswith(f'{{\n  "id": "{charge.id}",\n  "object": "charge",\n  "amount"')
        assert '  "amount_refunded": 500,' in text.splitlines()
        assert '      "object": "card",' not in text  # no expanded card without expand[]
        transactions = raw("GET", "/v1/balance_transactions").json()["data"]
        assert {t["status"] for t in transactions} == {"available"}

    def test_idempotent_replays_and_posts(self, raw):
        headers = {"Idempotency-Key": "layout-1"}
        first = raw("POST", "/v1/customers", {"email": "a@example.com"}, headers=headers)
        again = raw("POST", "/v1/customers", {"email": "a@example.com"}, headers=headers)
        assert first.text == again.text == stripe_layout(first.json())


class TestParameters:
    def test_unknown_parameter(self, raw):
        error = error_of(raw("POST", "/v1/customers", {"emial": "a@b.c"}), 400)
        assert (error["code"], error["param"]) == ("parameter_unknown", "emial")
        assert error["message"] == "Received unknown parameter: emial"

    def test_unknown_nested_parameter(self, raw):
        error = error_of(
            raw(
                "POST",
                "/v1/tokens",
                {
                    "card[number]": "4242424242424242",
                    "card[exp_month]": "1",
                    "card[exp_year]": "2040",
                    "card[colour]": "red",
                },
            ),
            400,
        )
        assert (error["code"], error["param"]) == ("parameter_unknown", "card[colour]")

    def test_missing_and_invalid(self, raw):
        error = error_of(raw("POST", "/v1/charges", {"currency": "usd", "source": "tok_visa"}), 400)
        assert (error["code"], error["param"]) == ("parameter_missing", "amount")
        error = error_of(raw("POST", "/v1/charges", {"amount": "ten", "currency": "usd"}), 400)
        assert (error["code"], error["param"]) == ("parameter_invalid_integer", "amount")
        error = error_of(raw("POST", "/v1/charges", {"amount": "", "currency": "usd"}), 400)
        assert error["code"] in ("parameter_invalid_empty", "parameter_missing")

    def test_integers_stay_integers(self, client):
        customer = client.v1.customers.create(params={"source": "tok_visa"})
        card = client.v1.customers.payment_sources.update(
            customer.id, customer.default_source, params={"exp_month": "7", "exp_year": "2033"}
        )
        assert card.exp_month == 7 and isinstance(card.exp_month, int)
        assert card.exp_year == 2033

    def test_metadata_limits(self, client):
        with pytest.raises(stripe.InvalidRequestError, match="40 characters") as caught:
            client.v1.customers.create(params={"metadata": {"k" * 41: "v"}})
        assert caught.value.http_status == 400
        with pytest.raises(stripe.InvalidRequestError, match="500 characters"):
            client.v1.customers.create(params={"metadata": {"k": "v" * 501}})
        with pytest.raises(stripe.InvalidRequestError, match="up to 50 keys"):
            client.v1.customers.create(params={"metadata": {f"k{i}": "v" for i in range(51)}})
        ok = client.v1.customers.create(
            params={"metadata": {f"k{i}": "v" * 500 for i in range(50)}}
        )
        assert len(ok.metadata.to_dict()) == 50

    def test_unknown_url(self, raw):
        error = error_of(raw("GET", "/v1/nothing"), 404)
        assert error["message"].startswith("Unrecognized request URL (GET: /v1/nothing).")
        error = error_of(raw("GET", "/v1/charges/"), 404)
        assert "remove the trailing slash" in error["message"]
        error_of(raw("PUT", "/v1/charges"), 404)

    def test_resource_missing(self, client):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.charges.retrieve("ch_nope")
        assert caught.value.http_status == 404
        assert caught.value.code == "resource_missing"
        assert str(caught.value.user_message) == "No such charge: 'ch_nope'"


class TestIdempotency:
    def test_replay_returns_the_stored_answer(self, raw):
        headers = {"Idempotency-Key": "order-17"}
        first = raw(
            "POST",
            "/v1/charges",
            {"amount": "1000", "currency": "usd", "source": "tok_visa"},
            headers=headers,
        )
        again = raw(
            "POST",
            "/v1/charges",
            {"amount": "1000", "currency": "usd", "source": "tok_visa"},
            headers=headers,
        )
        assert first.status_code == again.status_code == 200
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert again.json() == first.json()
        assert len(raw("GET", "/v1/charges").json()["data"]) == 1

    def test_card_errors_are_replayed_too(self, raw):
        headers = {"Idempotency-Key": "declined-once"}
        body = {"amount": "1000", "currency": "usd", "source": "tok_chargeDeclined"}
        first = raw("POST", "/v1/charges", body, headers=headers)
        again = raw("POST", "/v1/charges", body, headers=headers)
        assert first.status_code == again.status_code == 402
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert [c["status"] for c in raw("GET", "/v1/charges").json()["data"]] == ["failed"]

    def test_same_key_different_parameters(self, raw):
        headers = {"Idempotency-Key": "k-1"}
        raw("POST", "/v1/customers", {"email": "a@example.com"}, headers=headers)
        error = error_of(
            raw("POST", "/v1/customers", {"email": "b@example.com"}, headers=headers),
            400,
            "idempotency_error",
        )
        assert "k-1" in error["message"]
        error_of(
            raw(
                "POST",
                "/v1/charges",
                {"amount": "100", "currency": "usd", "source": "tok_visa"},
                headers=headers,
            ),
            400,
            "idempotency_error",
        )

    def test_keys_expire_after_24_hours_of_sandbox_time(self, raw):
        headers = {"Idempotency-Key": "day-old"}
        raw("POST", "/v1/customers", {"email": "a@example.com"}, headers=headers)
        raw("POST", "/_sandbox/clock/advance", {"seconds": str(24 * 3600 + 60)})
        again = raw("POST", "/v1/customers", {"email": "b@example.com"}, headers=headers)
        assert again.status_code == 200
        assert "Idempotent-Replayed" not in again.headers
        assert len(raw("GET", "/v1/customers").json()["data"]) == 2

    def test_the_client_sends_keys_and_retries_safely(self, client):
        charge = client.v1.charges.create(
            params={"amount": 700, "currency": "usd", "source": "tok_visa"},
            options={"idempotency_key": "client-key"},
        )
        again = client.v1.charges.create(
            params={"amount": 700, "currency": "usd", "source": "tok_visa"},
            options={"idempotency_key": "client-key"},
        )
        assert again.id == charge.id


class TestLists:
    @pytest.fixture
    def customers(self, client):
        return [
            client.v1.customers.create(params={"email": f"c{i}@example.com"}) for i in range(25)
        ]

    def test_newest_first_default_ten(self, client, customers):
        page = client.v1.customers.list()
        assert [c.id for c in page.data] == [c.id for c in reversed(customers)][:10]
        assert page.has_more is True
        assert page.url == "/v1/customers"

    def test_cursors(self, client, customers):
        newest_first = [c.id for c in reversed(customers)]
        after = client.v1.customers.list(params={"limit": 5, "starting_after": newest_first[4]})
        assert [c.id for c in after.data] == newest_first[5:10]
        before = client.v1.customers.list(params={"limit": 3, "ending_before": newest_first[10]})
        assert [c.id for c in before.data] == newest_first[7:10]
        assert before.has_more is True
        walked = [c.id for c in client.v1.customers.list(params={"limit": 7}).auto_paging_iter()]
        assert walked == newest_first

    def test_limit_bounds(self, raw):
        for limit, message in (
            ("0", "greater than or equal to 1"),
            ("101", "less than or equal to 100"),
            ("x", "Invalid integer"),
        ):
            error = error_of(raw("GET", "/v1/customers", params={"limit": limit}), 400)
            assert message in error["message"]
            assert error["param"] == "limit"

    def test_unknown_cursor(self, raw):
        error = error_of(raw("GET", "/v1/customers", params={"starting_after": "cus_nope"}), 404)
        assert (error["code"], error["param"]) == ("resource_missing", "starting_after")

    def test_filters(self, client, customers):
        found = client.v1.customers.list(params={"email": "c3@example.com"})
        assert [c.id for c in found.data] == [customers[3].id]


class TestExpand:
    def test_expand_on_retrieve_and_in_lists(self, client):
        customer = client.v1.customers.create(params={"source": "tok_visa"})
        charge = client.v1.charges.create(
            params={"amount": 1500, "currency": "usd", "customer": customer.id}
        )
        got = client.v1.charges.retrieve(
            charge.id, params={"expand": ["customer", "balance_transaction"]}
        )
        assert got.customer.id == customer.id and got.customer.object == "customer"
        assert got.balance_transaction.amount == 1500
        listed = client.v1.charges.list(params={"expand": ["data.customer"]})
        assert listed.data[0].customer.email is None
        assert listed.data[0].customer.id == customer.id
        deep = client.v1.balance_transactions.retrieve(
            got.balance_transaction.id, params={"expand": ["source.customer"]}
        )
        assert deep.source.customer.id == customer.id
        with_sources = client.v1.customers.retrieve(customer.id, params={"expand": ["sources"]})
        assert [s.id for s in with_sources.sources.data] == [customer.default_source]

    def test_cannot_expand_a_plain_field(self, client):
        charge = client.v1.charges.create(
            params={"amount": 1500, "currency": "usd", "source": "tok_visa"}
        )
        with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded"):
            client.v1.charges.retrieve(charge.id, params={"expand": ["amount"]})


class TestSearch:
    @pytest.fixture
    def charges(self, client):
        made = []
        for order, amount, currency in [
            ("A1", 500, "usd"),
            ("A2", 1500, "usd"),
            ("A3", 2500, "eur"),
            ("A4", 3500, "usd"),
        ]:
            made.append(
                client.v1.charges.create(
                    params={
                        "amount": amount,
                        "currency": currency,
                        "source": "tok_visa",
                        "metadata": {"order_id": order},
                    }
                )
            )
        return made

    @pytest.mark.parametrize(
        ("query", "orders"),
        [
            ("metadata['order_id']:'A1'", ["A1"]),
            ('metadata["order_id"]:"A3"', ["A3"]),
            ("amount>1000", ["A4", "A3", "A2"]),
            ("amount>=1500 AND currency:'usd'", ["A4", "A2"]),
            ("currency:'eur' OR amount<1000", ["A3", "A1"]),
            ("status:'succeeded' -currency:'usd'", ["A3"]),
            ("-metadata['order_id']:null", ["A4", "A3", "A2", "A1"]),
        ],
    )
    def test_queries(self, client, charges, query, orders):
        found = client.v1.charges.search(params={"query": query})
        assert [c.metadata["order_id"] for c in found.data] == orders

    def test_paging(self, client, charges):
        first = client.v1.charges.search(params={"query": "status:'succeeded'", "limit": 3})
        assert first.has_more is True and first.next_page
        rest = client.v1.charges.search(
            params={"query": "status:'succeeded'", "limit": 3, "page": first.next_page}
        )
        assert len(first.data) + len(rest.data) == 4 and rest.has_more is False
        walked = client.v1.charges.search(params={"query": "status:'succeeded'", "limit": 1})
        assert len(list(walked.auto_paging_iter())) == 4

    def test_customers_and_payment_intents(self, client):
        client.v1.customers.create(params={"email": "Ada@Example.com", "name": "Ada Lovelace"})
        client.v1.customers.create(params={"email": "bob@example.com"})
        assert (
            len(client.v1.customers.search(params={"query": "email:'ada@example.com'"}).data) == 1
        )
        assert len(client.v1.customers.search(params={"query": "name~'love'"}).data) == 1
        client.v1.payment_intents.create(
            params={"amount": 999, "currency": "usd", "metadata": {"order_id": "P1"}}
        )
        found = client.v1.payment_intents.search(params={"query": "metadata['order_id']:'P1'"})
        assert found.data[0].amount == 999

    @pytest.mark.parametrize(
        "query",
        [
            "",
            "amount>>3",
            "colour:'red'",
            "amount~'100'",
            "a:'1' AND b:'2' OR c:'3'",
            "metadata:'x'",
        ],
    )
    def test_bad_queries(self, raw, query):
        error = error_of(raw("GET", "/v1/charges/search", params={"query": query}), 400)
        assert error["param"] == "query"


def test_objects_are_stored_in_the_layout_answers_have(tmp_path):
    """Objects are written with one orjson call, trusting the models to make them in
    Stripe's order; here every object of a seeded history (and its events' snapshots) is
    laid out again by the general path, which sorts and hoists, and must come out the same."""
    import calendar

    from workbench.sandbox import seed, state
    from workbench.sandbox.server import Api

    account = Api(tmp_path, "sk_test_workbench").store("default")
    seed.seed(account, until=calendar.timegm((2026, 9, 1, 0, 0, 0)), months=1, seed=7, scale=0.5)
    rows = account.conn.execute("SELECT object, data FROM objects").fetchall()
    kinds = set()
    for kind, text in rows:
        obj = state.loads(text)
        general = state.dumps(obj).replace("\n", "\n" + state.ITEM_INDENT)
        assert state.stored(obj) == general, kind
        kinds.add(kind)
    assert {"charge", "refund", "dispute", "payout", "event", "balance_transaction"} <= kinds
