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

#: Rows per score block (rows x units) on maps of up to 400 units; fewer on bigger maps,
#: so that a block holds at most SCORE_VALUES scores (13 MB in float32): see score_rows.
SCORE_ROWS = 8192
SCORE_VALUES = SCORE_ROWS * 400
#: Most rows per task (one thread's share at a time) for narrow rows: the per-row work
#: after the scores runs on a whole task per NumPy call, so fewer calls hold the GIL.
DEFAULT_CHUNK = 65536
_TASK_VALUES = DEFAULT_CHUNK * 16  # a task's rows x columns, at most (its float64 copies)
_scratch = threading.local()


def task_rows(d: int) -> int:
    """Rows per task for rows of ``d`` columns: DEFAULT_CHUNK up to 16 columns, fewer (a
    multiple of SCORE_ROWS, at least one) beyond, so that a task's copies stay small."""
    blocks = max(1, min(DEFAULT_CHUNK // SCORE_ROWS, _TASK_VALUES // (SCORE_ROWS * max(d, 1))))
    return blocks * SCORE_ROWS


def score_rows(units: int) -> int:
    """Rows per score block on a map of ``units`` units (a multiple of 1,024)."""
    return max(1024, min(SCORE_ROWS, SCORE_VALUES // max(units, 1) // 1024 * 1024))


class Units:
    """A codebook (or centroids) prepared for the search: the folded GEMM operand.

    In float32 the GEMM's rounding can swap two units whose distances to a row nearly
    tie; the float64 codebook is kept so that such rows are decided in float64 (see
    :func:`_dense`): a float32 search picks the units a float64 search picks.
    """

    def __init__(self, W: np.ndarray, dtype=None, xp=np):
        self.xp = xp
        self.W = xp.ascontiguousarray(xp.asarray(W, dtype=dtype or W.dtype))
        self.w_sq = xp.einsum("ij,ij->i", self.W, self.W)
        self.folded = xp.ascontiguousarray(xp.vstack([-2.0 * self.W.T, self.w_sq[None, :]]))
        self.exact: np.ndarray | None = None
        if self.W.dtype == np.float32:
            self.exact = xp.asarray(W, dtype=np.float64)
            self.exact_sq = xp.einsum("ij,ij->i", self.exact, self.exact)
            self.exact_t = -2.0 * self.exact.T
            w_norm = float(np.sqrt(float(self.exact_sq.max()) if len(self.exact_sq) else 0.0))
            # a bound on the float32 error of a score difference (two scores, each a sum of
            # d + 1 rounded products and the rounded operands): 2 (d + 3) u (2|x||w| + |w|^2),
            # doubled for safety; u = 2^-24
            self._tol = (4.0 * (self.W.shape[1] + 3) * 2.0**-24, w_norm)

    def __len__(self) -> int:
        return len(self.W)


def nearest(X: np.ndarray, W: np.ndarray | Units, *, second: bool = False,
            chunk: int | None = None, threads: int = 1, pool: Executor | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Index of the nearest unit for every row of ``X``, its distance, and (with
    ``second``) the index of the second nearest. ``chunk``: rows per task (by default
    :func:`task_rows`)."""
    units = W if isinstance(W, Units) else Units(W, X.dtype)
    n = X.shape[0]
    chunk = chunk or task_rows(X.shape[1])
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


def search(block: np.ndarray, units: Units, second: bool = False, gaps=None):
    """(best, distance, second best) for one block; masked when it holds NaN (``gaps``:
    its NaN mask, or False when the caller knows it has none)."""
    if gaps is None:
        gaps = units.xp.isnan(block)
        gaps = gaps if bool(gaps.any()) else False
    if gaps is not False:
        return _masked(block, units, second, gaps)
    return _dense(block, units, second)


def _buffers(rows: int, units: Units, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This thread's score block and ones-augmented row block, grown when needed, and the
    flat offsets of the block's rows."""
    m, d = units.W.shape
    xp = units.xp
    key = (m, d, np.dtype(dtype).str, xp.__name__)
    held = getattr(_scratch, "buffers", None)
    if held is None or held[0] != key or held[1].shape[0] < rows:
        aug = xp.ones((rows, d + 1), dtype=dtype)
        held = (key, xp.empty((rows, m), dtype=dtype), aug, xp.arange(0, rows * m, m))
        _scratch.buffers = held
    return held[1][:rows], held[2][:rows], held[3][:rows]


def _dense(block, units: Units, second):
    k, d = block.shape
    held = _buffers(min(k, _step(k, units)), units, units.folded.dtype)

    def scores_of(part):
        n = len(part)
        scores, aug, at = held if n == len(held[0]) else (a[:n] for a in held)
        aug[:, :d] = part
        units.xp.matmul(aug, units.folded, out=scores)
        return scores, at

    return _decide(block, units, second, scores_of)


def _step(k: int, units: Units) -> int:
    """Rows per score block: :func:`score_rows` on the CPU; a device's chunk is one block."""
    return score_rows(len(units)) if units.xp is np else max(k, 1)


def _masked(block, units: Units, second, gaps=None):
    """Distances over the present components of each row (SOM Toolbox style)."""
    xp = units.xp
    present = ~(xp.isnan(block) if gaps is None else gaps)
    filled = xp.where(present, block, block.dtype.type(0))
    W = units.W

    def scores_of(part):
        rows = slice(part[0], part[1])
        scores = _masked_scores(filled[rows], present[rows], W)
        return scores, xp.arange(0, scores.size, scores.shape[1])

    b, d, r = _decide(filled, units, second, scores_of, present)
    d[~present.any(axis=1)] = np.nan
    return b, d, r


def _decide(block, units: Units, second, scores_of, present=None):
    """Best (first index on ties), on request second best, and the distance to the best of
    each row, the scores taken :func:`score_rows` rows at a time.

    Float32 scores have their near ties decided in float64: a row is searched again when
    its runner-up (or, with ``second``, its third) is within the rounding bound of the unit
    before it: 0.3% of the rows at d = 10, 4% at d = 50 on the benchmark data.
    """
    xp = units.xp
    settle = units.exact is not None
    depth = min(len(units), 1 + (settle or second) + (settle and second))
    b, r, gaps = _scan(block, units, depth, scores_of, settle, present is not None)
    if settle and gaps:
        tol = _tolerance(block, units)
        close = xp.less_equal(gaps[0], tol)
        if len(gaps) > 1:
            close |= xp.less_equal(gaps[1], tol)
        idx = xp.flatnonzero(close)
        if len(idx):
            b[idx], r[idx] = _exact(block[idx], units, None if present is None
                                    else present[idx])
    return b, _distance(block, units, b, present), (r if second else None)


def _scan(block, units: Units, depth: int, scores_of, gaps: bool, masked: bool):
    """Per row, from blocks of :func:`score_rows` rows' scores: the best unit, with ``depth`` 2 the
    second, and (``gaps``) the score differences best -> second (-> third with depth 3)."""
    xp = units.xp
    k = len(block)
    b = xp.empty(k, dtype=np.intp)
    r = xp.empty(k, dtype=np.intp) if depth > 1 else None
    diffs = [xp.empty(k, dtype=units.W.dtype) for _ in range(depth - 1)] if gaps else []
    step = _step(k, units)
    for s in range(0, k, step):
        e = min(s + step, k)
        scores, at = scores_of((s, e) if masked else block[s:e])
        bs = scores.argmin(axis=1, out=b[s:e])
        if depth == 1:
            continue
        # (argmin and take on the flat block beat min and fancy indexing)
        flat, pos = scores.reshape(-1), at + bs
        best = flat.take(pos)
        flat.put(pos, np.inf)
        rs = scores.argmin(axis=1, out=r[s:e])
        if not diffs:
            continue
        xp.add(at, rs, out=pos)
        runner = flat.take(pos)
        xp.subtract(runner, best, out=diffs[0][s:e])
        if depth > 2:
            flat.put(pos, np.inf)
            xp.add(at, scores.argmin(axis=1), out=pos)
            xp.subtract(flat.take(pos), runner, out=diffs[1][s:e])
    return b, (b.copy() if r is None else r), diffs


def _tolerance(block, units: Units):
    """Per row, the bound on a float32 score difference's rounding (see :class:`Units`),
    computed in float32 (a cast would hold the GIL) and widened by the bound on the
    rounding of its own sum, square root and products."""
    xp = units.xp
    tol = xp.einsum("ij,ij->i", block, block)
    xp.sqrt(tol, out=tol)
    scale, w_norm = units._tol
    widen = 1.0 + (block.shape[1] + 8) * 2.0**-23
    tol *= np.float32(2.0 * scale * w_norm * widen)
    tol += np.float32(scale * w_norm * w_norm * widen)
    return tol


def _exact(rows: np.ndarray, units: Units, present=None) -> tuple[np.ndarray, np.ndarray]:
    """Best and second best unit of a few rows by float64 scores, as the float64 search
    computes them (over the present components when ``present`` is given; first index
    on ties)."""
    xp = units.xp
    if present is None:
        scores = rows.astype(np.float64) @ units.exact_t
        scores += units.exact_sq[None, :]
    else:
        scores = _masked_scores(rows.astype(np.float64), present, units.exact)
    b = xp.argmin(scores, axis=1)
    if scores.shape[1] == 1:
        return b, b.copy()
    scores[xp.arange(len(rows)), b] = np.inf
    return b, xp.argmin(scores, axis=1)


def _masked_scores(filled, present, W):
    # ||x_p - w_p||^2 = ||x_p||^2 - 2 x_p.w + sum over present p of w^2
    scores = present.astype(W.dtype) @ (W * W).T
    scores -= 2.0 * (filled @ W.T)
    return scores


def _distance(block, units: Units, b, present=None) -> np.ndarray:
    """Distance of each row to its unit ``b``, computed directly (not from the GEMM scores,
    so that a row sitting on its unit reports 0, not rounding noise)."""
    xp = units.xp
    diff = block - units.W.take(b, axis=0)
    if present is not None:
        diff *= present
    return xp.sqrt(xp.einsum("ij,ij->i", diff, diff)).astype(np.float64)
