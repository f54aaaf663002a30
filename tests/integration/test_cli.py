"""The `workbench` command as users run it: exit codes, one-line errors, nothing written."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys

import pytest
import requests

from tests.store_vs_api import stored_rows
from workbench import cli

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


def _one_line(result, code: int, start: str, fragments: tuple[str, ...]) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(start), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def assert_one_line_error(result, *fragments: str) -> None:
    """A failure: exit 1, one line, no traceback."""
    _one_line(result, 1, "workbench: error: ", fragments)


def assert_bad_usage(result, *fragments: str) -> None:
    """Refused as the options are parsed: exit 2, one line, no traceback."""
    _one_line(result, 2, "workbench", fragments)


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
        ["listen"],
        ["demo-shop"],
    ],
)
def test_help_everywhere(command):
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "usage: workbench" in result.stdout


def test_sync_of_an_unknown_account(tmp_path):
    result = run("sync", "--account", "shop", env={"WORKBENCH_DATA_DIR": str(tmp_path)})
    assert_one_line_error(result, "unknown account 'shop'")


# Bad values for every option that takes one, by its name in any subcommand.
BAD_VALUES = {
    "--account": ["../escaped", "Bad-Name", "x" * 65, "a\n", ""],
    "--since": ["the other day", "2999-01-01"],
    "--objects": ["charges,quotes", ""],
    "--rate": ["nan", "inf", "0", "-1", "1e9", "\u0661"],
    "--threads": ["0", "-1", "nan", "1000", "\u0661"],
    "--month": ["0000-01", "2026-13", "2026-1", "26-01", "nan", "\u0662\u0660\u0662\u0666-01"],
    "--out": [""],
    "--data-dir": [""],
    "--api-key": ["garbage", "sk_live_workbench", "sk_test_", "sk_test_a b"],
    "--port": ["99999", "-1", "nan", "http", "\u0661\u0662"],
    "--webhook-port": ["99999", "-1", "nan"],
    "--forward-to": ["127.0.0.1:4242/webhooks", "ftp://example.com/", "", "http://", "http://a b"],
    "--latency-ms": ["nan", "inf", "-1", "1e309", "70000"],
    "--jitter-ms": ["nan", "inf", "-5"],
    "--rate-limit": ["nan", "inf", "-1", "0.5"],
    "--error-rate": ["2", "nan", "-0.1"],
    "--drop-rate": ["2", "inf"],
    "--days": ["nan", "inf", "0", "-1", "731", "1e400"],
    "--hours": ["nan", "0", "17521"],
    "--months": ["0", "-1", "nan", "121", "1.5"],
    "--until": ["yesterday", "0001-01-01", "2100-01-01", "9999-12-31"],
    "--seed": ["-1", "nan", "1.5", "9" * 30],
    "--scale": ["nan", "inf", "0", "-1", "1001"],
    "--timezone": ["Mars/Olympus", "", "UTC+1"],
    "--timeout": ["0", "-1", "nan", "1e9", "\u0661"],
    "--orders": [""],
    "--statement": [""],
    "-p": ["only-a-name"],
    "--at": ["24:00", "6:5", "noon", "06:60", "\u0660\u0666:15", ""],
}


def _commands(parser, prefix=()):
    """Every subcommand (as its argv prefix) and its parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _commands(sub, (*prefix, name))


def _bad_usage():
    for command, sub in _commands(cli.parser()):
        for action in sub._actions:
            if action.option_strings and action.nargs != 0 and action.dest != "help":
                option = action.option_strings[0]
                for value in BAD_VALUES[option]:  # a KeyError: an option with no bad values
                    yield [*command, f"{option}={value}"]


def _never_run(args: argparse.Namespace) -> int:
    raise AssertionError(f"a bad value was accepted and `{args.command}` would have run")


@pytest.fixture
def commands_never_run(monkeypatch):
    """Every command swapped for one that fails at once: a value let through fails the test
    instead of starting a server or JupyterLab (the CI run that hung for 90 minutes)."""
    made = cli.parser

    def guarded() -> argparse.ArgumentParser:
        parser = made()
        for _, sub in _commands(parser):
            if sub.get_default("run") is not None:
                sub.set_defaults(run=_never_run)
        return parser

    monkeypatch.setattr(cli, "parser", guarded)


def test_a_value_let_through_fails_at_once(commands_never_run):
    for argv in (["listen", "--port", "0"], ["lab", "--port", "8888"], ["demo-shop"]):
        with pytest.raises(AssertionError, match="would have run"):
            cli.main(argv)


@pytest.mark.parametrize("argv", list(_bad_usage()), ids=" ".join)
def test_every_option_refuses_bad_values(argv, capsys, commands_never_run):
    """Checked as parsed: exit 2 and one line, before any work is done."""
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("workbench"), lines
    assert "Traceback" not in lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["sync", "--rate", "nan"],
        ["sandbox", "serve", "--api-key", "garbage"],
        ["sandbox", "serve", "--port", "99999"],
        ["sandbox", "serve", "--error-rate", "2"],
        ["sandbox", "seed", "--scale", "nan"],
        ["sandbox", "advance", "--days", "nan"],
        ["sandbox", "advance", "--days", "inf"],
        ["sandbox", "advance", "--days", "700", "--hours", "2000"],
        ["sandbox", "advance"],
        ["report", "monthly", "--month", "0000-01"],
        ["sandbox", "reset", "--account", "../escaped"],
        ["listen", "--port", "99999"],
        ["listen", "--forward-to", "ftp://example.com/"],
        ["demo-shop", "--port", "-1"],
        ["demo-shop", "--webhook-port", "nan"],
        ["lab", "--port", "0"],
    ],
    ids=" ".join,
)
def test_bad_usage_as_users_meet_it(tmp_path, argv):
    """The command as a process: one line on stderr, exit 2, and nothing written."""
    data = tmp_path / "data"
    result = run(*argv, env={"WORKBENCH_DATA_DIR": str(data)}, cwd=tmp_path)
    assert_bad_usage(result)
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_help_says_all_of_it():
    text = " ".join(run("--help").stdout.split())
    assert "1 failure (one line, no traceback unless --debug), 2 bad usage" in text


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
