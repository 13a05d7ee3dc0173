"""Nearest codebook vector for many rows at once, in chunks (bounded memory), on threads.

Distances by the GEMM trick: ``argmin_j ||x - w_j||^2 = argmin_j (||w_j||^2 - 2 x.w_j)``.
The ``||w_j||^2`` term is folded into the product (a column of ones on the rows, a
row of ``||w||^2`` under ``-2 W^T``), so one GEMM gives the scores, written into a
buffer each thread reuses: a fresh 4096 x 400 block per chunk costs page faults that
serialise threads in the kernel (measured: the GEMM did not scale past one thread).
The distance to the winner is then computed directly, so a row on its unit reports 0.
Rows with NaN are searched over their present components only (masked search).

Every function here works on the array module of its :class:`Units` (``units.xp``): NumPy
on the CPU, CuPy on a GPU (:mod:`somcli.algorithms.device`), the same code either way.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor

import numpy as np

from somcli.runtime.parallel import map_chunks

#: Rows per chunk: the score block (chunk x units) stays small enough to reuse in cache.
DEFAULT_CHUNK = 4096
_scratch = threading.local()


class Units:
    """A codebook (or centroids) prepared for the search: the folded GEMM operand.

    In float32 the GEMM's rounding can swap two units whose distances to a row nearly
    tie; the float64 codebook is kept so that such rows are decided in float64 (see
    :func:`_settle`): a float32 search picks the units a float64 search picks.
    """

    def __init__(self, W: np.ndarray, dtype=None, xp=np):
        self.xp = xp
        self.W = xp.ascontiguousarray(xp.asarray(W, dtype=dtype or W.dtype))
        self.w_sq = xp.einsum("ij,ij->i", self.W, self.W)
        self.folded = xp.ascontiguousarray(xp.vstack([-2.0 * self.W.T, self.w_sq[None, :]]))
        self.exact: np.ndarray | None = None
        if self.W.dtype == np.float32:
            self.exact = xp.asarray(W, dtype=np.float64)
            sq = xp.einsum("ij,ij->i", self.exact, self.exact)
            w_norm = float(np.sqrt(float(sq.max()) if len(sq) else 0.0))
            # a bound on the float32 error of a score difference (two scores, each a sum of
            # d + 1 rounded products and the rounded operands): 2 (d + 3) u (2|x||w| + |w|^2),
            # doubled for safety; u = 2^-24
            self._tol = (4.0 * (self.W.shape[1] + 3) * 2.0**-24, w_norm)

    def __len__(self) -> int:
        return len(self.W)


def nearest(X: np.ndarray, W: np.ndarray | Units, *, second: bool = False,
            chunk: int = DEFAULT_CHUNK, threads: int = 1, pool: Executor | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Index of the nearest unit for every row of ``X``, its distance, and (with
    ``second``) the index of the second nearest."""
    units = W if isinstance(W, Units) else Units(W, X.dtype)
    n = X.shape[0]
    best = np.empty(n, dtype=np.int32)
    dist = np.empty(n, dtype=np.float64)
    runner = np.empty(n, dtype=np.int32) if second else None

    def one(start):
        block = X[start:start + chunk]
        stop = start + len(block)
        b, dd, r = search(block, units, second)
        best[start:stop] = b
        dist[start:stop] = dd
        if second:
            runner[start:stop] = r

    map_chunks(one, n, chunk, threads, pool)
    return best, dist, runner


def to_host(array) -> np.ndarray:
    """A device array as a NumPy array (a NumPy array as it is)."""
    return array.get() if hasattr(array, "get") else np.asarray(array)


def search(block: np.ndarray, units: Units, second: bool = False):
    """(best, distance, second best) for one block; masked when it holds NaN."""
    if bool(units.xp.isnan(block).any()):
        return _masked(block, units, second)
    return _dense(block, units, second)


def _buffers(rows: int, units: Units, dtype) -> tuple[np.ndarray, np.ndarray]:
    """This thread's score block and ones-augmented row block, grown when needed."""
    m, d = units.W.shape
    xp = units.xp
    key = (m, d, np.dtype(dtype).str, xp.__name__)
    held = getattr(_scratch, "buffers", None)
    if held is None or held[0] != key or held[1].shape[0] < rows:
        aug = xp.ones((rows, d + 1), dtype=dtype)
        held = (key, xp.empty((rows, m), dtype=dtype), aug)
        _scratch.buffers = held
    return held[1], held[2]


def _dense(block, units: Units, second):
    k, d = block.shape
    scores, aug = _buffers(k, units, units.folded.dtype)
    scores, aug = scores[:k], aug[:k]
    aug[:, :d] = block
    units.xp.matmul(aug, units.folded, out=scores)
    if units.exact is None:
        return _pick(scores, block, units, second)
    return _settle(scores, block, units, second)


def _settle(scores, block, units: Units, second, present=None):
    """``_pick`` for float32 scores, with near ties decided in float64.

    A row is searched again in float64 when its runner-up (or, with ``second``, its
    third) is within the rounding bound of the unit before it: 0.3% of the rows at d = 10,
    4% at d = 50 on the benchmark data. Finding the runner-up costs a second argmin over
    the scores (benchmarks/README.md: a third to a half more per epoch).
    """
    xp = units.xp
    k, m = scores.shape
    flat = scores.reshape(-1)  # (argmin and take on the flat block beat min and fancy indexing)
    at = xp.arange(0, k * m, m)
    b = xp.argmin(scores, axis=1)
    best = flat.take(at + b)
    x_norm = xp.sqrt(xp.einsum("ij,ij->i", block, block, dtype=np.float64))
    scale, w_norm = units._tol
    tol = scale * (2.0 * x_norm * w_norm + w_norm * w_norm)
    r = b.copy()
    close = xp.zeros(k, dtype=bool)
    if m > 1:
        flat.put(at + b, np.inf)
        r = xp.argmin(scores, axis=1)
        runner = flat.take(at + r)
        close = runner - best <= tol
        if second and m > 2:
            flat.put(at + r, np.inf)
            close |= flat.take(at + xp.argmin(scores, axis=1)) - runner <= tol
    idx = xp.flatnonzero(close)
    if len(idx):
        b[idx], r[idx] = _exact(block[idx], units.exact,
                                None if present is None else present[idx], xp)
    return b, _distance(block, units, b, present), (r if second else None)


def _exact(rows: np.ndarray, W: np.ndarray, present=None, xp=np
           ) -> tuple[np.ndarray, np.ndarray]:
    """Best and second best unit of a few rows by float64 scores, as the float64 search
    computes them (over the present components when ``present`` is given; first index
    on ties)."""
    if present is None:
        scores = rows.astype(np.float64) @ (-2.0 * W.T)
        scores += xp.einsum("ij,ij->i", W, W)[None, :]
    else:
        scores = _masked_scores(rows.astype(np.float64), present, W)
    b = xp.argmin(scores, axis=1)
    if W.shape[0] == 1:
        return b, b.copy()
    scores[xp.arange(len(rows)), b] = np.inf
    return b, xp.argmin(scores, axis=1)


def _masked(block, units: Units, second):
    """Distances over the present components of each row (SOM Toolbox style)."""
    xp = units.xp
    present = ~xp.isnan(block)
    filled = xp.where(present, block, block.dtype.type(0))
    scores = _masked_scores(filled, present, units.W)
    if units.exact is None:
        b, d, r = _pick(scores, filled, units, second, present)
    else:
        b, d, r = _settle(scores, filled, units, second, present)
    d[~present.any(axis=1)] = np.nan
    return b, d, r


def _masked_scores(filled, present, W):
    # ||x_p - w_p||^2 = ||x_p||^2 - 2 x_p.w + sum over present p of w^2
    scores = present.astype(W.dtype) @ (W * W).T
    scores -= 2.0 * (filled @ W.T)
    return scores


def _pick(scores, block, units: Units, second, present=None):
    """Best (first index on ties) and, on request, second best unit of each row, and the
    distance to the best."""
    xp = units.xp
    rows = xp.arange(scores.shape[0])
    b = xp.argmin(scores, axis=1)
    d = _distance(block, units, b, present)
    r = None
    if second:
        if scores.shape[1] > 1:
            scores[rows, b] = np.inf
            r = xp.argmin(scores, axis=1)
        else:
            r = b.copy()
    return b, d, r


def _distance(block, units: Units, b, present=None) -> np.ndarray:
    """Distance of each row to its unit ``b``, computed directly (not from the GEMM scores,
    so that a row sitting on its unit reports 0, not rounding noise)."""
    xp = units.xp
    diff = block - units.W[b]
    if present is not None:
        diff *= present
    return xp.sqrt(xp.einsum("ij,ij->i", diff, diff)).astype(np.float64)
