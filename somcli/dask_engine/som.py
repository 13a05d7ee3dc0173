"""`somcli som --engine dask`: the batch SOM as a map-reduce over the partitions."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd

from somcli import memory, metrics
from somcli.algorithms import som as batch
from somcli.algorithms.evaluation import weighted_median
from somcli.algorithms.grid import Grid, radius_schedule
from somcli.algorithms.umatrix import interstitial, unit_umatrix
from somcli.config import CleanOptions, ColumnOptions, ReadOptions, SomOptions
from somcli.dask_engine import blocks as B
from somcli.dask_engine import data as D
from somcli.dask_engine.client import DaskOptions
from somcli.dask_engine.common import (
    _median,
    _on_flag_counts,
    _on_info,
    _on_label_counts,
    _parts_writer,
    _profiles,
    _range,
    _reduce_moments,
    _scores_on_sample,
    label_scores_on_cluster,
    prepare,
)
from somcli.dask_engine.order_stats import quantiles
from somcli.errors import DataError, UsageError
from somcli.pipeline.common import RunResult, base_report, int_column
from somcli.pipeline.som import (
    MAX_OUTLIERS_LISTED,
    MAX_PROFILES,
    SomState,
    cluster_units,
    codebook_table,
    model_of_map,
    schedule,
    start_plots,
)


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
    ref = (qe_med if qe_med > 0 else 1.0, weighted_median(U.ravel(), hits))
    scores = client.map(B.on_scores, evs, U=U.ravel(), ref=ref, pure=False)
    valid_scores = client.map(B.on_found_scores, scores, pure=False)
    lo, hi = _range(client, valid_scores)
    threshold = quantiles(client, valid_scores, found, [opts.outliers], lo, hi)[0]
    flags = client.gather(client.map(_on_flag_counts, scores, threshold=threshold, pure=False))
    n_flagged = int(sum(flags))
    described = dist.described(timings)
    params = {"trainer": "batch (somcli engine)", "map": f"{grid.rows}x{grid.cols}",
              "topology": grid.topology, "init": opts.init, "epochs": epochs, "sigma": sigma,
              "sigma_end": sigma_end, "decay": opts.decay, "neighborhood": opts.neighborhood,
              "dtype": opts.dtype, "seed": opts.seed, "k": k if opts.k or opts.k_auto else None,
              "umatrix_stat": opts.umatrix_stat, "outlier_quantile": opts.outliers,
              "scale": cleaning.scale, "missing": cleaning.missing, "dedupe": cleaning.dedupe,
              "engine": "dask", "partitions": len(dist.blocks)}
    report = base_report("som", described, params, warnings)
    dead = int((hits == 0).sum())
    report["map"] = {"rows": grid.rows, "cols": grid.cols, "topology": grid.topology,
                     "units": grid.units, "size_rule": rule, "trainer": params["trainer"],
                     "epochs": epochs, "sigma": sigma, "sigma_end": sigma_end,
                     "decay": opts.decay, "neighborhood": opts.neighborhood, "init": opts.init,
                     "quantization_error": qe_mean, "topographic_error": te,
                     "dead_units": dead, "dead_share": dead / grid.units,
                     "umatrix_mean": float(np.nanmean(U)), "umatrix_max": float(np.nanmax(U))}
    state = SomState(grid, W, unit_cluster, U, hits, threshold, qe_mean, ref)
    pictures = start_plots(described, state, report) if plots else {}
    report["k_selection"] = selection
    report["clusters"] = _profiles(client, dist, labels, k) if k <= MAX_PROFILES else None
    report["metrics"] = _sample_metrics(client, dist, evs, infos, labels, opts.seed)
    report["external"] = label_scores_on_cluster(client, dist, labels, report["warnings"])
    top = _top_outliers(client, dist, scores, labels, evs, threshold)
    report["outliers"] = {"quantile": opts.outliers, "threshold": threshold, "count": n_flagged,
                          "rows": top[:MAX_OUTLIERS_LISTED]}
    report["runtime_seconds"] = timings | {"total": time.perf_counter() - t0}
    tables = {"codebook.csv": codebook_table(described, W, grid, unit_cluster, hits, U),
              "outliers.csv": _outlier_rows(client, dist, evs, labels, scores, threshold, grid)}
    matrices = {"umatrix.csv": U, "umatrix_full.csv": interstitial(W, grid, opts.umatrix_stat)}
    model = _som_model(client, dist, described, opts, params, state, k, labels, report)
    parts = _parts_writer(client, dist, _som_columns_fn(grid, threshold), [evs, labels, scores])
    return RunResult("som", None, report, tables, matrices=matrices, state=state,
                     plots=pictures, model=model, parts=parts)

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

def _on_labelled_rows(triple, positions):
    (X, _), (_, _, info), labels = triple
    where = np.flatnonzero(info["complete"])[positions]
    return np.column_stack([np.asarray(X[where], dtype=np.float64), labels[where]])

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

def _som_model(client, dist, described, opts, params, state, k, labels, report):
    sizes = np.sum(client.gather(client.map(_on_label_counts, labels, k=k, pure=False)), axis=0)
    return model_of_map(replace(described, fingerprint=dist.fingerprint()), opts, params,
                        state, k, sizes, report)
