"""The pinned sandbox (pinned.py), prepared once for the notebook tests that need it."""

from __future__ import annotations

import pytest

from tests.notebooks import pinned


@pytest.fixture(scope="session")
def pinned_env(tmp_path_factory) -> dict[str, str]:
    return pinned.prepare(tmp_path_factory.mktemp("pinned"))
