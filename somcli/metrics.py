"""Scores of a clustering: internal (silhouette, Davies-Bouldin, Calinski-Harabasz)
and, against a known label, external (ARI, NMI, purity). Plain arrays in."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

SILHOUETTE_SAMPLE = 10_000


def internal(X: np.ndarray, labels: np.ndarray, seed: int = 0,
             sample: int = SILHOUETTE_SAMPLE) -> dict[str, float | None]:
    """The three internal scores; None where undefined (one cluster, or one row per cluster)."""
    n_labels = len(np.unique(labels))
    if n_labels < 2 or n_labels >= len(X):
        return {"silhouette": None, "davies_bouldin": None, "calinski_harabasz": None}
    X, labels = _subsample(X, labels, seed, sample)
    if len(np.unique(labels)) < 2:
        return {"silhouette": None, "davies_bouldin": None, "calinski_harabasz": None}
    return {
        "silhouette": _finite(skm.silhouette_score(X, labels)),
        "davies_bouldin": _finite(skm.davies_bouldin_score(X, labels)),
        "calinski_harabasz": _finite(skm.calinski_harabasz_score(X, labels)),
    }


def silhouette(X, labels, seed=0, sample=SILHOUETTE_SAMPLE) -> float | None:
    n_labels = len(np.unique(labels))
    if n_labels < 2 or n_labels >= len(X):
        return None
    X, labels = _subsample(X, labels, seed, sample)
    return _finite(skm.silhouette_score(X, labels)) if len(np.unique(labels)) > 1 else None


def davies_bouldin(X, labels, seed=0, sample=SILHOUETTE_SAMPLE) -> float | None:
    if len(np.unique(labels)) < 2:
        return None
    X, labels = _subsample(X, labels, seed, sample)
    return _finite(skm.davies_bouldin_score(X, labels)) if len(np.unique(labels)) > 1 else None


def external(labels: np.ndarray, truth: np.ndarray) -> dict[str, float | int]:
    """Agreement of the clusters with known classes (rows with a missing class are skipped)."""
    truth = np.asarray(truth, dtype=object)
    known = np.array([t is not None and t == t for t in truth])  # t == t is False for NaN
    labels, truth = labels[known], truth[known].astype(str)
    classes = len(np.unique(truth))
    out: dict[str, float | int] = {"rows_scored": int(known.sum()), "classes": int(classes)}
    if classes < 2 or len(labels) == 0:
        return out
    contingency = skm.cluster.contingency_matrix(truth, labels)
    out.update({
        "ari": float(skm.adjusted_rand_score(truth, labels)),
        "nmi": float(skm.normalized_mutual_info_score(truth, labels)),
        "purity": float(contingency.max(axis=0).sum() / contingency.sum()),
    })
    return out


def _subsample(X, labels, seed, sample):
    if len(X) <= sample:
        return X, labels
    idx = np.random.default_rng(seed).choice(len(X), size=sample, replace=False)
    idx.sort()
    return X[idx], labels[idx]


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
