"""Outputs that quote the input give its values exactly (issue 14 #6): outliers.csv and
the report's cluster means, in a float32 run as in a float64 one, on both engines."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from somcli.prep.quotes import build, exact, rounding_of


def through_a_block(values: np.ndarray, dtype, keep_rows=0) -> np.ndarray:
    """(keep_rows=0: the digits are searched for, however short the block)"""
    present = values[np.isfinite(values)]
    center = float(np.median(present)) if len(present) else 0.0
    scale = float(np.std(present)) or 1.0 if len(present) else 1.0
    filled = np.where(np.isfinite(values), values, center)
    X = ((filled - center) / scale).astype(dtype)[:, None]
    quotes = build(lambda j: values, X, np.array([center]), np.array([scale]),
                   keep_rows=keep_rows)
    return exact(X, quotes, np.array([center]), np.array([scale]), slice(None))[:, 0]


columns = st.one_of(
    st.lists(st.floats(-1e150, 1e150) | st.sampled_from([np.nan, np.inf, -np.inf]), min_size=1,
             max_size=60),
    st.lists(st.integers(-10**6, 10**6).map(lambda i: i / 100), min_size=1, max_size=60),
    st.lists(st.sampled_from([0.0, 1.0, np.nan, 7.504633374180918, -2.5, 1e-9, 123456789.0]),
             min_size=1, max_size=60),
)


@settings(max_examples=150, deadline=None)
@given(columns, st.sampled_from([np.float32, np.float64]))
def test_a_block_gives_back_every_input_value(values, dtype):
    values = np.array(values, dtype=np.float64) + 0.0  # -0.0 is quoted 0
    for keep_rows in (0, len(values)):  # digits searched for; a short block's kept columns
        back = through_a_block(values, dtype, keep_rows)
        assert np.array_equal(back, np.where(np.isfinite(values), values, np.nan),
                              equal_nan=True)


def test_a_column_written_with_few_digits_is_not_kept_twice():
    values = np.random.default_rng(0).normal(50, 10, 20_000).round(2)
    assert rounding_of(values) == ("places", 2)
    X = ((values - 50) / 10).astype(np.float32)[:, None]
    quotes = build(lambda j: values, X, np.array([50.0]), np.array([10.0]))
    assert quotes.kept == {} and quotes.fixes == {}


def test_decimals_float32_cannot_hold_are_kept_as_scaled_integers():
    """Six-place values of eight digits (10.209258) do not come back from a float32 matrix:
    they are kept as int32 times 10**6 once the table as read is gone, half the memory of
    the column (the 4M-row run: benchmarks/README.md), and given back exactly, gaps empty."""
    values = np.random.default_rng(0).normal(0, 5, 50_000).round(6)
    values[[3, 777]] = np.nan
    center, scale = float(np.nanmedian(values)), float(np.nanstd(values))
    filled = np.where(np.isnan(values), center, values)
    X = ((filled - center) / scale).astype(np.float32)[:, None]
    quotes = build(lambda j: values, X, np.array([center]), np.array([scale]))
    assert quotes.kept[0] is values and quotes.places == {0: 6}  # shared while cleaning
    quotes.compact()  # once the table as read is gone
    assert quotes.kept == {} and quotes.scaled[0][0].dtype == np.int32
    assert quotes.scaled[0][1] == 6 and list(quotes.gaps[0]) == [3, 777]
    back = exact(X, quotes, np.array([center]), np.array([scale]), slice(None))[:, 0]
    assert np.array_equal(back, values, equal_nan=True)
    rows = np.array([777, 2, 3, 49_999])
    assert np.array_equal(exact(X, quotes, np.array([center]), np.array([scale]), rows)[:, 0],
                          values[rows], equal_nan=True)


def issue_table(path):
    rng = np.random.default_rng(1)
    n = 240
    a = rng.normal(7, 3, n)
    a[5], a[6] = 7.504633374180918, 80.0  # 16 digits, and an outlier
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "a": a,
                          "flag": (np.arange(n) % 2).astype(int), "c": rng.normal(100, 5, n)})
    frame.loc[6, "c"] = 1e4
    frame.loc[9, "c"] = np.nan  # a gap: quoted empty
    frame.loc[9, "a"] = 95.0
    frame.to_csv(path, index=False)
    return path


def quoted(out) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (pd.read_csv(out / "outliers.csv", dtype=str, keep_default_na=False),
            json.loads((out / "report.json").read_text()))


def check(data, out):
    table = pd.read_csv(data, dtype=str, keep_default_na=False)
    outliers, report = quoted(out)
    assert len(outliers) >= 2
    for _, row in outliers.iterrows():
        source = table.iloc[int(row["line"]) - 2]
        for col in ("a", "flag", "c"):
            if source[col] == "":
                assert row[col] == ""
            else:  # the same number (the writer may spell it its own way: 1e4 or 10000)
                assert float(row[col]) == float(source[col]), (col, row[col], source[col])
                assert repr(float(row[col])) == repr(float(source[col]))
    for cluster in report["clusters"]:  # a 0/1 column's means are shares, not noise
        share = cluster["means"]["flag"]
        assert share * cluster["size"] == pytest.approx(round(share * cluster["size"]), abs=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_outliers_and_means_quote_the_input_exactly(tmp_path, run, dtype):
    data = issue_table(tmp_path / "t.csv")
    out = tmp_path / "o"
    r = run("som", data, "-k", "2", "--map", "6x6", "--dtype", dtype, "-o", out, "--no-plots",
            "-q")
    assert r.code == 0, r.err
    check(data, out)
    outliers, _ = quoted(out)
    assert "7.504633374180918" in outliers["a"].tolist() or "80" in outliers["a"].tolist()


@pytest.mark.slow
def test_outliers_quote_the_input_exactly_on_dask(tmp_path, run, local_cluster):
    pytest.importorskip("distributed")
    data = issue_table(tmp_path / "t.csv")
    out = tmp_path / "o"
    r = run("som", data, "-k", "2", "--map", "6x6", "-o", out, "--no-plots", "-q", "--engine",
            "dask", "--scheduler", local_cluster.scheduler_address, "--blocksize", "4KB")
    assert r.code == 0, r.err
    check(data, out)
