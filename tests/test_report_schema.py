"""report.json of every command, with every way of handling gaps, validates against the
shipped schema (somcli/report_schema.json); the Dask engine's reports are validated in
test_engine_parity.py."""

from __future__ import annotations

import json

import pytest
from conftest import COUNTRIES, MOVIES, blobs_csv

from somcli.report.schema import problems, schema

RUNS = {
    "kmeans, k auto": ("kmeans", COUNTRIES),
    "kmeans, label and knn": ("kmeans", "{blobs}", "-k", "3", "--label-column", "label",
                              "--missing", "knn"),
    "kmeans, dedupe mean": ("kmeans", COUNTRIES, "-k", "3", "--dedupe", "mean"),
    "som, k auto": ("som", COUNTRIES, "-k", "auto", "--no-plots"),
    "som, units as clusters": ("som", COUNTRIES, "--no-plots"),
    "som, gaps masked": ("som", MOVIES, "--missing", "mask", "-k", "2", "--no-plots"),
    "som, gaps dropped": ("som", COUNTRIES, "--missing", "drop", "-k", "2", "--no-plots"),
    "som, online": ("som", COUNTRIES, "--train", "online", "-k", "2", "--no-plots"),
}


@pytest.mark.parametrize("name", list(RUNS))
def test_report_json_of_every_command_validates(tmp_path, run, name):
    data = blobs_csv(tmp_path / "blobs.csv")
    args = [str(data) if a == "{blobs}" else a for a in RUNS[name]]
    out = tmp_path / "o"
    r = run(*args, "-o", out, "-q")
    assert r.code == 0, r.err
    report = json.loads((out / "report.json").read_text())
    assert problems(report) == []
    r = run("assign", out / "model.json", args[1], "-o", tmp_path / "a", "-q")
    assert r.code == 0, r.err
    assert problems(json.loads((tmp_path / "a" / "report.json").read_text())) == []
    if args[0] == "som":
        r = run("som", args[1], "--resume", out / "model.json", "-o", tmp_path / "r", "-q",
                "--no-plots")
        assert r.code == 0, r.err
        assert problems(json.loads((tmp_path / "r" / "report.json").read_text())) == []


def test_the_schema_refuses_what_a_reader_could_not_rely_on(tmp_path, run):
    out = tmp_path / "o"
    assert run("som", COUNTRIES, "-k", "2", "-o", out, "-q", "--no-plots").code == 0
    good = json.loads((out / "report.json").read_text())
    for broken, where in (
            ({k: v for k, v in good.items() if k != "map"}, "top level"),
            (good | {"command": "cluster"}, "command"),
            (good | {"cleaning": good["cleaning"] | {"missing_method": "median",
                                                    "filled_cells": None}}, "cleaning"),
            (good | {"metrics": {"silhouette": "high"}}, "metrics")):
        found = problems(broken)
        assert found and any(p.startswith(where) for p in found), (where, found)
    assert schema()["title"] == "somcli report.json"
