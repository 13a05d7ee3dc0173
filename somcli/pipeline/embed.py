"""somcli embed: read -> clean (gaps kept, features to [0, 1]) -> an RBM or autoencoder
trained on the observed cells -> the rows' codes, every cell reconstructed (the gaps filled)
and, with ``top``, each row's best unseen items.

The rows are brought into this process (``be.gather``): the embedding trains here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from somcli.algorithms import blocks as B
from somcli.algorithms.embedding import METHODS, weights
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
    """An embedding trained on a table's observed cells, and what it gives every row."""

    data: object  # the Data it was trained on (gaps kept, features in [0, 1])
    weights: object  # the method's Weights (algorithms/embedding.py)
    codes: np.ndarray  # n x dim
    reconstruction: np.ndarray  # n x d, in [0, 1]
    observed: np.ndarray  # n x d bool
    fill: np.ndarray  # the column means the codes take for gaps
    section: dict  # the report's embedding section
    seconds: float

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
    the observed cells, a held-out share kept aside to measure."""
    data = be.load(read, cols, CLEANING, dtype=np.float64, allow_mask=True, progress=progress,
                   stdin=stdin)
    X, M, V = observed(be, data)
    d, feats = X.shape[1], data.described.roles.features
    given_dim = opts.dim is not None
    if opts.dim is None:  # the default, fitted to the table: no more units than columns
        opts = replace(opts, dim=min(DEFAULT_DIM, d))
        if opts.dim < DEFAULT_DIM:
            progress(f"code size {opts.dim}: the {d} feature columns (default {DEFAULT_DIM})")
    elif opts.dim > d:
        raise DataError(f"{opts.spelled(opts.dim)}: more than the {d} feature column(s) to "
                        "learn from", f"use {opts.spelled(d)} or fewer")
    train_mask, held = _hold_out(M, opts.holdout, opts.seed)
    method = METHODS[opts.method]
    rate, epochs = method.RATE, method.EPOCHS
    steps = -(-len(V) // opts.batch)  # gradient steps per epoch
    rate = opts.rate or rate
    epochs = opts.epochs or min(MAX_EPOCHS, max(epochs, -(-MIN_STEPS // steps)))
    every = max(1, epochs // CURVE_POINTS)
    progress(f"training the {opts.method} ({epochs} epochs)")
    t_fit = time.perf_counter()
    done = [0]

    def check(model) -> dict | None:
        done[0] += 1
        if done[0] % every and done[0] != epochs:
            return None
        R = method.reconstruct(model, V, train_mask)
        return {"epoch": done[0], "train_rmse": _rmse(R, V, train_mask),
                "holdout_rmse": _rmse(R, V, held)}

    model, curve = method.train(V, train_mask, opts.dim, epochs, rate, opts.batch, opts.seed,
                                check)
    curve = [c for c in curve if c is not None]
    seconds = time.perf_counter() - t_fit
    means = (V * train_mask).sum(0) / np.maximum(train_mask.sum(0), 1)
    H = method.code(model, V, M, means)  # every observed cell speaks for its row now
    R = method.reconstruct(model, V, M)
    binary = [bool(np.isin(X[M[:, j], j], (0.0, 1.0)).all()) for j in range(d)]
    section = {
        "method": opts.method, "dim": opts.dim, "epochs": epochs, "learning_rate": rate,
        "dim_rule": ("given" if given_dim else
                     f"the default {DEFAULT_DIM}, at most the {d} feature columns"),
        "batch_rows": opts.batch, "holdout_share": opts.holdout,
        "observed_cells": int(M.sum()), "missing_cells": int((~M).sum()),
        "holdout_cells": int(held.sum()),
        "binary_features": [f for f, b in zip(feats, binary, strict=True) if b],
        "scaling": "every feature min-max scaled to [0, 1] (binary 0/1 columns unchanged); "
                   "gaps are left out of training, never filled",
        "code": "e0.. are the hidden units' net input (log-odds) with each gap at its "
                "column's mean, so a row's code does not depend on how many cells it has",
        "curve": curve,
        "holdout_rmse": curve[-1]["holdout_rmse"] if curve else None,
        "holdout_rmse_item_means": _rmse(np.broadcast_to(means, V.shape), V, held),
        "holdout_accuracy": _accuracy(R, V, held, binary),
        "holdout_accuracy_item_means": _accuracy(np.broadcast_to(means, V.shape), V, held,
                                                 binary),
        "observed_rmse": _rmse(R, V, M),
    }
    return Learned(data, model, H, R, M, means, section, seconds)


def run(be: Backend, read: ReadOptions, cols: ColumnOptions, opts: EmbedOptions,
        progress: Progress = quiet, stdin=None) -> RunResult:
    t0 = time.perf_counter()
    got = learn(be, read, cols, opts, progress, stdin)
    opts = replace(opts, dim=got.section["dim"])
    data, M, R, H = got.data, got.observed, got.reconstruction, got.codes
    ids = pd.concat(be.gather(data.ids), ignore_index=True)
    feats, prep = data.described.roles.features, data.described.prep
    warnings = []
    empty = int((~M.any(axis=1)).sum())
    if empty:
        warnings.append(f"{empty:,} row(s) have no observed feature: their code is the "
                        "model's prior and their reconstruction the same for each")
    params = {"method": opts.method, "dim": opts.dim, "epochs": got.section["epochs"],
              "learning_rate": got.section["learning_rate"], "batch_rows": opts.batch,
              "holdout": opts.holdout, "seed": opts.seed, "top": opts.top} | be.parameters(data)
    report = base_report("embed", data.described, params, warnings)
    report.embedding = got.section
    report.runtime_seconds = {"fit": got.seconds, "total": time.perf_counter() - t0}
    codes = B.frame(ids, {f"e{j}": H[:, j] for j in range(opts.dim)})
    tables = {"reconstruction.csv": _reconstruction(ids, prep.to_original(R), M, feats)}
    if opts.top:
        rec = _recommendations(ids, R, prep.to_original(R), M, feats, opts.top)
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
                     computed=tuple(f"e{j}" for j in range(opts.dim)))


def replay(be: Backend, model, model_path: str, read: ReadOptions, progress: Progress = quiet,
           stdin=None, explicit: frozenset[str] = frozenset()) -> RunResult:
    """New rows through a saved embedding model (``somcli assign``): its cleaning replayed,
    their codes and every cell reconstructed with the stored weights, no training."""
    t0 = time.perf_counter()
    rp = be.replay(model, read, explicit, progress=progress, stdin=stdin)
    data = rp.data
    _, M, V = observed(be, data)
    ids = pd.concat(be.gather(data.ids), ignore_index=True)
    H = codes_of(model.kind, model.arrays, V, M)
    R = METHODS[model.kind].reconstruct(weights(model.kind, model.arrays), V, M)
    feats, prep = data.described.roles.features, data.described.prep
    dim = H.shape[1]
    trained = model.meta["algorithm"]
    section = {"method": model.kind, "dim": dim, "epochs": trained["epochs"], "model": model_path,
               "learning_rate": trained["learning_rate"], "batch_rows": trained["batch_rows"],
               "observed_cells": int(M.sum()), "missing_cells": int((~M).sum()),
               "holdout_cells": 0, "curve": [], "holdout_rmse": None,
               "holdout_rmse_item_means": None, "observed_rmse": _rmse(R, V, M),
               "observed_rmse_training": trained.get("quality", {}).get("observed_rmse")}
    params = {"model": model_path, "method": model.kind, "dim": dim} | be.parameters(data)
    report = base_report("embed", data.described, params, list(rp.warnings))
    report.embedding = section
    report.runtime_seconds = {"total": time.perf_counter() - t0}
    codes = B.frame(ids, {f"e{j}": H[:, j] for j in range(dim)})
    tables = {"reconstruction.csv": _reconstruction(ids, prep.to_original(R), M, feats)}
    return RunResult("embed", codes, report, tables=tables, main_name="embeddings",
                     computed=tuple(f"e{j}" for j in range(dim)))


def observed(be: Backend, data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows brought here (gaps kept, features in [0, 1]): the matrix, which cells are
    observed, and the values with each gap at 0 (what the methods' masked arithmetic reads)."""
    X = np.concatenate([b.X for b in be.gather(data.blocks)])
    M = ~np.isnan(X)
    return X, M, np.clip(np.where(M, X, 0.0), 0.0, 1.0)


def codes_of(kind: str, arrays: dict, V: np.ndarray, M: np.ndarray, prefix: str = ""):
    """Rows' codes from a saved embedding (gaps at the stored column means)."""
    return METHODS[kind].code(weights(kind, arrays, prefix), V, M, arrays[f"{prefix}code_fill"])


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


def _hold_out(M: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The training cells and the held-out ones: ``share`` of the observed cells, drawn
    only from rows that keep at least one observed cell."""
    rng = np.random.default_rng(seed + 1)
    held = M & (rng.random(M.shape) < share)
    alone = (M & ~held).sum(axis=1) == 0
    held[alone] = False
    return M & ~held, held


def _rmse(R, V, mask) -> float | None:
    return float(np.sqrt(np.mean((R - V)[mask] ** 2))) if mask.any() else None


def _accuracy(R, V, mask, binary) -> float | None:
    """Share of held-out 0/1 cells on the right side of 0.5 (binary features only)."""
    cols = np.flatnonzero(binary)
    sub = mask[:, cols]
    if not sub.any():
        return None
    return float(((np.asarray(R)[:, cols] > 0.5) == (V[:, cols] > 0.5))[sub].mean())


def _reconstruction(ids, values, M, feats) -> pd.DataFrame:
    names = np.array(feats, dtype=object)
    filled = [";".join(names[~row]) for row in M]
    labels = feature_labels(feats, [*ids.columns, "filled"])
    columns = {f: values[:, j] for j, f in enumerate(labels)} | {"filled": filled}
    return B.frame(ids, columns)


def _recommendations(ids, R, values, M, feats, top: int) -> pd.DataFrame:
    """Per row, the ``top`` unseen items with the highest reconstructed score (long form:
    one line per row and rank)."""
    score = np.where(M, -np.inf, R)
    best = np.argsort(-score, axis=1, kind="stable")[:, :top]
    rows, ranks = np.nonzero(np.take_along_axis(~M, best, axis=1))
    items = best[rows, ranks]
    out = ids.iloc[rows].reset_index(drop=True)
    out["rank"] = ranks + 1
    out["item"] = np.array(feats, dtype=object)[items]
    out["score"] = values[rows, items]
    return out
