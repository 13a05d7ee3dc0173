"""Which rows a map flags as outliers, and how the threshold is set. Pure arrays.

A row's outlier score is its quantization error (distance to its best unit) divided by
the median QE of the training rows: 1 is typical, 0 sits on a unit. By default a row is
flagged when its score is more than ``ROBUST_C`` robust standard deviations above the
typical row on the log scale::

    ln(score) > median(ln score) + ROBUST_C * 1.4826 * MAD(ln score)

(the median and the median absolute deviation over the training rows with a positive
QE; 1.4826 * MAD estimates the standard deviation of normal data). Distances to the
nearest unit are skewed to the right, which the log takes out: on 100,000 rows of clean
Gaussian blobs this flags 0.02 % to 0.04 % of rows in 4, 10 and 20 dimensions, where
"above the 0.99 quantile" flags 1 % of any data by construction (it is still there:
``--outliers Q``). Tables of fewer than ``MIN_ROWS`` rows flag nothing by default: a
median and a spread from a handful of rows say little.

Maps saved before this rule (their rule has ``u_median``) are replayed with the score
they were trained with: the mean of QE / median QE and the unit's U-matrix value /
its median.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROBUST_C = 3.0
MIN_ROWS = 20
MAD_TO_SD = 1.4826
MIN_SPREAD = 1e-3  # the log spread when nearly every row has the same QE


@dataclass(frozen=True)
class OutlierRule:
    method: str  # "robust", "quantile" or "legacy" (a map saved before the robust rule)
    threshold: float  # on the score; inf: nothing is flagged
    qe_median: float
    quantile: float | None = None  # method "quantile"
    log_center: float | None = None  # method "robust": median and spread of ln(score)
    log_spread: float | None = None
    u_median: float | None = None  # method "legacy"
    reason: str = ""

    def scores(self, bmu: np.ndarray, qe: np.ndarray, U: np.ndarray) -> np.ndarray:
        """Each row's score (NaN for rows without a unit)."""
        score = qe / self.qe_median
        if self.method == "legacy":
            score = 0.5 * (score + (U / self.u_median)[np.maximum(bmu, 0)])
        return np.where(bmu >= 0, score, np.nan)

    def to_dict(self) -> dict:
        """As a model stores it (no threshold: nothing is flagged)."""
        return {"method": self.method,
                "threshold": self.threshold if np.isfinite(self.threshold) else None,
                "qe_median": self.qe_median, "quantile": self.quantile,
                "log_center": self.log_center, "log_spread": self.log_spread,
                "reason": self.reason}

    @classmethod
    def from_model(cls, o: dict) -> OutlierRule:
        if "method" not in o:  # saved before the robust rule
            return cls("legacy", _threshold(o), o["qe_median"], quantile=o["quantile"],
                       u_median=o["u_median"], reason=f"above the {o['quantile']:g} quantile")
        return cls(o["method"], _threshold(o), o["qe_median"], o.get("quantile"),
                   o.get("log_center"), o.get("log_spread"), reason=o.get("reason", ""))


def robust_rule(qe_median: float, n: int, log_center: float, log_mad: float) -> OutlierRule:
    """The default rule from the median and MAD of ln(score) over ``n`` training rows."""
    if n < MIN_ROWS:
        return OutlierRule("robust", float("inf"), qe_median, reason=(
            f"nothing flagged: {n:,} rows are too few (fewer than {MIN_ROWS}) to tell an "
            "outlier from the spread; --outliers Q flags rows above a quantile"))
    spread = max(MAD_TO_SD * log_mad, MIN_SPREAD)
    threshold = float(np.exp(log_center + ROBUST_C * spread))
    return OutlierRule("robust", threshold, qe_median, log_center=log_center,
                       log_spread=spread, reason=(
                           f"QE more than {ROBUST_C:g} robust SDs above the typical row on the "
                           f"log scale (score above {threshold:.3g})"))


def quantile_rule(qe_median: float, q: float, threshold: float) -> OutlierRule:
    return OutlierRule("quantile", threshold, qe_median, quantile=q,
                       reason=f"score above the {q:g} quantile of the training rows")


def _finite(v) -> bool:
    import math

    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def rule_ok(o) -> bool:
    """A stored outlier rule (model.json): the robust or quantile rule, or one saved before
    them, with finite numbers where they are used."""
    if not isinstance(o, dict) or not _finite(o.get("qe_median")) or o["qe_median"] <= 0:
        return False
    if "method" not in o:  # saved before the robust rule
        return all(_finite(o.get(x)) for x in ("quantile", "threshold", "u_median")) and \
            0 < o["quantile"] < 1
    threshold_ok = o.get("threshold") is None or _finite(o["threshold"])
    if o["method"] == "quantile":
        return threshold_ok and _finite(o.get("quantile")) and 0 < o["quantile"] < 1
    return o["method"] == "robust" and threshold_ok


def _threshold(o: dict) -> float:
    t = o.get("threshold")
    return float("inf") if t is None else float(t)
