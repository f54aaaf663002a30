"""`workbench schedule`: the line cron runs works from any folder, installing it twice
keeps one, and a user's other crontab lines and keys are left alone."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from tests.integration.test_cli import run
from workbench import schedule

KEY = "sk_test_" + "Sch3dul3" * 4


def _script(path: Path, text: str) -> Path:
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_scheduled_line_runs_report_due_from_the_project_with_its_env_file(tmp_path):
    """Run through sh as cron would: from the project's folder (spaces and % in its name),
    with the env file, appending to reports/cron.log run after run."""
    root = tmp_path / "books 100% ours"
    root.mkdir()
    env_file = tmp_path / "keys folder" / "shop.env"
    env_file.parent.mkdir()
    env_file.write_text(f"STRIPE_SECRET_KEY={KEY}\n")
    seen = tmp_path / "seen"
    fake = _script(
        tmp_path / "work bench",
        f'printf "%s|%s|%s\\n" "$PWD" "$WORKBENCH_ENV_FILE" "$*" >> "{seen}"\necho ran "$@"\n',
    )
    line = schedule.crontab_line(schedule.Run(root, env_file, fake, (6, 15)))
    fields = line.split(" ", 5)
    assert fields[:5] == ["15", "6", "*", "*", "*"] and line.endswith(schedule.MARK)
    command = fields[5].removesuffix(schedule.MARK).replace("\\%", "%")  # as cron passes it
    for _ in range(2):
        subprocess.run(["/bin/sh", "-c", command], check=True, timeout=30, cwd=tmp_path)
    assert seen.read_text().splitlines() == [f"{root}|{env_file}|report due"] * 2
    assert (root / "reports" / "cron.log").read_text() == "ran report due\n" * 2


def test_install_keeps_one_workbench_line_and_the_users_others(tmp_path):
    table = tmp_path / "crontab.txt"
    table.write_text("0 1 * * * backup.sh\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(
        bin_dir / "crontab",
        f'if [ "$1" = "-l" ]; then cat "{table}"; else cat > "{table}"; fi\n',
    )
    env_file = tmp_path / "shop.env"
    env_file.write_text(f"STRIPE_SECRET_KEY={KEY}\n")
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "WORKBENCH_ENV_FILE": str(env_file),
        "WORKBENCH_DATA_DIR": str(tmp_path / "data"),
    }
    first = run("schedule", "--install", "--at", "05:30", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "added a crontab line"
    again = run("schedule", "--install", "--at", "07:45", env=env)
    assert again.stdout.strip() == "replaced the workbench's crontab line"
    lines = table.read_text().splitlines()
    assert lines[0] == "0 1 * * * backup.sh" and len(lines) == 2
    assert lines[1].startswith("45 7 * * * ") and lines[1].endswith(schedule.MARK)
    assert f"WORKBENCH_ENV_FILE={env_file}" in lines[1] and "report due" in lines[1]
    assert KEY not in table.read_text() + first.stdout + again.stdout + again.stderr


def test_systemd_units_are_written_and_the_timer_started(tmp_path):
    calls = tmp_path / "systemctl.calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir / "systemctl", f'echo "$*" >> "{calls}"\n')
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        "WORKBENCH_DATA_DIR": str(tmp_path / "data"),
    }
    shown = run("schedule", "--systemd", "--at", "23:05", env=env)
    assert "OnCalendar=*-*-* 23:05:00" in shown.stdout and not calls.exists()
    done = run("schedule", "--systemd", "--install", "--at", "23:05", env=env)
    assert done.returncode == 0, done.stderr
    units = tmp_path / "home" / ".config" / "systemd" / "user"
    timer = (units / "stripe-workbench-reports.timer").read_text()
    service = (units / "stripe-workbench-reports.service").read_text()
    assert "OnCalendar=*-*-* 23:05:00" in timer and "Persistent=true" in timer
    assert "report due >>" in service and "ExecStart=/bin/sh -c " in service
    assert calls.read_text().splitlines() == [
        "--user daemon-reload",
        "--user enable --now stripe-workbench-reports.timer",
    ]


def test_no_crontab_or_systemctl_is_one_line_saying_what_to_do(tmp_path):
    env = {"PATH": str(tmp_path), "WORKBENCH_DATA_DIR": str(tmp_path / "data")}
    result = run("schedule", "--install", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "workbench: error: no `crontab` here: install cron, or use --systemd for a systemd "
        "user timer"
    ]
    home = tmp_path / "home"
    result = run("schedule", "--install", "--systemd", env=env | {"HOME": str(home)})
    units = home / ".config" / "systemd" / "user"
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"workbench: error: no `systemctl` here: the units are in {units}; use cron instead "
        "(without --systemd)"
    ]
