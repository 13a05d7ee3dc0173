"""Map grids: unit positions, neighbours and neighbourhood functions.

Units are numbered row-major: unit ``u`` sits at row ``u // cols``, column
``u % cols``. On a hexagonal grid the odd rows (0-based) are shifted right by
half a unit and rows are sqrt(3)/2 apart, so every unit's six neighbours are at
distance 1 (the SOM Toolbox layout). On a rectangular grid the four
neighbours are at distance 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

HEX_ROW_HEIGHT = np.sqrt(3.0) / 2.0
TOPOLOGIES = ("hex", "rect")
NEIGHBORHOODS = ("gaussian", "bubble", "triangle", "mexican_hat")


@dataclass(frozen=True)
class Grid:
    rows: int
    cols: int
    topology: str = "hex"

    def __post_init__(self):
        if self.topology not in TOPOLOGIES:
            raise ValueError(f"topology must be one of {TOPOLOGIES}, not {self.topology!r}")
        if self.rows < 1 or self.cols < 1:
            raise ValueError("a map needs at least one row and one column")

    def __getstate__(self) -> dict:
        """Pickled (to a Dask worker, the picture helper) as its three fields: the cached
        positions and (units x units) distances are rebuilt there. A 50x50 map carried 48 MB
        of distances into every task of an epoch ("Sending large graph")."""
        return {"rows": self.rows, "cols": self.cols, "topology": self.topology}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    @property
    def units(self) -> int:
        return self.rows * self.cols

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, self.cols

    @cached_property
    def positions(self) -> np.ndarray:
        """(units, 2) array of (x, y) positions on the plane."""
        r, c = np.divmod(np.arange(self.units), self.cols)
        if self.topology == "hex":
            return np.column_stack([c + 0.5 * (r % 2), r * HEX_ROW_HEIGHT]).astype(float)
        return np.column_stack([c, r]).astype(float)

    @cached_property
    def sq_distances(self) -> np.ndarray:
        """(units, units) squared distances between unit positions."""
        p = self.positions
        diff = p[:, None, :] - p[None, :, :]
        return np.einsum("ijk,ijk->ij", diff, diff)

    def offsets(self, row: int) -> list[tuple[int, int]]:
        """(d_row, d_col) of a unit's neighbours; on hex they depend on the row's parity."""
        if self.topology == "rect":
            return [(0, -1), (0, 1), (-1, 0), (1, 0)]
        if row % 2 == 0:
            return [(0, -1), (0, 1), (-1, -1), (-1, 0), (1, -1), (1, 0)]
        return [(0, -1), (0, 1), (-1, 0), (-1, 1), (1, 0), (1, 1)]

    @cached_property
    def neighbors(self) -> np.ndarray:
        """(units, 6 or 4) unit indices of grid neighbours, -1 where the edge cuts them off."""
        width = 6 if self.topology == "hex" else 4
        out = np.full((self.units, width), -1, dtype=np.int64)
        for u in range(self.units):
            r, c = divmod(u, self.cols)
            for k, (dr, dc) in enumerate(self.offsets(r)):
                rr, cc = r + dr, c + dc
                if 0 <= rr < self.rows and 0 <= cc < self.cols:
                    out[u, k] = rr * self.cols + cc
        return out

    def adjacent(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """True where units a and b are the same or grid neighbours (elementwise)."""
        d2 = self.sq_distances[a, b]
        return d2 <= 1.0 + 1e-9

    def to_dict(self) -> dict:
        return {"rows": self.rows, "cols": self.cols, "topology": self.topology}


def neighborhood(grid: Grid, sigma: float, kind: str = "gaussian") -> np.ndarray:
    """(units, units) neighbourhood weights h(i, j) for radius ``sigma``."""
    d2 = grid.sq_distances
    sigma = max(float(sigma), 1e-6)
    if kind == "gaussian":
        return np.exp(-d2 / (2.0 * sigma * sigma))
    if kind == "bubble":
        return (d2 <= sigma * sigma + 1e-9).astype(float)
    if kind == "triangle":
        return np.clip(1.0 - np.sqrt(d2) / sigma, 0.0, None)
    if kind == "mexican_hat":
        s = d2 / (2.0 * sigma * sigma)
        return np.exp(-s) * (1.0 - 2.0 * s)
    raise ValueError(f"unknown neighbourhood {kind!r}; choose one of {', '.join(NEIGHBORHOODS)}")


def radius_schedule(start: float, end: float, epochs: int, decay: str = "linear") -> np.ndarray:
    """Radius for each epoch, from ``start`` at the first to ``end`` at the last."""
    if epochs <= 1:
        return np.array([start], dtype=float)
    t = np.arange(epochs) / (epochs - 1)
    if decay == "linear":
        return start + (end - start) * t
    if decay == "exponential":
        return start * (end / start) ** t
    raise ValueError(f"unknown decay {decay!r}; choose linear or exponential")
