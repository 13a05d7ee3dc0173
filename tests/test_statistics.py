"""The cleaning's statistics (somcli.prep.statistics), written once for both engines:
partial sums of blocks combine to the statistics of the whole, and the update gives
scikit-learn's scalers and SimpleImputer's fill values."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from somcli.prep import statistics as S


def _table(seed=0, n=1_000):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(5, 2, n), rng.exponential(3, n), np.full(n, 7.0),
                         rng.integers(0, 4, n).astype(float)])
    X[rng.random((n, 4)) < 0.1] = np.nan
    return X


def test_blocks_combine_to_the_moments_of_the_whole_table():
    X = _table()
    whole = S.moments(X)
    parts = [S.moments(X[a:b]) for a, b in ((0, 1), (1, 400), (400, 401), (401, 1000))]
    joined = S.combine(parts)
    for key in ("n", "mean", "m2", "min", "max"):
        np.testing.assert_allclose(joined[key], whole[key], rtol=1e-12)
    present = X[:, 1][~np.isnan(X[:, 1])]
    assert S.describe(whole, 1, len(X))["sd"] == np.std(present)  # numpy's, exactly
    assert S.describe(whole, 1, len(X))["missing_share"] == pytest.approx(0.1, abs=0.03)


@pytest.mark.parametrize("method, reference", [("standard", StandardScaler),
                                               ("minmax", MinMaxScaler),
                                               ("robust", RobustScaler)])
def test_the_scaler_is_scikit_learns(method, reference):
    X = np.nan_to_num(_table(1), nan=1.5)
    X[:, 2] = 7.0

    def quartiles(j):
        return np.quantile(X[:, j], S.QUARTILES)

    center, scale = S.scaler(method, S.moments(X), quartiles)
    want = reference().fit_transform(X)
    np.testing.assert_allclose((X - center) / scale, want, atol=1e-12)
    assert scale[2] == 1.0  # the constant column is left unscaled


def test_filled_gaps_counted_not_materialised_give_the_filled_columns_scaler():
    X = _table(2)
    fill = np.array([S.fill_value("median", S.moments(X), j, lambda j=j: np.nanmedian(X[:, j]),
                                  lambda: None) for j in range(X.shape[1])])
    filled = np.where(np.isnan(X), fill, X)
    gaps = np.isnan(X).sum(axis=0)
    center, scale = S.scaler("standard", S.moments(X), None, gaps, fill)
    np.testing.assert_allclose(center, filled.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scale[:2], filled.std(axis=0)[:2], rtol=1e-12)


def test_most_frequent_is_simple_imputers_choice():
    col = np.array([3.0, 1.0, 3.0, 1.0, 2.0, np.nan])
    present = col[~np.isnan(col)]
    got = S.fill_value("most_frequent", S.moments(col[:, None]), 0, lambda: None,
                       lambda: np.unique(present, return_counts=True))
    want = SimpleImputer(strategy="most_frequent").fit(col[:, None]).statistics_[0]
    assert got == want == 1.0  # the smallest of the equally frequent values
    empty = S.moments(np.full((3, 1), np.nan))
    assert S.fill_value("median", empty, 0, lambda: 9.0, lambda: None) == 0.0
