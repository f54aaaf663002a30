"""What a sync must not lose: each case a change Stripe makes that the store once missed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import stripe

from tests.store_vs_api import Interrupted, StopsAfter, api_listing, assert_same, connect, stored
from workbench.store import BY_OBJECT
from workbench.sync import CHANGED_KIND, CHANGES, Sync


@pytest.fixture
def wb(sandbox_server, account_key, tmp_path):
    return connect(sandbox_server.url, account_key, tmp_path)


def later(raw, seconds: int = 600) -> None:
    """Sandbox time moves on past the sync's lookback: what changes now is no longer listed
    again as new."""
    assert raw("POST", "/_sandbox/clock/advance", {"seconds": str(seconds)}).status_code == 200


def authorization(c):
    """A PaymentIntent authorized for 50.00 USD, to capture later."""
    return c.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "capture_method": "manual",
            "confirm": True,
        }
    )


def store_equals_api(wb, sandbox_server, account_key) -> None:
    assert_same(api_listing(sandbox_server.url, account_key), stored(wb))


def test_an_older_event_never_overwrites_a_fresher_listing(wb, sandbox_server, account_key):
    """A PaymentIntent's metadata changes with no event; its older event snapshot (from
    the authorization) must not replace what the listing fetched."""
    c = wb.client.v1
    c.customers.create(params={"email": "first@example.com"})  # events before the first sync
    wb.sync(progress=False)
    intent = authorization(c)
    c.payment_intents.update(intent.id, params={"metadata": {"order_id": "A-1"}})
    wb.sync(progress=False)
    assert stored(wb)["payment_intents"][intent.id]["metadata"] == {"order_id": "A-1"}
    store_equals_api(wb, sandbox_server, account_key)


def test_an_object_changed_after_its_last_event_is_read_again(wb, raw, sandbox_server, account_key):
    """Captured (an event), then given metadata (none): the event's snapshot is older than
    the object, which was created long before this sync's listing starts."""
    c = wb.client.v1
    intent = authorization(c)
    wb.sync(progress=False)
    later(raw)
    c.payment_intents.capture(intent.id, params={"amount_to_capture": 3000})
    c.payment_intents.update(intent.id, params={"metadata": {"order_id": "A-2"}})
    wb.sync(progress=False)
    assert stored(wb)["payment_intents"][intent.id]["metadata"] == {"order_id": "A-2"}
    store_equals_api(wb, sandbox_server, account_key)


def test_a_canceled_payout_is_stored_canceled(wb, raw, sandbox_server, account_key):
    c = wb.client.v1
    assert raw("POST", "/_sandbox/account", {"interval": "manual"}).status_code == 200
    c.charges.create(params={"amount": 10000, "currency": "usd", "source": "tok_bypassPending"})
    payout = c.payouts.create(params={"amount": 5000, "currency": "usd"})
    wb.sync(progress=False)
    later(raw)
    c.payouts.cancel(payout.id)
    wb.sync(progress=False)
    assert stored(wb)["payouts"][payout.id]["status"] == "canceled"
    store_equals_api(wb, sandbox_server, account_key)


def test_changes_are_followed_per_object_type(wb, raw, sandbox_server, account_key):
    """A sync of charges alone must not use up the customer's change for the next full one."""
    c = wb.client.v1
    customer = c.customers.create(params={"email": "old@example.com", "source": "tok_visa"})
    later(raw)
    c.customers.create(params={"email": "newer@example.com"})  # the listing starts after it
    wb.sync(progress=False)
    later(raw)
    c.customers.update(customer.id, params={"email": "new@example.com"})
    later(raw)
    c.charges.create(params={"amount": 2000, "currency": "usd", "customer": customer.id})
    wb.sync(["charges"], progress=False)
    wb.sync(progress=False)
    assert stored(wb)["customers"][customer.id]["email"] == "new@example.com"
    store_equals_api(wb, sandbox_server, account_key)


def interrupted(wb, pages: int) -> None:
    runner = StopsAfter(
        wb.client, wb.store, wb.partition(), rate=1000, threads=1, page=3, pages=pages
    )
    with pytest.raises(Interrupted):
        runner.run()


def resumed(wb, **kwargs) -> None:
    Sync(wb.client, wb.store, wb.partition(), rate=1000, threads=2, page=3).run(**kwargs)


def some_customers(wb, count: int) -> list[str]:
    return [
        wb.client.v1.customers.create(params={"email": f"c{n}@example.com"}).id
        for n in range(count)
    ]


def vanished_cursor(wb) -> str:
    """Interrupt a sync mid-way through the customers, then delete the customer its listing
    stopped at."""
    some_customers(wb, 12)
    interrupted(wb, pages=2)
    (cursor,) = wb.store.conn.execute(
        "SELECT cursor FROM slices WHERE kind = 'customers' AND cursor IS NOT NULL"
    ).fetchone()
    wb.client.v1.customers.delete(cursor)
    return cursor


def test_a_resumed_slice_survives_its_cursor_object_being_deleted(wb, sandbox_server, account_key):
    deleted = vanished_cursor(wb)
    resumed(wb)
    store_equals_api(wb, sandbox_server, account_key)
    assert deleted not in api_listing(sandbox_server.url, account_key)["customers"]


def test_full_discards_what_a_killed_run_left(wb, sandbox_server, account_key):
    vanished_cursor(wb)
    resumed(wb, full=True)
    store_equals_api(wb, sandbox_server, account_key)
    assert wb.store.conn.execute("SELECT COUNT(*) FROM slices").fetchone()[0] == 0


def test_a_resumed_run_holds_what_was_created_while_it_was_down(wb, sandbox_server, account_key):
    some_customers(wb, 12)
    interrupted(wb, pages=2)
    created_meanwhile = some_customers(wb, 3)
    resumed(wb)
    assert set(created_meanwhile) <= set(stored(wb)["customers"])
    store_equals_api(wb, sandbox_server, account_key)


def test_deleted_customers_and_cards(wb, raw, sandbox_server, account_key):
    """A deleted card leaves the store; a deleted customer stays, marked deleted, with what
    it last was, and without its cards (Stripe deletes them)."""
    c = wb.client.v1
    keeps = c.customers.create(params={"email": "keeps@example.com", "source": "tok_visa"})
    extra = c.customers.payment_sources.create(keeps.id, params={"source": "tok_mastercard"})
    leaves = c.customers.create(params={"email": "leaves@example.com", "source": "tok_amex"})
    wb.sync(progress=False)
    later(raw)
    c.customers.payment_sources.delete(keeps.id, extra.id)
    c.customers.delete(leaves.id)
    gone = c.customers.create(params={"email": "brief@example.com"})
    later(raw)
    c.customers.delete(gone.id)
    wb.sync(progress=False)
    store_equals_api(wb, sandbox_server, account_key)
    customers = wb.customers().set_index("id")
    assert customers.loc[leaves.id, "deleted"] == True  # noqa: E712
    assert customers.loc[leaves.id, "email"] == "leaves@example.com"
    assert customers.loc[gone.id, "email"] == "brief@example.com"
    assert customers.loc[keeps.id, "deleted"] == False  # noqa: E712
    assert set(wb.cards()["customer"]) == {keeps.id}
    assert extra.id not in set(wb.cards()["id"])


def test_integer_bounds_are_unix_seconds(wb):
    wb.client.v1.charges.create(params={"amount": 2000, "currency": "usd", "source": "tok_visa"})
    wb.sync(progress=False)
    created = int(wb.charges()["created"].iloc[0].timestamp())
    assert len(wb.charges(created, created + 1)) == 1
    assert len(wb.charges(created + 1)) == 0
    moment = datetime.fromtimestamp(created, UTC)
    assert wb.charges(created, created + 1).equals(wb.charges(moment, created + 1))


def declared_event_types() -> set[str]:
    """Every event type the pinned client lets a webhook endpoint ask for: Stripe's list."""
    from stripe.params import _webhook_endpoint_create_params as params

    with open(params.__file__, encoding="utf-8") as source:
        return set(re.findall(r'"([a-z_]+(?:\.[a-z_]+)+)"', source.read()))


OWNER = (  # event type prefix -> the synced type whose object it changes (None: not synced)
    ("charge.dispute.", "disputes"),
    ("charge.refund.", "refunds"),
    ("charge.", "charges"),
    ("customer.subscription.", "subscriptions"),
    ("customer.tax_id.", None),
    ("customer.", "customers"),
    ("payment_intent.", "payment_intents"),
    ("refund.", "refunds"),
    ("payout.", "payouts"),
    ("product.", "products"),
    ("price.", "prices"),
    ("plan.", "prices"),  # a recurring price is also a (legacy) plan, under the same id
    ("invoice.", "invoices"),
)


def test_the_changes_followed_are_stripes_event_types_of_each_synced_type():
    expected = {}
    for event in declared_event_types():
        owner = next((name for prefix, name in OWNER if event.startswith(prefix)), None)
        if owner:
            expected.setdefault(owner, set()).add(event)
    assert {name: set(types) for name, types in CHANGES.items()} == expected


def test_every_change_the_sandbox_emits_for_a_synced_type_is_followed(sandbox_server):
    """The events of a seeded history (every kind of change it makes) and of the scenarios
    above: none about a synced object goes unfollowed."""
    from tests.store_vs_api import seeded_account

    key = seeded_account(sandbox_server, "emitted")
    client = stripe.StripeClient(key, base_addresses={"api": sandbox_server.url})
    seen = {}
    for event in client.v1.events.list(params={"limit": 100}).auto_paging_iter():
        seen.setdefault(event.type, event.data.object["object"])
    synced = {BY_OBJECT[name].name for name in BY_OBJECT} | {"card"}
    unfollowed = {
        event
        for event, obj in seen.items()
        if (obj in synced or obj in BY_OBJECT) and event not in CHANGED_KIND
    }
    assert len(seen) >= 15
    assert unfollowed <= {"balance.available"}


def test_changes_whose_events_stripe_dropped_are_listed_again(wb, raw, sandbox_server, account_key):
    """Stripe keeps 30 days of events on its own clock: a sandbox advanced past them (the
    local clock hardly moved) dropped the event of an authorization's expiry, and the
    next sync must still learn of it."""
    c = wb.client.v1
    held = c.charges.create(
        params={"amount": 3000, "currency": "usd", "source": "tok_visa", "capture": False}
    )
    later(raw)
    c.charges.create(params={"amount": 1000, "currency": "usd", "source": "tok_visa"})
    wb.sync(progress=False)
    later(raw, 40 * 86400)  # expired on day 7; its event gone by day 37
    report = wb.sync(progress=False)
    assert stored(wb)["charges"][held.id]["refunded"] is True
    assert any("listed again whole" in note for note in report.notes)
    store_equals_api(wb, sandbox_server, account_key)
