"""Choosing k, and grouping a map's units into clusters. Pure: the fits and the scores
come in as functions, so every backend scores candidates its own way on the same rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from somcli.algorithms import kmeans as km
from somcli.algorithms import kmeans_small
from somcli.errors import DataError

STABLE = 0.75  # mean adjusted Rand index between a fit and refits on resamples, at least
RESAMPLES = 4
RESAMPLE_SHARE = 0.8
#: a cluster of fewer rows than this share (and at least 2) is too small: 1%, not 2%, since
#: benchmarks/bench_k_rules.py (planted clusters of 15 rows in 900 were refused at 2%)
SMALL_SHARE = 0.01
FEW_ROWS = 20  # below this many rows k is a guess, and the report says so
METHOD = ("Calinski-Harabasz (higher is better) among the stable solutions without tiny "
          "clusters: the smallest cluster holds at least max(2, 1% of the rows), and refits "
          f"on {RESAMPLES} resamples of {RESAMPLE_SHARE:.0%} of the rows agree with the fit "
          f"(mean adjusted Rand index >= {STABLE})")


def select_k(X: np.ndarray, ks: list[int], labels: Callable, refit: Callable, seed: int,
             progress: Callable[[str], None] = lambda m: None) -> tuple[int, dict]:
    """The k among ``ks`` with the best Calinski-Harabasz index (Calinski and Harabasz 1974;
    the best of 30 rules in Milligan and Cooper 1985) among the solutions that are stable
    under resampling (Ben-Hur, Elisseeff and Guyon 2002; Lange et al. 2004) and have no
    tiny cluster; without such a solution, the best index among those without tiny
    clusters, else among all.

    ``labels(k)`` gives the scored rows ``X``'s clusters for k; ``refit(k, rows)`` the
    clusters of ``X[rows]`` from a fit on those rows only. Returns (k, evidence per k).
    """
    from somcli.algorithms import metrics

    n = len(X)
    rng = np.random.default_rng(seed)
    draws = [np.sort(rng.choice(n, size=max(2, int(RESAMPLE_SHARE * n)), replace=False))
             for _ in range(RESAMPLES)]
    small = max(2, int(np.ceil(SMALL_SHARE * n)))
    evidence: dict[int, dict] = {}
    pick = np.arange(n) if n <= metrics.SILHOUETTE_SAMPLE else np.sort(
        rng.choice(n, size=metrics.SILHOUETTE_SAMPLE, replace=False))
    silhouettes = {}  # k -> labels of the picked rows: scored together, distances once
    for k in ks:
        progress(f"trying k={k}")
        lab = labels(k)
        sizes = np.bincount(lab[lab >= 0], minlength=k)
        found = int((sizes > 0).sum())
        row = {"calinski_harabasz": None, "silhouette": None, "davies_bouldin": None,
               "stability": None, "smallest_cluster": int(sizes.min()), "admissible": False}
        if 2 <= found < n:
            row["calinski_harabasz"] = float(metrics.calinski_harabasz_score(X, lab))
            row["davies_bouldin"] = float(metrics.davies_bouldin_score(X, lab))
            silhouettes[k] = lab[pick]
        if k < len(draws[0]):
            row["stability"] = float(np.mean([metrics.adjusted_rand(lab[d], refit(k, d))
                                              for d in draws]))
        evidence[k] = row
    if silhouettes:
        scores = metrics.silhouette_scores(X[pick], list(silhouettes.values()))
        for k, value in zip(silhouettes, scores, strict=True):
            evidence[k]["silhouette"] = value
    scored = [k for k in ks if evidence[k]["calinski_harabasz"] is not None]
    if not scored:
        raise DataError(f"-k auto needs at least 3 distinct rows, the data has {n}",
                        "pass -k explicitly")
    roomy = [k for k in scored if evidence[k]["smallest_cluster"] >= small] or scored
    stable = [k for k in roomy if (evidence[k]["stability"] or 0.0) >= STABLE] or roomy
    for k in stable:
        evidence[k]["admissible"] = True
    best = max(stable, key=lambda k: (evidence[k]["calinski_harabasz"], -k))
    return best, evidence


def row_space(X: np.ndarray) -> np.ndarray:
    """``X`` itself, or, when it is wider than long, its centred rows in coordinates of the
    space they span (min(n, d) columns, from a thin SVD). Every distance between rows, and
    between rows and means of rows, is the same there, so k-means, its k-means++ draws and
    the scores :func:`select_k` compares see the same numbers (to rounding) at a fraction
    of the work: -k auto on 200 rows x 10,000 features fitted its 198 candidates on 200
    columns, not 10,000."""
    n, d = X.shape
    if d <= n:
        return X
    u, s, _ = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    return u * s


def selection(k: int, evidence: dict, rows: int, what: str, why: str | None = None,
              gapless: Iterable[int] = ()) -> dict:
    """The report's k selection: the method, the index per k, the evidence, the choice
    (``why``: why it is not the best-scored k; ``gapless``: the k :func:`clearest` found
    without clear gaps, offered as such)."""
    note = (f"k is a guess: {rows:,} rows are too few to tell structure from noise"
            if rows < FEW_ROWS else unstable(k, evidence))
    return {"method": f"{METHOD}; scored on {rows:,} {what}" + (f"; {why}" if why else ""),
            "scores": {kk: e["calinski_harabasz"] for kk, e in evidence.items()},
            "chosen": k, "evidence": evidence, "note": note,
            "alternatives": alternatives(k, evidence, gapless)}


def unstable(k: int, evidence: dict) -> str | None:
    """What the reader must know when no candidate was stable (the rule then took the best
    score among those without a tiny cluster): None when one was."""
    considered = [e for e in evidence.values() if e.get("admissible")]
    agree = [e["stability"] for e in considered if e["stability"] is not None]
    if not agree or max(agree) >= STABLE:
        return None
    return (f"no k was stable: refits on resamples agreed with a fit at best ARI "
            f"{max(agree):.2f} (stable from {STABLE}), so k = {k}, the best score among "
            "the candidates without a tiny cluster, may not be found again on other rows "
            "of the same source")


def stable_mark(e: dict) -> str:
    """The k choice table's "stable, no tiny cluster" cell."""
    if not e.get("admissible"):
        return "no"
    return "yes" if e["stability"] is None or e["stability"] >= STABLE else "no tiny cluster"


def clearest(X: np.ndarray, k: int, evidence: dict, seed: int
             ) -> tuple[int, dict | None, str | None, list[int]]:
    """``k``, or another k whose clusters are all separated by gaps when ``k``'s are not
    (the best score cut a group in two, or an elongated group in several): first its
    alternatives (nearly as well supported), then, when ``k`` shows no structure at all,
    every smaller admissible k (stable, no tiny cluster), best-scored first. Returns (k,
    its structure verdict, why it was chosen over the best-scored k or None, the k found
    without clear gaps)."""
    from somcli.algorithms import structure

    verdict = structure.verdict(X, k, seed)
    if verdict is None or verdict["verdict"] == "clear":
        return k, verdict, None, []
    gapless = [k]
    near = {a["k"]: a["why"] for a in alternatives(k, evidence)}
    others = list(near)
    if verdict["verdict"] == "none":
        others += sorted((kk for kk, e in evidence.items()
                          if kk < k and kk not in near and e.get("admissible")),
                         key=lambda kk: -(evidence[kk]["calinski_harabasz"] or 0.0))
    for other in others:
        quick = structure.valley(X, other, seed)  # (one fit: most k fail here)
        if quick is None:
            continue
        clear = structure.verdict(X, other, seed) if quick <= structure.CLEAR_VALLEY else None
        if clear is None or clear["verdict"] != "clear":
            gapless.append(other)
        else:
            support = near.get(other) or "stable, no tiny cluster"
            why = (f"k = {k} scored best but left no clear gap between some of its clusters "
                   f"(structure {verdict['verdict']}); k = {other} ({support}) separates its "
                   "clusters by gaps and was chosen")
            return other, clear, why, gapless
    return k, verdict, None, gapless


ALSO_SUPPORTED = 0.9  # an admissible k scoring at least this share of the chosen one's
MAX_ALTERNATIVES = 2


def alternatives(k: int, evidence: dict, gapless: Iterable[int] = ()) -> list[dict]:
    """Other k the data supports nearly as well: admissible (stable, no tiny cluster) and
    within ALSO_SUPPORTED of the chosen k's score; at most MAX_ALTERNATIVES, best first.
    One in ``gapless`` (its clusters not all separated by gaps: it may score above the
    chosen k, passed over for that) says so, ``"gaps": False``."""
    best = evidence[k]["calinski_harabasz"]
    if not best:
        return []
    close = [kk for kk, e in evidence.items() if kk != k and e.get("admissible")
             and e["calinski_harabasz"] is not None
             and e["calinski_harabasz"] >= ALSO_SUPPORTED * best]
    close.sort(key=lambda kk: -evidence[kk]["calinski_harabasz"])
    offers = []
    for kk in close[:MAX_ALTERNATIVES]:
        why = (f"stable (refits agree: ARI {evidence[kk]['stability']:.2f}), no tiny cluster, "
               f"Calinski-Harabasz {evidence[kk]['calinski_harabasz'] / best:.0%} of k = {k}'s")
        offers.append({"k": int(kk), "why": why} | ({"gaps": False} if kk in gapless else {}))
    return offers


def cluster_units(W: np.ndarray, hits_fit: np.ndarray, hits: np.ndarray, k: int | None,
                  k_auto: bool, k_max: int, seed: int, sample: tuple | None,
                  progress: Callable[[str], None] = lambda m: None):
    """Two-level clustering (Vesanto & Alhoniemi 2000): k-means on the codebook, weighted
    by hits; without ``k`` (nor ``k_auto``) every unit is its own cluster. For -k auto,
    ``sample() -> (X, bmu)`` gives scored rows and their units (see :func:`select_k`); its
    ``what``, when it has one, says which rows they are.

    Returns (cluster of each unit, number of clusters, the k selection for the report).
    """
    m = len(W)
    if not k and not k_auto:
        return np.arange(m), m, None
    live = int((hits_fit > 0).sum())
    if k_auto and live < 3:
        unit_cluster, k = _each_live_unit(W, hits_fit, hits)
        return unit_cluster, k, {"method": f"only {live} map unit(s) hold rows: too few to "
                                 f"group, {_EACH}", "scores": {}, "chosen": k}
    if live < 2:
        raise DataError("every row fell on one map unit (the map did not unfold), so its "
                        "units cannot be grouped into clusters", "leave --sigma at its "
                        "default, or make it smaller than the map's longer side")

    units = row_space(W)  # (a wide codebook in fewer columns: the same distances)

    def fit_one(kk, weights=hits_fit):
        return kmeans_small.fit(units, kk, seed=seed, weights=weights.astype(float))

    chosen = None
    if k_auto:
        X, bmu = sample()
        if len(X) < 3:
            why = f"only {len(X)} row(s) without a gap: too few to choose k"
            unit_cluster, k = _each_live_unit(W, hits_fit, hits)
            return unit_cluster, k, {"method": f"{why}, {_EACH}", "scores": {}, "chosen": k,
                                     "note": f"{why}; {_EACH} (pass -k N to group the "
                                             "units)"}
        alive = W[hits_fit > 0]
        distinct = len(np.unique(np.round(alive, 12), axis=0))
        fits = {}

        def labels(kk):
            fits[kk] = fit_one(kk)
            return km.assign(units, fits[kk].centers)[0][bmu]

        def refit(kk, rows):
            weights = np.bincount(bmu[rows], minlength=m)
            if int((weights > 0).sum()) < kk:
                return np.zeros(len(rows), dtype=int)
            return km.assign(units, fit_one(kk, weights).centers)[0][bmu[rows]]

        ks = list(range(2, min(k_max, live, distinct) + 1))
        k, evidence = select_k(X, ks, labels, refit, seed, progress)
        k, verdict, why, gapless = clearest(X, k, evidence, seed)
        what = getattr(sample, "what", "rows")  # (the rows as read, when gaps were filled)
        chosen = selection(k, evidence, len(X), f"{what}, each in its unit's cluster (k-means "
                           "on the codebook weighted by hits)", why, gapless)
        chosen["structure"] = verdict
        fit = fits[k]
    else:
        if k > live:
            raise DataError(f"-k {k} but only {live} map units hold rows",
                            f"use -k {live} or fewer, or a larger --map")
        fit = fit_one(k)
    unit_cluster = km.assign(units, fit.centers)[0]
    perm = km.order_by_size(unit_cluster, k, weight=hits.astype(float))
    return perm[unit_cluster], k, chosen


_EACH = "each map unit that holds rows is a cluster (an empty unit joins the nearest)"


def _each_live_unit(W: np.ndarray, hits_fit: np.ndarray, hits: np.ndarray
                    ) -> tuple[np.ndarray, int]:
    """Each unit that holds fit rows as a cluster, the empty units in their nearest one's,
    numbered by size (rows) as the clusters of a grouping are: clusters 0..k-1, none empty
    (numbering the units themselves left a 2-row table with clusters 0 and 7)."""
    live = np.flatnonzero(hits_fit > 0)
    if not len(live):
        return np.arange(len(W)), len(W)
    owner = km.assign(W, W[live])[0]
    owner[live] = np.arange(len(live))  # (two units with one codebook vector stay two)
    perm = km.order_by_size(owner, len(live), weight=hits.astype(float))
    return perm[owner], len(live)
