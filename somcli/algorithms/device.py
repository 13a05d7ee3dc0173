"""The SOM's epoch sums, the best-unit search (with QE and the second unit) and Lloyd's
k-means on an array module other than the CPU's: CuPy on a GPU (``--device cuda``).

The search is :mod:`somcli.algorithms.nearest` itself, run on the device's arrays (its
:class:`~somcli.algorithms.nearest.Units` carry the array module), so the float64 settling
of near ties is the same rule: a GPU map is the CPU map. What is here is what differs on a
device: the rows cross to it once (or chunk by chunk when they do not fit), chunks are big
(a kernel launch costs more than a row), per-unit sums are per-column ``bincount`` on the
device, and only small results (sums, counts, best units) come back.

With ``xp = numpy`` every function runs on the CPU: that is how the tests cover this code
on machines without a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from somcli.algorithms.kmeans_small import plusplus
from somcli.algorithms.nearest import Units, search

ROWS_PER_CHUNK = 1 << 16  # rows searched per step: big enough to keep a GPU busy


@dataclass
class Rows:
    """A matrix of rows for the device: resident there (``array``), or left on the host and
    copied a chunk at a time when it does not fit (``host``)."""

    xp: object
    array: object | None
    host: np.ndarray | None
    chunk: int

    @property
    def n(self) -> int:
        return len(self.array) if self.array is not None else len(self.host)

    def chunks(self):
        for start in range(0, self.n, self.chunk):
            if self.array is not None:
                yield start, self.array[start:start + self.chunk]
            else:
                yield start, self.xp.asarray(self.host[start:start + self.chunk])


def chunk_rows(room: int, units: int, itemsize: int) -> int:
    """Rows per chunk: a chunk's scores (rows x units) take at most an eighth of ``room``."""
    return int(np.clip(room // 8 // max(units * itemsize, 1), 1024, ROWS_PER_CHUNK))


def resident(X: np.ndarray, room: int) -> bool:
    """``X`` stays on the device when it takes at most half of ``room`` bytes (the rest is
    for the score blocks)."""
    return X.nbytes <= room // 2


def place(xp, X: np.ndarray, room: int, units: int) -> Rows:
    """``X`` on the device (:func:`resident`), else left on the host and sent chunk by chunk."""
    chunk = chunk_rows(room, units, X.dtype.itemsize)
    if resident(X, room):
        return Rows(xp, xp.asarray(X), None, chunk)
    return Rows(xp, None, X, chunk)


def to_host(array) -> np.ndarray:
    """A device array as a NumPy array (a NumPy array as it is)."""
    return array.get() if hasattr(array, "get") else np.asarray(array)


def nearest(rows: Rows, W: np.ndarray, second: bool = False):
    """(best unit, distance, second best or None) of every row, on the host."""
    units = Units(W, rows.array.dtype if rows.array is not None else rows.host.dtype, rows.xp)
    n = rows.n
    best = np.empty(n, dtype=np.int32)
    dist = np.empty(n, dtype=np.float64)
    runner = np.empty(n, dtype=np.int32) if second else None
    for start, block in rows.chunks():
        b, d, r = search(block, units, second)
        stop = start + len(block)
        best[start:stop] = to_host(b)
        dist[start:stop] = to_host(d)
        if second:
            runner[start:stop] = to_host(r)
    return best, dist, runner


def epoch_sums(rows: Rows, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Per-unit sums and per-component counts of the rows each unit wins, the QE sum and
    the rows with a unit (as :func:`somcli.algorithms.som.epoch_sums`), in float64."""
    xp = rows.xp
    m, d = W.shape
    units = Units(W, rows.array.dtype if rows.array is not None else rows.host.dtype, xp)
    sums = xp.zeros((m, d))
    counts = xp.zeros((m, d))
    qe, found = 0.0, 0
    for _, block in rows.chunks():
        bmu, dist, _ = search(block, units)
        gaps = xp.isnan(block)
        values = xp.where(gaps, 0.0, block).astype(np.float64)
        for j in range(d):
            sums[:, j] += xp.bincount(bmu, weights=values[:, j], minlength=m)
            counts[:, j] += xp.bincount(bmu, weights=(~gaps[:, j]).astype(np.float64),
                                        minlength=m)
        present = ~xp.isnan(dist)
        qe += float(dist[present].sum())
        found += int(present.sum())
    return to_host(sums), to_host(counts), qe, found


@dataclass(frozen=True)
class Lloyd:
    centers: np.ndarray
    inertia: float
    n_iter: int


def lloyd(rows: Rows, centers: np.ndarray, max_iter: int = 300, tol: float = 1e-4,
          variance: float = 1.0) -> Lloyd:
    """Lloyd's k-means from ``centers`` (scikit-learn's rule: stop when the centres move
    less than ``tol`` times the mean feature variance in total squared distance, or when
    no row changes cluster). An empty cluster keeps its centre."""
    k, d = centers.shape
    C = np.asarray(centers, dtype=np.float64)
    previous = None
    done = 0
    while done < max_iter:
        done += 1
        labels, sums, counts, _ = _assign_sums(rows, C)
        new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], C)
        shift = float(((new - C) ** 2).sum())
        C = new
        if previous is not None and np.array_equal(labels, previous):
            break
        previous = labels
        if shift <= tol * variance:
            break
    _, _, _, inertia = _assign_sums(rows, C)
    return Lloyd(C, inertia, done)


def _assign_sums(rows: Rows, C: np.ndarray):
    """Labels (host), per-cluster sums and counts, and the inertia of ``C``."""
    xp = rows.xp
    k, d = C.shape
    units = Units(C, np.float64, xp)
    sums = xp.zeros((k, d))
    counts = xp.zeros(k)
    inertia = 0.0
    labels = np.empty(rows.n, dtype=np.int32)
    for start, block in rows.chunks():
        block = block.astype(np.float64)
        b, dist, _ = search(block, units)
        for j in range(d):
            sums[:, j] += xp.bincount(b, weights=block[:, j], minlength=k)
        counts += xp.bincount(b, minlength=k)
        inertia += float((dist ** 2).sum())
        labels[start:start + len(block)] = to_host(b)
    return labels, to_host(sums), to_host(counts), inertia


def kmeans(rows: Rows, host_X: np.ndarray, k: int, seed: int, n_init: int) -> Lloyd:
    """The best of ``n_init`` Lloyd runs from k-means++ starts drawn as scikit-learn's
    KMeans draws them (one RandomState(seed) for all the starts, on the host rows)."""
    state = np.random.RandomState(seed)
    variance = float(np.mean(np.var(host_X, axis=0)))
    best = None
    for _ in range(n_init):
        start = plusplus(host_X, k, state)
        fit = lloyd(rows, start, variance=variance)
        if best is None or fit.inertia < best.inertia:
            best = fit
    return best
