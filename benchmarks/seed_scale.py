"""How fast the sandbox seeds a large history: the target is 1,000,000 balance transactions
in under 5 minutes on this 2-core machine. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/seed_scale.py [--scale 152] [--months 6] [--dir /tmp/seed-scale]
"""

from __future__ import annotations

import argparse
import calendar
import shutil
import time
from pathlib import Path

from workbench.sandbox import DEFAULT_KEY, seed
from workbench.sandbox.server import Api

TARGET_TRANSACTIONS = 1_000_000
TARGET_SECONDS = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=152.0)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--dir", default="/tmp/workbench-seed-scale")
    args = parser.parse_args()
    directory = Path(args.dir)
    shutil.rmtree(directory, ignore_errors=True)
    store = Api(directory, DEFAULT_KEY).store("default")
    until = calendar.timegm((2026, 11, 1, 0, 0, 0))
    started = time.perf_counter()
    truth = seed.seed(
        store,
        until=until,
        months=args.months,
        seed=1,
        scale=args.scale,
        files=directory,
    )
    seconds = time.perf_counter() - started
    objects = truth["objects"]
    transactions = objects["balance_transaction"]
    size = sum(p.stat().st_size for p in (directory / "sandbox").iterdir()) / 2**30
    print(
        f"seeded {args.months} months at scale {args.scale} in {truth['parts']} process(es): "
        f"{objects['charge']:,} charges, "
        f"{transactions:,} balance transactions, {sum(objects.values()):,} objects"
    )
    print(
        f"time: {seconds:.1f} s ({transactions / seconds:,.0f} balance transactions/s, "
        f"{seconds / transactions * 1e6:.0f} us each); state on disk: {size:.1f} GiB"
    )
    per_million = seconds / transactions * TARGET_TRANSACTIONS
    print(
        f"1,000,000 balance transactions at this rate: {per_million:.0f} s "
        f"(target < {TARGET_SECONDS} s: {'met' if per_million < TARGET_SECONDS else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
