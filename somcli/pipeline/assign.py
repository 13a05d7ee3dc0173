"""somcli assign MODEL INPUT: replay a saved model's cleaning (never refit it) on new
rows, assign clusters (and BMUs, QE, outlier flags for a SOM), and report drift
against the training data."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from somcli import metrics
from somcli.algorithms import kmeans as km
from somcli.algorithms.grid import Grid
from somcli.config import ReadOptions
from somcli.errors import DataError
from somcli.io.read import read_table
from somcli.model import Model
from somcli.parallel import default_threads
from somcli.pipeline.common import (
    Prepared,
    Progress,
    RunResult,
    _quiet,
    assignment_table,
    base_report,
    cluster_profiles,
    external_scores,
    int_column,
)
from somcli.prep import roles as R
from somcli.prep.clean import Cleaned, replay_report, row_labels
from somcli.prep.units import apply_rule

# Drift thresholds (documented in README.md)
MEAN_SHIFT_SD = 0.5  # a feature's mean moved by more than half a training SD
MISSING_UP = 0.10  # a feature's share of missing values grew by more than 10 points
QUALITY_RATIO = 1.25  # mean QE (SOM) or distance to centroid (k-means) grew by 25 %
OUTLIER_RATIO = 3.0  # three times the expected share of outliers
CLUSTER_TVD = 0.10  # cluster shares moved (total variation distance) by more than 0.10


class Replay:
    """New rows through a saved model's cleaning: what assign and --resume start from."""

    def __init__(self, model, prep, warnings, notes, stats):
        self.model, self.prep, self.warnings, self.notes = model, prep, warnings, notes
        self.stats = stats


def replay(model: Model, read: ReadOptions, explicit=frozenset(), stdin=None,
           progress: Progress = _quiet) -> Replay:
    """Read new rows and apply the stored unit rules, imputation and scaling (never refit)."""
    t0 = time.perf_counter()
    read = reading(read, model, explicit)
    progress("reading")
    table = read_table(read, stdin=stdin)
    frame = table.frame
    feats = model.features
    missing_cols = [f for f in feats if f not in frame.columns]
    if missing_cols:
        raise DataError(f"{table.inputs[0]}: feature column(s) {', '.join(map(repr, missing_cols))}"
                        " of the model are missing",
                        "the columns are: " + ", ".join(map(repr, frame.columns)))
    t1 = time.perf_counter()
    progress("replaying the cleaning")
    prep_model = model.preprocessor()
    raw, bad = _features(frame, feats, prep_model.rules)
    warnings = [f"column '{c}': {n} value(s) could not be read as numbers (e.g. '{ex}' on line "
                f"{int(table.lines[pos])}); counted as missing" for c, (n, pos, ex) in bad.items()]
    schema = model.meta["schema"]
    extra = [c for c in frame.columns
             if c not in feats and c not in schema["identifiers"] and c != schema["label"]]
    notes = [f"column(s) not in the model, ignored: {', '.join(map(repr, extra))}"] if extra else []
    stats = _stats(raw, feats)
    gaps = np.isnan(raw)
    usable = ~gaps.any(axis=1) if prep_model.missing == "drop" else np.ones(len(raw), bool)
    params = model.meta["algorithm"].get("params") or {}
    dtype = np.float32 if params.get("dtype") == "float32" else np.float64
    X = prep_model.to_scaled(prep_model.impute(raw)).astype(dtype)
    del raw
    ids = [c for c in schema["identifiers"] if c in frame.columns]
    label = schema["label"] if schema["label"] in frame.columns else None
    roles = R.Roles(decisions(frame, feats, ids, label), feats, ids, label, {})
    table.frame = frame[ids + ([label] if label else [])]
    cleaned = Cleaned(prep_model, X, usable, np.flatnonzero(usable),
                      _replay_report(prep_model, feats, gaps, usable, table, ids))
    prep = Prepared(table, roles, cleaned, {"read": t1 - t0, "clean": time.perf_counter() - t1})
    return Replay(model, prep, warnings, notes, stats)


def _replay_report(prep_model, feats, gaps, usable, table, ids) -> dict:
    """The cleaning section for replayed rows (the training's fill values and scaling)."""
    from somcli.prep.clean import MAX_NAMED_ROWS

    cells = {f: int(k) for f, k in zip(feats, gaps.sum(0), strict=True) if k}
    gap_rows = np.flatnonzero(gaps.any(axis=1))
    named = row_labels(table.frame, ids, table.lines, gap_rows[:MAX_NAMED_ROWS])
    return replay_report(prep_model, cells, len(gap_rows), named, len(usable), int(usable.sum()))


def run(model_path: str, read: ReadOptions, progress: Progress = _quiet, stdin=None,
        explicit: frozenset[str] = frozenset()) -> RunResult:
    """``explicit`` names the reading options given on the command line; the others
    default to what the model was trained with."""
    t0 = time.perf_counter()
    model = Model.load(model_path, read.memory_limit)
    rp = replay(model, read, explicit, stdin, progress)
    prep, X, usable = rp.prep, rp.prep.cleaned.X, rp.prep.cleaned.usable
    progress("assigning")
    columns, clusters, quality, outlier_share = ALGORITHMS[model.kind].assign(model, X, usable)
    assignments = assignment_table(prep, columns)
    k = model.clusters
    valid = clusters >= 0
    shares = np.bincount(clusters[valid], minlength=k) / max(int(valid.sum()), 1)
    table = prep.table
    changes = drift(model, table.n_rows, rp.stats, shares, quality, outlier_share)
    report = base_report("assign", prep.described(), {}, rp.warnings)
    report["input"]["notes"] += rp.notes
    report |= {
        "model": model_section(model, model_path),
        "drift": changes,
        "clusters": cluster_profiles(prep, clusters, k) if k <= 50 else None,
        "metrics": metrics.internal(X, clusters, rows=valid & ~np.isnan(X).any(axis=1)),
        "external": external_scores(prep, clusters, rp.warnings),
        "runtime_seconds": prep.timings | {"total": time.perf_counter() - t0},
    }
    return RunResult("assign", assignments, report)


def model_section(model: Model, path: str) -> dict:
    """The report's account of the model that assigned the rows (both engines)."""
    return {"path": path, "kind": model.kind, "clusters": model.clusters,
            "trained_on": model.meta["training"].get("inputs"),
            "training_rows": model.meta["training"]["rows"],
            "created": model.meta.get("created")}


def reading(read: ReadOptions, model: Model, explicit) -> ReadOptions:
    """The reading options: those given on the command line, else the model's."""
    stored = model.meta["schema"]["reading"]
    changes = {}
    if "delimiter" not in explicit and "tabs" not in explicit and read.delimiter is None:
        changes["delimiter"] = stored["delimiter"]
    if "decimal" not in explicit and read.decimal is None:
        changes["decimal"] = stored["decimal"]
    if "encoding" not in explicit:
        changes["encoding"] = stored["encoding"]
    return replace(read, **changes)


def _features(frame: pd.DataFrame, feats, rules):
    """Feature values as float64; values that are not numbers become NaN and are counted."""
    raw = np.empty((len(frame), len(feats)))
    bad = {}
    for j, name in enumerate(feats):
        series = frame[name]
        if name in rules:
            values = apply_rule(series, rules[name])
        elif pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        lost = np.flatnonzero(np.isnan(values) & series.notna().to_numpy())
        if len(lost):
            bad[name] = (len(lost), lost[0], str(series.iloc[lost[0]])[:40])
        values = np.where(np.isinf(values), np.nan, values)
        raw[:, j] = values
    return raw, bad


def _stats(raw: np.ndarray, feats) -> dict:
    out = {}
    for j, name in enumerate(feats):
        col = raw[:, j]
        present = ~np.isnan(col)
        out[name] = {"missing_share": float(1 - present.mean()) if len(col) else 0.0,
                     "mean": float(col[present].mean()) if present.any() else None}
    return out


def decisions(frame, feats, ids, label):
    """Each column's role as the model fixes it (for the report's columns section)."""
    out = []
    for pos, name in enumerate(frame.columns, start=1):
        if name in feats:
            role, reason = R.FEATURE, "a feature of the model"
        elif name in ids:
            role, reason = R.IDENTIFIER, "an identifier of the model"
        elif name == label:
            role, reason = R.LABEL, "the model's label column: used only to score"
        else:
            role, reason = R.EXCLUDED, "not in the model: ignored"
        series = frame[name]
        out.append(R.ColumnDecision(pos, name, _kind(series), role, reason,
                                    int(series.isna().sum()), None))
    return out


def _kind(series: pd.Series) -> str:
    """A column's type as the roles name it, whatever precision it was read in."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "number" if series.notna().any() else "empty"
    return "text"


def _assign_kmeans(model: Model, X, usable):
    centers = model.arrays["centroids"].astype(X.dtype)
    labels = np.full(len(X), -1, dtype=np.int64)
    dist = np.full(len(X), np.nan)
    rows = X if usable.all() else X[usable]
    labels[usable], dist[usable] = km.assign(rows, centers)
    columns = {"cluster": int_column(labels, usable), "distance": dist}
    return columns, labels, float(np.nanmean(dist)) if usable.any() else None, None


def _assign_som(model: Model, X, usable):
    from somcli.algorithms.evaluation import evaluate, outliers

    g = model.meta["grid"]
    grid = Grid(g["rows"], g["cols"], g["topology"])
    ev = evaluate(X, usable, model.arrays["codebook"], grid, threads=default_threads())
    o = model.meta["outliers"]
    score, _, flagged, _ = outliers(ev, model.arrays["umatrix"], o["quantile"],
                                    threshold=o["threshold"], ref=(o["qe_median"], o["u_median"]))
    found = ev.bmu >= 0
    clusters = np.where(found, model.arrays["unit_cluster"][np.maximum(ev.bmu, 0)], -1)
    columns = {
        "cluster": int_column(clusters, found),
        "bmu_row": int_column(ev.bmu // grid.cols, found),
        "bmu_col": int_column(ev.bmu % grid.cols, found),
        "qe": ev.qe, "outlier_score": score,
        "is_outlier": flagged if found.all() else pd.arrays.BooleanArray(flagged, ~found),
    }
    share = float(flagged.sum() / max(int(found.sum()), 1))
    return columns, clusters, ev.qe_mean, share


def drift(model: Model, rows, now_stats, shares, quality, outlier_share) -> dict:
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
        expected = 1.0 - model.meta["outliers"]["quantile"]
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
    return {"verdict": verdict, "drifted": bool(flags), "flags": flags, "summary": summary,
            "rows_now": rows, "rows_training": train["rows"], "quality_now": quality,
            "quality_training": q_train, "quality_ratio": ratio, "outlier_share": outlier_share,
            "cluster_tvd": tvd, "clusters": clusters if len(clusters) <= 50 else [],
            "columns": columns}


@dataclass(frozen=True)
class Assigner:
    """How a kind of model assigns rows, and the quality measure its drift compares."""

    assign: Callable  # (model, X, usable) -> (columns, clusters, quality, outlier share)
    quality_key: str  # in the model's training quality
    quality_name: str  # in the drift flags
    quality_short: str  # in the drift summary


#: One entry per kind of model (model.json's "kind"); a new algorithm adds one here.
ALGORITHMS: dict[str, Assigner] = {
    "kmeans": Assigner(_assign_kmeans, "distance_mean", "mean distance to centroid",
                       "mean distance"),
    "som": Assigner(_assign_som, "qe_mean", "mean QE", "mean QE"),
}
