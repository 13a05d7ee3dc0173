"""Issue 29 (a new user's run, second round): the small things that hurt in the first hour.
Each test is one of the defects reported, run as the user ran it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import COUNTRIES, ROOT

from somcli import errors


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="not a git checkout")
def test_no_lock_or_result_file_is_committed_and_runs_leave_git_clean():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.splitlines()
    assert not [t for t in tracked if t.endswith(".somcli.lock") or t.startswith("results/")]
    for left in (".results.somcli.lock", "results/report.json", ".somcli-tmp-abc123"):
        r = subprocess.run(["git", "check-ignore", "-q", left], cwd=ROOT)
        assert r.returncode == 0, f"{left} would show in git status"


@pytest.mark.parametrize("name, fmt", [("out.json", "json"), ("out.ndjson", "ndjson"),
                                       ("out.tsv", "tsv"), ("out.csv", "csv"),
                                       ("out.txt", "csv")])
def test_O_takes_the_format_from_the_file_name(tmp_path, run, name, fmt):
    target = tmp_path / name
    assert run("kmeans", COUNTRIES, "-k", "2", "-O", target, "-q").code == 0
    text = target.read_text()
    if fmt == "json":
        assert json.loads(text)[0]["Country"] == "Austria"
    elif fmt == "ndjson":
        assert json.loads(text.splitlines()[0])["Country"] == "Austria"
    else:
        assert text.startswith("line\tCountry" if fmt == "tsv" else "line,Country")
    explicit = tmp_path / ("explicit." + name.split(".")[1])
    assert run("kmeans", COUNTRIES, "-k", "2", "-O", explicit, "--format", "csv", "-q").code == 0
    assert explicit.read_text().startswith("line,")  # --format, when given, wins


def test_O_with_a_format_somcli_does_not_write_is_refused(tmp_path, run):
    r = run("kmeans", COUNTRIES, "-k", "2", "-O", tmp_path / "out.parquet")
    assert r.code == errors.USAGE and "not .parquet" in r.err
    assert not (tmp_path / "out.parquet").exists()


def test_a_settings_file_read_from_the_working_folder_is_noted(tmp_path, run, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "somcli.toml").write_text("[kmeans]\nk = 2\n")
    (tmp_path / "somcli.toml").chmod(0o644)
    r = run("kmeans", COUNTRIES)
    assert r.code == 0 and "somcli: settings read from ./somcli.toml" in r.err
    assert run("kmeans", COUNTRIES, "-q").err == ""  # --quiet silences the note


def test_a_bad_value_names_the_variable_or_the_file_it_came_from(tmp_path, run, monkeypatch):
    monkeypatch.setenv("SOMCLI_K", "abc")
    r = run("kmeans", COUNTRIES)
    assert r.code == errors.USAGE and "(from $SOMCLI_K)" in r.err
    monkeypatch.delenv("SOMCLI_K")
    settings = tmp_path / "s.toml"
    settings.write_text("[som]\nmap = 8\n")
    r = run("som", COUNTRIES, "--config", settings)
    assert r.code == errors.USAGE and f"(from {settings}, key 'map')" in r.err
    r = run("som", COUNTRIES, "--map", "8")  # typed: no origin to name
    assert r.code == errors.USAGE and "(from" not in r.err


def test_the_top_level_help_lists_every_exit_code(run):
    text = " ".join(run("--help").out.split())
    listed = {int(c) for c in re.findall(r"(\d+) [a-zI]", text.split("Exit codes:")[1])}
    assert listed >= set(errors.EXIT_CODES), set(errors.EXIT_CODES) - listed


def test_embed_and_embed_clustering_fit_the_code_to_a_narrow_table(tmp_path, run):
    from conftest import MOVIES

    r = run("embed", MOVIES, "--top", "2", "-o", tmp_path / "e", "-q")
    assert r.code == 0, r.err  # 6 feature columns: the default code has 6 units, not 8
    e = json.loads((tmp_path / "e" / "report.json").read_text())["embedding"]
    assert e["dim"] == 6 and "at most the 6 feature columns" in e["dim_rule"]
    assert (tmp_path / "e" / "recommendations.csv").exists()
    assert run("kmeans", MOVIES, "--embed", "rbm", "-k", "3", "-O", tmp_path / "k.csv",
               "-q").code == 0
    r = run("kmeans", MOVIES, "--embed", "rbm:9", "-k", "3")  # the hint names this option
    assert r.code == errors.DATA and "use --embed rbm:6 or fewer" in r.err
    r = run("embed", MOVIES, "--dim", "9")
    assert r.code == errors.DATA and "use --dim 6 or fewer" in r.err
    r = run("embed", MOVIES, "--top", "2")  # recommendations need a folder: never dropped
    assert r.code == errors.USAGE and "-o DIR" in r.err and r.out == ""


def test_the_report_leads_with_the_answer_and_folds_how_it_was_reached(tmp_path, run):
    from conftest import blobs_csv

    data = blobs_csv(tmp_path / "blobs.csv")
    assert run("som", data, "--label-column", "label", "-o", tmp_path / "s", "-q").code == 0
    md = (tmp_path / "s" / "report.md").read_text()
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads[0] == "## Clusters" and heads.index("## Choosing k") < heads.index("## Input")
    assert heads.index("## Quality") < heads.index("## Input") < heads.index("## Parameters")
    first_picture = next(line for line in md.splitlines() if line.startswith("!["))
    assert first_picture == "![clusters](clusters.png)"
    assert md.index(first_picture) < md.index("## Choosing k")
    page = (tmp_path / "s" / "report.html").read_text()
    for folded in ("Input", "Columns", "Cleaning", "Parameters", "Run"):
        assert f"<details><summary>{folded}</summary>" in page
    assert page.index("<h2>Clusters</h2>") < page.index("<details>")
    assert "ARI vs label" in page  # the label's agreement is on the cards
    assert run("assign", tmp_path / "s" / "model.json", data, "-o", tmp_path / "a",
               "-q").code == 0
    heads = [line for line in (tmp_path / "a" / "report.md").read_text().splitlines()
             if line.startswith("## ")]
    assert heads[:3] == ["## Model", "## Drift against the training data", "## Clusters"]


def test_the_svg_maps_carry_what_the_pngs_carry(tmp_path, run):
    """Issue 29, item 2: a title, a colour bar with its values, the rows' names on their
    units, and captions wrapped to the picture's width."""
    import xml.etree.ElementTree as ET

    assert run("som", COUNTRIES, "-k", "3", "-o", tmp_path / "s", "-q").code == 0
    ns = "{http://www.w3.org/2000/svg}"
    for name in ("umatrix.svg", "clusters.svg"):
        root = ET.parse(tmp_path / "s" / name).getroot()
        texts = ["".join(t.itertext()) for t in root.iter(f"{ns}text")]
        width = float(root.get("width"))
        assert texts[0].startswith("U-matrix, 5x4" if name == "umatrix.svg" else "Clusters (3)")
        assert "ATG" in texts and "AGO" in texts  # Antigua's and Angola's units are named
        assert all(len(t) * 6.6 <= width for t in texts), max(texts, key=len)
    root = ET.parse(tmp_path / "s" / "umatrix.svg").getroot()
    assert len(list(root.iter(f"{ns}stop"))) == 11
    ticks = [(float(t.get("y")), float(t.text)) for t in root.iter(f"{ns}text")
             if t.text and t.text.replace(".", "", 1).isdigit() and "." in t.text]
    assert len(ticks) == 5 and min(ticks)[1] == max(v for _, v in ticks)  # largest on top


@pytest.mark.parametrize("text, skipped", [
    ("Sales report 2026\nname,x,y\na,1,2\nb,2,1\nc,9,8\nd,8,9\n", 1),
    ("\ufeffExport;;;\nname;x;y;z\na;1,5;2;3\nb;2,5;1;4\nc;9,1;8;5\nd;8,2;9;6\n", 1),
    ("Report\n\nBy region\nname,x,y\na,1,2\nb,2,1\nc,9,8\nd,8,9\n", 3),
    (",value\n0,1.5\n1,2.5\n2,9.1\n3,8.2\n", 0),  # pandas' unnamed index: a header
    ("name,\na,1\nb,2\nc,9\nd,8\n", 0),  # a header with one name
    ("x;y\n1,5;2\n2,5;1\n9,1;8\n8,2;9\n", 0),  # decimal commas: no title under ','
    ("name,x,y\na,1,2,\nb,2,1,\nc,9,8,\nd,8,9,\n", 0),  # a trailing delimiter
])
def test_a_title_above_the_table_is_found_and_skipped(tmp_path, run, text, skipped):
    data = tmp_path / "t.csv"
    data.write_bytes(text.encode("utf-8"))
    r = run("inspect", data, "--json")
    assert r.code == 0, r.err
    profile = json.loads(r.out)
    notes = " ".join(profile["input"]["notes"])
    if skipped:
        assert f"the first {skipped} line(s) look like a title" in notes
        assert [c["name"] for c in profile["columns"]][:2] == ["name", "x"]
    else:
        assert "look like a title" not in notes


def test_assign_reads_a_file_with_a_title_as_training_did(tmp_path, run):
    train = tmp_path / "train.csv"
    train.write_text("name,x,y\na,1,2\nb,2,1\nc,9,8\nd,8,9\n")
    assert run("kmeans", train, "-k", "2", "-o", tmp_path / "m", "-q").code == 0
    new = tmp_path / "new.csv"
    new.write_text("Sales report 2026\nname,x,y\ne,1,1\nf,9,9\n")
    r = run("assign", tmp_path / "m" / "model.json", new)
    assert r.code == 0 and "warning" not in r.err, r.err  # no leaked pandas warning
    assert r.out.splitlines()[1].startswith("3,e,")  # line 3 of the file


def test_rows_longer_than_the_header_are_refused_not_cut(tmp_path, run):
    """pandas keeps only the header's fields and warns: a column lost without a word."""
    titled = tmp_path / "titled.csv"
    titled.write_text("Sales report 2026\nname,x,y\na,1,2\nb,2,1\nc,9,8\nd,8,9\n")
    r = run("kmeans", titled, "-k", "2", "-K", "0")
    assert r.code == errors.DATA and "pass -K 1" in r.err and "warning" not in r.err
    short = tmp_path / "short.csv"
    short.write_text("a,b\n1,2,3\n4,5,6\n7,8,9\n")
    r = run("kmeans", short, "-k", "2")
    assert r.code == errors.DATA and "more fields than the header's 2 names" in r.err


def test_the_byte_order_mark_is_reported_only_when_there_is_one(tmp_path, run):
    plain, marked = tmp_path / "plain.csv", tmp_path / "marked.csv"
    text = "name,x,y\na,1,2\nb,2,1\nc,9,8\nd,8,9\n"
    plain.write_text(text)
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode())
    for path, mark in ((plain, False), (marked, True)):
        dialect = json.loads(run("inspect", path, "--json").out)["input"]["dialect"]
        assert dialect["encoding"] == "utf-8" and dialect.get("byte_order_mark", False) is mark


def test_inspect_shows_ids_as_numbers_and_counts_every_column(tmp_path, run):
    import numpy as np

    n = 120_001  # past the roles' 100,000 rows: a float column's distinct values not counted
    rng = np.random.default_rng(0)
    data = tmp_path / "big.csv"
    ids = np.arange(50_000, 50_000 + n)
    np.savetxt(data, np.column_stack([ids, rng.normal(size=n), rng.normal(size=n)]),
               delimiter=",", header="code,x,y", comments="", fmt=["%d", "%.6f", "%.6f"])
    r = run("inspect", data)
    assert r.code == 0 and "5e+04" not in r.out and "50,000 .. 170,000" in r.out, r.out
    assert " None " not in r.out
    profile = json.loads(run("inspect", data, "--json").out)
    assert all(isinstance(c["unique"], int) for c in profile["columns"])


def test_report_numbers_carry_no_float_noise(tmp_path, run):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "\n".join(f"{4.9 + (i % 3) * 0.003:.3f},{i % 7}" for i in range(30)))
    assert run("kmeans", data, "-k", "2", "-o", tmp_path / "o", "-q").code == 0

    def floats(v):
        if isinstance(v, dict):
            return [x for u in v.values() for x in floats(u)]
        if isinstance(v, list):
            return [x for u in v for x in floats(u)]
        return [v] if isinstance(v, float) else []

    values = floats(json.loads((tmp_path / "o" / "report.json").read_text()))
    assert values and all(float(f"{v:.15g}") == v for v in values)


@pytest.mark.parametrize("command", ["som", "kmeans", "embed", "assign", "inspect"])
def test_help_fits_a_screenful_with_examples_and_help_all_has_everything(run, command):
    from somcli.cli import cli

    short, full = run(command, "--help").out, run(command, "--help-all").out
    assert len(short.splitlines()) <= 120, len(short.splitlines())
    names = [o for p in cli.commands[command].params for o in getattr(p, "opts", [])
             if o.startswith("--") and not getattr(p, "hidden", False)]
    assert all(n in full for n in names)  # every option is one flag away
    if command != "inspect":
        assert "Examples:" in short and f"somcli {command} --help-all" in short
        assert "-k" in short or command in ("embed", "assign")
    assert "-h, --help" in short


def test_picture_labels_keep_names_apart_and_ranges_read_true():
    """Issue 29, item 3: profiles.png cut long names until two read the same; a component
    plane said "data: -7.3e-10 to 0.201" for a column whose minimum is 0."""
    import numpy as np

    from somcli.report.cluster_plots import _wrapped
    from somcli.report.component_plots import _ends

    names = [f"mean concave points of cell nucleus {i}" for i in range(12)]
    for room in (8, 12, 20):
        labels = [_wrapped(n, room) for n in names]
        assert len(set(labels)) == len(names)
        assert all(len(line) <= room for t in labels for line in t.split("\n"))
        assert all(t.count("\n") <= 2 for t in labels)
    assert _wrapped("population", 12) == "population"
    assert _ends(np.array([-7.3e-10, 0.1, 0.201])) == [0.0, 0.201]
    assert _ends(np.array([-3.0, 3.19])) == [-3.0, 3.19]


def test_device_auto_leaves_a_trace_in_the_report(tmp_path, run):
    r = run("som", COUNTRIES, "-k", "3", "--device", "auto", "-o", tmp_path / "o")
    assert r.code == 0, r.err
    device = json.loads((tmp_path / "o" / "report.json").read_text())["parameters"]["device"]
    if device.startswith("cpu"):  # no usable GPU here: the warning and the report say why
        assert "--device auto:" in device and "--device auto: running on the CPU" in r.err
    assert "| device |" in (tmp_path / "o" / "report.md").read_text()


def test_the_embed_report_shows_recommendations_and_warns_about_a_poor_fit(tmp_path, run):
    from conftest import MOVIES

    from somcli.pipeline.embed import _fit_warnings

    assert run("embed", MOVIES, "--top", "2", "-o", tmp_path / "e", "-q").code == 0
    md = (tmp_path / "e" / "report.md").read_text()
    assert "Recommendations: each row's 2 gap(s)" in md and "| row | rank | item | score |" in md
    assert "BMU" not in md and "never filled in" in md  # an embedding's cleaning, not a map's
    good = {"holdout_rmse": 0.3, "holdout_rmse_item_means": 0.5,
            "curve": [{"epoch": e, "holdout_rmse": r} for e, r in ((10, 0.5), (20, 0.35),
                                                                   (30, 0.3))]}
    assert _fit_warnings(good) == []
    worse = dict(good, holdout_rmse=0.6)
    assert "worse than predicting each column's mean" in _fit_warnings(worse)[0]
    overfit = dict(good, curve=[{"epoch": 10, "holdout_rmse": 0.5},
                                {"epoch": 20, "holdout_rmse": 0.2},
                                {"epoch": 30, "holdout_rmse": 0.3}])
    assert any("try --epochs 20" in w for w in _fit_warnings(overfit))


def test_messages_name_what_was_run(tmp_path, run):
    """Issue 29, item 6: assign of an embedding model said "somcli embed:"; a resumed map
    said "resumed from ... initialisation"."""
    from conftest import MOVIES

    assert run("embed", MOVIES, "-o", tmp_path / "e", "-q").code == 0
    r = run("assign", tmp_path / "e" / "model.json", MOVIES, "-O", tmp_path / "codes.csv")
    assert r.code == 0 and r.err.startswith("somcli assign:"), r.err
    assert run("som", COUNTRIES, "-k", "3", "-o", tmp_path / "m", "-q").code == 0
    assert run("som", COUNTRIES, "--resume", tmp_path / "m" / "model.json", "-o",
               tmp_path / "r", "-q").code == 0
    md = (tmp_path / "r" / "report.md").read_text()
    assert "(its codebook was the start)" in md and "model.json initialisation" not in md


def test_the_k_choice_is_a_picture_beside_its_table(tmp_path, run):
    """Issue 29, item 1: the k choice and its evidence as a picture (score and stability
    against k), shown in "Choosing k"; none when -k is given."""
    from conftest import blobs_csv
    from PIL import Image

    data = blobs_csv(tmp_path / "blobs.csv")
    for command in ("kmeans", "som"):
        out = tmp_path / command
        assert run(command, data, "-o", out, "-q").code == 0
        with Image.open(out / "k_choice.png") as picture:
            assert picture.size == (760, 420)
            assert len(set(picture.convert("RGB").getdata())) > 20  # drawn, not blank
        md = (out / "report.md").read_text()
        k_part = md.split("## Choosing k", 1)[1].split("\n## ", 1)[0]
        assert "![k_choice](k_choice.png)" in k_part and md.count("k_choice.png)") == 1
    assert run("kmeans", data, "-k", "3", "-o", tmp_path / "given", "-q").code == 0
    assert not (tmp_path / "given" / "k_choice.png").exists()


def test_component_plane_colour_bar_labels_are_not_cut_at_the_edge(tmp_path, run):
    import numpy as np
    import pandas as pd
    from PIL import Image

    rng = np.random.default_rng(5)
    pd.DataFrame({"a": rng.normal(0, 1e-4, 300), "b": rng.normal(-2e6, 5e5, 300),
                  "c": rng.normal(0, 1e-4, 300), "d": rng.normal(-3e-5, 2e-5, 300)}
                 ).to_csv(tmp_path / "tiny.csv", index=False)
    assert run("som", tmp_path / "tiny.csv", "-k", "3", "--color-scale", "linear",
               "-o", tmp_path / "o", "-q").code == 0
    with Image.open(tmp_path / "o" / "components.png") as picture:
        pixels = np.asarray(picture.convert("L"))
    assert pixels[:, -8:].min() > 200  # the right edge is margin: "-7.5e-05" drawn whole


def test_a_value_shared_by_thousands_of_rows_is_counted_not_listed(run, tmp_path):
    """A new user's inspect of a 30,000-row export printed 15,000 line numbers for two
    values of a group column that repeat: a sentence lists the first lines and the count."""
    n = 3000
    rng = np.random.default_rng(0)
    src = tmp_path / "groups.csv"
    pd.DataFrame({"grp": ["x" if i < 1500 else f"id{i}" for i in range(n)],
                  "a": rng.normal(size=n), "b": rng.normal(size=n)}).to_csv(src, index=False)
    r = run("inspect", src)
    assert r.code == 0, r.err
    line = next(x for x in r.out.splitlines() if "sharing a grp value" in x)
    assert "lines 2, 3, 4, 5, 6, 7, 8, 9, ... (1,500 lines)" in line and "1509" not in line
