"""A corpus of bad requests: every one gets a Stripe-shaped 4xx, none a 5xx, and the
server keeps serving afterwards. Then what a hostile client tries: queries that backtrack,
SQL through search keys, controls that would stop the server, clients that never finish a
request, and keys that would make files."""

from __future__ import annotations

import base64
import json
import socket

import pytest

CORPUS = [
    # (method, path, body or None, extra headers)
    ("POST", "/v1/charges", "amount=abc&currency=usd&source=tok_visa", {}),
    ("POST", "/v1/charges", "amount=100&currency=usd&source=tok_visa&bogus=1", {}),
    ("POST", "/v1/charges", "amount=100", {}),
    ("POST", "/v1/charges", "amount=100&currency=usd", {}),
    ("POST", "/v1/charges", "amount=-5&currency=usd&source=tok_visa", {}),
    ("POST", "/v1/charges", "amount=10&currency=usd&source=tok_visa", {}),
    ("POST", "/v1/charges", "amount=100000000000&currency=usd&source=tok_visa", {}),
    ("POST", "/v1/charges", "amount=100&currency=zzz&source=tok_visa", {}),
    ("POST", "/v1/charges", "amount=100&currency=usd&source=tok_nope", {}),
    ("POST", "/v1/charges", "amount=100&currency=usd&source=card_nope", {}),
    ("POST", "/v1/charges", "amount=100&currency=usd&customer=cus_nope", {}),
    ("POST", "/v1/charges", "amount=100&currency=usd&source=tok_visa&capture=maybe", {}),
    ("POST", "/v1/charges", "amount[]=1&currency=usd&source=tok_visa", {}),
    ("POST", "/v1/charges", "amount[a][b]=1&currency=usd", {}),
    ("POST", "/v1/charges", "metadata=flat&amount=100&currency=usd&source=tok_visa", {}),
    ("POST", "/v1/charges", "metadata[a][b]=x&amount=100&currency=usd&source=tok_visa", {}),
    ("POST", "/v1/charges", "metadata[" + "k" * 41 + "]=x&amount=100&currency=usd", {}),
    ("POST", "/v1/charges", "metadata[k]=" + "v" * 501 + "&amount=100&currency=usd", {}),
    (
        "POST",
        "/v1/charges",
        "&".join(f"metadata[k{i}]=v" for i in range(51))
        + "&amount=100&currency=usd&source=tok_visa",
        {},
    ),
    ("POST", "/v1/charges", "amount[=1&currency=usd", {}),
    ("POST", "/v1/charges", "amount]=1", {}),
    ("POST", "/v1/charges", "a[b]=1&a=2", {}),
    ("POST", "/v1/charges", "a=1&a[b]=2", {}),
    ("POST", "/v1/charges", "x" + "[a]" * 20 + "=1", {}),
    ("POST", "/v1/charges", b"amount=100&currency=\xff\xfe", {}),
    ("POST", "/v1/charges", "amount=100&currency=%FF", {}),
    (
        "POST",
        "/v1/charges",
        '{"amount": 100, "currency": "usd"}',
        {"Content-Type": "application/json"},
    ),
    (
        "POST",
        "/v1/charges",
        "statement_descriptor_suffix=" + "x" * 40 + "&amount=100&currency=usd&source=tok_visa",
        {},
    ),
    ("POST", "/v1/charges/ch_nope/capture", "", {}),
    ("POST", "/v1/charges/ch_nope/capture", "amount=0", {}),
    ("GET", "/v1/charges/%00", None, {}),
    ("GET", "/v1/charges/" + "x" * 5000, None, {}),
    ("GET", "/v1/charges?limit=1000", None, {}),
    ("GET", "/v1/charges?limit=-1", None, {}),
    ("GET", "/v1/charges?limit=", None, {}),
    ("GET", "/v1/charges?created[gte]=yesterday", None, {}),
    ("GET", "/v1/charges?created[between]=1", None, {}),
    ("GET", "/v1/charges?starting_after=ch_nope", None, {}),
    ("GET", "/v1/account?expand[]=nothing", None, {}),
    ("GET", "/v1/charges?expand[]=customer", None, {}),
    ("GET", "/v1/charges?expand=customer", None, {}),
    ("GET", "/v1/charges?expand[]=" + ".".join(["customer"] * 6), None, {}),
    ("GET", "/v1/charges/search?query=amount>>1", None, {}),
    ("GET", "/v1/charges/search", None, {}),
    ("GET", "/v1/charges/search?query=x&page=%%%", None, {}),
    ("GET", "/v1/charges?expand[]=", None, {}),
    ("GET", "/v1/charges?expand[%C2%B2]=customer", None, {}),
    ("GET", "/v1/charges?expand[" + "9" * 5000 + "]=customer", None, {}),
    ("GET", "/v1/charges?expand[0" + "0" * 30 + "]=customer", None, {}),
    ("GET", "/v1/charges?limit=%D9%A1", None, {}),
    ("GET", "/v1/charges?limit=%EF%BC%91", None, {}),
    ("GET", "/v1/charges?limit=%201", None, {}),
    ("POST", "/v1/charges", "amount=%D9%A1%D9%A0%D9%A0&currency=usd&source=tok_visa", {}),
    ("GET", "/v1/customers/cus_nope", None, {}),
    ("POST", "/v1/customers", "email[]=a", {}),
    ("POST", "/v1/customers", "preferred_locales=en", {}),
    ("POST", "/v1/customers", "source=tok_chargeDeclined", {}),
    ("POST", "/v1/customers/cus_nope/sources", "source=tok_visa", {}),
    ("POST", "/v1/tokens", "card[number]=4242&card[exp_month]=1&card[exp_year]=2040", {}),
    (
        "POST",
        "/v1/tokens",
        "card[number]=4242424242424242&card[exp_month]=x&card[exp_year]=2040",
        {},
    ),
    ("POST", "/v1/tokens", "card=4242424242424242", {}),
    ("POST", "/v1/tokens", "", {}),
    ("POST", "/v1/refunds", "", {}),
    ("POST", "/v1/refunds", "charge=ch_nope", {}),
    ("POST", "/v1/refunds", "charge=ch_nope&reason=because", {}),
    ("POST", "/v1/payment_intents", "amount=100&currency=usd&capture_method=later", {}),
    ("POST", "/v1/payment_intents/pi_nope/confirm", "", {}),
    ("POST", "/v1/payment_methods", "type=card", {}),
    ("POST", "/v1/payment_methods", "type=sepa_debit", {}),
    ("POST", "/v1/payment_methods/pm_card_nope/attach", "customer=cus_nope", {}),
    ("POST", "/v1/payouts", "amount=100&currency=usd", {}),
    ("POST", "/v1/webhook_endpoints", "url=notaurl&enabled_events[]=*", {}),
    ("POST", "/v1/webhook_endpoints", "url=http://x.test/h&enabled_events[]=Bad Event", {}),
    ("GET", "/v1/events?types=charge.succeeded", None, {}),
    ("DELETE", "/v1/charges/ch_nope", None, {}),
    ("PATCH", "/v1/charges", "", {}),
    ("GET", "/v2/core/events", None, {}),
    ("GET", "/", None, {}),
    (
        "POST",
        "/v1/charges",
        "amount=100&currency=usd&source=tok_visa",
        {"Idempotency-Key": "k" * 300},
    ),
    ("GET", "/v1/balance", None, {"Stripe-Version": "not-a-version"}),
    ("POST", "/_sandbox/faults", "latency_ms=fast", {}),
    ("POST", "/_sandbox/clock/advance", "seconds=-5", {}),
    ("POST", "/_sandbox/clock/advance", "seconds=%D9%A1", {}),
    ("POST", "/_sandbox/account", "interval=hourly", {}),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    CORPUS,
    ids=[f"{i:02d}-{c[0]}-{c[1][:30]}" for i, c in enumerate(CORPUS)],
)
def test_bad_requests_get_stripe_shaped_4xx(raw, method, path, body, headers):
    sent = {"Content-Type": "application/x-www-form-urlencoded", **headers}
    answer = raw(method, path, body, headers=sent)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    error = answer.json()["error"]
    assert error["type"] in ("invalid_request_error", "card_error", "idempotency_error")
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in answer.text
    assert answer.headers["Request-Id"].startswith("req_")
    assert raw("GET", "/v1/account").status_code == 200


def test_broken_http_does_not_stop_the_server(sandbox_server, raw):
    host, port = "127.0.0.1", sandbox_server.port
    for garbage in (
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET /v1/charges HTTP/1.1\r\n",
        b"POST /v1/charges HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n",
        b"POST /v1/charges HTTP/1.1\r\nContent-Length: -4\r\n\r\n",
        b"\x00" * 64,
    ):
        with socket.create_connection((host, port), timeout=5) as connection:
            connection.sendall(garbage)
            connection.shutdown(socket.SHUT_WR)
            reply = connection.recv(4096)
            assert not reply.startswith(b"HTTP/1.1 5") and not reply.startswith(b"HTTP/1.0 5")
    assert raw("GET", "/v1/account").status_code == 200


def test_a_refund_with_an_empty_amount_is_refused(client, raw):
    """`amount=` cannot unset a refund's amount: Stripe's parameter_invalid_empty."""
    paid = client.v1.charges.create(params={"amount": 900, "currency": "usd", "source": "tok_visa"})
    for path, body in [
        ("/v1/refunds", {"charge": paid.id, "amount": ""}),
        (f"/v1/charges/{paid.id}/capture", {"amount": ""}),
    ]:
        answer = raw("POST", path, body)
        assert answer.status_code == 400, answer.text[:300]
        error = answer.json()["error"]
        assert (error["code"], error["param"]) == ("parameter_invalid_empty", "amount")
    assert client.v1.charges.retrieve(paid.id).amount_refunded == 0


def test_integers_are_ascii_digits(raw):
    for value in ("\u0661", "\uff11", "\u0661\u0660", " 5", "5 ", "+5", "1_0", "\u00b2"):
        answer = raw("GET", "/v1/customers", params={"limit": value})
        assert answer.status_code == 400, (value, answer.text[:300])
        assert answer.json()["error"]["code"] == "parameter_invalid_integer"


def page_token(value) -> str:
    """A `page` value as the search answers carry them: base64 of JSON."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


class TestSearchUnderAttack:
    @pytest.mark.parametrize(
        "query",
        [
            'metadata["' + "\\" * 40,
            "metadata['" + "\\" * 40,
            "metadata['" + "\\'" * 40,
            'metadata["a"]:"' + "\\" * 40,
            "status:'" + "\\" * 4000,
            'metadata["' + "\\" * 2000 + '"',
            "-" * 4000,
            " AND ".join(["amount>1"] * 1000),
            "amount>1 " + "AND " * 2000,
            "(" * 4000,
        ],
        ids=lambda query: query[:24],
    )
    def test_worst_case_queries_are_a_400(self, raw, query):
        """These took exponential time in a backtracking pattern (40 backslashes: 31 s with
        every other request waiting); a tokenizer reads them once and refuses them."""
        answer = raw("GET", "/v1/charges/search", params={"query": query})
        assert answer.status_code == 400, answer.text[:300]
        assert answer.json()["error"]["param"] == "query"

    @pytest.mark.parametrize(
        "path",
        [
            "/v1/charges/search?query=amount>99999999999999999999",
            "/v1/charges/search?query=amount:99999999999999999999",
            "/v1/charges/search?query=created<-99999999999999999999",
            "/v1/charges/search?query=amount>%D9%A1",
            f"/v1/charges/search?query=amount>1&page={page_token([10**30, 1])}",
            f"/v1/charges/search?query=amount>1&page={page_token([1, -(10**30)])}",
            f"/v1/charges/search?query=amount>1&page={page_token(['x', 'y'])}",
            f"/v1/charges/search?query=amount>1&page={page_token([1.5, 2])}",
            f"/v1/charges/search?query=amount>1&page={page_token([True, False])}",
            f"/v1/charges/search?query=amount>1&page={page_token([[1], {}])}",
            f"/v1/charges/search?query=amount>1&page={page_token({'a': 1})}",
            f"/v1/charges/search?query=amount>1&page={page_token([1, 2, 3])}",
        ],
    )
    def test_numbers_sqlite_cannot_hold_and_foreign_page_tokens_are_a_400(self, raw, path):
        answer = raw("GET", path)
        assert answer.status_code == 400, answer.text[:300]
        assert answer.json()["error"]["param"] in ("query", "page")

    def test_keys_and_values_are_bound_not_spliced_into_sql(self, client, raw):
        """A crafted metadata key that closed the SQL string could ask yes/no questions of
        columns the API never shows (the card number behind each charge)."""
        paid = client.v1.charges.create(
            params={
                "amount": 700,
                "currency": "usd",
                "source": "tok_visa",
                "metadata": {"order_id": "A1", "it's": 'a "quoted" value'},
            }
        )
        oracle = (
            "x' || char(34)) IS NOT NULL OR EXISTS(SELECT 1 FROM objects o WHERE o.private "
            "LIKE '%4242%') OR json_extract(data, '$.a"
        )
        for query in [
            f"metadata[\"{oracle}\"]:'1'",
            f'-metadata["{oracle}"]:null',
            "metadata[\"a'b\"]:'x'",
            "metadata[\"a') OR ('1'='1\"]:'x'",
            "metadata['order_id']:'A1\\' OR \\'1\\'=\\'1'",
            'metadata[\'order_id\']:"x\\" OR 1=1 --"',
            "metadata['\\\\']:'x'",
            "metadata['order_id\\']:'A1'",
            "metadata['order_id\\'] OR 1=1 --']:'A1'",
            "metadata[\"order_id.x\"]:'A1'",
            "metadata['$']:'A1'",
            "metadata['']:'A1'",
        ]:
            answer = raw("GET", "/v1/charges/search", params={"query": query})
            assert answer.status_code < 500, (query, answer.text[:300])
            if answer.status_code == 200:
                assert answer.json()["data"] == [], query
            else:
                assert answer.json()["error"]["param"] == "query", query
            assert "4242424242424242" not in answer.text
        found = client.v1.charges.search(
            params={"query": 'metadata["it\'s"]:\'a \\"quoted\\" value\''}
        )
        assert [c.id for c in found.data] == [paid.id]
        found = client.v1.charges.search(params={"query": "metadata['it\\'s']~'quoted'"})
        assert [c.id for c in found.data] == [paid.id]
