"""One-hot categories over every partition: the Dask engine decides the column roles on a
sample of the first rows, then takes each one-hot category's values from every row, so a
value first seen late gets its indicator as on the local engine."""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd

from somcli.prep.roles import Roles
from somcli.prep.units import UnitRule, category_text, indicator


def levels(client, parts: list, roles: Roles) -> dict[str, list[str]] | None:
    """Each one-hot category's values over every partition, sorted (None: no one-hot)."""
    sources = sorted({rule.source for rule in roles.encoded.values()})
    if not sources:
        return None
    found = client.gather(client.map(_on_levels, parts, columns=sources, pure=False))
    return {c: sorted(set().union(*(f[c] for f in found))) for c in sources}


def _on_levels(part: pd.DataFrame, columns: list[str]) -> dict[str, set]:
    return {c: set(category_text(part[c]).dropna()) for c in columns}


def with_levels(roles: Roles, levels: dict[str, list[str]], frame: pd.DataFrame,
                decimal: str) -> Roles:
    """``roles`` with every one-hot category's indicators made from ``levels`` (the values
    of the whole table, where ``roles`` saw a sample of it): the same features, rules and
    reasons :func:`decide` gives the whole table; ``frame`` (the sample) fills ``values``."""
    encoded, values, features = {}, dict(roles.values), []
    done: set[str] = set()
    for name in roles.features:
        rule = roles.encoded.get(name)
        if rule is None:
            features.append(name)
            continue
        if rule.source in done:
            continue
        done.add(rule.source)
        for level in levels[rule.source]:
            feature = f"{rule.source}={level}"
            encoded[feature] = UnitRule("", False, decimal, source=rule.source, level=level)
            values[feature] = indicator(frame[rule.source], level)
            features.append(feature)
    decisions = [replace(d, reason=re.sub(r"^category of \d+ values, one-hot encoded as \d+ ",
                                          f"category of {len(levels[d.name])} values, one-hot "
                                          f"encoded as {len(levels[d.name])} ", d.reason))
                 if d.name in levels else d for d in roles.decisions]
    return replace(roles, decisions=decisions, features=features,
                   values={f: values[f] for f in features}, encoded=encoded)


