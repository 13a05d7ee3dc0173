"""Nearest codebook vector for many rows at once, in chunks (bounded memory).

Distances by the GEMM trick: ``argmin_j ||x - w_j||^2 = argmin_j (||w_j||^2 - 2 x.w_j)``,
so ``||x||^2`` is only added back for the distances that are reported.
Rows with NaN are searched over their present components only (masked search).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Rows per chunk when no memory budget is given: the distance block stays in cache.
DEFAULT_CHUNK = 4096
_THREAD_ENV = ("SOMCLI_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def default_threads() -> int:
    """Worker threads: the first of SOMCLI_THREADS / OMP / OpenBLAS / MKL thread settings,
    else the CPUs this process may use."""
    for name in _THREAD_ENV:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def map_chunks(fn: Callable[[int], object], n: int, chunk: int, threads: int = 1) -> list:
    """``[fn(start) for start in range(0, n, chunk)]``, on ``threads`` threads.

    Each thread runs its own chunk with single-threaded BLAS (measured faster on
    2 cores than one chunk at a time with threaded BLAS: the argmin is not threaded).
    Results come back in chunk order, so sums over them do not depend on timing.
    """
    starts = range(0, n, chunk)
    if threads <= 1 or len(starts) < 2:
        return [fn(s) for s in starts]
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fn, starts))


def chunk_rows(n_units: int, n_features: int, budget_bytes: int | None = None,
               itemsize: int = 8) -> int:
    """Rows per chunk so the chunk's distance block and copy fit the budget."""
    if budget_bytes is None:
        return DEFAULT_CHUNK
    per_row = (2 * n_units + 2 * n_features) * itemsize
    return int(max(256, min(1 << 20, budget_bytes // max(per_row, 1))))


def nearest(X: np.ndarray, W: np.ndarray, *, second: bool = False, chunk: int = DEFAULT_CHUNK,
            threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Index of the nearest row of ``W`` for every row of ``X``, its distance, and
    (with ``second``) the index of the second nearest."""
    n = X.shape[0]
    best = np.empty(n, dtype=np.int32)
    dist = np.empty(n, dtype=np.float64)
    runner = np.empty(n, dtype=np.int32) if second else None
    W = np.asarray(W, dtype=X.dtype)
    w_sq = np.einsum("ij,ij->i", W, W)

    def one(start):
        block = X[start:start + chunk]
        stop = start + len(block)
        b, dd, r = search(block, W, w_sq, second)
        best[start:stop] = b
        dist[start:stop] = dd
        if second:
            runner[start:stop] = r

    map_chunks(one, n, chunk, threads)
    return best, dist, runner


def search(block: np.ndarray, W: np.ndarray, w_sq: np.ndarray, second: bool = False):
    """(best, distance, second best) for one block; masked when it holds NaN."""
    if np.isnan(block).any():
        return _masked(block, W, second)
    return _dense(block, W, w_sq, second)


def _dense(block, W, w_sq, second):
    scores = block @ (-2.0 * W).T  # -2 folded into the small matrix: one pass less
    scores += w_sq
    return _pick(scores, block, W, second)


def _masked(block, W, second):
    """Distances over the present components of each row (SOM Toolbox style)."""
    present = ~np.isnan(block)
    filled = np.where(present, block, 0.0)
    # ||x_p - w_p||^2 = ||x_p||^2 - 2 x_p.w + sum over present p of w^2
    scores = present.astype(W.dtype) @ (W * W).T
    scores -= 2.0 * (filled @ W.T)
    b, d, r = _pick(scores, filled, W, second, present)
    d[~present.any(axis=1)] = np.nan
    return b, d, r


def _pick(scores, block, W, second, present=None):
    """Best (first index on ties) and, on request, second best unit of each row.

    The distance to the best unit is computed directly, not from the GEMM scores,
    so a row that sits on its unit reports 0, not rounding noise.
    """
    rows = np.arange(scores.shape[0])
    b = np.argmin(scores, axis=1)
    diff = block - W[b]
    if present is not None:
        diff *= present
    d = np.sqrt(np.einsum("ij,ij->i", diff, diff)).astype(np.float64)
    r = None
    if second:
        if scores.shape[1] > 1:
            scores[rows, b] = np.inf
            r = np.argmin(scores, axis=1)
        else:
            r = b.copy()
    return b, d, r
