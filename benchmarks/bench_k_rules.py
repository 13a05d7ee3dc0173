"""How often each rule for k finds the true number of clusters (issue 27, item 1).

    python benchmarks/bench_k_rules.py [--quick]

Rules, each choosing among k = 2..10 on the same standardised rows with the same fits:
- somcli: `somcli.algorithms.choose.select_k` (Calinski-Harabasz among stable solutions
  without tiny clusters), then `choose.clearest` (another admissible k whose clusters are
  all separated by gaps when the best-scored k's are not), as `somcli kmeans -k auto` runs
  it; "offered" also counts the
  alternatives it reports (`choose.alternatives`: admissible, within 10% of the score);
- ch: the Calinski-Harabasz index alone (its maximum over every k);
- silhouette: the mean silhouette alone;
- gap: the gap statistic (Tibshirani, Walther and Hastie 2001; 10 uniform references in
  the box of the data's principal axes; the smallest k with gap(k) >= gap(k+1) - s(k+1));
- stability: the most stable k alone (mean ARI of refits on 4 resamples of 80%; ties: the
  smaller k).

Cases: planted tables of five shapes (well apart; unequal sizes; elongated clusters with
their own covariances; close together; round groups and one stretched four times), k =
2..8, 2, 5 and 10 dimensions; and the labelled tables that ship with scikit-learn (iris,
wine, breast cancer, digits). A case counts as "findable" when k-means at the true k
recovers the classes (ARI >= 0.5): no rule that picks k for k-means can do better than
k-means itself. Prints one JSON line per case, then totals.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

KS = list(range(2, 11))


def standardise(X):
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def planted(k: int, d: int, shape: str, seed: int):
    rng = np.random.default_rng(seed)
    spread = {"apart": 5.0, "unequal": 5.0, "elongated": 6.0, "close": 3.0,
              "one long": 6.0}[shape]
    centres = rng.normal(size=(k, d)) * spread
    if shape == "unequal":
        sizes = np.maximum((rng.dirichlet(np.ones(k) * 1.5) * 150 * k).astype(int), 15)
    else:
        sizes = np.full(k, 120)
    labels = np.repeat(np.arange(k), sizes)
    noise = rng.normal(size=(len(labels), d))
    if shape == "elongated":  # each cluster its own covariance: axes scaled, then rotated
        for c in range(k):
            q, _ = np.linalg.qr(rng.normal(size=(d, d)))
            rows = labels == c
            noise[rows] = (noise[rows] * rng.uniform(0.3, 1.8, size=d)) @ q
    if shape == "one long":  # round groups, and one stretched 4 times along a direction
        axis = rng.normal(size=d)
        axis /= np.linalg.norm(axis)
        rows = labels == 0
        noise[rows] += 3.0 * np.outer(noise[rows] @ axis, axis)
    return standardise(centres[labels] + noise), labels


def cases(quick: bool):
    shapes = ("apart", "unequal", "elongated", "close", "one long")
    dims = (2, 10) if quick else (2, 5, 10)
    for shape in shapes:
        for k in range(2, 9):
            for d in dims:
                X, y = planted(k, d, shape, seed=1000 * k + 10 * d + len(shape))
                yield f"{shape} k={k} d={d}", X, y
    from sklearn import datasets

    for name in ("iris", "wine", "breast_cancer", "digits"):
        data = getattr(datasets, f"load_{name}")()
        yield name, standardise(data.data.astype(float)), data.target


def fits(X, seed=0):
    """The fits every rule shares: labels of each k, and refits on resamples."""
    from somcli.algorithms import kmeans as km

    cache: dict[int, np.ndarray] = {}

    def labels(k):
        if k not in cache:
            cache[k] = km.assign(X, km.fit(X, k, seed=seed).centers)[0]
        return cache[k]

    def refit(k, rows):
        return km.assign(X[rows], km.fit(X[rows], k, seed=seed, n_init=3).centers)[0]

    return labels, refit


def gap_rule(X, labels, seed=0, refs=10):
    """Tibshirani et al.'s gap statistic with uniform references on the principal axes."""
    from somcli.algorithms import kmeans as km

    rng = np.random.default_rng(seed)
    Xc = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(Xc, full_matrices=False)
    Z = Xc @ vt.T
    lo, hi = Z.min(axis=0), Z.max(axis=0)

    def log_w(data, lab):
        total = 0.0
        for c in np.unique(lab):
            part = data[lab == c]
            total += ((part - part.mean(axis=0)) ** 2).sum()
        return np.log(max(total, 1e-300))

    references = [rng.uniform(lo, hi, size=Z.shape) @ vt for _ in range(refs)]
    gap, s = {}, {}
    for k in KS + [KS[-1] + 1]:
        own = log_w(X, labels(k) if k in KS else km.assign(X, km.fit(X, k, seed=seed).centers)[0])
        ref = np.array([log_w(R, km.assign(R, km.fit(R, k, seed=seed, n_init=3).centers)[0])
                        for R in references])
        gap[k] = ref.mean() - own
        s[k] = ref.std() * np.sqrt(1 + 1 / refs)
    for k in KS:
        if gap[k] >= gap[k + 1] - s[k + 1]:
            return k
    return KS[-1]


def run_case(X, y, seed=0) -> dict:
    from somcli.algorithms import choose, metrics

    labels, refit = fits(X, seed)
    true_k = len(np.unique(y))
    chosen, evidence = choose.select_k(X, KS, labels, refit, seed)
    chosen = choose.clearest(X, chosen, evidence, seed)[0]  # as -k auto runs it
    offered = [a["k"] for a in choose.alternatives(chosen, evidence)]
    ch = {k: e["calinski_harabasz"] for k, e in evidence.items()
          if e["calinski_harabasz"] is not None}
    sil = {k: e["silhouette"] for k, e in evidence.items() if e["silhouette"] is not None}
    stab = {k: e["stability"] for k, e in evidence.items() if e["stability"] is not None}
    return {
        "true_k": true_k,
        "findable": bool(metrics.adjusted_rand(y, labels(true_k)) >= 0.5)
        if true_k in KS else False,
        "somcli": chosen, "offered": offered,
        "ch": max(ch, key=lambda k: (ch[k], -k)),
        "silhouette": max(sil, key=lambda k: (sil[k], -k)),
        "gap": gap_rule(X, labels, seed),
        "stability": max(stab, key=lambda k: (round(stab[k], 6), -k)),
    }


RULES = ("somcli", "ch", "silhouette", "gap", "stability")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="2 and 10 dimensions only")
    args = ap.parse_args()
    rows = []
    t0 = time.perf_counter()
    for name, X, y in cases(args.quick):
        r = run_case(X, y) | {"case": name}
        rows.append(r)
        print(json.dumps(r), flush=True)
    out = {}
    for group, keep in (("all", lambda r: True), ("findable", lambda r: r["findable"]),
                        ("real", lambda r: "=" not in r["case"])):
        sel = [r for r in rows if keep(r)]
        out[group] = {"cases": len(sel)} | {
            rule: sum(r[rule] == r["true_k"] for r in sel) for rule in RULES} | {
            "somcli chosen or offered": sum(r["somcli"] == r["true_k"]
                                            or r["true_k"] in r["offered"] for r in sel)}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, indent=1))
    misses = [f"{r['case']}: true {r['true_k']}, chose {r['somcli']} offered {r['offered']}"
              for r in rows if r["findable"] and r["somcli"] != r["true_k"]
              and r["true_k"] not in r["offered"]]
    print("findable, neither chosen nor offered:", *misses, sep="\n  ", file=sys.stderr)


if __name__ == "__main__":
    main()
