"""somcli's RBM and autoencoder (issue 16): seconds per training epoch on 100,000 rows x 50
columns (60% missing, 16 hidden units, 64 rows per step), then what they recover on planted
ratings tables (3 groups x 300 users, 40 items, 60% missing; three seeds): held-out accuracy
against the column means, and k-means ARI on their codes against filled tables.
Run: python benchmarks/bench_embed.py"""

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


def planted(seed: int, users: int = 300, items: int = 40, missing: float = 0.6):
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(3), users)
    taste = rng.random((3, items)) < 0.5
    V = (rng.random((3 * users, items)) < np.where(taste[groups], 0.9, 0.1)).astype(float)
    return groups, V, rng.random(V.shape) > missing


def recovery() -> None:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    print("seed | median-filled ARI | mean-filled ARI | rbm ARI | autoencoder ARI | "
          "held-out accuracy rbm / autoencoder / column means")
    for seed in (0, 1, 2):
        groups, V, M = planted(seed)
        held = M & (np.random.default_rng(5).random(M.shape) < 0.1)
        train = M & ~held
        means = (V * train).sum(0) / train.sum(0)

        def ari(X, groups=groups):
            return adjusted_rand_score(groups, KMeans(3, n_init=10, random_state=0)
                                       .fit_predict(X))

        median = np.nanmedian(np.where(train, V, np.nan), axis=0)
        row = [ari(np.where(train, V, median)), ari(np.where(train, V, means))]
        accuracy = []
        for module, rate in ((rbm, 0.05), (autoencoder, 0.01)):
            model, _ = module.train(V, train, 8, 30, rate, 64, seed=0)
            row.append(ari(module.code(model, V, train, means)))
            R = module.reconstruct(model, V, train)
            accuracy.append(((R > 0.5) == (V > 0.5))[held].mean())
        accuracy.append(((np.broadcast_to(means, V.shape) > 0.5) == (V > 0.5))[held].mean())
        print(seed, *(f"{x:.3f}" for x in row), " / ".join(f"{a:.3f}" for a in accuracy),
              sep=" | ")


if __name__ == "__main__":
    main()
    recovery()
