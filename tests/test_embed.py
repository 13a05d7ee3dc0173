"""somcli embed (issue 16, first step): an RBM and an autoencoder trained on the observed
cells only, checked against scikit-learn's BernoulliRBM and a planted ratings table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import MOVIES, somcli_subprocess

from somcli import errors
from somcli.algorithms import autoencoder, rbm
from somcli.report.schema import problems

METHODS = {"rbm": (rbm, 0.05), "autoencoder": (autoencoder, 0.01)}


def planted(seed=0, users=300, items=40, missing=0.6):
    """3 groups of users with different tastes; each cell seen with probability 0.4."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(3), users)
    taste = rng.random((3, items)) < 0.5
    V = (rng.random((3 * users, items)) < np.where(taste[groups], 0.9, 0.1)).astype(float)
    M = rng.random(V.shape) > missing
    return groups, V, M


@pytest.mark.parametrize("name", list(METHODS))
def test_gaps_are_not_zeros(name):
    module, rate = METHODS[name]
    _, V, M = planted(users=40, items=12)
    a, _ = module.train(np.where(M, V, 0.0), M, 4, 5, rate, 16, seed=1)
    b, _ = module.train(np.where(M, V, 1.0), M, 4, 5, rate, 16, seed=1)  # other "gap values"
    for x, y in zip(vars(a).values(), vars(b).values(), strict=True):
        assert np.array_equal(x, y)


def test_the_rbm_learns_like_scikit_learns_on_complete_binary_data():
    from sklearn.neural_network import BernoulliRBM

    _, V, _ = planted(users=200, items=30)
    M = np.ones_like(V, dtype=bool)
    ours, curve = rbm.train(V, M, 8, 30, 0.05, 32, seed=0,
                            check=lambda m: np.sqrt(np.mean((rbm.reconstruct(m, V, M) - V) ** 2)))
    theirs = BernoulliRBM(n_components=8, learning_rate=0.05, batch_size=32, n_iter=30,
                          random_state=0).fit(V)
    H = theirs.transform(V)
    R = 1 / (1 + np.exp(-(H @ theirs.components_ + theirs.intercept_visible_)))
    sk_rmse = np.sqrt(np.mean((R - V) ** 2))
    means = np.sqrt(np.mean((V.mean(0) - V) ** 2))
    assert curve[-1] < curve[0] and curve[-1] < means  # the error falls as it trains
    assert curve[-1] <= 1.25 * sk_rmse, (curve[-1], sk_rmse)


@pytest.mark.parametrize("name", list(METHODS))
def test_planted_groups_and_held_out_ratings_are_recovered(name):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    module, rate = METHODS[name]
    groups, V, M = planted()
    rng = np.random.default_rng(5)
    held = M & (rng.random(M.shape) < 0.1)
    train = M & ~held
    model, _ = module.train(V, train, 8, 30, rate, 64, seed=0)
    R = module.reconstruct(model, V, train)
    means = (V * train).sum(0) / train.sum(0)
    ours = ((R > 0.5) == (V > 0.5))[held].mean()
    baseline = ((np.broadcast_to(means, V.shape) > 0.5) == (V > 0.5))[held].mean()
    assert ours > baseline + 0.1, (ours, baseline)
    codes = module.code(model, V, train, means)
    learned = adjusted_rand_score(groups, KMeans(3, n_init=10, random_state=0)
                                  .fit_predict(codes))
    filled = np.where(train, V, np.nanmedian(np.where(train, V, np.nan), axis=0))
    plain = adjusted_rand_score(groups, KMeans(3, n_init=10, random_state=0).fit_predict(filled))
    assert learned > plain, (learned, plain)


@pytest.mark.parametrize("method", list(METHODS))
def test_embed_on_the_movies_table(tmp_path, run, method):
    out = tmp_path / "o"
    r = run("embed", MOVIES, "--method", method, "--dim", "3", "--top", "1", "-o", out, "-q")
    assert r.code == 0, r.err
    table = pd.read_csv(MOVIES)
    table = table.rename(columns={table.columns[0]: "column_1"})  # its header is empty
    codes = pd.read_csv(out / "embeddings.csv")
    assert list(codes.columns) == ["line", "column_1", "e0", "e1", "e2"]
    assert len(codes) == len(table) and codes[["e0", "e1", "e2"]].notna().all().all()
    filled = pd.read_csv(out / "reconstruction.csv", keep_default_na=False)
    movies = [c for c in table.columns if c.startswith("Movie")]
    for (_, row), (_, given) in zip(filled.iterrows(), table.iterrows(), strict=True):
        assert (row["filled"].split(";") if row["filled"] else []) == \
            [m for m in movies if pd.isna(given[m])]
        assert all(0 <= float(row[m]) <= 1 for m in movies)
    recs = pd.read_csv(out / "recommendations.csv")
    for _, rec in recs.iterrows():  # only unseen movies are recommended
        assert pd.isna(table.loc[table["column_1"] == rec["column_1"], rec["item"]]).all()
    report = json.loads((out / "report.json").read_text())
    assert problems(report) == [] and report["embedding"]["method"] == method
    assert "## Embedding" in (out / "report.md").read_text()
    again = run("embed", MOVIES, "--method", method, "--dim", "3", "-q")
    assert again.out == run("embed", MOVIES, "--method", method, "--dim", "3", "-q").out


def test_hostile_embed_input_gets_one_line_errors(tmp_path, run):
    r = run("embed", MOVIES, "--dim", "50")
    assert r.code == errors.DATA and "more than the 6 feature" in r.err
    blank = tmp_path / "gaps.csv"
    blank.write_text("id,a,b,c\nx,1,0,1\ny,,,\nz,0,1,1\nw,1,1,0\n")
    r = run("embed", blank, "--dim", "2", "-o", tmp_path / "o")
    assert r.code == 0 and "no observed feature" in r.err
    constant = tmp_path / "constant.csv"  # a constant column and an empty one are left out
    constant.write_text("id,a,b,c,d\nx,1,0,5,\ny,0,1,5,\nz,1,1,5,\nw,0,0,5,\n")
    r = run("embed", constant, "--dim", "2", "-o", tmp_path / "c", "-q")
    assert r.code == 0 and json.loads((tmp_path / "c" / "report.json").read_text())[
        "features"] == ["a", "b"]
    empty = tmp_path / "empty.csv"
    empty.write_text("id,a,b\nx,,\ny,,\n")
    r = run("embed", empty, "--dim", "1")
    assert r.code == errors.DATA and "every value is missing" in r.err
    words = tmp_path / "words.csv"
    words.write_text("id,a,b\nx,1,0\ny,three,1\nz,0,1\nw,1,1\nv,0,0\n")
    r = somcli_subprocess("embed", words, "--dim", "1")
    assert r.returncode == errors.DATA and b"Traceback" not in r.stderr


@pytest.mark.parametrize("method", list(METHODS))
def test_a_saved_embedding_assigns_new_rows_without_training(tmp_path, run, method):
    out = tmp_path / "o"
    assert run("embed", MOVIES, "--method", method, "--dim", "2", "-o", out, "-q").code == 0
    meta = json.loads((out / "model.json").read_text())
    assert meta["kind"] == method and meta["algorithm"]["dim"] == 2
    again = run("assign", out / "model.json", MOVIES, "-o", tmp_path / "a", "-q")
    assert again.code == 0, again.err
    for name in ("embeddings.csv", "reconstruction.csv"):  # the same rows, the same numbers
        assert (tmp_path / "a" / name).read_text() == (out / name).read_text()
    table = pd.read_csv(MOVIES)
    shuffled = tmp_path / "new.csv"  # columns reordered, one extra, a gap more
    table = table[[table.columns[0], *reversed(table.columns[1:])]].assign(extra=1)
    table.iloc[0, 2] = np.nan
    table.to_csv(shuffled, index=False)
    r = run("assign", out / "model.json", shuffled, "-q")
    assert r.code == 0, r.err
    assert list(pd.read_csv(pd.io.common.StringIO(r.out)).columns)[-2:] == ["e0", "e1"]
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert problems(report) == [] and report["embedding"]["model"].endswith("model.json")


def test_an_edited_embedding_model_is_refused(tmp_path, run):
    out = tmp_path / "o"
    assert run("embed", MOVIES, "--dim", "2", "-o", out, "-q").code == 0
    meta = json.loads((out / "model.json").read_text())
    meta["algorithm"]["dim"] = 3  # the weights are 6 x 2; the checksum made again
    (out / "model.json").write_text(json.dumps(resealed(meta)))
    r = run("assign", out / "model.json", MOVIES)
    assert r.code == errors.DATA and "shape" in r.err and "checksum" not in r.err, r.err


def test_a_clustering_model_without_clusters_is_refused(tmp_path, run):
    from conftest import COUNTRIES

    assert run("kmeans", COUNTRIES, "-k", "2", "-o", tmp_path / "o", "-q").code == 0
    path = tmp_path / "o" / "model.json"
    meta = json.loads(path.read_text())
    meta["algorithm"]["clusters"] = 0
    path.write_text(json.dumps(resealed(meta)))
    r = run("assign", path, COUNTRIES)
    assert r.code == errors.DATA and "0 clusters" in r.err, r.err


def resealed(meta: dict) -> dict:
    """An edited model.json with its checksum computed again, as an attacker can."""
    from somcli.models.model import _checksum

    return {**meta, "checksum": _checksum(meta)}


@pytest.fixture(scope="module")
def planted_csv(tmp_path_factory):
    groups, V, M = planted()
    table = pd.DataFrame(np.where(M, V, np.nan), columns=[f"m{i}" for i in range(V.shape[1])])
    table.insert(0, "group", [f"g{g}" for g in groups])
    table.insert(0, "user", [f"u{i}" for i in range(len(table))])
    path = tmp_path_factory.mktemp("planted") / "ratings.csv"
    table.to_csv(path, index=False)
    return path


def test_clustering_in_the_learned_space_finds_the_planted_groups(planted_csv, tmp_path, run):
    def ari(*args):
        out = tmp_path / "_".join(a.replace(":", "") for a in args if not a.startswith("-"))
        r = run("kmeans", planted_csv, "-k", "3", "--label-column", "group", "-o", out, "-q",
                *args)
        assert r.code == 0, r.err
        report = json.loads((out / "report.json").read_text())
        assert problems(report) == []
        return report["external"]["ari"], out

    median, _ = ari("--max-missing", "1")
    learned, out = ari("--embed", "rbm:8")
    assert learned > median + 0.05, (learned, median)
    report = json.loads((out / "report.json").read_text())
    assert report["embedding"]["method"] == "rbm" and report["features"][0] == "e0"
    assert report["parameters"]["embed"] == "rbm:8"
    meta = json.loads((out / "model.json").read_text())
    assert meta["embedding"]["dim"] == 8 and meta["schema"]["features"][0]["name"] == "m0"
    again = run("assign", out / "model.json", planted_csv, "-q")  # both replayed
    assert again.code == 0, again.err
    trained = pd.read_csv(out / "assignments.csv")
    assert pd.read_csv(pd.io.common.StringIO(again.out))["cluster"].equals(trained["cluster"])


def test_a_map_in_the_learned_space_is_replayed_by_assign(planted_csv, tmp_path, run):
    out = tmp_path / "o"
    r = run("som", planted_csv, "-k", "3", "--embed", "autoencoder:4", "-o", out, "-q",
            "--no-plots")
    assert r.code == 0, r.err
    again = run("assign", out / "model.json", planted_csv, "-q")
    assert again.code == 0, again.err
    trained = pd.read_csv(out / "assignments.csv")
    replayed = pd.read_csv(pd.io.common.StringIO(again.out))
    assert replayed["cluster"].equals(trained["cluster"])
    assert replayed["qe"].astype(str).str.len().max() <= 11  # the map's float32, as trained
    r = run("som", planted_csv, "--resume", out / "model.json", "--embed", "rbm")
    assert r.code == errors.USAGE


@pytest.mark.parametrize("args, said", [
    (("--embed", "lda:3"), "rbm or autoencoder"),
    (("--embed", "rbm:x"), "whole number"),
])
def test_bad_embed_options_are_usage_errors(run, args, said):
    r = run("kmeans", MOVIES, *args)
    assert r.code == errors.USAGE and said in r.err


def test_a_gradient_step_is_partial_sums_that_add_up_over_parts_of_a_minibatch():
    """Each embedding's step is written as partial sums plus an update (as every fit in
    algorithms/): the sums of two halves of a minibatch are the whole minibatch's."""
    from somcli.algorithms import autoencoder, rbm

    rng = np.random.default_rng(0)
    V = rng.random((64, 6))
    M = rng.random((64, 6)) > 0.2
    V = np.where(M, V, 0.0)
    machine, _ = rbm.train(V, M, 3, epochs=1, rate=0.05, batch=32, seed=1)
    u = rng.random((64, 3))
    whole = rbm.partial_gradient(machine, V, M, u)
    halves = rbm.total([rbm.partial_gradient(machine, V[:40], M[:40], u[:40]),
                        rbm.partial_gradient(machine, V[40:], M[40:], u[40:])])
    for a, b in zip(whole, halves, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    ae, _ = autoencoder.train(V, M, 3, epochs=1, rate=0.01, batch=32, seed=1)
    scale = 2.0 / M.sum()
    whole = autoencoder.partial_gradient(ae, V, M, scale)
    halves = autoencoder.total([autoencoder.partial_gradient(ae, V[:40], M[:40], scale),
                                autoencoder.partial_gradient(ae, V[40:], M[40:], scale)])
    for a, b in zip(whole, halves, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_every_embedding_method_is_declared_once_and_complete():
    """A method is its module, a line in algorithms/embedding.METHODS and its name in
    config.EMBED_METHODS (which the CLI's choices read): the three agree, and each module
    has what the pipeline, the model checks and the report read from it."""
    from typing import get_args

    from somcli import config
    from somcli.algorithms import embedding

    assert tuple(embedding.METHODS) == config.EMBED_METHODS == get_args(config.EmbedMethod)
    for method in embedding.METHODS.values():
        for name in ("train", "code", "reconstruct", "partial_gradient", "update", "Weights",
                     "WEIGHTS", "RATE", "EPOCHS", "DESCRIPTION"):
            assert hasattr(method, name), (method.__name__, name)


def test_the_held_out_cells_do_not_depend_on_the_blocks():
    """One random stream over the whole table, advanced to each block's first row: the
    cells held out (and so the model) are the same however the rows are split."""
    from somcli.algorithms import embed_cells as EC
    from somcli.algorithms.blocks import Block

    rng = np.random.default_rng(0)
    X = rng.random((500, 7))
    X[rng.random(X.shape) < 0.4] = np.nan
    whole = EC.cells(Block(X, np.ones(500, bool)), 0, 0.2, seed=3)
    cuts = [0, 120, 121, 400, 500]
    parts = [EC.cells(Block(X[a:b], np.ones(b - a, bool)), a, 0.2, seed=3)
             for a, b in zip(cuts, cuts[1:], strict=False)]
    assert np.array_equal(np.vstack([p.held for p in parts]), whole.held)
    assert np.array_equal(np.vstack([p.train for p in parts]), whole.train)
    assert whole.held.any() and not (whole.held & ~whole.M).any()
