"""The charts on small hand-made tables: one panel per currency, amounts drawn in major
units (hand-converted here), every panel titled with labelled axes and its currency."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from workbench import plots


def title(axis) -> str:
    return axis.get_title("left")  # the workbench's style puts titles on the left


def panels(figure):
    return [axis for axis in figure.axes if title(axis)]


def labelled(figure) -> None:
    for axis in panels(figure):
        assert title(axis) and axis.get_xlabel() and axis.get_ylabel()


def test_daily_volume_draws_each_currency_in_its_own_major_units():
    daily = pd.DataFrame(
        {
            "day": [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 1)],
            "currency": ["usd", "usd", "jpy"],
            "attempts": [3, 1, 2],
            "succeeded": [3, 1, 2],
            "failed": [0, 0, 0],
            "captured": [123456, 5000, 9800],
        }
    )
    figure = plots.daily_volume(daily)
    jpy, usd = panels(figure)
    assert "JPY" in title(jpy) and "(JPY)" in jpy.get_ylabel()
    assert [bar.get_height() for bar in usd.patches] == [1234.56, 50.0]
    assert [bar.get_height() for bar in jpy.patches] == [9800.0]  # no decimals in JPY
    labelled(figure)


def test_fees_by_category_and_by_type():
    by_category = pd.DataFrame(
        {
            "reporting_category": ["charge", "dispute", "refund"],
            "currency": ["kwd", "kwd", "kwd"],
            "count": [2, 1, 1],
            "gross": [10000, -5000, -100],
            "fee": [1234, 15000, 0],
            "net": [8766, -20000, -100],
        }
    )
    (axis,) = panels(plots.fees(by_category))
    assert sorted(bar.get_width() for bar in axis.patches) == [1.234, 15.0]  # three decimals
    assert "(KWD)" in axis.get_xlabel()
    by_type = pd.DataFrame({"currency": ["usd"], "fee_type": ["stripe_fee"], "amount": [59]})
    (axis,) = panels(plots.fees(by_type, by="fee_type", amount="amount"))
    assert [bar.get_width() for bar in axis.patches] == [0.59]


def test_payout_timeline_runs_from_creation_to_arrival_by_status():
    payouts = pd.DataFrame(
        {
            "id": ["po_1", "po_2"],
            "created": pd.to_datetime([datetime(2026, 10, 1, tzinfo=UTC)] * 2),
            "arrival_date": pd.to_datetime(
                [datetime(2026, 10, 3, tzinfo=UTC), datetime(2026, 10, 5, tzinfo=UTC)]
            ),
            "amount": [250000, 1000],
            "currency": ["eur", "eur"],
            "status": ["paid", "failed"],
        }
    )
    figure = plots.payout_timeline(payouts)
    (axis,) = panels(figure)
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert legend == ["failed", "paid"]
    dots = [c for c in axis.collections if isinstance(c, PathCollection)]  # arrival marks
    heights = sorted(float(y) for c in dots for y in c.get_offsets()[:, 1])
    assert heights == [10.0, 2500.0]
    labelled(figure)


def test_authorization_aging_counts_every_bucket():
    aging = pd.DataFrame(
        {
            "bucket": ["expired", "within 24 h", "within 72 h", "later"],
            "currency": ["usd"] * 4,
            "count": [0, 2, 0, 1],
            "amount": [0, 3000, 0, 999],
        }
    )
    figure = plots.authorization_aging(aging)
    (axis,) = panels(figure)
    assert [bar.get_height() for bar in axis.patches] == [0, 2, 0, 1]
    assert [t.get_text() for t in axis.texts if t.get_text()] == ["30.00", "9.99"]
    labelled(figure)


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plots.daily_volume(pd.DataFrame(columns=["day", "currency", "captured"])),
        lambda: plots.payout_timeline(
            pd.DataFrame(columns=["created", "arrival_date", "amount", "currency", "status"])
        ),
        lambda: plots.authorization_aging(
            pd.DataFrame(columns=["bucket", "currency", "count", "amount"])
        ),
    ],
)
def test_an_empty_period_says_so_instead_of_failing(draw):
    figure = draw()
    assert any("nothing in this period" in t.get_text() for a in figure.axes for t in a.texts)
