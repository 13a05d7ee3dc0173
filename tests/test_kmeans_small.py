"""The codebook's k-means (somcli.algorithms.kmeans_small) against scikit-learn's KMeans, and
the adjusted Rand index against scikit-learn's: a SOM run groups its units without importing
scikit-learn, and must group them as scikit-learn would."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import COUNTRIES
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.metrics import adjusted_rand_score

from somcli.algorithms import kmeans_small, metrics


def _cases():
    rng = np.random.default_rng(11)
    for case in range(14):
        n, d = int(rng.integers(30, 500)), int(rng.integers(1, 12))
        X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, d)
        if case % 3 == 0:  # repeated points, as a map's units that converged together
            X = np.repeat(X[: n // 4 + 3], 4, axis=0)[:n]
        distinct = len(np.unique(X, axis=0))
        k = int(rng.integers(2, min(15, distinct) + 1))
        w = rng.integers(0, 50, n).astype(float)  # dead units weigh 0
        w[0] = 1
        yield X, k, (None if case % 4 == 0 else w), int(rng.integers(0, 1000))


@pytest.mark.parametrize("X, k, w, seed", list(_cases()))
def test_fit_is_scikit_learns_kmeans(X, k, w, seed):
    want = KMeans(k, random_state=seed, n_init=10).fit(X, sample_weight=w)
    got = kmeans_small.fit(X, k, seed=seed, n_init=10, weights=w)
    np.testing.assert_allclose(got.centers, want.cluster_centers_, rtol=0, atol=1e-8)
    assert got.n_iter == want.n_iter_
    assert got.inertia == pytest.approx(want.inertia_, rel=1e-9, abs=1e-9)


def test_empty_clusters_are_relocated_as_scikit_learn_does():
    # two far groups and k=3 starting where one centre wins no point
    X = np.vstack([np.zeros((5, 2)), np.full((5, 2), 10.0), [[10.0, 11.0]]])
    w = np.ones(len(X))
    old = np.array([[0.0, 0.0], [10.0, 10.0], [-50.0, -50.0]])
    labels = kmeans_small._labels(X, old)
    new = kmeans_small._update(X, w, old, labels)
    # the empty centre takes the row farthest from its centre, and leaves its cluster
    np.testing.assert_allclose(new[2], [10.0, 11.0])
    np.testing.assert_allclose(new[1], [10.0, 10.0])


def test_plusplus_draws_scikit_learns_starts():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 5))
    for k, seed in ((2, 0), (7, 5), (20, 9)):
        want, _ = kmeans_plusplus(X, k, random_state=np.random.RandomState(seed))
        got = kmeans_small.plusplus(X, k, np.random.RandomState(seed))
        np.testing.assert_array_equal(got, want)


def test_adjusted_rand_is_scikit_learns():
    rng = np.random.default_rng(4)
    pairs = [(rng.integers(0, 4, 200), rng.integers(0, 6, 200)) for _ in range(5)]
    same = rng.integers(0, 3, 50)
    pairs += [(same, same), (same, 2 - same), (np.zeros(9, int), np.zeros(9, int)),
              (np.zeros(9, int), np.arange(9)), (np.arange(9), np.arange(9)), ([1], [2])]
    for a, b in pairs:
        assert metrics.adjusted_rand(np.asarray(a), np.asarray(b)) == pytest.approx(
            adjusted_rand_score(a, b), abs=1e-12)


def test_a_som_run_does_not_import_scikit_learn(tmp_path):
    """-k auto on a map is a codebook's worth of k-means: scikit-learn's import (about a
    second) would be most of a small table's run."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "somcli", "som", COUNTRIES,
                        "-o", tmp_path / "out", "-q", "--no-plots"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "out" / "report.json").exists()
    imported = [line.split("|")[-1].strip() for line in r.stderr.splitlines()
                if line.startswith("import time:")]
    assert "somcli.algorithms.kmeans_small" in imported
    assert not [m for m in imported if m.startswith("sklearn")]


def test_lloyd_runs_made_together_give_each_runs_own_numbers():
    """The restarts step together (one numpy call per step for all of them): each must end
    where it ends alone, to the bit, including a start that leaves a cluster empty."""
    rng = np.random.default_rng(8)
    X = np.repeat(rng.normal(size=(60, 3)), 3, axis=0)
    w = rng.integers(0, 4, len(X)).astype(float)
    starts = [X[rng.choice(len(X), 5, replace=False)] for _ in range(6)]
    starts.append(np.vstack([X[:4], [[40.0, 40.0, 40.0]]]))  # a centre no row is near
    together = kmeans_small._runs(X, w, starts, tol=1e-6)
    for start, got in zip(starts, together, strict=True):
        (alone,) = kmeans_small._runs(X, w, [start], tol=1e-6)
        np.testing.assert_array_equal(got[0], alone[0])
        assert got[1] == alone[1] and got[3] == alone[3]
        np.testing.assert_array_equal(got[2], alone[2])
    assert len({run[3] for run in together}) > 1  # the runs stopped after different steps


def test_starts_made_together_are_each_plusplus_draw_in_turn():
    """The n starts of a fit, made together, are the very numbers k-means++ draws one
    start after another from the same random state (weighted rows, ties, duplicates)."""
    rng = np.random.default_rng(11)
    for case in range(60):
        n, d = int(rng.integers(5, 300)), int(rng.integers(1, 8))
        k = int(rng.integers(2, min(n, 10) + 1))
        X = rng.normal(size=(n, d))
        X = np.round(X, 1) if case % 3 == 0 else X  # ties and repeated rows
        w = rng.integers(0, 9, n).astype(float) if case % 2 else np.ones(n)
        w[0] += 1.0
        norms = (X ** 2).sum(axis=1)
        state = np.random.RandomState(case)
        one_by_one = np.stack([kmeans_small.plusplus(X, k, state, w, norms) for _ in range(7)])
        together = kmeans_small.starts(X, k, np.random.RandomState(case), w, norms, 7)
        np.testing.assert_array_equal(together, one_by_one)
