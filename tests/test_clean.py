"""Missing values, infinities, duplicates and scaling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from somcli.config import CleanOptions, ColumnOptions
from somcli.errors import DataError, UsageError
from somcli.prep.clean import clean
from somcli.prep.roles import decide


def original(c):
    return c.prep.to_original(c.X)


def cleaned(frame, **opts):
    lines = np.arange(2, len(frame) + 2)
    roles = decide(frame, lines, ColumnOptions(), ".")
    return clean(frame, lines, roles, CleanOptions(**opts), allow_mask=True)


@pytest.fixture
def gappy():
    return pd.DataFrame({"name": ["a", "b", "c", "d", "e"],
                         "x": [1.0, 2.0, np.nan, 4.0, 10.0],
                         "y": [1.0, np.inf, 3.0, 5.0, 4.0]})


def test_median_fills_counts_cells_and_names_rows(gappy):
    c = cleaned(gappy)
    assert c.report["filled_cells"] == {"x": 1, "y": 1}
    assert c.report["infinite_values"] == {"y": 1}
    assert c.report["rows_with_gaps_named"] == ["b (line 3)", "c (line 4)"]
    assert original(c)[2, 0] == 3.0  # median of 1, 2, 4, 10
    assert original(c)[1, 1] == 3.5  # median of 1, 3, 5, 4


@pytest.mark.parametrize("method,expected_x", [("mean", 4.25), ("most-frequent", 1.0)])
def test_mean_and_most_frequent(gappy, method, expected_x):
    assert original(cleaned(gappy, missing=method))[2, 0] == pytest.approx(expected_x)


def test_knn_fills_from_similar_rows():
    rng = np.random.default_rng(0)
    low, high = rng.normal(1, 0.1, (8, 3)), rng.normal(10, 0.1, (8, 3))
    f = pd.DataFrame(np.vstack([low, high]), columns=["x", "y", "z"])
    f.loc[15, "x"] = np.nan  # a 'high' row
    c = cleaned(f, missing="knn")
    assert original(c)[15, 0] == pytest.approx(10, abs=0.3)  # from its neighbours, not the median
    assert not np.isnan(c.X).any()


def test_drop_keeps_rows_out_of_fitting(gappy):
    c = cleaned(gappy, missing="drop")
    assert c.usable.tolist() == [True, False, False, True, True]
    assert len(c.fit_X) == 3 and c.report["rows_dropped"] == 2


@pytest.mark.parametrize("method", ["median", "mean", "most-frequent", "knn", "mask"])
def test_a_row_without_any_feature_value_is_left_out_of_fitting_as_if_absent(method):
    """A country with no figure for any year was filled with the column medians and
    clustered as a row of medians (two such rows: "duplicates" of each other). Under every
    method it is left out of fitting, without a cluster, and the fit is the one the table
    gives without it."""
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"name": [f"r{i}" for i in range(40)],
                          "x": rng.normal(size=40), "y": rng.normal(size=40)})
    frame.loc[3, "x"] = np.nan  # a row with a gap is still placed
    with_empty = pd.concat([frame.iloc[:10], pd.DataFrame({"name": ["void"], "x": [np.nan],
                                                           "y": [np.nan]}), frame.iloc[10:]],
                           ignore_index=True)
    c = cleaned(with_empty, missing=method)
    assert not c.usable[10] and c.usable.sum() == 40 and c.usable[3]
    assert c.report["rows_without_values"] == 1 and 10 not in c.fit_index
    if method not in ("mask",):  # its cells are not counted as filled: only x's one gap
        assert c.report["filled_cells"] == {"x": 1}
    alone = cleaned(frame, missing=method)
    np.testing.assert_array_equal(c.prep.center, alone.prep.center)
    np.testing.assert_array_equal(c.prep.scale, alone.prep.scale)
    np.testing.assert_array_equal(c.prep.usable(np.array([[np.nan, np.nan], [1.0, np.nan]])),
                                  [False, True])


def test_drop_with_every_row_gappy_is_a_data_error():
    f = pd.DataFrame({"x": [1.0, np.nan, 2.0, np.nan], "y": [np.nan, 1.0, np.nan, 3.0]})
    with pytest.raises(DataError, match="every row"):
        cleaned(f, missing="drop", )


def test_mask_keeps_gaps_for_the_som(gappy):
    c = cleaned(gappy, missing="mask")
    assert np.isnan(c.fit_X).sum() == 2 and c.report["rows_trained_with_gaps"] == 2


def test_mask_is_refused_outside_the_som(gappy):
    lines = np.arange(5)
    roles = decide(gappy, lines, ColumnOptions(), ".")
    with pytest.raises(UsageError, match="som"):
        clean(gappy, lines, roles, CleanOptions(missing="mask"))


@pytest.fixture
def dups():
    return pd.DataFrame({"id": ["A", "B", "A", "C", "C", "D"],
                         "x": [1.0, 5.0, 3.0, 9.0, 9.0, 2.0],
                         "y": [1.0, 5.0, 3.0, 9.0, 9.0, 8.0]})


def test_duplicates_are_reported_with_lines(dups):
    d = cleaned(dups).report["duplicates"]
    assert d["shared_ids"]["id"] == {"A": [2, 4], "C": [5, 6]}
    assert d["identical_rows"] == [[5, 6]]
    assert d["identical_feature_rows"] == 1


@pytest.mark.parametrize("method,n_fit,first_row", [("none", 6, [1.0, 1.0]), ("first", 4, [1.0, 1.0]),
                                                     ("last", 4, [5.0, 5.0]),
                                                     ("mean", 4, [2.0, 2.0])])
def test_dedupe(dups, method, n_fit, first_row):
    c = cleaned(dups, dedupe=method, scale="none")
    assert len(c.fit_X) == n_fit
    assert c.fit_X[0].tolist() == first_row
    assert c.usable.all()  # every row is still assigned


@pytest.mark.parametrize("method,check", [
    ("standard", lambda X: np.allclose(X.mean(0), 0) and np.allclose(X.std(0), 1)),
    ("minmax", lambda X: np.allclose(X.min(0), 0) and np.allclose(X.max(0), 1)),
    ("robust", lambda X: np.allclose(np.median(X, 0), 0)),
    ("none", lambda X: np.allclose(X[:, 0], [1, 5, 3, 9, 9, 2])),
])
def test_scaling(dups, method, check):
    c = cleaned(dups, scale=method)
    assert check(c.fit_X)
    assert np.allclose(c.prep.to_original(c.X)[:, 0], dups["x"])


@pytest.mark.parametrize("method", ["standard", "minmax", "robust"])
@pytest.mark.parametrize("gap", [False, True])
def test_the_scaler_is_the_one_fitted_on_the_cleaned_matrix(method, gap):
    """A table without gaps reuses each column's moments for its scaler: to the bit the
    scaler fitted on the cleaned matrix itself (a gap takes the other path: the same)."""
    from somcli.prep import statistics as S

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(5000, 4)) * [1, 1e3, 1e-3, 7] + [0, 5e5, 1, -3],
                         columns=list("abcd"))
    if gap:
        frame.loc[17, "b"] = np.nan
    c = cleaned(frame, scale=method)
    filled = np.asarray(frame.fillna(frame.median()), dtype=np.float64)  # as cleaning fills
    center, scale = S.scaler(method, S.moments(filled),
                             lambda j: np.percentile(filled[:, j], [25, 50, 75]))
    assert np.array_equal(c.prep.center, center) and np.array_equal(c.prep.scale, scale)


def test_identical_rows_with_gaps_are_reported_not_crashed():
    """Found by the fuzzer: fully identical rows holding a missing value."""
    f = pd.DataFrame({"id": ["u", "u", "v", "w"], "x": [1.0, 1.0, 4.0, 5.0],
                      "y": [np.nan, np.nan, 2.0, 3.0]})
    d = cleaned(f).report["duplicates"]
    assert d["identical_rows"] == [[2, 3]]


def test_rows_without_an_id_are_not_merged_by_dedupe():
    f = pd.DataFrame({"id": ["a", None, None, "a"], "x": [1.0, 2.0, 3.0, 4.0],
                      "y": [1.0, 5.0, 2.0, 0.5]})
    c = cleaned(f, dedupe="first")
    assert len(c.fit_X) == 3 and c.report["duplicates"]["rows_merged"] == 1


def test_identical_row_groups_keep_first_appearance_order_and_gaps_together():
    from somcli.prep.duplicates import _groups

    frame = pd.DataFrame({"a": [1.0, np.nan, 1.0, np.nan, 2.0, 1.0],
                          "b": ["x", "y", "x", "y", "z", "w"]})
    mask = np.array([True, True, True, True, False, False])
    assert _groups(mask, frame, np.arange(2, 8)) == [[2, 4], [3, 5]]


def test_most_frequent_fill_is_scikit_learns_choice_ties_included():
    """The mode is computed by numpy (scikit-learn's import cost seconds); it must be the
    value SimpleImputer picks: the smallest of the most frequent, gaps ignored."""
    from sklearn.impute import SimpleImputer

    from somcli.prep.clean import _statistic

    rng = np.random.default_rng(0)
    for _ in range(200):
        col = rng.integers(-3, 4, size=rng.integers(1, 25)).astype(float)
        col[rng.random(len(col)) < 0.2] = np.nan
        present = col[~np.isnan(col)]
        if present.size:
            want = SimpleImputer(strategy="most_frequent").fit(present.reshape(-1, 1))
            assert _statistic(col, "most-frequent") == want.statistics_[0]


def test_a_wide_tables_rows_hash_as_they_do_column_by_column(monkeypatch):
    """Row hashes (the duplicate check's, on every engine) of a wide, short table are taken
    a block of columns at a time: the same hashes, whatever the columns' types."""
    from somcli.prep import duplicates

    rng = np.random.default_rng(0)
    kinds = [lambda: rng.normal(size=6), lambda: rng.integers(0, 5, 6),
             lambda: np.array(list("abcabc"), dtype=object),
             lambda: pd.array([1, None, 3, 1, 2, 3], dtype="Int64"),
             lambda: np.array([0.0, -0.0, np.nan, 1.5, np.nan, 0.0]),
             lambda: rng.integers(0, 5, 6).astype(np.int32)]
    frame = pd.DataFrame({f"c{j}": kinds[j % len(kinds)]() for j in range(3 * duplicates.WIDE)})
    frame = pd.concat([frame, frame.iloc[[2]]], ignore_index=True)  # a repeated row
    blocked = duplicates.row_hashes(frame[c] for c in frame.columns)
    monkeypatch.setattr(duplicates, "WIDE", 10 ** 9)  # column by column
    assert np.array_equal(blocked, duplicates.row_hashes(frame[c] for c in frame.columns))
    assert blocked[2] == blocked[6] and len(set(blocked.tolist())) == 6


def test_a_long_tables_rows_hash_on_threads_as_they_do_on_one(monkeypatch):
    """The duplicate check hashes a long table a block of rows at a time on threads: the
    same hashes, whatever the columns' types, and the duplicates found are the same."""
    from somcli.prep import duplicates

    monkeypatch.setattr(duplicates, "HASH_ROWS", 1000)
    rng = np.random.default_rng(0)
    n = 4_321
    frame = pd.DataFrame({"x": rng.normal(size=n).round(1), "k": rng.integers(0, 3, n),
                          "s": pd.Series(rng.choice(["a", "b", None], n), dtype="str"),
                          "o": np.array(rng.choice(["p", "q"], n), dtype=object),
                          "c": pd.Categorical(rng.choice(["u", "v"], n)),
                          "i": pd.array(rng.choice([1, 2, None], n), dtype="Int64")})
    one = duplicates.row_hashes(frame[c] for c in frame.columns)
    assert np.array_equal(duplicates.row_hashes((frame[c] for c in frame.columns), threads=3),
                          one)
    start = rng.integers(0, 2**63, n).astype(np.uint64)
    assert np.array_equal(duplicates.row_hashes([frame["x"]], start=start.copy(), threads=2),
                          duplicates.row_hashes([frame["x"]], start=start.copy()))
    lines = np.arange(2, n + 2)
    found = duplicates.find(frame, lines, [], list(frame.columns), threads=2)
    assert found == duplicates.find(frame, lines, [], list(frame.columns))
    assert found.identical_rows  # (the check has duplicates to find)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", ["standard", "minmax", "none", "robust"])
def test_a_gap_free_table_is_scaled_as_the_scaler_says_to_the_bit(monkeypatch, scale, dtype):
    """A gap-free table is scaled block by block as it is written (its scaler known from
    the columns' moments): every value is (x - center) / scale of the fitted scaler in
    float64, then stored in the run's precision, as `assign` computes it, a one-hot
    category's indicators weighted too."""
    from somcli.prep import clean as C

    monkeypatch.setattr(C, "WRITE_ROWS", 64)  # several blocks, on threads
    monkeypatch.setattr(C, "PARALLEL_ROWS", 100)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(5, 2, 1000), "b": rng.exponential(3, 1000),
                          "c": rng.integers(0, 50, 1000).astype(float),
                          "kind": rng.choice(["x", "y", "z"], 1000)})
    roles = decide(frame, np.arange(2, 1002), ColumnOptions(categorical="onehot"), ".")
    c = clean(frame, np.arange(2, 1002), roles, CleanOptions(scale=scale), dtype=dtype)
    raw = np.column_stack([np.asarray(roles.values[f], dtype=np.float64)
                           for f in roles.features])
    assert len(roles.features) == 6 and c.X.dtype == dtype  # three numbers, three indicators
    assert np.array_equal(c.X, ((raw - c.prep.center) / c.prep.scale).astype(dtype))
    assert np.array_equal(c.X, c.prep.to_scaled(raw).astype(dtype))  # as assign scales
