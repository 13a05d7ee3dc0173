"""somcli som: read -> clean -> train a SOM -> clusters of units -> U-matrix, outliers, plots.

Written once over a :class:`~somcli.backends.base.Backend`; what is made of the trained
map (evaluation, outliers, tables, model) is in :mod:`somcli.pipeline.som_outputs`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from somcli.algorithms import blocks as B
from somcli.algorithms import som as batch
from somcli.algorithms.grid import Grid, radius_schedule
from somcli.algorithms.nearest import score_rows, task_rows
from somcli.algorithms.outliers import OutlierRule
from somcli.backends.base import Backend, Data, Progress, quiet
from somcli.config import (
    CleanOptions,
    ColumnOptions,
    Execution,
    ReadOptions,
    SomOptions,
    UnitOptions,
)
from somcli.errors import UsageError
from somcli.pipeline.common import Assigner, RunResult, check_clusterable
from somcli.pipeline.som_outputs import Trained, outputs
from somcli.runtime import interrupts, memory

RESUME_EPOCHS = 5


@dataclass(frozen=True)
class Trainer:
    """One way of training a map: its default epochs, the name the report gives it,
    and ``train(be, data, W0, grid, opts, radii, schedule, chunk, tick) -> codebook``."""

    epochs: int
    name: str
    train: Callable
    masks_gaps: bool  # can train on rows with gaps (--missing mask)
    neighborhoods: tuple[str, ...]  # the neighbourhood functions it can use
    learning_rate: bool  # --learning-rate means something to it


def schedule(opts: SomOptions, rows: int, cols: int) -> tuple[int, float, float]:
    """(epochs, start radius, end radius): from the options, else from the map size."""
    epochs = opts.epochs or TRAINERS[opts.train].epochs
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


def run(be: Backend, read: ReadOptions, cols: ColumnOptions, cleaning: CleanOptions,
        opts: SomOptions, units: UnitOptions, exe: Execution, progress: Progress = quiet,
        stdin=None, plots: str | None = None, start: Start | None = None, painter=None,
        data: Data | None = None) -> RunResult:
    """Train and evaluate a map; ``plots`` (the pictures' colour scale, see
    :mod:`somcli.report.colour_scale`; None: no pictures) starts rendering the pictures
    (for ``write``), by the helper process ``painter`` when given (:mod:`somcli.report.painter`);
    ``start`` continues from a saved codebook (``data`` then holds replayed rows)."""
    t0 = time.perf_counter()
    _check_options(opts, units, cleaning)
    trainer = TRAINERS[opts.train]
    data = data or be.load(read, cols, cleaning, dtype=exe.float_type,
                           allow_mask=trainer.masks_gaps, progress=progress, stdin=stdin)
    if painter is not None:
        painter.sized(data.described.rows)
    t_read = time.perf_counter()
    check_clusterable(data.n_fit, units.k_given, lambda: be.distinct_rows(data, units.k_given or 0),
                      "clusters of units")
    pca = cache(lambda: _pca(be, data))
    warnings: list[str] = []
    grid, size_rule = _grid(data.n_fit, opts, pca, warnings)
    if start is not None:
        size_rule = f"the grid of the resumed model {start.path}"
    epochs, sigma, sigma_end = schedule(opts, grid.rows, grid.cols)
    radii = radius_schedule(sigma, sigma_end, epochs, opts.decay)
    width = len(data.described.roles.features)
    chunk = task_rows(width)
    here = data.rows_here
    memory.check(memory.som_estimate(here, width, grid.units,
                                     np.dtype(exe.float_type).itemsize,
                                     be.threads if here else 0, score_rows(grid.units))
                 | be.device_memory(data, grid.units),
                 read.memory_limit, f"a {grid.rows}x{grid.cols} map")
    t_fit = time.perf_counter()
    W0 = start.codebook if start is not None else _initial(be, data, grid, opts, pca)

    def tick(epoch, radius, *rest):
        interrupts.check()
        progress(f"training: epoch {epoch + 1}/{epochs}, radius {radius:.2f}")

    W = trainer.train(be, data, np.asarray(W0, np.float64), grid, opts, radii,
                      (epochs, sigma, sigma_end), chunk, tick)
    fit_seconds = time.perf_counter() - t_fit
    memory.release()
    progress("evaluating the map")
    trained = Trained(grid, W, size_rule, trainer.name, epochs, sigma, sigma_end, chunk,
                      warnings, start, trainer.learning_rate,
                      {"read": t_read - t0} | data.described.timings | {"fit": fit_seconds})
    result = outputs(be, data, trained, opts, units, exe, cleaning, plots, painter, progress)
    result.report.runtime_seconds["total"] = time.perf_counter() - t0
    return result


def resume(be: Backend, model_path: str, read: ReadOptions, opts: SomOptions,
           units: UnitOptions, exe: Execution, progress: Progress = quiet, stdin=None,
           plots: str | None = None, explicit=frozenset()) -> RunResult:
    """Continue training a saved map on new rows: the stored cleaning is replayed, the grid
    kept, a few epochs at the model's final radius, clusters renumbered to the old ones."""
    from somcli.models.model import Model

    model = Model.load(model_path, read.memory_limit)
    if model.kind != "som":
        raise UsageError(f"--resume {model_path}: a {model.kind} model cannot be resumed as a map")
    if model.meta.get("embedding"):
        raise UsageError(f"--resume {model_path}: a map trained with --embed cannot be resumed "
                         "yet", "train it again with --embed")
    rp = be.replay(model, read, explicit, progress=progress, stdin=stdin)
    g, params = model.meta["grid"], model.meta["algorithm"].get("params") or {}
    end = float(params.get("sigma_end") or 1.0)
    second = bool(model.meta["algorithm"].get("second_level"))
    opts = replace(opts, rows=g["rows"], cols=g["cols"], topology=g["topology"],
                   epochs=opts.epochs or RESUME_EPOCHS,
                   sigma=opts.sigma if opts.sigma is not None else end,
                   sigma_end=opts.sigma_end if opts.sigma_end is not None else end,
                   neighborhood=params.get("neighborhood", opts.neighborhood))
    units = replace(units, k=model.clusters if second else "units",
                    umatrix_stat=params.get("umatrix_stat", units.umatrix_stat))
    exe = replace(exe, dtype=params.get("dtype", exe.dtype))
    cleaning = CleanOptions(missing=model.meta["cleaning"]["missing"],
                            scale=model.meta["cleaning"]["scale"])
    start = Start(model_path, model.arrays["codebook"], model.arrays["unit_cluster"],
                  model.arrays["hits"], second)
    result = run(be, read, ColumnOptions(), cleaning, opts, units, exe, progress, plots=plots,
                 start=start, data=rp.data)
    result.report.warnings[:0] = rp.warnings
    result.report.input.notes += rp.notes
    return result


def _check_options(opts: SomOptions, units: UnitOptions, cleaning: CleanOptions) -> None:
    if cleaning.missing == "mask" and not TRAINERS[opts.train].masks_gaps:
        raise UsageError("--missing mask needs --train batch (MiniSom cannot skip components)")
    if opts.neighborhood not in TRAINERS[opts.train].neighborhoods:
        raise UsageError(f"--neighborhood {opts.neighborhood} has negative weights and works "
                         "only with --train online")
    if units.outliers is not None and not 0 < units.outliers < 1:
        raise UsageError(f"--outliers {units.outliers}: give a quantile between 0 and 1")
    if opts.sigma is not None and opts.sigma <= 0 or opts.sigma_end is not None and opts.sigma_end <= 0:
        raise UsageError("--sigma and --sigma-end must be positive")


def _pca(be: Backend, data: Data):
    """(mean, eigenvalues, eigenvectors) of the fit rows (gaps count as the mean)."""
    parts = be.reduce(B.moments, data.fit)
    sums = np.sum([p[0] for p in parts], axis=0)
    present = np.sum([p[1] for p in parts], axis=0)
    mean = np.divide(sums, present, out=np.zeros_like(sums), where=present > 0)
    rows = be.here(data.fit) if data.n_fit < len(mean) else None
    if rows is not None:  # wider than long: from the rows, no d x d covariance
        eig, vec = batch.axes_of_rows(rows, mean)
    else:
        scatter = np.sum(be.reduce(B.scatter, data.fit, mean=mean), axis=0)
        eig, vec = batch.axes(scatter, data.n_fit)
    return mean, eig, vec


def _grid(n: int, opts: SomOptions, pca, warnings) -> tuple[Grid, str]:
    if opts.rows is not None:
        rule = "given with --map"
        rows, cols = opts.rows, opts.cols
        if rows * cols > n:
            warnings.append(f"the map has {rows * cols:,} units for {n:,} rows: many units will "
                            "hold no row (dead units); a smaller --map is usually better")
    else:
        size = batch.auto_size(None, opts.topology, opts.max_units, eig=pca()[1], n=n)
        rows, cols, rule = size.rows, size.cols, size.rule
    return Grid(rows, cols, opts.topology), rule


def _initial(be: Backend, data: Data, grid: Grid, opts: SomOptions, pca) -> np.ndarray:
    """The starting codebook: the plane of the two main components, or rows drawn with
    --seed (gaps filled with the column mean)."""
    if opts.init == "pca":  # (one of two: a table would hide more than it shows)
        return batch.pca_init(None, grid, pca=pca())
    n = data.n_fit
    picks = np.random.default_rng(opts.seed).choice(n, size=grid.units, replace=n < grid.units)
    W0 = be.take(data.fit, data.fit_counts, picks, B.take).astype(np.float64)
    return np.where(np.isnan(W0), pca()[0], W0)


def _train_batch(be, data, W0, grid, opts, radii, sched, chunk, tick) -> np.ndarray:
    """Each epoch's partial sums over every block (on the backend's device and threads),
    added in block order, then the update (:mod:`somcli.algorithms.som`)."""
    with be.placed(data.fit, len(W0)) as rows, be.workers() as pool:
        def sums(W):
            # the codebook travels inside the tasks (not scattered): a task whose worker
            # dies can then be rerun elsewhere from its lineage
            parts = be.reduce(batch.epoch_sums, rows, W=W, chunk=chunk, threads=be.threads,
                              pool=pool)
            return batch.add_partials(parts, W.shape)

        W, _ = batch.train(None, W0, grid, radii, opts.neighborhood, on_epoch=tick,
                           sums_fn=sums)
    return W


def _train_online(be, data, W0, grid, opts, radii, sched, chunk, tick) -> np.ndarray:
    from somcli.algorithms import online  # MiniSom: imported only when used

    X = be.here(data.fit)
    if X is None:
        raise UsageError(f"--engine {be.name} trains in batch only (--train online is "
                         "MiniSom's row-by-row loop, on rows in this process)")
    epochs, sigma, sigma_end = sched
    return online.train(X, W0, grid, epochs=epochs, sigma=sigma,
                        sigma_end=sigma_end, decay=opts.decay,
                        learning_rate=opts.learning_rate, kind=opts.neighborhood,
                        seed=opts.seed, on_epoch=tick)


#: --train -> how the map is trained; a new trainer adds one entry
TRAINERS: dict[str, Trainer] = {
    "batch": Trainer(20, "batch (somcli engine)", _train_batch, masks_gaps=True,
                     neighborhoods=("gaussian", "bubble", "triangle"), learning_rate=False),
    "online": Trainer(10, "online (MiniSom)", _train_online, masks_gaps=False,
                      neighborhoods=("gaussian", "bubble", "triangle", "mexican_hat"),
                      learning_rate=True),
}


# ---------------------------------------------------------------- somcli assign

def _assign(be: Backend, data: Data, model):
    grid, rule = _grid_of(model), OutlierRule.from_model(model.meta["outliers"])
    evs = be.map(B.evaluate, data.blocks, W=model.arrays["codebook"], grid=grid,
                 threads=be.threads, search=be.search)
    labels = be.map(B.unit_labels, evs, unit_cluster=model.arrays["unit_cluster"])
    scores = be.map(B.outlier_scores, evs, rule=rule, U=model.arrays["umatrix"])
    infos = be.reduce(B.info, evs)
    found = sum(i["found"] for i in infos)
    flagged = sum(be.reduce(B.count_above, scores, threshold=rule.threshold))
    quality = sum(i["qe_sum"] for i in infos) / found if found else None
    return [evs, labels, scores], labels, quality, flagged / max(found, 1)


def _assign_columns(model, data: Data):
    from somcli.pipeline.som_outputs import columns_fn

    return columns_fn(_grid_of(model), OutlierRule.from_model(model.meta["outliers"]).threshold,
                      data.dtype)


def _assign_pictures(be: Backend, data: Data, model, per_block, report, sizes, scale) -> dict:
    """The rows on the saved map (its U-matrix and clusters, the rows' hits, names,
    projection and profiles): name -> future PNG bytes."""
    from somcli.pipeline.som_outputs import SomState, map_facts, scored_rows
    from somcli.report import figure
    from somcli.report.plots import jobs

    grid, evs = _grid_of(model), per_block[0]
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
    return figure.start(jobs(facts))


def _grid_of(model) -> Grid:
    g = model.meta["grid"]
    return Grid(g["rows"], g["cols"], g["topology"])


ASSIGNER = Assigner(_assign, _assign_columns, _assign_pictures, "qe_mean", "mean QE", "mean QE")


# ---------------------------------------------------------------- somcli.cluster

DTYPE = "float32"  # the batch engine's precision unless dtype= is given


def from_options(options: dict, k, plots: bool, exe: Execution, build) -> dict:
    """``somcli.cluster(method="som", k=..., map=..., **options)`` -> :func:`run`'s
    settings; ``build(cls, options, **given)`` takes ``cls``'s fields out of ``options``."""
    opts = build(SomOptions, options, **_map_size(options.pop("map", None)))
    units = build(UnitOptions, options, k="units" if k is None else k)
    return {"opts": opts, "units": units, "exe": exe, "plots": "auto" if plots else None}


def _map_size(size) -> dict:
    """map="12x10" or (12, 10); None or "auto": the SOM Toolbox rule."""
    if size is None or size == "auto":
        return {}
    if isinstance(size, str):
        import re

        m = re.fullmatch(r"\s*(\d+)\s*[xX*,]\s*(\d+)\s*", size)
        size = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    rows, cols = (int(v) for v in size)
    if rows < 1 or cols < 1 or rows * cols < 2:
        raise UsageError(f"map={size!r}: give 'ROWSxCOLS' like '10x8' (at least 2 units)")
    return {"rows": rows, "cols": cols}
