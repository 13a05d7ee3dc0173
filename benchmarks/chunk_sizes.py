"""Seconds per epoch of the batch SOM for several chunk sizes (rows searched per step), on
one or more threads: the chunk size is the trade between the score block staying in cache
and the NumPy calls per chunk that hold the GIL.

    OPENBLAS_NUM_THREADS=1 python benchmarks/chunk_sizes.py --d 10 --threads 1
    OPENBLAS_NUM_THREADS=2 python benchmarks/chunk_sizes.py --d 10 --threads 2

Best of two rounds of 3 epochs per size, 1M rows, 20x20 rect map. Not a test: it measures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from somcli.algorithms import som
from somcli.algorithms.grid import Grid, radius_schedule

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import make_data  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--chunks", default="1024,2048,4096,8192,16384")
    args = ap.parse_args()
    X = make_data(args.n, args.d).astype(np.float32)  # bench_engines' blobs
    grid = Grid(20, 20, "rect")
    W0 = som.pca_init(X, grid)
    radii = radius_schedule(5.0, 1.0, 3)
    best: dict[int, float] = {}
    for _ in range(2):
        for chunk in (int(c) for c in args.chunks.split(",")):
            t = time.perf_counter()
            som.train(X, W0, grid, radii, chunk=chunk, threads=args.threads)
            per_epoch = (time.perf_counter() - t) / len(radii)
            best[chunk] = min(best.get(chunk, np.inf), per_epoch)
    print(json.dumps({"n": args.n, "d": args.d, "threads": args.threads,
                      "seconds_per_epoch": {c: round(v, 3) for c, v in best.items()}}))


if __name__ == "__main__":
    main()
