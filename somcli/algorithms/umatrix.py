"""U-matrix for rectangular and hexagonal grids, per unit and interstitial.

Per unit: a statistic (mean, median, min, max) of the distances from the
unit's codebook vector to its grid neighbours' (6 on hex, 4 on rect).
Interstitial: the (2R-1) x (2C-1) matrix of the SOM Toolbox ``som_umat``, with
the distance between each pair of neighbours on the cell between them and the
per-unit value on the unit's own cell.
"""

from __future__ import annotations

import numpy as np

from somcli.algorithms.grid import Grid

STATS = {"mean": np.nanmean, "median": np.nanmedian, "min": np.nanmin, "max": np.nanmax}


def neighbor_distances(W: np.ndarray, grid: Grid) -> np.ndarray:
    """(units, 6 or 4) distances to each neighbour, NaN where there is none."""
    nb = grid.neighbors
    diff = W[:, None, :] - W[np.where(nb >= 0, nb, 0)]
    dist = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    return np.where(nb >= 0, dist, np.nan)


def unit_umatrix(W: np.ndarray, grid: Grid, stat: str = "mean") -> np.ndarray:
    """(rows, cols) U-matrix: ``stat`` of the distances to the grid neighbours."""
    if stat not in STATS:
        raise ValueError(f"unknown U-matrix statistic {stat!r}; choose one of {', '.join(STATS)}")
    if grid.units == 1:
        return np.zeros(grid.shape)
    return STATS[stat](neighbor_distances(W, grid), axis=1).reshape(grid.shape)


def interstitial(W: np.ndarray, grid: Grid, stat: str = "mean") -> np.ndarray:
    """(2R-1, 2C-1) U-matrix with the between-unit distances (SOM Toolbox layout)."""
    R, C = grid.shape
    M = W.reshape(R, C, -1)
    U = np.full((2 * R - 1, 2 * C - 1), np.nan)

    def dist(a, b):
        return float(np.linalg.norm(a - b))

    for r in range(R):
        for c in range(C):
            if c < C - 1:
                U[2 * r, 2 * c + 1] = dist(M[r, c], M[r, c + 1])
            if r < R - 1:
                U[2 * r + 1, 2 * c] = dist(M[r, c], M[r + 1, c])
                if grid.topology == "rect" and c < C - 1:
                    U[2 * r + 1, 2 * c + 1] = (dist(M[r, c], M[r + 1, c + 1])
                                               + dist(M[r + 1, c], M[r, c + 1])) / (2 * np.sqrt(2))
                elif grid.topology == "hex" and r % 2 == 1 and c < C - 1:
                    U[2 * r + 1, 2 * c + 1] = dist(M[r, c], M[r + 1, c + 1])
                elif grid.topology == "hex" and r % 2 == 0 and c > 0:
                    U[2 * r + 1, 2 * c - 1] = dist(M[r, c], M[r + 1, c - 1])
    U[::2, ::2] = unit_umatrix(W, grid, stat)
    return U
