"""somcli embed: read -> clean (gaps kept, features to [0, 1]) -> an RBM or autoencoder
trained on the observed cells -> the rows' codes, every cell reconstructed (the gaps filled)
and, with ``top``, each row's best unseen items.

The gradient steps run in this process on minibatches fetched from the backend; the cells,
the training curve's errors, the codes and the reconstruction stay block by block where the
rows are (a Dask cluster's workers write the codes and reconstruction.csv).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from somcli.algorithms import embed_cells as EC
from somcli.algorithms.embedding import METHODS, weights
from somcli.algorithms.minibatch import SUPERBATCH, Source
from somcli.backends.base import Backend, Progress, feature_labels, quiet
from somcli.config import CleanOptions, ColumnOptions, EmbedMethod, ReadOptions
from somcli.errors import DataError
from somcli.models.model import build
from somcli.pipeline.common import RunResult, base_report

CLEANING = CleanOptions(missing="mask", scale="minmax")  # gaps stay gaps; units in [0, 1]
MIN_STEPS = 1500  # default epochs give a small table at least this many gradient steps
MAX_EPOCHS = 5000
CURVE_POINTS = 50  # epochs the report's training curve holds, at most


DEFAULT_DIM = 8  # hidden units of a code, unless --dim (or --embed METHOD:K) says otherwise


@dataclass(frozen=True)
class EmbedOptions:
    method: EmbedMethod = "rbm"
    dim: int | None = None  # None: DEFAULT_DIM, or the feature columns when fewer
    epochs: int | None = None  # None: the method's default
    rate: float | None = None
    batch: int = 64
    holdout: float = 0.1  # share of the observed cells kept out of training, to measure
    top: int = 0  # recommendations per row (0: none)
    seed: int = 0
    flag: str = "--dim {k}"  # how the command at hand spells the size (--embed rbm:{k})

    def spelled(self, k: int) -> str:
        return self.flag.format(k=k)


@dataclass
class Learned:
    """An embedding trained on a table's observed cells, and what it gives every row
    (per-block handles, kept where the rows are)."""

    data: object  # the Data it was trained on (gaps kept, features in [0, 1])
    weights: object  # the method's Weights (algorithms/embedding.py)
    cells: list  # handles of embed_cells.Cells
    codes: list  # handles of each block's codes (rows x dim)
    reconstruction: list  # handles of each block's cells reconstructed, in [0, 1]
    fill: np.ndarray  # the column means the codes take for gaps
    section: dict  # the report's embedding section
    seconds: float
    empty_rows: int  # rows without an observed cell

    def algorithm(self) -> dict:
        """What a saved model says of the embedding."""
        s = self.section
        return {"name": s["method"], "dim": s["dim"], "epochs": s["epochs"],
                "learning_rate": s["learning_rate"], "batch_rows": s["batch_rows"],
                "quality": {"holdout_rmse": s["holdout_rmse"],
                            "observed_rmse": s["observed_rmse"]}}

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        return {f"{prefix}code_fill": self.fill,
                **{prefix + k: np.asarray(v, dtype=np.float64)
                   for k, v in vars(self.weights).items()}}


def learn(be: Backend, read: ReadOptions, cols: ColumnOptions, opts: EmbedOptions,
          progress: Progress = quiet, stdin=None) -> Learned:
    """Read and clean for an embedding (gaps kept, features to [0, 1]), then train it on
    the observed cells, a held-out share kept aside to measure. The gradient steps run
    here on minibatches fetched from wherever the rows are (:mod:`somcli.algorithms.minibatch`);
    the curve, the codes and the reconstruction are computed block by block there."""
    data = be.load(read, cols, CLEANING, dtype=np.float64, allow_mask=True, progress=progress,
                   stdin=stdin)
    d, feats = len(data.described.roles.features), data.described.roles.features
    given_dim = opts.dim is not None
    if opts.dim is None:  # the default, fitted to the table: no more units than columns
        opts = replace(opts, dim=min(DEFAULT_DIM, d))
        if opts.dim < DEFAULT_DIM:
            progress(f"code size {opts.dim}: the {d} feature columns (default {DEFAULT_DIM})")
    elif opts.dim > d:
        raise DataError(f"{opts.spelled(opts.dim)}: more than the {d} feature column(s) to "
                        "learn from", f"use {opts.spelled(d)} or fewer")
    cells, counts = cells_of(be, data, opts.holdout, opts.seed)
    n = int(counts.sum())
    sums = be.reduce(EC.training_sums, cells)
    value_sums, observed = (np.sum([s[i] for s in sums], axis=0) for i in (0, 1))

    def fetch(positions):
        both = be.take(cells, counts, positions, EC.pick)
        return both[:, :d], both[:, d:].astype(bool)

    here = be.here(data.fit) is not None
    source = Source(n, d, value_sums, observed, fetch, SUPERBATCH * (1 if here else 4))
    method = METHODS[opts.method]
    rate, epochs = method.RATE, method.EPOCHS
    steps = -(-n // opts.batch)  # gradient steps per epoch
    rate = opts.rate or rate
    epochs = opts.epochs or min(MAX_EPOCHS, max(epochs, -(-MIN_STEPS // steps)))
    every = max(1, epochs // CURVE_POINTS)
    progress(f"training the {opts.method} ({epochs} epochs{'' if here else ' ' + be.where})")
    t_fit = time.perf_counter()
    done = [0]

    def check(model) -> dict | None:
        done[0] += 1
        if done[0] % every and done[0] != epochs:
            return None
        s = np.sum(be.reduce(EC.curve_sums, cells, kind=opts.method, weights=model), axis=0)
        return {"epoch": done[0], "train_rmse": _root_mean(s[0], s[1]),
                "holdout_rmse": _root_mean(s[2], s[3])}

    model, curve = method.train_on(source, opts.dim, epochs, rate, opts.batch, opts.seed,
                                   check)
    curve = [c for c in curve if c is not None]
    seconds = time.perf_counter() - t_fit
    means = value_sums / np.maximum(observed, 1)
    H = be.map(EC.codes, cells, kind=opts.method, weights=model, fill=means)
    R = be.map(EC.reconstruction, cells, kind=opts.method, weights=model)
    t = EC.add_summaries(be.reduce(EC.summary, cells, R, means=means))
    binary = t["binary"]
    section = {
        "method": opts.method, "dim": opts.dim, "epochs": epochs, "learning_rate": rate,
        "dim_rule": ("given" if given_dim else
                     f"the default {DEFAULT_DIM}, at most the {d} feature columns"),
        "batch_rows": opts.batch, "holdout_share": opts.holdout,
        "observed_cells": t["observed"], "missing_cells": t["missing"],
        "holdout_cells": t["held"],
        "binary_features": [f for f, b in zip(feats, binary, strict=True) if b],
        "scaling": "every feature min-max scaled to [0, 1] (binary 0/1 columns unchanged); "
                   "gaps are left out of training, never filled",
        "code": "e0.. are the hidden units' net input (log-odds) with each gap at its "
                "column's mean, so a row's code does not depend on how many cells it has",
        "curve": curve,
        "holdout_rmse": curve[-1]["holdout_rmse"] if curve else None,
        "holdout_rmse_item_means": _root_mean(t["held_sq_means"], t["held"]),
        "holdout_accuracy": _share(t["right"][binary], t["held_per_column"][binary]),
        "holdout_accuracy_item_means": _share(t["right_means"][binary],
                                              t["held_per_column"][binary]),
        "observed_rmse": _root_mean(t["observed_sq"], t["observed"]),
    }
    return Learned(data, model, cells, H, R, means, section, seconds, t["empty_rows"])


def cells_of(be: Backend, data, holdout: float, seed: int) -> tuple[list, np.ndarray]:
    """Each block's cells (:mod:`somcli.algorithms.embed_cells`) and its rows."""
    counts = np.array(be.reduce(EC.block_rows, data.blocks), dtype=np.int64)
    firsts = [int(x) for x in np.concatenate([[0], np.cumsum(counts)[:-1]])]
    return be.map(EC.cells, data.blocks, firsts, holdout=holdout, seed=seed), counts


def _root_mean(total: float, count: float) -> float | None:
    return float(np.sqrt(total / count)) if count else None


def _share(right: np.ndarray, count: np.ndarray) -> float | None:
    return float(right.sum() / count.sum()) if count.sum() else None


def run(be: Backend, read: ReadOptions, cols: ColumnOptions, opts: EmbedOptions,
        progress: Progress = quiet, stdin=None) -> RunResult:
    t0 = time.perf_counter()
    got = learn(be, read, cols, opts, progress, stdin)
    opts = replace(opts, dim=got.section["dim"])
    data = got.data
    feats, prep = data.described.roles.features, data.described.prep
    warnings = []
    if got.empty_rows:
        warnings.append(f"{got.empty_rows:,} row(s) have no observed feature: their code is the "
                        "model's prior and their reconstruction the same for each")
    params = {"method": opts.method, "dim": opts.dim, "epochs": got.section["epochs"],
              "learning_rate": got.section["learning_rate"], "batch_rows": opts.batch,
              "holdout": opts.holdout, "seed": opts.seed, "top": opts.top} | be.parameters(data)
    report = base_report("embed", data.described, params, warnings)
    report.embedding = got.section
    report.runtime_seconds = {"fit": got.seconds, "total": time.perf_counter() - t0}
    codes, parts = be.rows_out(data, _code_columns, got.codes)
    tables, table_parts = _reconstruction(be, data, got.reconstruction, got.cells)
    if opts.top:
        rec = pd.concat(be.reduce(EC.recommendations, data.ids, got.reconstruction, got.cells,
                                  prep=prep, feats=feats, top=opts.top), ignore_index=True)
        tables["recommendations.csv"] = rec
        name = next((c for c in rec.columns if c not in ("line", "rank", "item", "score")),
                    "line")
        report.embedding["recommendations"] = {
            "top": opts.top, "file": "recommendations.csv", "rows": len(rec),
            "first": [{"row": str(r[name]), "rank": int(r["rank"]), "item": str(r["item"]),
                       "score": float(r["score"])} for _, r in rec.head(5).iterrows()]}
    report.warnings += _fit_warnings(got.section)
    algorithm = got.algorithm() | {"clusters": 0}
    saved = build(replace(data.described, fingerprint=be.fingerprint(data)), opts.method,
                  algorithm, got.arrays(), None, opts.seed)
    return RunResult("embed", codes, report, tables=tables, model=saved, main_name="embeddings",
                     computed=tuple(f"e{j}" for j in range(opts.dim)), parts=parts,
                     table_parts=table_parts)


def replay(be: Backend, model, model_path: str, read: ReadOptions, progress: Progress = quiet,
           stdin=None, explicit: frozenset[str] = frozenset()) -> RunResult:
    """New rows through a saved embedding model (``somcli assign``): its cleaning replayed,
    their codes and every cell reconstructed with the stored weights, no training."""
    t0 = time.perf_counter()
    rp = be.replay(model, read, explicit, progress=progress, stdin=stdin)
    data = rp.data
    cells, _ = cells_of(be, data, 0.0, 0)
    kind, w = model.kind, weights(model.kind, model.arrays)
    H = be.map(EC.codes, cells, kind=kind, weights=w, fill=model.arrays["code_fill"])
    R = be.map(EC.reconstruction, cells, kind=kind, weights=w)
    t = EC.add_summaries(be.reduce(EC.summary, cells, R, means=model.arrays["code_fill"]))
    trained = model.meta["algorithm"]
    dim = int(trained["dim"])
    section = {"method": kind, "dim": dim, "epochs": trained["epochs"], "model": model_path,
               "learning_rate": trained["learning_rate"], "batch_rows": trained["batch_rows"],
               "observed_cells": t["observed"], "missing_cells": t["missing"],
               "holdout_cells": 0, "curve": [], "holdout_rmse": None,
               "holdout_rmse_item_means": None,
               "observed_rmse": _root_mean(t["observed_sq"], t["observed"]),
               "observed_rmse_training": trained.get("quality", {}).get("observed_rmse")}
    params = {"model": model_path, "method": kind, "dim": dim} | be.parameters(data)
    report = base_report("embed", data.described, params, list(rp.warnings))
    report.embedding = section
    report.runtime_seconds = {"total": time.perf_counter() - t0}
    codes, parts = be.rows_out(data, _code_columns, H)
    tables, table_parts = _reconstruction(be, data, R, cells)
    return RunResult("embed", codes, report, tables=tables, main_name="embeddings",
                     computed=tuple(f"e{j}" for j in range(dim)), parts=parts,
                     table_parts=table_parts)


def _code_columns(H: np.ndarray) -> dict:
    return {f"e{j}": H[:, j] for j in range(H.shape[1])}


def _reconstruction(be: Backend, data, R: list, cells: list) -> tuple[dict, dict]:
    """reconstruction.csv: ({name: table}, {}) when the rows are here, else ({}, {name:
    parts}) written by the workers."""
    feats, prep = data.described.roles.features, data.described.prep
    first = be.gather(data.ids[:1])[0]
    labels = feature_labels(feats, [*first.columns, "filled"])
    table, parts = be.rows_out(data, EC.reconstruction_columns(labels, feats, prep), R, cells)
    name = "reconstruction.csv"
    return ({name: table}, {}) if parts is None else ({}, {name: parts})


def _fit_warnings(section: dict) -> list[str]:
    """What a reader must know about the fit: a held-out error no better than each
    column's mean, and a curve whose held-out error rose well past its lowest point."""
    out = []
    held, means = section.get("holdout_rmse"), section.get("holdout_rmse_item_means")
    if held is not None and means is not None and held > means:
        out.append(f"the held-out error ({held:.3g}) is worse than predicting each column's "
                   f"mean ({means:.3g}): the codes do not generalise to unseen cells; try a "
                   "smaller --dim, fewer --epochs or more rows")
    curve = [c for c in section.get("curve") or [] if c.get("holdout_rmse") is not None]
    if len(curve) >= 3:
        best = min(curve, key=lambda c: c["holdout_rmse"])
        last = curve[-1]["holdout_rmse"]
        if best is not curve[-1] and last > 1.1 * best["holdout_rmse"]:
            out.append(f"the held-out error was lowest at epoch {best['epoch']:,} "
                       f"({best['holdout_rmse']:.3g}) and rose to {last:.3g} by the end: the "
                       f"model overfits; try --epochs {best['epoch']}")
    return out


