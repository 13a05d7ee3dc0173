"""Evaluating a trained map on rows: best units, QE, hits, topographic error, outlier
scores; and matching the clusters of two maps. Pure array code (both engines and
``assign`` use it)."""

from __future__ import annotations

import numpy as np

from somcli.algorithms.grid import Grid
from somcli.algorithms.nearest import nearest


class Evaluation:
    """Per-row BMU, QE; per-unit hits; QE and TE over the usable rows (one chunked pass)."""

    def __init__(self, bmu, qe, hits, te_errors, found):
        self.bmu, self.qe, self.hits = bmu, qe, hits
        self.te_errors = te_errors  # rows whose two best units are not neighbours
        self.found = found  # rows with a best unit
        self.te = te_errors / found if found and len(hits) > 1 else None
        self.qe_mean = float(qe[bmu >= 0].sum()) / found if found else None


def evaluate(X: np.ndarray, usable: np.ndarray, W: np.ndarray, grid: Grid,
             chunk: int | None = None, threads: int = 1, search=nearest) -> Evaluation:
    """BMU, second BMU and QE of every usable row, hits and TE: one chunked pass
    (``search``: :func:`~somcli.algorithms.nearest.nearest`, or a device's)."""
    n = len(X)
    if usable.all():
        bmu, qe, second = search(X, W, second=True, chunk=chunk, threads=threads)
    else:
        bmu = np.full(n, -1, dtype=np.int32)
        qe = np.full(n, np.nan)
        second = np.full(n, -1, dtype=np.int32)
        idx = np.flatnonzero(usable)
        bmu[idx], qe[idx], second[idx] = search(X[idx], W, second=True, chunk=chunk,
                                                threads=threads)
    lost = np.isnan(qe) & (bmu >= 0)  # rows whose every component is missing
    bmu[lost] = second[lost] = -1
    found = bmu >= 0
    hits = np.bincount(bmu[found], minlength=grid.units)
    errors = int((~grid.adjacent(bmu[found], second[found])).sum()) if grid.units > 1 else 0
    return Evaluation(bmu, qe, hits, errors, int(found.sum()))


def positive_median(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    med = float(np.median(v)) if v.size else 1.0
    if med > 0:
        return med
    mean = float(v.mean()) if v.size else 0.0
    return mean if mean > 0 else 1.0


def match_clusters(W_old, old_cluster, old_hits, W_new, new_cluster, new_hits, k) -> np.ndarray:
    """Renumber the new clusters of units after the old ones they are closest to.

    Each cluster's centre is the hit-weighted mean of its units' codebook vectors;
    new and old centres are paired by the Hungarian method on their distances.
    """
    from scipy.optimize import linear_sum_assignment

    def centres(W, cluster, hits):
        out = np.zeros((k, W.shape[1]))
        for j in range(k):
            members = cluster == j
            weight = hits[members].astype(float)
            out[j] = (np.average(W[members], axis=0, weights=weight) if weight.sum() > 0
                      else W[members].mean(axis=0) if members.any() else np.nan)
        return out

    old, new = centres(W_old, old_cluster, old_hits), centres(W_new, new_cluster, new_hits)
    cost = np.sqrt(((new[:, None, :] - old[None, :, :]) ** 2).sum(-1))
    cost = np.where(np.isfinite(cost), cost, 1e12)
    rows, cols = linear_sum_assignment(cost)
    mapping = np.arange(k)
    mapping[rows] = cols
    return mapping[new_cluster]
