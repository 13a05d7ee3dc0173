"""Minibatches of rows for the embeddings' gradient steps, wherever the rows live.

A :class:`Source` says how many rows there are, each column's observed sum and count (the
starting biases), and how to fetch rows by position. The training loops draw a random order
per epoch and read it in superbatches (one fetch brings many minibatches: from this
process's arrays, or from a cluster's workers), so the steps, and the model, are the same
whichever engine holds the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

SUPERBATCH = 16_384  # rows one fetch brings (rounded down to whole minibatches)


@dataclass(frozen=True)
class Source:
    n: int  # rows
    d: int  # features
    value_sums: np.ndarray  # per column: the sum of its observed values
    observed: np.ndarray  # per column: its observed cells
    fetch: Callable  # positions -> (values with gaps at 0, observed mask) of those rows
    superbatch: int = SUPERBATCH

    def share(self) -> np.ndarray:
        """Each column's observed mean, kept off 0 and 1 (the starting visible biases)."""
        return np.clip(self.value_sums / np.maximum(self.observed, 1), 0.01, 0.99)


def of_arrays(V: np.ndarray, M: np.ndarray) -> Source:
    """Rows held here: ``V`` (any value at gaps) and its observed cells ``M``."""
    V = np.where(M, V, 0.0)
    return Source(len(V), V.shape[1], (V * M).sum(axis=0), M.sum(axis=0),
                  lambda positions: (V[positions], M[positions]))


def minibatches(source: Source, order: np.ndarray, batch: int
                ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The rows in ``order``, ``batch`` at a time, fetched a superbatch at a time; the next
    superbatch is fetched on a thread while this one's minibatches are used (from a
    cluster's workers, the round trip then costs no training time)."""
    from concurrent.futures import ThreadPoolExecutor

    size = batch * max(1, source.superbatch // batch)
    starts = range(0, source.n, size)
    if len(starts) == 1:  # nothing to overlap
        V, M = source.fetch(order)
        for start in range(0, len(V), batch):
            yield V[start:start + batch], M[start:start + batch]
        return
    with ThreadPoolExecutor(1, thread_name_prefix="somcli-fetch") as pool:
        ahead = pool.submit(source.fetch, order[:size])
        for s in starts:
            V, M = ahead.result()
            if s + size < source.n:
                ahead = pool.submit(source.fetch, order[s + size:s + 2 * size])
            for start in range(0, len(V), batch):
                yield V[start:start + batch], M[start:start + batch]
