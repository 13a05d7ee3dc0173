"""Rows on an array module other than the CPU's: CuPy on a GPU (``--device cuda``).

Nothing here is an algorithm of its own: the best-unit search
(:mod:`somcli.algorithms.nearest`), the SOM epoch's sums (:func:`somcli.algorithms.som.
epoch_sums`) and Lloyd's sums (:func:`somcli.algorithms.lloyd.partial_sums`) run on a
:class:`Rows` as they run on a host matrix, their :class:`~somcli.algorithms.nearest.Units`
carrying the array module, so the float64 settling of near ties is the same rule: a GPU map
is the CPU map. What is here is what differs on a device: the rows cross to it once (or
chunk by chunk when they do not fit), chunks are big (a kernel launch costs more than a
row), and only small results (sums, counts, best units) come back.

With ``xp = numpy`` every function runs on the CPU: that is how the tests cover this code
on machines without a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from somcli.algorithms.nearest import Units, search, to_host

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
    def dtype(self):
        return (self.array if self.array is not None else self.host).dtype

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


def nearest(rows: Rows, W: np.ndarray, second: bool = False):
    """(best unit, distance, second best or None) of every row, on the host."""
    units = Units(W, rows.dtype, rows.xp)
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
