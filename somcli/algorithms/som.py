"""The batch SOM, written as a reduction (see docs/architecture.md).

One epoch: for every chunk of rows, ``partial_sums`` finds each row's best
matching unit and adds the rows into per-unit sums and counts; then, once,
``update`` smooths the sums with the neighbourhood matrix and divides. Chunking,
threads and a Dask cluster are all ways of adding up partial sums, so every
engine gives the same codebook for the same seed and data.

Missing values (NaN) are masked: the BMU search and the sums use only the
present components of a row (SOM Toolbox style). Pure numpy, and scipy's sparse
product for wide rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from somcli.algorithms.grid import Grid, neighborhood
from somcli.algorithms.group_sums import group_sums
from somcli.algorithms.nearest import Units, search, task_rows, to_host
from somcli.runtime.parallel import map_chunks, workers

MIN_UNITS = 4


@dataclass(frozen=True)
class MapSize:
    rows: int
    cols: int
    rule: str  # how it was chosen, for the report


def auto_size(X: np.ndarray | None, topology: str, max_units: int,
              eig: np.ndarray | None = None, n: int | None = None) -> MapSize:
    """The SOM Toolbox rule: about 5*sqrt(n) units, sides in the ratio of the square
    roots of the two largest principal eigenvalues; capped at ``max_units``."""
    n = len(X) if n is None else n
    munits = max(MIN_UNITS, int(round(5.0 * np.sqrt(n))))
    if eig is None:
        eig, _ = principal_axes(X)
    if len(eig) >= 2 and eig[1] > 1e-12 * max(eig[0], 1e-300):
        ratio = float(np.sqrt(eig[0] / eig[1]))
    else:
        ratio = float(munits)
    factor = np.sqrt(0.75) if topology == "hex" else 1.0
    cols = int(round(np.sqrt(munits / ratio * factor)))
    cols = max(2, min(cols, munits // 2))
    rows = max(2, int(round(munits / cols)))
    rule = (f"5*sqrt({n}) = {munits} units; side ratio sqrt(l1/l2) = {ratio:.2f} "
            f"from the two largest principal components")
    if rows * cols > max_units:
        f = np.sqrt(max_units / (rows * cols))
        rows, cols = max(2, int(rows * f)), max(2, int(cols * f))
        rule += f"; capped at {max_units} units (--max-units)"
    return MapSize(rows, cols, rule)


def principal_axes(X: np.ndarray, chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and eigenvectors (columns) of the covariance of X.

    Missing values count as the column mean.
    """
    mean = column_mean(X)
    if X.shape[1] > len(X):
        return axes_of_rows(X, mean)
    return axes(scatter(X, mean, chunk), len(X))


def axes_of_rows(X: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`axes` from a thin SVD of the centred rows (gaps count as the mean), for a
    table wider than it is long: its d x d covariance is never formed (200 rows of 10,000
    features: 800 MB and an eigen-decomposition of 97 s; this, 0.1 s). The min(n, d) axes
    of non-zero variance, largest first."""
    centred = np.asarray(X, dtype=np.float64) - mean
    centred[np.isnan(centred)] = 0.0
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    return np.clip(s ** 2 / max(len(X) - 1, 1), 0.0, None), _oriented(vt.T)


def column_mean(X: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Mean of each column over its present values (0 for an empty column), in float64,
    block by block (np.nanmean copies the whole matrix first: 2x slower on 1M x 10)."""
    d = X.shape[1]
    sums, counts = np.zeros(d), np.zeros(d)
    for start in range(0, len(X), chunk):
        block = np.asarray(X[start:start + chunk], dtype=np.float64)
        present = ~np.isnan(block)
        sums += np.where(present, block, 0.0).sum(axis=0)
        counts += present.sum(axis=0)
    return np.divide(sums, counts, out=np.zeros(d), where=counts > 0)


def scatter(X: np.ndarray, mean: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Sum of (x - mean)(x - mean)^T over the rows (gaps count as the mean)."""
    d = X.shape[1]
    out = np.zeros((d, d))
    for start in range(0, len(X), chunk):
        block = np.asarray(X[start:start + chunk], dtype=np.float64) - mean
        block[np.isnan(block)] = 0.0
        out += block.T @ block
    return out


def axes(scatter_matrix: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of the covariance ``scatter / (n - 1)``, largest first (beyond
    EIGH_FEATURES features, its two largest axes only).

    Sign convention: the first clearly non-zero component of each axis is positive
    (not the largest: with standardised data components often tie, and float noise
    would then decide the orientation of the map).
    """
    cov = scatter_matrix / max(n - 1, 1)
    if len(cov) > EIGH_FEATURES:  # the two largest axes only (all the map needs)
        from scipy.sparse.linalg import eigsh

        eig, vec = eigsh(cov, k=2, which="LA", v0=np.ones(len(cov)))  # (v0: reproducible)
    else:
        eig, vec = np.linalg.eigh(cov)
    order = np.argsort(eig)[::-1]
    return np.clip(eig[order], 0.0, None), _oriented(vec[:, order])


#: features from which :func:`axes` finds the two largest axes alone (Lanczos), not all
#: of them: an eigen-decomposition of d x d grows as d**3 (10,000 features: minutes)
EIGH_FEATURES = 1_000


def _oriented(vec: np.ndarray) -> np.ndarray:
    """Each axis (column) signed so that its first clearly non-zero component is positive."""
    significant = np.abs(vec) > 1e-3 * np.abs(vec).max(axis=0)
    first = np.argmax(significant, axis=0)
    return vec * np.where(vec[first, np.arange(vec.shape[1])] < 0, -1.0, 1.0)


def pca_init(X: np.ndarray | None, grid: Grid, pca: tuple | None = None) -> np.ndarray:
    """Codebook on the plane of the two largest principal components, spanning
    +-1 standard deviation along each (SOM Toolbox ``som_lininit``).

    ``pca = (mean, eigenvalues, eigenvectors)`` when they were computed elsewhere
    (the Dask engine); otherwise they come from X.
    """
    if pca is None:
        mean = column_mean(X)
        eig, vec = axes(scatter(X, mean), len(X))
    else:
        mean, eig, vec = pca
    pos = grid.positions
    span = np.ptp(pos, axis=0)
    coords = np.where(span > 0, (pos - pos.min(0)) / np.where(span > 0, span, 1) * 2 - 1, 0.0)
    long_axis = int(span[1] > span[0])  # 0: x (columns) longer, 1: y (rows) longer
    W = np.tile(mean, (grid.units, 1))
    W += np.outer(coords[:, long_axis], np.sqrt(eig[0]) * vec[:, 0])
    if len(eig) > 1:
        W += np.outer(coords[:, 1 - long_axis], np.sqrt(eig[1]) * vec[:, 1])
    return W


def random_init(X: np.ndarray, grid: Grid, rng: np.random.Generator) -> np.ndarray:
    """Codebook vectors drawn from the rows (gaps filled with the column mean)."""
    picks = rng.choice(len(X), size=grid.units, replace=len(X) < grid.units)
    W = np.asarray(X[picks], dtype=np.float64)
    mean = np.nanmean(X, axis=0, dtype=np.float64)
    return np.where(np.isnan(W), np.where(np.isnan(mean), 0.0, mean), W)


def partial_sums(chunk: np.ndarray, W: np.ndarray | Units
                 ) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Per-unit sums and counts of the rows of ``chunk`` for which each unit is the BMU.

    Returns ``(sums (units x d), counts (units x d), sum of QE, rows with a BMU)``, on the
    host; counts are per component, so masked (NaN) components add nothing. ``chunk`` may
    live on a device: ``W``'s :class:`Units` then carry its array module.
    """
    units = W if isinstance(W, Units) else Units(W, chunk.dtype)
    xp = units.xp
    m, d = units.W.shape
    gaps = xp.isnan(chunk)
    has_gaps = bool(gaps.any())
    bmu, dist, _ = search(chunk, units, gaps=gaps if has_gaps else False)
    # summed in float64 (float32 sums of a chunk's rows drift by 1e-6: enough to move a
    # near-tie row to another unit in the next epoch, and the map away from float64's)
    values = xp.where(gaps, 0.0, chunk) if has_gaps else chunk
    sums = group_sums(bmu, values.astype(np.float64), m, xp)
    counts = xp.repeat(xp.bincount(bmu, minlength=m).astype(np.float64)[:, None], d, axis=1)
    if has_gaps:
        counts -= group_sums(bmu, gaps.astype(np.float64), m, xp)
        found = ~xp.isnan(dist)
        return to_host(sums), to_host(counts), float(dist[found].sum()), int(found.sum())
    return to_host(sums), to_host(counts), float(dist.sum()), len(dist)


def update(W: np.ndarray, sums: np.ndarray, counts: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Kohonen's batch rule: w_j = sum_i h(j, i) S_i / sum_i h(j, i) n_i."""
    num = H @ sums
    den = H @ counts
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), W)


def epoch_sums(X, W: np.ndarray, chunk: int | None = None, threads: int = 1,
               pool=None) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Partial sums over all of X, chunk by chunk (on ``threads`` threads or ``pool``),
    added in float64 in chunk order. ``X`` may be a device's
    :class:`~somcli.algorithms.device.Rows` (its own chunks, one at a time)."""
    m, d = W.shape
    if hasattr(X, "chunks"):  # rows on a device
        units = Units(W, X.dtype, X.xp)
        return add_partials((partial_sums(block, units) for _, block in X.chunks()), (m, d))
    units = Units(W, X.dtype)
    chunk = chunk or task_rows(d)
    parts = map_chunks(lambda s: partial_sums(X[s:s + chunk], units), len(X), chunk, threads,
                       pool)
    return add_partials(parts, (m, d))


def add_partials(parts, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Add ``partial_sums`` results in the order given (float64): chunks, or partitions."""
    sums, counts = np.zeros(shape), np.zeros(shape)
    qe, rows = 0.0, 0
    for s, c, q, r in parts:
        sums += s
        counts += c
        qe += q
        rows += r
    return sums, counts, qe, rows


def train(X: np.ndarray, W0: np.ndarray, grid: Grid, radii: np.ndarray,
          kind: str = "gaussian", chunk: int | None = None,
          on_epoch: Callable[[int, float, float], None] | None = None,
          sums_fn: Callable | None = None, threads: int = 1) -> tuple[np.ndarray, list[float]]:
    """Batch-train from ``W0`` for ``len(radii)`` epochs; returns (codebook, mean QE per epoch).

    ``sums_fn(W) -> (sums, counts, qe_sum, rows)`` replaces the local reduction
    (the Dask engine passes its own); by default it is :func:`epoch_sums` over X.
    """
    if kind == "mexican_hat":
        raise ValueError("the mexican hat has negative weights and cannot be used in batch "
                         "training; use --train online or another neighbourhood")
    W = np.asarray(W0, dtype=np.float64).copy()
    history: list[float] = []
    with workers(threads if sums_fn is None else 1) as pool:
        for epoch, sigma in enumerate(radii):
            sums, counts, qe, rows = (sums_fn(W) if sums_fn is not None
                                      else epoch_sums(X, W, chunk, threads, pool))
            W = update(W, sums, counts, neighborhood(grid, sigma, kind))
            history.append(qe / max(rows, 1))
            if on_epoch is not None:
                on_epoch(epoch, float(sigma), history[-1])
    return W, history


# ---------------------------------------------------------------- what a saved model holds
# (read by somcli.models.model_check for every kind in somcli.config.CLUSTERINGS)

#: the arrays of points in the rows' space (their coordinates are bounded when loaded)
COORDINATES = ("codebook",)

def model_arrays(meta: dict, k: int, width: int) -> dict[str, tuple]:
    """The arrays of a map's model beside the cleaning's: name -> (shape, dtype kinds);
    ValueError when model.json's grid, clusters or outlier rule cannot hold."""
    from somcli.algorithms.outliers import rule_ok

    grid = meta.get("grid")
    if not isinstance(grid, dict) or not all(isinstance(grid.get(x), int)
                                             for x in ("rows", "cols")):
        raise ValueError("a SOM model without its grid")
    units = grid["rows"] * grid["cols"]
    if k > units:
        raise ValueError(f"{k} clusters on a map of {units} units")
    if not rule_ok(meta.get("outliers")):
        raise ValueError("the outlier rule is missing or not finite numbers")
    return {"codebook": ((units, width), "f"), "unit_cluster": ((units,), "iu"),
            "umatrix": ((units,), "f"), "hits": ((units,), "iu")}


def check_model(meta: dict, arrays: dict[str, np.ndarray]) -> str | None:
    """What is wrong with the loaded arrays' values beyond being finite (None: nothing)."""
    k = meta["algorithm"]["clusters"]
    uc = arrays["unit_cluster"]
    if len(uc) and (uc.min() < 0 or uc.max() >= k):
        return f"array 'unit_cluster' holds cluster numbers outside 0..{k - 1}"
    if (arrays["hits"] < 0).any() or (arrays["umatrix"] < 0).any():
        return "arrays 'hits' or 'umatrix' hold negative values"
    return None
