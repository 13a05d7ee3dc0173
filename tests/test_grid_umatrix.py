"""Grids, neighbours, U-matrices and the topographic error against hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from somcli.algorithms.evaluation import evaluate
from somcli.algorithms.grid import Grid, neighborhood, radius_schedule
from somcli.algorithms.nearest import nearest
from somcli.algorithms.umatrix import interstitial, unit_umatrix

# 3x3 map, one feature; unit u = 3*row + col holds W[u]; all pairwise distances differ.
W33 = np.array([0, 1, 3, 6, 10, 15, 21, 28, 36], dtype=float)[:, None]


def nbrs(grid, u):
    return sorted(int(v) for v in grid.neighbors[u] if v >= 0)


def test_hex_neighbours_depend_on_row_parity():
    g = Grid(3, 3, "hex")
    assert nbrs(g, 0) == [1, 3]  # even row: below are (1,-1) (cut off) and (1,0)
    assert nbrs(g, 2) == [1, 4, 5]
    assert nbrs(g, 3) == [0, 1, 4, 6, 7]  # odd row, shifted right: above are (0,0) and (0,1)
    assert nbrs(g, 4) == [1, 2, 3, 5, 7, 8]
    assert nbrs(g, 8) == [4, 5, 7]
    # every neighbour is at distance exactly 1, every non-neighbour further
    for u in range(9):
        d = np.sqrt(g.sq_distances[u])
        assert np.allclose(d[nbrs(g, u)], 1.0)
        others = [v for v in range(9) if v != u and v not in nbrs(g, u)]
        assert (d[others] > 1.01).all()


def test_rect_neighbours():
    g = Grid(3, 3, "rect")
    assert nbrs(g, 0) == [1, 3] and nbrs(g, 4) == [1, 3, 5, 7] and nbrs(g, 5) == [2, 4, 8]


def test_unit_umatrix_rect_by_hand():
    U = unit_umatrix(W33, Grid(3, 3, "rect"))
    assert U[1, 1] == pytest.approx((9 + 4 + 5 + 18) / 4)  # 10 vs 1, 6, 15, 28
    assert U[0, 0] == pytest.approx((1 + 6) / 2)
    assert U[2, 2] == pytest.approx((8 + 21) / 2)  # 36 vs 28, 15
    assert unit_umatrix(W33, Grid(3, 3, "rect"), "max")[1, 1] == 18


def test_unit_umatrix_hex_by_hand():
    U = unit_umatrix(W33, Grid(3, 3, "hex"))
    assert U[1, 1] == pytest.approx((9 + 7 + 4 + 5 + 18 + 26) / 6)  # 10 vs 1,3,6,15,28,36
    assert U[1, 0] == pytest.approx((6 + 5 + 4 + 15 + 22) / 5)  # 6 vs 0,1,10,21,28
    assert U[2, 2] == pytest.approx((26 + 21 + 8) / 3)  # 36 vs 10,15,28
    assert unit_umatrix(W33, Grid(3, 3, "hex"), "median")[1, 1] == pytest.approx(8.0)


def test_interstitial_hex_by_hand():
    U = interstitial(W33, Grid(3, 3, "hex"))
    assert U.shape == (5, 5)
    assert U[0, 1] == 1 and U[0, 3] == 2  # same row
    assert U[1, 0] == 6 and U[1, 2] == 9  # straight down
    assert U[1, 1] == 5 and U[1, 3] == 7  # even row 0: down-left diagonals (0,1)-(1,0), (0,2)-(1,1)
    assert U[3, 1] == 22 and U[3, 3] == 26  # odd row 1: down-right diagonals (1,0)-(2,1), (1,1)-(2,2)
    assert U[2, 2] == pytest.approx(unit_umatrix(W33, Grid(3, 3, "hex"))[1, 1])
    assert not np.isnan(U).any()


def test_interstitial_rect_by_hand():
    U = interstitial(W33, Grid(3, 3, "rect"))
    assert U[1, 1] == pytest.approx((10 + 5) / (2 * np.sqrt(2)))  # (0,0)-(1,1) and (1,0)-(0,1)
    assert U[0, 1] == 1 and U[1, 0] == 6
    assert U[2, 2] == pytest.approx(9.0)


def test_topographic_error_counted_by_hand_rect():
    grid = Grid(1, 3, "rect")
    W = np.array([[0.0], [10.0], [1.0]])  # units 0 and 2 are close in data, far on the grid
    X = np.array([[0.4], [9.0], [0.6], [10.0]])
    ev = evaluate(X, np.ones(4, bool), W, grid)
    assert ev.bmu.tolist() == [0, 1, 2, 1]
    assert nearest(X, W, second=True)[2].tolist() == [2, 2, 0, 2]
    assert ev.te == pytest.approx(0.5)
    assert ev.hits.tolist() == [1, 2, 1]


def test_topographic_error_hex_counts_the_shifted_diagonal_as_a_neighbour():
    W = np.array([[0.0], [5.0], [5.5], [20.0]])
    X = np.array([[5.2]])  # best unit 1 (row 0, col 1), second unit 2 (row 1, col 0)
    assert evaluate(X, np.ones(1, bool), W, Grid(2, 2, "hex")).te == 0.0
    assert evaluate(X, np.ones(1, bool), W, Grid(2, 2, "rect")).te == 1.0


def test_neighbourhood_functions():
    g = Grid(3, 3, "rect")
    gauss = neighborhood(g, 1.0, "gaussian")
    assert gauss[4, 4] == 1 and gauss[4, 5] == pytest.approx(np.exp(-0.5))
    bubble = neighborhood(g, 1.0, "bubble")
    assert bubble[4].sum() == 5  # itself and its four neighbours
    tri = neighborhood(g, 2.0, "triangle")
    assert tri[4, 5] == pytest.approx(0.5) and tri[0, 8] == 0
    with pytest.raises(ValueError, match="choose one of"):
        neighborhood(g, 1.0, "square")


def test_radius_schedules_run_from_start_to_end():
    lin = radius_schedule(5, 1, 5, "linear")
    assert lin.tolist() == [5, 4, 3, 2, 1]
    exp = radius_schedule(8, 1, 4, "exponential")
    assert exp.tolist() == pytest.approx([8, 4, 2, 1])
