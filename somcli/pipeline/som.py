"""somcli som: read -> clean -> train a SOM -> clusters of units -> U-matrix, outliers, plots."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from somcli import memory, metrics
from somcli.algorithms import kmeans as km
from somcli.algorithms import som as batch
from somcli.algorithms.evaluation import evaluate, match_clusters, outliers
from somcli.algorithms.grid import Grid, radius_schedule
from somcli.algorithms.nearest import DEFAULT_CHUNK, nearest
from somcli.algorithms.umatrix import interstitial, unit_umatrix
from somcli.config import CleanOptions, ColumnOptions, ReadOptions, SomOptions
from somcli.errors import UsageError
from somcli.parallel import default_threads
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
from somcli.pipeline.kmeans import choose_k

EPOCHS = {"batch": 20, "online": 10}
RESUME_EPOCHS = 5
MAX_PROFILES = 50
MAX_OUTLIERS_LISTED = 50


def schedule(opts: SomOptions, rows: int, cols: int) -> tuple[int, float, float]:
    """(epochs, start radius, end radius): from the options, else from the map size."""
    epochs = opts.epochs or EPOCHS[opts.train]
    start = opts.sigma if opts.sigma is not None else max(1.5, max(rows, cols) / 4.0)
    end = opts.sigma_end if opts.sigma_end is not None else min(1.0, start)
    return epochs, float(start), float(end)


@dataclass
class Start:
    """A saved map to continue training from (``--resume``)."""

    path: str
    codebook: np.ndarray
    unit_cluster: np.ndarray
    hits: np.ndarray
    second_level: bool


def run(read: ReadOptions, cols: ColumnOptions, cleaning: CleanOptions, opts: SomOptions,
        progress: Progress = _quiet, stdin=None, prep: Prepared | None = None,
        plots: bool = False, start: Start | None = None, painter=None) -> RunResult:
    """Train and evaluate a map; ``plots`` starts rendering the pictures (for ``write``),
    by the helper process ``painter`` when given (:mod:`somcli.report.painter`);
    ``start`` continues from a saved codebook (``prep`` then holds replayed rows)."""
    t0 = time.perf_counter()
    _check_options(opts, cleaning)
    dtype = np.float32 if opts.dtype == "float32" else np.float64
    prep = prep or prepare(read, cols, cleaning, allow_mask=opts.train == "batch", stdin=stdin,
                           progress=progress, dtype=dtype)
    check_clusterable(prep, opts.k, "clusters of units")
    X = prep.cleaned.fit_X.astype(dtype, copy=False)
    warnings: list[str] = []
    grid, size_rule = _grid(X, opts, warnings)
    if start is not None:
        size_rule = f"the grid of the resumed model {start.path}"
    epochs, sigma, sigma_end = schedule(opts, grid.rows, grid.cols)
    radii = radius_schedule(sigma, sigma_end, epochs, opts.decay)
    threads = opts.threads or default_threads()
    chunk = opts.chunk_rows or DEFAULT_CHUNK
    memory.check(memory.som_estimate(len(prep.cleaned.X), X.shape[1], grid.units,
                                     np.dtype(dtype).itemsize, threads, chunk),
                 memory.parse_limit(opts.max_memory), f"a {grid.rows}x{grid.cols} map")
    t_fit = time.perf_counter()
    W = _train(X, grid, opts, radii, epochs, sigma, sigma_end, progress, threads, chunk,
               None if start is None else start.codebook)
    fit_seconds = time.perf_counter() - t_fit
    memory.release()

    progress("evaluating the map")
    ev = evaluate(prep.cleaned.X, prep.cleaned.usable, W, grid, chunk, threads)
    if X is prep.cleaned.X:  # fitted on every row: the evaluation pass already counted hits
        hits_fit = ev.hits
    else:
        hits_fit = np.bincount(nearest(X, W, chunk=chunk, threads=threads)[0],
                               minlength=grid.units)
    U = unit_umatrix(W, grid, opts.umatrix_stat)
    unit_cluster, k, selection = _unit_clusters(W, hits_fit, ev, prep, opts, progress)
    if start is not None and start.second_level:  # keep yesterday's cluster 3 as cluster 3
        unit_cluster = match_clusters(start.codebook, start.unit_cluster, start.hits, W,
                                      unit_cluster, hits_fit, k)
    rows_cluster = np.where(ev.bmu >= 0, unit_cluster[np.maximum(ev.bmu, 0)], -1)
    score, threshold, flagged, ref = outliers(ev, U.ravel(), opts.outliers)

    usable = ev.bmu >= 0
    assignments = assignment_table(prep, {
        "cluster": int_column(rows_cluster, usable),
        "bmu_row": int_column(ev.bmu // grid.cols, usable),
        "bmu_col": int_column(ev.bmu % grid.cols, usable),
        "qe": ev.qe.astype(dtype, copy=False),  # the run's precision: no noise digits
        "outlier_score": score.astype(dtype, copy=False),
        "is_outlier": flagged if usable.all() else pd.arrays.BooleanArray(flagged, ~usable),
    })

    complete = _complete(prep, usable)
    params = {"trainer": "batch (somcli engine)" if opts.train == "batch" else "online (MiniSom)",
              "map": f"{grid.rows}x{grid.cols}", "topology": grid.topology, "init": opts.init,
              "epochs": epochs, "sigma": sigma, "sigma_end": sigma_end, "decay": opts.decay,
              "neighborhood": opts.neighborhood, "dtype": opts.dtype, "seed": opts.seed,
              "k": k if opts.k or opts.k_auto else None, "umatrix_stat": opts.umatrix_stat,
              "outlier_quantile": opts.outliers, "scale": cleaning.scale,
              "missing": cleaning.missing, "dedupe": cleaning.dedupe}
    if opts.train == "online":
        params["learning_rate"] = opts.learning_rate
    described = prep.described()
    report = base_report("som", described, params, warnings)
    dead = int((ev.hits == 0).sum())
    report["map"] = {
        "rows": grid.rows, "cols": grid.cols, "topology": grid.topology, "units": grid.units,
        "size_rule": size_rule, "trainer": params["trainer"], "epochs": epochs, "sigma": sigma,
        "sigma_end": sigma_end, "decay": opts.decay, "neighborhood": opts.neighborhood,
        "init": opts.init,
        "quantization_error": ev.qe_mean, "topographic_error": ev.te,
        "dead_units": dead, "dead_share": dead / grid.units,
        "umatrix_mean": float(np.nanmean(U)), "umatrix_max": float(np.nanmax(U)),
    }
    state = SomState(grid, W, unit_cluster, U, ev.hits, threshold, ev.qe_mean, ref)
    pictures = start_plots(described, state, report, painter) if plots else {}  # drawn meanwhile
    if start is not None:
        shift = np.linalg.norm(W - start.codebook, axis=1)
        report["map"]["init"] = f"resumed from {start.path}"
        report["map"]["resumed"] = {"model": start.path, "codebook_shift_mean": float(shift.mean()),
                                    "codebook_shift_max": float(shift.max())}
    report["k_selection"] = selection
    report["clusters"] = (cluster_profiles(prep, rows_cluster, k) if k <= MAX_PROFILES else None)
    report["metrics"] = metrics.internal(prep.cleaned.X, rows_cluster, seed=opts.seed,
                                         rows=complete)
    memory.release()
    report["external"] = external_scores(prep, rows_cluster, report["warnings"])
    report["outliers"] = _outlier_report(prep, score, threshold, flagged, ev, rows_cluster,
                                         opts.outliers)
    report["runtime_seconds"] = prep.timings | {"fit": fit_seconds,
                                                "total": time.perf_counter() - t0}
    tables = {
        "codebook.csv": codebook_table(described, W, grid, unit_cluster, ev.hits, U),
        "outliers.csv": _outlier_table(prep, assignments, flagged),
    }
    matrices = {"umatrix.csv": U, "umatrix_full.csv": interstitial(W, grid, opts.umatrix_stat)}
    model = som_model(described, opts, params, state, k, rows_cluster, report)
    return RunResult("som", assignments, report, tables, matrices=matrices, state=state,
                     plots=pictures, model=model)


def som_model(d, opts, params, state, k, rows_cluster, report):
    valid = rows_cluster >= 0
    return model_of_map(d, opts, params, state, k,
                        np.bincount(rows_cluster[valid], minlength=k), report)


def model_of_map(d, opts, params, state, k, sizes, report):
    """The saved model of a trained map (both engines): codebook, unit clusters, U-matrix,
    hits, cluster shares, the outlier rule and the training quality."""
    from somcli.model import build

    assigned = max(int(sizes.sum()), 1)
    arrays = {"codebook": np.asarray(state.W, np.float64),
              "unit_cluster": np.asarray(state.unit_cluster, np.int64),
              "umatrix": np.asarray(state.U.ravel(), np.float64),
              "hits": np.asarray(state.hits, np.int64), "cluster_shares": sizes / assigned}
    m = report["map"]
    algorithm = {"name": "som", "clusters": int(k), "second_level": bool(opts.k or opts.k_auto),
                 "params": params,
                 "quality": {"qe_mean": m["quantization_error"], "te": m["topographic_error"],
                             "outlier_share": report["outliers"]["count"] / assigned}}
    outlier_rule = {"quantile": opts.outliers, "threshold": state.threshold,
                    "qe_median": state.ref[0], "u_median": state.ref[1],
                    "umatrix_stat": opts.umatrix_stat}
    return build(d, "som", algorithm, arrays, report, opts.seed, grid=state.grid.to_dict(),
                 outliers=outlier_rule)


def start_plots(d: Described, state: SomState, report: dict, painter=None) -> dict:
    """Start rendering the map's pictures in the background (on a thread, or by the helper
    process ``painter``): name -> future PNG bytes."""
    from somcli.report import painter as helper
    from somcli.report import plots

    args = (state.grid, state.W, state.U, state.hits, state.unit_cluster,
            d.prep.to_original(state.W), d.roles.features, report)
    jobs = plots.jobs(*args)
    if painter is None:
        return plots.start(jobs)
    return painter.paint(*helper.request(*args), fallback=jobs)


def resume(model_path: str, read: ReadOptions, opts: SomOptions, progress: Progress = _quiet,
           stdin=None, plots: bool = False, explicit=frozenset()) -> RunResult:
    """Continue training a saved map on new rows: the stored cleaning is replayed, the grid
    kept, a few epochs at the model's final radius, clusters renumbered to the old ones."""
    from somcli.model import Model
    from somcli.pipeline.assign import replay

    model = Model.load(model_path, read.memory_limit)
    if model.kind != "som":
        raise UsageError(f"--resume {model_path}: a k-means model cannot be resumed as a map")
    rp = replay(model, read, explicit, stdin, progress)
    g, params = model.meta["grid"], model.meta["algorithm"].get("params") or {}
    end = float(params.get("sigma_end") or 1.0)
    second = bool(model.meta["algorithm"].get("second_level"))
    opts = replace(opts, rows=g["rows"], cols=g["cols"], topology=g["topology"],
                   epochs=opts.epochs or RESUME_EPOCHS,
                   sigma=opts.sigma if opts.sigma is not None else end,
                   sigma_end=opts.sigma_end if opts.sigma_end is not None else end,
                   k=model.clusters if second else None, k_auto=False,
                   dtype=params.get("dtype", opts.dtype),
                   neighborhood=params.get("neighborhood", opts.neighborhood),
                   umatrix_stat=params.get("umatrix_stat", opts.umatrix_stat))
    cleaning = CleanOptions(missing=model.meta["cleaning"]["missing"],
                            scale=model.meta["cleaning"]["scale"])
    start = Start(model_path, model.arrays["codebook"], model.arrays["unit_cluster"],
                  model.arrays["hits"], second)
    result = run(read, ColumnOptions(), cleaning, opts, progress, prep=rp.prep, plots=plots,
                 start=start)
    result.report["warnings"] = rp.warnings + result.report["warnings"]
    result.report["input"]["notes"] += rp.notes
    return result


class SomState:
    """What plots, models and resumes need from a trained map."""

    def __init__(self, grid, W, unit_cluster, U, hits, threshold, qe_mean, ref):
        self.grid, self.W, self.unit_cluster = grid, W, unit_cluster
        self.U, self.hits, self.threshold, self.qe_mean = U, hits, threshold, qe_mean
        self.ref = ref  # (median QE, median U-matrix over rows): the outlier score's scale


def _check_options(opts: SomOptions, cleaning: CleanOptions) -> None:
    if opts.train == "online" and cleaning.missing == "mask":
        raise UsageError("--missing mask needs --train batch (MiniSom cannot skip components)")
    if opts.train == "batch" and opts.neighborhood == "mexican_hat":
        raise UsageError("--neighborhood mexican_hat has negative weights and works only with "
                         "--train online")
    memory.parse_limit(opts.max_memory)  # a bad --max-memory is a usage error, now
    if not 0 < opts.outliers < 1:
        raise UsageError(f"--outliers {opts.outliers}: give a quantile between 0 and 1")
    if opts.sigma is not None and opts.sigma <= 0 or opts.sigma_end is not None and opts.sigma_end <= 0:
        raise UsageError("--sigma and --sigma-end must be positive")


def _grid(X, opts, warnings) -> tuple[Grid, str]:
    if opts.rows is not None:
        rule = "given with --map"
        rows, cols = opts.rows, opts.cols
    else:
        size = batch.auto_size(X, opts.topology, opts.max_units)
        rows, cols, rule = size.rows, size.cols, size.rule
    if opts.rows is not None and rows * cols > len(X):
        warnings.append(f"the map has {rows * cols} units for {len(X)} rows: many units will "
                        "hold no row (dead units); a smaller --map is usually better")
    return Grid(rows, cols, opts.topology), rule


def _train(X, grid, opts, radii, epochs, sigma, sigma_end, progress, threads, chunk, W0=None):
    if W0 is None:
        W0 = (batch.pca_init(X, grid) if opts.init == "pca"
              else batch.random_init(X, grid, np.random.default_rng(opts.seed)))

    def tick(epoch, radius, *rest):
        progress(f"training: epoch {epoch + 1}/{epochs}, radius {radius:.2f}")

    if opts.train == "online":
        from somcli.algorithms import online  # MiniSom: imported only when used

        return online.train(X, W0, grid, epochs=epochs, sigma=sigma, sigma_end=sigma_end,
                            decay=opts.decay, learning_rate=opts.learning_rate,
                            kind=opts.neighborhood, seed=opts.seed, on_epoch=tick)
    W, _ = batch.train(X, W0.astype(np.float64), grid, radii, opts.neighborhood,
                       chunk=chunk, on_epoch=tick, threads=threads)
    return W


def _unit_clusters(W, hits_fit, ev, prep, opts, progress):
    """The local engine's rows score the choice of k (Davies-Bouldin on the rows)."""
    rows = ev.bmu >= 0
    complete = _complete(prep, rows)

    def davies_bouldin(unit_labels):
        labels = np.where(rows, unit_labels[np.maximum(ev.bmu, 0)], -1)
        return metrics.davies_bouldin(prep.cleaned.X, labels, seed=opts.seed, rows=complete)

    return cluster_units(W, hits_fit, ev.hits, opts, davies_bouldin, progress)


def _complete(prep: Prepared, rows: np.ndarray) -> np.ndarray:
    """``rows`` without gaps (every imputing method fills them all: only --missing mask
    and drop leave gaps in the matrix)."""
    if prep.cleaned.prep.missing not in ("mask", "drop"):
        return rows
    return rows & ~np.isnan(prep.cleaned.X).any(axis=1)


def cluster_units(W, hits_fit, hits, opts, davies_bouldin, progress=_quiet):
    """Two-level clustering (Vesanto & Alhoniemi 2000): k-means on the codebook, weighted
    by hits; without -k every unit is its own cluster. ``davies_bouldin(unit_labels)``
    scores a candidate k on the rows (lower is better), for -k auto.

    Returns (cluster of each unit, number of clusters, the k selection for the report).
    """
    m = len(W)
    if not opts.k and not opts.k_auto:
        return np.arange(m), m, None
    live = int((hits_fit > 0).sum())
    if live < 2:
        from somcli.errors import DataError

        raise DataError("every row fell on one map unit (the map did not unfold), so its "
                        "units cannot be grouped into clusters", "leave --sigma at its "
                        "default, or make it smaller than the map's longer side")

    def fit_one(k):
        return km.fit(W, k, seed=opts.seed, sample_weight=hits_fit.astype(float))

    if opts.k_auto:
        def score(fit):
            return _negated(davies_bouldin(km.assign(W, fit.centers)[0]))

        k, scores, fits = choose_k(W[hits_fit > 0], min(opts.k_max, live), fit_one, score,
                                   progress)
        fit = fits[k]
        selection = {"method": "Davies-Bouldin on the rows (lower is better), k-means on the "
                     "codebook weighted by hits",
                     "scores": {kk: (-v if v is not None else None) for kk, v in scores.items()},
                     "chosen": k}
    else:
        k = opts.k
        if k > live:
            from somcli.errors import DataError

            raise DataError(f"-k {k} but only {live} map units hold rows",
                            f"use -k {live} or fewer, or a larger --map")
        fit, selection = fit_one(k), None
    unit_cluster = km.assign(W, fit.centers)[0]
    perm = km.order_by_size(unit_cluster, k, weight=hits.astype(float))
    return perm[unit_cluster], k, selection


def _negated(v):
    return None if v is None else -v


def _outlier_report(prep, score, threshold, flagged, ev, clusters, q):
    idx = np.flatnonzero(flagged)
    idx = idx[np.argsort(-score[idx], kind="stable")]
    idx = idx[:MAX_OUTLIERS_LISTED]
    listed = [{"row": label, "line": int(prep.table.lines[i]), "score": float(score[i]),
               "qe": float(ev.qe[i]), "cluster": int(clusters[i])}
              for label, i in zip(prep.labels(idx), idx, strict=True)]
    return {"quantile": q, "threshold": threshold, "count": int(flagged.sum()), "rows": listed}


def _outlier_table(prep, assignments, flagged) -> pd.DataFrame:
    original = prep.cleaned.prep.to_original(np.asarray(prep.cleaned.X[flagged], dtype=np.float64))
    table = pd.concat([assignments.loc[flagged].reset_index(drop=True),
                       pd.DataFrame(original, columns=prep.roles.features)], axis=1)
    return table.sort_values("outlier_score", ascending=False, kind="stable")


def codebook_table(d: Described, W, grid, unit_cluster, hits, U) -> pd.DataFrame:
    """One row per unit: position, cluster, hits, U-matrix value, weights (original, scaled)."""
    r, c = np.divmod(np.arange(grid.units), grid.cols)
    feats = d.roles.features
    original = d.prep.to_original(W)
    columns = {"unit": np.arange(grid.units), "row": r, "col": c, "cluster": unit_cluster,
               "hits": hits, "umatrix": U.ravel()}
    columns |= {f: original[:, j] for j, f in enumerate(feats)}
    columns |= {f"{f} [scaled]": W[:, j] for j, f in enumerate(feats)}
    return pd.DataFrame(columns)
