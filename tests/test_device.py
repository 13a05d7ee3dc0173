"""The GPU backend's code (issue 18), run with NumPy as its array module so that machines
without a GPU cover it: the same best units, sums, maps and k-means as the CPU path, rows
resident or streamed in chunks, and a clear exit 69 when a GPU is asked for and missing."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import COUNTRIES, blobs_csv

from somcli.algorithms import device as G
from somcli.algorithms import som
from somcli.algorithms.nearest import nearest


def _rows(X, resident: bool, chunk: int) -> G.Rows:
    return G.Rows(np, np.asarray(X) if resident else None, None if resident else X, chunk)


def _tied(n=3000, d=6, seed=0):
    """float32 rows and a codebook with many near ties (units in pairs 1e-7 apart)."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(20, d))
    W[10:] = W[:10] + 1e-7
    X = (W[rng.integers(0, 20, n)] + rng.normal(scale=0.3, size=(n, d))).astype(np.float32)
    return X, W


@pytest.mark.parametrize("resident", [True, False])
def test_device_search_picks_the_cpu_units(resident):
    X, W = _tied()
    X[::97, 2] = np.nan  # masked rows too
    want = nearest(X, W, second=True, chunk=512)
    got = G.nearest(_rows(X, resident, chunk=700), W, second=True)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[2], want[2])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("resident", [True, False])
def test_device_epoch_sums_equal_the_cpu_sums(resident):
    X, W = _tied(seed=1)
    X[::50, 0] = np.nan
    want = som.epoch_sums(X, W, chunk=512)
    got = som.epoch_sums(_rows(X, resident, chunk=1000), W)
    for a, b in zip(got[:2], want[:2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)
    assert got[3] == want[3] and got[2] == pytest.approx(want[2], rel=1e-12)


def test_a_map_trained_on_the_device_is_the_cpu_map():
    from somcli.algorithms.grid import Grid

    X, _ = _tied(n=4000, seed=2)
    grid = Grid(6, 5)
    W0 = som.pca_init(X.astype(np.float64), grid)
    radii = np.linspace(3, 1, 8)
    cpu, _ = som.train(X, W0, grid, radii)
    rows = _rows(X, True, chunk=1500)
    gpu, _ = som.train(X, W0, grid, radii, sums_fn=lambda W: som.epoch_sums(rows, W))
    np.testing.assert_allclose(gpu, cpu, atol=1e-6)


def test_lloyd_on_device_rows_is_scikit_learns_kmeans():
    """The one Lloyd (algorithms/lloyd.py) run over a device's rows, streamed in chunks,
    from scikit-learn's starts, ends where scikit-learn's KMeans ends."""
    from sklearn.cluster import KMeans

    from somcli.algorithms import lloyd

    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(c, 1.0, size=(400, 4)) for c in (0, 4, 8, 12)])
    want = KMeans(n_clusters=4, n_init=5, random_state=7).fit(X)
    start = KMeans(n_clusters=4, n_init=5, random_state=7, max_iter=2).fit(X).cluster_centers_
    rows = _rows(X, False, chunk=333)
    tol = lloyd.TOL * float(np.mean(np.var(X, axis=0)))
    got = lloyd.run(lambda C: lloyd.partial_sums(rows, C), start, tol)
    np.testing.assert_allclose(got.centers, want.cluster_centers_, atol=1e-8)
    assert got.inertia == pytest.approx(want.inertia_, rel=1e-9)
    assert got.n_iter >= 1


def test_rows_that_do_not_fit_stay_on_the_host():
    X = np.zeros((100_000, 8), dtype=np.float32)
    assert G.place(np, X, room=4 * X.nbytes, units=100).array is not None
    streamed = G.place(np, X, room=X.nbytes, units=10)
    assert streamed.array is None and 1024 < streamed.chunk
    assert streamed.chunk * 10 * X.itemsize <= X.nbytes // 8  # a chunk's scores fit


@pytest.mark.parametrize("command", ["som", "kmeans"])
def test_device_cuda_runs_give_the_cpu_results(tmp_path, run, monkeypatch, command):
    src = blobs_csv(tmp_path / "b.csv", n=900)
    args = [command, src, "-k", "3", "--no-plots", "-q"]
    assert run(*args, "-o", tmp_path / "cpu").code == 0
    monkeypatch.setenv("SOMCLI_DEVICE_MODULE", "numpy")
    assert run(*args, "--device", "cuda", "-o", tmp_path / "gpu").code == 0
    a, b = (pd.read_csv(tmp_path / d / "assignments.csv") for d in ("cpu", "gpu"))
    assert a["cluster"].tolist() == b["cluster"].tolist()
    report = json.loads((tmp_path / "gpu" / "report.json").read_text())
    assert report["parameters"]["device"].startswith("numpy")
    table = "codebook.csv" if command == "som" else "centroids.csv"
    x, y = (pd.read_csv(tmp_path / d / table).select_dtypes("number") for d in ("cpu", "gpu"))
    np.testing.assert_allclose(x.to_numpy(), y.to_numpy(), atol=1e-6)
    model = tmp_path / "gpu" / "model.json"
    assert run("assign", model, src, "--device", "cuda", "-o", tmp_path / "a", "-q").code == 0
    again = pd.read_csv(tmp_path / "a" / "assignments.csv")
    assert again["cluster"].tolist() == b["cluster"].tolist()


def test_no_gpu_is_a_one_line_exit_69_and_auto_falls_back(tmp_path, run, monkeypatch):
    monkeypatch.delenv("SOMCLI_DEVICE_MODULE", raising=False)
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy fails, as without the extra
    from somcli.backends import gpu

    gpu._probe.cache_clear()  # probed once per process: probe again without CuPy
    r = run("kmeans", COUNTRIES, "-k", "2", "--device", "cuda", "-o", tmp_path / "x")
    assert r.code == 69 and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1 and "somcli[gpu]" in r.err
    assert not (tmp_path / "x").exists()
    r = run("kmeans", COUNTRIES, "-k", "2", "--device", "auto", "-o", tmp_path / "y")
    assert r.code == 0 and "--device auto: running on the CPU" in r.err
    r = run("som", COUNTRIES, "--engine", "dask", "--device", "cuda", "-o", tmp_path / "z")
    assert r.code == 64


def test_max_memory_counts_the_copy_on_the_device():
    from types import SimpleNamespace

    from somcli.backends.gpu import Device, GpuBackend

    X = np.zeros((50_000, 10), dtype=np.float32)
    data = SimpleNamespace(fit=[X])
    roomy = GpuBackend(1, Device(np, "test", free=10 * X.nbytes)).device_memory(data, 400)
    assert roomy["rows on the GPU"] == X.nbytes and roomy["score blocks on the GPU"] > 0
    tight = GpuBackend(1, Device(np, "test", free=X.nbytes)).device_memory(data, 400)
    assert tight["rows on the GPU"] == 0  # streamed: only the chunks' scores are there
    assert tight["score blocks on the GPU"] <= X.nbytes // 4 + 2 * 1024 * 400 * 4
