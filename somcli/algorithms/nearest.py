"""Nearest codebook vector for many rows at once, in chunks (bounded memory).

Distances by the GEMM trick: ``argmin_j ||x - w_j||^2 = argmin_j (||w_j||^2 - 2 x.w_j)``,
so ``||x||^2`` is only added back for the distances that are reported.
Rows with NaN are searched over their present components only (masked search).
"""

from __future__ import annotations

import numpy as np

#: Rows per chunk when no memory budget is given: the distance block stays in cache.
DEFAULT_CHUNK = 4096


def chunk_rows(n_units: int, n_features: int, budget_bytes: int | None = None,
               itemsize: int = 8) -> int:
    """Rows per chunk so the chunk's distance block and copy fit the budget."""
    if budget_bytes is None:
        return DEFAULT_CHUNK
    per_row = (2 * n_units + 2 * n_features) * itemsize
    return int(max(256, min(1 << 20, budget_bytes // max(per_row, 1))))


def nearest(X: np.ndarray, W: np.ndarray, *, second: bool = False, chunk: int = DEFAULT_CHUNK
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Index of the nearest row of ``W`` for every row of ``X``, its distance, and
    (with ``second``) the index of the second nearest."""
    n = X.shape[0]
    best = np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=np.float64)
    runner = np.empty(n, dtype=np.int64) if second else None
    w_sq = np.einsum("ij,ij->i", W, W)
    for start in range(0, n, chunk):
        block = X[start:start + chunk]
        stop = start + len(block)
        if np.isnan(block).any():
            b, dd, r = _masked(block, W, second)
        else:
            b, dd, r = _dense(block, W, w_sq, second)
        best[start:stop] = b
        dist[start:stop] = dd
        if second:
            runner[start:stop] = r
    return best, dist, runner


def _dense(block, W, w_sq, second):
    scores = block @ W.T
    scores *= -2.0
    scores += w_sq
    x_sq = np.einsum("ij,ij->i", block, block)
    return _pick(scores, x_sq, second)


def _masked(block, W, second):
    """Distances over the present components of each row (SOM Toolbox style)."""
    present = ~np.isnan(block)
    filled = np.where(present, block, 0.0)
    # ||x_p - w_p||^2 = ||x_p||^2 - 2 x_p.w + sum over present p of w^2
    scores = present.astype(W.dtype) @ (W * W).T
    scores -= 2.0 * (filled @ W.T)
    x_sq = np.einsum("ij,ij->i", filled, filled)
    b, d, r = _pick(scores, x_sq, second)
    d[~present.any(axis=1)] = np.nan
    return b, d, r


def _pick(scores, x_sq, second):
    """Best (first index on ties) and, on request, second best column of each row."""
    rows = np.arange(scores.shape[0])
    b = np.argmin(scores, axis=1)
    d = np.sqrt(np.maximum(scores[rows, b] + x_sq, 0.0)).astype(np.float64)
    r = None
    if second:
        if scores.shape[1] > 1:
            scores[rows, b] = np.inf
            r = np.argmin(scores, axis=1)
        else:
            r = b.copy()
    return b, d, r
