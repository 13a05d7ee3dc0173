"""Missing values, duplicates and scaling: fitted once, replayed by ``assign``.

The fitted state is a :class:`Preprocessor`: plain arrays and strings, so a
model file can hold it without pickle. Imputers and scalers are scikit-learn's;
what they learned is copied out into that plain form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from somcli.config import CleanOptions
from somcli.errors import DataError, UsageError
from somcli.prep import duplicates
from somcli.prep.roles import Roles
from somcli.prep.units import UnitRule

_SIMPLE = {"median": "median", "mean": "mean", "most-frequent": "most_frequent"}
_SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
MAX_NAMED_ROWS = 50


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
        if self.missing in _SIMPLE:
            return np.where(np.isnan(raw), self.fill, raw)
        if self.missing == "knn":
            return _knn_fill(raw, self.knn_reference, self.knn_center, self.knn_scale,
                             self.knn_neighbors)
        return raw.copy()

    def to_scaled(self, values: np.ndarray) -> np.ndarray:
        return (values - self.center) / self.scale

    def to_original(self, scaled: np.ndarray) -> np.ndarray:
        return scaled * self.scale + self.center


@dataclass
class Cleaned:
    prep: Preprocessor
    original: np.ndarray  # n x d after imputation, original units (NaN where not filled)
    scaled: np.ndarray  # n x d, scaled
    usable: np.ndarray  # bool per row: gets an assignment
    fit_index: np.ndarray  # rows the fit matrix stands for
    fit_X: np.ndarray  # scaled matrix to fit on (after de-duplication)
    report: dict = field(default_factory=dict)


def clean(frame: pd.DataFrame, lines: np.ndarray, roles: Roles, opts: CleanOptions,
          allow_mask: bool = False) -> Cleaned:
    if opts.missing not in _SIMPLE and opts.missing not in ("knn", "drop", "mask"):
        raise UsageError(f"--missing {opts.missing}: unknown method")
    if opts.missing == "mask" and not allow_mask:
        raise UsageError("--missing mask works only with `somcli som` (batch training)",
                         "use median, mean, most-frequent, knn or drop")
    raw = roles.values.to_numpy(dtype=np.float64, copy=True)
    n, d = raw.shape
    infinite = ~np.isfinite(raw) & ~np.isnan(raw)
    raw[infinite] = np.nan
    gaps = np.isnan(raw)
    gap_rows = np.flatnonzero(gaps.any(axis=1))
    labels = row_labels(frame, roles.ids, lines)
    report: dict = {
        "missing_method": opts.missing,
        "infinite_values": {c: int(k) for c, k in zip(roles.features, infinite.sum(0), strict=True) if k},
        "missing_cells": {c: int(k) for c, k in zip(roles.features, gaps.sum(0), strict=True) if k},
        "rows_with_gaps": len(gap_rows),
        "rows_with_gaps_named": [labels[i] for i in gap_rows[:MAX_NAMED_ROWS]],
    }
    usable = np.ones(n, dtype=bool)
    if opts.missing == "drop":
        usable = ~gaps.any(axis=1)
    fill, knn = _fit_imputer(raw, opts, usable)
    prep = Preprocessor(roles.features, roles.rules, opts.missing, opts.scale,
                        np.zeros(d), np.ones(d), fill=fill, knn_neighbors=opts.knn_neighbors)
    if knn is not None:
        prep.knn_reference, prep.knn_center, prep.knn_scale = knn
    original = prep.impute(raw)
    if opts.missing == "drop":
        report["rows_dropped"] = int((~usable).sum())
    elif opts.missing == "mask":
        report["rows_trained_with_gaps"] = len(gap_rows)
    else:
        report["filled_cells"] = report["missing_cells"]
        if prep.fill is not None:
            report["fill_values"] = {c: float(v) for c, v in zip(roles.features, prep.fill, strict=True)}
    if usable.sum() == 0:
        raise DataError("every row has a missing feature value, so --missing drop leaves none",
                        "use --missing median (or mean, knn)")
    key_col = duplicates.primary_id(frame, roles.ids, opts.dedupe_by)
    dups = duplicates.find(frame, lines, roles.ids, original)
    keys = frame[key_col].astype(str).to_numpy() if key_col else None
    fit_orig, fit_index, merged = duplicates.merge(opts.dedupe, original, keys, usable)
    report["duplicates"] = dups.to_dict() | {
        "dedupe": opts.dedupe, "dedupe_key": key_col, "rows_merged": merged}
    prep.center, prep.scale = _fit_scaler(fit_orig, opts.scale)
    report["scale"] = opts.scale
    return Cleaned(prep, original, prep.to_scaled(original), usable, fit_index,
                   prep.to_scaled(fit_orig), report)


def _fit_imputer(raw, opts, usable):
    complete = raw[usable]
    if opts.missing in _SIMPLE:
        imp = SimpleImputer(strategy=_SIMPLE[opts.missing], keep_empty_features=True)
        imp.fit(complete)
        fill = np.asarray(imp.statistics_, dtype=np.float64)
        return np.where(np.isnan(fill), 0.0, fill), None
    if opts.missing == "knn":
        center = np.nanmean(raw, axis=0)
        scale = np.nanstd(raw, axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        return None, ((raw - center) / scale, center, scale)
    return None, None


def _knn_fill(raw, reference, center, scale, k):
    if not np.isnan(raw).any():
        return raw.copy()
    imp = KNNImputer(n_neighbors=k, keep_empty_features=True)
    imp.fit(reference)
    filled = imp.transform((raw - center) / scale) * scale + center
    return np.where(np.isnan(raw), filled, raw)


def _fit_scaler(values: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Fit a scikit-learn scaler and return it as x' = (x - center) / scale."""
    d = values.shape[1]
    if method == "none":
        return np.zeros(d), np.ones(d)
    if method not in _SCALERS:
        raise UsageError(f"--scale {method}: unknown method")
    scaler = _SCALERS[method]().fit(values)
    if method == "standard":
        center, scale = scaler.mean_, scaler.scale_
    elif method == "robust":
        center, scale = scaler.center_, scaler.scale_
    else:  # minmax: x' = x * scale_ + min_
        scale = 1.0 / scaler.scale_
        center = -scaler.min_ * scale
    center = np.nan_to_num(np.asarray(center, dtype=np.float64))
    scale = np.asarray(scale, dtype=np.float64)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    return center, scale


def row_labels(frame: pd.DataFrame, ids: list[str], lines: np.ndarray) -> list[str]:
    """How the report names a row: its first two identifier values and its line."""
    shown = ids[:2]
    if not shown:
        return [f"line {int(x)}" for x in lines]
    parts = frame[shown].astype(str).where(frame[shown].notna(), "?")
    joined = parts.agg(" / ".join, axis=1) if len(shown) > 1 else parts[shown[0]]
    return [f"{v} (line {int(x)})" for v, x in zip(joined, lines, strict=True)]
