"""Lloyd's k-means, written once: partial sums of a step over some rows, their total, the
update, and the loop.

Every k-means that is not scikit-learn's runs this loop: over the blocks of a Dask
cluster, over a GPU's arrays (``partial_sums`` takes the device's rows, whose array module
does the work) and, with scikit-learn's empty-cluster rule as its step, over a map's
codebook (:mod:`somcli.algorithms.kmeans_small`). The stopping rule is scikit-learn's: stop
when the centres move less than ``tol`` in total squared distance (a step in which no row
changes cluster moves them by exactly 0), or after ``max_iter`` steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from somcli.algorithms.group_sums import group_sums
from somcli.algorithms.nearest import Units, search, to_host

MAX_ITER = 300
TOL = 1e-4  # scikit-learn's default, relative to the mean feature variance
CHUNK = 65536  # rows per step of the search on the host


@dataclass(frozen=True)
class KMeansFit:
    """A k-means fit, whichever engine ran it (scikit-learn, its port, Lloyd over blocks)."""

    centers: np.ndarray
    inertia: float
    n_iter: int
    minibatch: bool
    n_init: int


@dataclass(frozen=True)
class Lloyd:
    centers: np.ndarray
    inertia: float  # of ``centers``: the squared distances of the rows to their nearest centre
    n_iter: int


def partial_sums(rows, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-cluster sums and counts of the rows nearest each centre, and their squared
    distances: one step's share of ``rows`` (a host matrix, or
    :class:`somcli.algorithms.device.Rows` on a device), in float64."""
    xp, chunks = _chunks(rows)
    k, d = centers.shape
    units = Units(np.asarray(centers, dtype=np.float64), np.float64, xp)
    sums, counts = xp.zeros((k, d)), xp.zeros(k)
    inertia = 0.0
    for block in chunks:
        block = block.astype(np.float64)
        labels, dist, _ = search(block, units)
        sums += group_sums(labels, block, k, xp)
        counts += xp.bincount(labels, minlength=k)
        inertia += float((dist ** 2).sum())
    return to_host(sums), to_host(counts), inertia


def total(parts) -> tuple[np.ndarray, np.ndarray, float]:
    """The partial sums of every block added up, in block order."""
    return (np.sum([p[0] for p in parts], axis=0), np.sum([p[1] for p in parts], axis=0),
            float(sum(p[2] for p in parts)))


def update(centers: np.ndarray, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The means of the clusters; a cluster that lost every row keeps its centre."""
    return np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centers)


def iterate(advance: Callable[[np.ndarray], np.ndarray], centers: np.ndarray, tol: float,
            max_iter: int = MAX_ITER) -> tuple[np.ndarray, int]:
    """Lloyd's loop: ``advance`` maps centres to the next ones; (last centres, steps)."""
    done = 0
    while done < max_iter:
        done += 1
        new = advance(centers)
        shift = float(((new - centers) ** 2).sum())
        centers = new
        if shift <= tol:
            break
    return centers, done


def converge(step: Callable[[np.ndarray], tuple], centers: np.ndarray, tol: float,
             max_iter: int = MAX_ITER) -> tuple[np.ndarray, int]:
    """Lloyd from ``centers`` where ``step(C)`` gives the total partial sums over every row:
    (last centres, steps)."""
    return iterate(lambda C: update(C, *step(C)[:2]), np.asarray(centers, np.float64), tol,
                   max_iter)


def run(step: Callable[[np.ndarray], tuple], centers: np.ndarray, tol: float,
        max_iter: int = MAX_ITER) -> Lloyd:
    """:func:`converge`, and the inertia of the centres returned (one more pass)."""
    C, done = converge(step, centers, tol, max_iter)
    return Lloyd(C, step(C)[2], done)


def _chunks(rows):
    """(array module, the row blocks) of a host matrix or a device's Rows."""
    if hasattr(rows, "chunks"):
        return rows.xp, (block for _, block in rows.chunks())
    return np, (rows[start:start + CHUNK] for start in range(0, len(rows), CHUNK))

