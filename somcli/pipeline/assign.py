"""somcli assign MODEL INPUT: replay a saved model's cleaning (never refit it) on new
rows, assign clusters (and BMUs, QE, outlier flags for a SOM), and report drift
against the training data."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from somcli.algorithms import blocks as B
from somcli.algorithms import kmeans as km
from somcli.algorithms.grid import Grid
from somcli.algorithms.outliers import OutlierRule
from somcli.backends.base import Backend, Data, Progress, quiet
from somcli.config import ReadOptions
from somcli.models.model import Model
from somcli.models.model_check import EMBEDDINGS
from somcli.pipeline import steps
from somcli.pipeline.common import RunResult, base_report, int_column
from somcli.report.sections import Drift, ModelRef

# Drift thresholds (documented in docs/operations.md)
MEAN_SHIFT_SD = 0.5  # a feature's mean moved by more than half a training SD
MISSING_UP = 0.10  # a feature's share of missing values grew by more than 10 points
QUALITY_RATIO = 1.25  # mean QE (SOM) or distance to centroid (k-means) grew by 25 %
OUTLIER_RATIO = 3.0  # three times the expected share of outliers
CLUSTER_TVD = 0.10  # cluster shares moved (total variation distance) by more than 0.10


def run(be: Backend, model_path: str, read: ReadOptions, progress: Progress = quiet,
        stdin=None, explicit: frozenset[str] = frozenset(), plots: str | None = None
        ) -> RunResult:
    """``explicit`` names the reading options given on the command line; the others
    default to what the model was trained with. ``plots`` (a colour scale) draws where the
    rows fall: the saved map with their hits (SOM), their projection and profiles."""
    t0 = time.perf_counter()
    model = Model.load(model_path, read.memory_limit)
    if model.kind in EMBEDDINGS:  # codes and reconstructions, no clusters
        from somcli.pipeline import embed

        return embed.replay(be, model, model_path, read, progress, stdin, explicit)
    rp = be.replay(model, read, explicit, progress=progress, stdin=stdin)
    data = rp.data
    if model.meta.get("embedding"):  # clustered in a learned space: the rows' codes first
        from somcli.pipeline.learned_space import to_codes

        data = to_codes(be, data, model)
    progress("assigning")
    fit = ALGORITHMS[model.kind]
    per_block, labels, quality, outlier_share = fit.assign(be, data, model)
    k = model.clusters
    sizes = steps.sizes(be, labels, k)
    shares = sizes / max(int(sizes.sum()), 1)
    d = data.described
    changes = drift(model, d.rows, rp.stats, shares, quality, outlier_share)
    report = base_report("assign", d, be.parameters(data), rp.warnings)
    report.input.notes += rp.notes
    report.model = model_section(model, model_path)
    report.drift = changes
    if model.meta.get("embedding"):
        from somcli.pipeline.learned_space import section_of

        report.embedding = section_of(model, model_path)
    report.clusters = steps.profiles(be, data, labels, k) if k <= 50 else None
    report.metrics = steps.internal(be, data.blocks, labels, 0)
    report.external = steps.external(be, data, labels, report.warnings)
    report.runtime_seconds = d.timings | {"total": time.perf_counter() - t0}
    frame, parts = be.rows_out(data, fit.columns(model, data), *per_block)
    pictures = _pictures(be, data, model, per_block, report, sizes, plots) if plots else {}
    return RunResult("assign", frame, report, parts=parts, plots=pictures)


def _pictures(be: Backend, data: Data, model: Model, per_block, report, sizes, scale) -> dict:
    """Where the rows fall: on the saved map (SOM: its U-matrix and clusters, the rows' hits,
    names, projection and profiles) or around the saved centres (k-means): name -> future."""
    from somcli.report import cluster_plots, figure

    if model.kind == "som":
        from somcli.pipeline.som_outputs import SomState, map_facts, scored_rows

        g = model.meta["grid"]
        grid = Grid(g["rows"], g["cols"], g["topology"])
        evs = per_block[0]
        infos = be.reduce(B.info, evs)
        hits = np.sum([i["hits"] for i in infos], axis=0)
        found = sum(i["found"] for i in infos)
        quality = {"quantization_error": sum(i["qe_sum"] for i in infos) / max(found, 1),
                   "topographic_error": sum(i["te_errors"] for i in infos) / max(found, 1)}
        state = SomState(grid, model.arrays["codebook"], model.arrays["unit_cluster"],
                         model.arrays["umatrix"].reshape(grid.rows, grid.cols), hits, None,
                         quality["quantization_error"])
        facts = map_facts(be, data, state, report, evs, scored_rows(be, data, evs, infos, 0),
                          sizes, found, scale, quality)
        from somcli.report.plots import jobs

        return figure.start(jobs(facts))
    centres = model.arrays["centroids"]
    rows = steps.fit_rows_sample(be, data, cluster_plots.MAX_POINTS, 0)
    labels = km.assign(rows, centres)[0]  # a sample, here (whichever backend holds the rows)
    return figure.start(cluster_plots.jobs(rows, labels, centres, data.described.roles.features,
                                          sizes, "k-means (rows assigned)",
                                          differences=steps.differences_of(report.clusters)))


def model_section(model: Model, path: str) -> ModelRef:
    """The report's account of the model that assigned the rows."""
    return ModelRef(path, model.kind, model.clusters, model.meta["training"].get("inputs"),
                    model.meta["training"]["rows"], model.meta.get("created"))


def _assign_kmeans(be: Backend, data: Data, model: Model):
    centers = model.arrays["centroids"]
    assigned = be.map(B.assign, data.blocks, centers=centers, threads=be.threads,
                      search=be.search)
    labels = be.map(B.first, assigned)
    n = int(steps.sizes(be, labels, len(centers)).sum())
    quality = sum(be.reduce(B.distance_sum, assigned)) / n if n else None
    return [assigned], labels, quality, None


def _kmeans_columns(model: Model, data: Data):
    return _distance_columns


def _distance_columns(assigned) -> dict:
    labels, dist = assigned
    return {"cluster": int_column(labels, labels >= 0), "distance": dist}


def _assign_som(be: Backend, data: Data, model: Model):
    g, rule = model.meta["grid"], OutlierRule.from_model(model.meta["outliers"])
    grid = Grid(g["rows"], g["cols"], g["topology"])
    evs = be.map(B.evaluate, data.blocks, W=model.arrays["codebook"], grid=grid,
                 threads=be.threads, search=be.search)
    labels = be.map(B.unit_labels, evs, unit_cluster=model.arrays["unit_cluster"])
    scores = be.map(B.outlier_scores, evs, rule=rule, U=model.arrays["umatrix"])
    infos = be.reduce(B.info, evs)
    found = sum(i["found"] for i in infos)
    flagged = sum(be.reduce(B.count_above, scores, threshold=rule.threshold))
    quality = sum(i["qe_sum"] for i in infos) / found if found else None
    return [evs, labels, scores], labels, quality, flagged / max(found, 1)


def _som_columns(model: Model, data: Data):
    from somcli.pipeline.som_outputs import columns_fn

    g = model.meta["grid"]
    return columns_fn(Grid(g["rows"], g["cols"], g["topology"]),
                      OutlierRule.from_model(model.meta["outliers"]).threshold, data.dtype)


def drift(model: Model, rows, now_stats, shares, quality, outlier_share) -> Drift:
    """The drift section: new rows against the training statistics (both engines)."""
    train = model.meta["training"]
    before = train.get("feature_stats", {})
    flags, columns = [], []
    for name, now in now_stats.items():
        was = before.get(name, {})
        sd = was.get("sd") or 0.0
        shift = (None if now["mean"] is None or was.get("mean") is None or sd <= 0
                 else (now["mean"] - was["mean"]) / sd)
        columns.append({"column": name, "missing_training": was.get("missing_share"),
                        "missing_now": now["missing_share"], "mean_training": was.get("mean"),
                        "mean_now": now["mean"], "shift_sd": shift})
        if shift is not None and abs(shift) > MEAN_SHIFT_SD:
            flags.append(f"'{name}' mean moved {shift:+.2f} training SDs")
        if now["missing_share"] - (was.get("missing_share") or 0.0) > MISSING_UP:
            flags.append(f"'{name}' missing share rose to {now['missing_share']:.0%}")
    q = train.get("quality", {})
    fit = ALGORITHMS[model.kind]
    q_train = q.get(fit.quality_key)
    ratio = quality / q_train if quality is not None and q_train else None
    if ratio is not None and ratio > QUALITY_RATIO:
        flags.append(f"{fit.quality_name} is {ratio:.2f}x the training value")
    expected = None
    if outlier_share is not None:
        expected = expected_outliers(model)
        if outlier_share > OUTLIER_RATIO * expected and outlier_share * rows >= 3:
            flags.append(f"{outlier_share:.1%} of rows are outliers (about {expected:.1%} "
                         "expected)")
    was_shares = model.arrays["cluster_shares"]
    tvd = float(0.5 * np.abs(shares - was_shares).sum())
    if tvd > CLUSTER_TVD:
        flags.append(f"cluster shares moved (total variation {tvd:.2f})")
    clusters = [{"cluster": j, "share_training": float(was_shares[j]), "share_now": float(s),
                 "change": float(s - was_shares[j])} for j, s in enumerate(shares)]
    summary = [f"rows: {rows:,} now, {train['rows']:,} in training",
               f"cluster shares: total variation distance {tvd:.3f} (flag above {CLUSTER_TVD})"]
    if ratio is not None:
        summary.append(f"{fit.quality_short}: {quality:.4g} now, {q_train:.4g} in training "
                       f"(x{ratio:.2f})")
    if outlier_share is not None:
        summary.append(f"outliers: {outlier_share:.2%} of rows (training threshold; about "
                       f"{expected:.1%} expected)")
    verdict = ("drift: " + "; ".join(flags)) if flags else "no drift beyond the thresholds"
    return Drift(verdict, bool(flags), flags, summary, rows, train["rows"], quality, q_train,
                 ratio, outlier_share, tvd, clusters if len(clusters) <= 50 else [], columns)


def expected_outliers(model: Model) -> float:
    """The share of outliers the training rows had under the model's rule (at least 0.1 %:
    a rule that flagged none in training still expects a stray one now and then)."""
    rule = OutlierRule.from_model(model.meta["outliers"])
    if rule.method != "robust":
        return 1.0 - rule.quantile
    share = (model.meta["algorithm"].get("quality") or {}).get("outlier_share") or 0.0
    return max(float(share), 0.001)


@dataclass(frozen=True)
class Assigner:
    """How a kind of model assigns rows, and the quality measure its drift compares."""

    assign: Callable  # (backend, data, model) -> (per-block handles, labels, quality,
    #                    outlier share or None)
    columns: Callable  # (model, data) -> (per-block handles -> the assignment columns)
    quality_key: str  # in the model's training quality
    quality_name: str  # in the drift flags
    quality_short: str  # in the drift summary


#: One entry per kind of model (model.json's "kind"); a new algorithm adds one here.
ALGORITHMS: dict[str, Assigner] = {
    "kmeans": Assigner(_assign_kmeans, _kmeans_columns, "distance_mean", "mean distance to centroid",
                       "mean distance"),
    "som": Assigner(_assign_som, _som_columns, "qe_mean", "mean QE", "mean QE"),
}
