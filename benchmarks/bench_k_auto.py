"""How often -k auto finds the true number of clusters: somcli's rule (Calinski-Harabasz
among stable solutions without tiny clusters, `somcli.algorithms.choose.select_k`, as
`somcli kmeans -k auto` runs it) against the silhouette alone (the rule before issue 13).

    python benchmarks/bench_k_auto.py

Cases: planted Gaussian clusters, k = 2..8 in 2, 5 and 10 dimensions, three seeds each
(the third seed with the centres closer together), cluster sizes drawn unequal; and the
labelled datasets bundled with scikit-learn (iris, wine, breast cancer), standardised.
Every candidate k = 2..10 is fitted with scikit-learn's KMeans on the same rows.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def standardise(X):
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def planted(k, d, seed, spread):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * spread
    sizes = np.maximum((rng.dirichlet(np.ones(k) * 3) * 600).astype(int), 10)
    labels = np.repeat(np.arange(k), sizes)
    scale = rng.uniform(0.7, 1.3, size=k)[labels][:, None]
    return standardise(centres[labels] + rng.normal(size=(len(labels), d)) * scale)


def cases():
    for k in range(2, 9):
        for d in (2, 5, 10):
            for seed in range(3):
                yield f"planted k={k} d={d} seed={seed}", planted(
                    k, d, 10 * k + d + seed, 3.0 if seed == 2 else 4.0), k
    from sklearn import datasets

    for name in ("iris", "wine", "breast_cancer"):
        data = getattr(datasets, f"load_{name}")()
        yield name, standardise(data.data), len(set(data.target))


def silhouette_rule(X, ks, seed=0):
    from somcli.algorithms import kmeans as km
    from somcli.algorithms import metrics

    scores = {}
    for k in ks:
        labels = km.assign(X, km.fit(X, k, seed=seed).centers)[0]
        scores[k] = metrics.silhouette_score(X, labels)
    return max(scores, key=lambda k: (scores[k], -k))


def somcli_rule(X, ks, seed=0):
    from somcli.algorithms import choose
    from somcli.algorithms import kmeans as km

    def labels(k):
        return km.assign(X, km.fit(X, k, seed=seed).centers)[0]

    def refit(k, rows):
        return km.assign(X[rows], km.fit(X[rows], k, seed=seed, n_init=3).centers)[0]

    return choose.select_k(X, ks, labels, refit, seed)[0]


def main() -> None:
    ks = list(range(2, 11))
    found = {"silhouette": 0, "somcli": 0}
    seconds = {"silhouette": 0.0, "somcli": 0.0}
    total, named = 0, {}
    for name, X, k in cases():
        total += 1
        picks = {}
        for rule, fn in (("silhouette", silhouette_rule), ("somcli", somcli_rule)):
            t = time.perf_counter()
            picks[rule] = fn(X, ks)
            seconds[rule] += time.perf_counter() - t
            found[rule] += picks[rule] == k
        if not name.startswith("planted"):
            named[name] = {"true k": k} | picks
        print(name, k, picks, file=sys.stderr)
    print(json.dumps({"cases": total, "true k found": found, "seconds": seconds,
                      "bundled datasets": named}, indent=1))


if __name__ == "__main__":
    main()
