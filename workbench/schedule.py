"""The reports on a schedule: a crontab line or a systemd user timer that runs
`workbench report due` each day from the project's folder, with its environment file,
appending what it says to reports/cron.log. `report due` does nothing when every complete
month has its report, and a second run while one works leaves at once, so a daily run is
safe however long a month takes."""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from workbench.exceptions import WorkbenchError

MARK = "# stripe-workbench: monthly reports"
UNIT = "stripe-workbench-reports"


@dataclass(frozen=True)
class Run:
    """What the schedule runs: from `root`, with `env_file` (None: the project's own .env,
    if any), this environment's `executable`, each day at `at` (hour, minute)."""

    root: Path
    env_file: Path | None
    executable: Path
    at: tuple[int, int]

    def command(self) -> str:
        """The shell line, every path quoted (a project folder may have spaces)."""
        log = self.root / "reports" / "cron.log"
        env = f"WORKBENCH_ENV_FILE={shlex.quote(str(self.env_file))} " if self.env_file else ""
        return (
            f"mkdir -p {shlex.quote(str(log.parent))} && cd {shlex.quote(str(self.root))} && "
            f"{env}{shlex.quote(str(self.executable))} report due >> {shlex.quote(str(log))} 2>&1"
        )


def crontab_line(run: Run) -> str:
    hour, minute = run.at
    command = run.command().replace("%", "\\%")  # cron reads an unescaped % as a newline
    return f"{minute} {hour} * * * {command} {MARK}"


def systemd_units(run: Run) -> dict[str, str]:
    """A user service and its daily timer (file name -> text)."""
    hour, minute = run.at
    # systemd reads % as a specifier and $ as a variable unless doubled
    line = shlex.quote(run.command()).replace("%", "%%").replace("$", "$$")
    return {
        f"{UNIT}.service": (
            "[Unit]\nDescription=stripe-workbench: every complete month's report\n\n"
            "[Service]\nType=oneshot\n"
            f"ExecStart=/bin/sh -c {line}\n"
        ),
        f"{UNIT}.timer": (
            "[Unit]\nDescription=stripe-workbench reports, daily\n\n"
            f"[Timer]\nOnCalendar=*-*-* {hour:02d}:{minute:02d}:00\nPersistent=true\n\n"
            "[Install]\nWantedBy=timers.target\n"
        ),
    }


def install_crontab(line: str) -> str:
    """Put `line` in the user's crontab, replacing an earlier workbench line; returns what
    happened in words."""
    try:
        current = subprocess.run(["crontab", "-l"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise WorkbenchError(
            "no `crontab` here: install cron, or use --systemd for a systemd user timer"
        ) from None
    kept = [entry for entry in current.stdout.splitlines() if not entry.endswith(MARK)]
    replaced = len(kept) != len(current.stdout.splitlines())
    written = subprocess.run(
        ["crontab", "-"], input="\n".join([*kept, line]) + "\n", text=True, timeout=30
    )
    if written.returncode:
        raise WorkbenchError("crontab refused the new line; see `crontab -l`")
    return "replaced the workbench's crontab line" if replaced else "added a crontab line"


def install_systemd(units: dict, folder: Path) -> str:
    """Write the units into the user's systemd folder and start the timer."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in units.items():
        (folder / name).write_text(text, encoding="utf-8")
    for step in (["daemon-reload"], ["enable", "--now", f"{UNIT}.timer"]):
        try:
            done = subprocess.run(
                ["systemctl", "--user", *step], capture_output=True, text=True, timeout=60
            )
        except FileNotFoundError:
            raise WorkbenchError(
                f"no `systemctl` here: the units are in {folder}; use cron instead (without "
                "--systemd)"
            ) from None
        if done.returncode:
            raise WorkbenchError(
                f"systemctl --user {' '.join(step)} failed: {done.stderr.strip()[:200]}"
            )
    return f"installed and started {UNIT}.timer"


def executable() -> Path:
    """This environment's `workbench` command."""
    return Path(sys.executable).with_name("workbench")
