"""The seeded history: deterministic to the byte, realistic, with its planted discrepancies
and the orders file they live in."""

from __future__ import annotations

import calendar
import csv
import fcntl
import json
import shutil
import time
from decimal import Decimal

import pytest
import requests
import stripe

from tests.sandbox_rates import settled
from workbench import sandbox
from workbench.sandbox import seed
from workbench.sandbox.server import Api

UNTIL = calendar.timegm((2026, 9, 1, 0, 0, 0))
PATHS = [
    "/v1/account",
    "/v1/balance",
    "/v1/charges",
    "/v1/customers",
    "/v1/payouts",
    "/v1/balance_transactions",
    "/v1/disputes",
    "/v1/events",
    "/v1/refunds",
    "/v1/payment_intents",
    "/v1/products",
    "/v1/prices",
    "/v1/subscriptions?status=all",
    "/v1/invoices",
]


def build(directory, **kwargs):
    store = Api(directory, sandbox.DEFAULT_KEY).store("default")
    truth = seed.seed(
        store,
        until=UNTIL,
        months=2,
        seed=3,
        scale=0.3,
        files=directory,
        **kwargs,
    )
    store.close()
    return truth


def answers(directory) -> list[bytes]:
    """Every page of every list, and the single objects, as the bytes the API sends."""
    found = []
    with sandbox.start(directory) as server:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {server.api_key}"
        for path in PATHS:
            params = {} if path in ("/v1/account", "/v1/balance") else {"limit": 100}
            while True:
                answer = http.get(server.url + path, params=params, timeout=30)
                assert answer.status_code == 200
                found.append(answer.content)
                body = answer.json()
                if not body.get("has_more"):
                    break
                params["starting_after"] = body["data"][-1]["id"]
    return found


@pytest.fixture(scope="module", params=[1, 2], ids=["in one part", "in two parts"])
def history(request, tmp_path_factory):
    """The history seeded in one process, and split across two (as a large seed is)."""
    directory = tmp_path_factory.mktemp("seeded")
    return directory, build(directory, parts=request.param)


def test_same_seed_and_date_give_identical_answers(history, tmp_path):
    directory, truth = history
    again = tmp_path / "again"
    build(again, parts=truth["parts"])
    first, second = answers(directory), answers(again)
    assert len(first) > len(PATHS)
    assert first == second
    assert (directory / "orders.csv").read_bytes() == (again / "orders.csv").read_bytes()
    assert (directory / "bank.csv").read_bytes() == (again / "bank.csv").read_bytes()


def test_a_different_seed_gives_a_different_history(history, tmp_path):
    store = Api(tmp_path, sandbox.DEFAULT_KEY).store("default")
    other = seed.seed(store, until=UNTIL, months=2, seed=4, scale=0.3)
    assert other["account"] != history[1]["account"]


def test_the_history_has_what_an_analyst_needs(history):
    directory, truth = history
    with sandbox.start(directory) as server:
        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.url})
        charges = list(client.v1.charges.list(params={"limit": 100}).auto_paging_iter())
        assert len(charges) == truth["objects"]["charge"]
        subscribers = set(truth["subscriptions"]["subscribers"])
        billed = [c for c in charges if c.customer in subscribers]
        assert billed and all(c.description.startswith("Subscription") for c in billed)
        charges = [c for c in charges if c.customer not in subscribers]
        assert {c.status for c in charges} == {"succeeded", "failed"}
        assert {c.currency for c in charges} == {"usd", "eur", "jpy"}
        assert all(c.metadata["order_id"] for c in charges)
        declines = {c.outcome.reason for c in charges if c.status == "failed"}
        assert {"generic_decline", "insufficient_funds"} <= declines
        assert any(c.amount_captured < c.amount and c.captured for c in charges)
        assert any(c.refunded and not c.captured for c in charges), "an expired authorization"
        assert any(c.amount_refunded and not c.refunded and c.captured for c in charges)
        statuses = {d.status for d in client.v1.disputes.list(params={"limit": 100}).data}
        assert statuses >= {"won", "lost", "needs_response"} or statuses >= {"won", "lost"}
        payouts = list(client.v1.payouts.list(params={"limit": 100}).auto_paging_iter())
        assert [p.status for p in payouts].count("failed") == 1
        customers = list(client.v1.customers.list(params={"limit": 100}).auto_paging_iter())
        assert any(c.default_source is None for c in customers)
        account = client.v1.accounts.retrieve_current()
        assert account.id == truth["account"]
        assert client.v1.balance.retrieve().livemode is False


def month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def test_expiring_cards_and_open_authorizations_are_what_the_api_shows(history):
    """The truth's lists, found again by an analyst's own listing through the client: saved
    cards that expire within two months of the end (the month of UNTIL and the next one:
    a card is good through its expiry month), and authorizations still open at the end
    (succeeded, not captured, not refunded, to be captured before a moment still ahead)."""
    directory, truth = history
    end = time.gmtime(UNTIL)
    first = month_index(end.tm_year, end.tm_mon)
    window = range(first, first + 2)
    with sandbox.start(directory) as server:
        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.url})
        now = client.v1.accounts.retrieve_current()  # the clock stands at UNTIL
        assert now.id == truth["account"]
        customers = list(client.v1.customers.list(params={"limit": 100}).auto_paging_iter())
        cards = [
            card
            for customer in customers
            for card in client.v1.customers.payment_sources.list(
                customer.id, params={"object": "card", "limit": 100}
            ).auto_paging_iter()
        ]
        charges = list(client.v1.charges.list(params={"limit": 100}).auto_paging_iter())
    expiring = {c.id for c in cards if month_index(c.exp_year, c.exp_month) in window}
    assert expiring, "cards expiring within two months"
    assert expiring == set(truth["expiring_cards"])
    open_ = [
        c
        for c in charges
        if c.status == "succeeded"
        and not c.captured
        and not c.refunded
        and c.payment_method_details.card.capture_before > UNTIL
    ]
    assert open_, "authorizations still open"
    assert {c.id for c in open_} == set(truth["open_authorizations"])


def test_what_is_due_after_the_end_falls_due_when_the_clock_moves_on(history, tmp_path):
    """Eight days on, every authorization still open at the end has expired (refunded,
    never captured), whichever part of a split seed made it: the parts hand over what is
    still due."""
    directory, truth = history
    copy = tmp_path / "copy"
    shutil.copytree(directory, copy)
    with sandbox.start(copy) as server:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {server.api_key}"
        moved = http.post(
            server.url + "/_sandbox/clock/advance", data={"seconds": 8 * 86400}, timeout=60
        )
        assert moved.status_code == 200
        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.url})
        expired = [client.v1.charges.retrieve(c) for c in truth["open_authorizations"]]
    assert expired, "authorizations open at the end"
    assert all(c.refunded and not c.captured for c in expired)


def test_partial_captures_are_booked_as_stripe_books_them(history):
    """For every partial capture in the truth: the charge shows the authorized and captured
    amounts, the released part is a Refund with a partial_capture_reversal, and the charge's
    two entries sum to the captured amount in the settlement currency."""
    directory, truth = history
    assert truth["partial_captures"], "the history has partial captures"
    with sandbox.start(directory) as server:
        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.url})
        for capture in truth["partial_captures"]:
            assert capture["released"] == capture["authorized"] - capture["captured"] > 0
            charge = client.v1.charges.retrieve(
                capture["charge"],
                params={"expand": ["balance_transaction", "refunds.data.balance_transaction"]},
            )
            assert (charge.amount, charge.amount_captured) == (
                capture["authorized"],
                capture["captured"],
            )
            released = [
                r
                for r in charge.refunds.data
                if r.balance_transaction.reporting_category == "partial_capture_reversal"
            ]
            assert [r.amount for r in released] == [capture["released"]]
            entries = charge.balance_transaction.amount + released[0].balance_transaction.amount
            assert entries == settled(capture["captured"], charge.currency)


def test_orders_file_matches_except_the_planted_discrepancies(history):
    directory, truth = history
    with (directory / "orders.csv").open(newline="") as stream:
        orders = {row["order_id"]: row for row in csv.DictReader(stream)}
    assert len(orders) == truth["orders"]
    with sandbox.start(directory) as server:
        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.url})
        charges = list(client.v1.charges.list(params={"limit": 100}).auto_paging_iter())
    paid: dict[str, list] = {}
    for charge in charges:
        if charge.status == "succeeded" and charge.captured and "order_id" in charge.metadata:
            paid.setdefault(charge.metadata["order_id"], []).append(charge)
    exponent = {"USD": 2, "EUR": 2, "JPY": 0}
    found = {kind: set() for kind in seed.PLANTED}
    for order_id, row in orders.items():
        amount = int(Decimal(row["amount"]).scaleb(exponent[row["currency"]]))
        made = paid.get(order_id, [])
        if row["status"] == "paid" and not made:
            found["missing_payment"].add(order_id)
        if len(made) > 1:
            found["duplicate_payment"].add(order_id)
        if made and made[0].amount_captured != amount and len(made) == 1:
            found["amount_mismatch"].add(order_id)
        if row["status"] == "paid" and made and all(c.refunded for c in made):
            found["refunded_order"].add(order_id)
    found["unknown_order"] = {order_id for order_id in paid if order_id not in orders}
    for kind in seed.PLANTED:
        assert found[kind] == set(truth["planted"][kind]), kind
        assert truth["planted"][kind], f"nothing planted for {kind}"


def test_the_seed_sets_the_account_timezone(tmp_path):
    """`workbench sandbox seed --timezone` (and seed.seed(timezone=...)): the account's
    dashboard timezone, as GET /v1/account shows it, and recorded in the truth."""
    from workbench.cli import main

    assert (
        main(
            [
                "sandbox",
                "seed",
                "--data-dir",
                str(tmp_path),
                "--months",
                "1",
                "--scale",
                "0.05",
                "--until",
                "2026-09-01",
                "--timezone",
                "Pacific/Auckland",
            ]
        )
        == 0
    )
    truth = json.loads((tmp_path / "sandbox" / "default.truth.json").read_text())
    assert truth["timezone"] == "Pacific/Auckland"
    with sandbox.start(tmp_path) as server:
        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.url})
        account = client.v1.accounts.retrieve_current()
    assert account.settings.dashboard.timezone == "Pacific/Auckland"
    assert account.id == truth["account"]


def test_a_seed_cut_short_is_seeded_again_on_next_use(tmp_path, monkeypatch):
    """A seed interrupted half-way (Ctrl-C during a notebook's first start) leaves the weeks
    it committed: the next start seeds the account again rather than take them for its
    history, and a whole history is left alone."""
    store = Api(tmp_path, sandbox.DEFAULT_KEY).store("default")
    run_day, days = seed.Seeder.run_day, []

    def cut_short(seeder, day, billing_rng):
        days.append(day)
        if len(days) == 3 * seed.COMMIT_DAYS:  # two weeks committed, the third under way
            raise KeyboardInterrupt
        run_day(seeder, day, billing_rng)

    monkeypatch.setattr(seed.Seeder, "run_day", cut_short)
    with pytest.raises(KeyboardInterrupt):
        seed.seed(store, until=UNTIL, months=2, seed=3, scale=0.3, files=tmp_path)
    monkeypatch.undo()
    left = store.conn.execute("SELECT COUNT(*) FROM objects WHERE object = 'charge'").fetchone()
    assert left[0] > 0

    truth = seed.ensure(store, tmp_path, "default")

    assert truth is not None
    with sandbox.start(tmp_path) as server:
        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.url})
        listed = client.v1.charges.list({"limit": 100}).auto_paging_iter()
        assert sum(1 for _ in listed) == truth["objects"]["charge"]
    assert seed.ensure(store, tmp_path, "default") is None


def test_the_command_line_seed_holds_the_seed_lock(tmp_path, monkeypatch):
    """`workbench sandbox seed` takes the lock that `ensure` takes: a server starting during
    it waits for it to finish, instead of finding its mark and seeding a second time."""
    from workbench.cli import main

    real_seed, held = seed.seed, []

    def seed_checking_the_lock(store, **kwargs):
        with store.path.with_suffix(".seed.lock").open("w") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held.append(True)
            else:
                fcntl.flock(other, fcntl.LOCK_UN)
                held.append(False)
        return real_seed(store, **kwargs)

    monkeypatch.setattr(seed, "seed", seed_checking_the_lock)
    arguments = ["--months", "1", "--scale", "0.05", "--until", "2026-09-01"]
    assert main(["sandbox", "seed", "--data-dir", str(tmp_path), *arguments]) == 0
    assert held == [True]


def test_a_split_seed_whose_second_part_dies_fails_whole(tmp_path, monkeypatch):
    """If the second process dies (killed, out of memory), the seed stops with an error that
    says so, keeps the mark that has the account seeded again, and leaves no files behind;
    and a seed starting clears the files a killed seed left."""
    store = Api(tmp_path, sandbox.DEFAULT_KEY).store("default")
    left = store.path.parent / ".default.seed-left"
    left.mkdir()
    (left / "part.sqlite3").write_bytes(b"from a seed that was killed")
    start = seed.SecondPart.__init__

    def start_then_kill(self, seeder):
        start(self, seeder)
        assert not left.exists()
        self.process.kill()

    monkeypatch.setattr(seed.SecondPart, "__init__", start_then_kill)
    with pytest.raises(RuntimeError, match=r"second part stopped \(exit code -9\)"):
        seed.seed(store, until=UNTIL, months=2, seed=3, scale=0.3, parts=2)
    assert list(store.path.parent.glob(".default.seed-*")) == []
    with store.transaction(write=False):
        assert store.setting(seed.SEEDING) is True
