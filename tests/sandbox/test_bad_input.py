"""A corpus of bad requests: every one gets a Stripe-shaped 4xx, none a 5xx, and the
server keeps serving afterwards. Then what a hostile client tries: queries that backtrack,
SQL through search keys, controls that would stop the server, clients that never finish a
request, and keys that would make files."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from contextlib import contextmanager

import pytest
import requests
import stripe

from workbench import sandbox
from workbench.sandbox.server import Api, HttpServer

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
        b"GET /v1/charges HTTP/2.0\r\n\r\n",
        b"GET /v1/charges HTTP/1.1\r\n" + b"X-Long: " + b"x" * 70000 + b"\r\n\r\n",
        b"GET /v1/charges HTTP/1.1\r\n" + b"X: y\r\n" * 150 + b"\r\n",
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


def exchange(port: int, data: bytes) -> tuple[int, dict, bytes]:
    """Send raw bytes, read the answer until the server closes: (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
        connection.sendall(data)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def stripe_error(status: int, headers: dict, body: bytes) -> dict:
    assert 400 <= status < 500, (status, body[:300])
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    return error


@pytest.mark.parametrize(
    "request_line",
    [
        "TRACE /v1/charges HTTP/1.1",
        "CONNECT 127.0.0.1:443 HTTP/1.1",
        "get /v1/charges HTTP/1.1",
        "PROPFIND /v1/charges HTTP/1.1",
        "MKCOL /v1/charges HTTP/1.1",
        "GET /v1/charges HTTP/2.0",
        "GARBAGE",
    ],
)
def test_every_method_and_request_line_gets_a_json_error(sandbox_server, account_key, request_line):
    """Stripe answers what it does not route with a JSON error; never http.server's HTML
    page, never a 5xx."""
    sent = f"{request_line}\r\nAuthorization: Bearer {account_key}\r\nConnection: close\r\n\r\n"
    stripe_error(*exchange(sandbox_server.port, sent.encode()))


@contextmanager
def served(data_dir, **options):
    """A server of its own, for limits the shared one must not have."""
    server_options = {name: options.pop(name) for name in ("client_timeout",) if name in options}
    api = Api(data_dir, sandbox.DEFAULT_KEY, **options)
    server = HttpServer(api, 0, **server_options)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        api.close()


@pytest.fixture(scope="module")
def impatient_server(tmp_path_factory):
    with served(tmp_path_factory.mktemp("slow"), client_timeout=0.5) as server:
        yield server


class TestSlowClients:
    """A client that never finishes its request is cut off, and its thread freed."""

    @pytest.mark.parametrize(
        "sent",
        [
            b"",
            b"GET /v1/balance HTTP/1.1\r\nHost: x\r\n",
            b"POST /v1/customers HTTP/1.1\r\nContent-Length: 50\r\n\r\nemail=a",
            b"GET /v1/balance HTTP/1.1\r\nAuthorization: Bearer "
            + sandbox.DEFAULT_KEY.encode()
            + b"\r\n\r\n",
        ],
        ids=["nothing", "half the headers", "half the body", "idle after an answer"],
    )
    def test_the_server_hangs_up(self, impatient_server, sent):
        server = impatient_server
        before = threading.active_count()
        with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=20) as c:
            c.sendall(sent)
            received = b""
            while chunk := c.recv(65536):  # the server closes: recv returns b"", no timeout
                received += chunk
        assert received == b"" or received.startswith(b"HTTP/1.1 200")
        deadline = time.monotonic() + 10  # the handler thread ends right after it hangs up
        while threading.active_count() > before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert threading.active_count() <= before
        url = f"http://127.0.0.1:{server.server_address[1]}/v1/balance"
        auth = {"Authorization": f"Bearer {sandbox.DEFAULT_KEY}"}
        assert requests.get(url, headers=auth, timeout=10).status_code == 200


class TestAccountsFromKeys:
    def test_names_are_matched_whole(self, sandbox_server, raw):
        """A trailing newline once made an account (and a file named with a newline)."""
        for secret in (
            f"{sandbox_server.api_key}_newline\n",
            f"{sandbox_server.api_key}_newline\n\n",
            f"{sandbox_server.api_key}_{'x' * 65}",
            f"{sandbox_server.api_key}_..",
            f"{sandbox_server.api_key}_",
        ):
            basic = base64.b64encode(f"{secret}:".encode()).decode()
            answer = raw(
                "GET", "/v1/account", key=None, headers={"Authorization": f"Basic {basic}"}
            )
            assert answer.status_code == 401, (secret, answer.text[:300])
        files = [path.name for path in (sandbox_server.data_dir / "sandbox").iterdir()]
        assert not [name for name in files if "\n" in name or name.startswith("x" * 65)]
        longest = f"{sandbox_server.api_key}_{'x' * 64}"
        assert raw("GET", "/v1/account", key=longest).status_code == 200

    def test_a_server_makes_a_bounded_number_of_accounts(self, tmp_path):
        with served(tmp_path, max_accounts=3) as server:
            client = stripe.StripeClient(
                sandbox.DEFAULT_KEY,
                base_addresses={"api": f"http://127.0.0.1:{server.server_address[1]}"},
                max_network_retries=0,
            )
            for name in ("a", "b"):
                client.v1.customers.create(options={"api_key": f"{sandbox.DEFAULT_KEY}_{name}"})
            client.v1.customers.create()
            with pytest.raises(stripe.AuthenticationError, match="at most 3 accounts"):
                client.v1.customers.create(options={"api_key": f"{sandbox.DEFAULT_KEY}_c"})
            assert client.v1.customers.list(options={"api_key": f"{sandbox.DEFAULT_KEY}_a"}).data
        names = sorted(path.name for path in (tmp_path / "sandbox").glob("*.sqlite3"))
        assert names == ["a.sqlite3", "b.sqlite3", "default.sqlite3"]


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    with served(tmp_path_factory.mktemp("controls")) as server:
        yield server


class TestControls:
    """The faults a server injects are validated: nan, inf and out-of-range values would
    make every later request a 500 or a 429."""

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("latency_ms", "nan"),
            ("latency_ms", "inf"),
            ("latency_ms", "-inf"),
            ("latency_ms", "1e309"),
            ("latency_ms", "-1"),
            ("latency_ms", "86400001"),
            ("jitter_ms", "NaN"),
            ("jitter_ms", "Infinity"),
            ("rate_limit", "nan"),
            ("rate_limit", "inf"),
            ("rate_limit", "-5"),
            ("error_rate", "2"),
            ("error_rate", "nan"),
            ("drop_rate", "-0.5"),
            ("drop_rate", "inf"),
            ("latency_ms", "\u0661"),
            ("latency_ms", "0x10"),
            ("latency_ms", ""),
        ],
    )
    def test_bad_fault_values_are_refused(self, own_server, field, value):
        url = f"http://127.0.0.1:{own_server.server_address[1]}"
        auth = {"Authorization": f"Bearer {sandbox.DEFAULT_KEY}"}
        before = requests.get(f"{url}/_sandbox/faults", headers=auth, timeout=10).json()
        answer = requests.post(
            f"{url}/_sandbox/faults", data={field: value}, headers=auth, timeout=10
        )
        assert answer.status_code == 400, answer.text[:300]
        assert answer.json()["error"]["param"] == field
        assert requests.get(f"{url}/_sandbox/faults", headers=auth, timeout=10).json() == before
        assert requests.get(f"{url}/v1/balance", headers=auth, timeout=10).status_code == 200


class TestClockBounds:
    """Stripe's test clocks move at most two years per advance; so does the sandbox's clock,
    and a refused move leaves the account as it was, unlocked."""

    TWO_YEARS = 2 * 365 * 86400

    @pytest.mark.parametrize(
        ("path", "field", "value"),
        [
            ("/_sandbox/clock/advance", "days", "999999999999"),
            ("/_sandbox/clock/advance", "days", "731"),
            ("/_sandbox/clock/advance", "seconds", "999999999999999999"),
            ("/_sandbox/clock/advance", "to", "999999999999999999"),
            ("/_sandbox/clock/freeze", "at", "999999999999999999"),
            ("/_sandbox/clock/freeze", "at", "-999999999999999999"),
        ],
    )
    def test_too_far_is_a_400_and_the_account_stays_usable(self, raw, path, field, value):
        before = raw("GET", "/_sandbox/clock").json()
        answer = raw("POST", path, {field: value})
        assert answer.status_code == 400, answer.text[:300]
        assert answer.json()["error"]["param"] == field
        after = raw("GET", "/_sandbox/clock").json()
        assert after["offset"] == before["offset"] and after["frozen"] == before["frozen"]
        assert raw("POST", "/v1/customers", {"email": "after@example.com"}).status_code == 200

    def test_days_and_seconds_together_are_bounded(self, raw):
        answer = raw("POST", "/_sandbox/clock/advance", {"days": "730", "seconds": "86400"})
        assert answer.status_code == 400, answer.text[:300]

    def test_two_years_at_once_is_allowed(self, raw):
        now = raw("GET", "/_sandbox/clock").json()["now"]
        answer = raw("POST", "/_sandbox/clock/advance", {"seconds": str(self.TWO_YEARS)})
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json()["now"] >= now + self.TWO_YEARS
        frozen = raw("POST", "/_sandbox/clock/freeze", {"at": str(answer.json()["now"] + 60)})
        assert frozen.status_code == 200 and frozen.json()["frozen"] is True
