"""The `workbench` command. Exit codes: 0 success, 1 failure (one line, no traceback unless
--debug), 2 bad usage (one line: every option's value is checked as it is parsed), 130
interrupted."""

from __future__ import annotations

import argparse
import importlib.metadata
import math
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import stripe

import workbench
from workbench import config
from workbench.exceptions import WorkbenchError
from workbench.sandbox.clock import MAX_ADVANCE
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
        args.parser.error("give --days or --hours to advance the sandbox clock")
    if seconds > MAX_ADVANCE:
        args.parser.error(
            f"--days and --hours together move the clock at most {MAX_ADVANCE // 86400} days"
        )
    state = clock.advance(_store(args), seconds)
    print(
        f"sandbox clock for {args.account!r} now at "
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(state['now']))}"
    )
    return 0


EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def _moment(text: str) -> int:
    """A date (00:00 UTC) or an ISO datetime from 1970 to 2099, as a Unix time."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-01") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not EARLIEST <= moment < LATEST:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date from 1970 to 2099")
    return int(moment.timestamp())


def _timezone(text: str) -> str:
    from workbench.sandbox.models import account

    if text not in account.timezones():
        raise argparse.ArgumentTypeError(f"{text!r} is not a timezone like Pacific/Auckland")
    return text


def sandbox_seed(args: argparse.Namespace) -> int:
    from workbench.sandbox import seed

    data_dir = _data_dir(args)
    store = _store(args)
    until = args.until or int(time.time())
    end = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(until))
    print(
        f"seeding {args.months} months until {end} (seed {args.seed}, scale {args.scale}) "
        f"into {store.path} ...",
        flush=True,
    )
    with seed.exclusive(store):
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


def _number(
    convert: type, low: float, high: float, what: str, *, above: bool = False
) -> Callable[[str], float]:
    """An argparse type: `convert(text)` if it is finite and from `low` (exclusive when
    `above`) to `high`. ASCII only: int() and float() also read "١" and "nan"."""

    def parse(text: str):
        try:
            value = convert(text) if text.isascii() else None
        except ValueError:
            value = None
        if (
            value is None
            or not (math.isfinite(value) and low <= value <= high)
            or (above and value == low)
        ):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return parse


def _fault(name: str) -> Callable[[str], float]:
    """An argparse type checked by the sandbox's own rules for a fault setting."""

    def parse(text: str) -> float:
        from workbench.sandbox.exceptions import SandboxError
        from workbench.sandbox.faults import checked

        try:
            return checked(name, text)
        except SandboxError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    return parse


def _account(text: str) -> str:
    """An account name: it becomes a file name, so only the sandbox's names pass."""
    from workbench.sandbox.server import ACCOUNT_NAME

    if not ACCOUNT_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an account name (lowercase letters, digits and _, at most 64)"
        )
    return text


def _secret_key(text: str) -> str:
    from workbench.sandbox.server import SECRET_KEY

    if not SECRET_KEY.fullmatch(text):
        raise argparse.ArgumentTypeError(
            "the sandbox key must look like sk_test_<letters, digits, _>"
        )
    return text


def _folder(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("give a folder, not an empty string")
    return text


def _file(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("give a file, not an empty string")
    return text


def _month(text: str) -> str:
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text)
    if not match or int(match[1]) < 1970 or not 1 <= int(match[2]) <= 12:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM from 1970-01")
    return text


def _time_of_day(text: str) -> tuple[int, int]:
    hour, _, minute = text.partition(":")
    if not (hour.isascii() and hour.isdigit() and minute.isascii() and minute.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a time of day: give HH:MM, e.g. 06:15")
    if int(hour) > 23 or int(minute) > 59 or len(minute) != 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time of day: give HH:MM, e.g. 06:15")
    return int(hour), int(minute)


def _since(text: str) -> int:
    from workbench import frames

    try:
        moment = frames.moment(text, "--since")
    except WorkbenchError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if moment > time.time():
        raise argparse.ArgumentTypeError(f"{text} is in the future")
    return moment


def _objects(text: str) -> list[str]:
    from workbench.sync import DEFAULT_KINDS

    names = [name.strip() for name in text.split(",")]
    for name in names:
        if name not in DEFAULT_KINDS:
            raise argparse.ArgumentTypeError(
                f"unknown object type {name!r}: use some of {','.join(DEFAULT_KINDS)}"
            )
    return names


def sync(args: argparse.Namespace) -> int:
    """Pull the account into the local store: all of it the first time, then what changed."""
    session = workbench.connect(args.account)
    report = session.sync(
        args.objects,
        since=args.since,
        full=args.full,
        progress=False if args.quiet else None,
        rate=args.rate,
        threads=args.threads,
    )
    if not args.quiet:
        print(report.summary())
    return 0


def _reports_root(args, session) -> Path:
    return Path(args.out) if args.out else session.settings.root / "reports"


def report_monthly(args: argparse.Namespace) -> int:
    """Sync the account, then run notebooks/monthly_report.ipynb with papermill into
    reports/<account>/<YYYY-MM>/: the executed notebook, its HTML, CSVs and summary.json."""
    from workbench import periods, reports

    if args.month:
        periods.month_bounds(args.month)  # a bad month fails before any work
    session = workbench.connect(args.account)
    if not args.no_sync:
        session.sync(progress=False)
    folder, summary = reports.monthly(
        session,
        args.month,
        _reports_root(args, session),
        tie_out=args.tie_out,
        orders=args.orders,
        statement=args.statement,
        timeout=args.timeout,
    )
    failing = [name for name, ok in summary["checks"].items() if ok is False]
    print(
        f"wrote {folder / 'monthly_report.html'} ({summary['month']}, "
        f"{summary['period']['timezone']}): "
        + ("all checks pass" if not failing else "check " + ", ".join(failing))
    )
    return 0


def report_due(args: argparse.Namespace) -> int:
    """Every complete month with no report yet, for every configured account. Safe to run
    daily from cron: a second run while one works leaves at once."""
    from workbench import reports

    settings = config.load()
    first = workbench.connect(None, settings, seed=True)
    root = _reports_root(args, first)
    with reports.due_lock(root) as mine:
        if not mine:
            print("another `workbench report due` is running; nothing to do")
            return 0
        made = 0
        for name in sorted(settings.accounts):
            session = workbench.connect(name, settings)
            session.sync(progress=False)
            done = reports.published_months(root, session.account)
            for month in reports.due_months(session, args.since):
                if month in done:
                    continue
                folder, _ = reports.monthly(session, month, root, timeout=args.timeout)
                print(f"wrote {folder}")
                made += 1
        if not made:
            print("every complete month has its report")
    return 0


def schedule(args: argparse.Namespace) -> int:
    """Run `workbench report due` every day, from this project's folder with its env file:
    print the crontab line (or, with --systemd, a user timer), or --install it."""
    from workbench.schedule import (
        Run,
        crontab_line,
        executable,
        install_crontab,
        install_systemd,
        systemd_units,
    )

    settings = config.load()
    run = Run(settings.root, settings.env_file, executable(), args.at)
    if args.systemd:
        units = systemd_units(run)
        if args.install:
            print(install_systemd(units, Path.home() / ".config" / "systemd" / "user"))
        else:
            print("\n".join(f"# {name}\n{text}" for name, text in units.items()), end="")
    else:
        line = crontab_line(run)
        print(install_crontab(line) if args.install else line)
    return 0


def report_run(args: argparse.Namespace) -> int:
    """Run any notebook of notebooks/ with papermill into reports/<account>/<notebook>/<run>/."""
    from papermill.cli import _resolve_type

    from workbench import reports

    session = workbench.connect(args.account)
    values = {name: _resolve_type(value) for name, value in args.parameter or []}
    folder = reports.run(
        session, args.notebook, values, _reports_root(args, session), timeout=args.timeout
    )
    print(f"wrote {folder}")
    return 0


def _url(text: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+([/?#]\S*)?", text):
        raise argparse.ArgumentTypeError(f"{text[:100]!r} is not an http(s) URL")
    return text


def _serve_until_stopped() -> None:
    """Block until Ctrl-C or SIGTERM, which both end in KeyboardInterrupt, so that what the
    caller's `with` made (a registered webhook endpoint) is undone."""
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    while True:
        signal.pause()


def _say(line: str) -> None:
    print(line, flush=True)


def listen(args: argparse.Namespace) -> int:
    """Receive webhooks on 127.0.0.1 and keep the local store current: each delivery's
    Stripe-Signature checked (forged, stale or replayed: 400), each event stored once and the
    objects it names read again from the API, one line per event. With the sandbox it
    registers its own endpoint (removed on exit); with Stripe the endpoint secret is
    STRIPE_WEBHOOK_SECRET (e.g. from `stripe listen --forward-to`)."""
    from workbench.listen import listening

    session = workbench.connect(args.account)
    try:
        with listening(session, port=args.port, forward_to=args.forward_to, out=_say):
            _serve_until_stopped()
    except KeyboardInterrupt:
        _say("listener stopped")
    return 0


def demo_shop(args: argparse.Namespace) -> int:
    """A minimal merchant site for Checkout end to end: products, a Pay button that creates a
    Checkout Session server-side, a success page that says "paid" only once the webhook has,
    and the legacy token flow. Paid orders go into the account's orders file."""
    from workbench.shop import running

    session = workbench.connect(args.account)
    try:
        with running(
            session, port=args.port, https=args.https, webhook_port=args.webhook_port, out=_say
        ):
            _serve_until_stopped()
    except KeyboardInterrupt:
        _say("demo shop stopped")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with its refusals on one line (its own print the usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def lab(args: argparse.Namespace) -> int:
    """Start JupyterLab on the notebooks, with this environment's Python as the kernel."""
    notebooks = config.PROJECT_ROOT / "notebooks"
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={notebooks}"]
    command += [f"--port={args.port}"] if args.port else []
    command += ["--no-browser"] if args.no_browser else []
    command += ["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []  # containers, CI
    print(f"workbench: JupyterLab on {notebooks}; start with 00_start_here.ipynb", file=sys.stderr)
    sys.stderr.flush()
    # JupyterLab takes this process's place, so a stop signal (a terminal's Ctrl-C, a
    # supervisor's TERM) reaches it rather than leaving it running orphaned.
    os.execv(command[0], command)


def parser() -> argparse.ArgumentParser:
    main = _Parser(prog="workbench", description=" ".join(__doc__.split()))
    main.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    main.add_argument("--version", action="version", version=workbench.__version__)
    commands = main.add_subparsers(dest="command", required=True, metavar="command")

    check = commands.add_parser(
        "doctor", help="show settings and check the API answers", description=doctor.__doc__
    )
    check.add_argument("--account", type=_account, help="a named account (STRIPE_API_KEY__<NAME>)")
    check.set_defaults(run=doctor)

    pull = commands.add_parser(
        "sync", help="pull the account into the local store", description=sync.__doc__
    )
    pull.add_argument(
        "--account", type=_account, help="a named account (default: the default account)"
    )
    pull.add_argument(
        "--since", type=_since, help="only objects created from this date, e.g. 2026-01-01"
    )
    pull.add_argument(
        "--objects",
        type=_objects,
        help="comma-separated object types (default: all of "
        "customers,charges,payment_intents,refunds,disputes,"
        "payouts,balance_transactions,events)",
    )
    pull.add_argument("--full", action="store_true", help="fetch everything again")
    pull.add_argument("--quiet", action="store_true", help="no progress bars, no summary")
    pull.add_argument(
        "--rate",
        type=_number(float, 0, 10_000, "a rate above 0 and at most 10000", above=True),
        help="requests per second (default: 25 in test mode, 100 in live mode and the sandbox; "
        "with Stripe also at most 25 per endpoint)",
    )
    pull.add_argument(
        "--threads",
        type=_number(int, 1, 256, "a number of threads from 1 to 256"),
        default=THREADS,
        help="parallel requests",
    )
    pull.set_defaults(run=sync)

    reporting = commands.add_parser(
        "report",
        help="monthly reports and notebook runs into reports/",
        description="Reports with papermill: the monthly report, the months still due, or any "
        "notebook of notebooks/.",
    )
    report_commands = reporting.add_subparsers(dest="report_command", required=True, metavar="kind")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--out", type=_folder, help="reports folder (default: reports/ in the project)"
    )
    where.add_argument(
        "--timeout",
        type=_number(int, 1, 86400, "a number of seconds from 1 to 86400"),
        default=600,
        help="seconds any one notebook cell may take (600)",
    )
    monthly = report_commands.add_parser(
        "monthly", parents=[where], help="one month's report", description=report_monthly.__doc__
    )
    monthly.add_argument(
        "--account", type=_account, help="a named account (default: the default account)"
    )
    monthly.add_argument(
        "--month",
        type=_month,
        help="YYYY-MM (default: the last complete month, in the account's timezone)",
    )
    monthly.add_argument("--no-sync", action="store_true", help="use the store as it is")
    monthly.add_argument(
        "--tie-out", action="store_true", help="compare with Stripe's own reconciliation report"
    )
    monthly.add_argument(
        "--orders", type=_file, help="the merchant's orders CSV (default: the sandbox's)"
    )
    monthly.add_argument(
        "--statement", type=_file, help="the bank statement, CSV or OFX (default: the sandbox's)"
    )
    monthly.set_defaults(run=report_monthly)
    due = report_commands.add_parser(
        "due",
        parents=[where],
        help="every month with no report yet",
        description=report_due.__doc__,
    )
    due.add_argument(
        "--since",
        type=_month,
        help="YYYY-MM: the first month to consider (default: the first with activity)",
    )
    due.set_defaults(run=report_due)
    any_notebook = report_commands.add_parser(
        "run",
        parents=[where],
        help="any notebook, run with papermill",
        description=report_run.__doc__,
    )
    any_notebook.add_argument("notebook", help="a notebook of notebooks/, e.g. 04_payouts")
    any_notebook.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="a parameter, as papermill's -p",
    )
    any_notebook.add_argument(
        "--account", type=_account, help="a named account (default: the default account)"
    )
    any_notebook.set_defaults(run=report_run)

    timer = commands.add_parser(
        "schedule",
        help="run `workbench report due` daily, from cron or a systemd timer",
        description=schedule.__doc__,
    )
    timer.add_argument(
        "--at", type=_time_of_day, default=(6, 15), help="time of day, HH:MM (06:15)"
    )
    timer.add_argument(
        "--systemd", action="store_true", help="a systemd user timer instead of a crontab line"
    )
    timer.add_argument("--install", action="store_true", help="install it, not only print it")
    timer.set_defaults(run=schedule)

    notebooks = commands.add_parser(
        "lab", help="JupyterLab on notebooks/ with this environment", description=lab.__doc__
    )
    notebooks.add_argument(
        "--port",
        type=_number(int, 1, 65535, "a port (1 to 65535)"),
        help="port (default: JupyterLab's, 8888)",
    )
    notebooks.add_argument("--no-browser", action="store_true", help="do not open a browser")
    notebooks.set_defaults(run=lab)

    port = _number(int, 0, 65535, "a port (0 to 65535)")
    served = argparse.ArgumentParser(add_help=False)  # what listen and demo-shop share
    served.add_argument(
        "--account", type=_account, help="a named account (default: the default account)"
    )
    receiver = commands.add_parser(
        "listen",
        parents=[served],
        help="receive webhooks into the local store",
        description=listen.__doc__,
    )
    receiver.add_argument("--port", type=port, default=12112, help="port on 127.0.0.1 (12112)")
    receiver.add_argument(
        "--forward-to",
        type=_url,
        metavar="URL",
        help="also POST each event there, signed with STRIPE_WEBHOOK_SECRET",
    )
    receiver.set_defaults(run=listen)

    shop = commands.add_parser(
        "demo-shop",
        parents=[served],
        help="a minimal merchant site using Checkout",
        description=demo_shop.__doc__,
    )
    shop.add_argument("--port", type=port, default=12113, help="port on 127.0.0.1 (12113)")
    shop.add_argument(
        "--https", action="store_true", help="serve TLS with a self-signed certificate (openssl)"
    )
    shop.add_argument(
        "--webhook-port",
        type=port,
        default=0,
        help="port of its webhook receiver (default: any free one; with Stripe, the one "
        "`stripe listen --forward-to` uses)",
    )
    shop.set_defaults(run=demo_shop)

    box = commands.add_parser(
        "sandbox",
        help="the local Stripe-compatible server",
        description="Run and steer the local sandbox.",
    )
    box_commands = box.add_subparsers(dest="sandbox_command", required=True, metavar="action")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", type=_folder, help="state folder (default: WORKBENCH_DATA_DIR)"
    )
    common.add_argument(
        "--api-key",
        type=_secret_key,
        help="the sandbox key (default: WORKBENCH_SANDBOX_KEY or sk_test_workbench)",
    )
    account = argparse.ArgumentParser(add_help=False)
    account.add_argument("--account", type=_account, default="default", help="sandbox account name")

    serve = box_commands.add_parser(
        "serve",
        parents=[common],
        help="serve the API",
        description="Serve the sandbox on 127.0.0.1.",
    )
    serve.add_argument("--port", type=_number(int, 0, 65535, "a port (0 to 65535)"), default=12111)
    serve.add_argument("--latency-ms", type=_fault("latency_ms"), help="added to every /v1 request")
    serve.add_argument(
        "--jitter-ms", type=_fault("jitter_ms"), help="random extra latency, 0 to this"
    )
    serve.add_argument(
        "--rate-limit",
        type=_fault("rate_limit"),
        nargs="?",
        const=25.0,
        help="requests/s, 429 beyond (alone: 25 as Stripe's test mode; 100 as live)",
    )
    serve.add_argument(
        "--error-rate", type=_fault("error_rate"), help="share of requests answered 500"
    )
    serve.add_argument(
        "--drop-rate",
        type=_fault("drop_rate"),
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
    days, hours = MAX_ADVANCE / 86400, MAX_ADVANCE / 3600
    advance.add_argument(
        "--days", type=_number(float, 0, days, f"above 0 and at most {days:g}", above=True)
    )
    advance.add_argument(
        "--hours", type=_number(float, 0, hours, f"above 0 and at most {hours:g}", above=True)
    )
    advance.set_defaults(run=sandbox_advance, parser=advance)

    history = box_commands.add_parser(
        "seed",
        parents=[common, account],
        help="build a realistic account history",
        description="Replace a sandbox account's data with a deterministic history: customers, "
        "charges, declines, captures, refunds, disputes, payouts, and orders.csv.",
    )
    history.add_argument(
        "--months",
        type=_number(int, 1, 120, "a number of months from 1 to 120"),
        default=6,
        help="length of the history",
    )
    history.add_argument(
        "--until",
        type=_moment,
        help="end of the history, e.g. 2026-11-01 "
        "(default: now; with a date the sandbox clock stops there)",
    )
    history.add_argument(
        "--timezone", default="Etc/UTC", type=_timezone, help="the account's, e.g. Pacific/Auckland"
    )
    history.add_argument(
        "--seed",
        type=_number(int, 0, 2**63 - 1, "a seed from 0 to 2**63 - 1"),
        default=0,
        help="random seed",
    )
    history.add_argument(
        "--scale",
        type=_number(float, 0, 1000, "a scale above 0 and at most 1000", above=True),
        default=1.0,
        help="volume multiplier: 1 is about 40 orders a day",
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
