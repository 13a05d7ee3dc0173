"""Steps over a backend that more than one command takes: cluster profiles, scores
against the label column, internal scores on a sample of rows, sizes, medians.

Each maps :mod:`somcli.algorithms.blocks` functions over the blocks and adds the results
up here, so every backend gives the same figures.
"""

from __future__ import annotations

import functools

import numpy as np

from somcli.algorithms import blocks as B
from somcli.algorithms import metrics
from somcli.backends.base import Backend, Data
from somcli.pipeline.common import label_scores
from somcli.report.sections import Profile, Scores


def sample_positions(n: int, size: int, seed: int) -> np.ndarray:
    """Which of ``n`` rows a score is computed on: all, or ``size`` drawn with ``seed``
    (the same draw as :func:`somcli.algorithms.metrics.internal`)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def sizes(be: Backend, labels: list, k: int) -> np.ndarray:
    return np.sum(be.reduce(B.label_counts, labels, k=k), axis=0)


def profiles(be: Backend, data: Data, labels: list, k: int) -> list[Profile]:
    """What each cluster is: size, share, feature means (original units), the features
    that set it apart (standardized mean difference against the other rows), its typical
    rows (nearest its mean), the shares of the category columns' values and, with a label
    column, how its rows' labels split."""
    prep = data.described.prep
    parts = be.reduce(B.cluster_sums, data.blocks, labels, k=k, center=prep.center,
                      scale=prep.scale, threads=be.threads)
    sums, counts, size, squares, quoted, present = (np.sum([p[i] for p in parts], axis=0)
                                                    for i in range(6))
    total = int(size.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = sums / counts
        means = quoted / present  # of the input values, exactly as read
        effects, _ = _effects(sums, counts, squares)
        rest_means = (quoted.sum(0) - quoted) / (present.sum(0) - present)
    roles = data.described.roles
    feats = roles.features
    typical = _typical(be, data, labels, np.where(np.isfinite(scaled), scaled, 0.0))
    shares = _category_shares(be, data, labels, size)
    by_label = _label_table(be, data, labels)
    out = []
    for j in range(k):
        order = [i for i in np.argsort(-np.abs(np.nan_to_num(effects[j])), kind="stable")
                 if np.isfinite(effects[j][i]) and abs(effects[j][i]) >= MIN_EFFECT]
        apart = [{"feature": feats[i], "effect": float(effects[j][i]),
                  "mean": _num(means[j][i]), "mean_rest": _num(rest_means[j][i])}
                 for i in order[:DISTINGUISHING]]
        out.append(Profile(j, int(size[j]), float(size[j] / total) if total else 0.0,
                           {f: _num(v) for f, v in zip(feats, means[j], strict=True)},
                           apart, typical.get(j, []), shares.get(j),
                           by_label.get(j) if by_label is not None else None,
                           scaled[j].tolist(), effects[j].tolist()))
    return out


def differences_of(clusters) -> np.ndarray | None:
    """(k, features) each cluster against the other rows, in SDs (:func:`_effects`), for
    profiles.png; None when the clusters were not profiled."""
    if not clusters or any(c.differences is None for c in clusters):
        return None
    return np.array([c.differences for c in clusters], dtype=float)


DISTINGUISHING = 3  # features listed per cluster
MIN_EFFECT = 0.2  # |standardized mean difference| below this does not set a cluster apart
TYPICAL = 3  # rows listed per cluster
TOP_VALUES = 3  # category values listed per column and cluster


def _effects(sums, counts, squares):
    """THE difference of a cluster, per feature, wherever somcli states one (report.md,
    report.html, the terminal, profiles.png, the map legend): the cluster's mean minus the
    other rows' mean, in standard deviations of the feature over all rows. (Cohen's d, with
    the clusters' own spread, reached +20 SD for clusters a picture showed 1.4 SD apart.)
    Returns it and the other rows' means (scaled units)."""
    n_all, s_all, q_all = counts.sum(0), sums.sum(0), squares.sum(0)
    n_rest, s_rest = n_all - counts, s_all - sums
    mean, mean_rest = sums / counts, s_rest / n_rest
    sd = np.sqrt(np.maximum(q_all - s_all ** 2 / n_all, 0) / np.maximum(n_all - 1, 1))
    effect = np.where(sd > 0, (mean - mean_rest) / sd, np.nan)
    return effect, mean_rest


def _typical(be, data, labels, means) -> dict[int, list[str]]:
    found: dict[int, list] = {}
    for part in be.reduce(B.typical_rows, data.blocks, data.ids, labels, means=means,
                          id_columns=data.described.roles.names, how_many=TYPICAL,
                          threads=be.threads):
        for j, rows in part.items():
            found.setdefault(j, []).extend(rows)
    return {j: [name for _, name in sorted(rows, key=lambda r: r[0])[:TYPICAL]]
            for j, rows in found.items()}


def _category_shares(be, data, labels, size) -> dict[int, dict]:
    from collections import Counter

    from somcli.algorithms.blocks import carried_name

    columns = data.described.roles.categories
    if not columns:
        return {}
    total: Counter = Counter()
    for part in be.reduce(B.category_counts, data.ids, labels,
                          columns=[carried_name(c) for c in columns]):
        total.update(part)
    grouped: dict[tuple, list] = {}  # (column, cluster) -> (rows, value): one pass
    for (c, v, cl), n in total.items():
        grouped.setdefault((c, cl), []).append((n, v))
    out: dict[int, dict] = {}
    for col, shown in zip(columns, (carried_name(c) for c in columns), strict=True):
        for j in range(len(size)):
            values = sorted(grouped.get((shown, j), []), key=lambda t: (-t[0], t[1]))
            if size[j]:
                out.setdefault(j, {})[col] = {v: n / size[j] for n, v in values[:TOP_VALUES]}
    return out


def class_counts(be: Backend, data: Data, labels: list) -> dict | None:
    """(class, cluster) -> rows over every block; None without a label column."""
    from collections import Counter

    if data.label is None:
        return None
    total: Counter = Counter()
    for counts in be.reduce(B.class_counts, data.ids, labels, column=data.label):
        total.update(counts)
    return dict(total)


def _label_table(be, data, labels) -> dict[int, dict] | None:
    total = class_counts(be, data, labels)
    if total is None:
        return None
    out: dict[int, dict] = {}
    for (cls, cluster), n in sorted(total.items(), key=lambda t: (t[0][1], -t[1], t[0][0])):
        out.setdefault(int(cluster), {})[str(cls)] = int(n)
    return out


def external(be: Backend, data: Data, labels: list, warnings: list[str]) -> dict | None:
    """ARI, NMI and purity against the label column, from every block's (class, cluster)
    counts; None without a label column."""
    total = class_counts(be, data, labels)
    return None if total is None else label_scores(total, data.described.roles.label, warnings)


def internal(be: Backend, blocks: list, labels: list, seed: int) -> Scores:
    """Silhouette, Davies-Bouldin and Calinski-Harabasz over the complete labelled rows
    (a cluster and no gap, none filled either when at least FEW_ROWS such rows are left: a
    filled gap puts a row where none was seen, as -k auto leaves them out), on the rows
    :func:`somcli.algorithms.metrics.internal` would sample."""
    from somcli.algorithms.choose import FEW_ROWS

    out = Scores()
    as_read = True
    found = be.reduce(B.complete_labels, blocks, labels, as_read=True)
    if sum(f[0] for f in found) < FEW_ROWS:
        as_read = False
        found = be.reduce(B.complete_labels, blocks, labels)
    counts = np.array([f[0] for f in found])
    n = int(counts.sum())
    if not 2 <= len(set().union(*(f[1] for f in found))) < n:
        return out
    pairs = list(zip(blocks, labels, strict=True))
    taken: dict[int, np.ndarray] = {}  # sample size -> rows: the two indices share theirs
    for key, size, fn in (("silhouette", metrics.SILHOUETTE_SAMPLE, metrics.silhouette_score),
                          ("davies_bouldin", metrics.INDEX_SAMPLE, metrics.davies_bouldin_score),
                          ("calinski_harabasz", metrics.INDEX_SAMPLE,
                           metrics.calinski_harabasz_score)):
        if size not in taken:
            taken[size] = be.take(pairs, counts, sample_positions(n, size, seed),
                                  functools.partial(B.labelled_rows, as_read=as_read))
        rows = taken[size]
        X, lab = rows[:, :-1], rows[:, -1].astype(np.int64)
        if 2 <= len(np.unique(lab)) < len(lab):
            value = float(fn(X, lab))
            setattr(out, key, value if np.isfinite(value) else None)
    return out


def fit_rows_sample(be: Backend, data: Data, size: int, seed: int) -> np.ndarray:
    """The fit rows a score samples (float64), in row order."""
    pick = sample_positions(data.n_fit, size, seed)
    return np.asarray(be.take(data.fit, data.fit_counts, pick, B.take), dtype=np.float64)


def observed_sample(be: Backend, data: Data, size: int, seed: int, least: int
                    ) -> tuple[np.ndarray, str]:
    """:func:`fit_rows_sample` of the fit rows as read (no gap filled: see
    :func:`~somcli.algorithms.blocks.observed`) when some gap was filled and at least
    ``least`` rows are left, else of every fit row; and what the rows are, for the report."""
    if data.fit_is_usable:  # (rows merged by --dedupe: the fit rows are not the blocks')
        counts = np.array(be.reduce(B.observed_count, data.blocks))
        n = int(counts.sum())
        if least <= n < data.n_fit:
            rows = be.take(data.blocks, counts, sample_positions(n, size, seed),
                           B.observed_rows)
            drawn = f"drawn from the {n:,} " if n > len(rows) else ""
            return np.asarray(rows), (f"fit rows {drawn}without a filled gap (of "
                                      f"{data.n_fit:,})")
    rows = fit_rows_sample(be, data, size, seed)
    return rows, ("fit rows" if len(rows) == data.n_fit else
                  f"fit rows drawn from {data.n_fit:,}")


def positive_median(be: Backend, values: list, n: int, total: float) -> float:
    """The median of ``n`` values (exact); their mean when it is not positive; else 1."""
    if n == 0:
        return 1.0
    med = quantile(be, values, n, 0.5)
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
