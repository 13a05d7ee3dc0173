"""somcli kmeans: read -> clean -> k-means (k given or chosen by silhouette) -> outputs."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from somcli import memory, metrics
from somcli.algorithms import kmeans as km
from somcli.config import CleanOptions, ColumnOptions, KMeansOptions, ReadOptions
from somcli.errors import DataError
from somcli.pipeline.common import (
    Described,
    Prepared,
    Progress,
    RunResult,
    _quiet,
    assignment_table,
    base_report,
    check_clusterable,
    cluster_profiles,
    external_scores,
    int_column,
    prepare,
)


def choose_k(X: np.ndarray, k_max: int, fit_one, score, progress: Progress = _quiet
             ) -> tuple[int, dict[int, float | None], dict]:
    """Fit k = 2..k_max; return the best k by ``score`` (higher is better), all scores, fits."""
    scores: dict[int, float | None] = {}
    fits = {}
    top = min(k_max, len(np.unique(np.round(X, 12), axis=0)), len(X) - 1)
    for k in range(2, top + 1):
        progress(f"trying k={k}")
        fits[k] = fit_one(k)
        scores[k] = score(fits[k])
    ranked = [k for k in scores if scores[k] is not None]
    if not ranked:
        raise DataError(f"-k auto needs at least 3 distinct rows, the data has {len(X)}",
                        "pass -k explicitly")
    best = max(ranked, key=lambda k: (scores[k], -k))
    return best, scores, fits


def run(read: ReadOptions, cols: ColumnOptions, cleaning: CleanOptions, opts: KMeansOptions,
        progress: Progress = _quiet, stdin=None, prep: Prepared | None = None) -> RunResult:
    t0 = time.perf_counter()
    limit = memory.parse_limit(opts.max_memory)
    prep = prep or prepare(read, cols, cleaning, stdin=stdin, progress=progress)
    check_clusterable(prep, opts.k)
    X = prep.cleaned.fit_X
    memory.check(memory.kmeans_estimate(len(prep.cleaned.X), X.shape[1], opts.k or opts.k_max),
                 limit, f"k-means on {len(X):,} rows")
    minibatch = len(X) > opts.minibatch_rows
    warnings: list[str] = []
    if minibatch:
        warnings.append(f"{len(X)} rows > --minibatch-rows {opts.minibatch_rows}: "
                        "used MiniBatchKMeans (faster, slightly less exact)")
    t_fit = time.perf_counter()
    selection = None

    def fit_one(k):
        return km.fit(X, k, seed=opts.seed, n_init=opts.n_init, minibatch=minibatch)

    if opts.k is None:
        def score(f):
            return metrics.silhouette(X, km.assign(X, f.centers)[0], seed=opts.seed)
        k, scores, fits = choose_k(X, opts.k_max, fit_one, score, progress)
        fit = fits[k]
        selection = {"method": "silhouette (higher is better), on at most "
                     f"{metrics.SILHOUETTE_SAMPLE} rows", "scores": scores, "chosen": k}
    else:
        k = opts.k
        progress(f"k-means with k={k}")
        fit = fit_one(k)
    # number clusters by size (0 = largest), then assign every usable row
    usable = prep.cleaned.usable
    labels_all = np.full(len(usable), -1, dtype=np.int64)
    dist_all = np.full(len(usable), np.nan)
    lab, dist = km.assign(prep.cleaned.X if usable.all() else prep.cleaned.X[usable],
                          fit.centers)
    perm = km.order_by_size(lab, k)
    centers = fit.centers[np.argsort(perm)]
    labels_all[usable], dist_all[usable] = perm[lab], dist
    fit_seconds = time.perf_counter() - t_fit

    assignments = assignment_table(prep, {"cluster": int_column(labels_all, labels_all >= 0),
                                          "distance": dist_all})
    fit_labels = labels_all[prep.cleaned.fit_index] if prep.cleaned.merged is None \
        else km.assign(X, centers)[0]
    params = {"algorithm": "MiniBatchKMeans" if minibatch else "KMeans (k-means++)",
              "k": k, "k_auto": opts.k is None, "k_max": opts.k_max, "n_init": fit.n_init,
              "seed": opts.seed, "scale": cleaning.scale, "missing": cleaning.missing,
              "dedupe": cleaning.dedupe, "minibatch_rows": opts.minibatch_rows}
    described = prep.described()
    report = base_report("kmeans", described, params, warnings)
    report["k_selection"] = selection
    report["fit"] = {"inertia": fit.inertia, "iterations": fit.n_iter}
    report["clusters"] = cluster_profiles(prep, labels_all, k)
    report["metrics"] = metrics.internal(X, fit_labels, seed=opts.seed)
    report["external"] = external_scores(prep, labels_all, report["warnings"])
    report["runtime_seconds"] = prep.timings | {"fit": fit_seconds,
                                                "total": time.perf_counter() - t0}
    tables = {"centroids.csv": centroid_table(described, centers, labels_all)}
    return RunResult("kmeans", assignments, report, tables,
                     model=kmeans_model(described, opts, params, centers, labels_all, dist_all,
                                        report))


def kmeans_model(d, opts, params, centers, labels, dist, report):
    from somcli.model import build

    valid = labels >= 0
    k = len(centers)
    algorithm = {"name": "kmeans", "clusters": k, "params": params,
                 "quality": {"distance_mean": float(np.nanmean(dist)) if valid.any() else None}}
    arrays = {"centroids": np.asarray(centers, np.float64),
              "cluster_shares": np.bincount(labels[valid], minlength=k) / max(int(valid.sum()), 1)}
    return build(d, "kmeans", algorithm, arrays, report, opts.seed)


def centroid_table(d: Described, centers: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """One row per cluster: size, centroid in original units, then in scaled units."""
    k = len(centers)
    feats = d.roles.features
    original = d.prep.to_original(centers)
    columns = {"cluster": np.arange(k), "size": np.bincount(labels[labels >= 0], minlength=k)}
    columns |= {f: original[:, j] for j, f in enumerate(feats)}
    columns |= {f"{f} [scaled]": centers[:, j] for j, f in enumerate(feats)}
    return pd.DataFrame(columns)
