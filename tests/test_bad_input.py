"""The bad-input matrix: every hostile or broken input gets the documented exit code,
one actionable line on stderr (no traceback), and leaves the output folder as it was.

Each case runs with ``-o out --force`` against a folder holding an earlier run's
results; a refusal must leave that folder byte for byte as it was. Cases that succeed
(somcli copes, as documented) are marked with code 0.
"""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from conftest import folder_state

from somcli import errors

GOOD = "name,x,y\na,1,2\nb,2,1\nc,9,8\nd,8,9\ne,1.5,1.2\nf,8.5,8.7\n"


@dataclass
class Case:
    name: str
    content: bytes | str | None  # None: the input file is not created
    code: int
    needle: str = ""  # must appear in the stderr line (errors) or the report (successes)
    args: tuple = ("kmeans", "-k", "2")
    suffix: str = ".csv"
    extra: tuple = ()
    setup: str | None = None  # a special arrangement, see arrange()
    stdin: bytes | None = None
    options: dict = field(default_factory=dict)


def rows(n, cols=2, seed=0):
    rng = np.random.default_rng(seed)
    head = ",".join(f"c{i}" for i in range(cols))
    body = "\n".join(",".join(f"{v:.4f}" for v in r) for r in rng.normal(size=(n, cols)))
    return f"{head}\n{body}\n"


def gz(text: str) -> bytes:
    return gzip.compress(text.encode())


def zip_two() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.csv", GOOD)
        z.writestr("b.csv", GOOD)
    return buf.getvalue()


BIG_FIELD = "name,x,y\n" + "z" * 1_100_000 + ",1,2\nb,2,1\nc,9,8\nd,8,9\n"
WIDE = ",".join(f"v{i}" for i in range(10_000)) + "\n" + "\n".join(
    ",".join(str((i * 7 + j * 3) % 11) for j in range(10_000)) for i in range(6)) + "\n"

CASES = [
    Case("missing file", None, errors.NO_INPUT, "no such file"),
    Case("a folder as input", None, errors.NO_INPUT, "is a folder", setup="folder"),
    Case("no read permission", GOOD, errors.NO_INPUT, "permission denied", setup="unreadable"),
    Case("empty file", "", errors.NO_INPUT, "empty"),
    Case("header only", "name,x,y\n", errors.NO_INPUT, "no data rows"),
    Case("only blank lines after the header", "name,x,y\n\n\n", errors.NO_INPUT, "no data rows"),
    Case("one data row", "name,x,y\na,1,2\n", errors.DATA, "at least 2"),
    Case("k larger than the rows", GOOD, errors.DATA, "-k 50", args=("kmeans", "-k", "50")),
    Case("k of one", GOOD, errors.USAGE, "at least 2", args=("kmeans", "-k", "1")),
    Case("a map far larger than the rows (warns, continues)", GOOD, errors.OK, "dead units",
         args=("som", "--map", "30x30", "--no-plots")),
    Case("a column all missing beside a good one", "x,y\n1,\n2,\n3,\n5,\n", errors.OK,
         "every value is missing"),
    Case("the only numeric column all missing", "name,y\na,\nb,\nc,\n", errors.DATA,
         "no numeric column"),
    Case("no numeric column", "a,b\nx,y\nu,v\nw,z\n", errors.DATA, "no numeric column"),
    Case("one numeric column", "name,x\na,1\nb,2\nc,9\nd,10\n", errors.OK, "numeric"),
    Case("one numeric column, som", "name,x\na,1\nb,2\nc,9\nd,10\ne,3\n", errors.OK, "numeric",
         args=("som", "--no-plots")),
    Case("constant columns only", "name,x,y\na,1,5\nb,1,5\nc,1,5\n", errors.DATA, "constant"),
    Case("inf and -inf", "x,y\n1,inf\n2,-inf\n3,4\n4,5\n9,9\n", errors.OK, "Infinite values"),
    Case("1e308", "x,y\n1,1e308\n2,3\n3,4\n4,5\n", errors.DATA, "too large"),
    Case("mixed 3 and three", "x,y\n1,3\n2,three\n3,4\n4,5\n", errors.DATA, "line 3"),
    Case("duplicate column names", "x,x,y\n1,2,3\n2,3,1\n7,8,9\n8,9,7\n", errors.OK,
         "more than once"),
    Case("blank column names", ",x,\n1,2,3\n2,3,1\n7,8,9\n8,9,7\n", errors.OK, "no name"),
    Case("a ragged row names its line", "x,y\n1,2\n3,4\n5,6,7\n8,9\n", errors.DATA, "line 4"),
    Case("a short row is a gap", "x,y\n1,2\n3\n5,6\n8,9\n", errors.OK, "filled"),
    Case("an unterminated quote", 'name,x,y\na,1,2\n"b,2,1\nc,9,8\n', errors.DATA, "quote"),
    Case("NUL bytes", b"name,x,y\na,1,2\nb\x00,2,1\nc,9,8\nd,8,9\n", errors.OK, "name"),
    Case("Latin-1 without -e", "name,x,y\nJos\xe9,1,2\nb,2,1\nc,9,8\n".encode("latin-1"),
         errors.OK, "read as Windows-1252"),
    Case("Cyrillic Windows-1251 without -e", "name,x,y\nИван,1,2\nb,2,1\nc,9,8\n".encode(
        "cp1251"), errors.DATA, "-e latin-1"),
    Case("Latin-1 with -e latin-1", "name,x,y\nJos\xe9,1,2\nb,2,1\nc,9,8\n".encode("latin-1"),
         errors.OK, "iso8859-1", extra=("-e", "latin-1")),
    Case("UTF-16 with BOM", GOOD.encode("utf-16"), errors.OK, "utf-16"),
    Case("CRLF line ends", GOOD.replace("\n", "\r\n"), errors.OK, "comma"),
    Case("a trailing delimiter", GOOD.replace("\n", ",\n"), errors.OK, "column_4"),
    Case("semicolons and decimal commas", "x;y\n1,5;2\n2,5;1\n9,1;8\n8,2;9\n", errors.OK,
         "decimal mark ','"),
    Case("quoted numbers", 'x,y\n"1","2"\n"2","1"\n"9","8"\n"8","9"\n', errors.OK, "numeric"),
    Case("thousands separators", 'x,y\n"1,200",2\n"2,300",1\n"9,100",8\n"8,050",9\n', errors.OK,
         "thousands"),
    Case("percent signs", "x,y\n5%,2\n7%,1\n90%,8\n85%,9\n", errors.OK, "percent"),
    Case("a field over 1 MB", BIG_FIELD, errors.OK, "identifier"),
    Case("10,000 columns", WIDE, errors.OK, "10,000 columns"),
    Case("a truncated .gz", gz(rows(3000))[:700], errors.IO_ERROR, "truncated", suffix=".csv.gz"),
    Case("a .gz that is not gzip", GOOD, errors.IO_ERROR, "not a gzip file", suffix=".csv.gz"),
    Case("a zip with two files", zip_two(), errors.NO_INPUT, "exactly one file", suffix=".zip"),
    Case("a binary file", bytes(range(256)) * 40, errors.DATA, ""),
    Case("empty stdin", None, errors.NO_INPUT, "stdin is empty", setup="stdin", stdin=b""),
    Case("an output folder that is not writable", GOOD, errors.CANT_CREATE, "not writable",
         setup="out-readonly"),
    Case("an output path that is a file", GOOD, errors.CANT_CREATE, "is a file",
         setup="out-file"),
    Case("the output's parent folder is missing", GOOD, errors.CANT_CREATE, "does not exist",
         setup="out-orphan"),
    Case("a full disk", GOOD, errors.IO_ERROR, "no space left", setup="enospc"),
    Case("--columns naming a missing column", GOOD, errors.USAGE, "'x', 'y'",
         args=("kmeans", "-k", "2", "-c", "z")),
    Case("a label column with one class", "x,y,cls\n1,2,a\n2,1,a\n9,8,a\n8,9,a\n", errors.OK,
         "one class", extra=("--label-column", "cls")),
    Case("an id column with duplicates", "id,x,y\nA,1,2\nA,2,1\nB,9,8\nB,8,9\n", errors.OK,
         "lines 2, 3"),
    Case("an unknown encoding", GOOD, errors.USAGE, "unknown encoding", extra=("-e", "klingon")),
    Case("a bad --map", GOOD, errors.USAGE, "ROWSxCOLS", args=("som", "--map", "big")),
    Case("a 1000x1000 map is refused by the memory guard", rows(200), errors.DATA,
         "--max-memory", args=("som", "--map", "1000x1000")),
    Case("--missing mask with online training", GOOD, errors.USAGE, "batch",
         args=("som", "--missing", "mask", "--train", "online")),
    Case("inspect on an empty file", "", errors.NO_INPUT, "empty", args=("inspect",)),
    Case("a missing model file", GOOD, errors.NO_INPUT, "no such model",
         args=("assign", "nowhere/model.json")),
]


def arrange(case: Case, tmp_path, monkeypatch):
    """Write the input and an earlier run's output folder; return (input arg, out arg)."""
    path = tmp_path / f"input{case.suffix}"
    if case.content is not None:
        data = case.content.encode() if isinstance(case.content, str) else case.content
        path.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the user's own file, kept by --force")
    (out / "assignments.csv").write_text("line,cluster\n2,0\n")
    st = (out / "assignments.csv").stat()
    (out / "report.json").write_text(json.dumps({
        "files": ["assignments.csv", "report.json"],
        "file_stats": {"assignments.csv": [st.st_size, st.st_mtime_ns]}}))
    target = str(path)
    if case.setup == "folder":
        target = str(tmp_path)
    elif case.setup == "stdin":
        target = "-"
    elif case.setup == "unreadable":
        import somcli.io.sources as sources

        real = os.access
        monkeypatch.setattr(sources.os, "access",
                            lambda p, mode: False if str(p) == str(path) else real(p, mode))
    elif case.setup == "out-readonly":
        import somcli.io.write as w

        real = os.access
        monkeypatch.setattr(w.os, "access", lambda p, mode: False if str(p) == str(out)
                            else real(p, mode))
    elif case.setup == "out-file":
        out = tmp_path / "a-file"
        out.write_text("not a folder")
    elif case.setup == "out-orphan":
        out = tmp_path / "missing" / "out"
    elif case.setup == "enospc":
        import somcli.io.write as w

        def full(text, dest):  # the disk fills up while the report is written
            raise w.io_error(OSError(errno.ENOSPC, "No space left on device"), dest)

        monkeypatch.setattr(w, "write_text", full)
    return target, out


SLOW_CASES = {"10,000 columns"}  # 8 s: the full suite runs it, the fast loop does not


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c.name in SLOW_CASES
                                  else c for c in CASES], ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path, monkeypatch, run):
    target, out = arrange(case, tmp_path, monkeypatch)
    before = folder_state(out) if out.is_dir() else (out.read_bytes() if out.exists() else None)
    args = list(case.args) + [target, *case.extra, "-o", str(out), "--force"]
    if case.args[0] == "inspect":
        args = list(case.args) + [target, *case.extra]
    r = run(*args, input=case.stdin)
    assert "Traceback" not in r.err
    assert r.code == case.code, r.err
    if case.code != errors.OK:
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("somcli: error: "), r.err
        assert case.needle in lines[0], lines[0]
        after = folder_state(out) if out.is_dir() else (out.read_bytes() if out.exists() else None)
        assert after == before, "a refused run changed the output folder"
        assert not list(tmp_path.glob(".somcli-tmp-*")), "a staging folder was left behind"
    else:
        text = (out / "report.md").read_text() + r.err
        assert case.needle in text, text[-2000:]


def test_the_matrix_has_at_least_40_cases():
    assert len(CASES) >= 40


def test_formula_injection_is_defused_in_csv_but_numbers_stay(tmp_path, run):
    f = tmp_path / "f.csv"
    f.write_text('name,x,y\n"=HYPERLINK(""http://x"")",1,2\n+cmd,2,1\n-3,9,8\n@SUM(A1),8,9\n')
    assert run("kmeans", f, "-k", "2", "-q", "-o", tmp_path / "o").code == 0
    names = pd.read_csv(tmp_path / "o" / "assignments.csv", dtype=str)["name"].tolist()
    assert names[0].startswith("'=HYPERLINK") and names[1] == "'+cmd" and names[3] == "'@SUM(A1)"
    assert names[2] == "-3"
    run("kmeans", f, "-k", "2", "-q", "--no-safe-csv", "-o", tmp_path / "raw")
    raw = pd.read_csv(tmp_path / "raw" / "assignments.csv", dtype=str)["name"].tolist()
    assert raw[1] == "+cmd"


def test_stdout_carries_the_values_as_they_came_so_joins_match(tmp_path, run):
    """A pipe is not a spreadsheet: ids like -A1, +B2, @C3 come out unchanged on stdout
    (a csvjoin on them matched 1 row of 5 when they were quoted)."""
    f = tmp_path / "f.csv"
    f.write_text("id,x,y\n-A1,1,2\n+B2,3,4\n@C3,8,9\nD4,1,1\n=E5,9,8\n")
    r = run("kmeans", f, "-k", "2", "-q")
    assert pd.read_csv(io.StringIO(r.out), dtype=str)["id"].tolist() == [
        "-A1", "+B2", "@C3", "D4", "=E5"]


def test_error_table_in_the_docs_lists_every_case_class():
    from conftest import ROOT

    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("## Errors and exit codes", 1)[1].split("\n## ", 1)[0]
    for phrase in ("missing file", "empty", "header", "ragged", "quote", "encoding", "gzip",
                   "not writable", "disk full", "Ctrl-C", "memory", "locked"):
        assert phrase.lower() in section.lower(), phrase



def test_a_preamble_before_the_header_gets_the_skip_lines_hint(tmp_path, run):
    f = tmp_path / "p.csv"
    f.write_text("Sales report\nExported 2026-11-30 by the shop, all regions\n"
                 "region,amount,units\nnorth,10,1\nsouth,12,3\neast,8,2\nwest,9,4\n")
    r = run("kmeans", f, "-k", "2", "-q")
    assert r.code == errors.DATA and "preamble" in r.err and "pass -K 2" in r.err
    assert run("kmeans", f, "-k", "2", "-q", "-K", "2").code == 0
    f.write_text("a,b\n1,2\n3,4,5\n6,7\n")  # a ragged row, no preamble: the old advice
    r = run("kmeans", f, "-k", "2", "-q")
    assert "look like a preamble" not in r.err and "fix that row" in r.err


def test_a_preamble_that_hid_the_delimiter_still_gets_the_right_skip_lines(tmp_path, run):
    # the sniffer read the preamble too and chose ',' (decimal commas); the table is ';'
    rows = "\n".join(f'S{i};North;"1.{i}34,5";{i},8%;2026-01-0{i}' for i in range(1, 8))
    f = tmp_path / "export.csv"
    f.write_text("report exported 2026\n\nstore;region;revenue;margin;when\n" + rows + "\n")
    r = run("kmeans", f, "-k", "2", "-o", tmp_path / "out")  # a title and a blank line:
    assert r.code == 0, r.err                                  # found and skipped (issue 29)
    notes = json.loads((tmp_path / "out" / "report.json").read_text())["input"]["notes"]
    assert any("the first 2 line(s) look like a title" in n for n in notes)
    assert run("kmeans", f, "-k", "2", "-K", "2", "-q").code == 0
    r = run("kmeans", f, "-k", "2", "-K", "0")  # -K 0: the title read as the header
    assert r.code == errors.DATA and "pass -K 2" in r.err, r.err
