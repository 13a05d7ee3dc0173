"""Choosing k, and grouping a map's units into clusters. Pure: the fits and the scores
come in as functions, so every backend scores candidates its own way on the same rows."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from somcli.algorithms import kmeans as km
from somcli.errors import DataError


def choose_k(n: int, distinct: int, k_max: int, fit_one: Callable, score: Callable,
             progress: Callable[[str], None] = lambda m: None
             ) -> tuple[int, dict[int, float | None], dict]:
    """Fit k = 2..k_max (at most ``distinct`` and ``n - 1``); the best k by ``score``
    (higher is better; ties: the smaller k), all scores, all fits."""
    scores: dict[int, float | None] = {}
    fits = {}
    for k in range(2, min(k_max, distinct, n - 1) + 1):
        progress(f"trying k={k}")
        fits[k] = fit_one(k)
        scores[k] = score(fits[k])
    ranked = [k for k in scores if scores[k] is not None]
    if not ranked:
        raise DataError(f"-k auto needs at least 3 distinct rows, the data has {n}",
                        "pass -k explicitly")
    best = max(ranked, key=lambda k: (scores[k], -k))
    return best, scores, fits


def cluster_units(W: np.ndarray, hits_fit: np.ndarray, hits: np.ndarray, k: int | None,
                  k_auto: bool, k_max: int, seed: int, davies_bouldin: Callable,
                  progress: Callable[[str], None] = lambda m: None):
    """Two-level clustering (Vesanto & Alhoniemi 2000): k-means on the codebook, weighted
    by hits; without ``k`` (nor ``k_auto``) every unit is its own cluster.
    ``davies_bouldin(unit_labels)`` scores a candidate on the rows (lower is better).

    Returns (cluster of each unit, number of clusters, the k selection for the report).
    """
    m = len(W)
    if not k and not k_auto:
        return np.arange(m), m, None
    live = int((hits_fit > 0).sum())
    if k_auto and live < 3:
        return np.arange(m), m, {"method": f"only {live} map unit(s) hold rows: too few to "
                                 "group, each unit is a cluster", "scores": {}, "chosen": m}
    if live < 2:
        raise DataError("every row fell on one map unit (the map did not unfold), so its "
                        "units cannot be grouped into clusters", "leave --sigma at its "
                        "default, or make it smaller than the map's longer side")

    def fit_one(kk):
        return km.fit(W, kk, seed=seed, sample_weight=hits_fit.astype(float))

    if k_auto:
        def score(fit):
            v = davies_bouldin(km.assign(W, fit.centers)[0])
            return None if v is None else -v

        alive = W[hits_fit > 0]
        distinct = len(np.unique(np.round(alive, 12), axis=0))
        k, scores, fits = choose_k(len(alive), distinct, min(k_max, live), fit_one, score,
                                   progress)
        fit = fits[k]
        selection = {"method": "Davies-Bouldin on the rows (lower is better), k-means on the "
                     "codebook weighted by hits",
                     "scores": {kk: (-v if v is not None else None) for kk, v in scores.items()},
                     "chosen": k}
    else:
        if k > live:
            raise DataError(f"-k {k} but only {live} map units hold rows",
                            f"use -k {live} or fewer, or a larger --map")
        fit, selection = fit_one(k), None
    unit_cluster = km.assign(W, fit.centers)[0]
    perm = km.order_by_size(unit_cluster, k, weight=hits.astype(float))
    return perm[unit_cluster], k, selection
