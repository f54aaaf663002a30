"""A bounded fuzz of the sandbox over raw HTTP: a few thousand malformed requests from a
seeded generator, built from the sandbox's own route table and mangled at every level
(request line, headers, parameter names, brackets, values, bodies). Every answer must come
(socket timeouts, no waiting on the clock), none may be a 5xx or anything but JSON, and
afterwards the server still serves and an object made before is unchanged."""

from __future__ import annotations

import json
import random
import re
import socket
from urllib.parse import quote

import pytest

from workbench import sandbox
from workbench.sandbox import urls

SEED = 20261127
REQUESTS = 2000
# Routes whose valid values change the whole server (faults) or take real time to run
# (clock moves of up to two years); their bad values have tests of their own.
SKIPPED = {("POST", "/_sandbox/faults"), ("POST", "/_sandbox/clock/advance")}
SKIPPED |= {("POST", "/_sandbox/clock/freeze")}
ROUTES = [route for route, _ in urls.ROUTES if (route.method, route.path) not in SKIPPED]
# Printable ASCII, then a spread of other code points (accents, scripts, symbols), an emoji.
ALPHABET = "".join(map(chr, [*range(32, 127), *range(0xA0, 0x2FFF, 7), 0x1F600]))
METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "TRACE", "get", "X"]
WORDS = [
    "",
    "0",
    "-1",
    "1" * 25,
    "99999999999999999999",
    "1e309",
    "nan",
    "inf",
    "\u0661\u0662",
    "\u00b2",
    "true",
    "null",
    "tok_visa",
    "tok_chargeDeclined",
    "pm_card_visa",
    "usd",
    "jpy",
    "'",
    '"',
    "\\",
    "\\" * 41,
    "a' OR '1'='1",
    'x" || char(34)) --',
    "%",
    "%00",
    "\x00",
    "\r\n",
    "\u2028",
    "\U0001f600",
    "<script>",
    "../../etc/passwd",
    "x" * 6000,
    "[",
    "]",
    "[]",
    "{}",
    "a.b.c.d.e.f",
    "data.customer",
    "metadata['k']:'v'",
    "amount>99999999999999999999",
    "status:'succeeded' AND amount>1 OR currency:'usd'",
    'metadata["' + "\\" * 40,
]


def _value(rng: random.Random, known: list[str]) -> str:
    roll = rng.random()
    if roll < 0.15 and known:
        return rng.choice(known)
    if roll < 0.55:
        return rng.choice(WORDS)
    if roll < 0.75:
        return str(rng.choice([rng.randint(-(10**6), 10**6), rng.randint(0, 10**30)]))
    return "".join(rng.choices(ALPHABET, k=rng.randint(1, 30)))


def _name(rng: random.Random, declared: list[str]) -> str:
    base = rng.choice(declared) if declared and rng.random() < 0.7 else rng.choice(WORDS) or "x"
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 9])):
        index = rng.choice(["", "0", "1", "a", "\u00b2", "9" * rng.randint(1, 5000), "[", "]"])
        base += f"[{index}]"
    return base


def _form(rng: random.Random, declared: list[str], known: list[str]) -> str:
    pairs = [
        (_name(rng, declared), _value(rng, known)) for _ in range(rng.choice([0, 1, 2, 3, 5, 60]))
    ]
    if rng.random() < 0.1:
        return "&".join(f"{n}={v}" for n, v in pairs)  # not percent-encoded at all
    return "&".join(f"{quote(n, safe='[]')}={quote(v, safe='')}" for n, v in pairs)


def _path(rng: random.Random, route: urls.Route, known: list[str]) -> str:
    def argument(_match: re.Match) -> str:
        return quote(_value(rng, known), safe="") or "x"

    path = re.sub(r"\{\w+\}", argument, route.path)
    if rng.random() < 0.05:
        path += rng.choice(["/", "//", "/extra", "%2F..", "?", "#frag"])
    return path


def _request(rng: random.Random, port: int, keys: list[str], known: list[str]) -> bytes:
    """One request, valid in shape or mangled at any level."""
    route = rng.choice(ROUTES)
    method = route.method if rng.random() < 0.8 else rng.choice(METHODS)
    declared = [*route.params, "expand"]
    path = _path(rng, route, known)
    query = _form(rng, declared, known) if rng.random() < 0.5 else ""
    body = _form(rng, declared, known).encode("utf-8", "surrogatepass")
    if rng.random() < 0.05:
        body = bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
    headers = {
        "Host": f"127.0.0.1:{port}",
        "Content-Type": rng.choice(
            ["application/x-www-form-urlencoded"] * 4 + ["application/json", "text/plain", ""]
        ),
    }
    key = rng.choice(keys)
    if key is not None:
        scheme = rng.choice(["Bearer", "Bearer", "Bearer", "Basic", "bearer", "Token"])
        headers["Authorization"] = f"{scheme} {key}"
    for name, choices in (
        ("Stripe-Version", ["2024-06-20", "yesterday", "", "2026-10-28.endive\t"]),
        ("Stripe-Account", ["acct_1Nope", "", "acct_" + "x" * 300]),
        ("Idempotency-Key", ["k", "k" * 300, "\u00e9"]),
    ):
        if rng.random() < 0.1:
            headers[name] = rng.choice(choices)
    length = len(body)
    if rng.random() < 0.05:
        length = rng.choice([-1, 0, length + 10**9, "x", ""])
    headers["Content-Length"] = str(length)
    target = path + ("?" + query if query else "")
    version = "HTTP/1.1" if rng.random() < 0.95 else rng.choice(["HTTP/2.0", "HTTP/1.1x", ""])
    head = f"{method} {target} {version}".rstrip() + "\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    if rng.random() < 0.03:
        head += "Broken header line\r\n"
    return head.encode("utf-8", "surrogatepass") + b"\r\n" + body


def _exchange(port: int, data: bytes) -> bytes:
    """Send, say we are done, read until the server closes; a hang raises socket.timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as connection:
        try:
            connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed before reading everything
            pass
        answer = b""
        while True:
            try:
                chunk = connection.recv(1 << 16)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
    return answer


def _check(answer: bytes, sent: bytes) -> None:
    """Every answer is a JSON non-5xx. There may be several on one connection, when a
    mangled header ended the first request early and the rest read as another."""
    while answer:
        assert answer.startswith(b"HTTP/1.1 "), (sent[:300], answer[:300])
        head, _, rest = answer.partition(b"\r\n\r\n")
        status = int(head.split()[1])
        assert status < 500, (sent[:300], answer[:500])
        length = int(re.search(rb"\r\nContent-Length: (\d+)", head)[1])
        if not rest.startswith(b"{"):
            length = 0  # an answer to HEAD: the length is the body's it would have had
        body, answer = rest[:length], rest[length:]
        assert b"Traceback" not in body
        if body:
            json.loads(body)


@pytest.fixture
def fuzzed(tmp_path):
    with sandbox.start(tmp_path) as server:
        yield server


def test_thousands_of_malformed_requests(fuzzed):
    import stripe

    def client(name):
        return stripe.StripeClient(
            f"{fuzzed.api_key}_{name}",
            base_addresses={"api": fuzzed.url},
            max_network_retries=0,
        )

    kept = client("kept").v1.customers.create(
        params={"email": "kept@example.com", "source": "tok_visa", "metadata": {"k": "v"}}
    )
    before = client("kept").v1.customers.retrieve(kept.id).to_dict()
    victim = client("fuzz")
    customer = victim.v1.customers.create(params={"source": "tok_visa"})
    charge = victim.v1.charges.create(
        params={"amount": 1000, "currency": "usd", "customer": customer.id}
    )
    known = [customer.id, charge.id, customer.default_source, charge.balance_transaction]
    keys = [
        f"{fuzzed.api_key}_fuzz",
        f"{fuzzed.api_key}_fuzz",
        "rk_" + f"{fuzzed.api_key}_fuzz"[3:],
        None,
        "sk_test_nobody",
        f"{fuzzed.api_key}_fuzz\n",
        f"{fuzzed.api_key}_../escape",
    ]
    rng = random.Random(SEED)
    for _ in range(REQUESTS):
        sent = _request(rng, fuzzed.port, keys, known)
        _check(_exchange(fuzzed.port, sent), sent)

    after = client("kept").v1.customers.retrieve(kept.id).to_dict()
    assert after == before
    assert client("kept").v1.customers.list().data[0].id == kept.id
    names = sorted(path.name for path in (fuzzed.data_dir / "sandbox").iterdir())
    assert [name for name in names if name.endswith(".sqlite3")] == [
        "fuzz.sqlite3",
        "kept.sqlite3",
    ]
