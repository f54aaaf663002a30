"""Pagination completeness: 1,000 charges spread over ten hours, walked every way."""

from __future__ import annotations

import pytest
import stripe

HOURS = 10
PER_HOUR = 100


@pytest.fixture(scope="module")
def spread(sandbox_server):
    from tests.conftest import RawApi

    key = f"{sandbox_server.api_key}_pages"
    client = stripe.StripeClient(
        key, base_addresses={"api": sandbox_server.url}, max_network_retries=0
    )
    raw = RawApi(sandbox_server.url, key)
    made = []
    for hour in range(HOURS):
        for index in range(PER_HOUR):
            made.append(
                client.v1.charges.create(
                    params={
                        "amount": 100 + hour * PER_HOUR + index,
                        "currency": "usd",
                        "source": "tok_visa",
                    }
                )
            )
        raw("POST", "/_sandbox/clock/advance", {"seconds": "3600"})
    return client, made


def test_auto_paging_walks_everything_once(spread):
    client, made = spread
    walked = [c.id for c in client.v1.charges.list(params={"limit": 100}).auto_paging_iter()]
    assert len(walked) == len(set(walked)) == HOURS * PER_HOUR
    expected = [c.id for c in sorted(made, key=lambda c: (c.created, made.index(c)), reverse=True)]
    assert walked == expected


def test_created_windows_partition_the_list(spread):
    client, made = spread
    start = min(c.created for c in made)
    seen = []
    for hour in range(HOURS):
        window = {"gte": start + hour * 3600, "lt": start + (hour + 1) * 3600}
        page = client.v1.charges.list(params={"created": window, "limit": 37})
        ids = [c.id for c in page.auto_paging_iter()]
        expected = {c.id for c in made if window["gte"] <= c.created < window["lt"]}
        assert set(ids) == expected
        seen.extend(ids)
    assert sorted(seen) == sorted(c.id for c in made)


def test_gt_lte_and_exact_created(spread):
    client, made = spread
    pivot = made[450].created
    newer = list(client.v1.charges.list(params={"created": {"gt": pivot}}).auto_paging_iter())
    older = list(client.v1.charges.list(params={"created": {"lte": pivot}}).auto_paging_iter())
    assert len(newer) + len(older) == len(made)
    assert all(c.created > pivot for c in newer) and all(c.created <= pivot for c in older)
    exact = list(client.v1.charges.list(params={"created": pivot}).auto_paging_iter())
    assert {c.id for c in exact} == {c.id for c in made if c.created == pivot}


def test_walking_backwards_with_ending_before(spread):
    client, made = spread
    oldest_first = []
    cursor = None
    newest_first = [c.id for c in client.v1.charges.list(params={"limit": 100}).auto_paging_iter()]
    cursor = newest_first[-1]
    oldest_first.append(cursor)
    while True:
        page = client.v1.charges.list(params={"limit": 100, "ending_before": cursor})
        if not page.data:
            break
        oldest_first.extend(c.id for c in reversed(page.data))
        cursor = page.data[0].id
        if not page.has_more:
            break
    assert oldest_first == list(reversed(newest_first))
