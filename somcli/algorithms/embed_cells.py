"""The embeddings' per-block work, run on every backend through map and reduce: each
block's cells (values in [0, 1], which are observed, which are held out to measure), the
rows a minibatch fetch picks, the sums the training curve and the report's errors are
made of, and each row's code and reconstruction. Pure functions on numpy arrays.

The held-out cells are drawn from one random stream over the whole table, row after row
(``default_rng(seed + 1)``, advanced to the block's first row), so every engine and every
partitioning holds out the same cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from somcli.algorithms.blocks import as_block
from somcli.algorithms.embedding import METHODS


@dataclass
class Cells:
    V: np.ndarray  # values in [0, 1], gaps at 0
    M: np.ndarray  # observed cells
    train: np.ndarray  # observed and not held out: what the gradient steps see
    held: np.ndarray  # held out, to measure how well unseen cells are predicted
    binary: np.ndarray  # per column: every observed value is 0 or 1


def cells(block, first: int, holdout: float, seed: int) -> Cells:
    """A block's cells; ``first``: its first row's position in the table."""
    X = np.asarray(block.X, dtype=np.float64)
    M = ~np.isnan(X)
    V = np.clip(np.where(M, X, 0.0), 0.0, 1.0)
    rng = np.random.default_rng(seed + 1)
    rng.bit_generator.advance(first * X.shape[1])  # one draw per cell before this block
    held = M & (rng.random(M.shape) < holdout)
    held[(M & ~held).sum(axis=1) == 0] = False  # a row keeps at least one training cell
    binary = np.array([bool(np.isin(X[M[:, j], j], (0.0, 1.0)).all())
                       for j in range(X.shape[1])])
    return Cells(V, M, M & ~held, held, binary)


def pick(c: Cells, positions: np.ndarray) -> np.ndarray:
    """The rows at ``positions`` as a minibatch fetch takes them: the training values
    (gaps and held-out cells at 0) and the training mask, side by side."""
    t = c.train[positions]
    return np.hstack([np.where(t, c.V[positions], 0.0), t])


def training_sums(c: Cells) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the sum of the training values and their count."""
    return (np.where(c.train, c.V, 0.0) * c.train).sum(axis=0), c.train.sum(axis=0)


def curve_sums(c: Cells, kind: str, weights) -> np.ndarray:
    """Squared errors and counts on the training and the held-out cells, the rows
    reconstructed from their training cells (a point of the training curve)."""
    e = (METHODS[kind].reconstruct(weights, c.V, c.train) - c.V) ** 2
    return np.array([e[c.train].sum(), c.train.sum(), e[c.held].sum(), c.held.sum()])


def codes(c: Cells, kind: str, weights, fill: np.ndarray) -> np.ndarray:
    """Each row's code from every observed cell, gaps at ``fill`` (the column means)."""
    return METHODS[kind].code(weights, c.V, c.M, fill)


def reconstruction(c: Cells, kind: str, weights) -> np.ndarray:
    return METHODS[kind].reconstruct(weights, c.V, c.M)


def summary(c: Cells, R: np.ndarray, means: np.ndarray) -> dict:
    """What the report says of a trained embedding, as sums over this block: cells,
    squared errors (held out, by the reconstruction and by the column means, and on every
    observed cell), and per column the held-out 0/1 cells on the right side of 0.5."""
    guess = np.broadcast_to(means, c.V.shape)
    err_means = (guess - c.V) ** 2
    err = (R - c.V) ** 2
    return {
        "observed": int(c.M.sum()), "missing": int((~c.M).sum()), "held": int(c.held.sum()),
        "empty_rows": int((~c.M.any(axis=1)).sum()), "binary": c.binary,
        "held_sq": err[c.held].sum(), "held_sq_means": err_means[c.held].sum(),
        "observed_sq": err[c.M].sum(),
        "right": (((R > 0.5) == (c.V > 0.5)) & c.held).sum(axis=0),
        "right_means": (((guess > 0.5) == (c.V > 0.5)) & c.held).sum(axis=0),
        "held_per_column": c.held.sum(axis=0),
    }


def add_summaries(parts: list[dict]) -> dict:
    out = dict(parts[0])
    for p in parts[1:]:
        out = {k: (out[k] & p[k] if k == "binary" else out[k] + p[k]) for k in out}
    return out


# ---------------------------------------------------------------- outputs, per block

def block_rows(block) -> int:
    return len(block.X)


def reconstruction_columns(labels: list[str], feats: list[str], prep):
    """``columns(R, cells)`` for reconstruction.csv: every cell in the input's units, and
    which features were filled (gaps)."""
    names = np.array(feats, dtype=object)

    def columns(R: np.ndarray, c: Cells) -> dict:
        values = prep.to_original(R)
        filled = [";".join(names[~row]) for row in c.M]
        return {f: values[:, j] for j, f in enumerate(labels)} | {"filled": filled}

    return columns


def recommendations(ids, R: np.ndarray, c: Cells, prep, feats: list[str], top: int):
    """Per row, the ``top`` unseen items with the highest reconstructed score (long form:
    one line per row and rank)."""
    values = prep.to_original(R)
    score = np.where(c.M, -np.inf, R)
    best = np.argsort(-score, axis=1, kind="stable")[:, :top]
    rows_, ranks = np.nonzero(np.take_along_axis(~c.M, best, axis=1))
    items = best[rows_, ranks]
    out = ids.iloc[rows_].reset_index(drop=True)
    out["rank"] = ranks + 1
    out["item"] = np.array(feats, dtype=object)[items]
    out["score"] = values[rows_, items]
    return out


def code_moments(H: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """A block's codes: rows, mean and (population) SD per column."""
    return len(H), H.mean(axis=0), H.std(axis=0)


def add_moments(parts: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD over blocks (one block: its own, as numpy computes them)."""
    if len(parts) == 1:
        return parts[0][1], parts[0][2]
    n = sum(p[0] for p in parts)
    mean = sum(p[0] * p[1] for p in parts) / n
    var = sum(p[0] * (p[2] ** 2 + (p[1] - mean) ** 2) for p in parts) / n
    return mean, np.sqrt(var)


def standardized(H: np.ndarray, center: np.ndarray, scale: np.ndarray, dtype):
    """A block of codes as the rows a clustering runs on (every row usable)."""
    return as_block(((H - center) / scale).astype(dtype))


def matrix(block) -> np.ndarray:
    return block.X
