"""What the column-role rules read of each column, as totals that add up block by block.

The local engine takes them over its one block; the Dask engine over every partition, in
row order, so that it decides each column's role from all rows as the local engine does
(:func:`somcli.prep.roles.decide` with ``totals=``). Everything here is exact except the
distinct values, which are kept while there are at most :data:`CAP` of them: past that a
column has "many" values, and no rule that needs few values applies (a category has at
most 50). The counts the identifier and shuffled-counter rules need past CAP (every value
distinct) are counted exactly by the engine (:func:`needs_exact_count`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

CAP = 1_000  # distinct values kept exactly per column


@dataclass(frozen=True)
class Facts:
    """A numeric column's values as the rules see them: how many, their range and mean,
    whether they are whole numbers, and how they run from row to row (counters)."""

    n: int  # rows
    finite: int  # finite values
    lo: float  # over the finite values (nan: none)
    hi: float
    total: float  # their sum
    whole: bool  # every finite value a whole number (true of none)
    first: float  # the first and last row's values (nan: missing)
    last: float
    ups: int  # consecutive rows whose value goes up by exactly one (whole numbers only)
    restarts: int  # consecutive rows whose value does not
    restart_lo: float  # lowest and highest value after such a row (nan: none)
    restart_hi: float

    @property
    def mean(self) -> float:
        return self.total / self.finite if self.finite else math.nan

    @property
    def integral(self) -> bool:
        """Whole numbers, at least one (the rules' "integer" kind)."""
        return self.finite > 0 and self.whole

    @property
    def all_finite(self) -> bool:
        return self.finite == self.n


def facts_of(values: np.ndarray) -> Facts:
    """The facts of one block of a column's float values, in row order. How the values run
    from row to row is followed for whole numbers only (the counter rules read nothing
    else)."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    good = v if ok.all() else v[ok]
    n = len(v)
    if n == 0:
        return Facts(0, 0, math.nan, math.nan, 0.0, True, math.nan, math.nan, 0, 0,
                     math.nan, math.nan)
    whole = _whole(good)
    ups = restarts = 0
    restart_lo = restart_hi = math.nan
    if whole:
        up = np.diff(v) == 1
        after = v[1:][~up]
        ups, restarts = int(up.sum()), int(len(after))
        if len(after):
            restart_lo, restart_hi = float(np.min(after)), float(np.max(after))
    return Facts(n, int(good.size), float(good.min()) if good.size else math.nan,
                 float(good.max()) if good.size else math.nan, float(good.sum()), whole,
                 float(v[0]), float(v[-1]), ups, restarts, restart_lo, restart_hi)


def _whole(good: np.ndarray) -> bool:
    """Every value a whole number (a fraction among the first few thousand ends it)."""
    head = good[:4096]
    if not np.all(head == np.round(head)):
        return False
    return bool(np.all(good == np.round(good)))


def add_facts(a: Facts, b: Facts) -> Facts:
    """``a``'s rows followed by ``b``'s."""
    if a.n == 0 or b.n == 0:
        return b if a.n == 0 else a
    up = b.first - a.last == 1
    ups, restarts = a.ups + b.ups + up, a.restarts + b.restarts + (not up)
    seam = [] if up else [b.first]
    after = [x for x in (a.restart_lo, a.restart_hi, b.restart_lo, b.restart_hi, *seam)
             if not math.isnan(x)]
    return Facts(a.n + b.n, a.finite + b.finite, np.fmin(a.lo, b.lo).item(),
                 np.fmax(a.hi, b.hi).item(), a.total + b.total, a.whole and b.whole,
                 a.first, b.last, ups, restarts, min(after) if after else math.nan,
                 max(after) if after else math.nan)


@dataclass(frozen=True)
class Totals:
    """A column over every row: its missing values, its distinct values (at most CAP, or
    an exact count, or None: many), and its numeric facts (None for text)."""

    n: int
    missing: int
    values: frozenset | None  # the distinct values (not missing) while at most CAP
    facts: Facts | None
    count: int | None = None  # the exact number of distinct values, counted past CAP

    @property
    def unique(self) -> int | None:
        return len(self.values) if self.values is not None else self.count


def totals_of(series: pd.Series, numbers: np.ndarray | None) -> Totals:
    """One block's totals of a column; ``numbers``: its values as floats (numeric kinds)."""
    facts = facts_of(numbers) if numbers is not None else None
    present = series.dropna()
    distinct = pd.unique(present.to_numpy())
    values = frozenset(distinct.tolist()) if len(distinct) <= CAP else None
    return Totals(len(series), int(len(series) - len(present)), values, facts)


def add_totals(a: Totals, b: Totals) -> Totals:
    """``a``'s rows followed by ``b``'s."""
    values = None
    if a.values is not None and b.values is not None:
        union = a.values | b.values
        values = union if len(union) <= CAP else None
    facts = add_facts(a.facts, b.facts) if a.facts is not None and b.facts is not None \
        else None
    return Totals(a.n + b.n, a.missing + b.missing, values, facts)


def combine(parts: list[dict[str, Totals]]) -> dict[str, Totals]:
    """Each column's totals over blocks given in row order."""
    out = dict(parts[0])
    for part in parts[1:]:
        out = {c: add_totals(out[c], part[c]) for c in out}
    return out


def needs_exact_count(t: Totals, sample_unique: int | None, sample_rows: int) -> bool:
    """A whole-number column of many values whose sample is (nearly) all distinct: the
    identifier and shuffled-counter rules need its exact count of distinct values."""
    return (t.values is None and t.facts is not None and t.facts.integral
            and sample_unique is not None and sample_unique >= 0.98 * sample_rows)


def counted(t: Totals, count: int) -> Totals:
    return replace(t, count=count)


NUMERIC_KINDS = ("number", "integer", "empty", "boolean", "date")


def block_totals(frame: pd.DataFrame, columns: list[tuple], decimal: str) -> dict[str, Totals]:
    """One block's totals of each ``(name, kind, unit rule)`` (the kinds a sample of the
    table was read as: a numeric kind's values are parsed as numbers, by its unit rule
    when it has one)."""
    from somcli.prep.units import apply_rule, read_text_column

    out = {}
    for name, kind, rule in columns:
        series = frame[name]
        numbers = None
        if kind in NUMERIC_KINDS:
            if rule is not None:
                numbers = apply_rule(series, rule)
            elif pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
            else:  # read as text: plain numbers, else numbers with a unit
                numbers = pd.to_numeric(series, errors="coerce").to_numpy(np.float64)
                if np.isnan(numbers).sum() > series.isna().sum():
                    text = read_text_column(series, decimal)
                    numbers = text.values if text.values is not None else numbers
        out[name] = totals_of(series, numbers)
    return out
