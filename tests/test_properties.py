"""Property tests (hypothesis): any small table either clusters, one assignment per row in
input order, or is refused with a documented exit code and one line; and the batch
algorithms' partitions do not depend on row order or on a feature's unit."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from somcli import errors

DOCUMENTED = set(errors.EXIT_CODES) - {errors.INTERNAL}
WORDS = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters="\x7f"),
                min_size=1, max_size=8).filter(lambda s: s.strip() and s.strip().upper()
                                               not in {"NA", "N/A", "NAN", "NULL", "NONE",
                                                       "-", "?", "#N/A"})
NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                   st.integers(-10**6, 10**6)).map(lambda v: "" if isinstance(v, float)
                                                   and math.isnan(v) else repr(v))
CELL = st.one_of(NUMBER, WORDS, st.just(""))


@st.composite
def tables(draw):
    n_cols = draw(st.integers(1, 4))
    kinds = draw(st.lists(st.sampled_from(["num", "num", "text", "mixed"]), min_size=n_cols,
                          max_size=n_cols))
    n_rows = draw(st.integers(1, 12))
    rows = []
    for _ in range(n_rows):
        row = [draw({"num": NUMBER, "text": WORDS, "mixed": CELL}[k]) for k in kinds]
        if not any(c.strip() for c in row):
            row[0] = "1"
        rows.append(row)
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n",
                        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_NONNUMERIC,
                                                      csv.QUOTE_ALL])))
    writer.writerow([f"c{i}" for i in range(n_cols)])
    writer.writerows(rows)
    return buf.getvalue(), delimiter, n_rows


COMMANDS = [["inspect", "--json"], ["kmeans", "-k", "2"],
            ["som", "--map", "3x2", "-k", "2", "--epochs", "3"]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(table=tables(), command=st.sampled_from(COMMANDS))
def test_any_table_clusters_or_is_refused_cleanly(tmp_path, run, table, command):
    text, delimiter, n_rows = table
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    r = run(*command, path, "-d", delimiter, "-q")
    assert "Traceback" not in r.err
    if r.code != 0:
        assert r.code in DOCUMENTED, r.err
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("somcli: error: "), r.err
        return
    if command[0] == "inspect":
        return
    out = pd.read_csv(io.StringIO(r.out))
    assert len(out) == n_rows
    assert out["line"].tolist() == list(range(2, n_rows + 2))


def blob_frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0, 0], [8, 8, 0], [0, 8, 8]], dtype=float)
    X = centers[np.repeat([0, 1, 2], 25)] + rng.normal(0, 0.7, (75, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame.insert(0, "name", [f"r{i}" for i in range(75)])
    return frame


def clusters_of(run, tmp_path, frame, *args) -> pd.Series:
    path = tmp_path / "f.csv"
    frame.to_csv(path, index=False)
    r = run(*args, path, "-q")
    assert r.code == 0, r.err
    return pd.read_csv(io.StringIO(r.out)).set_index("name")["cluster"]


BATCH = [["som", "--map", "4x3", "-k", "3", "--dtype", "float64"], ["kmeans", "-k", "3"]]


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), args=st.sampled_from(BATCH))
def test_permuting_rows_does_not_change_the_partition(tmp_path, run, seed, args):
    frame = blob_frame(seed)
    before = clusters_of(run, tmp_path, frame, *args)
    shuffled = frame.sample(frac=1.0, random_state=seed)
    after = clusters_of(run, tmp_path, shuffled, *args).loc[before.index]
    assert adjusted_rand_score(before, after) == 1.0


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), factor=st.floats(1e-3, 1e4), column=st.sampled_from("abc"),
       args=st.sampled_from(BATCH))
def test_a_feature_in_other_units_gives_the_same_partition(tmp_path, run, seed, factor, column,
                                                           args):
    assume(abs(math.log10(factor)) > 0.1)
    frame = blob_frame(seed)
    before = clusters_of(run, tmp_path, frame, *args)
    frame[column] = frame[column] * factor
    after = clusters_of(run, tmp_path, frame, *args)
    assert adjusted_rand_score(before, after) == 1.0
