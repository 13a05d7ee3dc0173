"""The Python API (issue 28, item 3): ``somcli.cluster`` on a DataFrame, an array or files
gives what the command gives; ``somcli.SOM`` is a scikit-learn estimator on the batch
engine that passes scikit-learn's own estimator checks and finds the CLI's clusters."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import COUNTRIES, MOVIES, blobs_csv
from PIL import Image
from sklearn.utils.estimator_checks import parametrize_with_checks

import somcli
from somcli.errors import UsageError


def cli_assignments(run, tmp_path, *args) -> pd.DataFrame:
    out = tmp_path / "cli"
    r = run(*args, "-o", out, "-q", "--no-plots")
    assert r.code == 0, r.err
    return pd.read_csv(out / "assignments.csv")


@pytest.mark.parametrize("method, args", [("kmeans", ["-k", "3"]),
                                          ("som", ["-k", "3", "--seed", "2"])])
def test_cluster_on_a_dataframe_gives_the_commands_clusters(tmp_path, run, method, args):
    frame = pd.read_csv(COUNTRIES)
    result = somcli.cluster(frame, method=method, k=3, seed=2)
    cli = cli_assignments(run, tmp_path, method, COUNTRIES, *args)
    got = result.assignments
    assert list(got["cluster"]) == list(cli["cluster"])
    assert list(got["Country"]) == list(cli["Country"])  # identifiers carried
    assert list(got["line"]) == list(range(1, len(frame) + 1))  # a frame's rows are numbered
    np.testing.assert_allclose(got.iloc[:, -1 if method == "kmeans" else 6],
                               cli.iloc[:, -1 if method == "kmeans" else 6], rtol=1e-6)
    from_file = somcli.cluster(COUNTRIES, method=method, k=3, seed=2)
    assert list(from_file.assignments["line"]) == list(cli["line"])  # files keep lines
    def profiles(r):  # the clusters' sizes and means (typical rows name their lines)
        return [{k: v for k, v in c.items() if k != "typical"}
                for c in r.report.to_dict()["clusters"]]

    assert profiles(from_file) == profiles(result)


def test_cluster_takes_options_by_their_long_names(tmp_path, run):
    frame = pd.read_csv(MOVIES)
    result = somcli.cluster(frame, method="som", k="units", map="4x3", missing="mask",
                            topology="rect", epochs=5, dtype="float64")
    report = result.report.to_dict()
    assert (report["map"]["rows"], report["map"]["cols"]) == (4, 3)
    assert report["map"]["topology"] == "rect" and report["map"]["epochs"] == 5
    assert report["parameters"]["missing"] == "mask" and len(report["clusters"]) <= 12
    cols = somcli.cluster(pd.read_csv(COUNTRIES), k=2, columns=["Inflation (%)"])
    assert cols.report.to_dict()["features"] == ["Inflation (%)"]
    with pytest.raises(UsageError, match="unknown option"):
        somcli.cluster(frame, method="som", sigmaa=2)
    with pytest.raises(UsageError, match="method"):
        somcli.cluster(frame, method="dbscan")
    with pytest.raises(UsageError, match="DataFrame, a 2-d numpy array or file paths"):
        somcli.cluster({"a": [1, 2]})
    # -k has one meaning for every method: a number from 2, "auto", or "units" for a map
    for bad, method in ((1, "kmeans"), ("units", "kmeans"), (True, "som"), ("all", "som")):
        with pytest.raises(UsageError, match="whole number of clusters"):
            somcli.cluster(frame, method=method, k=bad)
    assert somcli.cluster(pd.read_csv(COUNTRIES), k=np.int64(2)).report.to_dict()[
        "parameters"]["k"] == 2


def test_cluster_on_an_array_names_its_columns_as_the_command_does():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.3, (40, 2)), rng.normal(5, 0.3, (40, 2))])
    result = somcli.cluster(X, k=2)
    assert result.report.to_dict()["features"] == ["column_1", "column_2"]
    assert set(result.assignments["cluster"][:40]) != set(result.assignments["cluster"][40:])


def test_a_result_writes_what_the_command_writes_and_its_model_assigns(tmp_path, run):
    result = somcli.cluster(COUNTRIES, method="som", k=3, plots=True)
    written = result.write(tmp_path / "api")
    r = run("som", COUNTRIES, "-k", "3", "-o", tmp_path / "cli", "-q")
    assert r.code == 0
    cli = json.loads((tmp_path / "cli" / "report.json").read_text())
    assert sorted(written["files"]) == sorted(cli["files"])
    assert (tmp_path / "api" / "assignments.csv").read_bytes() == \
        (tmp_path / "cli" / "assignments.csv").read_bytes()
    with Image.open(tmp_path / "api" / "umatrix.png") as picture:
        assert picture.size[0] > 100
    with pytest.raises(somcli.errors.OutputError):  # an existing folder needs force
        result.write(tmp_path / "api")
    result.model.save(tmp_path / "model")
    r = run("assign", tmp_path / "model" / "model.json", COUNTRIES)
    assert r.code == 0
    assert pd.read_csv(pd.io.common.StringIO(r.out))["cluster"].tolist() == \
        result.assignments["cluster"].tolist()


# ---------------------------------------------------------------- somcli.SOM


@parametrize_with_checks([somcli.SOM(), somcli.SOM(n_clusters=3, topology="rect")])
def test_som_passes_scikit_learns_estimator_checks(estimator, check):
    check(estimator)


def test_som_finds_the_commands_map_and_clusters(tmp_path, run):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = blobs_csv(tmp_path / "blobs.csv")
    frame = pd.read_csv(data)
    cli = cli_assignments(run, tmp_path, "som", data, "--map", "5x4", "-k", "3",
                          "--dtype", "float64")
    model = make_pipeline(StandardScaler(), somcli.SOM(map_size=(5, 4), n_clusters=3,
                                                       random_state=0))
    labels = model.fit_predict(frame[["x", "y"]])
    som = model[-1]
    assert list(labels) == list(cli["cluster"])
    assert list(som.bmu(model[0].transform(frame[["x", "y"]]))) == \
        list(cli["bmu_row"] * 4 + cli["bmu_col"])
    assert som.codebook_.shape == (20, 2) and som.hits_.sum() == len(frame)
    distances = som.transform(model[0].transform(frame[["x", "y"]]))
    assert distances.shape == (len(frame), 20)
    np.testing.assert_allclose(distances.min(axis=1), cli["qe"], rtol=1e-6)


def test_som_refuses_bad_parameters_as_scikit_learn_does():
    X = np.random.default_rng(0).normal(size=(30, 2))
    for bad in ({"topology": "round"}, {"neighborhood": "mexican_hat"}, {"map_size": (0, 3)},
                {"n_clusters": 0}, {"init": "zeros"}):
        with pytest.raises(ValueError):
            somcli.SOM(**bad).fit(X)
