"""Saved models, `somcli assign`, drift, --resume, and the cron ergonomics (lock, summary)."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from conftest import COUNTRIES, blobs_csv, somcli_subprocess

from somcli import errors
from somcli.models.model import FORMAT_VERSION, Model


def csv_out(r):
    return pd.read_csv(io.StringIO(r.out))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A SOM and a k-means model trained on the same blobs."""
    from click.testing import CliRunner

    from somcli.cli import cli

    root = tmp_path_factory.mktemp("m")
    data = blobs_csv(root / "train.csv", n=60, sd=1.0, centers=((0, 0), (10, 10), (0, 10)))
    for name, args in (("som", ["som", "-k", "3", "--no-plots"]), ("km", ["kmeans", "-k", "3"])):
        r = CliRunner().invoke(cli, [*args, str(data), "-o", str(root / name), "-q"])
        assert r.exit_code == 0, r.stderr
    return root, data


@pytest.mark.parametrize("name", ["som", "km"])
def test_model_files_are_written_and_readable_without_pickle(trained, name):
    root, _ = trained
    meta = json.loads((root / name / "model.json").read_text())
    assert meta["format"] == "somcli-model" and meta["format_version"] == FORMAT_VERSION
    assert [f["name"] for f in meta["schema"]["features"]] == ["x", "y"]
    assert meta["schema"]["reading"]["delimiter"] == ","
    assert meta["training"]["rows"] == 180 and len(meta["training"]["fingerprint"]) == 64
    with np.load(root / name / "model.npz", allow_pickle=False) as z:
        assert {"center", "scale", "fill", "cluster_shares"} <= set(z.files)


@pytest.mark.parametrize("name", ["som", "km"])
def test_assign_on_the_training_rows_gives_the_training_clusters(trained, run, name):
    root, data = trained
    before = pd.read_csv(root / name / "assignments.csv")
    r = run("assign", root / name / "model.json", data, "-q")
    assert r.code == 0, r.err
    after = csv_out(r)
    assert list(after.columns) == list(before.columns)
    assert (after["cluster"] == before["cluster"]).all()
    if name == "som":
        assert (after[["bmu_row", "bmu_col"]] == before[["bmu_row", "bmu_col"]]).all().all()
        assert np.allclose(after["qe"], before["qe"], atol=1e-5)
        assert (after["is_outlier"] == before["is_outlier"]).all()


@pytest.mark.slow  # (a second Python process)
def test_a_model_survives_a_fresh_process_and_the_folder_form(trained, tmp_path):
    root, data = trained
    r = somcli_subprocess("assign", root / "som", data, "-o", tmp_path / "today", "-q")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "today" / "report.json").read_text())
    assert report["drift"]["drifted"] is False
    assert "no drift" in (tmp_path / "today" / "report.md").read_text()


def test_drift_flags_a_shifted_file(trained, tmp_path, run):
    root, data = trained
    frame = pd.read_csv(data)
    frame["x"] += 8.0  # everything moves
    shifted = tmp_path / "b.csv"
    frame.to_csv(shifted, index=False)
    r = run("assign", root / "som" / "model.json", shifted, "-o", tmp_path / "o", "--json")
    assert r.code == 0, r.err
    line = json.loads(r.out.strip().splitlines()[-1])
    assert line["drift"]["drifted"] is True
    assert any("'x' mean moved" in f for f in line["drift"]["flags"])
    assert line["drift"]["quality_ratio"] > 1.25
    md = (tmp_path / "o" / "report.md").read_text()
    assert "## Drift against the training data" in md and "drift:" in r.err


def test_fail_on_drift_exits_1_after_writing_and_0_without_drift(trained, tmp_path, run):
    root, data = trained
    frame = pd.read_csv(data)
    frame["x"] += 8.0
    shifted = tmp_path / "b.csv"
    frame.to_csv(shifted, index=False)
    model = root / "som" / "model.json"
    r = run("assign", model, shifted, "-o", tmp_path / "o", "--fail-on-drift", "-q")
    assert r.code == errors.DRIFTED == 1
    assert "drifted" in r.err and "--fail-on-drift" in r.err and len(r.err.splitlines()) == 1
    assert (tmp_path / "o" / "assignments.csv").is_file()  # the results are there
    piped = run("assign", model, shifted, "--fail-on-drift", "-q")
    assert piped.code == 1 and len(csv_out(piped)) == len(frame)
    assert run("assign", model, data, "--fail-on-drift", "-q").code == 0  # no drift
    assert run("assign", model, shifted, "-q").code == 0  # not asked: exit 0 as before


def test_reordered_and_extra_columns_are_fine_missing_feature_is_65(trained, tmp_path, run):
    root, data = trained
    frame = pd.read_csv(data)
    frame["extra"] = 1.0
    frame[["extra", "y", "label", "x", "id"]].to_csv(tmp_path / "r.csv", index=False)
    r = run("assign", root / "km" / "model.json", tmp_path / "r.csv", "-o", tmp_path / "o")
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert any("extra" in n for n in report["input"]["notes"])
    frame.drop(columns=["y"]).to_csv(tmp_path / "m.csv", index=False)
    r = run("assign", root / "km" / "model.json", tmp_path / "m.csv")
    assert r.code == errors.DATA and "'y'" in r.err and r.err.count("\n") == 1


def _copy_model(trained, tmp_path, name="som"):
    import shutil

    root, _ = trained
    dst = tmp_path / "model"
    shutil.copytree(root / name, dst)
    return dst


def test_tampered_json_is_refused(trained, tmp_path, run):
    m = _copy_model(trained, tmp_path)
    meta = json.loads((m / "model.json").read_text())
    meta["outliers"]["threshold"] = 99.0
    (m / "model.json").write_text(json.dumps(meta))
    r = run("assign", m / "model.json", trained[1])
    assert r.code == errors.DATA and "checksum" in r.err


def test_tampered_array_is_refused(trained, tmp_path, run):
    m = _copy_model(trained, tmp_path)
    with np.load(m / "model.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["codebook"] = arrays["codebook"] + 1.0
    np.savez(m / "model.npz", **arrays)
    r = run("assign", m / "model.json", trained[1])
    assert r.code == errors.DATA and "codebook" in r.err


def test_truncated_model_files_are_refused(trained, tmp_path, run):
    m = _copy_model(trained, tmp_path)
    data = (m / "model.npz").read_bytes()
    (m / "model.npz").write_bytes(data[: len(data) // 2])
    r = run("assign", m / "model.json", trained[1])
    assert r.code == errors.DATA and r.err.count("\n") == 1
    m2 = _copy_model(trained, tmp_path / "b")
    text = (m2 / "model.json").read_text()
    (m2 / "model.json").write_text(text[: len(text) // 2])
    r = run("assign", m2 / "model.json", trained[1])
    assert r.code == errors.DATA and "truncated" in r.err


def test_newer_format_is_refused(trained, tmp_path, run):
    m = _copy_model(trained, tmp_path)
    meta = json.loads((m / "model.json").read_text())
    meta["format_version"] = FORMAT_VERSION + 1
    (m / "model.json").write_text(json.dumps(meta))
    r = run("assign", m / "model.json", trained[1])
    assert r.code == errors.DATA and "newer" in r.err and "upgrade" in r.err


class Boom:
    def __reduce__(self):  # would run a command if unpickled
        return (subprocess.call, (["touch", "/tmp/somcli-pwned"],))


def test_an_array_file_carrying_a_pickle_is_refused_and_never_run(trained, tmp_path, run):
    m = _copy_model(trained, tmp_path)
    with np.load(m / "model.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["codebook"] = np.array([Boom()], dtype=object)
    np.savez(m / "model.npz", **arrays)
    r = run("assign", m / "model.json", trained[1])
    assert r.code == errors.DATA and "pickle" in r.err
    import os

    assert not os.path.exists("/tmp/somcli-pwned")


def test_a_pickle_renamed_to_npz_is_refused(trained, tmp_path, run):
    m = _copy_model(trained, tmp_path)
    (m / "model.npz").write_bytes(pickle.dumps({"codebook": Boom()}))
    r = run("assign", m / "model.json", trained[1])
    assert r.code == errors.DATA


def test_model_out_writes_only_the_model(trained, tmp_path, run):
    _, data = trained
    r = run("kmeans", data, "-k", "3", "--model-out", tmp_path / "m.json", "-q")
    assert r.code == 0 and r.out.startswith("line,")
    model = Model.load(str(tmp_path / "m.json"))
    assert model.kind == "kmeans" and model.clusters == 3 and (tmp_path / "m.npz").exists()


def test_resume_keeps_grid_and_cluster_numbers(trained, tmp_path, run):
    root, _ = trained
    new = blobs_csv(tmp_path / "new.csv", n=60, sd=1.0, centers=((0, 0), (10, 10), (0, 10)),
                    seed=5)
    r = run("som", "--resume", root / "som" / "model.json", new, "-o", tmp_path / "o",
            "--no-plots", "-q")
    assert r.code == 0, r.err
    old = pd.read_csv(root / "som" / "assignments.csv")
    now = pd.read_csv(tmp_path / "o" / "assignments.csv")
    by_label_old = old.groupby("label")["cluster"].agg(lambda s: s.mode()[0])
    by_label_new = now.groupby("label")["cluster"].agg(lambda s: s.mode()[0])
    assert (by_label_old == by_label_new).all()
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    old_report = json.loads((root / "som" / "report.json").read_text())
    assert (report["map"]["rows"], report["map"]["cols"]) == (old_report["map"]["rows"],
                                                               old_report["map"]["cols"])
    assert report["map"]["resumed"]["codebook_shift_mean"] < 0.5
    assert report["parameters"]["epochs"] == 5


def test_resume_refuses_options_the_model_fixes(trained, run):
    root, data = trained
    r = run("som", "--resume", root / "som" / "model.json", data, "--map", "3x3")
    assert r.code == errors.USAGE and "--map" in r.err


def test_summary_json_needs_out_and_prints_one_line(tmp_path, run):
    r = run("kmeans", COUNTRIES, "-k", "3", "--summary-json")
    assert r.code == errors.USAGE
    r = run("kmeans", COUNTRIES, "-k", "3", "--summary-json", "-o", tmp_path / "o", "-q")
    lines = r.out.strip().splitlines()
    assert r.code == 0 and len(lines) == 1
    summary = json.loads(lines[0])
    assert summary["status"] == "ok" and summary["rows"] == 18 and summary["clusters"] == 3


def test_out_placeholders(tmp_path, run):
    r = run("kmeans", COUNTRIES, "-k", "2", "-o", str(tmp_path / "{stem}-{date}"), "-q")
    assert r.code == 0
    (made,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert made.name.startswith("countries_health_inflation-20")
    r = run("kmeans", COUNTRIES, "-o", str(tmp_path / "{nope}"))
    assert r.code == errors.USAGE


@pytest.mark.slow
def test_a_second_run_on_a_locked_folder_waits_then_exits_75(tmp_path):
    import fcntl
    import os

    out = tmp_path / "o"
    fd = os.open(tmp_path / ".o.somcli.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run holds the folder
    try:
        t0 = time.monotonic()
        r = somcli_subprocess("kmeans", COUNTRIES, "-k", "2", "-o", out, "--wait", "1")
        assert r.returncode == errors.TEMP_FAIL and b"another somcli run" in r.stderr
        assert time.monotonic() - t0 >= 1.0 and not out.exists()
    finally:
        os.close(fd)
    r = somcli_subprocess("kmeans", COUNTRIES, "-k", "2", "-o", out)
    assert r.returncode == 0


def test_the_lock_file_is_gone_when_the_run_ends(tmp_path, run):
    for args in (("-q",), ("-k", "99")):  # a finished run and a failed one
        run("kmeans", COUNTRIES, "-o", tmp_path / "o", "--force", *args)
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


_LOCK_WORKER = """
import sys, time
from pathlib import Path
from somcli.io.lock import locked
target, counter = sys.argv[1], Path(sys.argv[2])
for _ in range(40):
    with locked(target, wait=60):
        n = int(counter.read_text())
        time.sleep(0.001)
        counter.write_text(str(n + 1))
"""


def test_removing_the_lock_file_never_lets_two_runs_in(tmp_path):
    # each worker reads, waits, then writes a counter under the lock: a run that got in
    # beside another (a lock taken on a file the holder had just removed) loses updates
    counter = tmp_path / "counter"
    counter.write_text("0")
    workers = [subprocess.Popen([sys.executable, "-c", _LOCK_WORKER, str(tmp_path / "o"),
                                 str(counter)]) for _ in range(6)]
    assert [w.wait(timeout=120) for w in workers] == [0] * 6
    assert counter.read_text() == "240"
    assert not (tmp_path / ".o.somcli.lock").exists()


@pytest.mark.slow
def test_two_concurrent_runs_one_waits_for_the_other(tmp_path):
    f = blobs_csv(tmp_path / "b.csv", n=3000)
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "somcli", "som", str(f), "-o", str(out), "--force", "--wait",
           "120", "-q", "--no-plots"]
    first = subprocess.Popen(cmd)
    second = subprocess.Popen(cmd)
    assert first.wait(timeout=180) == 0 and second.wait(timeout=180) == 0
    names = sorted(p.name for p in out.iterdir())
    assert "assignments.csv" in names and not list(tmp_path.glob(".somcli-tmp-*"))
    assert len(pd.read_csv(out / "assignments.csv")) == 9000


def test_model_files_get_the_users_usual_permissions(tmp_path, run):
    import os
    import stat

    old = os.umask(0o022)
    try:
        assert run("kmeans", COUNTRIES, "-k", "2", "-o", tmp_path / "o", "-q").code == 0
    finally:
        os.umask(old)
    for name in ("model.json", "model.npz", "assignments.csv"):
        assert stat.S_IMODE((tmp_path / "o" / name).stat().st_mode) == 0o644, name
