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
    equal weight unless ``weights``): one of :func:`starts`."""
    weights = np.ones(len(X), dtype=X.dtype) if weights is None else weights
    norms = (X ** 2).sum(axis=1) if norms is None else norms
    return starts(X, k, state, weights, norms, 1)[0]


def starts(X: np.ndarray, k: int, state: np.random.RandomState, weights: np.ndarray,
           norms: np.ndarray, n: int) -> np.ndarray:
    """(n, k, features): ``n`` k-means++ starts, each as :func:`plusplus` would draw it after
    the ones before (the numbers drawn do not depend on the data: a weighted pick is one
    uniform draw, each further centre ``trials`` more), made together: each centre of every
    start in one numpy call, where a start alone made ``k`` rounds of small ones (a map's -k
    auto seeds 500 of them)."""
    trials = 2 + int(np.log(k))
    rows = len(X)
    u = state.random_sample(n * (1 + (k - 1) * trials)).reshape(n, -1)
    cdf = (weights / weights.sum()).cumsum()
    cdf /= cdf[-1]
    picked = cdf.searchsorted(u[:, 0], side="right")
    centers = np.empty((n, k, X.shape[1]), dtype=X.dtype)
    centers[:, 0] = X[picked]
    closest = _squared(X[picked], X, norms)
    potential = closest @ weights
    each = np.arange(n)
    for c in range(1, k):
        draws = u[:, 1 + (c - 1) * trials:1 + c * trials] * potential[:, None]
        cumulative = np.cumsum(weights * closest, axis=1)
        ids = np.stack([np.searchsorted(cumulative[r], draws[r]) for r in each])
        np.clip(ids, None, rows - 1, out=ids)
        candidates = np.minimum(closest[:, None, :], _squared(X[ids.ravel()], X, norms)
                                .reshape(n, trials, rows))
        pots = candidates @ weights
        best = np.argmin(pots, axis=1)
        potential, closest = pots[each, best], candidates[each, best]
        centers[:, c] = X[ids[each, best]]
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
    seeds = starts(Xc, k, state, w, norms, n_init)  # (Lloyd draws none)
    best = None
    group = max(1, BATCH_CELLS // max(1, k * len(Xc)))
    for start in range(0, n_init, group):
        for labels, inertia, centers, n_iter in _runs(Xc, w, list(seeds[start:start + group]),
                                                      tol):
            if best is None or (inertia < best[1] and not _same(labels, best[0], k)):
                best = (labels, inertia, centers, n_iter)
    return KMeansFit(best[2] + mean, float(best[1]), int(best[3]), False, n_init)


#: the most cells (runs x centres x rows) of the membership matrices of Lloyd runs made at once
BATCH_CELLS = 2 ** 21


def _runs(X, w, starts, tol) -> list[tuple]:
    """Lloyd runs (scikit-learn's update and stopping rule) from each of ``starts``, made
    together: each step is one numpy call for all the runs still moving, where a run alone
    took one per run (a map's -k auto fits 45 codebooks ten times each, whose numpy calls
    on a few hundred units cost more in Python than in arithmetic). Each run's numbers are
    the ones it gives alone (the same matrix products, slice by slice). (labels, inertia,
    centres, iterations) for each."""
    C = np.array(starts, dtype=np.float64)
    steps = np.zeros(len(C), dtype=int)
    moving = np.arange(len(C))
    while moving.size:
        now = C[moving]
        new = _updates(X, w, now, _labels(X, now))
        shift = ((new - now) ** 2).reshape(len(now), -1).sum(axis=1)
        C[moving] = new
        steps[moving] += 1
        moving = moving[(shift > tol) & (steps[moving] < MAX_ITER)]
    labels = _labels(X, C)  # of the last centres
    return [(labels[j], float((((X - C[j][labels[j]]) ** 2).sum(axis=1) * w).sum()), C[j],
             int(steps[j])) for j in range(len(C))]


def _labels(X, centers):
    """Nearest centre of every row (||c||^2 - 2 x.c, the first of equals); of each run's
    centres when ``centers`` is (runs, k, d)."""
    if centers.ndim == 2:
        return _labels(X, centers[None])[0]
    d = np.matmul(X, centers.transpose(0, 2, 1))  # in place below: the same numbers as
    d *= -2.0  # ||c||^2 - 2 x.c written out, in half the time (no temporaries)
    d += (centers ** 2).sum(axis=2)[:, None, :]
    return np.argmin(d, axis=2)


def _updates(X, w, old, labels):
    """:func:`_update` of each run ((runs, k, d) centres, (runs, rows) labels): the weighted
    means together, a run with an empty cluster by :func:`_update`'s rules."""
    runs, k, _ = old.shape
    member = np.zeros((runs, k, len(X)))
    member[np.arange(runs)[:, None], labels, np.arange(len(X))] = w
    weight = member.sum(axis=2)
    sums = member @ X
    new = np.empty_like(old)
    full = (weight > 0).all(axis=1)
    new[full] = sums[full] / weight[full][:, :, None]
    for j in np.flatnonzero(~full):
        new[j] = _update(X, w, old[j], labels[j])
    return new


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
