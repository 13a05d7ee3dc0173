"""Work on one block of cleaned rows, run on the workers, and the client-side helpers
that add the blocks' results up. The per-block work is the local engine's code."""

from __future__ import annotations

import hashlib

import numpy as np

from somcli.algorithms import som as batch
from somcli.algorithms.grid import Grid
from somcli.algorithms.nearest import DEFAULT_CHUNK, Units, nearest

# ---------------------------------------------------------------- on the workers

def on_sums(X: np.ndarray, W: np.ndarray):
    return batch.epoch_sums(X, W, DEFAULT_CHUNK, 1)


def on_moments(X: np.ndarray):
    present = ~np.isnan(X)
    return np.nansum(X, axis=0, dtype=np.float64), present.sum(axis=0), len(X)


def on_scatter(X: np.ndarray, mean: np.ndarray):
    return batch.scatter(X, mean)


def on_evaluate(block, W: np.ndarray, grid: Grid):
    """(bmu, qe) per row (-1/NaN where unusable) and the block's hits, QE and TE sums."""
    X, usable = block
    n = len(X)
    bmu = np.full(n, -1, dtype=np.int32)
    qe = np.full(n, np.nan)
    second = np.full(n, -1, dtype=np.int32)
    idx = np.flatnonzero(usable)
    if len(idx):
        b, d, s = nearest(X[idx] if len(idx) < n else X, Units(W, X.dtype), second=True)
        bmu[idx], qe[idx], second[idx] = b, d, s
    lost = np.isnan(qe) & (bmu >= 0)
    bmu[lost] = -1
    found = bmu >= 0
    hits = np.bincount(bmu[found], minlength=grid.units)
    errors = int((~grid.adjacent(bmu[found], second[found])).sum()) if grid.units > 1 else 0
    complete = found & ~np.isnan(X).any(axis=1)
    return bmu, qe, {"hits": hits, "qe_sum": float(qe[found].sum()), "found": int(found.sum()),
                     "te_errors": errors, "complete": complete}


def on_found_qe(ev) -> np.ndarray:
    bmu, qe, _ = ev
    return qe[bmu >= 0]


def on_scores(ev, U: np.ndarray, ref: tuple[float, float]) -> np.ndarray:
    bmu, qe, _ = ev
    score = qe / ref[0] + (U / ref[1])[np.maximum(bmu, 0)]
    score *= 0.5
    score[bmu < 0] = np.nan
    return score


def on_found_scores(score: np.ndarray) -> np.ndarray:
    return score[~np.isnan(score)]


def on_cluster_sums(block, labels: np.ndarray, k: int):
    """Per-cluster sums and counts of the scaled features (gaps skipped)."""
    X, _ = block
    ok = labels >= 0
    values = np.asarray(X[ok], dtype=np.float64)
    present = ~np.isnan(values)
    sums = np.zeros((k, X.shape[1]))
    counts = np.zeros((k, X.shape[1]))
    np.add.at(sums, labels[ok], np.where(present, values, 0.0))
    np.add.at(counts, labels[ok], present)
    return sums, counts, np.bincount(labels[ok], minlength=k)


def on_unit_labels(ev, unit_cluster: np.ndarray) -> np.ndarray:
    bmu = ev[0]
    return np.where(bmu >= 0, unit_cluster[np.maximum(bmu, 0)], -1)


def on_rows(block, positions: np.ndarray) -> np.ndarray:
    return np.asarray(block[0][positions])


def on_take(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return np.asarray(values[positions])


def on_bytes(block) -> bytes:
    return np.ascontiguousarray(block[0]).tobytes()


def on_lloyd(block, centers: np.ndarray):
    """One Lloyd step's sums, counts and inertia for the usable rows of a block."""
    X, usable = block
    rows = X if usable.all() else X[usable]
    labels, dist, _ = nearest(rows, Units(centers, rows.dtype))
    k, d = centers.shape
    sums = np.zeros((k, d))
    for j in range(d):
        sums[:, j] = np.bincount(labels, weights=rows[:, j], minlength=k)
    return sums, np.bincount(labels, minlength=k), float((dist ** 2).sum())


def on_assign(block, centers: np.ndarray):
    X, usable = block
    labels = np.full(len(X), -1, dtype=np.int32)
    dist = np.full(len(X), np.nan)
    idx = np.flatnonzero(usable)
    if len(idx):
        labels[idx], dist[idx], _ = nearest(X[idx], Units(centers, X.dtype))
    return labels, dist


# ---------------------------------------------------------------- on the client

def gather_rows(client, blocks: list, counts: np.ndarray, positions: np.ndarray,
                fn=on_rows) -> np.ndarray:
    """Rows at global ``positions`` (0-based over the blocks' rows) in that order."""
    offsets = np.concatenate([[0], np.cumsum(counts)])
    owner = np.searchsorted(offsets, positions, side="right") - 1
    pieces = []
    for b in np.unique(owner):
        local = positions[owner == b] - offsets[b]
        pieces.append((np.flatnonzero(owner == b), client.submit(fn, blocks[b], local, pure=False)))
    out = None
    for where, fut in pieces:
        values = fut.result()
        if out is None:
            out = np.empty((len(positions),) + values.shape[1:], dtype=values.dtype)
        out[where] = values
    return out if out is not None else np.empty(0)


def fingerprint(client, blocks: list, n: int, d: int, dtype) -> str:
    """SHA-256 of the cleaned matrix, block by block: the same digest as the local engine's."""
    h = hashlib.sha256()
    h.update(f"{np.dtype(dtype).str}{(n, d)}".encode())
    for fut in client.map(on_bytes, blocks, pure=False):
        h.update(fut.result())
    return h.hexdigest()
