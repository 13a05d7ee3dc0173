"""somcli kmeans: read -> clean -> k-means (k given or chosen, -k auto) -> outputs.

Written once over a :class:`~somcli.backends.base.Backend`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from functools import cache

import numpy as np
import pandas as pd

from somcli.algorithms import blocks as B
from somcli.algorithms import choose, lloyd, structure
from somcli.algorithms import kmeans as km
from somcli.backends.base import Backend, Data, Described, Progress, feature_labels, quiet
from somcli.config import CleanOptions, ColumnOptions, KMeansOptions, ReadOptions
from somcli.pipeline import steps
from somcli.pipeline.common import (
    Assigner,
    RunResult,
    base_report,
    check_clusterable,
    int_column,
)
from somcli.report.sections import Fit, KSelection, Scores
from somcli.runtime import memory
from somcli.runtime.parallel import import_soon


def run(be: Backend, read: ReadOptions, cols: ColumnOptions, cleaning: CleanOptions,
        opts: KMeansOptions, progress: Progress = quiet, stdin=None,
        data: Data | None = None, plots: bool = False, painter=None) -> RunResult:
    """``data``: rows already read (the codes of ``--embed``), else read here; ``plots``:
    start drawing the projection and profile pictures (for ``write``), by the helper
    process ``painter`` when given (:mod:`somcli.report.painter`)."""
    t0 = time.perf_counter()
    data = data or be.load(read, cols, cleaning, dtype=np.float64, allow_mask=False,
                           progress=progress, stdin=stdin,
                           on_read=lambda rows: _import_soon(rows, cleaning))
    if painter is not None:
        painter.sized(data.described.rows)
    distinct = cache(lambda: be.distinct_rows(data, max(opts.k_given or 0, opts.k_max)))
    check_clusterable(data.n_fit, opts.k_given, distinct)
    n = data.n_fit
    k_most = opts.k_given or opts.k_max
    memory.check(memory.kmeans_estimate(data.described.rows, len(data.described.roles.features),
                                        k_most) | be.device_memory(data, k_most),
                 read.memory_limit, f"k-means on {n:,} rows")
    minibatch = n > opts.minibatch_rows
    warnings: list[str] = []
    t_fit = time.perf_counter()
    selection, label = None, ""

    helped = plots and painter is not None  # each picture asked of the helper when known
    pictures: dict = {}
    if opts.k_auto:
        k, selection = _choose_k(be, data, opts, distinct(), progress)
        if selection.note:
            warnings.append(selection.note)
        if helped:  # drawn by the helper while the fit runs
            from somcli.report import painter as helper

            pictures = helper.pictures(helper.k_request(selection.to_dict()), painter,
                                       last=False)
    else:
        k = opts.k
    progress(f"k-means with k={k}")
    fingerprint = _hashed_meanwhile(be, data)
    fit, label = fit_kmeans(be, data, k, seed=opts.seed, n_init=opts.n_init,
                            minibatch=minibatch, progress=progress)
    if minibatch and label == "MiniBatchKMeans":
        warnings.append(f"{n:,} rows > --minibatch-rows {opts.minibatch_rows:,}: "
                        "used MiniBatchKMeans (faster, slightly less exact)")
    # number clusters by size (0 = largest), then every usable row has its cluster
    assigned = be.map(B.assign, data.blocks, centers=fit.centers, threads=be.threads,
                      search=be.search)
    labels = be.map(B.first, assigned)
    perm = km.order_by_size(np.arange(k), k, weight=steps.sizes(be, labels, k).astype(float))
    centers = fit.centers[np.argsort(perm)]
    assigned = be.map(B.renumber, assigned, perm=perm)
    labels = be.map(B.first, assigned)
    fit_seconds = time.perf_counter() - t_fit
    shown = cache(lambda: _shown_rows(be, data, centers, opts.seed))
    if helped:  # the projection, drawn while the clusters are profiled
        pictures |= _pictures(data, centers, steps.sizes(be, labels, k), shown, None, painter,
                              only=PROJECTION)

    params = {"algorithm": label, "k": k, "k_auto": opts.k_auto, "k_max": opts.k_max,
              "n_init": fit.n_init, "seed": opts.seed, "scale": cleaning.scale,
              "missing": cleaning.missing, "dedupe": cleaning.dedupe,
              "minibatch_rows": opts.minibatch_rows} | be.parameters(data)
    described = data.described
    report = base_report("kmeans", described, params, warnings)
    report.k_selection = selection
    caution = structure.sentence(selection.structure if selection else None)
    if caution:
        report.warnings.append(caution)
    report.fit = Fit(fit.inertia, fit.n_iter)
    report.clusters = steps.profiles(be, data, labels, k)
    sizes = np.array([c.size for c in report.clusters])
    if helped:  # drawn by the helper while the rows are scored
        pictures |= _pictures(data, centers, sizes, shown, report, painter, only=PROFILES,
                              with_k="k_choice.png" not in pictures)
    report.metrics = _scores(be, data, labels, centers, opts.seed)
    report.external = steps.external(be, data, labels, report.warnings)
    report.runtime_seconds = described.timings | {"fit": fit_seconds,
                                                  "total": time.perf_counter() - t0}
    tables = {"centroids.csv": centroid_table(described, centers, sizes)}
    quality = sum(be.reduce(B.distance_sum, assigned)) / max(int(sizes.sum()), 1)
    model = kmeans_model(replace(described, fingerprint=fingerprint()), opts.seed,
                         params, centers, sizes, quality, report)
    frame, parts = be.rows_out(data, _columns, assigned)
    if plots and not helped:  # on a thread, once this process's work is done
        pictures = _pictures(data, centers, sizes, shown, report, None)
    return RunResult("kmeans", frame, report, tables, model=model, parts=parts,
                     plots=pictures)


def _hashed_meanwhile(be: Backend, data: Data) -> Callable[[], str]:
    """The cleaned rows' fingerprint for the model, hashed on a thread while this one
    imports scikit-learn and fits (one core idle then: the import is pure Python, the
    fit's steps one thread; sha256 releases the GIL), on the local engine. 1M x 10: 0.07 s
    off the run."""
    if be.name != "local":
        return lambda: be.fingerprint(data)
    from somcli.runtime.parallel import in_order

    return in_order({"hash": lambda: be.fingerprint(data)}, "hash")["hash"].result


def _import_soon(rows: int | None, cleaning: CleanOptions) -> None:
    """Once the rows are read: scikit-learn's k-means imported on a thread while they are
    cleaned elsewhere (``rows`` None: a cluster's workers clean them, this process waits),
    unless the cleaning imports scikit-learn itself (KNN imputation). Not when this process
    cleans them: its cleaning runs on threads of its own, and the import's pure Python then
    slowed both (1M x 10: cleaning 0.33 -> 1.3 s, import 0.75 -> 1.1 s; a `kmeans -k 8` run
    0.11 s slower and 0.3 s more CPU than importing after the cleaning: benchmarks/README.md)."""
    if rows is None and cleaning.missing != "knn":
        import_soon("sklearn.cluster")


INIT_SAMPLE = 100_000  # rows the k-means++ starts are drawn on away from scikit-learn
POLISH = 20  # Lloyd steps at most after the fit, to the fixed point (none moves a centroid)


def fit_kmeans(be: Backend, data: Data, k: int, *, seed: int, n_init: int | None,
               minibatch: bool, progress: Progress = quiet) -> tuple[km.KMeansFit, str]:
    """k-means on the fit rows, and what the report calls it: scikit-learn's on rows held by
    this process's CPU; elsewhere (a cluster's workers, a GPU) its k-means++ starts and
    restarts on a sample of at most INIT_SAMPLE rows, then Lloyd's steps as partial sums
    over every block (:mod:`somcli.algorithms.lloyd`) to scikit-learn's tolerance. Then, on
    every engine but MiniBatchKMeans, Lloyd's steps to the fixed point (at most POLISH): the
    centroids are the means of the final clusters, the same on every engine."""
    X = be.here(data.fit) if be.device is None else None
    if X is not None:
        fit = km.fit(X, k, seed=seed, n_init=n_init, minibatch=minibatch)
        if minibatch:
            return fit, "MiniBatchKMeans"
        label = "KMeans (k-means++)"
    else:
        n = data.n_fit
        n_init = n_init or km.default_n_init(n)
        sums = np.sum([m[0] for m in be.reduce(B.moments, data.fit)], axis=0)
        squares = np.sum(be.reduce(B.squares, data.fit), axis=0)
        tol = lloyd.TOL * float(np.mean(squares / n - (sums / n) ** 2))
        pick = np.arange(n) if n <= INIT_SAMPLE else np.sort(
            np.random.default_rng(seed).choice(n, size=INIT_SAMPLE, replace=False))
        progress(f"k-means {be.where} with k={k}")
        start = km.fit(be.take(data.fit, data.fit_counts, pick, B.take), k, seed=seed,
                       n_init=n_init).centers
        label = f"k-means (Lloyd {be.where}, k-means++ starts on a sample)"
    with be.placed(data.fit, k) as rows:
        def step(C):
            return lloyd.total(be.reduce(lloyd.partial_sums, rows, centers=C))

        if X is None:  # to scikit-learn's tolerance (the polish below gives the inertia)
            centers, done = lloyd.converge(step, start, tol)
            fit = km.KMeansFit(centers, float("nan"), done, False, n_init)
        polished = lloyd.run(step, fit.centers, 0.0, POLISH)
    return (km.KMeansFit(polished.centers, polished.inertia, fit.n_iter + polished.n_iter,
                         False, fit.n_init), label)


PROJECTION, PROFILES = ["projection.png"], ["profiles.png"]  # asked of a helper in turn


def _shown_rows(be, data, centers, seed) -> tuple[np.ndarray, np.ndarray]:
    """The fit rows the projection shows (a seeded sample) and their clusters."""
    from somcli.report import cluster_plots

    rows = steps.fit_rows_sample(be, data, cluster_plots.MAX_POINTS, seed)
    return rows, km.assign(rows, centers)[0]


def _pictures(data, centers, sizes, shown, report, painter, only=None, with_k=True) -> dict:
    """The projection and profile pictures (``only`` those named; the projection needs no
    ``report``) of the rows ``shown()`` gives, and the k choice (``with_k``, once the report
    is there), drawn by the helper process ``painter`` or on a thread: name -> future PNG
    bytes."""
    from somcli.report import painter as helper

    rows, labels = shown()
    differences = None if report is None else steps.differences_of(report.clusters)
    clusters = helper.cluster_request(rows, labels, centers, data.described.roles.features,
                                      sizes, "k-means", differences, only=only)
    selection = report.k_selection.to_dict() if report is not None and with_k and \
        report.k_selection is not None else None
    return helper.pictures([clusters, *helper.k_request(selection)], painter,
                           last=report is not None)


SELECT_ROWS = 5_000  # -k auto compares the candidates on a sample of this many fit rows


def _choose_k(be, data, opts, distinct, progress) -> tuple[int, KSelection]:
    """-k auto: every candidate fitted and refitted on a sample of the fit rows
    (:func:`somcli.algorithms.choose.select_k`); the chosen k is then fitted on all rows."""
    sample, what = steps.observed_sample(be, data, SELECT_ROWS, opts.seed, choose.FEW_ROWS)
    scored = choose.row_space(sample)  # (a wide sample in fewer columns, the same distances)

    def labels(k):
        fit = km.fit(scored, k, seed=opts.seed, n_init=opts.n_init)
        return km.assign(scored, fit.centers)[0]

    def refit(k, rows):
        fit = km.fit(scored[rows], k, seed=opts.seed, n_init=3)
        return km.assign(scored[rows], fit.centers)[0]

    ks = list(range(2, min(opts.k_max, distinct, len(sample) - 1) + 1))
    k, evidence = choose.select_k(scored, ks, labels, refit, opts.seed, progress)
    k, verdict, why, gapless = choose.clearest(sample, k, evidence, opts.seed)
    chosen = KSelection(**choose.selection(k, evidence, len(sample), what, why, gapless),
                        structure=verdict)
    chosen.alternatives = structure.offered(chosen.alternatives, chosen.structure)
    return k, chosen


def _columns(assigned) -> dict:
    labels, dist = assigned
    return {"cluster": int_column(labels, labels >= 0), "distance": dist}


def _scores(be: Backend, data: Data, labels: list, centers: np.ndarray, seed: int) -> Scores:
    """Internal scores on the fit rows (the merged rows when --dedupe merged some)."""
    if data.fit_is_usable:
        return steps.internal(be, data.blocks, labels, seed)
    rows = be.map(B.as_block, data.fit)
    fit_labels = be.map(B.first, be.map(B.assign, rows, centers=centers, threads=be.threads,
                                          search=be.search))
    return steps.internal(be, rows, fit_labels, seed)


def kmeans_model(d: Described, seed, params, centers, sizes, quality, report):
    from somcli.models.model import build

    k = len(centers)
    assigned = max(int(sizes.sum()), 1)
    algorithm = {"name": "kmeans", "clusters": k, "params": params,
                 "quality": {"distance_mean": quality if sizes.sum() else None}}
    arrays = {"centroids": np.asarray(centers, np.float64), "cluster_shares": sizes / assigned}
    return build(d, "kmeans", algorithm, arrays, report.metrics.to_dict(), seed)


def centroid_table(d: Described, centers: np.ndarray, sizes: np.ndarray) -> pd.DataFrame:
    """One row per cluster: size, centroid in original units, then in scaled units."""
    feats = d.roles.features
    original = d.prep.to_original(centers)
    columns = {"cluster": np.arange(len(centers)), "size": sizes}
    names = feature_labels(feats, columns)
    columns |= {f: original[:, j] for j, f in enumerate(names)}
    columns |= {f"{f} [scaled]": centers[:, j] for j, f in enumerate(names)}
    return pd.DataFrame(columns)


# ---------------------------------------------------------------- somcli assign

def _assign(be: Backend, data: Data, model):
    centers = model.arrays["centroids"]
    assigned = be.map(B.assign, data.blocks, centers=centers, threads=be.threads,
                      search=be.search)
    labels = be.map(B.first, assigned)
    n = int(steps.sizes(be, labels, len(centers)).sum())
    quality = sum(be.reduce(B.distance_sum, assigned)) / n if n else None
    return [assigned], labels, quality, None


def _assign_pictures(be: Backend, data: Data, model, per_block, report, sizes, scale) -> dict:
    """The rows around the saved centres: name -> future PNG bytes."""
    from somcli.report import cluster_plots, figure

    centres = model.arrays["centroids"]
    rows = steps.fit_rows_sample(be, data, cluster_plots.MAX_POINTS, 0)
    labels = km.assign(rows, centres)[0]  # a sample, here (whichever backend holds the rows)
    return figure.start(cluster_plots.jobs(rows, labels, centres, data.described.roles.features,
                                          sizes, "k-means (rows assigned)",
                                          differences=steps.differences_of(report.clusters)))


ASSIGNER = Assigner(_assign, lambda model, data: _columns, _assign_pictures, "distance_mean",
                    "mean distance to centroid", "mean distance")


# ---------------------------------------------------------------- somcli.cluster

DTYPE = "float64"  # the rows' precision unless dtype= is given


def from_options(options: dict, k, plots: bool, exe, build) -> dict:
    """``somcli.cluster(method="kmeans", k=..., **options)`` -> :func:`run`'s settings;
    ``build(cls, options, **given)`` takes ``cls``'s fields out of ``options``."""
    return {"opts": build(KMeansOptions, options, k="auto" if k is None else k),
            "plots": plots}
