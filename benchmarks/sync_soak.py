"""Soak the sync: hundreds of seeded random histories (tests/random_changes.py), each ending
with the store compared to the API object for object. Prints how many histories and objects
were compared and stops at the first difference. Not part of the test run.

    .venv/bin/python benchmarks/sync_soak.py [--seeds 300] [--first 1000] [--steps 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.random_changes import History  # noqa: E402
from workbench import sandbox  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--first", type=int, default=1000, help="the first seed")
    parser.add_argument("--steps", type=int, default=60, help="changes and syncs per history")
    args = parser.parse_args()
    started = time.monotonic()
    compared = 0
    with tempfile.TemporaryDirectory() as folder, sandbox.start(Path(folder) / "sandbox") as server:
        for seed in range(args.first, args.first + args.seeds):
            key = f"{server.api_key}_soak{seed}"
            try:
                compared += History(server.url, key, Path(folder) / f"store{seed}", seed).run(
                    args.steps
                )
            except AssertionError as failure:
                print(f"seed {seed}: the store differs from the API: {failure}")
                sys.exit(1)
            done = seed - args.first + 1
            if done % 25 == 0 or done == args.seeds:
                print(
                    f"{done:4d} histories, {compared:,} objects compared, "
                    f"{time.monotonic() - started:.0f} s",
                    flush=True,
                )
    print(f"all {args.seeds} histories ended with the store equal to the API")


if __name__ == "__main__":
    main()
