"""Seconds per training epoch of somcli's RBM and autoencoder (issue 16): 100,000 rows x 50
columns, 60% missing, 16 hidden units, 64 rows per step. Run: python benchmarks/bench_embed.py"""

from __future__ import annotations

import time

import numpy as np

from somcli.algorithms import autoencoder, rbm


def main(rows: int = 100_000, cols: int = 50, dim: int = 16, epochs: int = 3) -> None:
    rng = np.random.default_rng(0)
    V = (rng.random((rows, cols)) < 0.5).astype(float)
    M = rng.random((rows, cols)) > 0.6
    for name, module, rate in (("rbm", rbm, 0.05), ("autoencoder", autoencoder, 0.01)):
        t0 = time.perf_counter()
        module.train(V, M, dim, epochs, rate, 64, seed=0)
        print(f"{name}: {(time.perf_counter() - t0) / epochs:.3f} s per epoch "
              f"({rows:,} x {cols}, dim {dim}, batch 64)")


if __name__ == "__main__":
    main()
