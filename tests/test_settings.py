"""Settings files and SOMCLI_* variables (issue 14): [defaults] and per-command tables,
found by name or given with --config; the command line wins, then the environment, then
the file; `somcli config show` prints the merged settings as TOML."""

from __future__ import annotations

import json
import tomllib

from conftest import COUNTRIES

from somcli import errors

FILE = """
[defaults]
seed = 3

[som]
map = "4x4"
k = 2
no-plots = true
"""


def report(path):
    return json.loads((path / "report.json").read_text())


def test_the_project_file_is_read_and_the_command_line_wins(tmp_path, run, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "somcli.toml").write_text(FILE)
    assert run("som", COUNTRIES, "-o", "a", "-q").code == 0
    a = report(tmp_path / "a")
    assert (a["map"]["rows"], a["map"]["cols"]) == (4, 4) and len(a["clusters"]) == 2
    assert a["parameters"]["seed"] == 3 and "umatrix.png" not in a["files"]
    assert a["parameters"]["settings_file"] == "somcli.toml"  # the report says what it read
    assert run("som", COUNTRIES, "-o", "b", "-q", "-k", "3", "--seed", "5").code == 0
    b = report(tmp_path / "b")
    assert len(b["clusters"]) == 3 and b["parameters"]["seed"] == 5
    assert run("kmeans", COUNTRIES, "-o", "c", "-q", "-k", "2").code == 0  # [defaults] too
    assert report(tmp_path / "c")["parameters"]["seed"] == 3


def test_the_environment_wins_over_the_file(tmp_path, run, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "somcli.toml").write_text(FILE)
    monkeypatch.setenv("SOMCLI_SOM_SEED", "9")
    monkeypatch.setenv("SOMCLI_K", "3")  # every command's -k
    assert run("som", COUNTRIES, "-o", "a", "-q").code == 0
    a = report(tmp_path / "a")
    assert a["parameters"]["seed"] == 9 and len(a["clusters"]) == 3


def test_an_explicit_file_and_its_variable(tmp_path, run, monkeypatch):
    settings = tmp_path / "cron.toml"
    settings.write_text("[kmeans]\nk = 4\n")
    assert run("kmeans", COUNTRIES, "--config", settings, "-o", tmp_path / "a", "-q").code == 0
    assert len(report(tmp_path / "a")["clusters"]) == 4
    monkeypatch.setenv("SOMCLI_CONFIG", str(settings))
    assert run("kmeans", COUNTRIES, "-o", tmp_path / "b", "-q").code == 0
    assert len(report(tmp_path / "b")["clusters"]) == 4


def test_a_bad_settings_file_is_a_usage_error_naming_it(tmp_path, run):
    for text, said in (("[som]\nbogus = 1\n", "'bogus' is not an option of `somcli som`"),
                       ("[som\n", "not valid TOML"), ("seed = 1\n", "must be a table")):
        (tmp_path / "s.toml").write_text(text)
        r = run("som", COUNTRIES, "--config", tmp_path / "s.toml")
        assert r.code == errors.USAGE and said in r.err and "s.toml" in r.err, r.err
    r = run("som", COUNTRIES, "--config", tmp_path / "missing.toml")
    assert r.code == errors.USAGE and "no such settings file" in r.err


def test_config_show_prints_the_merged_settings_as_toml(tmp_path, run, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "somcli.toml").write_text(FILE)
    monkeypatch.setenv("SOMCLI_ASSIGN_WAIT", "600")
    r = run("config", "show")
    assert r.code == 0, r.err
    shown = tomllib.loads(r.out)  # the output is a settings file
    assert set(shown) == {"inspect", "kmeans", "som", "assign", "embed"}
    assert shown["som"]["map"] == "4x4" and shown["som"]["seed"] == 3
    assert shown["assign"]["wait"] == "600" and shown["kmeans"]["k"] == "auto"
    assert "map = \"4x4\"  # somcli.toml" in r.out and "# $SOMCLI_ASSIGN_WAIT" in r.out
    (tmp_path / "again.toml").write_text(r.out)  # and a file somcli reads back
    assert run("som", COUNTRIES, "--config", tmp_path / "again.toml", "-q").code == 0
