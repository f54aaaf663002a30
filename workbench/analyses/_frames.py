"""Small steps every analysis takes: local days, integer totals, empty results."""

from __future__ import annotations

import numpy as np
import pandas as pd


def local_day(moments: pd.Series, timezone: str) -> pd.Series:
    """The account's calendar day of each UTC moment (a `date`, NaT where none). A month
    has a few dozen days: each is made once and shared, not made a million times."""
    local = moments.dt.tz_convert(timezone).dt.tz_localize(None).dt.floor("D")
    codes, days = pd.factorize(local)
    dates = np.array([*(day.date() for day in days), pd.NaT], dtype=object)
    return pd.Series(dates[codes], index=moments.index, dtype=object)


def totals(frame: pd.DataFrame, by: list[str], money: list[str]) -> pd.DataFrame:
    """Count and integer sums of `money` per group (empty groups left out), as a flat
    frame; an empty input gives an empty frame with these columns."""
    columns = [*by, "count", *money]
    if frame.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c not in by else "object") for c in columns}
        )
    grouped = frame.groupby(by, observed=True, dropna=False)
    result = (
        grouped[money].sum().astype("int64") if money else pd.DataFrame(index=grouped.size().index)
    )
    result.insert(0, "count", grouped.size().astype("int64"))
    result = result.reset_index()
    for column in by:
        if isinstance(result[column].dtype, pd.CategoricalDtype):
            result[column] = result[column].astype("object")
    return result[columns]


def ratio(part: pd.Series, whole: pd.Series) -> pd.Series:
    """part / whole as a float share, 0 where the whole is 0."""
    whole = whole.astype("int64")
    return (part.astype("int64") / whole.where(whole != 0)).fillna(0.0)


def lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """values[key] for each key (missing where the key is unknown or missing), keeping the
    values' type; `values` is indexed by unique ids. Unlike Series.map, it copes with no
    values at all."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("object")
    return values.reindex(keys.to_numpy()).set_axis(keys.index)


def named(table: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """The rows of `table` whose id is among `ids`, indexed by id: a few ids among a million
    rows pick those rows out, rather than index them all."""
    return table[table["id"].isin(ids)].set_index("id")


class Rows:
    """The rows of `table` (indexed by unique id) that `keys` name, found once with one
    hash lookup; each column is then taken by position, aligned with `keys`, missing where
    a key is unknown (integers stay integers, as pandas' nullable Int64)."""

    def __init__(self, table: pd.DataFrame, keys: pd.Series):
        self.table = table
        self.index = keys.index
        # Only the keys present are looked up: most rows name no refund or dispute.
        self.positions = np.full(len(keys), -1, dtype=np.intp)
        present = keys.notna().to_numpy()
        if len(table) and present.any():
            self.positions[present] = table.index.get_indexer(keys.to_numpy()[present])
        self.found = self.positions >= 0

    def __getitem__(self, column: str) -> pd.Series:
        values = self.table[column] if column in self.table else pd.Series(dtype=object)
        if not len(values):
            return pd.Series(np.full(len(self.index), None), index=self.index, dtype=object)
        if values.dtype == "int64":
            taken = values.to_numpy()[np.where(self.found, self.positions, 0)]
            return pd.Series(pd.arrays.IntegerArray(taken, ~self.found), index=self.index)
        # An array's own take keeps its type (timestamps stay timestamps, not a million
        # Python objects); -1 is a missing value.
        taken = pd.Series(values.array.take(self.positions, allow_fill=True), index=self.index)
        if isinstance(values.dtype, pd.CategoricalDtype):
            return taken.astype("object")
        return taken
