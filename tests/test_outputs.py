"""What the outputs hold and how numbers are written (issue 14 #13 and the extras): one
policy for every format, --precision for the numbers somcli computes, never for quotes."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from conftest import COUNTRIES


def csv_text(out: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)


@pytest.mark.parametrize("command", [("som", "-k", "3"), ("kmeans", "-k", "3")])
def test_json_and_csv_write_the_same_numbers(run, command):
    csv = csv_text(run(*command, COUNTRIES, "-q").out)
    records = [json.loads(line) for line in
               run(*command, COUNTRIES, "-q", "--format", "ndjson").out.splitlines()]
    array = json.loads(run(*command, COUNTRIES, "-q", "--format", "json").out)
    assert records == array and len(records) == len(csv)
    column = "qe" if command[0] == "som" else "distance"
    for row, record in zip(csv.to_dict("records"), records, strict=True):
        # the same text: the shortest that reads back as the stored value (17 digits for
        # a float64 distance, float32's few for a float32 qe), never a 15-digit cut
        assert repr(record[column]) == repr(float(row[column]))
        assert len(row[column].replace("-", "").replace(".", "").lstrip("0")) <= 17
    if command[0] == "som":
        assert max(len(r["qe"]) for r in csv.to_dict("records")) <= 11  # float32's digits


def test_assign_writes_qe_as_som_does(tmp_path, run):
    out = tmp_path / "o"
    assert run("som", COUNTRIES, "-k", "3", "-o", out, "-q", "--no-plots").code == 0
    trained = pd.read_csv(out / "assignments.csv", dtype=str)
    assigned = csv_text(run("assign", out / "model.json", COUNTRIES, "-q").out)
    assert assigned["qe"].tolist() == trained["qe"].tolist()


def test_precision_rounds_computed_numbers_and_never_the_input(tmp_path, run):
    data = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(200)],
                          "x": rng.normal(size=200), "y": rng.normal(size=200)})
    frame.loc[3, "x"] = 40.123456789  # an outlier whose values are quoted
    frame.to_csv(data, index=False)
    out = tmp_path / "o"
    r = run("som", data, "-k", "2", "--map", "5x5", "--precision", "3", "-o", out, "-q",
            "--no-plots")
    assert r.code == 0, r.err
    assignments = pd.read_csv(out / "assignments.csv", dtype=str)
    for col in ("qe", "outlier_score"):
        digits = assignments[col].str.replace(r"[-.]|e.*$", "", regex=True).str.lstrip("0")
        assert digits.str.len().max() <= 3
    outliers = pd.read_csv(out / "outliers.csv", dtype=str)
    assert "40.123456789" in outliers["x"].tolist()  # a quote keeps every digit
    codebook = pd.read_csv(out / "codebook.csv")
    assert np.allclose(codebook["x"], codebook["x"].map(lambda v: float(f"{v:.3g}")))
    umatrix = (out / "umatrix.csv").read_text().replace("\n", ",").strip(",").split(",")
    assert all(len(v.strip().replace(".", "").lstrip("0")) <= 4 for v in umatrix)


def test_the_umatrix_file_holds_the_stored_values(tmp_path, run):
    out = tmp_path / "o"
    assert run("som", COUNTRIES, "-k", "3", "-o", out, "-q", "--no-plots").code == 0
    grid = np.loadtxt(out / "umatrix.csv", delimiter=",").ravel()
    codebook = pd.read_csv(out / "codebook.csv")
    assert sorted(grid.tolist()) == sorted(codebook["umatrix"].tolist())  # not %.10g


def test_all_columns_carries_every_input_column_as_read(tmp_path, run):
    table = pd.read_csv(COUNTRIES, dtype=str, keep_default_na=False)
    for command in (("kmeans", "-k", "3"), ("som", "-k", "3")):
        out = csv_text(run(*command, COUNTRIES, "-a", "-q").out)
        assert list(out.columns)[:len(table.columns) + 1] == ["line", *table.columns]
        assert out["Country"].tolist() == table["Country"].tolist()
        for col in ("Health Expenditure ($)", "Inflation (%)", "Rank"):  # features, excluded
            got = pd.to_numeric(out[col], errors="coerce")
            want = pd.to_numeric(table[col], errors="coerce")
            assert got.equals(want) or np.allclose(got, want, equal_nan=True, rtol=0, atol=0)
    model = tmp_path / "m.json"
    assert run("som", COUNTRIES, "-k", "3", "--model-out", model, "-q").code == 0
    assigned = csv_text(run("assign", model, COUNTRIES, "-a", "-q").out)
    assert list(assigned.columns)[1:len(table.columns) + 1] == list(table.columns)


@pytest.mark.slow
def test_all_columns_on_dask_is_the_local_output(tmp_path, run, local_cluster):
    pytest.importorskip("distributed")
    local = run("kmeans", COUNTRIES, "-k", "3", "-a", "-q")
    dask = run("kmeans", COUNTRIES, "-k", "3", "-a", "-q", "--engine", "dask", "--scheduler",
               local_cluster.scheduler_address)
    assert dask.code == 0, dask.err
    a, b = csv_text(local.out), csv_text(dask.out)
    assert list(a.columns) == list(b.columns)
    assert a.drop(columns=["distance"]).equals(b.drop(columns=["distance"]))


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script_for_each_shell(run, shell):
    r = run("completion", shell)
    assert r.code == 0 and "_SOMCLI_COMPLETE" in r.out and r.err == ""


def test_the_bash_completion_completes_commands_and_options():
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("bash") is None:
        pytest.skip("no bash")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep
               + os.environ.get("PATH", ""))
    if shutil.which("somcli", path=env["PATH"]) is None:
        pytest.skip("somcli is not installed as a command")
    script = ('eval "$(somcli completion bash)"; COMP_WORDS=(somcli {words}); '
              'COMP_CWORD={cword}; _somcli_completion somcli; echo "${{COMPREPLY[@]}}"')
    for words, cword, expected in (("so", 1, "som"), ("som --outl", 2, "--outliers"),
                                   ("kmeans --miss", 2, "--missing")):
        out = subprocess.run(["bash", "-c", script.format(words=words, cword=cword)],
                             capture_output=True, text=True, env=env, timeout=60)
        assert out.stdout.split() == [expected], out.stderr


def test_inspect_prints_plain_text_into_a_pipe(run):
    out = run("inspect", COUNTRIES).out
    assert "\x1b" not in out and not set("│┃━╇─") & set(out)  # no escapes, no box drawing
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("#"))
    rows = lines[header + 1:header + 6]
    assert [line.split()[1] for line in rows] == ["Rank", "Country", "Country", "Health",
                                                  "Inflation"]
    assert all(line == line.rstrip() for line in lines)


def test_inspect_shows_data_values_as_they_are_not_markdown_escaped(tmp_path, run):
    rows = "\n".join(f"S<b>{i}</b>_x,{i % 7},{'' if i % 5 == 0 else i % 3}" for i in range(30))
    (tmp_path / "t.csv").write_text("store_id,a,b\n" + rows + "\n")
    out = run("inspect", tmp_path / "t.csv").out
    assert "Rows with gaps: S<b>0</b>_x (line 2)" in out and "\\<" not in out


def test_inspect_fits_the_terminal_width():
    import re
    import unicodedata

    from conftest import in_a_terminal

    code, screen = in_a_terminal("inspect", COUNTRIES, columns=80)
    assert code == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen).replace("\r", "")
    widths = [sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
              for line in text.split("\n")]
    assert max(widths) <= 80 and "Rank" in text and "Inflation" in text


def _options():
    import click

    from somcli.cli import cli

    for name, command in cli.commands.items():
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                yield name, command, param


def test_every_option_has_a_description_and_shows_its_default():
    import click

    from somcli.cli import cli

    for name, command, param in _options():
        assert param.help, f"somcli {name} {param.opts[0]} has no description"
        ctx = click.Context(command, info_name=name, parent=click.Context(cli, info_name="somcli",
                                                                          show_default=True))
        record = param.get_help_record(ctx)
        default = param.get_default(ctx)
        if default not in (None, False, (), "") and "Sentinel" not in repr(default):
            assert "default" in record[1], f"somcli {name} {param.opts[0]}: {record[1]}"


def test_one_meaning_per_flag_across_commands():
    meanings: dict[str, dict[str, str]] = {}
    for name, _, param in _options():
        for flag in param.opts:
            meanings.setdefault(flag, {})[name] = param.help
    for flag, helps in meanings.items():
        if flag in ("-k", "--k-max"):  # the clusters of rows (kmeans) or of units (som)
            assert "rows" in helps.get("kmeans", "rows") and "units" in helps.get("som", "units")
            continue
        import re

        # defaults may differ by command, and a command may add a sentence for a choice
        said = {re.sub(r"\s*\(default[^)]*\)", "", h).rstrip(".") for h in helps.values()}
        shortest = min(said, key=len)
        assert all(h.startswith(shortest) for h in said), f"{flag} means different things: {helps}"


def test_help_lists_options_under_headings(run):
    text = run("som", "--help-all").out  # --help shows the common options only
    headings = [line for line in text.splitlines() if line.endswith("options:")]
    assert headings == ["Input options:", "Column options:", "Cleaning options:",
                        "Map and training options:", "Output options:", "Engine options:",
                        "General options:"]
    assert text.index("--threads") > text.index("Engine options:")


@pytest.mark.slow  # (a second Python process)
@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_stdout_in_a_pipe_is_byte_clean_data(fmt):
    """With warnings and progress on (no -q), stdout holds the data and nothing else: the
    same bytes as a quiet run, no escape codes, no carriage returns, every record whole."""
    from conftest import somcli_subprocess

    args = ("som", COUNTRIES, "--format", fmt)  # this table warns (k is a guess)
    loud, quiet = somcli_subprocess(*args), somcli_subprocess(*args, "-q")
    assert loud.returncode == 0 and b"warning" in loud.stderr
    assert loud.stdout == quiet.stdout and quiet.stderr == b""
    assert b"\x1b" not in loud.stdout and b"\r" not in loud.stdout
    lines = loud.stdout.decode("utf-8").splitlines()
    if fmt == "csv":
        import csv

        rows = list(csv.reader(lines))
        assert rows[0][:2] == ["line", "Country"] and len({len(r) for r in rows}) == 1
        assert len(rows) == 19
    else:
        assert [json.loads(line)["line"] for line in lines] == list(range(2, 20))


def test_a_feature_named_like_somcli_s_columns_is_written_input_name(tmp_path, run):
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "cluster": rng.normal(size=n),
                          "hits": rng.normal(size=n), "x": rng.normal(size=n)})
    frame.loc[4, "x"] = 40.0  # an outlier
    frame.to_csv(tmp_path / "t.csv", index=False)
    for command in (("som", "--map", "5x5", "--no-plots"), ("kmeans",)):
        out = tmp_path / command[0]
        r = run(*command, tmp_path / "t.csv", "-k", "2", "-o", out, "-q")
        assert r.code == 0, r.err
        for name in ("outliers.csv", "codebook.csv", "centroids.csv", "assignments.csv"):
            if (out / name).exists():
                header = (out / name).read_text().splitlines()[0].split(",")
                assert len(header) == len(set(header)), (name, header)
                assert "input_cluster" in header or name == "assignments.csv"
        report = json.loads((out / "report.json").read_text())
        assert any("'cluster'" in w and "input_cluster" in w for w in report["warnings"])


def test_all_columns_does_not_repeat_the_features_in_outliers(tmp_path, run):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(150)], "x": rng.normal(size=150),
                          "y": rng.normal(size=150)})
    frame.loc[3, "x"] = 60.5
    frame.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "o"
    assert run("som", tmp_path / "t.csv", "-k", "2", "--map", "5x5", "-a", "-o", out,
               "--no-plots", "-q").code == 0
    header = (out / "outliers.csv").read_text().splitlines()[0].split(",")
    assert header.count("x") == 1 and "input_x" not in header and "60.5" in \
        (out / "outliers.csv").read_text()


def test_a_wide_tables_column_list_shows_what_stands_out_and_counts_the_rest():
    """report.md's column table stays readable on a 10,000-column table: every column that
    is not a gap-free feature, then the first of those, up to MAX_COLUMN_ROWS rows; the
    rest counted by kind (all of them stay in report.json)."""
    from somcli.report import md_text as markdown

    n = markdown.MAX_COLUMN_ROWS + 300
    columns = [{"position": i + 1, "name": f"v{i}", "kind": "integer", "role": "feature",
                "missing": 0, "reason": "numeric"} for i in range(n)]
    columns[250] |= {"role": "identifier", "kind": "text", "reason": "unique text"}
    columns[400] |= {"missing": 3}
    shown, left = markdown.columns_shown(columns)
    assert len(shown) == markdown.MAX_COLUMN_ROWS and len(shown) + len(left) == n
    assert columns[250] in shown and columns[400] in shown  # what stands out is listed
    assert [c["position"] for c in shown] == sorted(c["position"] for c in shown)
    text = "\n".join(markdown.columns_section(columns))
    assert "(300 more columns, in report.json: integer feature 300)" in text
    assert markdown.columns_shown(columns[:50]) == (columns[:50], [])


def test_report_numbers_read_as_a_person_writes_them():
    """A cluster's mean of 15,340.7 reads 15,341 in report.md, not 1.534e+04; small values
    keep their significant digits; counts and ids stay whole."""
    from somcli.report.md_text import fmt

    assert [fmt(v) for v in (15340.7, -15340.7, 1234.56, 9999.6, 123456789.1)] == \
        ["15,341", "-15,341", "1,235", "10,000", "123,456,789"]
    assert [fmt(v) for v in (12.3456, 0.5, 0.000123456, 50000.0, 7)] == \
        ["12.35", "0.5", "0.0001235", "50,000", "7"]
    assert fmt(float("nan")) == "n/a" and fmt(2.5e17) == "2.5000e+17"
