"""The `workbench` command. Exit codes: 0 success, 1 failure (one line, no traceback unless
--debug), 2 bad usage (argparse's own), 130 interrupted."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import stripe

import workbench
from workbench import config
from workbench.exceptions import WorkbenchError
from workbench.sync import THREADS

PACKAGES = (
    "stripe",
    "pandas",
    "papermill",
    "jupyterlab",
    "ipywidgets",
    "nbval",
    "python-dotenv",
    "matplotlib",
    "tqdm",
)


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def doctor(args: argparse.Namespace) -> int:
    """Print what the workbench would use, and check that the API answers."""
    settings = config.load()
    chosen = settings.account(args.account)
    print(f"account:      {chosen.name} (of {', '.join(sorted(settings.accounts))})")
    print(f"profile:      {chosen.profile}")
    print(
        f"key:          {chosen.key!r} ({chosen.key.mode} mode"
        f"{', restricted' if chosen.key.restricted else ''})"
    )
    print(f"env file:     {settings.env_file or 'none (' + str(settings.root / '.env') + ')'}")
    print(f"data dir:     {config.ensure_data_dir(settings)}")
    print(f"live writes:  {'allowed' if settings.allow_live_writes else 'refused'}")
    print(
        "versions:     "
        + ", ".join(
            [f"python {platform.python_version()}", f"workbench {workbench.__version__}"]
            + [f"{p} {_version(p)}" for p in PACKAGES]
        )
    )
    session = workbench.connect(chosen.name, settings, seed=False)
    print(f"api base:     {session.api_base}")
    started = time.monotonic()
    try:
        account = session.client.v1.accounts.retrieve_current()
    except stripe.StripeError as exc:
        raise WorkbenchError(
            f"the API at {session.api_base} did not answer GET /v1/account: "
            f"{exc.user_message or type(exc).__name__}"
        ) from None
    print(
        f"api check:    ok, {account.id} ({account.country}, settles in "
        f"{str(account.default_currency).upper()}) in "
        f"{(time.monotonic() - started) * 1000:.0f} ms"
    )
    return 0


def _data_dir(args: argparse.Namespace) -> Path:
    if args.data_dir:
        return Path(args.data_dir)
    return config.ensure_data_dir(config.load())


def _sandbox_key(args: argparse.Namespace) -> str:
    return args.api_key or config.load().sandbox_key


def sandbox_serve(args: argparse.Namespace) -> int:
    from workbench.sandbox import Sandbox
    from workbench.sandbox.faults import Faults

    faults = Faults.from_env().updated(
        {
            name: value
            for name, value in {
                "latency_ms": args.latency_ms,
                "jitter_ms": args.jitter_ms,
                "rate_limit": args.rate_limit,
                "error_rate": args.error_rate,
                "drop_rate": args.drop_rate,
            }.items()
            if value is not None
        }
    )
    server = Sandbox(_data_dir(args), port=args.port, api_key=_sandbox_key(args), faults=faults)
    print(
        f"sandbox serving {server.url} (data in {server.data_dir / 'sandbox'}); "
        f"key {config.redact(server.api_key)}; Ctrl-C stops it",
        flush=True,
    )
    server.serve_forever()
    return 0


def _store(args: argparse.Namespace):
    from workbench.sandbox.server import Api

    return Api(_data_dir(args), _sandbox_key(args)).store(args.account)


def sandbox_reset(args: argparse.Namespace) -> int:
    from workbench.sandbox import control
    from workbench.sandbox.backend import Backend

    store = _store(args)
    with store.transaction():
        control.reset(None, Backend(store), {})
    print(f"sandbox account {args.account!r} emptied ({store.path})")
    return 0


def sandbox_advance(args: argparse.Namespace) -> int:
    from workbench.sandbox import clock

    seconds = round((args.days or 0) * 86400 + (args.hours or 0) * 3600)
    if seconds <= 0:
        raise WorkbenchError("give a positive --days or --hours to advance the sandbox clock")
    state = clock.advance(_store(args), seconds)
    print(
        f"sandbox clock for {args.account!r} now at "
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(state['now']))}"
    )
    return 0


def _moment(text: str) -> int:
    """A date (00:00 UTC) or an ISO datetime, as a Unix time."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-01") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _timezone(text: str) -> str:
    from workbench.sandbox.models import account

    if text not in account.timezones():
        raise argparse.ArgumentTypeError(f"{text!r} is not a timezone like Pacific/Auckland")
    return text


def sandbox_seed(args: argparse.Namespace) -> int:
    from workbench.sandbox import seed

    if args.months < 1 or args.scale <= 0:
        raise WorkbenchError("--months must be 1 or more and --scale above 0")
    data_dir = _data_dir(args)
    store = _store(args)
    until = args.until or int(time.time())
    end = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(until))
    print(
        f"seeding {args.months} months until {end} (seed {args.seed}, scale {args.scale}) "
        f"into {store.path} ...",
        flush=True,
    )
    truth = seed.seed(
        store,
        until=until,
        months=args.months,
        seed=args.seed,
        scale=args.scale,
        name=args.account,
        timezone=args.timezone,
        files=data_dir,
        frozen=args.until is not None,
    )
    objects = truth["objects"]
    print(
        f"done in {truth['seconds']} s: {objects.get('charge', 0):,} charges, "
        f"{objects.get('balance_transaction', 0):,} balance transactions, "
        f"{objects.get('customer', 0):,} customers, {objects.get('payout', 0):,} payouts, "
        f"{objects.get('dispute', 0):,} disputes; orders in "
        f"{seed.orders_path(data_dir, args.account)}, the bank's statement in "
        f"{seed.statement_path(data_dir, args.account)}"
    )
    return 0


def sync(args: argparse.Namespace) -> int:
    """Pull the account into the local store: all of it the first time, then what changed."""
    from workbench import frames
    from workbench.sync import DEFAULT_KINDS

    objects = [name.strip() for name in args.objects.split(",")] if args.objects else None
    for name in objects or ():
        if name not in DEFAULT_KINDS:
            raise WorkbenchError(
                f"unknown object type {name!r} in --objects: use some of {','.join(DEFAULT_KINDS)}"
            )
    since = frames.moment(args.since, "--since") if args.since else None
    if since is not None and since > time.time():
        raise WorkbenchError(f"--since {args.since} is in the future")
    if args.rate is not None and args.rate <= 0 or args.threads < 1:
        raise WorkbenchError("--rate must be above 0 and --threads at least 1")
    session = workbench.connect(args.account)
    report = session.sync(
        objects,
        since=since,
        full=args.full,
        progress=False if args.quiet else None,
        rate=args.rate,
        threads=args.threads,
    )
    if not args.quiet:
        print(report.summary())
    return 0


def report(args: argparse.Namespace) -> int:
    """Sync, then write a month's CSVs and summary into reports/<account>/<YYYY-MM>/."""
    from workbench import reports

    reports.month_bounds(args.month)  # a bad month fails before any work
    session = workbench.connect(args.account)
    if not args.no_sync:
        session.sync()
    folder, summary = reports.export_month(
        session, args.month, Path(args.out or session.settings.root / "reports")
    )
    print(
        f"wrote {folder}: {summary['charges']['count']:,} charges, "
        f"{summary['balance_transactions']['count']:,} balance transactions, "
        f"{summary['payouts']['count']:,} payouts ({summary['month']}, "
        f"{summary['period']['timezone']})"
    )
    return 0


def lab(args: argparse.Namespace) -> int:
    """Start JupyterLab on the notebooks, with this environment's Python as the kernel."""
    import subprocess

    notebooks = config.PROJECT_ROOT / "notebooks"
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={notebooks}"]
    command += [f"--port={args.port}"] if args.port else []
    command += ["--no-browser"] if args.no_browser else []
    command += ["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []  # containers, CI
    print(f"workbench: JupyterLab on {notebooks}; start with 00_start_here.ipynb", file=sys.stderr)
    return subprocess.call(command)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="workbench", description=__doc__.split("\n")[0])
    main.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    main.add_argument("--version", action="version", version=workbench.__version__)
    commands = main.add_subparsers(dest="command", required=True, metavar="command")

    check = commands.add_parser(
        "doctor", help="show settings and check the API answers", description=doctor.__doc__
    )
    check.add_argument("--account", help="a named account (STRIPE_API_KEY__<NAME>)")
    check.set_defaults(run=doctor)

    pull = commands.add_parser(
        "sync", help="pull the account into the local store", description=sync.__doc__
    )
    pull.add_argument("--account", help="a named account (default: the default account)")
    pull.add_argument("--since", help="only objects created from this date, e.g. 2026-01-01")
    pull.add_argument(
        "--objects",
        help="comma-separated object types (default: all of "
        "customers,charges,payment_intents,refunds,disputes,"
        "payouts,balance_transactions,events)",
    )
    pull.add_argument("--full", action="store_true", help="fetch everything again")
    pull.add_argument("--quiet", action="store_true", help="no progress bars, no summary")
    pull.add_argument(
        "--rate",
        type=float,
        help="requests per second (default: 25 in test mode, 100 in live mode and the sandbox; "
        "with Stripe also at most 25 per endpoint)",
    )
    pull.add_argument("--threads", type=int, default=THREADS, help="parallel requests")
    pull.set_defaults(run=sync)

    monthly = commands.add_parser(
        "report", help="a month's CSVs and summary into reports/", description=report.__doc__
    )
    monthly.add_argument("--account", help="a named account (default: the default account)")
    monthly.add_argument("--month", help="YYYY-MM (default: the last full month)")
    monthly.add_argument("--out", help="reports folder (default: reports/ in the project)")
    monthly.add_argument("--no-sync", action="store_true", help="use the store as it is")
    monthly.set_defaults(run=report)

    notebooks = commands.add_parser(
        "lab", help="JupyterLab on notebooks/ with this environment", description=lab.__doc__
    )
    notebooks.add_argument("--port", type=int, help="port (default: JupyterLab's, 8888)")
    notebooks.add_argument("--no-browser", action="store_true", help="do not open a browser")
    notebooks.set_defaults(run=lab)

    box = commands.add_parser(
        "sandbox",
        help="the local Stripe-compatible server",
        description="Run and steer the local sandbox.",
    )
    box_commands = box.add_subparsers(dest="sandbox_command", required=True, metavar="action")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="state folder (default: WORKBENCH_DATA_DIR)")
    common.add_argument(
        "--api-key", help="the sandbox key (default: WORKBENCH_SANDBOX_KEY or sk_test_workbench)"
    )
    account = argparse.ArgumentParser(add_help=False)
    account.add_argument("--account", default="default", help="sandbox account name")

    serve = box_commands.add_parser(
        "serve",
        parents=[common],
        help="serve the API",
        description="Serve the sandbox on 127.0.0.1.",
    )
    serve.add_argument("--port", type=int, default=12111)
    serve.add_argument("--latency-ms", type=float, help="added to every /v1 request")
    serve.add_argument("--jitter-ms", type=float, help="random extra latency, 0 to this")
    serve.add_argument(
        "--rate-limit",
        type=float,
        nargs="?",
        const=25.0,
        help="requests/s, 429 beyond (alone: 25 as Stripe's test mode; 100 as live)",
    )
    serve.add_argument("--error-rate", type=float, help="share of requests answered 500")
    serve.add_argument(
        "--drop-rate",
        type=float,
        help="share of requests whose connection drops after the work is done",
    )
    serve.set_defaults(run=sandbox_serve)

    reset = box_commands.add_parser(
        "reset",
        parents=[common, account],
        help="empty a sandbox account",
        description="Delete every object of a sandbox account.",
    )
    reset.set_defaults(run=sandbox_reset)

    advance = box_commands.add_parser(
        "advance",
        parents=[common, account],
        help="move the sandbox clock forward",
        description="Move sandbox time forward; what falls due "
        "in between (availability, payouts, expiry) "
        "runs in order.",
    )
    advance.add_argument("--days", type=float)
    advance.add_argument("--hours", type=float)
    advance.set_defaults(run=sandbox_advance)

    history = box_commands.add_parser(
        "seed",
        parents=[common, account],
        help="build a realistic account history",
        description="Replace a sandbox account's data with a deterministic history: customers, "
        "charges, declines, captures, refunds, disputes, payouts, and orders.csv.",
    )
    history.add_argument("--months", type=int, default=6, help="length of the history")
    history.add_argument(
        "--until",
        type=_moment,
        help="end of the history, e.g. 2026-11-01 "
        "(default: now; with a date the sandbox clock stops there)",
    )
    history.add_argument("--seed", type=int, default=0, help="random seed")
    history.add_argument(
        "--timezone", default="Etc/UTC", type=_timezone, help="the account's, e.g. Pacific/Auckland"
    )
    history.add_argument(
        "--scale", type=float, default=1.0, help="volume multiplier: 1 is about 40 orders a day"
    )
    history.set_defaults(run=sandbox_seed)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130
    except (WorkbenchError, stripe.StripeError, OSError) as exc:
        if args.debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"workbench: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
