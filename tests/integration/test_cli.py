"""The `workbench` command as users run it: exit codes, one-line errors, nothing written."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import requests

from tests.store_vs_api import stored_rows

LIVE = "sk_live_" + "P0o9I8u7" * 4


def run(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "WORKBENCH_"))}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("workbench: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_doctor_on_the_sandbox(tmp_path):
    result = run(
        "doctor",
        env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"), "WORKBENCH_ENV_FILE": os.devnull},
    )
    assert result.returncode == 0, result.stderr
    assert "profile:      sandbox" in result.stdout
    assert "api check:    ok, acct_" in result.stdout
    assert "stripe 16." in result.stdout


def test_malformed_key(tmp_path):
    result = run(
        "doctor",
        env={"STRIPE_API_KEY": "sk_oops_" + "Zq7" * 8, "WORKBENCH_DATA_DIR": str(tmp_path)},
    )
    assert_one_line_error(result, "STRIPE_API_KEY")
    assert "Zq7" not in result.stderr + result.stdout


def test_unknown_account(tmp_path):
    result = run("doctor", "--account", "shop", env={"WORKBENCH_DATA_DIR": str(tmp_path)})
    assert_one_line_error(result, "unknown account 'shop'")


def test_unreadable_env_file(tmp_path):
    result = run("doctor", env={"WORKBENCH_ENV_FILE": str(tmp_path / "nope.env")})
    assert_one_line_error(result, "cannot read the env file")


def test_data_dir_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    result = run("doctor", env={"WORKBENCH_DATA_DIR": str(blocker / "data")})
    assert_one_line_error(result, "WORKBENCH_DATA_DIR")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_unreachable_api_fails_without_printing_the_key(tmp_path):
    result = run(
        "doctor",
        env={
            "STRIPE_API_KEY": LIVE,
            "STRIPE_API_BASE": "http://127.0.0.1:9",
            "WORKBENCH_DATA_DIR": str(tmp_path),
        },
    )
    assert_one_line_error(result, "did not answer")
    assert LIVE[8:-4] not in result.stdout + result.stderr
    assert "sk_live_..." + LIVE[-4:] in result.stdout


def test_bad_usage_exits_2():
    assert run("no-such-command").returncode == 2
    assert run("sandbox", "serve", "--port", "many").returncode == 2


def test_serve_with_faults_from_flags(tmp_path):
    """`--rate-limit` alone is Stripe's test-mode limit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "sandbox", "serve", "--port", str(port)]
        + ["--data-dir", str(tmp_path), "--rate-limit", "--latency-ms", "5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "sandbox serving" in server.stdout.readline()
        faults = requests.get(
            f"http://127.0.0.1:{port}/_sandbox/faults",
            headers={"Authorization": "Bearer sk_test_workbench"},
            timeout=10,
        ).json()
        assert (faults["rate_limit"], faults["latency_ms"], faults["drop_rate"]) == (25, 5, 0)
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["doctor"],
        ["sandbox"],
        ["sync"],
        ["report"],
        ["sandbox", "serve"],
        ["sandbox", "reset"],
        ["sandbox", "advance"],
        ["sandbox", "seed"],
    ],
)
def test_help_everywhere(command):
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "usage: workbench" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--objects", "charges,invoices"], "unknown object type 'invoices'"),
        (["--since", "the other day"], "is not a date"),
        (["--since", "2999-01-01"], "is in the future"),
        (["--account", "shop"], "unknown account 'shop'"),
        (["--rate", "0"], "--rate must be above 0"),
    ],
)
def test_sync_bad_input(tmp_path, args, fragment):
    result = run("sync", *args, env={"WORKBENCH_DATA_DIR": str(tmp_path)})
    assert_one_line_error(result, fragment)


def test_sync_with_a_key_that_may_not_read_disputes(sandbox_server, tmp_path):
    secret = f"{sandbox_server.api_key}_restricted"
    auth = {"Authorization": f"Bearer {secret}"}
    requests.post(
        f"{sandbox_server.url}/v1/customers",
        data={"email": "r@example.com"},
        headers=auth,
        timeout=10,
    )
    requests.post(
        f"{sandbox_server.url}/_sandbox/account",
        data={"restricted_deny[0]": "disputes"},
        headers=auth,
        timeout=10,
    )
    restricted = "rk_" + secret[3:]
    env = {
        "STRIPE_API_KEY": restricted,
        "STRIPE_API_BASE": sandbox_server.url,
        "WORKBENCH_DATA_DIR": str(tmp_path),
    }
    result = run("sync", "--quiet", env=env)
    assert_one_line_error(result, "may not read /v1/disputes", "--objects")
    assert restricted not in result.stderr
    assert stored_rows(tmp_path) == 0
    fine = run("sync", "--objects", "customers,charges", env=env)
    assert fine.returncode == 0, fine.stderr
    assert "customers 1" in fine.stdout
    assert stored_rows(tmp_path) == 1
