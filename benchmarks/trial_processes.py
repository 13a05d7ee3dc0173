"""A trial, kept for the record (issue 17): the batch SOM's epoch on worker processes
instead of threads (no GIL between them). Each forked worker holds a slice of the rows,
receives the codebook each epoch and sends back its slice's sums (small messages).

    OPENBLAS_NUM_THREADS=1 python benchmarks/trial_processes.py --d 10 --processes 2
    OPENBLAS_NUM_THREADS=2 python benchmarks/chunk_sizes.py --d 10 --threads 2 --chunks 4096

Best of two rounds of 3 epochs, 1M rows, 20x20 rect map. The sums of the slices are added
in slice order, not chunk order, so the map differs from the threaded one in the last bits
(kept: a real engine would send back every chunk's sums). Not a test: it measures.
"""

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np

from somcli.algorithms import som
from somcli.algorithms.grid import Grid, neighborhood, radius_schedule
from somcli.algorithms.nearest import DEFAULT_CHUNK, Units

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import make_data  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=10)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    X = make_data(args.n, args.d).astype(np.float32)  # bench_engines' blobs
    grid = Grid(20, 20, "rect")
    W0 = som.pca_init(X, grid)
    radii = radius_schedule(5.0, 1.0, 3)

    def worker(conn, lo, hi):  # forked: X is shared copy-on-write
        while (W := conn.recv()) is not None:
            units = Units(W, X.dtype)
            conn.send(som.add_partials(
                [som.partial_sums(X[s:min(s + DEFAULT_CHUNK, hi)], units)
                 for s in range(lo, hi, DEFAULT_CHUNK)], W.shape))

    cuts = [int(c) // DEFAULT_CHUNK * DEFAULT_CHUNK
            for c in np.linspace(0, args.n, args.processes + 1)]
    cuts[-1] = args.n
    ctx = mp.get_context("fork")
    pipes = []
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        here, there = ctx.Pipe()
        ctx.Process(target=worker, args=(there, lo, hi), daemon=True).start()
        pipes.append(here)
    best = np.inf
    for _ in range(2):
        W = W0.copy()
        t = time.perf_counter()
        for sigma in radii:
            for pipe in pipes:
                pipe.send(W)
            sums, counts, _, _ = som.add_partials([p.recv() for p in pipes], W.shape)
            W = som.update(W, sums, counts, neighborhood(grid, sigma, "gaussian"))
        best = min(best, (time.perf_counter() - t) / len(radii))
    for pipe in pipes:
        pipe.send(None)
    print(f"d={args.d} processes={args.processes}: {best:.3f} s per epoch")


if __name__ == "__main__":
    main()
