"""The command line: outputs, formats, folders, exit codes, pipes and the README."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from conftest import COUNTRIES, MOVIES, ROOT, folder_state, in_a_terminal, somcli_subprocess, write

from somcli import __version__, errors


def test_version_and_module_entry_point():
    r = somcli_subprocess("--version")
    assert r.returncode == 0 and __version__ in r.stdout.decode()


def test_stdout_carries_the_assignments_only(run):
    r = run("kmeans", COUNTRIES, "-k", "3", "-q")
    assert r.code == 0
    assert r.out.splitlines()[0] == "line,Country,Country ID,cluster,distance"
    assert len(r.out.splitlines()) == 19
    assert r.err == ""


@pytest.mark.parametrize("fmt", ["json", "ndjson", "tsv"])
def test_formats(run, fmt):
    r = run("kmeans", COUNTRIES, "-k", "2", "--format", fmt, "-q")
    if fmt == "json":
        assert len(json.loads(r.out)) == 18
    elif fmt == "ndjson":
        assert [json.loads(x)["Country ID"] for x in r.out.splitlines()][:2] == ["ATW", "AUS"]
    else:
        assert r.out.splitlines()[0].split("\t")[:2] == ["line", "Country"]


def test_existing_output_folder_is_refused_then_replaced_with_force(tmp_path, run):
    out = tmp_path / "o"
    assert run("kmeans", COUNTRIES, "-k", "3", "-o", out).code == 0
    before = folder_state(out)
    r = run("kmeans", COUNTRIES, "-k", "2", "-o", out)
    assert r.code == errors.CANT_CREATE and "--force" in r.err
    assert folder_state(out) == before
    assert run("kmeans", COUNTRIES, "-k", "2", "-o", out, "--force").code == 0
    assert folder_state(out) != before
    assert not list(tmp_path.glob(".somcli-tmp-*"))


def test_force_removes_stale_files_of_the_previous_run_only(tmp_path, run):
    out = tmp_path / "o"
    assert run("som", COUNTRIES, "-o", out, "--no-plots").code == 0
    (out / "my_notes.txt").write_text("keep me")
    assert run("kmeans", COUNTRIES, "-k", "2", "-o", out, "--force").code == 0
    names = {p.name for p in out.iterdir()}
    assert "codebook.csv" not in names and "my_notes.txt" in names and "centroids.csv" in names


def test_empty_existing_folder_is_used(tmp_path, run):
    out = tmp_path / "o"
    out.mkdir()
    assert run("kmeans", COUNTRIES, "-k", "2", "-o", out).code == 0
    assert (out / "report.md").exists()


def test_inspect_profiles_without_clustering(run):
    r = run("inspect", COUNTRIES, "--json")
    profile = json.loads(r.out)
    roles = {c["name"]: c["role"] for c in profile["columns"]}
    assert roles == {"Rank": "excluded", "Country": "identifier", "Country ID": "identifier",
                     "Health Expenditure ($)": "feature", "Inflation (%)": "feature"}
    assert profile["cleaning"]["missing_cells"] == {"Inflation (%)": 2}
    table = run("inspect", MOVIES).out
    assert "column_1" in table and "identifier" in table and "Movie 6" in table


def test_inspect_explains_a_table_without_features(tmp_path, run):
    f = write(tmp_path / "t.csv", "a,b\nx,y\nu,v\n")
    r = run("inspect", f, "--json")
    assert r.code == 0 and "no numeric column" in json.loads(r.out)["problem"]


# ---------------------------------------------------------------- exit codes, one per code

def one_line_error(r):
    lines = r.err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("somcli: error: ") and "Traceback" not in r.err


def test_exit_64_bad_option(run):
    r = run("kmeans", COUNTRIES, "-k", "many")
    assert r.code == errors.USAGE and one_line_error(r)


def test_exit_64_columns_naming_a_missing_column_lists_the_columns(run):
    r = run("kmeans", COUNTRIES, "-c", "GDP")
    assert r.code == errors.USAGE and one_line_error(r) and "'Inflation (%)'" in r.err


def test_exit_65_no_numeric_column(tmp_path, run):
    r = run("kmeans", write(tmp_path / "t.csv", "a,b\nx,y\nu,v\n"))
    assert r.code == errors.DATA and one_line_error(r) and "no numeric column" in r.err


def test_exit_65_more_clusters_than_rows(run):
    r = run("kmeans", COUNTRIES, "-k", "30")
    assert r.code == errors.DATA and one_line_error(r) and "-k 30" in r.err


def test_exit_66_missing_input(tmp_path, run):
    r = run("kmeans", tmp_path / "nope.csv")
    assert r.code == errors.NO_INPUT and one_line_error(r) and "nope.csv" in r.err


def test_exit_70_internal_error_is_one_line_and_verbose_shows_traceback(run, monkeypatch):
    from somcli.pipeline import kmeans

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(kmeans, "run", boom)
    r = run("kmeans", COUNTRIES)
    assert r.code == errors.INTERNAL and one_line_error(r) and "kaboom" in r.err
    r = run("kmeans", COUNTRIES, "-v")
    assert r.code == errors.INTERNAL and "Traceback" in r.err
    r = run("kmeans", COUNTRIES, "-qv")  # combined flags
    assert r.code == errors.INTERNAL and "Traceback" in r.err
    r = run("kmeans", COUNTRIES)  # nothing carried over from the run before
    assert r.code == errors.INTERNAL and "Traceback" not in r.err


def test_exit_73_output_parent_missing(tmp_path, run):
    r = run("kmeans", COUNTRIES, "-o", tmp_path / "a" / "b")
    assert r.code == errors.CANT_CREATE and one_line_error(r)


def test_exit_74_truncated_gzip(tmp_path, run):
    import gzip

    data = gzip.compress(COUNTRIES.read_bytes() * 40)
    r = run("kmeans", write(tmp_path / "t.csv.gz", data[:200]))
    assert r.code == errors.IO_ERROR and one_line_error(r) and "t.csv.gz" in r.err


@pytest.mark.slow
def test_exit_130_interrupt_leaves_nothing_behind(tmp_path):
    import signal
    import sys
    import time

    import numpy as np

    rng = np.random.default_rng(0)
    big = tmp_path / "big.csv"
    np.savetxt(big, rng.normal(size=(20000, 4)), delimiter=",", header="a,b,c,d", comments="")
    out = tmp_path / "o"
    proc = subprocess.Popen([sys.executable, "-m", "somcli", "som", str(big), "--train",
                             "online", "--map", "20x20", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == errors.INTERRUPTED, err
    assert b"Traceback" not in err and err.decode().strip().startswith("somcli: error: interrupted")
    assert not out.exists() and not list(tmp_path.glob(".somcli-tmp-*"))


# ---------------------------------------------------------------- pipes

def test_stdin_pipe_and_head_are_quiet():
    data = COUNTRIES.read_bytes()
    r = subprocess.run("python -m somcli kmeans - -k 3 | head -3", shell=True, input=data,
                       capture_output=True, timeout=120, executable="/bin/bash")
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 3 and lines[0].startswith("line,")
    assert b"Error" not in r.stderr and b"Traceback" not in r.stderr


@pytest.mark.parametrize("command, first", [
    pytest.param("kmeans {big} -k 2 -q", "line,cluster,distance", marks=pytest.mark.slow),
    pytest.param("kmeans {big} -k 2 -q --engine dask --blocksize 200KB", "line,cluster,distance",
                 marks=pytest.mark.slow),
    ("inspect {big}", "{big}: 60,000 rows"),
])
def test_head_on_a_long_output_ends_quietly_with_exit_0(tmp_path, command, first):
    import numpy as np

    if "dask" in command:
        pytest.importorskip("distributed")
    big = tmp_path / "big.csv"
    np.savetxt(big, np.random.default_rng(0).normal(size=(60000, 2)), delimiter=",",
               header="a,b", comments="")
    r = subprocess.run(f"python -m somcli {command.format(big=big)} | head -1; "
                       "exit ${PIPESTATUS[0]}", shell=True, capture_output=True, timeout=120,
                       executable="/bin/bash")
    assert r.stdout.decode().startswith(first.format(big=big))
    assert r.stderr == b"" and r.returncode == 0


def test_exit_code_from_a_real_process():
    r = somcli_subprocess("kmeans", "/nonexistent.csv")
    assert r.returncode == errors.NO_INPUT
    assert r.stderr.decode().count("\n") == 1


# ---------------------------------------------------------------- docs stay true

def readme_test_command() -> str:
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", quick, re.S)
    commands = [line.strip() for b in blocks for line in b.splitlines() if line.strip()]
    assert len(commands) == 2, commands
    return commands[1]


def test_ci_runs_the_readme_test_command():
    command = readme_test_command()
    assert "pytest" in command
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert command in [line.strip() for line in ci]


def test_readme_exit_code_table_matches_the_code():
    text = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\|\s*(\d+)\s*\|\s*(.+?)\s*\|\s*$", text, re.M)
    documented = {int(code) for code, _ in rows}
    assert documented == set(errors.EXIT_CODES)


def test_the_generated_files_are_current():
    """docs/cli.md from --help; the JSON Schemas' value lists from config.py (a new
    clustering kind is one line there: the schemas follow)."""
    import cli_reference

    assert cli_reference.stale() == [], "run python tests/cli_reference.py --write"


def test_the_ugly_sample_is_read_right(tmp_path, run):
    from conftest import SAMPLES

    r = run("kmeans", SAMPLES / "ugly_sales.csv", "-K", "2", "-k", "3", "-o", tmp_path / "o",
            "-q")
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["features"] == ["Revenue", "Margin", "Returns", "Visitors"]
    cent = __import__("pandas").read_csv(tmp_path / "o" / "centroids.csv")
    assert cent["Visitors"].max() > 1000  # 3.120 is 3120, not 3.12
    assert report["cleaning"]["duplicates"]["identical_rows"] == [[9, 10]]
    assert "Region" not in report["cleaning"]["duplicates"]["shared_ids"]


def test_the_report_names_skipped_empty_lines_once(tmp_path):
    from click.testing import CliRunner

    from somcli.cli import cli

    src = write(tmp_path / "b.csv", "a,b\n1,2\n\n3,4\n5,7\n8,1\n")
    out = tmp_path / "o"
    res = CliRunner().invoke(cli, ["kmeans", str(src), "-k", "2", "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert (out / "report.md").read_text().count("1 empty line(s) skipped") == 1


def test_the_architecture_page_names_every_module():
    """docs/architecture.md describes the house as built: a module it does not name is a
    module nobody will find."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    missing = [str(p.relative_to(ROOT / "somcli")) for p in sorted((ROOT / "somcli").rglob("*.py"))
               if p.name not in ("__init__.py", "__main__.py") and p.name not in text]
    assert not missing, f"docs/architecture.md does not mention {missing}"


def test_c_chooses_features_and_keeps_the_identifiers(run):
    """-c picks the features; the identifier columns are still carried (issue 14, #3)."""
    for spec in ("4-5", "Health Expenditure ($),Inflation (%)"):
        r = run("kmeans", COUNTRIES, "-c", spec, "-k", "3", "-q")
        assert r.code == 0, r.err
        assert r.out.splitlines()[0] == "line,Country,Country ID,cluster,distance"


def test_na_values_add_to_the_default_markers(tmp_path, run):
    """Following one error's hint (--na-values 'three') no longer breaks on the next 'NA'."""
    f = write(tmp_path / "na.csv", "x,y\n1,2\n3,NA\nthree,5\n4,7\n8,1\n")
    assert run("kmeans", f, "-k", "2", "-q", "--na-values", "three").code == 0
    r = run("kmeans", f, "-k", "2", "-q", "--na-values", "three", "--na-values-only")
    assert r.code == errors.DATA and "'NA'" in r.err


def test_somcli_columns_keep_their_names_and_clashing_input_columns_are_renamed(tmp_path, run):
    f = write(tmp_path / "c.csv", "line,cluster,x,y\na,p,1,2\nb,q,3,4\nc,r,8,9\nd,s,1,1\ne,t,9,8\n")
    r = run("kmeans", f, "-k", "2")
    assert r.out.splitlines()[0] == "line,input_line,input_cluster,cluster,distance"
    assert r.err.count("written as 'input_line', 'input_cluster'") == 1


def test_a_terminal_gets_its_cursor_back_and_data_without_a_spinner(tmp_path):
    """Issue 14, #1 and #2: in a real (pseudo-)terminal the spinner hides the cursor; every
    exit shows it again, an error starts on a fresh line, and data lines on the same
    terminal hold no spinner text."""
    hide, show = "\x1b[?25l", "\x1b[?25h"
    code, screen = in_a_terminal("kmeans", COUNTRIES, "-k", "30")  # an error after reading
    assert code == errors.DATA
    if hide in screen:
        assert screen.rfind(show) > screen.rfind(hide)
    before = screen[:screen.index("somcli: error:")]
    assert before == "" or before.endswith(("\n", "\r", "\x1b[2K"))  # a fresh (cleared) line
    code, screen = in_a_terminal("kmeans", COUNTRIES, "-k", "3")  # data on the terminal
    assert code == 0
    import re

    lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen).replace("\r", "\n").split("\n")
    assert "line,Country,Country ID,cluster,distance" in lines  # the header, alone on its line
    assert not [line for line in lines if "line,Country" in line and line != lines[
        lines.index("line,Country,Country ID,cluster,distance")]]
    if hide in screen:
        assert screen.rfind(show) > screen.rfind(hide)


def test_one_feature_is_one_feature_and_a_bom_file_is_utf8(tmp_path, run):
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbfa,b\n1,2\n3,4\n5,7\n8,1\n")
    r = run("kmeans", f, "-k", "2", "-c", "a", "-o", tmp_path / "o")
    assert "; 1 feature; 2 clusters;" in r.err
    dialect = json.loads((tmp_path / "o" / "report.json").read_text())["input"]["dialect"]
    assert dialect["encoding"] == "utf-8" and dialect["byte_order_mark"] is True


def test_o_with_a_file_name_is_refused_and_O_writes_the_assignments_alone(tmp_path, run):
    """Issue 14, #9: -o result.csv made a folder named result.csv; -O FILE writes the
    assignments alone, replacing FILE in one step, with the usual permissions."""
    import os
    import stat

    r = run("kmeans", COUNTRIES, "-k", "3", "-o", tmp_path / "result.csv")
    assert r.code == errors.USAGE and "use -O" in r.err and not (tmp_path / "result.csv").exists()
    target = tmp_path / "result.csv"
    target.write_text("old\n")
    old = os.umask(0o022)
    try:
        r = run("kmeans", COUNTRIES, "-k", "3", "-O", target, "-q")
    finally:
        os.umask(old)
    assert r.code == 0 and r.out == ""
    assert target.read_text().splitlines()[0] == "line,Country,Country ID,cluster,distance"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.csv"]  # nothing staged left
    r = run("kmeans", COUNTRIES, "-k", "3", "-O", tmp_path / "r.json", "--format", "json", "-q")
    assert json.loads((tmp_path / "r.json").read_text())[0]["Country"] == "Austria"
    r = run("kmeans", COUNTRIES, "-k", "3", "-O", tmp_path / "x.csv", "-o", tmp_path / "d")
    assert r.code == errors.USAGE and "not both" in r.err


def test_blocksize_takes_the_smallest_size_its_message_names():
    """'at least 1KB' refused 1KB (Dask reads KB as 1,000 bytes; the check asked 1,024)."""
    import click

    from somcli.cli.options_engine import _blocksize

    assert _blocksize("1KB") == 1000 and _blocksize("64MB") == 64_000_000
    with pytest.raises(click.BadParameter, match="at least 1KB"):
        _blocksize("999B")
