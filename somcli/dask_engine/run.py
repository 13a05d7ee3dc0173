"""`somcli som|kmeans|assign --engine dask`: the local pipelines' steps as map-reduces.

Every sum is added up on the client in block order, every sample is drawn with the
same generator and row positions as the local engine, and every statistic is exact,
so the two engines give the same codebook and centroids (to float tolerance) for the
same seed and data.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from somcli import memory, metrics
from somcli.algorithms import kmeans as km
from somcli.algorithms import som as batch
from somcli.algorithms.grid import Grid, radius_schedule
from somcli.algorithms.umatrix import interstitial, unit_umatrix
from somcli.config import CleanOptions, ColumnOptions, KMeansOptions, ReadOptions, SomOptions
from somcli.dask_engine import blocks as B
from somcli.dask_engine import data as D
from somcli.dask_engine.client import DaskOptions
from somcli.errors import DataError, UsageError
from somcli.pipeline.common import RunResult, base_report, int_column
from somcli.pipeline.kmeans import centroid_table
from somcli.pipeline.som import (
    MAX_OUTLIERS_LISTED,
    MAX_PROFILES,
    SomState,
    _weighted_median,
    cluster_units,
    codebook_table,
    schedule,
    start_plots,
)

LLOYD_TOL = 1e-4  # scikit-learn's default, relative to the mean feature variance
LLOYD_MAX_ITER = 300
INIT_SAMPLE = 100_000  # rows the k-means++ starts are run on


@dataclass
class Dist:
    """The cleaned input on the cluster."""

    client: object
    table: D.DistTable
    prep: object  # Preprocessor
    blocks: list  # futures of (X, usable)
    report: dict  # the cleaning section
    dtype: object
    usable_counts: np.ndarray
    ids: list  # futures: line, [source], identifier and label columns of each partition

    @property
    def n_rows(self) -> int:
        return self.table.n_rows

    @property
    def n_fit(self) -> int:
        return int(self.usable_counts.sum())


class _View:
    """What base_report and model.build read from a prepared run, for distributed data."""

    def __init__(self, dist: Dist, timings: dict):
        t = dist.table
        self.table = _TableView(t)
        self.roles = t.roles
        self.cleaned = _CleanedView(dist)
        self.n_fit = dist.n_fit
        self.timings = timings


class _TableView:
    def __init__(self, t: D.DistTable):
        self.inputs, self.n_rows, self.frame = t.inputs, t.n_rows, t.sample
        self.dialect, self.notes, self.blank_lines = t.dialect, t.notes, 0


class _CleanedView:
    def __init__(self, dist: Dist):
        self.prep, self.report = dist.prep, dist.report


def prepare(client, read: ReadOptions, cols: ColumnOptions, cleaning: CleanOptions,
            dtype, dopts: DaskOptions, progress) -> Dist:
    progress("reading on the cluster")
    table = D.load(client, read, cols, dopts.blocksize, float_dtype=dtype)
    progress("cleaning statistics over every partition")
    prep, raw, report = D.fit_cleaning(table, cleaning, dtype)
    blocks = client.map(D._on_clean, raw, prep=prep, dtype=dtype, pure=False)
    usable = np.array(client.gather(client.map(_on_usable_count, blocks, pure=False)))
    del raw
    columns = table.roles.ids + ([table.roles.label] if table.roles.label else [])
    ids = client.map(D._on_ids, table.parts, list(table.first_lines), table.files,
                     columns=columns, several=len(table.inputs) > 1, pure=False)
    return Dist(client, table, prep, blocks, report, dtype, usable, ids)


def _on_usable_count(block) -> int:
    return int(block[1].sum())


# ---------------------------------------------------------------- SOM

def som(client, read: ReadOptions, cols: ColumnOptions, cleaning: CleanOptions,
        opts: SomOptions, dopts: DaskOptions, progress, plots: bool = False) -> RunResult:
    """Train a map on the cluster ``client`` is connected to (keep it open until the
    result is written: the assignments are written by the workers then)."""
    if opts.train != "batch":
        raise UsageError("--engine dask trains in batch only (--train online is MiniSom's "
                         "row-by-row loop)")
    if opts.neighborhood == "mexican_hat":
        raise UsageError("--neighborhood mexican_hat works only with --train online")
    t0 = time.perf_counter()
    dtype = np.float32 if opts.dtype == "float32" else np.float64
    dist = prepare(client, read, cols, cleaning, dtype, dopts, progress)
    t1 = time.perf_counter()
    if dist.n_fit < 2:
        raise DataError(f"only {dist.n_fit} usable row(s); clustering needs at least 2")
    fit = client.map(D._on_fit_rows, dist.blocks, pure=False)
    sums, present, _ = _reduce_moments(client, fit)
    mean = np.where(present > 0, sums / np.maximum(present, 1), 0.0)
    scatter = sum(client.gather(client.map(B.on_scatter, fit, mean=mean, pure=False)))
    eig, vec = batch.axes(scatter, dist.n_fit)
    warnings: list[str] = []
    if opts.rows is not None:
        rows, cols_, rule = opts.rows, opts.cols, "given with --map"
    else:
        size = batch.auto_size(None, opts.topology, opts.max_units, eig=eig, n=dist.n_fit)
        rows, cols_, rule = size.rows, size.cols, size.rule
    grid = Grid(rows, cols_, opts.topology)
    memory.check({"neighbourhood matrix (units x units)": 3.0 * grid.units ** 2 * 8,
                  "codebook and sums": 6.0 * grid.units * len(mean) * 8},
                 memory.parse_limit(opts.max_memory), f"a {rows}x{cols_} map")
    epochs, sigma, sigma_end = schedule(opts, rows, cols_)
    radii = radius_schedule(sigma, sigma_end, epochs, opts.decay)
    if opts.init == "pca":
        W0 = batch.pca_init(None, grid, pca=(mean, eig, vec))
    else:  # the local engine's draw: the same generator, the same row positions
        rng = np.random.default_rng(opts.seed)
        picks = rng.choice(dist.n_fit, size=grid.units, replace=dist.n_fit < grid.units)
        W0 = B.gather_rows(client, fit, dist.usable_counts, picks, fn=B.on_take)
        W0 = np.where(np.isnan(W0), mean, W0).astype(np.float64)

    def sums_fn(W):
        # the codebook travels inside the tasks (not scattered): a task whose worker
        # dies can then be rerun elsewhere from its lineage
        parts = client.gather(client.map(B.on_sums, fit, W=W, pure=False))
        return batch.add_partials(parts, W.shape)

    def tick(epoch, radius, *rest):
        progress(f"training on the cluster: epoch {epoch + 1}/{epochs}, radius {radius:.2f}")

    W, _ = batch.train(None, W0, grid, radii, opts.neighborhood, on_epoch=tick,
                       sums_fn=sums_fn)
    t2 = time.perf_counter()
    progress("evaluating the map")
    return _som_outputs(client, dist, grid, W, opts, cleaning, rule, epochs, sigma,
                        sigma_end, warnings, plots, {"read": t1 - t0, "fit": t2 - t1}, t0)


def _reduce_moments(client, fit):
    parts = client.gather(client.map(B.on_moments, fit, pure=False))
    return (np.sum([p[0] for p in parts], axis=0), np.sum([p[1] for p in parts], axis=0),
            sum(p[2] for p in parts))


def _som_outputs(client, dist, grid, W, opts, cleaning, rule, epochs, sigma, sigma_end,
                 warnings, plots, timings, t0) -> RunResult:
    evs = client.map(B.on_evaluate, dist.blocks, W=W, grid=grid, pure=False)
    infos = client.gather(client.map(_on_info, evs, pure=False))
    hits = np.sum([i["hits"] for i in infos], axis=0)
    found = sum(i["found"] for i in infos)
    te = sum(i["te_errors"] for i in infos) / found if grid.units > 1 and found else None
    qe_mean = sum(i["qe_sum"] for i in infos) / found if found else None
    U = unit_umatrix(W, grid, opts.umatrix_stat)
    unit_cluster, k, selection = _dist_unit_clusters(client, dist, evs, infos, W, hits, opts)
    labels = client.map(B.on_unit_labels, evs, unit_cluster=unit_cluster, pure=False)
    # outliers: exact medians and quantile over the distributed rows
    qes = client.map(B.on_found_qe, evs, pure=False)
    qe_med = _median(client, qes, found)
    ref = (qe_med if qe_med > 0 else 1.0, _weighted_median(U.ravel(), hits))
    scores = client.map(B.on_scores, evs, U=U.ravel(), ref=ref, pure=False)
    valid_scores = client.map(B.on_found_scores, scores, pure=False)
    lo, hi = _range(client, valid_scores)
    threshold = D.quantiles(client, valid_scores, found, [opts.outliers], lo, hi)[0]
    flags = client.gather(client.map(_on_flag_counts, scores, threshold=threshold, pure=False))
    n_flagged = int(sum(flags))
    view = _View(dist, timings)
    params = {"trainer": "batch (somcli engine on Dask)", "map": f"{grid.rows}x{grid.cols}",
              "topology": grid.topology, "init": opts.init, "epochs": epochs, "sigma": sigma,
              "sigma_end": sigma_end, "decay": opts.decay, "neighborhood": opts.neighborhood,
              "dtype": opts.dtype, "seed": opts.seed, "k": k if opts.k or opts.k_auto else None,
              "umatrix_stat": opts.umatrix_stat, "outlier_quantile": opts.outliers,
              "scale": cleaning.scale, "missing": cleaning.missing, "dedupe": cleaning.dedupe,
              "engine": "dask", "partitions": len(dist.blocks)}
    report = base_report("som", view, params, warnings)
    dead = int((hits == 0).sum())
    report["map"] = {"rows": grid.rows, "cols": grid.cols, "topology": grid.topology,
                     "units": grid.units, "size_rule": rule, "trainer": params["trainer"],
                     "epochs": epochs, "sigma": sigma, "sigma_end": sigma_end,
                     "decay": opts.decay, "neighborhood": opts.neighborhood, "init": opts.init,
                     "quantization_error": qe_mean, "topographic_error": te,
                     "dead_units": dead, "dead_share": dead / grid.units,
                     "umatrix_mean": float(np.nanmean(U)), "umatrix_max": float(np.nanmax(U))}
    state = SomState(grid, W, unit_cluster, U, hits, threshold, qe_mean, ref)
    pictures = start_plots(_PlotPrep(dist), state, report) if plots else {}
    report["k_selection"] = selection
    report["clusters"] = _profiles(client, dist, labels, k) if k <= MAX_PROFILES else None
    report["metrics"] = _sample_metrics(client, dist, evs, infos, labels, opts.seed)
    report["external"] = None
    top = _top_outliers(client, dist, scores, labels, evs, threshold)
    report["outliers"] = {"quantile": opts.outliers, "threshold": threshold, "count": n_flagged,
                          "rows": top[:MAX_OUTLIERS_LISTED]}
    report["runtime_seconds"] = timings | {"total": time.perf_counter() - t0}
    tables = {"codebook.csv": codebook_table(_PlotPrep(dist), W, grid, unit_cluster, hits, U),
              "outliers.csv": _outlier_rows(client, dist, evs, labels, scores, threshold, grid)}
    matrices = {"umatrix.csv": U, "umatrix_full.csv": interstitial(W, grid, opts.umatrix_stat)}
    model = _som_model(client, dist, view, opts, params, state, k, labels, report)
    parts = _parts_writer(client, dist, _som_columns_fn(grid, threshold), [evs, labels, scores])
    return RunResult("som", None, report, tables, matrices=matrices, state=state,
                     plots=pictures, model=model, parts=parts)


def _on_info(ev):
    return ev[2] | {"complete": int(ev[2]["complete"].sum())}


def _on_flag_counts(score, threshold):
    return int((score > threshold).sum())


def _median(client, futures, n) -> float:
    if n == 0:
        return 1.0
    lo, hi = _range(client, futures)
    return D.quantiles(client, futures, n, [0.5], lo, hi)[0]


def _range(client, futures) -> tuple[float, float]:
    parts = client.gather(client.map(_on_minmax, futures, pure=False))
    parts = [p for p in parts if p is not None]
    return (min(p[0] for p in parts), max(p[1] for p in parts)) if parts else (0.0, 0.0)


def _on_minmax(values):
    return (float(values.min()), float(values.max())) if len(values) else None


class _PlotPrep:
    """The bits of a prepared run that plots and the codebook table read."""

    def __init__(self, dist: Dist):
        self.cleaned = _CleanedView(dist)
        self.roles = dist.table.roles


def _dist_unit_clusters(client, dist, evs, infos, W, hits, opts):
    """The local engine's choice of k, scored on the same sampled rows."""
    sample = {}

    def davies_bouldin(unit_labels):
        if not sample:
            sample["rows"] = _sample_rows(client, dist, evs, infos, metrics.INDEX_SAMPLE,
                                          opts.seed)
        Xs, bmus = sample["rows"]
        labels = unit_labels[bmus]
        return (float(metrics.davies_bouldin_score(Xs, labels))
                if 2 <= len(np.unique(labels)) < len(labels) else None)

    return cluster_units(W, hits, hits, opts, davies_bouldin)


def _sample_rows(client, dist, evs, infos, size, seed):
    """The scored rows the local engine would sample (complete rows with a unit)."""
    counts = np.array([i["complete"] for i in infos])
    n = int(counts.sum())
    pick = np.arange(n) if n <= size else np.sort(
        np.random.default_rng(seed).choice(n, size=size, replace=False))
    rows = B.gather_rows(client, list(zip(dist.blocks, evs, strict=True)), counts, pick,
                         fn=_on_complete_rows)
    d = rows.shape[1] - 1
    return rows[:, :d].astype(np.float64), rows[:, d].astype(np.int64)


def _on_complete_rows(pair, positions):
    (X, _), (bmu, _, info) = pair
    where = np.flatnonzero(info["complete"])[positions]
    return np.column_stack([np.asarray(X[where], dtype=np.float64), bmu[where]])


def _sample_metrics(client, dist, evs, infos, labels, seed) -> dict:
    counts = np.array([i["complete"] for i in infos])
    return _scores_on_sample(client, list(zip(dist.blocks, evs, labels, strict=True)), counts,
                             seed, _on_labelled_rows)


def _scores_on_sample(client, per_block: list, counts: np.ndarray, seed: int, take) -> dict:
    """Silhouette, Davies-Bouldin and Calinski-Harabasz on the rows the local engine would
    sample: the same generator over the same positions among the scorable rows."""
    n = int(counts.sum())
    out = {"silhouette": None, "davies_bouldin": None, "calinski_harabasz": None}
    for key, size, fn in (("silhouette", metrics.SILHOUETTE_SAMPLE, metrics.silhouette_score),
                          ("davies_bouldin", metrics.INDEX_SAMPLE, metrics.davies_bouldin_score),
                          ("calinski_harabasz", metrics.INDEX_SAMPLE,
                           metrics.calinski_harabasz_score)):
        pick = np.arange(n) if n <= size else np.sort(
            np.random.default_rng(seed).choice(n, size=size, replace=False))
        rows = B.gather_rows(client, per_block, counts, pick, fn=take)
        if len(rows) == 0:
            continue
        X, lab = rows[:, :-1], rows[:, -1].astype(np.int64)
        if 2 <= len(np.unique(lab)) < len(lab):
            value = float(fn(X, lab))
            out[key] = value if np.isfinite(value) else None
    return out


def _on_labelled_rows(triple, positions):
    (X, _), (_, _, info), labels = triple
    where = np.flatnonzero(info["complete"])[positions]
    return np.column_stack([np.asarray(X[where], dtype=np.float64), labels[where]])


def _profiles(client, dist, labels, k) -> list[dict]:
    parts = client.gather(client.map(B.on_cluster_sums, dist.blocks, labels, k=k, pure=False))
    sums = np.sum([p[0] for p in parts], axis=0)
    counts = np.sum([p[1] for p in parts], axis=0)
    sizes = np.sum([p[2] for p in parts], axis=0)
    total = int(sizes.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        means = dist.prep.to_original(sums / counts)
    feats = dist.table.roles.features
    return [{"cluster": j, "size": int(sizes[j]), "share": sizes[j] / total if total else 0.0,
             "means": {f: (float(v) if np.isfinite(v) else None)
                       for f, v in zip(feats, means[j], strict=True)}} for j in range(k)]


def _top_outliers(client, dist, scores, labels, evs, threshold) -> list[dict]:
    ids = dist.ids
    parts = client.gather(client.map(_on_top, scores, labels, evs, ids, threshold=threshold,
                                     names=dist.table.roles.ids[:2], pure=False))
    rows = sorted((r for p in parts for r in p), key=lambda r: -r["score"])
    return rows


def _on_top(score, labels, ev, ids, threshold, names):
    flagged = np.flatnonzero(score > threshold)
    top = flagged[np.argsort(-score[flagged], kind="stable")][:MAX_OUTLIERS_LISTED]
    out = []
    for i in top:
        label = " / ".join(str(ids[c].iloc[i]) for c in names) if names else ""
        line = int(ids["line"].iloc[i])
        out.append({"row": f"{label} (line {line})" if label else f"line {line}", "line": line,
                    "score": float(score[i]), "qe": float(ev[1][i]), "cluster": int(labels[i])})
    return out


def _outlier_rows(client, dist, evs, labels, scores, threshold, grid) -> pd.DataFrame:
    ids = dist.ids
    parts = client.gather(client.map(_on_outlier_rows, dist.blocks, evs, labels, scores, ids,
                                     threshold=threshold, prep=dist.prep, grid=grid, pure=False))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return table.sort_values("outlier_score", ascending=False, kind="stable") if len(table) \
        else table


def _on_outlier_rows(block, ev, labels, score, ids, threshold, prep, grid):
    flagged = score > threshold
    frame = _som_frame(ids, ev, labels, score, threshold, grid).loc[flagged].reset_index(drop=True)
    original = prep.to_original(np.asarray(block[0][flagged], dtype=np.float64))
    return pd.concat([frame, pd.DataFrame(original, columns=prep.features)], axis=1)


def _som_frame(ids, ev, labels, score, threshold, grid) -> pd.DataFrame:
    bmu, qe, _ = ev
    found = bmu >= 0
    out = ids.reset_index(drop=True).copy()
    out["cluster"] = int_column(labels, found)
    out["bmu_row"] = int_column(bmu // grid.cols, found)
    out["bmu_col"] = int_column(bmu % grid.cols, found)
    out["qe"] = qe
    out["outlier_score"] = score
    flagged = found & (score > threshold)
    out["is_outlier"] = flagged if found.all() else pd.arrays.BooleanArray(flagged, ~found)
    return out


def _som_columns_fn(grid, threshold):
    def build(ids, ev, labels, score):
        return _som_frame(ids, ev, labels, score, threshold, grid)
    return build


def _parts_writer(client, dist, build, per_block: list):
    """How `write` puts the assignments on disk: one CSV per partition, written by the
    workers, in input order; or one file when asked (joined by streaming the parts)."""
    ids = dist.ids

    def write(folder: str, fmt: str, safe: bool) -> list[str]:
        os.makedirs(folder, exist_ok=True)
        names = [f"part-{i:05d}.{fmt}" for i in range(len(ids))]
        paths = [os.path.join(folder, n) for n in names]
        futures = client.map(_on_write_part, paths, ids, *per_block, build=build, fmt=fmt,
                             safe=safe, pure=False)
        client.gather(futures)
        return names

    return write


def _on_write_part(path, ids, *arrays, build, fmt, safe):
    from somcli.io.write import write_table

    write_table(build(ids, *arrays), path, fmt, safe)
    return path


def _som_model(client, dist, view, opts, params, state, k, labels, report):
    from somcli.model import build

    sizes = np.sum(client.gather(client.map(_on_label_counts, labels, k=k, pure=False)), axis=0)
    shares = sizes / max(int(sizes.sum()), 1)
    arrays = {"codebook": np.asarray(state.W, np.float64),
              "unit_cluster": np.asarray(state.unit_cluster, np.int64),
              "umatrix": np.asarray(state.U.ravel(), np.float64),
              "hits": np.asarray(state.hits, np.int64), "cluster_shares": shares}
    m = report["map"]
    algorithm = {"name": "som", "clusters": int(k), "second_level": bool(opts.k or opts.k_auto),
                 "params": params,
                 "quality": {"qe_mean": m["quantization_error"], "te": m["topographic_error"],
                             "outlier_share": report["outliers"]["count"] / max(sizes.sum(), 1)}}
    outliers = {"quantile": opts.outliers, "threshold": state.threshold,
                "qe_median": state.ref[0], "u_median": state.ref[1],
                "umatrix_stat": opts.umatrix_stat}
    d = len(dist.table.roles.features)
    fp = B.fingerprint(client, dist.blocks, dist.n_rows, d, dist.dtype)
    return build(view, "som", algorithm, arrays, report, opts.seed, grid=state.grid.to_dict(),
                 outliers=outliers, rows=dist.n_rows, fingerprint=fp)


def _on_label_counts(labels, k):
    return np.bincount(labels[labels >= 0], minlength=k)


# ---------------------------------------------------------------- k-means

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
    perm = km.order_by_size(np.repeat(np.arange(k), sizes.astype(np.int64)), k)
    centers = centers[np.argsort(perm)]
    assigned = client.map(B.on_assign, dist.blocks, centers=centers, pure=False)
    labels = client.map(_on_first, assigned, pure=False)
    t2 = time.perf_counter()
    view = _View(dist, {"read": t1 - t0, "fit": t2 - t1})
    params = {"algorithm": "k-means (Lloyd on Dask, k-means++ starts on a sample)", "k": k,
              "k_auto": opts.k is None, "k_max": opts.k_max, "n_init": n_init,
              "seed": opts.seed, "scale": cleaning.scale, "missing": cleaning.missing,
              "dedupe": cleaning.dedupe, "engine": "dask", "partitions": len(dist.blocks)}
    report = base_report("kmeans", view, params, [])
    report["k_selection"] = selection
    report["fit"] = {"inertia": inertia, "iterations": n_iter}
    report["clusters"] = _profiles(client, dist, labels, k)
    report["metrics"] = _kmeans_metrics(client, dist, labels, opts.seed)
    report["external"] = None
    report["runtime_seconds"] = view.timings | {"total": time.perf_counter() - t0}
    counts = np.array([c["size"] for c in report["clusters"]])
    table = centroid_table(_PlotPrep(dist), centers, np.repeat(np.arange(k), counts))
    model = _kmeans_model(client, dist, view, opts, params, centers, assigned, report)
    parts = _parts_writer(client, dist, _kmeans_frame, [assigned])
    return RunResult("kmeans", None, report, {"centroids.csv": table}, model=model,
                     parts=parts)


def _on_sq(X):
    return np.einsum("ij,ij->j", X, X, dtype=np.float64)


def _on_sizes(assigned, k):
    labels = assigned[0]
    return np.bincount(labels[labels >= 0], minlength=k)


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


def _kmeans_metrics(client, dist, labels, seed) -> dict:
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


def _kmeans_model(client, dist, view, opts, params, centers, assigned, report):
    from somcli.model import build

    k = len(centers)
    sizes = np.sum(client.gather(client.map(_on_sizes, assigned, k=k, pure=False)), axis=0)
    dsum = sum(client.gather(client.map(_on_dist_sum, assigned, pure=False)))
    algorithm = {"name": "kmeans", "clusters": k, "params": params,
                 "quality": {"distance_mean": dsum / max(int(sizes.sum()), 1)}}
    arrays = {"centroids": np.asarray(centers, np.float64),
              "cluster_shares": sizes / max(int(sizes.sum()), 1)}
    fp = B.fingerprint(client, dist.blocks, dist.n_rows, len(dist.table.roles.features),
                       dist.dtype)
    return build(view, "kmeans", algorithm, arrays, report, opts.seed, rows=dist.n_rows,
                 fingerprint=fp)


def _on_dist_sum(assigned):
    return float(np.nansum(assigned[1]))




# ---------------------------------------------------------------- assign

def assign(client, model_path: str, read: ReadOptions, dopts: DaskOptions, progress,
           explicit=frozenset()) -> RunResult:
    """Replay a saved model on the cluster: stored cleaning, assignments as part files,
    and the drift section (every statistic over all partitions)."""
    from somcli.model import Model
    from somcli.pipeline import assign as local
    from somcli.prep import roles as R

    t0 = time.perf_counter()
    model = Model.load(model_path)
    read = local._reading(read, model, explicit)
    feats, schema = model.features, model.meta["schema"]
    prep_model = model.preprocessor()
    dtype = np.float32 if (model.meta["algorithm"].get("params") or {}).get("dtype") == \
        "float32" else np.float64

    def roles_fn(sample):
        missing = [f for f in feats if f not in sample.columns]
        if missing:
            raise DataError(f"feature column(s) {', '.join(map(repr, missing))} of the model "
                            "are missing", "the columns are: " + ", ".join(
                                map(repr, sample.columns)))
        ids = [c for c in schema["identifiers"] if c in sample.columns]
        label = schema["label"] if schema["label"] in sample.columns else None
        return R.Roles(local._decisions(sample, feats, ids, label), feats, ids, label, {})

    table = D.load(client, read, None, dopts.blocksize, dtype, roles_fn=roles_fn)
    rules = prep_model.rules
    raw = client.map(D._on_raw, table.parts, feats=feats, rules=rules, float_dtype=dtype,
                     strict=False, pure=False)
    unreadable = client.gather(client.map(D._on_unreadable, table.parts, feats=feats,
                                          rules=rules, pure=False))
    stats = D.combine_stats(client.gather(client.map(D._on_stats, raw, table.first_lines,
                                                     drop=False, pure=False)))
    blocks = client.map(D._on_clean, raw, prep=prep_model, dtype=dtype, pure=False)
    usable = np.array(client.gather(client.map(_on_usable_count, blocks, pure=False)))
    columns = table.roles.ids + ([table.roles.label] if table.roles.label else [])
    ids = client.map(D._on_ids, table.parts, list(table.first_lines), table.files,
                     columns=columns, several=len(table.inputs) > 1, pure=False)
    report_clean = {"missing_method": prep_model.missing, "replayed": True,
                    "missing_cells": {f: int(k) for f, k in zip(feats, stats["missing"],
                                                                 strict=True) if k},
                    "rows_with_gaps": int(stats["n_gap_rows"]), "rows_with_gaps_named": [],
                    "scale": prep_model.scale_method, "rows_used_for_fitting": int(usable.sum())}
    dist = Dist(client, table, prep_model, blocks, report_clean, dtype, usable, ids)
    k = model.clusters
    progress("assigning on the cluster")
    if model.kind == "kmeans":
        assigned = client.map(B.on_assign, blocks, centers=model.arrays["centroids"],
                              pure=False)
        labels = client.map(_on_first, assigned, pure=False)
        quality = sum(client.gather(client.map(_on_dist_sum, assigned, pure=False)))
        parts = _parts_writer(client, dist, _kmeans_frame, [assigned])
        outlier_share = None
    else:
        g = model.meta["grid"]
        grid = Grid(g["rows"], g["cols"], g["topology"])
        o = model.meta["outliers"]
        evs = client.map(B.on_evaluate, blocks, W=model.arrays["codebook"], grid=grid,
                         pure=False)
        labels = client.map(B.on_unit_labels, evs, unit_cluster=model.arrays["unit_cluster"],
                            pure=False)
        scores = client.map(B.on_scores, evs, U=model.arrays["umatrix"],
                            ref=(o["qe_median"], o["u_median"]), pure=False)
        infos = client.gather(client.map(_on_info, evs, pure=False))
        flagged = sum(client.gather(client.map(_on_flag_counts, scores,
                                               threshold=o["threshold"], pure=False)))
        found = max(sum(i["found"] for i in infos), 1)
        quality = sum(i["qe_sum"] for i in infos)
        outlier_share = flagged / found
        parts = _parts_writer(client, dist, _som_columns_fn(grid, o["threshold"]),
                              [evs, labels, scores])
    sizes = np.sum(client.gather(client.map(_on_label_counts, labels, k=k, pure=False)),
                   axis=0)
    assigned_rows = max(int(sizes.sum()), 1)
    quality = quality / assigned_rows
    n = table.n_rows
    now = {f: {"missing_share": float(stats["missing"][j] / max(n, 1)),
               "mean": float(stats["mean"][j]) if stats["n"][j] else None}
           for j, f in enumerate(feats)}
    drift = local._drift(model, n, now, sizes / assigned_rows, quality, outlier_share)
    warnings = [f"column '{c}': {v} value(s) could not be read as numbers; counted as missing"
                for c, v in pd.DataFrame(unreadable).sum().items() if v]
    view = _View(dist, {"total": 0.0})
    report = base_report("assign", view, {"engine": "dask", "partitions": len(blocks)},
                         warnings)
    report["model"] = {"path": model_path, "kind": model.kind, "clusters": k,
                       "trained_on": model.meta["training"].get("inputs"),
                       "training_rows": model.meta["training"]["rows"],
                       "created": model.meta.get("created")}
    report["drift"] = drift
    report["clusters"] = _profiles(client, dist, labels, k) if k <= MAX_PROFILES else None
    report["runtime_seconds"] = {"total": time.perf_counter() - t0}
    return RunResult("assign", None, report, parts=parts)
