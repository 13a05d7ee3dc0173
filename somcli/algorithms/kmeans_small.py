"""Weighted k-means of a few thousand points (a map's codebook weighted by its hits), as
scikit-learn's ``KMeans(n_clusters=k, random_state=seed, n_init=n_init)`` computes it: the
same greedy k-means++ draws from one ``RandomState(seed)``, the same Lloyd iterations, stopping
rule, empty-cluster relocation and choice among the restarts.

Why by hand: importing scikit-learn's clustering costs about a second, several times the whole
work on a codebook, and every ``somcli som`` run groups its units (-k auto fits 45 of them).
tests/test_kmeans_small.py holds it to scikit-learn's results. The ``kmeans`` command on rows keeps
scikit-learn (:mod:`somcli.algorithms.kmeans`).
"""

from __future__ import annotations

import numpy as np

from somcli.algorithms import lloyd
from somcli.algorithms.lloyd import KMeansFit

MAX_ITER = lloyd.MAX_ITER
TOL = lloyd.TOL


def plusplus(X: np.ndarray, k: int, state: np.random.RandomState,
             weights: np.ndarray | None = None, norms: np.ndarray | None = None) -> np.ndarray:
    """k starting centres, greedy k-means++ (Arthur and Vassilvitskii 2007) with 2 + log(k)
    candidates per centre, drawn as scikit-learn's ``kmeans_plusplus`` draws them (rows of
    equal weight unless ``weights``)."""
    weights = np.ones(len(X), dtype=X.dtype) if weights is None else weights
    norms = (X ** 2).sum(axis=1) if norms is None else norms
    trials = 2 + int(np.log(k))
    centers = np.empty((k, X.shape[1]), dtype=X.dtype)
    first = state.choice(len(X), p=weights / weights.sum())
    centers[0] = X[first]
    closest = _squared(X[first:first + 1], X, norms)[0]
    potential = closest @ weights
    for c in range(1, k):
        draws = state.uniform(size=trials) * potential
        ids = np.searchsorted(np.cumsum(weights * closest), draws)
        np.clip(ids, None, closest.size - 1, out=ids)
        candidates = np.minimum(closest, _squared(X[ids], X, norms))
        pots = candidates @ weights
        best = int(np.argmin(pots))
        potential, closest = pots[best], candidates[best]
        centers[c] = X[ids[best]]
    return centers


def fit(X: np.ndarray, k: int, *, seed: int, n_init: int = 10,
        weights: np.ndarray | None = None) -> KMeansFit:
    """The best of ``n_init`` Lloyd runs from k-means++ starts (least weighted inertia; a
    restart that finds the same partition does not replace the first)."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = X.mean(axis=0)
    Xc = X - mean
    tol = float(np.mean(np.var(Xc, axis=0))) * TOL
    norms = (Xc ** 2).sum(axis=1)
    state = np.random.RandomState(seed)
    best = None
    for _ in range(n_init):
        labels, inertia, centers, n_iter = _single(Xc, w, plusplus(Xc, k, state, w, norms), tol)
        if best is None or (inertia < best[1] and not _same(labels, best[0], k)):
            best = (labels, inertia, centers, n_iter)
    return KMeansFit(best[2] + mean, float(best[1]), int(best[3]), False, n_init)


def _single(X, w, centers, tol):
    """One Lloyd run (:func:`somcli.algorithms.lloyd.iterate`, with scikit-learn's update):
    (labels, inertia, centres, iterations)."""
    centers, done = lloyd.iterate(lambda C: _update(X, w, C, _labels(X, C)), centers, tol,
                                  MAX_ITER)
    labels = _labels(X, centers)  # of the last centres
    inertia = float((((X - centers[labels]) ** 2).sum(axis=1) * w).sum())
    return labels, inertia, centers, done


def _labels(X, centers):
    """Nearest centre of every row (||c||^2 - 2 x.c, the first of equals)."""
    return np.argmin((centers ** 2).sum(axis=1) - 2.0 * (X @ centers.T), axis=1)


def _update(X, w, old, labels):
    """Weighted means of the clusters; an empty cluster takes the rows farthest from their
    centres, and one still empty sits on the heaviest cluster's centre (scikit-learn's rules)."""
    k = len(old)
    member = np.zeros((k, len(X)))
    member[labels, np.arange(len(X))] = w
    weight = member.sum(axis=1)
    sums = member @ X
    empty = np.flatnonzero(weight == 0)
    if len(empty):
        far_dist = ((X - old[labels]) ** 2).sum(axis=1)
        if far_dist.max() > 0:
            far = np.argpartition(far_dist, -len(empty))[:-len(empty) - 1:-1]
            for new_id, row in zip(empty, far, strict=True):
                was = labels[row]
                sums[was] -= X[row] * w[row]
                sums[new_id] = X[row] * w[row]
                weight[new_id] = w[row]
                weight[was] -= w[row]
    if (weight > 0).all():
        return sums / weight[:, None]
    heaviest = int(np.argmax(weight))
    for j in range(k):  # in order, as scikit-learn's loop (a centre taken before or after)
        if weight[j] > 0:
            sums[j] /= weight[j]
        else:
            sums[j] = sums[heaviest]
    return sums


def _squared(A, X, norms):
    """Squared distances of A's rows to X's rows, as scikit-learn's euclidean_distances."""
    out = -2.0 * (A @ X.T)
    out += (A ** 2).sum(axis=1)[:, None]
    out += norms[None, :]
    return np.maximum(out, 0, out=out)


def _same(a, b, k) -> bool:
    """Whether each cluster of ``a`` lies within one cluster of ``b`` (scikit-learn's test
    that two labellings are one partition up to renaming)."""
    return len(np.unique(a * k + b)) == len(np.unique(a))
