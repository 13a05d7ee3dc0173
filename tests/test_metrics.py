"""The internal scores equal scikit-learn's; the scaler statistics equal scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from somcli.algorithms import metrics
from somcli.prep.clean import _fit_scaler


@pytest.fixture(params=[0, 1, 2])
def clustered(request):
    rng = np.random.default_rng(request.param)
    k = [2, 5, 40][request.param]
    X = rng.normal(size=(1500, 4)) + rng.normal(0, 4, (k, 4))[rng.integers(0, k, 1500)]
    labels = rng.integers(0, k, 1500) if request.param == 2 else \
        np.argmin(((X[:, None] - X[:k][None]) ** 2).sum(-1), 1)
    labels[:3] = k + 7  # a tiny cluster (a non-contiguous label too)
    labels[10] = k + 9  # a singleton: silhouette 0
    return X, labels


def test_silhouette_equals_sklearn(clustered):
    X, labels = clustered
    assert metrics.silhouette_score(X, labels) == pytest.approx(skm.silhouette_score(X, labels),
                                                                abs=1e-6)


def test_silhouettes_of_several_labellings_are_each_sklearns():
    """-k auto scores every candidate k's labels of the same rows in one pass."""
    rng = np.random.default_rng(9)
    X = rng.normal(size=(700, 3)) + rng.normal(0, 3, (6, 3))[rng.integers(0, 6, 700)]
    labellings = [rng.integers(0, k, 700) for k in (2, 3, 7)]
    labellings.append(np.argmin(((X[:, None] - X[:4][None]) ** 2).sum(-1), 1))
    labellings[1][5] = 50  # a singleton
    got = metrics.silhouette_scores(X, labellings)
    want = [skm.silhouette_score(X, lab) for lab in labellings]
    assert got == pytest.approx(want, abs=1e-6)


def test_silhouette_of_a_map_s_units_as_clusters_is_sklearns():
    """Hundreds of clusters (each map unit its own, without -k): scored on rows sorted by
    cluster, without a rows x clusters matrix."""
    rng = np.random.default_rng(10)
    X = rng.normal(size=(2000, 4))
    labels = rng.integers(0, 300, 2000)
    few = rng.integers(0, 3, 2000)
    got = metrics.silhouette_scores(X, [labels, few])
    assert got == pytest.approx([skm.silhouette_score(X, labels), skm.silhouette_score(X, few)],
                                abs=1e-6)


def test_davies_bouldin_equals_sklearn(clustered):
    X, labels = clustered
    assert metrics.davies_bouldin_score(X, labels) == pytest.approx(
        skm.davies_bouldin_score(X, labels), rel=1e-9)


def test_calinski_harabasz_equals_sklearn(clustered):
    X, labels = clustered
    assert metrics.calinski_harabasz_score(X, labels) == pytest.approx(
        skm.calinski_harabasz_score(X, labels), rel=1e-9)


def test_scores_are_undefined_for_one_cluster():
    X = np.random.default_rng(0).normal(size=(20, 2))
    assert metrics.internal(X, np.zeros(20, dtype=int)) == {
        "silhouette": None, "davies_bouldin": None, "calinski_harabasz": None}


@pytest.mark.parametrize("method,cls,center,scale", [
    ("standard", StandardScaler, "mean_", "scale_"),
    ("robust", RobustScaler, "center_", "scale_"),
])
def test_scaler_statistics_equal_sklearn(method, cls, center, scale):
    rng = np.random.default_rng(4)
    X = rng.normal(3, 2, size=(501, 3))
    X[:, 2] = 7.0  # constant column: left unscaled, as scikit-learn does
    c, s = _fit_scaler(X, method)
    ref = cls().fit(X)
    assert np.allclose(c, getattr(ref, center)) and np.allclose(s, getattr(ref, scale))


def test_minmax_statistics_equal_sklearn():
    X = np.random.default_rng(5).uniform(-4, 9, size=(300, 2))
    c, s = _fit_scaler(X, "minmax")
    assert np.allclose((X - c) / s, MinMaxScaler().fit_transform(X))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_rows_scores_use_are_the_rows_without_a_gap(dtype):
    """Internal scores are computed on the rows without a gap; a block without any gap is
    told by one pass over it, the same answer."""
    from somcli.algorithms.blocks import gap_free

    X = np.arange(12, dtype=dtype).reshape(4, 3)
    assert gap_free(X).tolist() == [True] * 4
    X[1, 2] = np.nan
    X[3, 0] = np.nan
    assert gap_free(X).tolist() == [True, False, True, False]
    assert gap_free(np.empty((0, 3), dtype=dtype)).tolist() == []
