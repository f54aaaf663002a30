"""The store equals the API after any history: seeded random sequences of creates, updates,
captures, refunds, cancellations, disputes, payouts and deletions, interleaved with partial
syncs and an interrupted one, then a last sync. More seeds: benchmarks/sync_soak.py."""

from __future__ import annotations

import pytest

from tests.random_changes import History


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_store_equals_the_api_after_a_random_history(
    sandbox_server, account_key, tmp_path, seed
):
    compared = History(sandbox_server.url, account_key, tmp_path, seed).run()
    assert compared > 50
