"""Notes under a table (Source:, Note:, * provisional) are not rows: set aside with a
warning, never clustered as a row of gaps filled with medians."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from conftest import assignments_on_both, write

from somcli.config import ReadOptions
from somcli.io.read import read_table
from somcli.prep import notes_rows

HEADER = '"Country Name","Code","1990","2000","2010"\n'
ROWS = "".join(f'"Country {i}","C{i:02d}",{i}.5,{i + 1}.25,{2 * i}.75\n' for i in range(12))


def read(path, **kw):
    return read_table(ReadOptions(inputs=(str(path),), **kw))


def test_notes_below_a_download_are_set_aside_with_their_lines(tmp_path):
    text = HEADER + ROWS + '\n"Source: World Development Indicators, 2024"\n"* provisional"\n'
    t = read(write(tmp_path / "wdi.csv", text))
    assert t.n_rows == 12 and t.frame["Country Name"].iloc[-1] == "Country 11"
    (warning,) = t.warnings
    assert "line 15 ('Source: World Development Indicators, 2024')" in warning
    assert "line 16" in warning and "--keep-totals" in warning
    kept = read(tmp_path / "wdi.csv", keep_totals=True)
    assert kept.n_rows == 14 and not kept.warnings


def test_a_sentence_longer_than_its_column_is_a_note_but_a_row_of_gaps_is_a_row(tmp_path):
    t = read(write(tmp_path / "a.csv", HEADER + ROWS + '"Figures for 2010 are revised"\n'))
    assert t.n_rows == 12
    gaps = read(write(tmp_path / "b.csv", HEADER + ROWS + '"Country 12",,,,\n'))
    assert gaps.n_rows == 13 and not gaps.warnings  # an observation without numbers


def test_a_narrow_table_or_a_table_of_single_values_has_no_notes():
    two = pd.DataFrame({"name": ["a", "b", "Source: x"], "v": [1.0, 2.0, None]})
    assert notes_rows.find(two) == []
    lonely = pd.DataFrame({"a": ["Note: x", "Note: y"], "b": [None, None], "c": [None, None]})
    assert notes_rows.find(lonely) == []


def test_the_header_again_within_the_rows_is_left_out_and_the_columns_read_as_numbers(tmp_path):
    """`cat a.csv b.csv > all.csv` repeats the header: it made every numeric column text
    (refused as "mostly numbers but line 52 holds 'sales'")."""
    rows = [f"s{i},{i}.5,{i % 3}" for i in range(60)]
    text = "store,sales,n\n" + "\n".join(rows[:30]) + "\nstore,sales,n\n" + "\n".join(rows[30:])
    t = read(write(tmp_path / "cat.csv", text + "\n"))
    assert t.n_rows == 60 and t.frame["sales"].dtype == float and t.frame["n"].dtype == int
    assert t.lines[30] == 33 and "line 32 repeats the header" in t.warnings[0]
    one = read(write(tmp_path / "one.csv", "store,sales,n\n" + "\n".join(rows) + "\n"))
    assert t.frame.equals(one.frame) and not one.warnings
    assert notes_rows.repeated_headers(pd.DataFrame({"a": ["a", "x"], "b": ["c", "b"]})) == []


@pytest.mark.slow  # (a real Dask cluster)
def test_on_dask_a_repeated_header_is_left_out_as_the_local_reader_does(
        tmp_path, run, local_cluster, monkeypatch):
    """`cat a.csv b.csv > all.csv` on Dask: the header within the sample (it stopped the run,
    "mostly numbers but line 32 holds 'sales'") and past it (a partition read 'sales' as a
    number: exit 70) are left out with a warning; the same clusters as the local engine."""
    from somcli.backends.dask_cluster import data

    monkeypatch.setattr(data, "SAMPLE_ROWS", 100)  # (the second header lies past the sample)
    rows = [f"s{i},{i % 7}.5,{(i * 3) % 11}" for i in range(300)]
    text = "store,sales,n\n" + "\n".join(rows[:30]) + "\nstore,sales,n\n" + \
        "\n".join(rows[30:200]) + "\nstore,sales,n\n" + "\n".join(rows[200:]) + "\n"
    (err, local), (dask_err, dask) = assignments_on_both(
        run, tmp_path, local_cluster.scheduler_address, "kmeans",
        write(tmp_path / "cat.csv", text), "-k", "3", blocksize="1KB")
    assert "lines 32, 203 repeat the header" in err
    assert "cat.csv: 2 rows repeat the header (files joined one after another?): left out" \
        in dask_err
    assert len(local) == len(dask) == 300
    assert local["cluster"].equals(dask["cluster"]) and local["store"].equals(dask["store"])


@pytest.mark.slow  # (a real Dask cluster)
def test_on_dask_a_file_read_as_windows_1252_says_so_on_stderr(tmp_path, run, local_cluster,
                                                               monkeypatch):
    """The guess is the local reader's; the Dask engine said it only in report.md (and
    named the file by its absolute path, where its other warnings name it as given)."""
    rows = "".join(f"Müller {i};Köln;{i},5;{i % 4}\n" for i in range(40))
    write(tmp_path / "w.csv", ("name;city;x;y\n" + rows).encode("cp1252"))
    monkeypatch.chdir(tmp_path)
    r = run("kmeans", "w.csv", "-k", "2", "-o", tmp_path / "o", "--engine", "dask",
            "--scheduler", local_cluster.scheduler_address)
    assert r.code == 0, r.err
    assert "not UTF-8; read as Windows-1252" in r.err
    assert "\nsomcli: warning: w.csv: not UTF-8" in "\n" + r.err
    part = tmp_path / "o" / "assignments" / "part-00000.csv"
    assert "Müller 0" in part.read_text(encoding="utf-8")


@pytest.mark.slow  # (a real Dask cluster)
def test_on_dask_notes_below_the_table_are_set_aside_as_the_local_reader_does(
        tmp_path, run, local_cluster):
    """The last partition's last rows scanned as the local reader scans a table, each text
    against the longest of its column above it in every partition: the same warnings, rows
    and lines (on Dask the notes had been rows without values, in the assignments)."""
    rows = "".join(f'"Country {i}","C{i:03d}",{i % 17}.5,{(i * 7) % 23}.25,{i % 5}.75\n'
                   for i in range(200))
    text = (HEADER + rows + "Data for the latest year are provisional estimates,,,,\n"
            + '"Source: World Development Indicators",,,,\n')
    (err, local), (dask_err, dask) = assignments_on_both(
        run, tmp_path, local_cluster.scheduler_address, "kmeans",
        write(tmp_path / "wdi.csv", text), "-k", "2", blocksize="2KB")
    warning = next(x for x in err.splitlines() if "notes below the table" in x)
    assert "line 202 ('Data for the latest" in warning and "line 203" in warning
    assert warning in dask_err
    assert len(local) == len(dask) == 200
    assert local[["line", "cluster"]].equals(dask[["line", "cluster"]])



@pytest.mark.slow  # (a real Dask cluster)
def test_on_dask_lines_are_counted_as_the_file_has_them(tmp_path, run, local_cluster):
    """Blank lines, a row of empty fields and a repeated header within partitions, a gap,
    duplicated rows, a totals row and a note below a blank line: every line a report,
    warning or assignment names is the file's line, as the local engine names it (on Dask a
    partition's rows were numbered from its first data row: one early after each)."""
    rows = [f"s{i},{i % 7}.5,{(i * 3) % 11},{i % 4}" for i in range(300)]
    rows[150] = "s150,,4,2"  # a gap: --missing drop names its line
    rows[240] = rows[239]  # a duplicated row
    sums = pd.read_csv(io.StringIO("store,sales,n,k\n" + "\n".join(rows))).sum(numeric_only=True)
    total = f"Total,{sums['sales']:.1f},{sums['n']},{sums['k']}"
    text = ("store,sales,n,k\n" + "\n".join(rows[:40]) + "\n\n\n" + "\n".join(rows[40:90])
            + "\n,,,\nstore,sales,n,k\n" + "\n".join(rows[90:200]) + "\n\n"
            + "\n".join(rows[200:]) + "\n" + total + "\n\nSource: a test of line numbers,,,\n")
    (err, local), (dask_err, dask) = assignments_on_both(
        run, tmp_path, local_cluster.scheduler_address, "kmeans",
        write(tmp_path / "lines.csv", text), "-k", "3", "--missing", "drop", blocksize="1KB")
    assert len(local) == len(dask) == 300
    assert local[["line", "cluster"]].equals(dask[["line", "cluster"]])
    assert local["line"].iloc[-1] == len(text.splitlines()) - 3  # (the total, a blank, the note)
    for what in ("a note below the table", "a totals row"):
        said = next(x for x in err.splitlines() if what in x)
        assert said.split(": ", 1)[1] in dask_err, (said, dask_err)
    reports = [json.loads((tmp_path / e / "report.json").read_text())["cleaning"]
               for e in ("local", "dask")]
    assert reports[0]["rows_with_gaps_named"] == ["s150 (line 156)"]
    assert reports[0]["duplicates"]["identical_rows"], reports[0]["duplicates"]
    for key in ("duplicates", "rows_with_gaps_named"):
        assert reports[0][key] == reports[1][key], key
