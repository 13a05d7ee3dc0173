"""The classic online SOM (update after each row, rows in random order): MiniSom.

MiniSom does the training; somcli gives it the initial codebook, the radius
schedule and the neighbourhood on somcli's own grid (so hexagonal maps use the
same geometry as the batch engine, the U-matrix and the plots), and keeps its
printing off stdout.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable

import numpy as np
from minisom import MiniSom

from somcli.algorithms.grid import Grid, neighborhood, radius_schedule


class _GridSom(MiniSom):
    """MiniSom whose neighbourhood is computed on a somcli :class:`Grid`."""

    def __init__(self, grid: Grid, dim: int, radii: np.ndarray, kind: str,
                 on_epoch: Callable[[int, float], None] | None, n_rows: int, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MiniSom warns about sigma vs map size
            super().__init__(grid.rows, grid.cols, dim, **kwargs)
        self._grid = grid
        self._radii = radii
        self._kind = kind
        self._on_epoch = on_epoch
        self._n_rows = n_rows
        self._seen = 0
        self._sigma_decay_function = self._schedule
        self.neighborhood = self._grid_neighborhood  # MiniSom set its own in __init__
        self._cache: tuple[float, np.ndarray] | None = None

    def _schedule(self, sigma, t, max_iter):  # MiniSom's signature; t is the epoch
        return float(self._radii[min(int(t), len(self._radii) - 1)])

    def _grid_neighborhood(self, c, sigma):  # MiniSom calls it with (winner, sigma)
        if self._cache is None or self._cache[0] != sigma:
            self._cache = (sigma, neighborhood(self._grid, sigma, self._kind))
        u = int(c[0]) * self._grid.cols + int(c[1])
        return self._cache[1][u].reshape(self._grid.shape)

    def update(self, x, win, t, max_iteration):
        super().update(x, win, t, max_iteration)
        self._seen += 1
        if self._on_epoch is not None and self._seen % self._n_rows == 0:
            epoch = self._seen // self._n_rows - 1
            self._on_epoch(epoch, self._schedule(None, epoch, None))


def make(X: np.ndarray, W0: np.ndarray, grid: Grid, *, epochs: int, sigma: float,
         sigma_end: float, decay: str, learning_rate: float, kind: str, seed: int,
         on_epoch: Callable[[int, float], None] | None = None) -> MiniSom:
    """A ready-to-train MiniSom with the initial codebook ``W0`` (units x d)."""
    radii = radius_schedule(sigma, sigma_end, epochs, decay)
    som = _GridSom(grid, X.shape[1], radii, kind, on_epoch, len(X), sigma=sigma,
                   learning_rate=learning_rate, neighborhood_function="gaussian",
                   topology="rectangular", random_seed=seed)
    som._weights = np.asarray(W0, dtype=np.float64).reshape(grid.rows, grid.cols, -1).copy()
    return som


def train(X: np.ndarray, W0: np.ndarray, grid: Grid, *, epochs: int, sigma: float,
          sigma_end: float, decay: str, learning_rate: float, kind: str, seed: int,
          on_epoch: Callable[[int, float], None] | None = None) -> np.ndarray:
    """Online training for ``epochs`` passes over X in random order; returns the codebook."""
    som = make(X, W0, grid, epochs=epochs, sigma=sigma, sigma_end=sigma_end, decay=decay,
               learning_rate=learning_rate, kind=kind, seed=seed, on_epoch=on_epoch)
    data = np.asarray(X, dtype=np.float64)
    with contextlib.redirect_stdout(sys.stderr):
        som.train(data, epochs, random_order=True, use_epochs=True, verbose=False)
    return som.get_weights().reshape(grid.units, -1).copy()
