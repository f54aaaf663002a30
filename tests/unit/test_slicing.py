"""How a long slice is shared among idle threads: pure decisions, worked by hand."""

from __future__ import annotations

import pytest

from workbench.sync import Slice, SliceQueue, cut_points, parts_wanted

DAY = 86400


def test_a_dense_page_over_a_long_range_fans_out_to_every_idle_thread():
    # 100 objects in 1,000 s: 0.1/s; 100 days left is 864,000 objects, 8,640 pages.
    assert parts_wanted(100, 2_000_000, 1_999_000, 1_999_000 - 100 * DAY, idle=7, page=100) == 8


def test_a_burst_counts_as_a_minute_and_does_not_fan_out():
    # 100 objects made in one second count as 100 a minute: 10 days left is ~14,400 pages
    # at 1.67/s; but the same page over 2 hours (0.0139/s) leaves 120 pages: 40 parts.
    burst = parts_wanted(100, 1_000_001, 1_000_000, 1_000_000 - 10 * DAY, idle=50, page=100)
    assert burst == 51
    slow = parts_wanted(100, 1_007_200, 1_000_000, 1_000_000 - 10 * DAY, idle=50, page=100)
    assert slow == 40


def test_little_left_keeps_the_slice_whole():
    # 100 objects a day, 4 days left: 400 objects, guessed as 5 pages (rounded up): fewer
    # than 3 a part for 2 parts. 5 days left would make 6 pages: 2 parts.
    assert parts_wanted(100, 1_000_000, 1_000_000 - DAY, 1_000_000 - 5 * DAY, idle=8, page=100) == 1
    assert parts_wanted(100, 1_000_000, 1_000_000 - DAY, 1_000_000 - 6 * DAY, idle=8, page=100) == 2
    assert parts_wanted(100, 1_000_000, 999_000, 0, idle=0, page=100) == 1


def test_cut_points_share_the_range_equally():
    assert cut_points(0, 1000, 4, history_start=0) == [0, 250, 500, 750]


def test_cut_points_start_where_the_account_begins():
    # Nothing is older than the account: [0, 600) is one cheap slice, [600, 1000] is shared.
    assert cut_points(0, 1000, 2, history_start=600) == [0, 600, 800]


def test_a_range_too_short_to_cut_stays_whole():
    assert cut_points(10, 11, 4, history_start=0) == []


def test_the_queue_hands_out_newest_first_and_takes_back_cut_parts():
    queue = SliceQueue([Slice("charges", 1, 0, 10), Slice("charges", 2, 10, 20)], threads=1)
    done = []

    def work(part: Slice) -> None:
        done.append(part.id)
        if part.id == 2:
            queue.give([Slice("charges", 3, 10, 15)])

    queue.run(work)
    assert done == [2, 1, 3]


def test_the_first_error_stops_the_work_and_is_raised():
    queue = SliceQueue([Slice("charges", n, n, n + 1) for n in range(50)], threads=1)
    started = []

    def work(part: Slice) -> None:
        started.append(part.id)
        if part.id == 45:
            raise ValueError("page failed")

    with pytest.raises(ValueError, match="page failed"):
        queue.run(work)
    assert started == [49, 48, 47, 46, 45]
