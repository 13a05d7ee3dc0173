"""Totals and averages written into a table as rows are set aside, with a warning; rows
that only look like them are kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import assignments_on_both, write

from somcli.api import cluster
from somcli.config import ReadOptions
from somcli.io.read import read_table
from somcli.prep import summary_rows


def read(*inputs, **kw):
    return read_table(ReadOptions(inputs=tuple(map(str, inputs)), **kw))


def export(rows=40, seed=0, total="Summe", decimal_comma=True, average=False) -> str:
    """An ERP-like export: a code, a name, a region, money with thousands separators and
    counts; the totals row under it leaves the code blank, as such rows do."""
    rng = np.random.default_rng(seed)
    money = rng.uniform(1000, 5000, rows).round(2)
    count = rng.integers(1, 20, rows)

    def m(v):
        text = f"{v:,.2f}"
        return text.replace(",", "X").replace(".", ",").replace("X", ".") if decimal_comma \
            else text

    sep = ";" if decimal_comma else ","
    lines = [sep.join(["Kundennr", "Firma", "Region", "Umsatz", "Auftraege"])]
    lines += [sep.join([str(1000 + i), f"Firma {i}", "NSW"[i % 3], f'"{m(v)}"', str(c)])
              for i, (v, c) in enumerate(zip(money, count, strict=True))]
    if total:
        lines.append(sep.join(["", total, "", f'"{m(money.sum())}"', str(count.sum())]))
    if average:
        lines.append(sep.join(["", "Durchschnitt", "", f'"{m(money.mean())}"',
                               f"{count.mean():.2f}".replace(".", "," if decimal_comma
                                                             else ".")]))
    return "\n".join(lines) + "\n"


def test_a_totals_row_under_an_export_is_set_aside_with_a_warning(tmp_path):
    t = read(write(tmp_path / "e.csv", export()))
    assert t.n_rows == 40 and t.lines[-1] == 41  # line 42, the Summe row, is gone
    assert not (t.frame["Firma"] == "Summe").any()
    (warning,) = t.warnings
    assert "line 42 ('Summe')" in warning and "'Umsatz', 'Auftraege'" in warning
    assert "--keep-totals" in warning


def test_keep_totals_keeps_it(tmp_path):
    t = read(write(tmp_path / "e.csv", export()), keep_totals=True)
    assert t.n_rows == 41 and not t.warnings


def test_totals_and_average_rows_both_go(tmp_path):
    t = read(write(tmp_path / "e.csv", export(total="Total", average=True)))
    assert t.n_rows == 40
    assert "line 42 ('Total') holds the other rows' sums" in t.warnings[0]
    assert "line 43 ('Durchschnitt') holds the other rows' means" in t.warnings[0]


def test_a_totals_row_above_the_data_and_one_without_a_label(tmp_path):
    body = export(total="", decimal_comma=False).splitlines()
    rows = pd.read_csv(pd.io.common.StringIO("\n".join(body)), thousands=",")
    top = f",Total,,\"{rows['Umsatz'].sum():,.2f}\",{rows['Auftraege'].sum()}"
    text = "\n".join([body[0], top, *body[1:]]) + "\n"
    t = read(write(tmp_path / "top.csv", text))
    assert t.n_rows == 40 and t.lines[0] == 3
    plain = [body[0]] + [f"{k},{f},{r},{u:.2f},{a}"  # the same numbers, without separators
                         for k, f, r, u, a in rows.itertuples(index=False)]
    bottom = f",,,{rows['Umsatz'].sum():.2f},{rows['Auftraege'].sum()}"
    t = read(write(tmp_path / "bare.csv", "\n".join([*plain, bottom]) + "\n"))
    assert t.n_rows == 40 and "line 42 holds the other rows' sums" in t.warnings[0]


@pytest.mark.parametrize("last", ["Total,5,6", "Total,999,1000", "x,12,15"])
def test_rows_that_are_not_totals_stay(tmp_path, last):
    """A row called Total whose numbers are not the sums, and a plain last row whose
    numbers happen to be large, are data."""
    rng = np.random.default_rng(1)
    rows = [f"r{i},{a},{b}" for i, (a, b) in enumerate(rng.integers(1, 50, (30, 2)))]
    t = read(write(tmp_path / "f.csv", "\n".join(["name,a,b", *rows, last]) + "\n"))
    assert t.n_rows == 31 and not t.warnings


def test_each_files_totals_go_and_the_warning_names_the_file(tmp_path):
    a = write(tmp_path / "jan.csv", export(seed=1))
    b = write(tmp_path / "feb.csv", export(seed=2))
    t = read(a, b)
    assert t.n_rows == 80 and len(t.warnings) == 2
    assert t.warnings[0].startswith(str(a)) and t.warnings[1].startswith(str(b))


def test_a_partial_read_does_not_take_its_last_row_for_the_files_end(tmp_path):
    path = write(tmp_path / "e.csv", export(rows=40))
    assert read_table(ReadOptions(inputs=(str(path),)), nrows=100).n_rows == 40  # all read
    first = read_table(ReadOptions(inputs=(str(path),)), nrows=10)
    assert first.n_rows == 10 and not first.warnings


def test_the_kmeans_command_clusters_the_rows_not_the_total(tmp_path, run):
    """The finding that led here: the total was a cluster of its own, and the blank code
    it left made the customer number a feature."""
    path = write(tmp_path / "e.csv", export(rows=60))
    r = run("kmeans", path, "-k", "3", "-o", tmp_path / "out")
    assert r.code == 0
    assert "line 62 ('Summe') holds the other rows' sums" in r.err
    assert "60 rows; 2 features" in r.err  # Umsatz, Auftraege (Kundennr is a code)


def test_a_code_with_one_gap_is_still_a_code(tmp_path, run):
    r = run("inspect", write(tmp_path / "e.csv", export(rows=60)), "--keep-totals")
    line = next(x for x in r.out.splitlines() if "Kundennr" in x)
    assert line.split()[3] == "excluded" and "shuffled counter or code" in line


def test_the_python_api_sets_a_total_aside():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"name": [f"n{i}" for i in range(30)],
                       "a": rng.uniform(0, 10, 30), "b": rng.uniform(0, 10, 30)})
    df = pd.concat([df, pd.DataFrame({"name": ["TOTAL"], "a": [df.a.sum()],
                                      "b": [df.b.sum()]})], ignore_index=True)
    result = cluster(df, k=2, seed=0)
    assert len(result.assignments) == 30
    assert any("a totals row" in w for w in result.report.warnings)


def test_find_needs_more_than_a_few_rows():
    frame = pd.DataFrame({"n": ["x", "y", "Total"], "v": [1.0, 2.0, 3.0]})
    assert summary_rows.find(frame, ".") == []


@pytest.mark.parametrize("last, found", [
    ([None, 30.0, 60.0, 90.0], True),  # no number in the first column: the others decide
    ([6.0, 30.0, 60.0, 90.0], True),
    ([6.0, 30.0, 61.0, 90.0], False),  # one column off: not a total
    ([5.0, 30.0, 60.0, 90.0], False),  # the first column off: the rest are not needed
    ([None, None, None, 90.0], False),  # one column is too little evidence
])
def test_an_unlabelled_last_row_is_a_total_only_when_every_column_bears_it_out(last, found):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10.0, 5.0, 15.0],
                          "c": [20.0, 10.0, 30.0], "d": [30.0, 15.0, 45.0]})
    frame.loc[3] = last
    rows = summary_rows.find(frame, ".")
    assert [r.position for r in rows] == ([3] if found else [])
    if found:
        assert rows[0].columns == tuple(c for c, v in zip("abcd", last, strict=True)
                                        if v is not None)


def test_an_infinite_value_makes_no_row_a_total():
    """A column holding inf sums to inf, and 0.5% of inf let any number agree: a first row
    of zeros above 0,1 and inf,inf was set aside as their sums (found by
    tests/test_properties.py). Such a column is no evidence either way."""
    frame = pd.DataFrame({"c0": [0.0, 0.0, 0.0, np.inf], "c1": [0.0, 0.0, 1.0, np.inf]})
    assert summary_rows.find(frame, ".") == []
    frame = pd.DataFrame({"n": ["a", "b", "c", "Total"], "x": [1.0, 2.0, np.inf, 0.0],
                          "y": [1.0, 2.0, 3.0, 6.0]})
    assert [r.columns for r in summary_rows.find(frame, ".")] == [("y",)]  # y bears it out


@pytest.mark.slow  # (a real Dask cluster)
def test_on_dask_totals_rows_are_set_aside_as_the_local_reader_does(tmp_path, run,
                                                                   local_cluster):
    """Each file's ends checked against the sums of its rows over every partition: a
    labelled total and mean under an export (money as text with thousands separators); a
    labelled total under one file and a silent sums row on top of another: the same
    warnings, rows, lines and clusters as the local engine's (they had been clustered as
    rows of their own on Dask)."""
    (err, local), (dask_err, dask) = assignments_on_both(
        run, tmp_path / "export", local_cluster.scheduler_address, "kmeans",
        write(tmp_path / "e.csv", export(rows=150, average=True)), "-k", "2", blocksize="2KB")
    assert "line 152 ('Summe') holds the other rows' sums ('Umsatz', 'Auftraege')" in err
    assert "line 153 ('Durchschnitt')" in err and err.splitlines()[0] in dask_err
    assert len(local) == len(dask) == 150
    assert local[["line", "Firma", "cluster"]].equals(dask[["line", "Firma", "cluster"]])

    rng = np.random.default_rng(3)
    folder = tmp_path / "in"
    folder.mkdir()
    for i, where in enumerate(("bottom", "top")):
        rows = pd.DataFrame({"store": [f"s{i}{j}" for j in range(120)],
                             "a": rng.normal(10, 2, 120).round(2),
                             "b": rng.normal(50, 9, 120).round(2), "c": rng.integers(1, 9, 120)})
        sums = pd.DataFrame({"store": ["Summe" if where == "bottom" else None],
                             "a": [rows.a.sum().round(2)], "b": [rows.b.sum().round(2)],
                             "c": [rows.c.sum()]})
        both = [rows, sums] if where == "bottom" else [sums, rows]
        pd.concat(both).to_csv(folder / f"part{i}.csv", index=False)
    (err, local), (dask_err, dask) = assignments_on_both(
        run, tmp_path / "glob", local_cluster.scheduler_address, "kmeans",
        str(folder / "*.csv"), "-k", "2", blocksize="2KB")
    warnings = [x for x in err.splitlines() if "totals row" in x]
    assert len(warnings) == 2 and all(w in dask_err for w in warnings)
    assert "line 122 ('Summe')" in warnings[0] and "line 2 holds" in warnings[1]
    assert len(local) == len(dask) == 240
    assert local[["line", "store", "cluster"]].equals(dask[["line", "store", "cluster"]])
    assert run("kmeans", str(folder / "*.csv"), "-k", "2", "-o", tmp_path / "kept", "-q",
               "--keep-totals", "--engine", "dask", "--scheduler",
               local_cluster.scheduler_address, "--single-file").code == 0
    assert len(pd.read_csv(tmp_path / "kept" / "assignments.csv")) == 242
