"""--engine dask against the local engine, on real clusters bound to 127.0.0.1.

A LocalCluster with worker processes serves most tests; one test uses threads, one
lets somcli start its own cluster, one kills a worker mid-run, and one reaches a
cluster started with the `dask scheduler` / `dask worker` commands.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")
from conftest import (  # noqa: E402
    assignments_on_both,
    on_both_engines,
    three_blobs,
    two_groups_with_gaps,
)
from distributed import Client, LocalCluster  # noqa: E402

from somcli import errors  # noqa: E402


def blobs(path, n=300, seed=0, gaps=False):
    frame = three_blobs(n, seed)
    if gaps:
        frame.loc[::17, "b"] = np.nan
    frame.insert(0, "name", [f"r{i}" for i in range(n)])
    frame.to_csv(path, index=False, float_format="%.6f")
    return path


@pytest.fixture(scope="module")
def cluster(local_cluster):
    return local_cluster


def run_both(run, tmp_path, command, data, *args, scheduler, blocksize="4KB"):
    (_, local), (_, dist) = on_both_engines(run, tmp_path, scheduler, *command, data, *args,
                                            "-q", blocksize=blocksize)
    return local, dist


SOM = ("som", "--map", "4x3", "-k", "3", "--dtype", "float64", "--no-plots")


@pytest.mark.parametrize("extra", [  # the fast loop keeps the first (the others: slow)
    (), pytest.param(("--missing", "mask"), marks=pytest.mark.slow),
    pytest.param(("--scale", "robust"), marks=pytest.mark.slow),
    pytest.param(("--init", "random", "--seed", "5"), marks=pytest.mark.slow)])
@pytest.mark.slow  # (the fast loop keeps one Dask parity test: the k-means centroids)
def test_dask_som_gives_the_local_codebook(run, tmp_path, cluster, extra):
    data = blobs(tmp_path / "d.csv", gaps=bool(extra))
    local, dist = run_both(run, tmp_path, SOM, data, *extra, scheduler=cluster.scheduler_address)
    a = pd.read_csv(local / "codebook.csv")
    b = pd.read_csv(dist / "codebook.csv")
    scaled = [c for c in a.columns if c.endswith("[scaled]")]
    assert np.allclose(a[scaled], b[scaled], atol=1e-9, rtol=0)
    assert (a["cluster"] == b["cluster"]).all() and (a["hits"] == b["hits"]).all()
    la, lb = pd.read_csv(local / "assignments.csv"), pd.read_csv(dist / "assignments.csv")
    assert (la["cluster"] == lb["cluster"]).all() and la["line"].tolist() == lb["line"].tolist()
    ra = json.loads((local / "report.json").read_text())
    rb = json.loads((dist / "report.json").read_text())
    assert ra["map"]["quantization_error"] == pytest.approx(rb["map"]["quantization_error"],
                                                            abs=1e-9)
    assert ra["outliers"]["count"] == rb["outliers"]["count"]
    assert rb["parameters"]["engine"] == "dask" and rb["parameters"]["partitions"] > 1


def test_dask_kmeans_gives_the_local_centroids(run, tmp_path, cluster):
    data = blobs(tmp_path / "d.csv")
    local, dist = run_both(run, tmp_path, ("kmeans", "-k", "3"), data,
                           scheduler=cluster.scheduler_address)
    a, b = pd.read_csv(local / "centroids.csv"), pd.read_csv(dist / "centroids.csv")
    assert np.allclose(a.drop(columns="cluster"), b.drop(columns="cluster"), atol=1e-9, rtol=0)
    la, lb = pd.read_csv(local / "assignments.csv"), pd.read_csv(dist / "assignments.csv")
    assert (la["cluster"] == lb["cluster"]).all()


@pytest.mark.slow
def test_a_glob_of_files_gives_the_result_of_the_files_concatenated(run, tmp_path, cluster):
    frame = pd.read_csv(blobs(tmp_path / "all.csv"))
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, (a, b) in enumerate([(0, 100), (100, 200), (200, 300)]):
        frame.iloc[a:b].to_csv(parts / f"p{i}.csv", index=False, float_format="%.6f")
    r = run(*SOM, str(parts / "p*.csv"), "-o", tmp_path / "glob", "-q", "--engine", "dask",
            "--scheduler", cluster.scheduler_address)
    assert r.code == 0, r.err
    r = run(*SOM, tmp_path / "all.csv", "-o", tmp_path / "one", "-q", "--engine", "dask",
            "--scheduler", cluster.scheduler_address)
    assert r.code == 0, r.err
    a = pd.read_csv(tmp_path / "glob" / "codebook.csv")
    b = pd.read_csv(tmp_path / "one" / "codebook.csv")
    assert np.allclose(a.drop(columns=["unit"]), b.drop(columns=["unit"]), atol=1e-9)
    names = sorted(p.name for p in (tmp_path / "glob" / "assignments").iterdir())
    assert names[0] == "part-00000.csv"
    joined = pd.concat([pd.read_csv(tmp_path / "glob" / "assignments" / n) for n in names])
    assert joined["source"].str.endswith(("p0.csv", "p1.csv", "p2.csv")).all()
    assert len(joined) == 300 and joined["name"].tolist() == frame["name"].tolist()


@pytest.mark.slow
def test_a_compressed_file_and_a_title_line_read_without_dasks_warnings(run, tmp_path,
                                                                        cluster):
    """Dask warned in its own words, naming keywords the user cannot pass: a gzip file
    ("does not support breaking apart files ... use the keyword blocksize=None") and a
    title line above the header with small partitions ("passing skiprows when blocksize is
    smaller than sample size"). The clusters are the local engine's."""
    import gzip

    text = pd.read_csv(blobs(tmp_path / "b.csv")).to_csv(index=False, float_format="%.6f")
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "gz.csv").write_bytes(gzip.compress(text.encode()))  # (known by content)
    (tmp_path / "titled.csv").write_text("Store sales in December\n" + text)
    for name in ("b.csv.gz", "gz.csv", "titled.csv"):
        (err, local), (dask_err, dist) = assignments_on_both(
            run, tmp_path / name.replace(".", "_"), cluster.scheduler_address, "kmeans",
            tmp_path / name, "-k", "3", "--no-plots", blocksize="2KB")
        assert "blocksize" not in dask_err and "keyword" not in dask_err, dask_err
        assert local[["line", "name", "cluster"]].equals(dist[["line", "name", "cluster"]])


@pytest.mark.slow
def test_k_is_chosen_on_rows_without_a_filled_gap_on_dask_as_locally(run, tmp_path, cluster):
    """-k auto scores its candidates on the rows whose gaps were not filled (each
    partition knows its own): the same k and clusters as the local engine."""
    two_groups_with_gaps(tmp_path / "gaps.csv")
    for command in ("kmeans", "som"):
        (_, local), (_, dist) = assignments_on_both(
            run, tmp_path / command, cluster.scheduler_address, command, tmp_path / "gaps.csv",
            "--no-plots", "-q", blocksize="2KB")
        assert local["cluster"].nunique() == 2 and local["cluster"].equals(dist["cluster"])


@pytest.mark.slow
def test_threads_cluster_and_the_library_call(tmp_path):
    """The pipeline as a library: the same call over the two backends gives one codebook."""
    from somcli.backends.dask import DaskBackend
    from somcli.backends.local import LocalBackend
    from somcli.config import (
        CleanOptions,
        ColumnOptions,
        DaskOptions,
        Execution,
        ReadOptions,
        SomOptions,
        UnitOptions,
    )
    from somcli.pipeline import som

    data = blobs(tmp_path / "d.csv")
    read = ReadOptions(inputs=(str(data),))
    opts, units, exe = SomOptions(rows=4, cols=3), UnitOptions(k=3), Execution(dtype="float64")
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as lc, \
            Client(lc) as client:
        dask = DaskBackend(client, DaskOptions(blocksize="3KB"))
        result = som.run(dask, read, ColumnOptions(), CleanOptions(), opts, units, exe)
        W_dask = result.state.W
        assert result.report.parameters["partitions"] > 1
    W_local = som.run(LocalBackend(), read, ColumnOptions(), CleanOptions(), opts, units,
                      exe).state.W
    assert np.allclose(W_dask, W_local, atol=1e-9, rtol=0)


@pytest.mark.slow
def test_without_a_scheduler_somcli_starts_and_stops_its_own_cluster(run, tmp_path):
    data = blobs(tmp_path / "d.csv", n=120)
    r = run("kmeans", data, "-k", "3", "--engine", "dask", "-q")
    assert r.code == 0, r.err
    out = pd.read_csv(io.StringIO(r.out))
    assert len(out) == 120 and out["line"].tolist() == list(range(2, 122))


@pytest.mark.slow
def test_models_move_between_engines(run, tmp_path, cluster):
    data = blobs(tmp_path / "d.csv")
    addr = cluster.scheduler_address
    assert run(*SOM, data, "-o", tmp_path / "m_dask", "-q", "--engine", "dask",
               "--scheduler", addr).code == 0
    assert run(*SOM, data, "-o", tmp_path / "m_local", "-q").code == 0
    trained = pd.read_csv(tmp_path / "m_local" / "assignments.csv")
    r = run("assign", tmp_path / "m_dask" / "model.json", data, "-q")  # dask model, local
    assert r.code == 0, r.err
    assert (pd.read_csv(io.StringIO(r.out))["cluster"] == trained["cluster"]).all()
    r = run("assign", tmp_path / "m_local" / "model.json", data, "-o", tmp_path / "a", "-q",
            "--engine", "dask", "--scheduler", addr, "--single-file", "--summary-json")
    assert r.code == 0, r.err
    assert (pd.read_csv(tmp_path / "a" / "assignments.csv")["cluster"] == trained["cluster"]).all()
    assert json.loads(r.out)["drift"]["drifted"] is False


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_recovered_or_fails_cleanly(tmp_path):
    data = blobs(tmp_path / "d.csv", n=20000)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", silence_logs=50) as lc:
        out = tmp_path / "o"
        proc = subprocess.Popen([sys.executable, "-m", "somcli", "som", str(data), "--map",
                                 "6x5", "--epochs", "60", "--engine", "dask", "--scheduler",
                                 lc.scheduler_address, "--blocksize", "100KB", "-o", str(out),
                                 "--no-plots", "-q"], stderr=subprocess.PIPE)
        with Client(lc) as client:
            deadline = time.time() + 30
            while time.time() < deadline and not client.has_what().get(
                    next(iter(client.scheduler_info()["workers"]), ""), ()):
                time.sleep(0.1)
            time.sleep(1.5)
            pids = client.run(os.getpid)
            os.kill(next(iter(pids.values())), signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:  # dask reran the lost tasks: what we saw on this machine
        assert (out / "codebook.csv").exists() and (out / "assignments").is_dir()
        assert err == b""
    else:
        assert proc.returncode in set(errors.EXIT_CODES) - {0, errors.INTERNAL}, err
        assert err.decode().strip().count("\n") == 0 and not out.exists()
    assert not list(tmp_path.glob(".somcli-tmp-*"))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("dask") is None and not os.path.exists(
    os.path.join(os.path.dirname(sys.executable), "dask")), reason="dask command not installed")
def test_a_cluster_started_with_the_dask_commands(run, tmp_path):
    """A real ``dask scheduler`` and two ``dask worker`` processes, started as an operator
    would: somcli runs on them by address and by scheduler file, and gives the local
    engine's clusters."""
    exe = os.path.join(os.path.dirname(sys.executable), "dask")
    exe = exe if os.path.exists(exe) else shutil.which("dask")
    sched_file = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen([exe, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--dashboard-address", "127.0.0.1:0", "--scheduler-file",
                                  str(sched_file)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    workers = []
    try:
        for _ in range(200):
            if sched_file.exists() and sched_file.stat().st_size:
                break
            time.sleep(0.1)
        workers = [subprocess.Popen([exe, "worker", "--scheduler-file", str(sched_file),
                                     "--nthreads", "1", "--host", "127.0.0.1",
                                     "--dashboard-address", "127.0.0.1:0"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(2)]
        address = json.loads(sched_file.read_text())["address"]
        with Client(address, timeout="20s") as client:
            client.wait_for_workers(2, timeout=30)
            assert len(client.scheduler_info()["workers"]) == 2
        data = blobs(tmp_path / "d.csv")
        r = run("kmeans", data, "-k", "3", "--engine", "dask", "--scheduler", address, "-o",
                tmp_path / "o", "-q", "--single-file", "--blocksize", "4KB")
        assert r.code == 0, r.err
        r = run("kmeans", data, "-k", "3", "-o", tmp_path / "local", "-q")
        assert r.code == 0, r.err
        a, b = (pd.read_csv(tmp_path / d / "centroids.csv") for d in ("local", "o"))
        assert np.allclose(a.values, b.values, atol=1e-9)
        r = run("kmeans", data, "-k", "3", "--engine", "dask", "--scheduler-file", sched_file,
                "-q")
        assert r.code == 0, r.err
        assert len(r.out.splitlines()) == 301
    finally:
        for p in (*workers, scheduler):
            if p is not None:
                p.terminate()
                p.wait(timeout=20)


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_line(run, tmp_path, monkeypatch):
    monkeypatch.setenv("SOMCLI_DASK_TIMEOUT", "2s")
    data = blobs(tmp_path / "d.csv", n=50)
    r = run("kmeans", data, "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert r.code == errors.UNAVAILABLE and "cannot reach the Dask scheduler" in r.err
    assert r.err.strip().count("\n") == 0


def test_dask_options_need_the_dask_engine(run, tmp_path):
    r = run("kmeans", blobs(tmp_path / "d.csv", n=50), "--scheduler", "tcp://x:1")
    assert r.code == errors.USAGE


@pytest.mark.slow
@pytest.mark.parametrize("blocksize", ["2KB", "64MB"])
def test_a_k_above_the_distinct_rows_is_refused_on_dask_as_locally(run, tmp_path, cluster,
                                                                    blocksize):
    """Three distinct rows repeated over several partitions (or one): -k 4 is exit 65
    with the count, as the local engine says it (Dask used to return empty clusters)."""
    rows = np.array([[0.0, 1.0], [5.0, 5.0], [9.0, 0.5]])
    frame = pd.DataFrame(np.tile(rows, (200, 1)), columns=["a", "b"])
    path = tmp_path / "three.csv"
    frame.to_csv(path, index=False)
    local = run("kmeans", path, "-k", "4", "-q")
    dask = run("kmeans", path, "-k", "4", "-q", "--engine", "dask", "--scheduler", cluster.scheduler_address,
               "--blocksize", blocksize)
    assert local.code == dask.code == errors.DATA
    assert "only 3 distinct row(s)" in dask.err and dask.err == local.err
    ok = run("kmeans", path, "-k", "3", "-q", "--engine", "dask", "--scheduler", cluster.scheduler_address,
             "--blocksize", blocksize)
    assert ok.code == 0 and sorted(set(pd.read_csv(io.StringIO(ok.out))["cluster"])) == [0, 1, 2]


@pytest.mark.slow
def test_a_big_map_trains_on_dask_with_the_local_codebook(run, tmp_path, cluster):
    """Issue 26, item 1: a codebook over Dask's 100 kB became a graph node keyed "W", and the
    next epoch's "W" met the last one in flight (AssertionError, exit 70) from 50x50 maps
    up; and every task carried the grid's units x units distances (48 MB graphs)."""
    rng = np.random.default_rng(4)
    data = tmp_path / "wide.csv"
    pd.DataFrame(rng.normal(size=(600, 6)), columns=[f"f{i}" for i in range(6)]).to_csv(
        data, index=False)
    args = ("som", "--map", "50x50", "-k", "3", "--epochs", "3", "--no-plots", "--dtype",
            "float64")
    local, dist = run_both(run, tmp_path, args, data, scheduler=cluster.scheduler_address,
                           blocksize="16KB")  # (4 partitions; 15 cost 1.5 s more)
    a = pd.read_csv(local / "codebook.csv")
    b = pd.read_csv(dist / "codebook.csv")
    scaled = [c for c in a.columns if c.endswith("[scaled]")]
    assert len(a) == 2500 and np.allclose(a[scaled], b[scaled], atol=1e-9, rtol=0)


def test_a_grid_pickles_without_its_cached_distances():
    import pickle

    from somcli.algorithms.grid import Grid

    grid = Grid(50, 50)
    assert grid.sq_distances.shape == (2500, 2500)
    copy = pickle.loads(pickle.dumps(grid))
    assert len(pickle.dumps(grid)) < 1000 and copy == grid
    assert np.array_equal(copy.sq_distances, grid.sq_distances)


def test_inspect_on_dask_profiles_every_row_as_the_local_engine_does(run, tmp_path, cluster):
    """Issue 26, item 4: `inspect --engine dask` for a file too big for one machine. On a
    table the local engine reads too, both profiles name the same roles and give each
    feature the same missing count, minimum, maximum and mean (values as read, filled gaps
    left out), and the same cleaning; a value far out in a late partition is seen."""
    data = blobs(tmp_path / "d.csv", n=600, gaps=True)
    frame = pd.read_csv(data)
    frame.insert(1, "kind", [("ant", "bee", "cat")[i % 3] for i in range(len(frame))])
    frame.loc[590, "c"] = 123.25  # late: after many small partitions
    frame.to_csv(data, index=False)
    local = run("inspect", data, "--json")
    dist = run("inspect", data, "--json", "--engine", "dask", "--scheduler",
               cluster.scheduler_address, "--blocksize", "2KB")
    assert local.code == 0 and dist.code == 0, dist.err
    a, b = json.loads(local.out), json.loads(dist.out)
    assert a["input"]["rows"] == b["input"]["rows"] == 600
    for key in ("features", "identifiers", "categories", "label_column"):
        assert a[key] == b[key], key
    for x, y in zip(a["columns"], b["columns"], strict=True):
        assert (x["name"], x["role"]) == (y["name"], y["role"])
        if x["name"] in a["features"]:
            for stat in ("missing", "min", "max"):
                assert x[stat] == y[stat], (x["name"], stat)
            assert x["mean"] == pytest.approx(y["mean"], rel=1e-12)
    named = {c["name"]: c for c in b["columns"]}
    assert named["c"]["max"] == 123.25 and named["b"]["missing"] == 36
    for key in ("missing_cells", "fill_values", "rows_with_gaps", "rows_used_for_fitting"):
        assert a["cleaning"][key] == b["cleaning"][key], key


def test_exact_quantiles_over_partitions_are_numpys(cluster):
    """order_stats.quantiles: numpy's linear quantiles of values spread over futures, with
    imputed copies of one value counted and not materialised; ties and a median's two
    middle ranks (answered from one fetched bin) included."""
    from somcli.backends.dask_cluster.order_stats import quantiles

    rng = np.random.default_rng(3)
    parts = [np.round(rng.normal(size=n), 2) for n in (1000, 1, 0, 2500, 777)]
    every = np.concatenate(parts)
    qs = [0.0, 0.25, 0.5, 0.75, 0.9, 1.0]
    with Client(cluster.scheduler_address) as client:
        futures = client.scatter(parts)
        got = quantiles(client, futures, len(every), qs, float(every.min()), float(every.max()))
        assert got == pytest.approx(np.quantile(every, qs), abs=0, rel=0)
        extra = (40, 0.125)  # 40 gaps filled with 0.125
        both = np.concatenate([every, np.full(40, 0.125)])
        got = quantiles(client, futures, len(both), qs, float(both.min()), float(both.max()),
                        extra=extra)
        assert got == pytest.approx(np.quantile(both, qs), abs=0, rel=0)


@pytest.mark.slow
def test_a_category_value_first_seen_late_gets_its_indicator_on_dask(run, tmp_path, cluster,
                                                                     monkeypatch):
    """Issue 26, item 2 (one-hot part): the Dask engine decides roles on the first rows but
    takes each one-hot category's values from every row, so a value first seen late is a
    feature as on the local engine: the same features and centroids."""
    from somcli.backends.dask_cluster import data as D

    monkeypatch.setattr(D, "SAMPLE_ROWS", 100)  # the sample: the first 100 rows only
    frame = three_blobs(400, 0)
    frame.insert(0, "kind", [("ant", "bee")[i % 2] for i in range(400)])
    frame.loc[350:, "kind"] = "cat"  # a value first seen at row 350
    src = tmp_path / "late.csv"
    frame.to_csv(src, index=False, float_format="%.6f")
    local, dist = run_both(run, tmp_path, ("kmeans", "-k", "3", "--categorical", "onehot"),
                           src, scheduler=cluster.scheduler_address)
    ra, rb = (json.loads((d / "report.json").read_text()) for d in (local, dist))
    assert ra["features"] == rb["features"] and "kind=cat" in rb["features"]
    a, b = pd.read_csv(local / "centroids.csv"), pd.read_csv(dist / "centroids.csv")
    assert np.allclose(a.drop(columns="cluster"), b.drop(columns="cluster"), atol=1e-9, rtol=0)


@pytest.mark.slow
def test_every_role_is_decided_on_every_row_as_locally(run, tmp_path, cluster, monkeypatch):
    """Issue 26, item 2: a column constant in the first rows that varies later, a category
    of the first rows whose values later all differ, a column whose gaps come late, and
    whole numbers that turn fractional: the Dask engine reads a sample of the first rows
    but decides each role from every row, so the roles, features and centroids are the
    local engine's (before: constant -> left out, category, feature, integer)."""
    from somcli.backends.dask_cluster import data as D

    monkeypatch.setattr(D, "SAMPLE_ROWS", 100)
    frame = three_blobs(600, 1)
    rng = np.random.default_rng(2)
    frame["late_const"] = np.r_[np.zeros(300), rng.normal(size=300)].round(4)
    frame["grp"] = [("x", "y")[i % 2] if i < 300 else f"id{i}" for i in range(600)]
    frame["late_gaps"] = np.r_[rng.normal(size=250), np.full(350, np.nan)].round(4)
    frame["whole_then_not"] = np.r_[rng.integers(0, 9, 300), rng.normal(size=300)].round(3)
    src = tmp_path / "late.csv"
    frame.to_csv(src, index=False)
    local, dist = run_both(run, tmp_path, ("kmeans", "-k", "3"), src, "--no-plots",
                           scheduler=cluster.scheduler_address)  # (4KB blocks: 8 partitions)
    ra, rb = (json.loads((d / "report.json").read_text()) for d in (local, dist))
    roles = [{c["name"]: (c["kind"], c["role"], c["reason"]) for c in r["columns"]}
             for r in (ra, rb)]
    assert roles[0] == roles[1]
    assert roles[1]["late_const"][1] == "feature" and roles[1]["grp"][1] == "identifier"
    assert roles[1]["late_gaps"][1] == "excluded" and roles[1]["whole_then_not"][0] == "number"
    assert ra["features"] == rb["features"]
    a, b = pd.read_csv(local / "centroids.csv"), pd.read_csv(dist / "centroids.csv")
    assert np.allclose(a.drop(columns="cluster"), b.drop(columns="cluster"), atol=1e-9, rtol=0)


def _ratings(path, n=1200, d=10, seed=0):
    """A ratings table: three groups of users, 1..5 stars, 30% of the cells missing."""
    rng = np.random.default_rng(seed)
    base = rng.random((3, d))
    X = ((base[rng.integers(0, 3, n)] + rng.normal(0, 0.15, (n, d))).clip(0, 1) * 4 + 1).round()
    X[rng.random((n, d)) < 0.3] = np.nan
    frame = pd.DataFrame(X, columns=[f"item{j}" for j in range(d)])
    frame.insert(0, "user", [f"u{i}" for i in range(n)])
    frame.to_csv(path, index=False)
    return path


def _table(folder, name):
    parts = sorted((folder / name).glob("part-*")) if (folder / name).is_dir() else []
    return (pd.concat([pd.read_csv(p) for p in parts], ignore_index=True) if parts
            else pd.read_csv(folder / f"{name}.csv"))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["rbm", "autoencoder"])
def test_embed_on_dask_trains_the_local_model_over_partitions(run, tmp_path, cluster, method):
    """Issue 26, item 3: the gradient steps take minibatches fetched from the workers in
    the local engine's order, the held-out cells are drawn per partition from the table's
    one random stream, and the workers write the codes and reconstruction.csv: the model,
    the codes, the reconstruction, the recommendations and the report's embedding section
    are the local engine's (to rounding)."""
    src = _ratings(tmp_path / "ratings.csv")
    local, dist = tmp_path / "local", tmp_path / "dask"
    for out, extra in ((local, ()), (dist, ("--engine", "dask", "--blocksize", "16KB",
                                            "--scheduler", cluster.scheduler_address))):
        r = run("embed", src, "--method", method, "--epochs", "12", "--top", "2", "-o", out,
                "-q", *extra)
        assert r.code == 0, r.err
    ra, rb = (json.loads((d / "report.json").read_text()) for d in (local, dist))
    assert rb["parameters"]["engine"] == "dask" and rb["parameters"]["partitions"] > 1
    ea, eb = ra["embedding"], rb["embedding"]
    assert ea["curve"][-1]["holdout_rmse"] == pytest.approx(eb["curve"][-1]["holdout_rmse"],
                                                            rel=1e-9)
    for key in ("holdout_cells", "observed_cells", "missing_cells", "binary_features", "epochs"):
        assert ea[key] == eb[key], key
    a, b = np.load(local / "model.npz"), np.load(dist / "model.npz")
    assert sorted(a.files) == sorted(b.files)
    for name in a.files:
        assert np.allclose(a[name], b[name], atol=1e-9, rtol=0), name
    codes = [_table(d, "embeddings") for d in (local, dist)]
    assert list(codes[0].columns) == list(codes[1].columns)
    assert np.allclose(codes[0].filter(regex=r"^e\d").values,
                       codes[1].filter(regex=r"^e\d").values, atol=1e-9)
    recon = [pd.read_csv(d / "reconstruction.csv") for d in (local, dist)]
    assert (recon[0]["filled"].fillna("") == recon[1]["filled"].fillna("")).all()
    assert np.allclose(recon[0].filter(like="item").values, recon[1].filter(like="item").values,
                       atol=1e-9)
    recs = [pd.read_csv(d / "recommendations.csv")[["user", "rank", "item"]] for d in (local, dist)]
    assert recs[0].equals(recs[1])


@pytest.mark.slow
def test_embed_then_cluster_on_dask_as_locally(run, tmp_path, cluster):
    """``kmeans --embed`` on Dask (refused before): the codes stay on the workers, the
    centroids and assignments are the local engine's, and the saved model assigns new
    rows on Dask as locally."""
    src = _ratings(tmp_path / "ratings.csv", seed=3)
    local, dist = run_both(run, tmp_path, ("kmeans", "--embed", "rbm:4", "-k", "3"), src,
                           "--model-out", tmp_path / "m", "--no-plots",
                           scheduler=cluster.scheduler_address, blocksize="16KB")
    a, b = pd.read_csv(local / "centroids.csv"), pd.read_csv(dist / "centroids.csv")
    assert np.allclose(a.values, b.values, atol=1e-9)
    la, lb = _table(local, "assignments"), _table(dist, "assignments")
    assert (la["cluster"].values == lb["cluster"].values).all()
    r = run("assign", tmp_path / "m" / "model.json", src, "-o", tmp_path / "a", "-q",
            "--engine", "dask", "--blocksize", "16KB", "--scheduler", cluster.scheduler_address,
            "--no-plots")
    assert r.code == 0, r.err
    assert (_table(tmp_path / "a", "assignments")["cluster"].values == la["cluster"].values).all()


@pytest.mark.slow  # (the module's cluster)
def test_maps_with_a_large_keyword_of_one_name_do_not_meet(cluster):
    """Dask keys a keyword argument over 100 kB by its name alone: two maps passing one
    (a wide table's column list, a map's codebook) met as one task and the scheduler failed
    on an assertion (exit 70 on a table of 10,000 columns). Every map of the engine goes
    through map_on, which gives each such value a key of its own."""
    from somcli.backends.dask_cluster.client import map_on

    big = list(range(50_000))
    with Client(cluster.scheduler_address, set_as_default=False) as client:
        first = map_on(client, max, [[1], [2]], default=big)
        second = map_on(client, max, [[3], [4]], default=big[:-1])
        assert client.gather(first) == [1, 2] and client.gather(second) == [3, 4]
