"""The notebooks' writes through the official client: against the sandbox on a real port
(what each did, read back with the client), and against a recorder (what went over the
wire: an Idempotency-Key on every POST; nothing at all for a refused live write)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import workbench
from workbench import actions, config
from workbench.exceptions import LiveWriteRefused, WorkbenchError


def session(key: str, base: str, data_dir, **extra) -> workbench.Session:
    settings = config.load(
        {"STRIPE_API_KEY": key, "STRIPE_API_BASE": base, "WORKBENCH_DATA_DIR": str(data_dir)}
        | extra
    )
    return workbench.connect(settings=settings)


@pytest.fixture
def wb(sandbox_server, account_key, tmp_path):
    return session(account_key, sandbox_server.url, tmp_path)


def test_a_test_charge_with_metadata_and_a_suffix_is_made_once_per_key(wb, client):
    def charge_order_1001():
        return actions.charge(
            wb,
            2500,
            "usd",
            "tok_visa",
            metadata={"order_id": "O-1001"},
            statement_descriptor_suffix="ORDER 1001",
            idempotency_key="test-charge-O-1001",
        )

    done = charge_order_1001()
    made = client.v1.charges.retrieve(done.id)
    assert (made.amount, made.currency, made.captured, made.status) == (
        2500,
        "usd",
        True,
        "succeeded",
    )
    assert made.metadata["order_id"] == "O-1001"
    assert made.statement_descriptor_suffix == "ORDER 1001"
    assert str(done) == (
        "Done: charge 25.00 USD on tok_visa with metadata {'order_id': 'O-1001'} and "
        f"statement descriptor suffix 'ORDER 1001' ({made.id})."
    )
    again = charge_order_1001()  # the cell run again with the same key
    assert again.id == done.id
    assert [c.id for c in client.v1.charges.list().data] == [done.id]


def test_authorize_then_capture_part_and_release_a_charge(wb, client):
    held = actions.charge(wb, 4000, "eur", "tok_mastercard", capture=False)
    assert client.v1.charges.retrieve(held.id).captured is False
    assert str(held).startswith("Done: authorize (not capture) 40.00 EUR on tok_mastercard")
    actions.capture(wb, held.id, 1500, "eur")
    made = client.v1.charges.retrieve(held.id)
    assert (made.captured, made.amount_captured, made.amount_refunded) == (True, 1500, 2500)

    other = actions.charge(wb, 900, "usd", "tok_visa", capture=False)
    released = actions.release(wb, other.id)
    made = client.v1.charges.retrieve(other.id)
    assert (made.captured, made.refunded, made.amount_refunded) == (False, True, 900)
    assert released.object.charge == other.id


def test_authorize_with_a_payment_intent_then_capture_or_cancel(wb, client):
    intent = actions.authorize_intent(wb, 5000, "usd", "pm_card_visa", metadata={"order_id": "P-1"})
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_capture"
    actions.capture(wb, intent.id)
    captured = client.v1.payment_intents.retrieve(intent.id)
    assert (captured.status, captured.amount_received) == ("succeeded", 5000)

    second = actions.authorize_intent(wb, 700, "usd")
    actions.release(wb, second.id)
    assert client.v1.payment_intents.retrieve(second.id).status == "canceled"


def test_refund_part_then_the_rest(wb, client):
    paid = actions.charge(wb, 3000, "usd")
    actions.refund(wb, paid.id, 1000, "usd", reason="requested_by_customer")
    assert client.v1.charges.retrieve(paid.id).amount_refunded == 1000
    rest = actions.refund(wb, paid.id)
    made = client.v1.charges.retrieve(paid.id)
    assert (made.amount_refunded, made.refunded) == (3000, True)
    assert rest.object.amount == 2000


def test_saved_cards_add_update_default_delete_and_charge(wb, client):
    customer = actions.create_customer(wb, "ada@example.com", "tok_visa", name="Ada").id
    first = client.v1.customers.retrieve(customer).default_source
    second = actions.add_card(wb, customer, "tok_mastercard", make_default=True)
    assert client.v1.customers.retrieve(customer).default_source == second.id
    actions.update_card(
        wb,
        customer,
        second.id,
        exp_month=4,
        exp_year=2031,
        name="Ada Lovelace",
        address={"line1": "1 Main St", "zip": "10115", "country": "DE"},
    )
    card = client.v1.customers.payment_sources.retrieve(customer, second.id)
    assert (card.exp_month, card.exp_year, card.name, card.address_zip, card.address_line1) == (
        4,
        2031,
        "Ada Lovelace",
        "10115",
        "1 Main St",
    )
    paid = actions.charge(wb, 1200, "usd", None, customer=customer)
    assert client.v1.charges.retrieve(paid.id).source.id == second.id
    actions.set_default_card(wb, customer, first)
    assert client.v1.customers.retrieve(customer).default_source == first
    deleted = actions.delete_card(wb, customer, second.id)
    assert deleted.object.deleted is True
    listed = client.v1.customers.payment_sources.list(customer).data
    assert [c.id for c in listed] == [first]


def test_with_writes_off_nothing_is_sent(wb, client):
    done = actions.charge(wb, 2500, "usd", write=False)
    assert not done.done and done.id is None
    assert str(done).startswith("Would charge 25.00 USD on tok_visa; not done: writes are off")
    assert "writes are off" in str(actions.delete_card(wb, "cus_1", "card_1", write=False))
    assert client.v1.charges.list().data == []


def test_bad_amounts_and_ids_are_one_line_errors(wb):
    with pytest.raises(WorkbenchError, match="positive whole number of minor units"):
        actions.charge(wb, 25.0, "usd")
    with pytest.raises(WorkbenchError, match="neither a charge"):
        actions.capture(wb, "cus_123")
    with pytest.raises(WorkbenchError, match="give an expiry, a name or an address"):
        actions.update_card(wb, "cus_1", "card_1")


class Recorder(BaseHTTPRequestHandler):
    """Answers every request with a minimal object and remembers method, path and the
    Idempotency-Key header."""

    seen: list

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append((self.command, self.path, self.headers.get("Idempotency-Key")))
        body = json.dumps({"id": "obj_1", "object": "charge", "deleted": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def recorder():
    seen: list = []
    handler = type("Handler", (Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def every_action(wb) -> None:
    actions.charge(wb, 100, "usd", metadata={"order_id": "O-1"}, statement_descriptor_suffix="X")
    actions.charge(wb, 100, "usd", capture=False)
    actions.authorize_intent(wb, 100, "usd")
    actions.capture(wb, "ch_1", 50)
    actions.capture(wb, "pi_1")
    actions.release(wb, "ch_1")
    actions.release(wb, "pi_1")
    actions.refund(wb, "ch_1", 10)
    actions.create_customer(wb, "a@example.com")
    actions.add_card(wb, "cus_1", "tok_visa")
    actions.update_card(wb, "cus_1", "card_1", exp_year=2030)
    actions.set_default_card(wb, "cus_1", "card_1")
    actions.charge(wb, 100, "usd", None, customer="cus_1")
    actions.delete_card(wb, "cus_1", "card_1")


def test_every_post_carries_an_idempotency_key(recorder, tmp_path):
    base, seen = recorder
    every_action(session("sk_test_recorded", base, tmp_path))
    posts = [(path, key) for method, path, key in seen if method == "POST"]
    assert len(posts) == 13
    assert all(key and key.startswith("workbench-") for _, key in posts), posts
    assert len({key for _, key in posts}) == 13  # a new key for each new write
    assert [m for m, _, _ in seen if m != "POST"] == ["DELETE"]


LIVE = "sk_live_51Hn0tAR3alKeyJustForTestsXyZ"


@pytest.mark.parametrize(
    "write",
    [
        lambda wb: actions.charge(wb, 100, "usd"),
        lambda wb: actions.capture(wb, "ch_1"),
        lambda wb: actions.refund(wb, "ch_1"),
        lambda wb: actions.add_card(wb, "cus_1", "tok_visa"),
        lambda wb: actions.delete_card(wb, "cus_1", "card_1"),
    ],
)
def test_a_live_key_is_refused_in_one_line_before_anything_is_sent(recorder, tmp_path, write):
    base, seen = recorder
    wb = session(LIVE, base, tmp_path)
    with pytest.raises(LiveWriteRefused) as caught:
        write(wb)
    message = str(caught.value)
    assert "\n" not in message and "WORKBENCH_ALLOW_LIVE_WRITES=1" in message
    assert "live account 'default'" in message and LIVE[8:] not in message
    assert seen == []


def test_with_writes_off_a_live_account_runs_and_nothing_is_sent(recorder, tmp_path):
    base, seen = recorder
    done = actions.refund(session(LIVE, base, tmp_path), "ch_1", write=False)
    assert str(done).startswith("Would refund all of ch_1; not done")
    assert seen == []


def test_live_writes_go_through_when_allowed(recorder, tmp_path):
    base, seen = recorder
    wb = session(LIVE, base, tmp_path, WORKBENCH_ALLOW_LIVE_WRITES="1")
    actions.charge(wb, 100, "usd")
    assert [(m, p) for m, p, _ in seen] == [("POST", "/v1/charges")]


def test_a_chain_of_cells_with_writes_off_reads_through(wb, client):
    """Each later action names the earlier one's object; with writes off nothing exists,
    and each says what it would do to "the ... above"."""
    customer = actions.create_customer(wb, "ada@example.com", write=False)
    card = actions.add_card(wb, customer, "tok_mastercard", write=True)  # nothing to add to
    assert not card.done and "on the customer above" in str(card)
    held = actions.charge(wb, 900, "usd", capture=False, write=False)
    assert str(actions.capture(wb, held, 400, write=True)) == (
        "Would capture 4.00 USD of the authorization above; not done: writes are off "
        "(set writes = True in the parameters cell to do it)."
    )
    assert "the card above of the customer above" in str(actions.delete_card(wb, customer, card))
    assert client.v1.customers.list().data == [] and client.v1.charges.list().data == []
