"""Column roles over every partition. The Dask engine reads a sample of the first rows,
then adds up each column's totals over every partition (:mod:`somcli.prep.column_totals`:
missing and distinct values, range, whole numbers, counters) and decides the roles from
them as the local engine does from the whole table; then takes each one-hot category's
values from those totals, so a value first seen late gets its indicator as locally."""

from __future__ import annotations

import numpy as np
import pandas as pd

from somcli.backends.dask_cluster.client import map_on
from somcli.prep import column_totals as CT
from somcli.prep.roles import Roles
from somcli.prep.units import category_text


def levels(totals: dict[str, CT.Totals], roles: Roles) -> dict[str, list[str]] | None:
    """Each one-hot category's values over every partition, sorted (None: no one-hot), for
    ``prep.roles.decide(..., levels=)``: from the distinct values the totals hold (a
    category has at most 50, well under :data:`~somcli.prep.column_totals.CAP`)."""
    sources = sorted({rule.source for rule in roles.encoded.values()})
    if not sources:
        return None
    return {c: sorted(set(category_text(pd.Series(list(totals[c].values),
                                                  dtype=object)).dropna()))
            for c in sources if totals[c].values is not None}


def totals(client, parts: list, roles: Roles, sample_rows: int, decimal: str
           ) -> dict[str, CT.Totals]:
    """Each column's totals over every partition, in row order; the exact number of
    distinct values where a rule needs it past :data:`~somcli.prep.column_totals.CAP`."""
    spec = [(d.name, d.kind, d.rule) for d in roles.decisions]
    found = CT.combine(client.gather(map_on(client, CT.block_totals, parts, columns=spec,
                                                decimal=decimal)))
    for d in roles.decisions:
        if CT.needs_exact_count(found[d.name], d.unique, sample_rows):
            values = client.gather(map_on(client, _on_distinct, parts, column=d.name))
            found[d.name] = CT.counted(found[d.name], len(np.unique(np.concatenate(values))))
    return found


def _on_distinct(part: pd.DataFrame, column: str) -> np.ndarray:
    return pd.unique(part[column].dropna().to_numpy())
