"""Sums of rows per group (a map unit, a cluster): what the batch SOM's epoch, Lloyd's
steps and the clusters' profiles add up, written once.

Each group's rows are added one after the other in row order, whichever way is used, so
the sums are the same to the bit: from SPARSE_FROM rows on the CPU, the product of the
groups' one-hot matrix (CSC, built without sorting) and the rows, which scipy computes
without the GIL (two threads then add up two blocks at once); otherwise, and on a GPU, one
bincount per column (NumPy holds the GIL through bincount; scipy is not imported).
"""

from __future__ import annotations

import numpy as np

#: rows from which a block's sums are a sparse product (scipy imported) on the CPU
SPARSE_FROM = 4096


def group_sums(labels: np.ndarray, values: np.ndarray, k: int, xp=np) -> np.ndarray:
    """(k x d) sums of the rows of ``values`` (float64) per group ``labels`` (0..k-1)."""
    n, d = values.shape
    if xp is not np or n < SPARSE_FROM:
        return xp.stack([xp.bincount(labels, weights=values[:, j], minlength=k)
                         for j in range(d)], axis=1)
    from scipy import sparse

    onehot = sparse.csc_matrix((np.ones(n), labels, np.arange(n + 1)), shape=(k, n))
    return np.asarray(onehot @ values, dtype=np.float64)
