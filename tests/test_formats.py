"""Input formats by content (issue 14 #11): Parquet and Arrow/Feather are read whatever
their names, on both engines; other binary formats are refused by name with a hint."""

from __future__ import annotations

import io
import sqlite3
import zipfile

import pandas as pd
import pytest
from conftest import COUNTRIES, somcli_subprocess

from somcli import errors


@pytest.fixture(scope="module")
def frame():
    table = pd.read_csv(COUNTRIES)
    table["when"] = pd.date_range("2020-01-01", periods=len(table), freq="D")
    table["kind"] = pd.Categorical(["a", "b"] * (len(table) // 2) + ["a"] * (len(table) % 2))
    return table


def assignments(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


@pytest.mark.parametrize("kind", ["parquet", "feather"])
def test_columnar_files_cluster_as_their_csv_does(tmp_path, run, frame, kind):
    csv, binary = tmp_path / "t.csv", tmp_path / "misnamed.txt"  # read by content
    frame.to_csv(csv, index=False)
    getattr(frame, f"to_{kind}")(binary)
    a, b = run("kmeans", csv, "-k", "3"), run("kmeans", binary, "-k", "3")
    assert a.code == 0 and b.code == 0, b.err
    text, columnar = assignments(a.out), assignments(b.out)
    assert list(columnar.columns) == list(text.columns)
    assert columnar["cluster"].tolist() == text["cluster"].tolist()
    assert columnar["Country"].tolist() == text["Country"].tolist()
    assert columnar["when"].tolist()[:2] == ["2020-01-01", "2020-01-02"]  # dates as ISO text
    assert columnar["line"].tolist()[:2] == ["1", "2"]  # row numbers: there are no lines


def test_inspect_names_a_columnar_file_by_its_format_not_a_delimiter(tmp_path, run, frame):
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    first = run("inspect", path).out.splitlines()[0]
    assert first.endswith("; Parquet file") and "delimiter" not in first
    assert run("kmeans", path, "-k", "2", "-o", tmp_path / "o", "-q").code == 0
    report = (tmp_path / "o" / "report.md").read_text()
    assert "- Format: Parquet" in report and "Delimiter" not in report


def test_parquet_from_stdin_and_compressed(tmp_path, frame):
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    piped = somcli_subprocess("kmeans", "-", "-k", "3", input=path.read_bytes())
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith(b"line,Country")


def test_a_model_trained_on_parquet_assigns_a_tsv(tmp_path, run, frame):
    frame.to_parquet(tmp_path / "t.parquet")
    frame.drop(columns=["when", "kind"]).to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    assert run("som", tmp_path / "t.parquet", "-k", "3", "--model-out", tmp_path / "m.json",
               "-q").code == 0
    r = run("assign", tmp_path / "m.json", tmp_path / "t.tsv", "-q")
    assert r.code == 0, r.err
    assert len(assignments(r.out)) == len(frame)


def _xlsx(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")


def _sqlite(path):
    con = sqlite3.connect(path)
    con.execute("create table t (a, b)")
    con.commit()
    con.close()


@pytest.mark.parametrize("make, name, what", [
    (_xlsx, "book.xlsx", "Excel workbook"),
    (_xlsx, "book.zip", "Excel workbook"),
    (_sqlite, "data.db", "SQLite database"),
    (lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500)), "old.xls",
     "Excel 97-2003"),
    (lambda p: p.write_bytes(b"%PDF-1.7\n" + bytes(100)), "t.csv", "PDF"),
    # JSON read as a CSV said "has a header but no data rows" or "only 1 data row"
    (lambda p: p.write_text('[{"a": 1, "b": 2}, {"a": 3, "b": 4}]'), "data.json", "JSON"),
    (lambda p: p.write_text('{"a": 1, "b": 2}\n{"a": 3, "b": 4}\n'), "rows.jsonl", "JSON"),
    (lambda p: p.write_text('\ufeff\n  [[1, 2], [3, 4]]'), "m.txt", "JSON"),
])
def test_other_binary_formats_are_refused_by_name(tmp_path, make, name, what):
    make(tmp_path / name)
    r = somcli_subprocess("kmeans", tmp_path / name, "-k", "2")
    assert r.returncode == errors.NO_INPUT
    err = r.stderr.decode()
    assert what in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "UTF-8" not in err and "fields" not in err  # not the misleading text errors


def test_a_broken_parquet_file_is_one_line(tmp_path, frame):
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    path.write_bytes(path.read_bytes()[:200])
    r = somcli_subprocess("kmeans", path, "-k", "2")
    assert r.returncode == errors.DATA and b"not a readable Parquet file" in r.stderr
    assert b"Traceback" not in r.stderr


def test_files_of_two_formats_are_refused(tmp_path, frame):
    frame.to_parquet(tmp_path / "a.parquet")
    frame.to_csv(tmp_path / "b.csv", index=False)
    r = somcli_subprocess("kmeans", tmp_path / "a.parquet", tmp_path / "b.csv", "-k", "2")
    assert r.returncode == errors.NO_INPUT and b"same format" in r.stderr


@pytest.mark.slow
def test_parquet_row_groups_on_dask_match_local(tmp_path, run, local_cluster):
    pytest.importorskip("distributed")
    from conftest import three_blobs

    table = three_blobs(600)
    table.insert(0, "name", [f"r{i}" for i in range(600)])
    table.to_parquet(tmp_path / "t.parquet", row_group_size=150)  # four partitions
    table.to_parquet(tmp_path / "u.parquet", row_group_size=600)
    local = run("som", tmp_path / "*.parquet", "--map", "4x4", "-k", "3", "-q")
    dask = run("som", tmp_path / "*.parquet", "--map", "4x4", "-k", "3", "-q", "--engine",
               "dask", "--scheduler", local_cluster.scheduler_address)
    assert local.code == 0 and dask.code == 0, dask.err
    a, b = assignments(local.out), assignments(dask.out)
    assert len(a) == 1200 and a[["line", "name", "cluster"]].equals(b[["line", "name", "cluster"]])
