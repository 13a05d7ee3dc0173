"""One-hot categories over every partition: the Dask engine decides the column roles on a
sample of the first rows, then takes each one-hot category's values from every row, so a
value first seen late gets its indicator as on the local engine."""

from __future__ import annotations

import pandas as pd

from somcli.prep.roles import Roles
from somcli.prep.units import category_text


def levels(client, parts: list, roles: Roles) -> dict[str, list[str]] | None:
    """Each one-hot category's values over every partition, sorted (None: no one-hot), for
    ``prep.roles.decide(..., levels=)``."""
    sources = sorted({rule.source for rule in roles.encoded.values()})
    if not sources:
        return None
    found = client.gather(client.map(_on_levels, parts, columns=sources, pure=False))
    return {c: sorted(set().union(*(f[c] for f in found))) for c in sources}


def _on_levels(part: pd.DataFrame, columns: list[str]) -> dict[str, set]:
    return {c: set(category_text(part[c]).dropna()) for c in columns}
