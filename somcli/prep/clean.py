"""Missing values, duplicates and scaling: fitted once, replayed by ``assign``.

The fitted state is a :class:`Preprocessor`: plain arrays and strings, so a
model file can hold it without pickle. Its statistics (fill values, scaler) are fitted by
:mod:`somcli.prep.statistics`, the code the Dask backend runs over its partitions too; the
formulas are scikit-learn's, computed without importing it. The work is done column by
column, so the only full-size allocation is the cleaned matrix itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from somcli.config import FILLS, MISSING_METHODS, CleanOptions
from somcli.errors import DataError, UsageError
from somcli.prep import duplicates
from somcli.prep import statistics as S
from somcli.prep.quotes import Quotes
from somcli.prep.quotes import build as build_quotes
from somcli.prep.roles import Roles
from somcli.prep.units import UnitRule
from somcli.runtime import memory
from somcli.runtime.parallel import default_threads, imported, map_chunks, ordered

MAX_NAMED_ROWS = 50
PARALLEL_ROWS = 100_000  # columns at least this long are cleaned on threads


@dataclass
class Preprocessor:
    """Everything learned from the training rows that new rows must go through."""

    features: list[str]
    rules: dict[str, UnitRule]
    missing: str
    scale_method: str
    center: np.ndarray
    scale: np.ndarray
    fill: np.ndarray | None = None  # simple imputers: one value per feature
    knn_reference: np.ndarray | None = None  # knn: reference rows, standardised, NaN kept
    knn_center: np.ndarray | None = None
    knn_scale: np.ndarray | None = None
    knn_neighbors: int = 5

    def impute(self, raw: np.ndarray) -> np.ndarray:
        """Fill gaps (original units); ``drop`` and ``mask`` leave them as NaN."""
        if self.missing in FILLS:
            return np.where(np.isnan(raw), self.fill, raw)
        if self.missing == "knn":
            return _knn_fill(raw, self.knn_reference, self.knn_center, self.knn_scale,
                             self.knn_neighbors)
        return raw.copy()

    def filled(self, gaps: np.ndarray) -> np.ndarray | None:
        """Of the rows with a gap (``gaps``), those :meth:`impute` fills (None: none)."""
        return gaps if self.missing not in ("drop", "mask") and gaps.any() else None

    def usable(self, raw: np.ndarray) -> np.ndarray:
        """Which rows get an assignment: all but a row without any feature value (a fill
        would make it a row of medians), and, under ``drop``, a row with a gap."""
        gaps = np.isnan(raw)
        return ~(gaps.any(axis=1) if self.missing == "drop" else gaps.all(axis=1))

    def to_scaled(self, values: np.ndarray) -> np.ndarray:
        return (values - self.center) / self.scale

    def to_original(self, scaled: np.ndarray) -> np.ndarray:
        return scaled * self.scale + self.center


@dataclass
class Cleaned:
    """The feature matrix after cleaning, in scaled units, and how it was made.

    Original units are not stored a second time: ``prep.to_original`` recovers them.
    """

    prep: Preprocessor
    X: np.ndarray  # n x d, scaled; rows left out by --missing drop keep their gaps
    usable: np.ndarray  # bool per row: gets an assignment
    fit_index: np.ndarray  # rows the fit matrix stands for
    report: dict = field(default_factory=dict)
    merged: np.ndarray | None = None  # scaled group means (--dedupe mean)
    quotes: Quotes | None = None  # the input values, exactly (prep.quotes)
    filled: np.ndarray | None = None  # bool per row: a gap of it was filled (None: none)
    _fit: np.ndarray | None = field(default=None, repr=False)

    @property
    def fit_X(self) -> np.ndarray:
        """The rows to fit on: X itself when nothing was dropped or merged (no copy)."""
        if self._fit is None:
            if self.merged is not None:
                self._fit = self.merged
            elif len(self.fit_index) == len(self.X):
                self._fit = self.X
            else:
                self._fit = self.X[self.fit_index]
        return self._fit

    @property
    def scaled(self) -> np.ndarray:
        return self.X


ROW_CHUNK = 1 << 18  # rows scaled at a time in a float32 run
WRITE_ROWS = 1 << 15  # rows of the feature matrix written at a time


def clean(frame: pd.DataFrame, lines: np.ndarray, roles: Roles, opts: CleanOptions,
          allow_mask: bool = False, dtype=np.float64) -> Cleaned:
    check_missing(opts, allow_mask)
    n, d = len(frame), len(roles.features)
    X = np.empty((n, d), dtype=dtype)
    gappy = np.zeros(n, dtype=bool)
    gap_count = np.zeros(n, dtype=np.int32)  # a row's gaps (all of them: no value to use)
    infinite: dict[str, int] = {}
    missing: dict[str, int] = {}
    stats: dict[str, dict] = {}
    fill = np.zeros(d) if opts.missing in FILLS else None

    def column(name: str):
        """One feature: infinities made gaps, its statistics, its gaps filled."""
        col = np.asarray(roles.values[name])
        if col.dtype != dtype and col.dtype != np.float64:
            col = col.astype(np.float64)
        refuse_huge(col, name, lines)
        inf = np.isinf(col)
        n_inf = int(inf.sum())
        if n_inf:
            col = np.where(inf, np.nan, col)
        gaps = np.isnan(col)
        n_gaps = int(gaps.sum())
        total = S.moments(col[:, None])  # once: what `assign` compares with, and the fill
        described = S.describe(total, 0, len(col))
        value = _statistic(col, opts.missing, total) if fill is not None else None
        if value is not None and n_gaps:
            col = np.where(gaps, value, col)
        return col, n_inf, gaps if n_gaps else None, described, value, total

    # columns on threads when they are long (numpy's median and sums release the GIL)
    threads = min(default_threads(), d) if n >= PARALLEL_ROWS else 1
    as_read: dict[int, np.ndarray] = {}  # columns written below, a block of rows at a time
    totals: list[dict] = []  # each column's moments, of its present values
    for j, (col, n_inf, gaps, described, value, total) in enumerate(
            ordered(column, roles.features, threads)):
        totals.append(total)
        name = roles.features[j]
        if n_inf:
            infinite[name] = n_inf
        if gaps is not None:
            missing[name] = int(gaps.sum())
            gappy |= gaps
            gap_count += gaps
        stats[name] = described
        if fill is not None:
            fill[j] = value
        if col is roles.values[name]:  # no copy held: written with the others
            as_read[j] = col
        else:  # a filled copy: written now and let go
            X[:, j] = col
    del col
    # a gap-free table as read, standardized or min-max scaled, without rows merged: its
    # scaler is known from the moments above, so each block of rows is scaled as it is
    # written (passes over the matrix spared; the same operations, the same bits)
    scaled_early = None
    if (len(as_read) == d and d and not missing and not infinite and opts.missing != "knn"
            and opts.dedupe == "none" and opts.scale != "robust"):
        scaled_early = _weighted_scaler(X, opts.scale, roles, _stacked(totals))  # (X: width)
    _write_columns(X, as_read, threads, scaled_early)
    memory.release()  # the columns' temporaries (4M x 10: 70 MB of the peak)
    gap_rows = np.flatnonzero(gappy)
    report: dict = {
        "missing_method": opts.missing,
        "infinite_values": infinite,
        "missing_cells": missing,
        "rows_with_gaps": len(gap_rows),
        "rows_with_gaps_named": row_labels(frame, roles.names, lines, gap_rows[:MAX_NAMED_ROWS]),
        "feature_stats": stats,
    }
    usable = ~gappy if opts.missing == "drop" else gap_count < d
    del gap_count
    if not usable.any():
        raise DataError("every row has a missing feature value, so --missing drop leaves none",
                        "use --missing median (or mean, knn)")
    prep = Preprocessor(roles.features, roles.rules, opts.missing, opts.scale,
                        np.zeros(d), np.ones(d), fill=fill, knn_neighbors=opts.knn_neighbors)
    if opts.missing == "knn":
        _fit_knn(prep, X)
    report |= gap_outcome(opts.missing, missing, len(gap_rows), int((~usable).sum()))
    if fill is not None:  # (median, mean, most frequent)
        # a float32 column's median is a float32 value: shown with float32's digits
        shown = (lambda v: float(str(np.float32(v)))) if dtype == np.float32 else float
        report["fill_values"] = {c: shown(v) for c, v in zip(roles.features, fill, strict=True)}
    key_col = duplicates.primary_id(frame, roles.ids, opts.dedupe_by)
    report["duplicates"] = duplicates.find(frame, lines, roles.ids, roles.sources,
                                           threads).to_dict()
    keys = frame[key_col].to_numpy(dtype=object) if key_col else None
    merged, fit_index, n_merged = duplicates.merge(opts.dedupe, X, keys, usable)
    report["duplicates"] |= {"dedupe": opts.dedupe, "dedupe_key": key_col,
                             "rows_merged": n_merged}
    basis = merged if merged is not None else (X if len(fit_index) == n else X[fit_index])
    if scaled_early is not None:  # X was scaled as it was written
        prep.center, prep.scale = scaled_early
    else:
        # every row fits, as read (no gap, no infinity): X's columns are the columns whose
        # moments were taken above, so their scaler is theirs (a strided pass over X saved)
        as_taken = (basis is X and totals and not missing and not infinite
                    and opts.missing != "knn")
        prep.center, prep.scale = _weighted_scaler(basis, opts.scale, roles,
                                                   _stacked(totals) if as_taken else None)
        _scale(X, roles, prep, fill, dtype, opts.missing == "knn")
    if merged is not None:
        merged = prep.to_scaled(merged).astype(dtype)
    report["scale"] = opts.scale
    memory.release()  # the scaler's and the duplicate check's temporaries
    quotes = build_quotes(lambda j: roles.values[roles.features[j]], X, prep.center, prep.scale,
                          threads)
    return Cleaned(prep, X, usable, fit_index, report, merged, quotes=quotes,
                   filled=prep.filled(gappy))


def _scale(X: np.ndarray, roles: Roles, prep: Preprocessor, fill, dtype, knn: bool) -> None:
    """X scaled in place by the fitted scaler: in its own precision (float64, or KNN's
    filled values), else each column from its values as read, in float64, in row chunks
    (no column-sized copies), then stored in the model's precision, as assign scales rows."""
    n = len(X)
    if dtype == np.float64 or knn:
        X -= prep.center.astype(dtype)
        X /= prep.scale.astype(dtype)
        return
    for j, name in enumerate(roles.features):
        column = np.asarray(roles.values[name], dtype=np.float64)
        for a in range(0, n, ROW_CHUNK):
            raw = column[a:a + ROW_CHUNK]
            raw = np.where(np.isfinite(raw), raw, np.nan)
            if fill is not None:
                raw = np.where(np.isnan(raw), fill[j], raw)
            X[a:a + ROW_CHUNK, j] = (raw - prep.center[j]) / prep.scale[j]


def _write_columns(X: np.ndarray, columns: dict[int, np.ndarray], threads: int,
                   scaler: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """``X[:, j] = columns[j]`` for each j, WRITE_ROWS rows at a time (a block stays in
    cache while its columns are written: 2-4x faster than strided whole columns), on
    threads; every column written, a block is one ``np.stack`` (one GIL take, not one per
    column). ``scaler`` (center, scale; every column written): each block scaled as written,
    ``(x - center) / scale`` in float64, then stored in X's precision (1M x 10: 0.15 s)."""
    if not columns:
        return
    whole = sorted(columns) == list(range(X.shape[1]))

    def block(start: int) -> None:
        rows = X[start:start + WRITE_ROWS]
        if whole:
            wide = rows if scaler is None or X.dtype == np.float64 else \
                np.empty(rows.shape)  # (float32: scaled in float64, then stored)
            np.stack([columns[j][start:start + WRITE_ROWS] for j in range(X.shape[1])],
                     axis=1, out=wide)
            if scaler is not None:
                wide -= scaler[0]
                wide /= scaler[1]
                if wide is not rows:
                    rows[...] = wide
            return
        for j, col in columns.items():
            rows[:, j] = col[start:start + WRITE_ROWS]

    map_chunks(block, len(X), WRITE_ROWS, threads)


def check_missing(opts: CleanOptions, allow_mask: bool) -> None:
    """The missing-value method is known, and mask only where training can skip gaps."""
    if opts.missing not in MISSING_METHODS:
        raise UsageError(f"--missing {opts.missing}: unknown method")
    if opts.missing == "mask" and not allow_mask:
        raise UsageError("--missing mask works only with `somcli som` (batch training)",
                         "use median, mean, most-frequent, knn or drop")


def weight_indicators(features: list[str], rules: dict, scale: np.ndarray) -> np.ndarray:
    """A one-hot category of L values adds L columns: each is divided by sqrt(L) on top of
    its scaling, so that the category weighs in squared distances like one scaled column."""
    sources = [rules[f].source if f in rules else "" for f in features]
    out = np.asarray(scale, dtype=np.float64).copy()
    for j, source in enumerate(sources):
        if source:
            out[j] *= np.sqrt(sources.count(source))
    return out


HUGE = 1e150  # beyond this, squares and sums of a column overflow float64


def refuse_huge(col: np.ndarray, name: str, lines: np.ndarray) -> None:
    """Values so large that means and distances overflow would make every score wrong."""
    if col.dtype != np.float64:  # float32 cannot hold such values (they read as inf)
        return
    big = np.isfinite(col) & (np.abs(col) > HUGE)
    if big.any():
        first = int(np.argmax(big))
        raise DataError(f"column '{name}' holds {col[first]:.6g} on line {int(lines[first])}: "
                        f"too large to compute distances with (limit {HUGE:.0e})",
                        "rescale the column, mark such values missing with --na-values, or "
                        f"leave it out with -C '{name}'")


def gap_outcome(method: str, cells: dict[str, int], gap_rows: int, unused: int) -> dict:
    """What happened to the gaps, for the report: dropped rows, rows trained with gaps
    (mask), or the filled cells per column; and the ``unused`` rows (without any feature
    value: no cluster, whatever the method)."""
    if method == "drop":
        return {"rows_dropped": unused}
    empty = {"rows_without_values": unused} if unused else {}
    if method == "mask":
        return {"rows_trained_with_gaps": gap_rows - unused} | empty
    # (a row without values has a gap in every column: its cells are not used, not filled)
    return {"filled_cells": {c: k - unused for c, k in cells.items() if k > unused}} | empty


def _statistic(col: np.ndarray, method: str, total: dict | None = None) -> float:
    """The fill value of one column (:func:`somcli.prep.statistics.fill_value`; ``total``:
    its moments when known), by numpy over its present values: the median by ``np.median``
    (SimpleImputer's masked-array median sorts the whole column: 100 ms per million rows
    against 10 ms), the modes by ``np.unique`` (importing scikit-learn's imputer cost
    seconds for one)."""
    gaps = np.isnan(col)
    present = col[~gaps] if gaps.any() else col  # no copy of a column without gaps
    total = total if total is not None else S.moments(present[:, None])
    return S.fill_value(method, total, 0, median=lambda: np.median(present),
                        modes=lambda: np.unique(present, return_counts=True))


def _fit_knn(prep: Preprocessor, X: np.ndarray) -> None:
    """KNN imputation in standardised units; the reference rows are kept for ``assign``."""
    raw = X.astype(np.float64)
    center = np.nanmean(raw, axis=0)
    center = np.where(np.isnan(center), 0.0, center)
    scale = np.nanstd(raw, axis=0)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    prep.knn_reference, prep.knn_center, prep.knn_scale = (raw - center) / scale, center, scale
    X[:] = prep.impute(raw)


def _knn_fill(raw, reference, center, scale, k):
    if not np.isnan(raw).any():
        return raw.copy()
    imported()  # (scikit-learn's import may have been started: import_soon)
    from sklearn.impute import KNNImputer

    imp = KNNImputer(n_neighbors=k, keep_empty_features=True)
    imp.fit(reference)
    filled = imp.transform((raw - center) / scale) * scale + center
    return np.where(np.isnan(raw), filled, raw)


def _fit_scaler(values: np.ndarray, method: str, total: dict | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Scaler statistics per column of ``values`` (gaps ignored), by
    :func:`somcli.prep.statistics.scaler` on this one block (``total``: its moments, when
    known); quartiles by numpy."""
    if method == "none":
        return np.zeros(values.shape[1]), np.ones(values.shape[1])

    def quartiles(j: int) -> list[float]:
        col = np.asarray(values[:, j], dtype=np.float64)
        return np.percentile(col[~np.isnan(col)], [100 * q for q in S.QUARTILES])

    return S.scaler(method, total if total is not None else S.moments(values), quartiles)


def _weighted_scaler(values: np.ndarray, method: str, roles: Roles, total: dict | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_fit_scaler`, a one-hot category's indicators weighted on top
    (:func:`weight_indicators`)."""
    center, scale = _fit_scaler(values, method, total)
    return center, weight_indicators(roles.features, roles.rules, scale)


def _stacked(totals: list[dict]) -> dict:
    """One-column moments side by side: the moments of the columns together."""
    return {key: np.concatenate([t[key] for t in totals]) for key in totals[0]}


def row_labels(frame: pd.DataFrame, ids: list[str], lines: np.ndarray,
               rows: np.ndarray | None = None) -> list[str]:
    """How the report names rows: their naming identifiers' values (``Roles.names``) and
    their line."""
    rows = np.arange(len(frame)) if rows is None else np.asarray(rows, dtype=np.int64)
    shown = ids[:2]
    if len(rows) == 0:
        return []
    if not shown:
        return [f"line {int(lines[i])}" for i in rows]
    parts = frame[shown].iloc[rows]
    parts = parts.astype(str).where(parts.notna(), "?")
    joined = parts.agg(" / ".join, axis=1) if len(shown) > 1 else parts[shown[0]]
    return [f"{v} (line {int(lines[i])})" for v, i in zip(joined, rows, strict=True)]
