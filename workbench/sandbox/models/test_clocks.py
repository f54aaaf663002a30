"""Test clocks (/v1/test_helpers/test_clocks): a frozen time of their own for the customers
attached to them, and advancing it runs what falls due for their subscriptions and
invoices in time order (trials ending, renewals, invoices finalized, retries,
cancellations), with their events, as Stripe's simulations do.

Stripe advances a clock in the background (status `advancing`, then `ready`); the sandbox
does the whole advance within the request, so the answer says `advancing` (as Stripe's
does) and the clock reads `ready` at once. Objects and events made by an advance carry the
clock's time. A clock may move at most two intervals of its shortest subscription ahead
(two years without one), as Stripe allows; deleting a clock deletes its customers, whose
subscriptions end with them.
"""

from __future__ import annotations

from workbench.sandbox import lists
from workbench.sandbox.backend import Backend
from workbench.sandbox.exceptions import InvalidRequest
from workbench.sandbox.models import invoices, renewals
from workbench.sandbox.state import loads

DAY = 86400
KIND = "test_helpers.test_clock"
KEPT = 30 * DAY  # Stripe deletes a test clock thirty days after it was made
LONGEST = 2 * 365 * DAY


def create(backend: Backend, params: dict) -> dict:
    clock = {
        "id": backend.new_id("clock"),
        "object": KIND,
        "created": backend.now,
        "deleted": None,
        "deletes_after": backend.now + KEPT,
        "frozen_time": params["frozen_time"],
        "livemode": False,
        "name": params.get("name"),
        "status": "ready",
        "status_details": {"advancing": None},
    }
    backend.store.insert(clock)
    backend.emit("test_helpers.test_clock.created", clock)
    return clock


def retrieve(backend: Backend, params: dict, test_clock: str) -> dict:
    return backend.get(test_clock, KIND)


def list_(backend: Backend, params: dict) -> bytes:
    return lists.page(backend, KIND, params, "/v1/test_helpers/test_clocks")


def delete(backend: Backend, params: dict, test_clock: str) -> dict:
    clock = backend.get(test_clock, KIND)
    rows = backend.store.conn.execute(
        "SELECT id FROM objects WHERE object = 'customer' "
        "AND json_extract(data, '$.test_clock') = ? ORDER BY seq",
        (clock["id"],),
    ).fetchall()
    for (customer,) in rows:
        renewals.delete_customer(backend, {}, customer)
    backend.store.delete(clock["id"])
    backend.emit("test_helpers.test_clock.deleted", clock)
    return {"id": clock["id"], "object": KIND, "deleted": True}


def _latest_allowed(clock: dict, attached: list[dict]) -> int:
    """Two intervals of the shortest subscription on the clock, else two years."""
    now = clock["frozen_time"]
    limits = [
        renewals.add_intervals(now, recurring["interval"], 2 * recurring["interval_count"])
        for recurring in (
            sub["items"]["data"][0]["price"]["recurring"]
            for sub in attached
            if sub["object"] == "subscription"
        )
    ]
    return min(limits, default=now + LONGEST)


def _attached(backend: Backend, clock: dict) -> list[dict]:
    """The clock's subscriptions and invoices that may still act on their own."""
    rows = backend.store.conn.execute(
        "SELECT data FROM objects WHERE object IN ('subscription', 'invoice') "
        "AND status IN ('incomplete', 'trialing', 'active', 'past_due', 'unpaid', "
        "'draft', 'open') AND json_extract(data, '$.test_clock') = ? ORDER BY seq",
        (clock["id"],),
    ).fetchall()
    return [loads(row[0]) for row in rows]


def _next(obj: dict, after: int) -> int | None:
    if obj["object"] == "subscription":
        return renewals.next_moment(obj, after)
    moment = invoices.next_moment(obj)
    return moment if moment is not None and moment > after else None


def advance(backend: Backend, params: dict, test_clock: str) -> dict:
    clock = backend.get(test_clock, KIND)
    target = params["frozen_time"]
    if target <= clock["frozen_time"]:
        raise InvalidRequest(
            "The frozen_time must be after the test clock's current frozen time "
            f"({clock['frozen_time']}).",
            param="frozen_time",
        )
    if target > _latest_allowed(clock, _attached(backend, clock)):
        raise InvalidRequest(
            "Cannot advance more than two intervals in the future from the shortest "
            "subscription in this test clock (two years without one).",
            param="frozen_time",
        )
    advancing = {"advancing": {"target_frozen_time": target}}
    answer = dict(clock, status="advancing", status_details=advancing)
    backend.emit("test_helpers.test_clock.advancing", answer)
    processed = clock["frozen_time"]
    while True:
        due = [(_next(obj, processed), obj) for obj in _attached(backend, clock)]
        moment = min((when for when, _ in due if when is not None), default=None)
        if moment is None or moment > target:
            break
        with renewals.at(backend, moment):
            for when, obj in due:
                if when == moment:
                    _step(backend, obj)
        processed = moment
    with backend.change(clock, "test_helpers.test_clock.ready"):
        clock["frozen_time"] = target
    return answer


def _step(backend: Backend, obj: dict) -> None:
    if obj["object"] == "subscription":
        renewals.advance(backend, obj["id"])
    else:
        renewals.advance_invoice(backend, obj["id"])
