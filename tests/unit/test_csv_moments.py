"""write_csv formats UTC moments itself (pandas takes seconds per million); the file must
read exactly as pandas would have written it."""

from __future__ import annotations

import pandas as pd

from workbench import exports


def test_moments_are_written_as_pandas_writes_them(tmp_path):
    frame = pd.DataFrame(
        {
            "created_utc": pd.to_datetime([1_790_812_801, None, 1_793_491_199], unit="s", utc=True),
            "all_missing": pd.Series([pd.NaT] * 3, dtype="datetime64[us, UTC]"),
            "fractional": pd.to_datetime([1.5, 2.0, 3.25], unit="s", utc=True),
            "auckland": pd.to_datetime([0, 86400 * 200, 2], unit="s", utc=True).tz_convert(
                "Pacific/Auckland"
            ),
            "currency": ["usd", "usd", "jpy"],
        }
    )
    written = exports.write_csv(frame, tmp_path / "moments.csv").read_text()
    assert written == frame.to_csv(index=False)
    assert written.splitlines()[1].startswith("2026-10-01 00:00:01+00:00,,")
