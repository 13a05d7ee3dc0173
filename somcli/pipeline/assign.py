"""somcli assign MODEL INPUT: replay a saved model's cleaning (never refit it) on new
rows, assign clusters (and BMUs, QE, outlier flags for a SOM), and report drift
against the training data."""

from __future__ import annotations

import time

import numpy as np

from somcli.algorithms.outliers import OutlierRule
from somcli.backends.base import Backend, Progress, quiet
from somcli.config import ReadOptions
from somcli.models.model import Model
from somcli.models.model_check import EMBEDDINGS
from somcli.pipeline import steps
from somcli.pipeline.common import RunResult, base_report, clustering
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
    fit = clustering(model.kind).ASSIGNER
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
    pictures = fit.pictures(be, data, model, per_block, report, sizes, plots) if plots else {}
    return RunResult("assign", frame, report, parts=parts, plots=pictures)


def model_section(model: Model, path: str) -> ModelRef:
    """The report's account of the model that assigned the rows."""
    return ModelRef(path, model.kind, model.clusters, model.meta["training"].get("inputs"),
                    model.meta["training"]["rows"], model.meta.get("created"))


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
    fit = clustering(model.kind).ASSIGNER
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
