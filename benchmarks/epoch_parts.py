"""Where one training epoch's time goes, part by part, on one thread: the GEMM, the
near-tie settling (argmin, runner-up, float64 re-check, distances), the unit sums.

    OPENBLAS_NUM_THREADS=1 python benchmarks/epoch_parts.py --d 10
    OPENBLAS_NUM_THREADS=1 python benchmarks/epoch_parts.py --d 50 --chunk 4096

It runs the steps of ``somcli.algorithms.som.partial_sums`` one by one over 1M rows (the
data of bench_engines.py) with a clock around each. Not a test: it measures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from somcli.algorithms import nearest as N
from somcli.algorithms import som
from somcli.algorithms.grid import Grid

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import make_data  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=10)
    ap.add_argument("--chunk", type=int, default=N.DEFAULT_CHUNK)
    args = ap.parse_args()
    n, d, chunk = args.n, args.d, args.chunk
    X = make_data(n, d).astype(np.float32)  # bench_engines' blobs
    W = som.pca_init(X, Grid(20, 20, "rect"))
    units = N.Units(W, np.float32)
    m = len(W)
    spent: dict[str, float] = {}

    def timed(name, fn):
        t = time.perf_counter()
        out = fn()
        spent[name] = spent.get(name, 0.0) + time.perf_counter() - t
        return out

    for s in range(0, n, chunk):
        block = X[s:s + chunk]
        k = len(block)
        timed("nan check", lambda: bool(np.isnan(block).any()))  # noqa: B023

        def fill():
            scores, aug = N._buffers(k, units, np.float32)  # noqa: B023
            aug[:k, :d] = block  # noqa: B023
            return scores[:k], aug[:k]  # noqa: B023

        scores, aug = timed("operand copy", fill)
        timed("gemm", lambda: np.matmul(aug, units.folded, out=scores))  # noqa: B023
        b, dist, _ = timed("settle", lambda: N._settle(scores, block, units, False))  # noqa: B023
        values = timed("float64 copy", lambda: block.astype(np.float64))  # noqa: B023
        timed("unit sums", lambda: som._unit_sums(b, values, m))  # noqa: B023
        timed("counts, QE", lambda: (np.bincount(b, minlength=m),  # noqa: B023
                                     float(dist[~np.isnan(dist)].sum())))  # noqa: B023
    total = sum(spent.values())
    print(json.dumps({"n": n, "d": d, "chunk": chunk, "epoch_s": round(total, 4),
                      "share": {k: round(v / total, 3) for k, v in spent.items()},
                      "seconds": {k: round(v, 4) for k, v in spent.items()}}, indent=1))


if __name__ == "__main__":
    main()
