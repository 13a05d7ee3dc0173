"""The cleaning's statistics, written once for every backend: partial sums of a block of raw
values, their combination in block order, then the fill values and the scaler from the
totals.

The local backend runs these on its one block, the Dask backend on each partition (its
workers) and combines them here. Order statistics (medians, quartiles, modes) come from
the caller: exact over the rows in this process, or by the Dask backend's exact
distributed quantiles; the rules that pick the value (which statistic, the smallest of
equally frequent values, the constant-column rule) are here only.

Per column, the moments are over the present values (NaN is absent) with numpy's
one-dimensional sums, so one block gives exactly numpy's ``mean`` and ``std``; blocks are
combined by Chan's parallel rule (numerically stable).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from somcli.config import SCALES
from somcli.errors import UsageError

#: how close to 0 a spread may be, relative to its centre, before a column counts as
#: constant and is left unscaled (scikit-learn's rule)
CONSTANT = 10 * np.finfo(np.float64).eps
QUARTILES = (0.25, 0.5, 0.75)  # what RobustScaler centres on (the median) and spans


def moments(values: np.ndarray) -> dict:
    """Per column of ``values`` (rows x columns, NaN absent): the present count, mean, sum
    of squared deviations from that mean (M2), min and max."""
    d = values.shape[1]
    n, mean, m2 = np.zeros(d), np.zeros(d), np.zeros(d)
    lo, hi = np.full(d, np.inf), np.full(d, -np.inf)
    for j in range(d):
        col = np.asarray(values[:, j], dtype=np.float64)
        gaps = np.isnan(col)
        present = col[~gaps] if gaps.any() else col  # no copy of a column without gaps
        if present.size:
            n[j] = present.size
            mean[j] = present.sum() / present.size
            lo[j], hi[j] = present.min(), present.max()
            # squared deviations in place where ``present`` is a copy (a float32 column
            # cast, or the present values): one column-sized array at a time (4M rows)
            if present is not col or not np.shares_memory(col, values):
                present -= mean[j]
                deviation = present
            else:  # a view of the caller's column: left as it is
                deviation = present - mean[j]
            deviation *= deviation
            m2[j] = deviation.sum()
    return {"n": n, "mean": mean, "m2": m2, "min": lo, "max": hi}


def combine(parts: list[dict]) -> dict:
    """The moments of every block together (Chan's parallel rule, in block order; one
    block is returned as it is)."""
    if len(parts) == 1:
        return dict(parts[0])
    n = np.zeros_like(parts[0]["n"])
    mean = np.zeros_like(parts[0]["mean"])
    m2 = np.zeros_like(parts[0]["m2"])
    for p in parts:
        nb = p["n"]
        tot = n + nb
        delta = p["mean"] - mean
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.divide(nb, tot, where=tot > 0, out=np.zeros_like(tot))
            mean = np.where(tot > 0, mean + delta * share, 0.0)
            m2 = m2 + p["m2"] + np.where(tot > 0, delta ** 2 * n * nb / np.where(tot > 0, tot, 1),
                                         0.0)
        n = tot
    return {"n": n, "mean": mean, "m2": m2,
            "min": np.min([p["min"] for p in parts], axis=0),
            "max": np.max([p["max"] for p in parts], axis=0)}


def describe(total: dict, j: int, rows: int) -> dict:
    """What the report and ``assign``'s drift say of raw column ``j``: share missing,
    mean and (population) SD of its present values."""
    n = float(total["n"][j])
    return {"missing_share": (rows - n) / rows if rows else 0.0,
            "mean": float(total["mean"][j]) if n else None,
            "sd": float(np.sqrt(total["m2"][j] / n)) if n else None}


def fill_value(method: str, total: dict, j: int, median: Callable[[], float],
               modes: Callable[[], tuple[np.ndarray, np.ndarray]]) -> float:
    """The value a gap of column ``j`` is filled with: 0 for an empty column; the mean;
    the median (``median()``); the most frequent value (``modes()``: the distinct values
    and their counts), the smallest of equally frequent ones (as scikit-learn's
    SimpleImputer)."""
    if total["n"][j] == 0:
        return 0.0
    if method == "mean":
        return float(total["mean"][j])
    if method == "median":
        return float(median())
    values, counts = modes()
    return float(np.min(values[counts == counts.max()]))


def scaler(method: str, total: dict, quartiles: Callable[[int], list[float]],
           filled: np.ndarray | None = None, fill: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """Scaler statistics per column (x' = (x - center) / scale) of the fitting rows whose
    present values ``total`` describes, with ``filled[j]`` gaps holding ``fill[j]`` besides
    (gaps filled but not materialised). The formulas are scikit-learn's StandardScaler
    (mean, population SD), MinMaxScaler (min, range) and RobustScaler (median, 25-75
    percentile range; ``quartiles(j)``: the :data:`QUARTILES` of the filled column), without
    its import
    (a second, more than the statistics). A (near-)constant column is left unscaled."""
    d = len(total["n"])
    center, scale = np.zeros(d), np.ones(d)
    if method == "none":
        return center, scale
    if method not in SCALES:
        raise UsageError(f"--scale {method}: unknown method")
    for j in range(d):
        present = float(total["n"][j])
        gaps = 0 if filled is None else int(filled[j])
        f = 0.0 if fill is None else float(fill[j])
        if present + gaps == 0:
            continue
        if method == "standard":
            c, s = total["mean"][j], np.sqrt(total["m2"][j] / present) if present else 0.0
            if gaps:
                n = present + gaps
                c = (total["mean"][j] * present + f * gaps) / n
                m2 = total["m2"][j] + present * (total["mean"][j] - c) ** 2 + gaps * (f - c) ** 2
                s = np.sqrt(m2 / n)
        elif method == "minmax":
            lo, hi = total["min"][j], total["max"][j]
            if gaps:
                lo, hi = min(lo, f), max(hi, f)
            c, s = lo, hi - lo
        else:
            q25, c, q75 = quartiles(j)
            s = q75 - q25
        center[j] = c
        scale[j] = keep(float(c), float(s))
    return center, scale


def keep(center: float, spread: float) -> float:
    """The scale of a column: its spread, or 1 when the column is (nearly) constant."""
    return spread if np.isfinite(spread) and spread > CONSTANT * max(abs(center), 1.0) else 1.0
