"""`workbench listen` and the demo shop without a browser: signatures (valid, forged, stale,
replayed), each event stored once however often it comes, the listener and the sync ending
with the same store (equal to the API), the events the listener stored equal to those the
sync fetches, the command as users run it, and the shop's orders reconciling."""

from __future__ import annotations

import html
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
import stripe

import workbench
from tests.store_vs_api import api_listing, assert_same, delivery_state, stored
from workbench import config, imports, webhooks
from workbench.analyses import orders as order_analysis
from workbench.listen import Listener, listening
from workbench.local_http import Server
from workbench.shop import running

SECRET = "whsec_" + "5ecret" * 6  # the tests' own endpoint secret
# The object types Stripe sends events for, which the listener keeps current.
EVENTED = ("charges", "customers", "cards", "payment_intents", "refunds", "disputes", "payouts")
CARD = {"email": "ada@example.com", "number": "4242 4242 4242 4242", "exp": "12 / 34", "cvc": "123"}


def account_name(account_key: str) -> str:
    return account_key.rsplit("sk_test_workbench_", 1)[1]


def environment(sandbox_server, account_key, data_dir, **more) -> dict:
    """A sandbox account of the shared server, as the workbench's settings name it."""
    return {
        "STRIPE_API_BASE": sandbox_server.url,
        "WORKBENCH_SANDBOX_ACCOUNTS": account_name(account_key),
        "WORKBENCH_DATA_DIR": str(data_dir),
        "WORKBENCH_ENV_FILE": os.devnull,
        **more,
    }


@pytest.fixture
def wb(sandbox_server, account_key, tmp_path):
    settings = config.load(environment(sandbox_server, account_key, tmp_path / "data"))
    return workbench.connect(account_name(account_key), settings, seed=False)


class Lines(list):
    """What a listener printed; `wait_for` a line holding a fragment."""

    def __init__(self):
        super().__init__()
        self._changed = threading.Condition()

    def __call__(self, line: str) -> None:
        with self._changed:
            self.append(line)
            self._changed.notify_all()

    def wait_for(self, fragment: str, timeout: float = 30) -> str:
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((line for line in self if fragment in line), None), timeout
            )
        assert found, f"no line with {fragment!r} in {list(self)}"
        return found


def wait_until(condition, what: str, timeout: float = 60) -> None:
    """Poll a condition (what the server does in its own threads) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def receiver(wb):
    """A Listener that verifies with the tests' own secret, behind its own server."""
    lines = Lines()
    listener = Listener(wb, SECRET, out=lines)
    server = Server(listener.app, 0).start()
    yield listener, f"{server.url}/webhooks", lines
    server.stop()
    listener.close()


def deliver(url: str, payload: str, *, secret: str = SECRET, at: int | None = None, header=None):
    """POST one delivery as Stripe would: the body, signed at `at` (default now)."""
    header = header or webhooks.sign(payload, secret, at)
    return requests.post(
        url,
        data=payload.encode(),
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        timeout=30,
    )


def api_events(wb) -> list[dict]:
    """Every event the API lists, oldest first (the API's order reversed: events made in
    one second keep the order they were made in), as JSON."""
    found = api_listing(wb.api_base, wb.account_config.key.reveal())["events"]
    return list(found.values())[::-1]


def stored_events(wb) -> dict[str, dict]:
    return stored(wb)["events"]


class TestSignatures:
    def test_valid_forged_stale_replayed(self, wb, receiver):
        listener, url, lines = receiver
        wb.client.v1.customers.create(params={"email": "a@example.com"})
        event = api_events(wb)[-1]
        payload = json.dumps(event)
        now = int(time.time())

        valid = deliver(url, payload, at=now)
        assert (valid.status_code, valid.text) == (200, "received\n")
        forged = deliver(url, payload, secret="whsec_" + "0ther" * 6)
        tampered = deliver(
            url,
            payload.replace("a@example.com", "b@example.com"),
            header=valid.request.headers["Stripe-Signature"],
        )
        stale = deliver(url, payload, at=now - 301)
        header = valid.request.headers["Stripe-Signature"]
        replayed = deliver(url, payload, header=header)
        moment, signature = header.split(",")
        reshaped = [  # the captured signature in a header written otherwise
            deliver(url, payload, header=f"{signature},{moment}"),
            deliver(url, payload, header=f"t=0{moment[2:]},{signature}"),
            deliver(url, payload, header=f"{header},v1={'0' * 64},v0={'1' * 64}"),
        ]
        for answer in (forged, tampered, stale, replayed, *reshaped):
            assert answer.status_code == 400 and answer.text.startswith("rejected: ")
        for answer in (replayed, *reshaped):
            assert "replayed" in answer.text
        assert "Timestamp outside the tolerance zone" in stale.text
        rejected = [line for line in lines if "x-- rejected" in line]
        assert len(rejected) == 7
        assert SECRET not in "".join(lines)

        listener.wait(1)
        assert list(stored_events(wb)) == [event["id"]]
        assert stored_events(wb)[event["id"]] == event

    @pytest.mark.parametrize(
        ("body", "why"),
        [
            ("hello", "not a JSON event"),
            ('{"object": "customer", "id": "cus_1"}', "not an event"),
            ('{"object": "event", "id": "evt_1", "type": "x", "data": {}}', "not an event"),
        ],
    )
    def test_signed_bodies_that_are_not_events(self, receiver, body, why):
        _, url, _ = receiver
        answer = deliver(url, body)
        assert answer.status_code == 400 and why in answer.text

    def test_bad_requests_are_4xx(self, wb, receiver):
        listener, url, _ = receiver
        wb.client.v1.customers.create(params={"email": "a@example.com"})
        live = {**api_events(wb)[-1], "livemode": True}
        answers = [
            requests.post(url, data=b"{}", timeout=30),  # no signature
            requests.post(url, data=b"{}", headers={"Stripe-Signature": "t=x,v1=y"}, timeout=30),
            requests.post(url, data=b"{}", headers={"Stripe-Signature": "x" * 3000}, timeout=30),
            requests.post(url, data=b"x", headers={"Content-Length": "99999999999"}, timeout=30),
            requests.get(url, timeout=30),
            requests.put(url, timeout=30),
            deliver(url, json.dumps(live)),
        ]
        assert [a.status_code for a in answers] == [400, 400, 400, 400, 405, 405, 400]
        assert all("Traceback" not in a.text for a in answers)
        assert listener.applied == 0


def test_each_event_is_stored_once_however_often_it_comes(wb, receiver):
    """Stripe retries an event (signed anew each time) until it is acknowledged: every
    delivery is answered 200, the event is stored and applied once."""
    listener, url, lines = receiver
    wb.client.v1.charges.create(params={"amount": 1500, "currency": "usd", "source": "tok_visa"})
    event = next(e for e in api_events(wb) if e["type"] == "charge.succeeded")
    payload = json.dumps(event)
    now = int(time.time())
    with wb.store.sync_lock(wb.partition()):  # the worker waits: the retry finds it queued
        first = deliver(url, payload, at=now)
        retry = deliver(url, payload, at=now - 1)
    assert (first.text, retry.text) == ("received\n", "already received\n")
    listener.wait(1)
    later = deliver(url, payload, at=now - 2)  # a retry after it was applied
    assert later.status_code == 200
    listener.wait(2)
    rows = wb.store.conn.execute("SELECT COUNT(*) FROM events WHERE id = ?", (event["id"],))
    assert rows.fetchone()[0] == 1
    mine = [line for line in lines if event["id"] in line]
    assert len(mine) == 3
    assert "stored, 1 object read again" in mine[1] and "already stored" in mine[2]
    assert "retried: already queued" in mine[0]
    charge = stored(wb)["charges"][event["data"]["object"]["id"]]
    assert (
        charge == api_listing(wb.api_base, wb.account_config.key.reveal())["charges"][charge["id"]]
    )


def partly_captured(c, authorized: int, captured: int, currency: str):
    """A PaymentIntent authorized for one amount and captured for less."""
    intent = c.payment_intents.create(
        params={
            "amount": authorized,
            "currency": currency,
            "payment_method": "pm_card_visa",
            "capture_method": "manual",
            "confirm": True,
        }
    )
    return c.payment_intents.capture(intent.id, params={"amount_to_capture": captured})


def test_events_out_of_order_never_write_an_older_object(wb, receiver, sandbox_server, account_key):
    """The newest event first and the oldest last, and a change no event tells of: the
    store holds the objects as the API has them now, not as the last event showed them."""
    listener, url, _ = receiver
    c = wb.client.v1
    intent = partly_captured(c, 5000, 3000, "usd")
    c.payment_intents.update(intent.id, params={"metadata": {"order_id": "late"}})  # no event
    events = api_events(wb)
    for event in reversed(events):
        assert deliver(url, json.dumps(event)).status_code == 200
    listener.wait(len(events))
    api = api_listing(sandbox_server.url, account_key)
    store = stored(wb)
    assert store["payment_intents"][intent.id] == api["payment_intents"][intent.id]
    assert store["payment_intents"][intent.id]["metadata"] == {"order_id": "late"}
    oldest = events[0]["data"]["object"]
    assert oldest["id"] == intent.id and oldest["status"] != "succeeded"
    for name in ("charges", "refunds"):
        assert store[name] == api[name], name


def changes(c, raw, customer_id: str, charge_id: str) -> None:
    """A spread of what Stripe sends events for, made through the API and the hosted page."""
    c.customers.update(customer_id, params={"metadata": {"tier": "gold"}})
    c.customers.payment_sources.create(customer_id, params={"source": "tok_mastercard"})
    with pytest.raises(stripe.CardError):
        c.charges.create(params={"amount": 900, "currency": "usd", "source": "tok_chargeDeclined"})
    partly_captured(c, 8000, 6000, "eur")
    c.refunds.create(params={"charge": charge_id, "amount": 500})
    c.charges.create(params={"amount": 4200, "currency": "usd", "source": "tok_createDispute"})
    session = c.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "jpy",
                        "unit_amount": 1800,
                        "product_data": {"name": "Tea"},
                    },
                    "quantity": 2,
                }
            ],
            "success_url": "https://shop.example/ok",
        }
    )
    declined = requests.post(session.url, data={**CARD, "number": "4000000000000002"}, timeout=30)
    assert declined.status_code == 402
    paid = requests.post(session.url, data=CARD, allow_redirects=False, timeout=30)
    assert paid.status_code == 303
    gone = c.customers.create(params={"email": "gone@example.com", "source": "tok_visa"})
    c.customers.delete(gone.id)
    raw("POST", "/_sandbox/clock/advance", {"days": "6"})  # funds available, payouts paid


def test_listener_and_sync_agree(wb, raw, sandbox_server, account_key):
    """A synced account changes while the listener runs: with only the listener's help the
    store equals the API for every object Stripe sends events for, and the events it stored
    are those the API lists; a sync afterwards finds the whole store equal to the API and
    changes none of what the listener wrote (the events only in their delivery count)."""
    c = wb.client.v1
    customer = c.customers.create(params={"email": "ada@example.com", "source": "tok_visa"})
    charge = c.charges.create(params={"amount": 2000, "currency": "usd", "customer": customer.id})
    wb.sync(progress=False)
    lines = Lines()
    with listening(wb, out=lines) as (listener, _):
        changes(c, raw, customer.id, charge.id)
        wanted = {event["id"] for event in api_events(wb)}
        wait_until(lambda: wanted <= set(stored_events(wb)), "every event to be stored")
        listener.wait(len([line for line in lines if "-->" in line]))
        listened = stored(wb)
    api = api_listing(sandbox_server.url, account_key)
    assert_same({name: api[name] for name in EVENTED}, listened)
    kinds = {event["type"] for event in api["events"].values()}
    assert {"checkout.session.completed", "customer.deleted", "payout.paid"} <= kinds, kinds
    assert {"charge.dispute.created", "charge.refunded", "customer.source.created"} <= kinds
    assert set(listened["events"]) == set(api["events"])

    wb.sync(progress=False)
    synced = stored(wb)
    assert_same(api_listing(sandbox_server.url, account_key), synced)
    for name in EVENTED:
        assert synced[name] == listened[name], name
    for event_id, event in listened["events"].items():
        assert delivery_state(event) == delivery_state(synced["events"][event_id])
    assert c.webhook_endpoints.list().data == []  # removed when the listener stopped


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TestCommand:
    @staticmethod
    def spawn(environ: dict, *args: str):
        """`workbench ARGS` as a process with only `environ`'s STRIPE_/WORKBENCH_ variables,
        and a queue of its output lines."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "WORKBENCH_"))}
        process = subprocess.Popen(
            [sys.executable, "-m", "workbench.cli", *args],
            env={**clean, **environ},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()

        def read() -> None:
            try:
                for line in process.stdout:
                    lines.put(line)
            except ValueError:  # communicate() closed the pipe: what is left is in its answer
                pass

        threading.Thread(target=read, daemon=True).start()
        return process, lines

    def start(self, sandbox_server, account_key, tmp_path, *args, **env):
        return self.spawn(
            environment(sandbox_server, account_key, tmp_path / "data", **env),
            *("listen", "--account", account_name(account_key), "--port", "0", *args),
        )

    @staticmethod
    def next_line(lines: queue.Queue, fragment: str, seen: list[str]) -> str:
        while True:
            line = lines.get(timeout=60)
            seen.append(line)
            if fragment in line:
                return line

    def test_listen_registers_prints_and_cleans_up(
        self, sandbox_server, account_key, tmp_path, client
    ):
        process, lines = self.start(sandbox_server, account_key, tmp_path)
        seen: list[str] = []
        try:
            ready = self.next_line(lines, "listening on", seen)
            endpoint = re.search(r"endpoint (we_\w+)", ready)[1]
            assert [e.id for e in client.v1.webhook_endpoints.list().data] == [endpoint]
            charge = client.v1.charges.create(
                params={"amount": 1000, "currency": "usd", "source": "tok_visa"}
            )
            line = self.next_line(lines, "charge.succeeded", seen)
            assert "stored, 1 object read again" in line
            store = sandbox_server.api.store(account_name(account_key))
            secret = store.private(endpoint)["secret"]
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        seen += out.splitlines(keepends=True)
        assert process.returncode == 0, err
        assert client.v1.webhook_endpoints.list().data == []
        assert secret.startswith("whsec_") and secret not in "".join(seen) + err
        assert f"secret whsec_...{secret[-4:]}" in ready
        assert "Traceback" not in err and charge.id

    def test_forward_to_signs_with_the_configured_secret(
        self, sandbox_server, account_key, tmp_path, client
    ):
        target = webhooks.Receiver()
        target.trust(SECRET)
        process, lines = self.start(
            sandbox_server,
            account_key,
            tmp_path,
            "--forward-to",
            target.url,
            STRIPE_WEBHOOK_SECRET=SECRET,
        )
        seen: list[str] = []
        try:
            self.next_line(lines, "forwarding to", seen)
            client.v1.customers.create(params={"email": "f@example.com"})
            self.next_line(lines, f"<-- [200] POST {target.url}", seen)
            assert target.wait(1) == 1
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=60)
            target.close()
        delivered = target.events()
        assert delivered["verified"].tolist() == [True]
        assert delivered["type"].tolist() == ["customer.created"]
        assert SECRET not in "".join(seen)

    def test_forwarding_needs_a_secret_to_sign_with(self, sandbox_server, account_key, tmp_path):
        process, _ = self.start(
            sandbox_server, account_key, tmp_path, "--forward-to", "http://127.0.0.1:9/x"
        )
        out, err = process.communicate(timeout=60)
        assert process.returncode == 1 and out == ""
        assert (
            err.startswith("workbench: error: set STRIPE_WEBHOOK_SECRET") and err.count("\n") == 1
        )

    def test_with_stripe_it_verifies_with_the_secret_in_dotenv(
        self, sandbox_server, account_key, tmp_path, client
    ):
        """A test key (the sandbox's, standing in for Stripe: the profile is `test`), an
        endpoint made beforehand (as in the Dashboard, or by `stripe listen`) and its secret
        in .env: the listener registers nothing, verifies with that secret, leaves the
        endpoint alone, and refuses what another secret signed."""
        port = free_port()
        url = f"http://127.0.0.1:{port}/webhooks"
        endpoint = client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": ["*"]})
        dotenv = tmp_path / ".env"
        dotenv.write_text(
            f"STRIPE_API_KEY={account_key}\nSTRIPE_API_BASE={sandbox_server.url}\n"
            f"STRIPE_WEBHOOK_SECRET={endpoint.secret}\n"
        )
        process, lines = self.spawn(
            {"WORKBENCH_ENV_FILE": str(dotenv), "WORKBENCH_DATA_DIR": str(tmp_path / "data")},
            *("listen", "--port", str(port)),
        )
        seen: list[str] = []
        try:
            ready = self.next_line(lines, "listening on", seen)
            assert f"{url} for 'default' (Stripe; secret whsec_...{endpoint.secret[-4:]})" in ready
            charge = client.v1.charges.create(
                params={"amount": 700, "currency": "usd", "source": "tok_visa"}
            )
            line = self.next_line(lines, "charge.succeeded", seen)
            assert charge.id and "stored, 1 object read again" in line
            forged = deliver(url, json.dumps({"object": "event"}), secret=SECRET)
            assert forged.status_code == 400
            self.next_line(lines, "x-- rejected", seen)
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert [e.id for e in client.v1.webhook_endpoints.list().data] == [endpoint.id]
        assert endpoint.secret not in "".join(seen) + out + err
        settings = config.load(
            {"WORKBENCH_ENV_FILE": str(dotenv), "WORKBENCH_DATA_DIR": str(tmp_path / "data")}
        )
        wb = workbench.connect(settings=settings, seed=False)
        assert wb.profile == "test"
        api = api_listing(sandbox_server.url, account_key)
        assert stored(wb)["charges"] == api["charges"]

    def test_demo_shop_over_https_as_users_run_it(
        self, sandbox_server, account_key, tmp_path, client
    ):
        """`workbench demo-shop --https`: served with the certificate it made (trusted for
        127.0.0.1 when told to), its receiver registered while it runs, gone after."""
        data = tmp_path / "data"
        process, lines = self.spawn(
            environment(sandbox_server, account_key, data),
            *("demo-shop", "--account", account_name(account_key), "--port", "0", "--https"),
        )
        seen: list[str] = []
        try:
            ready = self.next_line(lines, "demo shop on", seen)
            url = re.search(r"demo shop on (https://127\.0\.0\.1:\d+)", ready)[1]
            certificate = data / "demo-shop-tls" / "certificate.pem"
            home = requests.get(url, verify=str(certificate), timeout=30)
            assert home.status_code == 200 and "12.50 USD" in home.text
            assert len(client.v1.webhook_endpoints.list().data) == 1
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert "Traceback" not in out + err
        assert client.v1.webhook_endpoints.list().data == []

    @pytest.mark.parametrize(
        ("secret", "message"),
        [
            (None, "workbench: error: set STRIPE_WEBHOOK_SECRET (in .env or the environment)"),
            ("whsec_not a secret", "STRIPE_WEBHOOK_SECRET is not a webhook signing secret"),
        ],
    )
    def test_with_stripe_the_secret_comes_from_the_environment(self, tmp_path, secret, message):
        environ = {
            k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "WORKBENCH_"))
        }
        environ.update(
            {
                "STRIPE_API_KEY": "sk_test_" + "k3y" * 8,
                "STRIPE_API_BASE": "http://127.0.0.1:9",
                "WORKBENCH_DATA_DIR": str(tmp_path),
                "WORKBENCH_ENV_FILE": os.devnull,
                **({"STRIPE_WEBHOOK_SECRET": secret} if secret else {}),
            }
        )
        result = subprocess.run(
            [sys.executable, "-m", "workbench.cli", "listen", "--port", "0"],
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1 and result.stderr.count("\n") == 1
        assert message in result.stderr
        assert "not a secret" not in result.stderr


def paid_page(url: str) -> str:
    """The shop's success page, once the webhook has marked the order paid."""
    found = {}

    def shows_paid() -> bool:
        found["page"] = requests.get(url, timeout=30).text
        return 'id="status">paid<' in found["page"]

    wait_until(shows_paid, f"{url} to say paid")
    return found["page"]


def legacy_token(shop, sku: str, number: str, order: str | None = None) -> tuple[str, dict]:
    """The legacy flow up to the merchant's form post: (its action, its fields)."""
    start = requests.post(
        f"{shop.url}/legacy/start",
        data={"order": order} if order else {"sku": sku},
        allow_redirects=False,
        timeout=30,
    )
    form_url = start.headers["Location"]
    assert requests.get(form_url, timeout=30).status_code == 200
    posted = requests.post(form_url, data={**CARD, "number": number}, timeout=30)
    action = html.unescape(re.search(r'id="handoff" action="([^"]+)"', posted.text)[1])
    return action, dict(re.findall(r'name="(stripe\w+)" value="([^"]*)"', posted.text))


def test_the_shops_orders_reconcile(wb):
    """Orders paid through Checkout (one after a decline) and the legacy flow (one after a
    decline; a token used again refused), one canceled: every paid order is in the orders
    file once, with one captured charge, and the reconciliation finds no discrepancy."""
    lines = Lines()
    with running(wb, out=lines) as shop:
        paid = []
        for sku, first_card in (("mug", "4000000000000002"), ("tea", None)):
            checkout = requests.post(
                f"{shop.url}/checkout", data={"sku": sku}, allow_redirects=False, timeout=30
            )
            page = checkout.headers["Location"]
            if first_card:
                assert (
                    requests.post(page, data={**CARD, "number": first_card}, timeout=30).status_code
                    == 402
                )
            back = requests.post(page, data=CARD, allow_redirects=False, timeout=30).headers[
                "Location"
            ]
            order = re.search(r'id="order">(WEB-\w+)<', paid_page(back))[1]
            paid.append(order)
        left = requests.post(
            f"{shop.url}/checkout", data={"sku": "poster"}, allow_redirects=False, timeout=30
        )
        cancel_url = re.search(
            r'id="cancel" href="([^"]+)"', requests.get(left.headers["Location"], timeout=30).text
        )[1]
        canceled = requests.get(html.unescape(cancel_url), timeout=30)
        assert "not paid" in canceled.text
        left_order = re.search(r'id="order">(WEB-\w+)<', canceled.text)[1]

        action, fields = legacy_token(shop, "poster", "4000000000000002")
        declined = requests.post(action, data=fields, timeout=30)
        assert declined.status_code == 402 and "Your card was declined." in declined.text
        order = re.search(r"order=(WEB-\w+)", action)[1]
        action, fields = legacy_token(shop, "poster", "4242424242424242", order=order)
        done = requests.post(action, data=fields, timeout=30)
        assert done.status_code == 200 and 'id="status">paid<' in done.text
        paid.append(order)
        other, _ = legacy_token(shop, "mug", "4242424242424242")
        reused = requests.post(other, data=fields, timeout=30)
        assert reused.status_code == 400
        assert "You cannot use a Stripe token more than once" in reused.text
        wait_until(lambda: len(shop.orders.path.read_text().splitlines()) == 4, "three orders")
    rows = shop.orders.path.read_text().splitlines()
    assert rows[0] == "order_id,created,amount,currency,status"
    assert sorted(row.split(",", 1)[0] for row in rows[1:]) == sorted(paid)
    assert sorted(",".join(row.split(",")[2:]) for row in rows[1:]) == [
        "12.50,USD,paid",
        "1500,JPY,paid",
        "18.00,EUR,paid",
    ]
    assert left_order not in "".join(rows)

    wb.sync(progress=False)
    orders = imports.read_orders(shop.orders.path)
    charges = wb.charges()
    matched = order_analysis.match(orders, charges)
    assert matched["class"].astype(str).tolist() == ["matched"] * 3
    unknown = order_analysis.unknown_orders(orders, charges)
    assert unknown.empty
    assert order_analysis.discrepancies(matched, unknown).empty
    failed = charges[charges["status"] == "failed"]
    assert len(failed) == 2  # the two declines, kept by Stripe, are not payments


def test_the_success_page_says_paid_only_after_the_webhook(wb):
    """The customer is back from Checkout and the API has the session paid, and the webhook
    has been acknowledged but not applied (the receiver's worker waits for the sync lock
    held here): the page says waiting and the order is not in the orders file. Once the
    webhook is applied the page says paid."""
    with running(wb, out=Lines()) as shop:
        checkout = requests.post(
            f"{shop.url}/checkout", data={"sku": "mug"}, allow_redirects=False, timeout=30
        )
        with wb.store.sync_lock(wb.partition()):
            paid = requests.post(
                checkout.headers["Location"], data=CARD, allow_redirects=False, timeout=30
            )
            back = paid.headers["Location"]
            session_id = back.split("session_id=", 1)[1]
            assert wb.client.v1.checkout.sessions.retrieve(session_id).payment_status == "paid"

            def acknowledged() -> bool:
                completed = wb.client.v1.events.list(
                    params={"type": "checkout.session.completed"}
                ).data
                return bool(completed) and completed[0].pending_webhooks == 0

            wait_until(acknowledged, "the shop to acknowledge checkout.session.completed")
            waiting = requests.get(back, timeout=30).text
            assert 'id="status">waiting for the payment to be confirmed<' in waiting
            order = re.search(r'id="order">(WEB-\w+)<', waiting)[1]
            assert shop.orders.status(order) is None
        assert re.search(r'id="order">(WEB-\w+)<', paid_page(back))[1] == order
        assert shop.orders.status(order) == "paid"


def test_the_shop_over_https_and_its_bad_requests(wb):
    with running(wb, https=True, out=Lines()) as shop:
        certificate = str(wb.settings.data_dir / "demo-shop-tls" / "certificate.pem")
        key = wb.settings.data_dir / "demo-shop-tls" / "key.pem"
        assert key.stat().st_mode & 0o777 == 0o600
        assert shop.url.startswith("https://127.0.0.1:")
        home = requests.get(shop.url, verify=certificate, timeout=30)
        assert home.status_code == 200 and "12.50 USD" in home.text
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(shop.url, timeout=30)  # self-signed: not trusted unless told
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(shop.url.replace("https", "http"), timeout=30)
        answers = [
            requests.get(f"{shop.url}/success?session_id=garbage", verify=certificate, timeout=30),
            requests.get(
                f"{shop.url}/success?session_id=cs_test_nope", verify=certificate, timeout=30
            ),
            requests.post(
                f"{shop.url}/checkout", data={"sku": "nope"}, verify=certificate, timeout=30
            ),
            requests.post(
                f"{shop.url}/legacy/charge?order=WEB-00000000", verify=certificate, timeout=30
            ),
            requests.get(f"{shop.url}/cancel?order=<script>", verify=certificate, timeout=30),
            requests.get(f"{shop.url}/nowhere", verify=certificate, timeout=30),
            requests.put(f"{shop.url}/", verify=certificate, timeout=30),
        ]
        assert [a.status_code for a in answers] == [400, 404, 400, 404, 400, 404, 405]
        assert all("Traceback" not in a.text for a in answers)
        assert requests.get(shop.url, verify=certificate, timeout=30).status_code == 200
