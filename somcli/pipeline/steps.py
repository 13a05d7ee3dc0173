"""Steps over a backend that more than one command takes: cluster profiles, scores
against the label column, internal scores on a sample of rows, sizes, medians.

Each maps :mod:`somcli.pipeline.blocks` functions over the blocks and adds the results
up here, so every backend gives the same figures.
"""

from __future__ import annotations

import numpy as np

from somcli import metrics
from somcli.backends.base import Backend, Data
from somcli.pipeline import blocks as B
from somcli.pipeline.common import label_scores
from somcli.report.sections import Profile, Scores


def sample_positions(n: int, size: int, seed: int) -> np.ndarray:
    """Which of ``n`` rows a score is computed on: all, or ``size`` drawn with ``seed``
    (the same draw as :func:`somcli.metrics.internal`)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def sizes(be: Backend, labels: list, k: int) -> np.ndarray:
    return np.sum(be.reduce(B.label_counts, labels, k=k), axis=0)


def profiles(be: Backend, data: Data, labels: list, k: int) -> list[Profile]:
    """Size, share and per-feature means (original units) of every cluster."""
    parts = be.reduce(B.cluster_sums, data.blocks, labels, k=k)
    sums = np.sum([p[0] for p in parts], axis=0)
    counts = np.sum([p[1] for p in parts], axis=0)
    size = np.sum([p[2] for p in parts], axis=0)
    total = int(size.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        means = data.described.prep.to_original(sums / counts)
    feats = data.described.roles.features
    return [Profile(j, int(size[j]), float(size[j] / total) if total else 0.0,
                    {f: _num(v) for f, v in zip(feats, means[j], strict=True)})
            for j in range(k)]


def external(be: Backend, data: Data, labels: list, warnings: list[str]) -> dict | None:
    """ARI, NMI and purity against the label column, from every block's (class, cluster)
    counts; None without a label column."""
    from collections import Counter

    if data.label is None:
        return None
    total: Counter = Counter()
    for counts in be.reduce(B.class_counts, data.ids, labels, column=data.label):
        total.update(counts)
    return label_scores(dict(total), data.described.roles.label, warnings)


def internal(be: Backend, blocks: list, labels: list, seed: int) -> Scores:
    """Silhouette, Davies-Bouldin and Calinski-Harabasz over the complete labelled rows
    (a cluster and no gap), on the rows :func:`somcli.metrics.internal` would sample."""
    out = Scores()
    found = be.reduce(B.complete_labels, blocks, labels)
    counts = np.array([f[0] for f in found])
    n = int(counts.sum())
    if not 2 <= len(set().union(*(f[1] for f in found))) < n:
        return out
    pairs = list(zip(blocks, labels, strict=True))
    for key, size, fn in (("silhouette", metrics.SILHOUETTE_SAMPLE, metrics.silhouette_score),
                          ("davies_bouldin", metrics.INDEX_SAMPLE, metrics.davies_bouldin_score),
                          ("calinski_harabasz", metrics.INDEX_SAMPLE,
                           metrics.calinski_harabasz_score)):
        rows = be.take(pairs, counts, sample_positions(n, size, seed), B.labelled_rows)
        X, lab = rows[:, :-1], rows[:, -1].astype(np.int64)
        if 2 <= len(np.unique(lab)) < len(lab):
            value = float(fn(X, lab))
            setattr(out, key, value if np.isfinite(value) else None)
    return out


def fit_rows_sample(be: Backend, data: Data, size: int, seed: int) -> np.ndarray:
    """The fit rows a score samples (float64), in row order."""
    pick = sample_positions(data.n_fit, size, seed)
    return np.asarray(be.take(data.fit, data.fit_counts, pick, B.take), dtype=np.float64)


def positive_median(be: Backend, values: list, n: int, total: float) -> float:
    """The median of ``n`` values (exact); their mean when it is not positive; else 1."""
    if n == 0:
        return 1.0
    ranges = [r for r in be.reduce(B.value_range, values) if r is not None]
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    med = be.quantiles(values, n, [0.5], lo, hi)[0]
    if med > 0:
        return med
    mean = total / n
    return mean if mean > 0 else 1.0


def quantile(be: Backend, values: list, n: int, q: float) -> float:
    """The ``q`` quantile of ``n`` values (exact); inf when there are none."""
    if n == 0:
        return float("inf")
    ranges = [r for r in be.reduce(B.value_range, values) if r is not None]
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    return be.quantiles(values, n, [q], lo, hi)[0]


def _num(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None
