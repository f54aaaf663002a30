"""The sandbox's Reporting API through the official client on a real port: report types,
report runs and their files, parameters and errors as Stripe answers them, and the CSV's
figures held to what the API itself lists (for a seeded month) and to figures worked out by
hand from the documented fee schedule (for a small history)."""

from __future__ import annotations

import calendar
import csv
import io
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests
import stripe

from tests.conftest import RawApi
from tests.store_vs_api import api_listing, seeded_account
from tests.stripe_shapes import conform
from workbench import sandbox

ITEMIZED = "payout_reconciliation.itemized.5"
SUMMARY = "balance.summary.1"
JULY = (calendar.timegm((2026, 7, 1, 0, 0, 0)), calendar.timegm((2026, 8, 1, 0, 0, 0)))
EXPONENT = {"usd": 2, "eur": 2, "jpy": 0, "kwd": 3}
COLUMNS = [
    "automatic_payout_id",
    "automatic_payout_effective_at_utc",
    "balance_transaction_id",
    "created_utc",
    "created",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "customer_facing_amount",
    "customer_facing_currency",
    "charge_id",
    "customer_email",
    "payment_metadata[order_id]",
]


def major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-EXPONENT[currency])


def stamp(moment: int, zone: str = "Etc/UTC") -> str:
    return datetime.fromtimestamp(moment, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


def download(url: str, key: str) -> list[dict]:
    """The file's contents as Stripe's docs say to fetch them: plain HTTP with the key."""
    answer = requests.get(url, auth=(key, ""), timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "text/csv"
    return list(csv.DictReader(io.StringIO(answer.text)))


def run_report(client, key: str, report_type: str, **parameters) -> tuple[object, list[dict]]:
    """Create a run, see it pending, retrieve it succeeded, and read its file."""
    run = client.v1.reporting.report_runs.create(
        params={"report_type": report_type, "parameters": parameters}
    )
    assert (run.status, run.result, run.succeeded_at) == ("pending", None, None)
    run = client.v1.reporting.report_runs.retrieve(run.id)
    assert run.status == "succeeded" and run.result is not None
    return run, download(run.result.url, key)


def error_of(call) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        call()
    assert 400 <= caught.value.http_status < 500
    return caught.value


# a small history, worked out by hand


@pytest.fixture
def small_history(client, raw):
    """Tomorrow 10:00 UTC, frozen, on a US account (fees from the schedule in
    sandbox/ledger.py): a 10.00 USD charge (2.9% + 0.30 = 0.59) with 3.00 refunded (no fee
    back); 1,500 JPY on a US card (10.05 USD at 0.0067; 2.9% + 1% conversion = 39.195 cents,
    39, + 0.30 = 0.69); 1.500 KWD (4.875 USD at 3.25, half up 4.88; 3.9% = 19.03 cents, 19,
    + 0.30 = 0.49); then ten days, by which all of it is paid out."""
    now = raw("GET", "/_sandbox/clock").json()["now"]
    moment = now - now % 86400 + 86400 + 10 * 3600
    raw("POST", "/_sandbox/clock/freeze", {"at": str(moment)})
    customer = client.v1.customers.create(params={"email": "ada@example.com", "source": "tok_visa"})
    usd = client.v1.charges.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "customer": customer.id,
            "metadata": {"order_id": "A-1"},
        }
    )
    refund = client.v1.refunds.create(params={"charge": usd.id, "amount": 300})
    jpy = client.v1.charges.create(params={"amount": 1500, "currency": "jpy", "source": "tok_visa"})
    kwd = client.v1.charges.create(params={"amount": 1500, "currency": "kwd", "source": "tok_visa"})
    raw("POST", "/_sandbox/clock/advance", {"days": "10"})
    return {"moment": moment, "usd": usd, "refund": refund, "jpy": jpy, "kwd": kwd}


def _window(client) -> dict:
    kind = client.v1.reporting.report_types.retrieve(ITEMIZED)
    return {"interval_start": kind.data_available_start, "interval_end": kind.data_available_end}


def test_the_itemized_report_of_a_small_history(client, account_key, small_history):
    history = small_history
    run, rows = run_report(
        client, account_key, ITEMIZED, **_window(client), columns=COLUMNS, timezone="Asia/Tokyo"
    )
    assert list(rows[0]) == COLUMNS
    by_source = {row["source_id"]: row for row in rows}
    assert sorted(by_source) == sorted(
        [history["usd"].id, history["refund"].id, history["jpy"].id, history["kwd"].id]
    )
    figures = {
        source: (row["gross"], row["fee"], row["net"], row["reporting_category"])
        for source, row in by_source.items()
    }
    assert figures == {
        history["usd"].id: ("10.00", "0.59", "9.41", "charge"),
        history["refund"].id: ("-3.00", "0.00", "-3.00", "refund"),
        history["jpy"].id: ("10.05", "0.69", "9.36", "charge"),
        history["kwd"].id: ("4.88", "0.49", "4.39", "charge"),
    }
    facing = {
        s: (r["customer_facing_amount"], r["customer_facing_currency"])
        for s, r in by_source.items()
    }
    assert facing == {
        history["usd"].id: ("10.00", "usd"),
        history["refund"].id: ("3.00", "usd"),
        history["jpy"].id: ("1500", "jpy"),
        history["kwd"].id: ("1.500", "kwd"),
    }
    usd, refunded = by_source[history["usd"].id], by_source[history["refund"].id]
    assert usd["charge_id"] == refunded["charge_id"] == history["usd"].id
    assert usd["customer_email"] == refunded["customer_email"] == "ada@example.com"
    assert usd["payment_metadata[order_id]"] == "A-1"
    assert by_source[history["jpy"].id]["customer_email"] == ""
    moment = history["moment"]
    assert usd["created_utc"] == stamp(moment) and usd["created"] == stamp(moment, "Asia/Tokyo")
    assert usd["created"] != usd["created_utc"]
    payouts = {row["automatic_payout_id"] for row in rows}
    assert len(payouts) == 1  # the refund alone was no payout; all four went in one
    payout = client.v1.payouts.retrieve(payouts.pop())
    assert payout.amount == 941 - 300 + 936 + 439
    assert usd["automatic_payout_effective_at_utc"] == stamp(payout.arrival_date)
    assert payout.balance_transaction not in {row["balance_transaction_id"] for row in rows}


def test_the_balance_summary_of_a_small_history(client, account_key, small_history):
    _, rows = run_report(client, account_key, SUMMARY, **_window(client))
    assert [(r["category"], r["net_amount"], r["currency"]) for r in rows] == [
        ("starting_balance", "0.00", "usd"),
        ("activity", "20.16", "usd"),  # 9.41 - 3.00 + 9.36 + 4.39
        ("payouts", "-20.16", "usd"),
        ("ending_balance", "0.00", "usd"),
    ]
    start = datetime.fromtimestamp(_window(client)["interval_start"], UTC)
    assert rows[0]["description"] == f"Starting balance ({start:%Y-%m-%d})"
    assert rows[2]["description"] == "Total payouts"


def test_currency_and_category_filters(client, account_key, small_history):
    window = _window(client)
    _, usd = run_report(client, account_key, ITEMIZED, **window, currency="USD")
    assert len(usd) == 4 and {row["currency"] for row in usd} == {"usd"}
    _, eur = run_report(client, account_key, ITEMIZED, **window, currency="eur")
    assert eur == []
    _, refunds = run_report(client, account_key, ITEMIZED, **window, reporting_category="refund")
    assert [row["source_id"] for row in refunds] == [small_history["refund"].id]
    _, summary = run_report(client, account_key, SUMMARY, **window, currency="eur")
    assert [row["net_amount"] for row in summary] == ["0.00"] * 4


def test_a_zero_decimal_settlement_currency(client, raw, account_key):
    """A Japanese account settles in JPY: 3.6% of 1,000 JPY is 36, written as whole yen."""
    raw("POST", "/_sandbox/account", {"country": "JP"})
    client.v1.charges.create(params={"amount": 1000, "currency": "jpy", "source": "tok_jp"})
    raw("POST", "/_sandbox/clock/advance", {"days": "10"})
    _, rows = run_report(
        client,
        account_key,
        ITEMIZED,
        **_window(client),
        columns=["currency", "gross", "fee", "net"],
    )
    assert rows == [{"currency": "jpy", "gross": "1000", "fee": "36", "net": "964"}]


# shapes, lifecycle, files


def test_report_types_have_the_declared_shape_and_the_clock_decides_availability(client, raw):
    listed = raw("GET", "/v1/reporting/report_types").json()
    assert sorted(kind["id"] for kind in listed["data"]) == [SUMMARY, ITEMIZED]
    for kind in listed["data"]:
        assert conform(kind, stripe.reporting.ReportType) == []
    now = raw("GET", "/_sandbox/clock").json()["now"]
    kind = client.v1.reporting.report_types.retrieve(ITEMIZED)
    assert kind.data_available_end == now - now % 43200  # the last 00:00 or 12:00 UTC
    assert kind.data_available_start % 86400 == 0 and kind.data_available_start <= now
    assert "net" in kind.default_columns
    summary = client.v1.reporting.report_types.retrieve(SUMMARY)
    assert summary.default_columns == ["category", "description", "net_amount", "currency"]
    error = error_of(lambda: client.v1.reporting.report_types.retrieve("balance.summary.9"))
    assert error.http_status == 404


def test_a_run_is_pending_then_succeeded_and_its_file_is_served_with_the_key(
    client, raw, account_key, sandbox_server
):
    client.v1.charges.create(params={"amount": 2000, "currency": "usd", "source": "tok_visa"})
    raw("POST", "/_sandbox/clock/advance", {"days": "10"})
    window = _window(client)
    created = raw(
        "POST",
        "/v1/reporting/report_runs",
        {"report_type": SUMMARY, **{f"parameters[{k}]": str(v) for k, v in window.items()}},
    ).json()
    assert conform(created, stripe.reporting.ReportRun) == []
    assert created["status"] == "pending" and created["parameters"]["timezone"] is None
    finished = raw("GET", f"/v1/reporting/report_runs/{created['id']}").json()
    assert conform(finished, stripe.reporting.ReportRun) == []
    assert finished["status"] == "succeeded" and finished["succeeded_at"] >= created["created"]
    file = raw("GET", f"/v1/files/{finished['result']['id']}").json()
    assert conform(file, stripe.File) == []
    assert (file["purpose"], file["type"]) == ("finance_report_run", "csv")
    assert file["url"] == f"{sandbox_server.url}/v1/files/{file['id']}/contents"
    body = requests.get(file["url"], headers={"Authorization": f"Bearer {account_key}"}, timeout=30)
    assert body.status_code == 200 and len(body.content) == file["size"]
    assert body.text.startswith("category,description,net_amount,currency\n")
    assert requests.get(file["url"], timeout=30).status_code == 401
    other = f"{sandbox_server.api_key}_someone_else"
    assert requests.get(file["url"], auth=(other, ""), timeout=30).status_code == 404
    listed = client.v1.reporting.report_runs.list()
    assert [run.id for run in listed.data] == [created["id"]]
    events = client.v1.events.list(params={"type": "reporting.report_run.succeeded"}).data
    assert [event.data.object.id for event in events] == [created["id"]]


def test_the_file_url_follows_the_server_that_answers(client, account_key, sandbox_server):
    """A run made through one sandbox server and read through another (a later process on
    another port) points at the one that answers."""
    client.v1.charges.create(params={"amount": 2000, "currency": "usd", "source": "tok_visa"})
    RawApi(sandbox_server.url, account_key)("POST", "/_sandbox/clock/advance", {"days": "10"})
    run, _ = run_report(client, account_key, SUMMARY, **_window(client))
    with sandbox.start(sandbox_server.data_dir, api_key=sandbox_server.api_key) as second:
        other = stripe.StripeClient(account_key, base_addresses={"api": second.url})
        seen = other.v1.reporting.report_runs.retrieve(run.id)
        assert seen.result.url.startswith(second.url + "/v1/files/")
        assert other.v1.reporting.report_runs.list().data[0].result.url == seen.result.url
        assert download(seen.result.url, account_key)


def test_a_restricted_key_may_run_reports_and_download_them(client, raw, account_key):
    client.v1.charges.create(params={"amount": 2000, "currency": "usd", "source": "tok_visa"})
    raw("POST", "/_sandbox/clock/advance", {"days": "10"})
    restricted = "rk_" + account_key[3:]
    reader = stripe.StripeClient(restricted, base_addresses={"api": raw.url}, max_network_retries=0)
    _, rows = run_report(reader, restricted, ITEMIZED, **_window(client))
    assert len(rows) == 1
    with pytest.raises(stripe.PermissionError):
        reader.v1.charges.create(params={"amount": 2000, "currency": "usd", "source": "tok_visa"})
    raw("POST", "/_sandbox/account", {"restricted_deny[0]": "reporting"})
    with pytest.raises(stripe.PermissionError):
        reader.v1.reporting.report_runs.create(
            params={"report_type": SUMMARY, "parameters": _window(client)}
        )


# parameters and errors


@pytest.mark.parametrize(
    ("change", "param", "status"),
    [
        ({"report_type": None}, "report_type", 400),
        ({"report_type": "payout_reconciliation.itemized.9"}, "report_type", 404),
        ({"interval_start": None}, "parameters[interval_start]", 400),
        ({"interval_end": None}, "parameters[interval_end]", 400),
        ({"interval_end": "start"}, "parameters[interval_start]", 400),
        ({"interval_end": "after"}, "parameters[interval_end]", 400),
        ({"interval_start": "before"}, "parameters[interval_start]", 400),
        ({"timezone": "Mars/Olympus"}, "parameters[timezone]", 400),
        ({"currency": "usdx"}, "parameters[currency]", 400),
        ({"columns": ["net", "no_such_column"]}, "parameters[columns][1]", 400),
        ({"payout": "po_123"}, "parameters[payout]", 400),
        ({"interval_start": "x"}, "parameters[interval_start]", 400),
        ({"interval_start": -(10**17)}, "parameters[interval_start]", 400),
        ({"interval_end": 10**17}, "parameters[interval_end]", 400),
    ],
)
def test_bad_parameters_are_stripe_shaped_4xx(client, raw, change, param, status):
    raw("POST", "/_sandbox/clock/advance", {"days": "2"})
    window = _window(client)
    values = {
        "start": window["interval_start"],
        "after": window["interval_end"] + 1,
        "before": window["interval_start"] - 1,
    }
    params = {"report_type": ITEMIZED, "parameters": dict(window)}
    for name, value in change.items():
        target = params if name == "report_type" else params["parameters"]
        if value is None:
            target.pop(name)
        else:
            target[name] = values.get(value, value) if isinstance(value, str) else value
    error = error_of(lambda: client.v1.reporting.report_runs.create(params=params))
    assert (error.http_status, error.param) == (status, param)
    assert error.error.type == "invalid_request_error"


def test_data_not_yet_available_says_until_when(client, raw):
    raw("POST", "/_sandbox/clock/advance", {"days": "2"})
    end = _window(client)["interval_end"]
    error = error_of(
        lambda: client.v1.reporting.report_runs.create(
            params={
                "report_type": SUMMARY,
                "parameters": {"interval_start": end - 86400, "interval_end": end + 43200},
            }
        )
    )
    assert f"only available through {datetime.fromtimestamp(end, UTC):%Y-%m-%d %H:%M:%S} UTC" in (
        error.user_message
    )


def test_missing_runs_and_files_are_404(client, raw):
    assert error_of(lambda: client.v1.reporting.report_runs.retrieve("frr_nope")).http_status == 404
    assert error_of(lambda: client.v1.files.retrieve("file_nope")).http_status == 404
    answer = raw("GET", "/v1/files/file_nope/contents")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "resource_missing"


# a seeded month, against what the API lists


@pytest.fixture(scope="module")
def seeded(sandbox_server):
    key = seeded_account(sandbox_server, "reporting")
    client = stripe.StripeClient(
        key, base_addresses={"api": sandbox_server.url}, max_network_retries=0
    )
    return {"key": key, "client": client, "listing": api_listing(sandbox_server.url, key)}


def test_the_itemized_report_is_what_the_api_says_each_payout_holds(seeded):
    listing = seeded["listing"]
    _, rows = run_report(
        seeded["client"],
        seeded["key"],
        ITEMIZED,
        interval_start=JULY[0],
        interval_end=JULY[1],
        columns=COLUMNS,
    )
    payouts = {
        p["id"]: p
        for p in listing["payouts"].values()
        if p["automatic"] and JULY[0] <= p["arrival_date"] < JULY[1]
    }
    assert {p["status"] for p in payouts.values()} >= {"paid"}
    expected = {
        txn_id: payout
        for txn_id, payout in listing["payout_of"].items()
        if payout in payouts and listing["balance_transactions"][txn_id]["type"] != "payout"
    }
    assert len(rows) == len(expected) and {r["balance_transaction_id"] for r in rows} == set(
        expected
    )
    categories = set()
    for row in rows:
        txn = listing["balance_transactions"][row["balance_transaction_id"]]
        payout = payouts[expected[txn["id"]]]
        assert row["automatic_payout_id"] == payout["id"]
        assert row["automatic_payout_effective_at_utc"] == stamp(payout["arrival_date"])
        assert row["created_utc"] == row["created"] == stamp(txn["created"])
        assert row["currency"] == txn["currency"]
        for column, field in (("gross", "amount"), ("fee", "fee"), ("net", "net")):
            assert Decimal(row[column]) == major(txn[field], txn["currency"]), (txn["id"], column)
        assert (row["reporting_category"], row["source_id"]) == (
            txn["reporting_category"],
            txn["source"],
        )
        categories.add(row["reporting_category"])
    assert {"charge", "refund"} <= categories
    nets = defaultdict(Decimal)
    for row in rows:
        nets[row["automatic_payout_id"]] += Decimal(row["net"])
    for payout in payouts.values():
        if payout["status"] == "paid":
            assert nets[payout["id"]] == major(payout["amount"], payout["currency"])


def test_the_balance_summary_is_the_api_listing_summed(seeded):
    listing = seeded["listing"]
    _, rows = run_report(
        seeded["client"], seeded["key"], SUMMARY, interval_start=JULY[0], interval_end=JULY[1]
    )
    paid_out = ("payout", "payout_cancel", "payout_failure")
    sums = defaultdict(int)
    for txn in listing["balance_transactions"].values():
        currency = txn["currency"]
        if txn["created"] < JULY[0]:
            sums[("starting_balance", currency)] += txn["net"]
        elif txn["created"] < JULY[1]:
            kind = "payouts" if txn["type"] in paid_out else "activity"
            sums[(kind, currency)] += txn["net"]
        if txn["created"] < JULY[1]:
            sums[("ending_balance", currency)] += txn["net"]
    assert rows and all(
        Decimal(row["net_amount"])
        == major(sums[(row["category"], row["currency"])], row["currency"])
        for row in rows
    )
    assert rows[-1]["description"] == "Ending balance (2026-07-31)"


# a planted difference


def test_a_planted_difference_changes_the_next_itemized_file_only(seeded, sandbox_server):
    client, key = seeded["client"], seeded["key"]
    control = RawApi(sandbox_server.url, key)
    parameters = {"interval_start": JULY[0], "interval_end": JULY[1]}
    _, clean = run_report(client, key, ITEMIZED, **parameters)
    first, second = clean[0]["balance_transaction_id"], clean[1]["balance_transaction_id"]
    answer = control(
        "POST",
        "/_sandbox/reporting/difference",
        {"difference": "net", "balance_transaction": second},
    )
    assert answer.json() == {"planted": {"balance_transaction": second, "difference": "net"}}
    _, changed = run_report(client, key, ITEMIZED, **parameters)
    different = [(a, b) for a, b in zip(clean, changed, strict=True) if a != b]
    assert len(different) == 1
    before, after = different[0]
    assert before["balance_transaction_id"] == second
    step = Decimal(1).scaleb(-EXPONENT[before["currency"]])
    assert Decimal(after["net"]) - Decimal(before["net"]) == step
    assert {k: v for k, v in after.items() if k != "net"} == {
        k: v for k, v in before.items() if k != "net"
    }
    assert client.v1.balance_transactions.retrieve(second).net == int(
        Decimal(before["net"]).scaleb(EXPONENT[before["currency"]])
    )
    control("POST", "/_sandbox/reporting/difference", {"difference": "missing_row"})
    _, shorter = run_report(client, key, ITEMIZED, **parameters)
    assert shorter == clean[1:] and clean[0]["balance_transaction_id"] == first
    _, again = run_report(client, key, ITEMIZED, **parameters)
    assert again == clean


def test_planting_is_checked(raw):
    answer = raw("POST", "/_sandbox/reporting/difference", {"difference": "gross"})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "difference"
    answer = raw(
        "POST",
        "/_sandbox/reporting/difference",
        {"difference": "net", "balance_transaction": "txn_nope"},
    )
    assert answer.status_code == 404


def test_runs_and_files_are_stored_in_the_layout_answers_have(seeded, sandbox_server):
    """As tests/sandbox/test_protocol.py holds the seeded objects to it: the models make
    runs and files in Stripe's key order, so one orjson call lays them out."""
    from workbench.sandbox import state
    from workbench.sandbox.server import Api

    run_report(
        seeded["client"], seeded["key"], SUMMARY, interval_start=JULY[0], interval_end=JULY[1]
    )
    account = Api(sandbox_server.data_dir, sandbox_server.api_key).store("reporting")
    rows = account.conn.execute(
        "SELECT object, data FROM objects WHERE object IN ('reporting.report_run', 'file') "
        "OR type LIKE 'reporting.%'"
    ).fetchall()
    account.close()
    assert {kind for kind, _ in rows} == {"reporting.report_run", "file", "event"}
    for kind, text in rows:
        obj = state.loads(text)
        assert state.stored(obj) == state.dumps(obj).replace("\n", "\n" + state.ITEM_INDENT), kind
