"""Scores of a clustering: internal (silhouette, Davies-Bouldin, Calinski-Harabasz)
and, against a known label, external (ARI, NMI, purity). Plain arrays in.

The internal scores are scikit-learn's definitions, computed here with numpy
(tests check them against scikit-learn): importing scikit-learn costs about a
second, and its silhouette on 10,000 rows 0.7 s and up to 1 GB of working memory;
this one is a chunked GEMM, and several labellings of the same rows share the distances.
"""

from __future__ import annotations

import threading

import numpy as np

#: rows from which the silhouette's blocks run on threads: below, a pool and its BLAS limit
#: cost more than they save (9 labellings of 1,000 rows: 10.6 ms on one thread, 14.0 on
#: two; of 2,000: 23.3 / 39.4 ms; even at 3,000, and ahead from 5,000: 49.6 / 38.7 ms)
THREADED_ROWS = 4_000
SILHOUETTE_SAMPLE = 10_000  # silhouette is quadratic: scored on at most this many rows
INDEX_SAMPLE = 100_000  # Davies-Bouldin and Calinski-Harabasz: linear, but bounded too
#: silhouette rows per distance block (128 x 10,000 float32 = 5 MB per thread; on 10,000
#: rows 32-row blocks took 0.158 s, 128-row 0.107 s, 256-row 0.148 s)
BLOCK = 128
ONEHOT_CLUSTERS = 64  # a labelling of more clusters is scored on rows sorted by cluster
ROWS = 16384  # rows per block in the linear scores


def internal(X: np.ndarray, labels: np.ndarray, seed: int = 0, rows: np.ndarray | None = None
             ) -> dict[str, float | None]:
    """The three internal scores over ``rows`` (a mask; default all); None where undefined."""
    idx = _rows(labels, rows)
    if idx is None:
        return {"silhouette": None, "davies_bouldin": None, "calinski_harabasz": None}
    small, big = _sample(idx, SILHOUETTE_SAMPLE, seed), _sample(idx, INDEX_SAMPLE, seed)
    return {
        "silhouette": _score(silhouette_score, X, labels, small),
        "davies_bouldin": _score(davies_bouldin_score, X, labels, big),
        "calinski_harabasz": _score(calinski_harabasz_score, X, labels, big),
    }


def silhouette_score(X: np.ndarray, labels: np.ndarray, threads: int | None = None) -> float:
    """Mean silhouette (Rousseeuw 1987); a row alone in its cluster scores 0."""
    return silhouette_scores(X, [labels], threads)[0]


def silhouette_scores(X: np.ndarray, labelings: list, threads: int | None = None
                      ) -> list[float]:
    """The mean silhouette of each labelling of the same rows.

    Several labellings of few clusters share the distances: a block of rows' distances to
    every row times a 0/1 matrix (row, cluster of each labelling) gives all their
    per-cluster sums in one GEMM. A labelling alone, or of many clusters (a map's units),
    has its rows sorted by cluster, so a block's per-cluster sums are one
    ``np.add.reduceat`` over contiguous columns.
    Blocks run on threads (their numpy work releases the GIL) and are added in order.
    """
    from somcli.runtime.parallel import default_threads

    threads = 1 if len(X) < THREADED_ROWS else threads or default_threads()
    codes = [_codes(np.asarray(lab)) for lab in labelings]
    # distances in float32 on centred rows (centring keeps the rounding relative to the
    # spread, not to the distance from the origin), sums in float64: within 1e-8 of
    # scikit-learn's score on the tests' data
    X = np.asarray(X, dtype=np.float64)
    X = np.ascontiguousarray(X - X.mean(axis=0), dtype=np.float32)
    # several labellings of few clusters share one GEMM; the others are scored one by one
    shared = [i for i, (_, counts) in enumerate(codes) if len(counts) <= ONEHOT_CLUSTERS]
    out: dict[int, float] = {}
    if len(shared) > 1:  # (one alone: sorted rows are faster)
        out.update(zip(shared, _silhouettes(X, [codes[i] for i in shared], threads),
                       strict=True))
    for i, (lab, counts) in enumerate(codes):
        if i not in out:
            order = np.argsort(lab, kind="stable")
            out[i] = _silhouettes(X[order], [(lab[order], counts)], threads, by_order=True)[0]
    return [out[i] for i in range(len(codes))]


def _silhouettes(X, codes, threads, by_order=False) -> list[float]:
    """Mean silhouettes of ``codes`` ((labels, cluster sizes) of the rows of ``X``); with
    ``by_order`` one labelling whose rows are sorted by cluster."""
    from somcli.runtime.parallel import map_chunks

    n = len(X)
    sq = np.einsum("ij,ij->i", X, X)[:, None]
    # one product gives the squared distances: [x, |x|^2, 1] . [-2y, 1, |y|^2]
    ones = np.ones_like(sq)
    left, right = np.hstack([X, sq, ones]), np.hstack([-2.0 * X, ones, sq])
    offsets = np.cumsum([0] + [len(counts) for _, counts in codes])
    if by_order:
        starts = np.concatenate([[0], np.cumsum(codes[0][1])[:-1]])
    else:
        member = np.zeros((n, offsets[-1]))
        for i, (lab, _) in enumerate(codes):
            member[np.arange(n), offsets[i] + lab] = 1.0

    scratch = threading.local()  # each thread's blocks, reused: allocated afresh, the
    # float64 copy went back to the system at every free (the command line's 4 MB trim
    # threshold, runtime/memory.settle) and was faulted in again (10,000 rows, 8 clusters:
    # 239,000 page faults, 0.127 s; with these, 0.10 s)

    def block_sums(start: int) -> np.ndarray:
        block = left[start:start + BLOCK]
        rows = np.arange(len(block))
        if getattr(scratch, "dist", None) is None:
            scratch.dist, scratch.wide = np.empty((BLOCK, n), left.dtype), np.empty((BLOCK, n))
        dist = np.matmul(block, right.T, out=scratch.dist[:len(block)])
        np.maximum(dist, 0.0, out=dist)
        dist[rows, rows + start] = 0.0
        np.sqrt(dist, out=dist)
        wide = scratch.wide[:len(block)]
        np.copyto(wide, dist)  # sums in float64
        per = (np.add.reduceat(wide, starts, axis=1) if by_order
               else wide @ member)  # (rows, clusters of every labelling)
        sums = np.empty(len(codes))
        for i, (lab, counts) in enumerate(codes):
            per_cluster = per[:, offsets[i]:offsets[i + 1]]
            own = lab[start:start + BLOCK]
            own_n = counts[own]
            a = per_cluster[rows, own] / np.maximum(own_n - 1, 1)
            per_cluster = per_cluster / counts
            per_cluster[rows, own] = np.inf
            b = per_cluster.min(axis=1)
            s = np.where(own_n > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
            sums[i] = np.nan_to_num(s).sum()
        return sums

    parts = map_chunks(block_sums, n, BLOCK, threads)
    return [float(v) for v in np.sum(parts, axis=0) / n]


def davies_bouldin_score(X: np.ndarray, labels: np.ndarray) -> float:
    lab, counts = _codes(labels)
    centroids = _centroids(X, lab, counts)
    intra = np.zeros(len(counts))
    for start in range(0, len(X), ROWS):
        diff = X[start:start + ROWS] - centroids[lab[start:start + ROWS]]
        intra += np.bincount(lab[start:start + ROWS], minlength=len(counts),
                             weights=np.sqrt(np.einsum("ij,ij->i", diff, diff)))
    intra /= counts
    gaps = np.sqrt(((centroids[:, None, :] - centroids[None, :, :]) ** 2).sum(-1))
    if np.allclose(intra, 0) or np.allclose(gaps, 0):
        return 0.0
    gaps[gaps == 0] = np.inf
    ratio = (intra[:, None] + intra[None, :]) / gaps
    return float(np.mean(ratio.max(axis=1)))


def calinski_harabasz_score(X: np.ndarray, labels: np.ndarray) -> float:
    lab, counts = _codes(labels)
    n, k = len(X), len(counts)
    centroids = _centroids(X, lab, counts)
    mean = X.mean(axis=0)
    between = float((counts * ((centroids - mean) ** 2).sum(1)).sum())
    within = 0.0
    for start in range(0, n, ROWS):
        diff = X[start:start + ROWS] - centroids[lab[start:start + ROWS]]
        within += float(np.einsum("ij,ij->", diff, diff))
    return 1.0 if within == 0 else between * (n - k) / (within * (k - 1))


def _codes(labels):
    _, lab = np.unique(labels, return_inverse=True)
    return lab, np.bincount(lab)


def _centroids(X, lab, counts):
    sums = np.zeros((len(counts), X.shape[1]))
    for j in range(X.shape[1]):
        sums[:, j] = np.bincount(lab, weights=X[:, j], minlength=len(counts))
    return sums / counts[:, None]


def external(labels: np.ndarray, truth: np.ndarray) -> dict[str, float | int]:
    """Agreement of the clusters with known classes (rows with a missing class are skipped)."""
    return external_from_counts(class_counts(labels, truth))


def class_counts(labels: np.ndarray, truth) -> dict[tuple[str, int], int]:
    """(class, cluster) -> rows: all that the external scores need, and what partitions
    of a distributed table add up (rows without a class or a cluster are left out)."""
    truth = np.asarray(truth, dtype=object)
    known = np.array([t is not None and t == t for t in truth], dtype=bool)  # NaN != NaN
    known &= np.asarray(labels) >= 0
    if not known.any():
        return {}
    import pandas as pd

    pairs = pd.DataFrame({"t": truth[known].astype(str), "c": np.asarray(labels)[known]})
    counts = pairs.groupby(["t", "c"], sort=False).size()
    return {(str(t), int(c)): int(n) for (t, c), n in counts.items()}


def external_from_counts(counts: dict[tuple[str, int], int]) -> dict[str, float | int]:
    """ARI, NMI (arithmetic mean of the entropies, scikit-learn's default) and purity from
    the (class, cluster) counts, as scikit-learn computes them from the rows."""
    classes = sorted({t for t, _ in counts})
    clusters = sorted({c for _, c in counts})
    n = sum(counts.values())
    out: dict[str, float | int] = {"rows_scored": int(n), "classes": len(classes)}
    if len(classes) < 2 or n == 0:
        return out
    table = np.zeros((len(classes), len(clusters)), dtype=np.int64)
    ti, ci = {t: i for i, t in enumerate(classes)}, {c: j for j, c in enumerate(clusters)}
    for (t, c), k in counts.items():
        table[ti[t], ci[c]] += k
    a, b = table.sum(axis=1), table.sum(axis=0)
    ari = _ari(table)
    p = table / n
    with np.errstate(divide="ignore", invalid="ignore"):
        mi = np.nansum(p * np.log(p / np.outer(a / n, b / n)))
    h_true, h_pred = _entropy(a / n), _entropy(b / n)
    norm = 0.5 * (h_true + h_pred)
    out.update({"ari": float(ari), "nmi": float(mi / norm) if norm > 0 else 1.0,
                "purity": float(table.max(axis=0).sum() / n)})
    return out


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two labellings of the same rows (Hubert and Arabie 1985), as
    scikit-learn's ``adjusted_rand_score``."""
    (ia, na), (ib, nb) = _codes(a), _codes(b)
    table = np.bincount(ia * len(nb) + ib, minlength=len(na) * len(nb))
    return _ari(table.reshape(len(na), len(nb)))


def _ari(table: np.ndarray) -> float:
    """The adjusted Rand index of a contingency table (rows x clusters)."""
    def pairs(x):
        x = np.asarray(x, dtype=np.float64)
        return float((x * (x - 1) / 2).sum())

    n = table.sum()
    both, pa, pb = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = pa * pb / pairs(n) if n > 1 else 0.0
    top = 0.5 * (pa + pb) - expected
    return 1.0 if top == 0 else float((both - expected) / top)


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _rows(labels, rows):
    """Rows that can be scored (labelled, and in ``rows``), or None when undefined."""
    ok = labels >= 0
    if rows is not None:
        ok &= rows
    idx = np.flatnonzero(ok)
    kept = labels[idx]
    n_labels = (int(np.count_nonzero(np.bincount(kept))) if kept.dtype.kind in "iu" and len(kept)
                else len(np.unique(kept)))  # (counting beats sorting a million labels)
    return idx if 2 <= n_labels < len(idx) else None


def _sample(idx: np.ndarray, size: int, seed: int) -> np.ndarray:
    if len(idx) <= size:
        return idx
    pick = np.random.default_rng(seed).choice(len(idx), size=size, replace=False)
    return idx[np.sort(pick)]


def _score(fn, X, labels, idx) -> float | None:
    lab = labels[idx]
    if not 2 <= len(np.unique(lab)) < len(idx):
        return None
    value = float(fn(np.asarray(X[idx], dtype=np.float64), lab))
    return value if np.isfinite(value) else None
