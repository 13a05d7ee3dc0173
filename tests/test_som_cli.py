"""somcli som end to end: outputs, pictures, reproducibility, MiniSom, clusters, outliers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import COUNTRIES, MOVIES, blobs_csv, cli_output, write
from PIL import Image


@pytest.fixture(scope="module")
def countries_som(tmp_path_factory):
    return cli_output(tmp_path_factory, "som", COUNTRIES, "-k", "3")


def test_writes_everything(countries_som):
    names = {p.name for p in countries_som.iterdir()}
    assert names == {"assignments.csv", "codebook.csv", "outliers.csv", "umatrix.csv",
                     "umatrix_full.csv", "report.md", "report.json", "report.html",
                     "umatrix.png", "umatrix.svg", "hits.png", "clusters.png", "clusters.svg",
                     "components.png", "projection.png", "profiles.png", "model.json",
                     "model.npz"}


def test_assignment_columns_and_rows(countries_som):
    a = pd.read_csv(countries_som / "assignments.csv")
    assert list(a.columns) == ["line", "Country", "Country ID", "cluster", "bmu_row", "bmu_col",
                               "qe", "outlier_score", "is_outlier"]
    assert len(a) == 18 and a["line"].tolist() == list(range(2, 20))
    assert set(a["cluster"]) == {0, 1, 2}


def test_codebook_and_umatrix_shapes_agree_with_the_map(countries_som):
    report = json.loads((countries_som / "report.json").read_text())
    m = report["map"]
    R, C = m["rows"], m["cols"]
    cb = pd.read_csv(countries_som / "codebook.csv")
    assert len(cb) == R * C and cb["hits"].sum() == 18
    assert (cb["hits"] == 0).sum() == m["dead_units"]
    U = np.loadtxt(countries_som / "umatrix.csv", delimiter=",")
    Uf = np.loadtxt(countries_som / "umatrix_full.csv", delimiter=",")
    assert U.shape == (R, C) and Uf.shape == (2 * R - 1, 2 * C - 1)
    assert np.allclose(Uf[::2, ::2], U) and np.allclose(cb["umatrix"], U.ravel())
    a = pd.read_csv(countries_som / "assignments.csv")
    units = a["bmu_row"] * C + a["bmu_col"]
    assert (cb.loc[units, "cluster"].to_numpy() == a["cluster"].to_numpy()).all()


@pytest.mark.parametrize("name", ["umatrix.png", "hits.png", "clusters.png", "components.png",
                                  "projection.png", "profiles.png"])
def test_each_picture_opens_and_is_drawn(countries_som, name):
    with Image.open(countries_som / name) as img:
        img.load()
        assert img.format == "PNG" and 700 <= img.size[0] <= 1600
        assert 300 <= img.size[1] <= 1500
        pixels = np.asarray(img.convert("L"))
        assert pixels.std() > 10  # something was drawn, not a blank canvas


def test_report_md_shows_the_pictures_and_the_map(countries_som):
    md = (countries_som / "report.md").read_text()
    assert "![umatrix](umatrix.png)" in md and "Topographic error" in md and "## Outliers" in md


def test_same_seed_same_outputs_different_seed_different_map(tmp_path, run):
    f = blobs_csv(tmp_path / "b.csv", sd=2.0)
    outs = []
    for i, seed in enumerate([3, 3, 4]):
        out = tmp_path / f"o{i}"
        r = run("som", f, "--init", "random", "--seed", seed, "-k", "3", "-o", out, "--no-plots")
        assert r.code == 0, r.err
        outs.append({n: (out / n).read_bytes() for n in
                     ("assignments.csv", "codebook.csv", "umatrix.csv", "outliers.csv")})
    assert outs[0] == outs[1]
    assert outs[0]["codebook.csv"] != outs[2]["codebook.csv"]


def test_two_separated_blobs_give_two_clusters_with_k_auto(tmp_path, run):
    f = blobs_csv(tmp_path / "b.csv", centers=((0, 0), (20, 20)), n=60, sd=1.0)
    r = run("som", f, "-k", "auto", "--label-column", "label", "-o", tmp_path / "o", "--no-plots")
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["k_selection"]["chosen"] == 2
    assert report["external"]["ari"] == pytest.approx(1.0)


def test_online_training_gives_minisoms_weights(tmp_path):
    from minisom import MiniSom

    from somcli.algorithms import online, som
    from somcli.algorithms.grid import Grid, radius_schedule

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    grid = Grid(4, 5, "rect")
    W0 = som.pca_init(X, grid)
    ours = online.train(X, W0, grid, epochs=3, sigma=2.0, sigma_end=1.0, decay="linear",
                        learning_rate=0.5, kind="gaussian", seed=11)
    radii = radius_schedule(2.0, 1.0, 3)
    direct = MiniSom(4, 5, 3, sigma=2.0, learning_rate=0.5, neighborhood_function="gaussian",
                     topology="rectangular", random_seed=11)
    direct._weights = W0.reshape(4, 5, 3).copy()
    direct._sigma_decay_function = lambda s, t, T: radii[int(t)]
    direct.train(X, 3, random_order=True, use_epochs=True)
    assert np.allclose(ours, direct.get_weights().reshape(20, 3), atol=1e-12)


def test_online_training_keeps_stdout_for_data(tmp_path, run):
    r = run("som", COUNTRIES, "--train", "online", "--epochs", "2", "-q")
    assert r.code == 0 and r.out.splitlines()[0].startswith("line,Country")
    assert len(r.out.splitlines()) == 19


def test_mask_trains_rows_with_gaps(tmp_path, run):
    r = run("som", MOVIES, "--missing", "mask", "-o", tmp_path / "o", "--no-plots", "-k", "3")
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["cleaning"]["rows_trained_with_gaps"] == 7
    a = pd.read_csv(tmp_path / "o" / "assignments.csv")
    assert a["cluster"].notna().all() and a["qe"].notna().all()
    same = a.set_index("column_1")["cluster"]
    assert same["User 4"] == same["User 7"]  # identical tastes


def test_a_planted_outlier_is_flagged(tmp_path, run):
    rng = np.random.default_rng(2)
    X = rng.normal(0, 1, (200, 3))
    X[57] = [15, -15, 15]
    frame = pd.DataFrame(X, columns=list("abc"))
    frame.insert(0, "name", [f"n{i}" for i in range(200)])
    frame.to_csv(tmp_path / "d.csv", index=False)
    r = run("som", tmp_path / "d.csv", "-o", tmp_path / "o", "--no-plots")
    assert r.code == 0, r.err
    out = pd.read_csv(tmp_path / "o" / "outliers.csv")
    assert out["name"].tolist() == ["n57"]  # the robust rule: the planted row alone
    assert "n57" in (tmp_path / "o" / "report.md").read_text()
    r = run("som", tmp_path / "d.csv", "-o", tmp_path / "q", "--no-plots", "--outliers", "0.99")
    out = pd.read_csv(tmp_path / "q" / "outliers.csv")  # the quantile: the top 1% of 200 rows
    assert out["name"].iloc[0] == "n57" and len(out) == 2
    report = json.loads((tmp_path / "q" / "report.json").read_text())
    assert report["outliers"]["method"] == "quantile" and report["outliers"]["quantile"] == 0.99


def test_mexican_hat_needs_online_training(run):
    r = run("som", COUNTRIES, "--neighborhood", "mexican_hat")
    assert r.code == 64 and "online" in r.err


def test_explicit_map_larger_than_the_data_warns_and_continues(run):
    r = run("som", COUNTRIES, "--map", "10x10")
    assert r.code == 0 and "dead units" in r.err


def test_rect_topology_and_unit_clusters(tmp_path, run):
    f = write(tmp_path / "x.csv", "a,b\n" + "\n".join(f"{i % 7},{(i * 3) % 11}" for i in range(60)))
    r = run("som", f, "--topology", "rect", "--map", "4x3", "-q", "-k", "units")
    a = pd.read_csv(__import__("io").StringIO(r.out))
    assert (a["cluster"] == a["bmu_row"] * 3 + a["bmu_col"]).all()  # -k units: the unit


def test_default_outlier_rule_on_clean_blobs_flags_almost_nothing_but_a_far_row(tmp_path, run):
    """100,000 rows of clean Gaussian blobs: the robust default flags under 0.5 % of rows
    (the 0.99 quantile flagged 1 % by construction), and a row moved far from every
    cluster is flagged; the report says how the threshold was set."""
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 4, (4, 5))
    X = centres[rng.integers(0, 4, 100_000)] + rng.normal(0, 1, (100_000, 5))
    X[123] = X.max(axis=0) + 15
    pd.DataFrame(X, columns=list("abcde")).to_csv(tmp_path / "d.csv", index=False,
                                                  float_format="%.4f")
    r = run("som", tmp_path / "d.csv", "--map", "12x12", "-o", tmp_path / "o", "--no-plots",
            "-q")
    assert r.code == 0, r.err
    a = pd.read_csv(tmp_path / "o" / "assignments.csv")
    assert a["is_outlier"].mean() < 0.005 and a["is_outlier"].iloc[123]
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["outliers"]["method"] == "robust" and "robust SDs" in report["outliers"]["rule"]
    assert report["outliers"]["count"] == int(a["is_outlier"].sum())


def test_a_tiny_table_flags_no_outlier_by_default(tmp_path, run):
    r = run("som", COUNTRIES, "-o", tmp_path / "o", "--no-plots", "-q")
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["outliers"]["count"] == 0 and report["outliers"]["threshold"] is None
    assert "too few" in report["outliers"]["rule"]
    assert "too few" in (tmp_path / "o" / "report.md").read_text()
    r = run("som", COUNTRIES, "-o", tmp_path / "q", "--no-plots", "-q", "--outliers", "0.9")
    assert r.code == 0 and json.loads((tmp_path / "q" / "report.json").read_text()
                                      )["outliers"]["count"] == 2  # 10 % of 18 rows


def test_som_groups_units_into_a_few_clusters_by_default(tmp_path, run):
    """Without -k the map's units are grouped (-k auto); -k units keeps a cluster per unit."""
    data = blobs_csv(tmp_path / "b.csv")
    r = run("som", data, "--map", "8x8", "-q", "--no-plots")
    a = pd.read_csv(__import__("io").StringIO(r.out))
    assert r.code == 0 and a["cluster"].nunique() == 3
    r = run("som", data, "--map", "8x8", "-q", "--no-plots", "-k", "units")
    a = pd.read_csv(__import__("io").StringIO(r.out))
    assert a["cluster"].nunique() > 10


def test_a_model_saved_with_the_quantile_rule_of_earlier_versions_still_assigns(tmp_path, run):
    """Maps saved before the robust rule (outliers: quantile, threshold, qe_median, u_median)
    are replayed with the score they were trained with."""
    from somcli.models.model import Model

    data = blobs_csv(tmp_path / "b.csv")
    assert run("som", data, "--map", "6x6", "-o", tmp_path / "m", "-q", "--no-plots").code == 0
    model = Model.load(str(tmp_path / "m" / "model.json"))
    model.meta["outliers"] = {"quantile": 0.99, "threshold": 1.8, "qe_median": 0.5,
                              "u_median": 0.7, "umatrix_stat": "mean"}
    model.save(str(tmp_path / "old.json"), str(tmp_path / "old.npz"))
    r = run("assign", tmp_path / "old.json", data, "-q")
    assert r.code == 0, r.err
    a = pd.read_csv(__import__("io").StringIO(r.out))
    U = model.arrays["umatrix"]
    unit = a["bmu_row"] * 6 + a["bmu_col"]
    expected = 0.5 * (a["qe"] / 0.5 + U[unit] / 0.7)
    assert np.allclose(a["outlier_score"], expected, rtol=1e-5)
    assert (a["is_outlier"] == (a["outlier_score"] > 1.8)).all()


@pytest.mark.parametrize("k", [[], ["-k", "3"]])
def test_a_table_where_every_row_has_a_gap_is_mapped_with_mask(tmp_path, run, k):
    """--missing mask with a gap in every row: no complete row to choose k or to project,
    yet the map, its clusters and pictures are written (it was an internal error)."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(60, 3)).round(2)
    values[np.arange(60), np.arange(60) % 3] = np.nan
    src = tmp_path / "gappy.csv"
    pd.DataFrame(values, columns=["a", "b", "c"]).to_csv(src, index=False)
    out = tmp_path / "o"
    r = run("som", src, "--missing", "mask", *k, "-o", out)
    assert r.code == 0, r.err
    assert (out / "umatrix.png").exists() and not (out / "projection.png").exists()
    report = json.loads((out / "report.json").read_text())
    if not k:
        assert "too few to choose k" in r.err and report["k_selection"]["chosen"] > 3
    else:
        assert len(report["clusters"]) == 3


def test_a_two_row_table_gets_clusters_0_and_1(tmp_path, run):
    """Too few rows to choose k: each unit that holds rows is a cluster, numbered from 0
    (the units' own numbers had given clusters 0 and 7 and six empty ones)."""
    src = tmp_path / "two.csv"
    src.write_text("name,a,b\nx,1,2\ny,5,9\n")
    r = run("som", src, "-o", tmp_path / "o")
    assert r.code == 0, r.err
    assignments = pd.read_csv(tmp_path / "o" / "assignments.csv")
    assert sorted(assignments["cluster"]) == [0, 1] and "2 clusters" in r.err
    codebook = pd.read_csv(tmp_path / "o" / "codebook.csv")
    assert set(codebook["cluster"]) == {0, 1}  # the empty units joined the nearest
