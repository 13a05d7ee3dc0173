"""What is made of a trained map, over any backend: the evaluation (BMU, QE, TE, hits),
clusters of units, outliers, the report's map section, the codebook and outlier tables,
the pictures and the saved model."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from somcli.algorithms import blocks as B
from somcli.algorithms import outliers as O
from somcli.algorithms import structure
from somcli.algorithms.blocks import carried_name
from somcli.algorithms.choose import FEW_ROWS, cluster_units
from somcli.algorithms.evaluation import match_clusters
from somcli.algorithms.grid import Grid
from somcli.algorithms.umatrix import interstitial, unit_umatrix
from somcli.backends.base import Backend, Data, Described, feature_labels
from somcli.pipeline import steps
from somcli.pipeline.common import RunResult, base_report, int_column
from somcli.prep.quotes import exact
from somcli.report.sections import KSelection, MapSection, OutlierRow, Outliers

MAX_PROFILES = 50
MAX_OUTLIERS_LISTED = 50


@dataclass
class Trained:
    """A trained codebook and how it was trained."""

    grid: Grid
    W: np.ndarray
    size_rule: str
    trainer: str
    epochs: int
    sigma: float
    sigma_end: float
    chunk: int
    warnings: list[str]
    start: object | None  # som.Start when resumed
    learning_rate: bool = False  # the trainer has one (reported in the parameters)
    timings: dict = field(default_factory=dict)


class SomState:
    """What plots, models and resumes need from a trained map."""

    def __init__(self, grid, W, unit_cluster, U, hits, rule, qe_mean):
        self.grid, self.W, self.unit_cluster = grid, W, unit_cluster
        self.U, self.hits, self.rule, self.qe_mean = U, hits, rule, qe_mean


def outputs(be: Backend, data: Data, t: Trained, opts, units, exe, cleaning, plots, painter,
            progress) -> RunResult:
    grid, W = t.grid, t.W
    evs = be.map(B.evaluate, data.blocks, W=W, grid=grid, chunk=t.chunk, threads=be.threads,
                 search=be.search)
    infos = be.reduce(B.info, evs)
    hits = np.sum([i["hits"] for i in infos], axis=0)
    found = sum(i["found"] for i in infos)
    qe_total = sum(i["qe_sum"] for i in infos)
    te = sum(i["te_errors"] for i in infos) / found if grid.units > 1 and found else None
    qe_mean = qe_total / found if found else None
    quality = {"quantization_error": qe_mean, "topographic_error": te}
    if data.fit_is_usable:
        hits_fit = hits
    else:
        fit_evs = be.map(B.evaluate, be.map(B.as_block, data.fit), W=W, grid=grid,
                         chunk=t.chunk, threads=be.threads, search=be.search)
        hits_fit = np.sum([i["hits"] for i in be.reduce(B.info, fit_evs)], axis=0)
    U = unit_umatrix(W, grid, units.umatrix_stat)
    scored = scored_rows(be, data, evs, infos, opts.seed)
    early = early_pictures(data, W, grid, U, hits, quality, plots, scored, painter) \
        if plots else {}
    unit_cluster, k, selection = cluster_units(
        W, hits_fit, hits, units.k_given, units.k_auto, units.k_max, opts.seed, scored, progress)
    start = t.start
    if start is not None and start.second_level:  # keep yesterday's cluster 3 as cluster 3
        unit_cluster = match_clusters(start.codebook, start.unit_cluster, start.hits, W,
                                      unit_cluster, hits_fit, k)
    names = unit_names(be, data, evs, found) if plots else None
    if early:  # the U-matrix and k choice, drawn while the outliers and clusters are found
        early |= mid_pictures(data, grid, W, U, hits, unit_cluster, names, found, quality,
                              plots, KSelection(**selection) if selection else None, painter)
    labels = be.map(B.unit_labels, evs, unit_cluster=unit_cluster)
    rule, scores = _outlier_rule(be, evs, found, qe_total, units.outliers, U)
    threshold = rule.threshold
    n_flagged = int(sum(be.reduce(B.count_above, scores, threshold=threshold)))

    second = units.k != "units"
    params = {"trainer": t.trainer, "map": f"{grid.rows}x{grid.cols}",
              "topology": grid.topology, "init": opts.init, "epochs": t.epochs,
              "sigma": t.sigma, "sigma_end": t.sigma_end, "decay": opts.decay,
              "neighborhood": opts.neighborhood, "dtype": exe.dtype, "seed": opts.seed,
              "k": k if second else None, "umatrix_stat": units.umatrix_stat,
              "outliers": rule.method if units.outliers is None else units.outliers,
              "scale": cleaning.scale,
              "missing": cleaning.missing, "dedupe": cleaning.dedupe}
    if t.learning_rate:
        params["learning_rate"] = opts.learning_rate
    params |= be.parameters(data)
    described = data.described
    report = base_report("som", described, params, t.warnings)
    dead = int((hits == 0).sum())
    report.map = MapSection(
        grid.rows, grid.cols, grid.topology, grid.units, t.size_rule, t.trainer, t.epochs,
        t.sigma, t.sigma_end, opts.decay, opts.neighborhood, opts.init, qe_mean, te, dead,
        dead / grid.units, float(np.nanmean(U)), float(np.nanmax(U)))
    if start is not None:
        shift = np.linalg.norm(W - start.codebook, axis=1)
        report.map.init = f"resumed from {start.path}"
        report.map.resumed = {"model": start.path, "codebook_shift_mean": float(shift.mean()),
                              "codebook_shift_max": float(shift.max())}
    state = SomState(grid, W, unit_cluster, U, hits, rule, qe_mean)
    report.k_selection = KSelection(**selection) if selection else None
    if report.k_selection is not None and report.k_selection.note:
        report.warnings.append(report.k_selection.note)
    if report.k_selection is not None and units.k_auto and k > 1:  # rows: what the units hold
        if report.k_selection.structure is None:  # (cluster_units gives it with -k auto)
            report.k_selection.structure = structure.verdict(scored()[0], k, opts.seed)
        report.k_selection.alternatives = structure.offered(report.k_selection.alternatives,
                                                            report.k_selection.structure)
        caution = structure.sentence(report.k_selection.structure)
        if caution:
            report.warnings.append(caution)
    report.clusters = steps.profiles(be, data, labels, k) if k <= MAX_PROFILES else None
    sizes = steps.sizes(be, labels, k)
    pictures = {}
    if plots:
        facts = map_facts(be, data, state, report, evs, scored, sizes, found, plots, quality,
                          names)
        pictures = early | start_plots(facts, painter, None if early else report.k_selection,
                                       skip=list(early))
    report.metrics = steps.internal(be, data.blocks, labels, opts.seed)
    report.external = steps.external(be, data, labels, report.warnings)
    columns = columns_fn(grid, threshold, data.dtype)
    top = be.reduce(_top, scores, labels, evs, data.ids, threshold=threshold,
                    id_columns=described.roles.names)
    rows = sorted((r for p in top for r in p), key=lambda r: -r.score)
    report.outliers = Outliers(rule.method, rule.reason, rule.quantile,
                               threshold if np.isfinite(threshold) else None, n_flagged,
                               rows[:MAX_OUTLIERS_LISTED])
    report.runtime_seconds = dict(t.timings)
    tables = {"codebook.csv": codebook_table(described, W, grid, unit_cluster, hits, U),
              "outliers.csv": _outlier_table(be, data, evs, labels, scores, threshold,
                                             columns)}
    matrices = {"umatrix.csv": U, "umatrix_full.csv": interstitial(W, grid, units.umatrix_stat)}
    model = model_of_map(replace(described, fingerprint=be.fingerprint(data)), params, state,
                         k, second, sizes, units, opts.seed, report)
    frame, parts = be.rows_out(data, columns, evs, labels, scores)
    return RunResult("som", frame, report, tables, matrices=matrices, state=state,
                     plots=pictures, model=model, parts=parts)


def _outlier_rule(be, evs, found, qe_total, quantile, U):
    """The outlier rule fitted on the evaluated rows (exact medians and quantiles over all
    of them), and every row's score under it."""
    qe_median = steps.positive_median(be, be.map(B.found_qe, evs), found, qe_total)
    plain = O.OutlierRule("robust", float("inf"), qe_median)
    scores = be.map(B.outlier_scores, evs, rule=plain, U=U.ravel())
    if quantile is not None:
        threshold = steps.quantile(be, be.map(B.present, scores), found, quantile)
        return O.quantile_rule(qe_median, quantile, threshold), scores
    logs = be.map(B.log_positive, scores)
    n = int(sum(be.reduce(len, logs)))
    if n < O.MIN_ROWS:
        return O.robust_rule(qe_median, n, 0.0, 0.0), scores
    center = steps.quantile(be, logs, n, 0.5)
    mad = steps.quantile(be, be.map(B.distance_to, logs, center=center), n, 0.5)
    return O.robust_rule(qe_median, found, center, mad), scores


SELECT_ROWS = 5_000  # -k auto compares the unit groupings on this many sampled rows


def scored_rows(be, data, evs, infos, seed):
    """``sample() -> (X, bmu)``: complete rows drawn once (at the positions every backend
    draws) and their units, on which -k auto compares groupings of the units and the
    pictures show the rows: rows as read (:func:`~somcli.algorithms.blocks.observed`: no
    gap filled) when there are enough of them, else every row without a gap left."""
    as_read = sum(i["observed"] for i in infos)
    key = "observed" if as_read >= FEW_ROWS else "complete"

    @functools.cache
    def sample():
        counts = np.array([i[key] for i in infos])
        if not counts.sum():  # every row has a gap (--missing mask)
            return np.empty((0, len(data.described.roles.features))), np.empty(0, np.int64)
        pick = steps.sample_positions(int(counts.sum()), SELECT_ROWS, seed)
        rows = be.take(list(zip(data.blocks, evs, strict=True)), counts, pick,
                       functools.partial(_complete_rows, key=key))
        return rows[:, :-1], rows[:, -1].astype(np.int64)

    found = sum(i["found"] for i in infos)
    sample.what = ("rows" if key == "complete" or as_read == found
                   else f"rows without a filled gap (of {found:,})")
    return sample


def _complete_rows(pair, positions, key="complete"):
    block, (bmu, _, info) = pair
    X = block.X
    where = np.flatnonzero(info[key])[positions]
    return np.column_stack([np.asarray(X[where], dtype=np.float64), bmu[where]])


def columns_fn(grid: Grid, threshold: float, dtype):
    def columns(ev, labels, score) -> dict:
        bmu, qe, _ = ev
        found = bmu >= 0
        flagged = found & (score > threshold)
        return {"cluster": int_column(labels, found),
                "bmu_row": int_column(bmu // grid.cols, found),
                "bmu_col": int_column(bmu % grid.cols, found),
                "qe": qe.astype(dtype, copy=False),  # the run's precision: no noise digits
                "outlier_score": score.astype(dtype, copy=False),
                "is_outlier": flagged if found.all() else pd.arrays.BooleanArray(flagged, ~found)}
    return columns


def _top(score, labels, ev, ids, threshold, id_columns):
    flagged = np.flatnonzero(score > threshold)
    top = flagged[np.argsort(-score[flagged], kind="stable")][:MAX_OUTLIERS_LISTED]
    names = B.row_names(ids, id_columns, top)
    lines = ids["line"].to_numpy()
    return [OutlierRow(name, int(lines[i]), float(score[i]), float(ev[1][i]), int(labels[i]))
            for name, i in zip(names, top, strict=True)]


def _outlier_table(be, data, evs, labels, scores, threshold, columns) -> pd.DataFrame:
    parts = be.reduce(_outlier_rows, data.blocks, data.ids, evs, labels, scores,
                      threshold=threshold, prep=data.described.prep, columns=columns)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return table.sort_values("outlier_score", ascending=False, kind="stable") if len(table) \
        else table


def _outlier_rows(block, ids, ev, labels, score, threshold, prep, columns):
    flagged = score > threshold
    frame = B.frame(ids, columns(ev, labels, score)).loc[flagged].reset_index(drop=True)
    names = [carried_name(f) for f in prep.features]
    keep = [j for j, name in enumerate(names) if name not in frame.columns]  # -a carries some
    original = exact(block.X, block.quotes, prep.center, prep.scale, np.flatnonzero(flagged))
    return pd.concat([frame, pd.DataFrame(original[:, keep], columns=[names[j] for j in keep])],
                     axis=1)


def model_of_map(d: Described, params, state, k, second, sizes, units, seed, report):
    """The saved model of a trained map: codebook, unit clusters, U-matrix, hits, cluster
    shares, the outlier rule and the training quality."""
    from somcli.models.model import build

    assigned = max(int(sizes.sum()), 1)
    arrays = {"codebook": np.asarray(state.W, np.float64),
              "unit_cluster": np.asarray(state.unit_cluster, np.int64),
              "umatrix": np.asarray(state.U.ravel(), np.float64),
              "hits": np.asarray(state.hits, np.int64), "cluster_shares": sizes / assigned}
    m = report.map
    algorithm = {"name": "som", "clusters": int(k), "second_level": second, "params": params,
                 "quality": {"qe_mean": m.quantization_error, "te": m.topographic_error,
                             "outlier_share": report.outliers.count / assigned}}
    outlier_rule = state.rule.to_dict() | {"umatrix_stat": units.umatrix_stat}
    return build(d, "som", algorithm, arrays, report.metrics.to_dict(), seed,
                 grid=state.grid.to_dict(),
                 outliers=outlier_rule)


def unit_names(be: Backend, data: Data, evs, found: int) -> dict[int, list[str]]:
    """The names of the first rows on each unit (every row's on small maps: NAMES_ON_MAP)."""
    from somcli.report import map_facts as F

    limit = F.NAMES_ON_MAP if found <= F.NAMES_ON_MAP else F.NAMES_PER_UNIT
    names: dict[int, list[str]] = {}
    for part in be.reduce(B.unit_rows, evs, data.ids, id_columns=data.described.roles.names,
                          limit=limit):
        for u, mine in part.items():
            names[u] = (names.get(u, []) + mine)[:limit]
    return names


def map_facts(be: Backend, data: Data, state: SomState, report, evs, scored, sizes, found,
              color_scale: str, quality: dict, names=None):
    """What the map's pictures show (:class:`somcli.report.map_facts.MapFacts`): ``state``'s
    map, with the hits, names and sampled rows of ``data`` (the training rows, or the rows
    ``assign`` placed on a saved map); ``names``: :func:`unit_names`, when known."""
    from somcli.report import map_facts as F
    from somcli.report.plots import MAX_COMPONENTS

    d = data.described
    features = d.roles.features
    if len(features) > MAX_COMPONENTS:
        report.warnings.append(f"components.png shows the first {MAX_COMPONENTS} of "
                               f"{len(features)} features")
    names = unit_names(be, data, evs, found) if names is None else names
    X, bmu = scored()
    cluster = state.unit_cluster[bmu]
    k = len(sizes)
    if report.clusters is not None:
        centres = np.array([c.scaled for c in report.clusters], dtype=float)
    else:  # too many clusters to profile: the sampled rows' means
        centres = np.array([X[cluster == j].mean(0) if (cluster == j).any()
                            else np.full(X.shape[1], np.nan) for j in range(k)])
    if len(X) < 2:  # no row without a gap to project: no projection, no profiles
        X = cluster = centres = None
    return _facts(data, state.grid, state.W, state.U, state.hits, state.unit_cluster, quality,
                  color_scale, legend=F.legend_lines(report.clusters),
                  unit_names=_per_unit(names, state.grid.units), rows=int(found), sample=X,
                  sample_cluster=cluster, centres=centres,
                  differences=steps.differences_of(report.clusters), sizes=np.asarray(sizes))


def _facts(data: Data, grid, W, U, hits, unit_cluster, quality: dict, color_scale: str,
           **more):
    """The :class:`~somcli.report.map_facts.MapFacts` of a map and ``data``'s cleaning,
    with ``more`` of them as they become known."""
    from somcli.report import map_facts as F

    d = data.described
    return F.MapFacts(grid, W, U, hits, unit_cluster, d.prep.to_original(W),
                      list(d.roles.features), quality, color_scale=color_scale,
                      units=np.vstack([d.prep.scale, d.prep.center]).astype(float), **more)


def _k_request(selection) -> list:
    from somcli.report import painter as helper

    return helper.k_request(selection.to_dict() if selection is not None else None)


def start_plots(facts, painter=None, selection=None, skip=()) -> dict:
    """Start drawing the map's pictures (and k_choice.png when k was chosen) in the
    background, by the helper process ``painter`` or on a thread: name -> future bytes.
    ``skip``: pictures asked for already (:func:`early_pictures`)."""
    from somcli.report import painter as helper

    return helper.pictures([helper.map_request(facts, skip=skip), *_k_request(selection)],
                           painter)


def early_pictures(data: Data, W, grid, U, hits, quality: dict, color_scale: str, scored,
                   painter) -> dict:
    """The pictures of the trained map alone (hits, component planes: ``plots.EARLY``),
    asked of the helper process as soon as the map is evaluated: it draws them while this
    process chooses and profiles the clusters. Their facts hold one cluster (not chosen
    yet), which those pictures do not show. Nothing without a helper (drawn on a thread,
    they would hold the GIL against that work): they are drawn then with the others."""
    if painter is None:
        return {}
    from somcli.report import painter as helper
    from somcli.report.plots import EARLY

    X, _ = scored()
    facts = _facts(data, grid, W, U, hits, np.zeros(grid.units, dtype=int), quality,
                   color_scale, sample=X if len(X) >= 2 else None)
    return helper.pictures([helper.map_request(facts, only=EARLY)], painter, last=False)


def mid_pictures(data: Data, grid, W, U, hits, unit_cluster, names, found, quality,
                 color_scale, selection, painter) -> dict:
    """The pictures of the map and its clusters' borders (``plots.MID``: the U-matrix) and
    the k choice, asked of the helper as soon as the units are grouped, before the outliers
    are found and the clusters profiled (what the cluster pictures show)."""
    from somcli.report import painter as helper
    from somcli.report.plots import MID

    facts = _facts(data, grid, W, U, hits, unit_cluster, quality, color_scale,
                   unit_names=_per_unit(names, grid.units), rows=int(found))
    return helper.pictures([helper.map_request(facts, only=MID), *_k_request(selection)],
                           painter, last=False)


def _per_unit(names: dict, units: int) -> list[list[str]]:
    return [names.get(u, []) for u in range(units)]


def codebook_table(d: Described, W, grid, unit_cluster, hits, U) -> pd.DataFrame:
    """One row per unit: position, cluster, hits, U-matrix value, weights (original, scaled)."""
    r, c = np.divmod(np.arange(grid.units), grid.cols)
    feats = d.roles.features
    original = d.prep.to_original(W)
    columns = {"unit": np.arange(grid.units), "row": r, "col": c, "cluster": unit_cluster,
               "hits": hits, "umatrix": U.ravel()}
    names = feature_labels(feats, columns)
    columns |= {f: original[:, j] for j, f in enumerate(names)}
    columns |= {f"{f} [scaled]": W[:, j] for j, f in enumerate(names)}
    return pd.DataFrame(columns)
