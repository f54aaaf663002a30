"""Airflow: the workbench's monthly reports, one task per account and month.

Each (account, month) is independent, so each is one task running the same command cron
runs, from the project's folder, with its environment file: `workbench report monthly`
exits 0 when the month is published (whole), 1 with one line naming the notebook cell when
it is not (the failed notebook kept under reports/<account>/<YYYY-MM>.failed/), 2 on bad
usage. Retries are Airflow's. Keys stay in the environment file; nothing here holds one.

Set WORKBENCH_PROJECT (the clone, with its .venv made by `make install`) and, if the env
file is elsewhere, WORKBENCH_ENV_FILE. Accounts: the names configured in that env file.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

PROJECT = os.environ.get("WORKBENCH_PROJECT", "/opt/stripe-workbench")
ENV_FILE = os.environ.get("WORKBENCH_ENV_FILE", f"{PROJECT}/.env")
ACCOUNTS = os.environ.get("WORKBENCH_ACCOUNTS", "default").split(",")

with DAG(
    dag_id="stripe_monthly_reports",
    description="Each account's Stripe report for the month before the run's date",
    # The 2nd of each month, 06:00: the month before is complete in any account's timezone.
    # A run's data interval is the month from the 2nd before, so its start names that month.
    schedule="0 6 2 * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=15)},
    tags=["stripe", "reports"],
) as dag:
    for account in ACCOUNTS:
        BashOperator(
            task_id=f"report_{account}",
            bash_command=(
                f"cd {PROJECT} && .venv/bin/workbench report monthly --account {account} "
                "--month {{ data_interval_start.strftime('%Y-%m') }}"
            ),
            env={"WORKBENCH_ENV_FILE": ENV_FILE, "PATH": os.environ.get("PATH", "")},
            append_env=True,
        )
