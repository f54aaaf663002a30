"""Events: what happened on the account, by type and day. Stripe keeps 30 days of them;
webhooks deliver the same objects as they happen."""

from __future__ import annotations

import pandas as pd

from workbench.analyses._frames import local_day, totals


def by_type(events: pd.DataFrame) -> pd.DataFrame:
    """How many events of each type, commonest first."""
    return totals(events, ["type"], []).sort_values(
        ["count", "type"], ascending=[False, True], ignore_index=True
    )


def by_day(events: pd.DataFrame, timezone: str, top: int = 6) -> pd.DataFrame:
    """Per day (the account's) and type: how many; beyond the `top` commonest types, the
    rest are counted together as "other"."""
    commonest = by_type(events)["type"].head(top)
    kinds = events["type"].astype("object")
    frame = pd.DataFrame(
        {
            "day": local_day(events["created"], timezone),
            "type": kinds.where(kinds.isin(commonest), "other"),
        }
    )
    return totals(frame, ["day", "type"], []).sort_values(["day", "type"], ignore_index=True)
