"""The store against the API: a seeded sandbox account, a session on it, and the independent
ground truth (everything the API lists, read with plain HTTP) to compare the store with."""

from __future__ import annotations

import calendar
import sqlite3

import orjson
import requests

import workbench
from workbench import config
from workbench.sandbox import seed
from workbench.sandbox.server import Api
from workbench.store import CHILDREN, KINDS
from workbench.sync import DEFAULT_KINDS, Sync

UNTIL = calendar.timegm((2026, 8, 1, 0, 0, 0))
LISTED = {name: KINDS[name].path for name in DEFAULT_KINDS}
STORED = (*DEFAULT_KINDS, *(child.name for child in CHILDREN.values()))


def seeded_account(server, name: str, months: int = 2, **kwargs) -> str:
    """Seed a sandbox account of `server`; returns its key."""
    store = Api(server.data_dir, server.api_key).store(name)
    seed.seed(store, until=UNTIL, months=months, seed=5, scale=0.3, name=name, **kwargs)
    store.close()
    return f"{server.api_key}_{name}"


def seeded_truth(server, name: str) -> dict:
    """The ground truth the seed wrote beside a sandbox account it seeded."""
    store = Api(server.data_dir, server.api_key).store(name)
    path = store.path.with_suffix(".truth.json")
    store.close()
    return orjson.loads(path.read_bytes())


def connect(server_url: str, key: str, data_dir) -> workbench.Session:
    settings = config.load(
        {"STRIPE_API_KEY": key, "STRIPE_API_BASE": server_url, "WORKBENCH_DATA_DIR": str(data_dir)}
    )
    return workbench.connect(settings=settings)


def api_listing(url: str, key: str) -> dict[str, dict[str, dict]]:
    """Everything the API lists, per object type, by id: the independent ground truth."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {key}"

    def every(path: str, **params) -> list[dict]:
        found, params = [], {"limit": 100, **params}
        while True:
            page = http.get(url + path, params=params, timeout=30).json()
            found.extend(page["data"])
            if not page["has_more"]:
                return found
            params["starting_after"] = page["data"][-1]["id"]

    found = {
        name: {
            obj["id"]: obj
            for obj in every(
                path,
                **({"expand[]": "data.sources"} if name == "customers" else {}),
                **dict(KINDS[name].listed),
            )
        }
        for name, path in LISTED.items()
    }
    for parent, child in CHILDREN.items():  # cards, subscription items, invoice lines
        found[child.name] = {}
        column = child.within.column
        for obj in found[parent].values():
            # Customers are stored unexpanded; their cards are compared as cards.
            listed = (
                obj.pop(child.within.field) if parent == "customers" else obj[child.within.field]
            )
            if listed["has_more"]:
                path = child.path.format(**{column: obj["id"]})
                listed["data"] = every(path, **({} if "{" in child.path else {column: obj["id"]}))
            found[child.name].update((item["id"], item) for item in listed["data"])
    found["payout_of"] = {
        txn["id"]: payout["id"]
        for payout in found["payouts"].values()
        if payout["automatic"]
        for txn in every("/v1/balance_transactions", payout=payout["id"])
    }
    return found


def stored(wb: workbench.Session) -> dict[str, dict[str, dict]]:
    partition = wb.partition()
    found = {}
    for name in STORED:
        rows = wb.store.documents(name, partition)
        found[name] = {object_id: orjson.loads(data) for object_id, data in rows}
    found["payout_of"] = dict(
        wb.store.conn.execute(
            "SELECT id, payout FROM balance_transactions WHERE account = ? AND payout IS NOT NULL",
            (partition,),
        ).fetchall()
    )
    return found


def delivery_state(event: dict) -> dict:
    """An event without `pending_webhooks`: the count of its deliveries not yet acknowledged
    changes after the event is made, with no event of its own to say so."""
    return {key: value for key, value in event.items() if key != "pending_webhooks"}


def assert_same(expected: dict, actual: dict) -> None:
    """Equal, object for object (events apart from their delivery count). Events may be
    more (the store keeps those Stripe dropped after 30 days) and so may customers: a
    deleted one stays, marked deleted."""
    for name in expected:
        if name in ("events", "customers"):
            extra = set(actual[name]) - set(expected[name])
            assert set(actual[name]) >= set(expected[name]), name
            if name == "customers":
                assert all(actual[name][i]["deleted"] for i in extra), "a live customer too many"
        else:
            assert set(actual[name]) == set(expected[name]), name
        for object_id, obj in expected[name].items():
            if name == "events":
                assert delivery_state(actual[name][object_id]) == delivery_state(obj), object_id
            else:
                assert actual[name][object_id] == obj, (name, object_id)


def stored_rows(data_dir) -> int:
    """How many objects a (possibly running) sync has committed so far."""
    path = data_dir / "store.sqlite3"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return sum(
                conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0] for name in STORED
            )
    except sqlite3.Error:
        return 0


class Interrupted(BaseException):
    """Stands for a kill: raised from inside a run, it leaves what was committed."""


class StopsAfter(Sync):
    """A sync that is interrupted after `pages` pages of listing."""

    def __init__(self, *args, pages: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.pages = pages

    def get(self, path, **params):
        if "created" in params and path != "/v1/events":
            if self.pages == 0:
                raise Interrupted()
            self.pages -= 1
        return super().get(path, **params)
