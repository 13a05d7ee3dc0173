"""`somcli kmeans --engine dask`: k-means++ starts on a sample, then Lloyd's iterations
as a map-reduce over the partitions."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from somcli import metrics
from somcli.algorithms import kmeans as km
from somcli.config import CleanOptions, ColumnOptions, KMeansOptions, ReadOptions
from somcli.dask_engine import blocks as B
from somcli.dask_engine import data as D
from somcli.dask_engine.client import DaskOptions
from somcli.dask_engine.common import (
    _parts_writer,
    _profiles,
    _reduce_moments,
    _scores_on_sample,
    label_scores_on_cluster,
    prepare,
)
from somcli.errors import DataError
from somcli.pipeline.common import RunResult, base_report, int_column
from somcli.pipeline.kmeans import centroid_table

LLOYD_TOL = 1e-4  # scikit-learn's default, relative to the mean feature variance
LLOYD_MAX_ITER = 300
INIT_SAMPLE = 100_000  # rows the k-means++ starts are run on


def kmeans(client, read: ReadOptions, cols: ColumnOptions, cleaning: CleanOptions,
           opts: KMeansOptions, dopts: DaskOptions, progress) -> RunResult:
    t0 = time.perf_counter()
    dist = prepare(client, read, cols, cleaning, np.float64, dopts, progress)
    t1 = time.perf_counter()
    if dist.n_fit < 2:
        raise DataError(f"only {dist.n_fit} usable row(s); clustering needs at least 2")
    fit = client.map(D._on_fit_rows, dist.blocks, pure=False)
    sums, _, n = _reduce_moments(client, fit)
    sq = sum(client.gather(client.map(_on_sq, fit, pure=False)))
    tol = LLOYD_TOL * float(np.mean(sq / n - (sums / n) ** 2))
    n_init = opts.n_init or km.default_n_init(dist.n_fit)
    rng = np.random.default_rng(opts.seed)
    pick = np.arange(dist.n_fit) if dist.n_fit <= INIT_SAMPLE else np.sort(
        rng.choice(dist.n_fit, size=INIT_SAMPLE, replace=False))
    sample = B.gather_rows(client, fit, dist.usable_counts, pick, fn=B.on_take)
    selection = None

    def fit_one(k):
        progress(f"k-means on the cluster with k={k}")
        start = km.fit(sample, k, seed=opts.seed, n_init=n_init).centers
        return lloyd(client, dist.blocks, start, tol)

    if opts.k is None:
        top = min(opts.k_max, dist.n_fit - 1)
        pick_s = np.arange(dist.n_fit) if dist.n_fit <= metrics.SILHOUETTE_SAMPLE else \
            np.sort(np.random.default_rng(opts.seed).choice(
                dist.n_fit, size=metrics.SILHOUETTE_SAMPLE, replace=False))
        scored = B.gather_rows(client, fit, dist.usable_counts, pick_s, fn=B.on_take)
        scores, fits = {}, {}
        for k in range(2, top + 1):
            fits[k] = fit_one(k)
            lab = km.assign(scored, fits[k][0])[0]
            scores[k] = (float(metrics.silhouette_score(scored, lab))
                         if 2 <= len(np.unique(lab)) < len(lab) else None)
        k = max((kk for kk in scores if scores[kk] is not None),
                key=lambda kk: (scores[kk], -kk))
        centers, inertia, n_iter = fits[k]
        selection = {"method": "silhouette (higher is better), on at most "
                     f"{metrics.SILHOUETTE_SAMPLE} rows", "scores": scores, "chosen": k}
    else:
        k = opts.k
        centers, inertia, n_iter = fit_one(k)
    assigned = client.map(B.on_assign, dist.blocks, centers=centers, pure=False)
    sizes = np.sum(client.gather(client.map(_on_sizes, assigned, k=k, pure=False)), axis=0)
    perm = km.order_by_size(np.arange(k), k, weight=sizes.astype(float))  # 0 = largest
    centers = centers[np.argsort(perm)]
    assigned = client.map(_on_renumber, assigned, perm=perm, pure=False)  # as the local engine
    labels = client.map(_on_first, assigned, pure=False)
    t2 = time.perf_counter()
    described = dist.described({"read": t1 - t0, "fit": t2 - t1})
    params = {"algorithm": "k-means (Lloyd on Dask, k-means++ starts on a sample)", "k": k,
              "k_auto": opts.k is None, "k_max": opts.k_max, "n_init": n_init,
              "minibatch_rows": opts.minibatch_rows,
              "seed": opts.seed, "scale": cleaning.scale, "missing": cleaning.missing,
              "dedupe": cleaning.dedupe, "engine": "dask", "partitions": len(dist.blocks)}
    report = base_report("kmeans", described, params, [])
    report["k_selection"] = selection
    report["fit"] = {"inertia": inertia, "iterations": n_iter}
    report["clusters"] = _profiles(client, dist, labels, k)
    report["metrics"] = kmeans_metrics(client, dist, labels, opts.seed)
    report["external"] = label_scores_on_cluster(client, dist, labels, report["warnings"])
    report["runtime_seconds"] = described.timings | {"total": time.perf_counter() - t0}
    counts = np.array([c["size"] for c in report["clusters"]])
    table = centroid_table(described, centers, np.repeat(np.arange(k), counts))
    model = _kmeans_model(client, dist, described, opts, params, centers, assigned, report)
    parts = _parts_writer(client, dist, _kmeans_frame, [assigned])
    return RunResult("kmeans", None, report, {"centroids.csv": table}, model=model,
                     parts=parts)

def _on_sq(X):
    return np.einsum("ij,ij->j", X, X, dtype=np.float64)

def _on_sizes(assigned, k):
    labels = assigned[0]
    return np.bincount(labels[labels >= 0], minlength=k)

def _on_renumber(assigned, perm):
    labels, dist = assigned
    return np.where(labels >= 0, perm[np.maximum(labels, 0)], -1).astype(np.int32), dist


def _on_first(assigned):
    return assigned[0]

def _kmeans_frame(ids, assigned):
    labels, dist = assigned
    out = ids.reset_index(drop=True).copy()
    out["cluster"] = int_column(labels, labels >= 0)
    out["distance"] = dist
    return out

def lloyd(client, blocks, centers: np.ndarray, tol: float) -> tuple[np.ndarray, float, int]:
    """Lloyd's iterations as a map-reduce until the centres move less than ``tol``."""
    centers = np.asarray(centers, dtype=np.float64)
    inertia, it = np.inf, 0
    while it < LLOYD_MAX_ITER:
        it += 1
        parts = client.gather(client.map(B.on_lloyd, blocks, centers=centers, pure=False))
        sums = np.sum([p[0] for p in parts], axis=0)
        counts = np.sum([p[1] for p in parts], axis=0)
        inertia = float(sum(p[2] for p in parts))
        new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centers)
        shift = float(((new - centers) ** 2).sum())
        centers = new
        if shift <= tol:
            break
    return centers, inertia, it

def kmeans_metrics(client, dist, labels, seed) -> dict:
    """The internal scores on the labelled rows without gaps (as metrics.internal)."""
    counts = np.array(client.gather(client.map(_on_complete_count, dist.blocks, labels,
                                               pure=False)))
    return _scores_on_sample(client, list(zip(dist.blocks, labels, strict=True)), counts, seed,
                             _on_labelled_fit_rows)

def _on_complete_count(block, labels):
    return int(((labels >= 0) & ~np.isnan(block[0]).any(axis=1)).sum())

def _on_labelled_fit_rows(pair, positions):
    (X, _), labels = pair
    where = np.flatnonzero((labels >= 0) & ~np.isnan(X).any(axis=1))[positions]
    return np.column_stack([np.asarray(X[where], dtype=np.float64), labels[where]])

def _kmeans_model(client, dist, described, opts, params, centers, assigned, report):
    from somcli.model import build

    k = len(centers)
    sizes = np.sum(client.gather(client.map(_on_sizes, assigned, k=k, pure=False)), axis=0)
    dsum = sum(client.gather(client.map(_on_dist_sum, assigned, pure=False)))
    algorithm = {"name": "kmeans", "clusters": k, "params": params,
                 "quality": {"distance_mean": dsum / max(int(sizes.sum()), 1)}}
    arrays = {"centroids": np.asarray(centers, np.float64),
              "cluster_shares": sizes / max(int(sizes.sum()), 1)}
    described = replace(described, fingerprint=dist.fingerprint())
    return build(described, "kmeans", algorithm, arrays, report, opts.seed)

def _on_dist_sum(assigned):
    return float(np.nansum(assigned[1]))
