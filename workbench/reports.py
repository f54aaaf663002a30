"""Reports: papermill runs a notebook of `notebooks/` with the current environment's kernel,
and its outputs become a folder under reports/ that is published whole or not at all.

    reports/<account>/<YYYY-MM>/             the monthly report (monthly_report.ipynb):
        monthly_report.ipynb, .html          the executed notebook, and its HTML (code
                                             hidden, images inside: one file, offline)
        *.csv, journal.beancount             what an accountant imports
        summary.json                         headline figures and every check
    reports/<account>/<YYYY-MM>.failed/      the notebook as it failed, kept to read
    reports/<account>/<notebook>/<run>/      any other notebook run the same way
    reports/index.html                       every report, by account and month

Parameters are names and values a person chose (a month, an account's name, options):
never a key, which the kernel reads from the environment as every session does. A failed
cell, a dead kernel or a cell past its time limit is a ReportFailed naming the notebook and
the cell; the month already published, if any, stays as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from workbench import periods
from workbench.exceptions import WorkbenchError
from workbench.publish import publish

MONTHLY = "monthly_report.ipynb"
CELL_TIMEOUT = 600  # seconds any one cell may take; a month of a million transactions takes ~30
KERNEL = "python3"  # resolved by Jupyter to this environment's own interpreter
TEMPLATES = Path(__file__).with_name("templates")


class ReportFailed(WorkbenchError):
    """A report's notebook did not run to its end; the message names the cell."""


def notebooks_dir(settings) -> Path:
    return Path(settings.root) / "notebooks"


def execute(notebook: Path, output: Path, parameters: dict, *, cwd: Path, timeout: int) -> None:
    """Run `notebook` into `output` with `parameters`; the notebook is saved after every cell,
    so on failure `output` holds it as it stopped."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name=KERNEL,
            cwd=str(cwd),
            progress_bar=False,
            execution_timeout=timeout,
            request_save_on_cell_execute=True,
            # The kernel's own log lines (transport notes, its shutdown) are noise in a cron
            # log; a cell's errors still come back through papermill.
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except PapermillExecutionError as exc:
        reason = (exc.evalue or "").strip().splitlines()[0] if exc.evalue else ""
        raise ReportFailed(
            f"{notebook.name} failed in cell {exc.cell_index} (In [{exc.exec_count}]): "
            f"{exc.ename}{': ' + reason[:200] if reason else ''}"
        ) from None
    except CellTimeoutError:
        raise ReportFailed(
            f"{notebook.name}: a cell ran longer than {timeout} s and was stopped"
        ) from None
    except DeadKernelError:
        raise ReportFailed(f"{notebook.name}: the kernel died while running it") from None
    except RuntimeError as exc:  # nbclient's words for a kernel that never started or died
        raise ReportFailed(f"{notebook.name}: the kernel failed: {str(exc)[:200]}") from None


def to_html(notebook: Path, target: Path) -> Path:
    """The executed notebook as one self-contained page: code hidden, images inside, no
    script or font fetched from anywhere (the `offline` template beside this module)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="offline",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    target.write_text(body, encoding="utf-8")
    return target


def _run_into(
    folder: Path, notebook: Path, parameters: dict, *, cwd: Path, timeout: int, files: bool
) -> None:
    """Run into a staging folder beside `folder` and publish it there; on failure publish
    the failed notebook as `<folder>.failed` instead, and raise. With `files`, the notebook
    is told the staging folder (`output_dir`) to write its files into."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    output = staging / notebook.name
    try:
        try:
            given = {**parameters, "output_dir": str(staging)} if files else parameters
            execute(notebook, output, given, cwd=cwd, timeout=timeout)
        except ReportFailed as failure:
            kept = Path(tempfile.mkdtemp(prefix=f".{folder.name}.failed.", dir=folder.parent))
            if output.exists():
                shutil.copy2(output, kept / notebook.name)
            kept.chmod(0o755)
            publish(kept, folder.with_name(f"{folder.name}.failed"))
            raise ReportFailed(
                f"{failure}; the failed notebook is in {folder.name}.failed/"
            ) from None
        to_html(output, output.with_suffix(".html"))
        staging.chmod(0o755)
        publish(staging, folder)
        shutil.rmtree(folder.with_name(f"{folder.name}.failed"), ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def monthly(
    session,
    month: str | None,
    root: Path,
    *,
    tie_out: bool = False,
    orders: Path | str | None = None,
    statement: Path | str | None = None,
    timeout: int = CELL_TIMEOUT,
) -> tuple[Path, dict]:
    """The monthly report of the session's account (synced already) into
    root/<account>/<YYYY-MM>/; returns the folder and its summary. `orders` and
    `statement` name the merchant's files (default: a seeded sandbox's)."""
    period = periods.month_bounds(month, session.timezone)
    folder = Path(root) / session.account / period.label
    notebook = notebooks_dir(session.settings) / MONTHLY
    parameters = {
        "month": period.label,
        "account": session.account,
        "tie_out": tie_out,
        "sync": False,
        "orders_file": str(Path(orders).resolve()) if orders else None,
        "statement_file": str(Path(statement).resolve()) if statement else None,
    }
    try:
        _run_into(folder, notebook, parameters, cwd=notebook.parent, timeout=timeout, files=True)
    finally:
        write_index(root)
    return folder, json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def run(session, name: str, values: dict, root: Path, *, timeout: int = CELL_TIMEOUT) -> Path:
    """Any notebook of notebooks/ run the same way, into root/<account>/<notebook>/<run>/;
    `values` are checked against its `parameters` cell (unknown names refused)."""
    import papermill

    folder_of_notebooks = notebooks_dir(session.settings)
    notebook = folder_of_notebooks / (name if name.endswith(".ipynb") else f"{name}.ipynb")
    if not notebook.is_file() or notebook.parent != folder_of_notebooks:
        known = ", ".join(sorted(p.stem for p in folder_of_notebooks.glob("*.ipynb")))
        raise WorkbenchError(f"no notebook {name!r} in notebooks/: choose one of {known}")
    declared = papermill.inspect_notebook(str(notebook))
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise WorkbenchError(
            f"{notebook.name} has no parameter {unknown[0]!r}: its parameters are "
            f"{', '.join(sorted(declared)) or 'none'}"
        )
    if "account" in declared:
        values = {"account": session.account, **values}
    label = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    folder = Path(root) / session.account / notebook.stem / label
    try:
        _run_into(
            folder,
            notebook,
            values,
            cwd=notebook.parent,
            timeout=timeout,
            files="output_dir" in declared,
        )
    finally:
        write_index(root)
    return folder


def published_months(root: Path, account: str) -> set[str]:
    return {
        p.name
        for p in (Path(root) / account).glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]")
        if (p / "summary.json").is_file()
    }


@contextlib.contextmanager
def due_lock(root: Path):
    """Held while `report due` runs: a second run finds it taken and leaves at once (cron
    started it while the first still works). Released by the OS if the process dies."""
    Path(root).mkdir(parents=True, exist_ok=True)
    with (Path(root) / ".due.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def due_months(session, since: str | None) -> list[str]:
    """Complete months of the account with activity (or from `since`) up to the last
    complete one, in the account's timezone."""
    last = periods.month_bounds(None, session.timezone)
    if since is None:
        first = session.store.earliest_created("balance_transactions", session.partition())
        if first is None:
            return []
        since = f"{datetime.fromtimestamp(first, last.start.tzinfo):%Y-%m}"
    return [p.label for p in periods.months_between(since, last.label, session.timezone)]


def write_index(root: Path) -> Path:
    """reports/index.html: every published report and failure, by account and month, with
    its checks; links are relative, so it opens from the file system."""
    root = Path(root)
    rows = []
    for summary_path in sorted(root.glob("*/*/summary.json")):
        folder = summary_path.parent
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        checks = summary.get("checks", {})
        failing = [name for name, ok in checks.items() if ok is False]
        status = "all checks pass" if not failing else "check: " + ", ".join(failing)
        rows.append(
            (
                folder.parent.name,
                folder.name,
                status,
                f"{folder.parent.name}/{folder.name}/monthly_report.html",
                not failing,
            )
        )
    for failed in sorted(root.glob("*/*.failed")):
        rows.append(
            (
                failed.parent.name,
                failed.name.removesuffix(".failed"),
                "the report failed",
                f"{failed.parent.name}/{failed.name}/{MONTHLY}",
                False,
            )
        )
    lines = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Stripe reports</title>',
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em 1em;text-align:left}"
        ".bad{color:#b00020}.good{color:#1b5e20}</style></head><body>",
        "<h1>Stripe reports</h1>",
        "<table><tr><th>account</th><th>month</th><th>status</th></tr>",
    ]
    for account, month, status, link, good in sorted(rows):
        cells = (
            html.escape(account),
            f'<a href="{html.escape(link)}">{html.escape(month)}</a>',
            f'<span class="{"good" if good else "bad"}">{html.escape(status)}</span>',
        )
        lines.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    lines.append("</table></body></html>")
    index = root / "index.html"
    temporary = index.with_suffix(".html.tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    temporary.replace(index)
    return index
