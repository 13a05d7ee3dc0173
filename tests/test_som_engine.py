"""The batch SOM engine against a plain float64 reference, and its invariances."""

from __future__ import annotations

import numpy as np
import pytest

from somcli.algorithms import som
from somcli.algorithms.grid import Grid, radius_schedule
from somcli.algorithms.group_sums import SPARSE_FROM
from somcli.algorithms.nearest import Units, _dense, _masked, nearest


def reference_batch_som(X, W0, grid, radii, kind="gaussian"):
    """Kohonen's batch rule, written out with loops: the specification."""
    W = W0.astype(np.float64).copy()
    pos = grid.positions
    for sigma in radii:
        sums = np.zeros_like(W)
        counts = np.zeros(len(W))
        for x in X:
            b = int(np.argmin(((W - x) ** 2).sum(axis=1)))
            sums[b] += x
            counts[b] += 1
        new = W.copy()
        for j in range(len(W)):
            num = np.zeros(W.shape[1])
            den = 0.0
            for i in range(len(W)):
                d2 = float(((pos[i] - pos[j]) ** 2).sum())
                h = np.exp(-d2 / (2 * sigma**2)) if kind == "gaussian" else float(d2 <= sigma**2)
                num += h * sums[i]
                den += h * counts[i]
            if den > 0:
                new[j] = num / den
        W = new
    return W


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    return np.vstack([rng.normal(0, 1, (60, 3)), rng.normal(5, 1, (60, 3))])


@pytest.mark.parametrize("topology", ["hex", "rect"])
@pytest.mark.parametrize("kind", ["gaussian", "bubble"])
def test_engine_equals_the_reference(data, topology, kind):
    grid = Grid(4, 3, topology)
    W0 = som.pca_init(data, grid)
    radii = radius_schedule(2.0, 0.8, 6)
    W, history = som.train(data, W0, grid, radii, kind, chunk=17)
    assert np.allclose(W, reference_batch_som(data, W0, grid, radii, kind), atol=1e-10)
    assert len(history) == 6 and history[-1] < max(history)


def test_chunk_size_and_row_order_do_not_change_the_codebook(data):
    grid = Grid(5, 4, "hex")
    radii = radius_schedule(2.5, 1, 10)
    W_a, _ = som.train(data, som.pca_init(data, grid), grid, radii, chunk=7)
    W_b, _ = som.train(data, som.pca_init(data, grid), grid, radii, chunk=4096)
    perm = np.random.default_rng(9).permutation(len(data))
    shuffled = data[perm]
    W_c, _ = som.train(shuffled, som.pca_init(shuffled, grid), grid, radii, chunk=33)
    W_d, _ = som.train(data, som.pca_init(data, grid), grid, radii, chunk=50, threads=2)
    assert np.allclose(W_a, W_b, atol=1e-10) and np.allclose(W_a, W_c, atol=1e-9)
    assert np.allclose(W_a, W_d, atol=1e-10)


@pytest.mark.parametrize("gaps", [False, True])
def test_float32_trains_the_map_float64_trains(data, gaps):
    """Near ties are decided in float64 and the sums kept in float64, so the float32 engine
    follows float64's trajectory (before, the maps parted by 1e-3 within ten epochs)."""
    grid = Grid(5, 4, "hex")
    radii = radius_schedule(2.5, 1, 10)
    X32 = data.astype(np.float32)
    if gaps:  # --missing mask: rows with a gap train over their present components
        X32[::7, 0] = np.nan
    W0 = som.pca_init(X32, grid)
    W64, h64 = som.train(X32.astype(np.float64), W0, grid, radii)
    W32, h32 = som.train(X32, W0, grid, radii)
    assert h32[-1] == pytest.approx(h64[-1], rel=1e-6)
    assert np.allclose(W32, W64, atol=1e-9)


def near_ties(seed=0, rows=20000, units=60, d=10):
    """Rows a hair off the midpoint of two units: float32 rounding decides them at random."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(units, d))
    a, b = rng.integers(0, units, rows), rng.integers(0, units, rows)
    X = ((W[a] + W[b]) / 2 + rng.normal(0, 1e-6, (rows, d))).astype(np.float32)
    return X, W


@pytest.mark.parametrize("second", [False, True])
@pytest.mark.parametrize("gaps", [False, True])
def test_float32_search_decides_near_ties_as_float64_does(second, gaps):
    X, W = near_ties()
    if gaps:  # the masked search: a component missing in every fifth row
        X[::5, 3] = np.nan
    b64, _, r64 = nearest(X.astype(np.float64), W, second=second)
    b32, d32, r32 = nearest(X, Units(W, np.float32), second=second)
    assert np.array_equal(b32, b64)
    if second:
        assert np.array_equal(r32, r64)
    plain = Units(W, np.float32)
    plain.exact = None  # float32 decisions only: the test data must catch them out
    assert not np.array_equal(nearest(X, plain, second=second)[0], b64)


def test_masked_search_equals_the_dense_one_on_complete_rows(data):
    W = data[::10]
    b1, d1, s1 = _dense(data.copy(), Units(W), True)
    b2, d2, s2 = _masked(data.copy(), Units(W), True)
    assert (b1 == b2).all() and (s1 == s2).all() and np.allclose(d1, d2)


def test_masked_search_ignores_missing_components(data):
    W = data[::10]
    X = data[:20].copy()
    X[::3, 1] = np.nan
    b, d, _ = nearest(X, W)
    for i, x in enumerate(X):
        present = ~np.isnan(x)
        dist = np.sqrt(((W[:, present] - x[present]) ** 2).sum(1))
        assert b[i] == np.argmin(dist) and d[i] == pytest.approx(dist.min())


def test_partial_sums_add_only_present_components():
    W = np.array([[0.0, 0.0], [10.0, 10.0]])
    chunk = np.array([[1.0, np.nan], [0.0, 1.0], [9.0, 11.0]])
    sums, counts, qe, rows = som.partial_sums(chunk, W)
    assert sums.tolist() == [[1.0, 1.0], [9.0, 11.0]]
    assert counts.tolist() == [[2.0, 1.0], [1.0, 1.0]]
    assert rows == 3 and qe == pytest.approx(1.0 + 1.0 + np.sqrt(2))


def test_update_keeps_units_without_weight():
    W = np.array([[1.0], [2.0]])
    H = np.eye(2)
    out = som.update(W, np.array([[6.0], [0.0]]), np.array([[3.0], [0.0]]), H)
    assert out.tolist() == [[2.0], [2.0]]


def test_auto_size_follows_the_toolbox_rule():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)) * np.array([3.0, 1.0, 0.1])  # sqrt(l1/l2) = 3
    size = som.auto_size(X, "rect", 2500)
    assert abs(size.rows * size.cols - 100) <= 12  # 5 * sqrt(400) = 100 units
    assert 2.2 < size.rows / size.cols < 4.0
    capped = som.auto_size(np.repeat(X, 100, axis=0), "hex", 300)
    assert capped.rows * capped.cols <= 300 and "capped" in capped.rule


def test_pca_init_spans_the_main_axis_along_the_longer_side():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 2)) * np.array([5.0, 1.0])
    W = som.pca_init(X, Grid(6, 3, "rect"))
    spread = W.reshape(6, 3, 2)
    assert np.ptp(spread[:, 0, 0]) > 5 * np.ptp(spread[0, :, 0])  # rows follow feature 0


@pytest.mark.parametrize("gaps", [False, True])
def test_a_big_blocks_unit_sums_are_bincounts_to_the_bit(gaps):
    """From SPARSE_FROM rows the unit sums are a sparse product computed without the GIL;
    they add each unit's rows in row order, as the per-column bincounts do, so a map does
    not depend on which of the two a block of its size used."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3 * SPARSE_FROM + 5, 4)).astype(np.float32)
    if gaps:
        X[::9, 2] = np.nan
    W = rng.normal(size=(30, 4))
    sums, counts, qe, rows = som.partial_sums(X, Units(W, np.float32))
    bmu, dist, _ = nearest(X.astype(np.float64), W)
    values = np.where(np.isnan(X), 0.0, X).astype(np.float64)
    by_bincount = np.stack([np.bincount(bmu, weights=values[:, j], minlength=30)
                            for j in range(4)], axis=1)
    assert np.array_equal(sums, by_bincount)
    present = (~np.isnan(X)).astype(np.float64)
    assert np.array_equal(counts, np.stack([np.bincount(bmu, weights=present[:, j],
                                                        minlength=30) for j in range(4)], 1))
    assert rows == len(X) and qe == pytest.approx(dist.sum(), rel=1e-6)


def test_a_task_of_many_score_blocks_finds_every_rows_unit():
    """A task's rows are scored SCORE_ROWS at a time (the last block shorter): every row
    gets the unit a direct float64 search gives it, and its runner-up."""
    from somcli.algorithms.nearest import SCORE_ROWS

    rng = np.random.default_rng(4)
    X = rng.normal(size=(2 * SCORE_ROWS + 123, 5)).astype(np.float32)
    W = rng.normal(size=(25, 5))
    best, dist, runner = nearest(X, Units(W, np.float32), second=True, chunk=len(X))
    d2 = ((X.astype(np.float64)[:, None, :] - W[None]) ** 2).sum(-1)
    order = np.argsort(d2, axis=1, kind="stable")
    assert np.array_equal(best, order[:, 0]) and np.array_equal(runner, order[:, 1])
    assert np.allclose(dist, np.sqrt(d2.min(axis=1)), rtol=1e-5)


@pytest.mark.parametrize("rows, features", [(40, 1_500), (3_000, 1_200)])
def test_a_wide_tables_principal_axes_are_the_covariances(rows, features, monkeypatch):
    """The map's start and shape come from the two main axes of the rows. A table wider than
    long takes them from its rows (no d x d covariance: 10,000 columns took 97 s), one of
    more than EIGH_FEATURES columns takes the two largest alone: the same axes as an
    eigen-decomposition of the whole covariance."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, features)) * np.linspace(3.0, 0.5, features)
    X[1, 2] = np.nan  # a gap counts as the column's mean
    eig, vec = som.principal_axes(X)
    monkeypatch.setattr(som, "EIGH_FEATURES", 10 ** 9)
    mean = som.column_mean(X)
    want_eig, want_vec = som.axes(som.scatter(X, mean), rows)
    assert np.allclose(eig[:2], want_eig[:2], rtol=1e-9)
    assert np.allclose(vec[:, :2], want_vec[:, :2], atol=1e-7)
