"""The structure verdict's false alarms and misses (issue 27, item 2).

    python benchmarks/bench_structure.py

Noise families (no clusters) should give ``none``; planted groups at their k should give
``clear`` (or at least not ``none``) once they are apart. Prints one row per family:
how often each verdict came out over seeds and k (noise) or seeds (planted, at the true k).
"""

from __future__ import annotations

import numpy as np

from somcli.algorithms import structure

NOISE = {
    "gaussian 4-d": lambda r: r.normal(size=(600, 4)),
    "correlated gaussian 3-d": lambda r: r.multivariate_normal(
        [0, 0, 0], [[1, .8, .5], [.8, 1, .3], [.5, .3, 1]], size=600),
    "uniform 1-d": lambda r: r.uniform(size=(1000, 1)),
    "uniform 2-d": lambda r: r.uniform(size=(1000, 2)),
    "uniform 5-d": lambda r: r.uniform(size=(300, 5)),
    "student t, 3 df": lambda r: r.standard_t(3, size=(500, 3)),
    "lognormal": lambda r: r.lognormal(size=(500, 3)),
    "exponential": lambda r: r.exponential(size=(500, 2)),
}


def planted(sep, sizes=(200, 200, 200), sd=None, d=3):
    sd = sd or (1.0,) * len(sizes)

    def make(r):
        centres = np.eye(max(len(sizes), d))[:len(sizes), :d] * sep
        return np.vstack([r.normal(c, s, (n, d)) for c, n, s in zip(centres, sizes, sd, strict=True)])
    return make, len(sizes)


PLANTED = {
    "3 groups, 3 SD apart": planted(3.0),
    "3 groups, 4 SD apart": planted(4.0),
    "3 groups, 6 SD apart": planted(6.0),
    "3 groups, 6 SD, sizes 500/80/20": planted(6.0, (500, 80, 20)),
    "3 groups, 6 SD, SDs 1/0.3/2": planted(6.0, sd=(1.0, 0.3, 2.0)),
    "2 groups, 5 SD, sizes 900/60": planted(5.0, (900, 60)),
}


def tally(verdicts):
    return {w: verdicts.count(w) for w in ("none", "weak", "clear")}


if __name__ == "__main__":
    print("| family | k | none | weak | clear |\n|---|---|---|---|---|")
    for name, make in NOISE.items():
        found = [structure.verdict(make(np.random.default_rng(s)), k, s)["verdict"]
                 for s in range(1, 11) for k in (2, 3, 4, 5)]
        t = tally(found)
        print(f"| {name} (noise) | 2-5 | {t['none']} | {t['weak']} | {t['clear']} |")
    for name, (make, k) in PLANTED.items():
        found = [structure.verdict(make(np.random.default_rng(s)), k, s)["verdict"]
                 for s in range(1, 11)]
        t = tally(found)
        print(f"| {name} | {k} | {t['none']} | {t['weak']} | {t['clear']} |")
