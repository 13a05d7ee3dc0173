"""A trial, kept for the record (issue 17): does a compiled per-chunk pass without the GIL
(Numba, ``nogil``, cached) beat NumPy's per-chunk calls in the batch SOM's epoch?

It replaces, after the same GEMM into the chunk's score block, the argmin / runner-up /
near-tie check (``nearest._settle``) and the float64 sums (``som._unit_sums``) with two Numba
loops, settles the flagged rows in float64 as somcli does, and trains the same map.

    pip install numba
    python benchmarks/trial_numba_scan.py

On the 2-core development machine (numba 0.68.1) it was slower: see benchmarks/README.md.
Not a test: it measures.
"""

import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import make_data  # noqa: E402

from somcli.algorithms import som  # noqa: E402
from somcli.algorithms.grid import Grid, radius_schedule  # noqa: E402
from somcli.algorithms.nearest import Units, _buffers, _exact  # noqa: E402
from somcli.runtime.parallel import map_chunks, workers  # noqa: E402


@njit(nogil=True, cache=True)
def scan(scores, block, scale, w_norm, best, close):
    """Per row: first min index, and whether the runner-up is within the float32 bound."""
    k, m = scores.shape
    d = block.shape[1]
    for i in range(k):
        b = 0
        v1 = scores[i, 0]
        for j in range(1, m):
            if scores[i, j] < v1:
                v1 = scores[i, j]
                b = j
        v2 = np.inf
        for j in range(m):
            if j != b and scores[i, j] < v2:
                v2 = scores[i, j]
        xs = 0.0
        for c in range(d):
            xs += np.float64(block[i, c]) * np.float64(block[i, c])
        tol = scale * (2.0 * np.sqrt(xs) * w_norm + w_norm * w_norm)
        best[i] = b
        close[i] = m > 1 and (np.float64(v2) - np.float64(v1) <= tol)


@njit(nogil=True, cache=True)
def accumulate(block, best, W, sums, counts, dist):
    k, d = block.shape
    for i in range(k):
        b = best[i]
        s = np.float32(0.0)
        for c in range(d):
            x = block[i, c]
            sums[b, c] += np.float64(x)
            diff = x - W[b, c]
            s += diff * diff
        counts[b] += 1.0
        dist[i] = np.sqrt(s)


def partial_nb(chunk, units):
    m, d = units.W.shape
    k = len(chunk)
    scores, aug = _buffers(k, units, units.folded.dtype)
    scores, aug = scores[:k], aug[:k]
    aug[:, :d] = chunk
    np.matmul(aug, units.folded, out=scores)
    best = np.empty(k, np.int64)
    close = np.empty(k, np.bool_)
    scale, w_norm = units._tol
    scan(scores, chunk, scale, w_norm, best, close)
    idx = np.flatnonzero(close)
    if len(idx):
        best[idx] = _exact(chunk[idx], units.exact)[0]
    sums = np.zeros((m, d))
    counts = np.zeros(m)
    dist = np.empty(k, np.float32)
    accumulate(chunk, best, units.W, sums, counts, dist)
    return sums, np.repeat(counts[:, None], d, axis=1), float(dist.sum(dtype=np.float64)), k


def epoch_nb(X, W, chunk, threads, pool):
    units = Units(W, X.dtype)
    parts = map_chunks(lambda s: partial_nb(X[s:s + chunk], units), len(X), chunk, threads,
                       pool)
    return som.add_partials(parts, W.shape)


def main() -> None:
    X = make_data(1_000_000, 10).astype(np.float32)
    grid = Grid(20, 20, "rect")
    W0 = som.pca_init(X.astype(np.float64), grid)
    radii = radius_schedule(5, 1, 5)
    epoch_nb(X[:5000], W0, 4096, 1, None)  # compile (or load the cache) first
    for threads in (1, 2):
        with workers(threads) as pool:
            maps = {}
            for name in ("numpy", "numba"):
                def sums(W, threads=threads, pool=pool):
                    return epoch_nb(X, W, 4096, threads, pool)
                best = float("inf")
                for _ in range(2):
                    t0 = time.perf_counter()
                    maps[name], _ = som.train(X, W0, grid, radii, threads=threads,
                                              sums_fn=sums if name == "numba" else None)
                    best = min(best, (time.perf_counter() - t0) / len(radii))
                print(f"{threads} thread(s) {name}: {best:.4f} s/epoch", flush=True)
            print("   max |numba map - numpy map|:",
                  float(np.abs(maps["numba"] - maps["numpy"]).max()))


if __name__ == "__main__":
    main()
