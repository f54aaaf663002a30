"""An account's months: calendar months in its Dashboard timezone, as Stripe's own reports
count them (a charge at 00:30 on the 1st in Auckland is that month's, though UTC still says
the last day of the month before)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workbench.exceptions import WorkbenchError


@dataclass(frozen=True)
class Period:
    """A calendar month of an account: [start, end) in its timezone."""

    label: str  # "2026-10"
    start: datetime
    end: datetime
    timezone: str


def month_bounds(
    month: str | None, timezone: str = "Etc/UTC", now: datetime | None = None
) -> Period:
    """'2026-10' as the account's month; None is the last complete month there."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise WorkbenchError(
            f"unknown timezone {timezone!r}: use an IANA name such as Europe/Berlin"
        ) from None
    if month is None:
        today = (now or datetime.now(UTC)).astimezone(zone)
        year, number = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    else:
        match = re.fullmatch(r"(\d{4})-(\d{2})", month)
        if (
            not match
            or not 1 <= int(match.group(2)) <= 12
            or not 1970 <= int(match.group(1)) < 9999
        ):
            raise WorkbenchError(f"month {month!r} is not of the form YYYY-MM, e.g. 2026-10")
        year, number = int(match.group(1)), int(match.group(2))
    following = (year + 1, 1) if number == 12 else (year, number + 1)
    return Period(
        f"{year:04d}-{number:02d}",
        datetime(year, number, 1, tzinfo=zone),
        datetime(*following, 1, tzinfo=zone),
        timezone,
    )


def months_between(first: str, last: str, timezone: str = "Etc/UTC") -> list[Period]:
    """Every month from `first` to `last` (YYYY-MM), both included."""
    months, current = [], month_bounds(first, timezone)
    while current.label <= last:
        months.append(current)
        current = month_bounds(f"{current.end:%Y-%m}", timezone)
    return months
