"""somcli kmeans end to end, on the seed table and on data with a known answer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import COUNTRIES, MOVIES, blobs_csv, cli_output


@pytest.fixture(scope="module")
def countries_out(tmp_path_factory):
    return cli_output(tmp_path_factory, "kmeans", COUNTRIES, "-k", "3")


def test_writes_the_four_files_and_the_model(countries_out):
    assert sorted(p.name for p in countries_out.iterdir()) == [
        "assignments.csv", "centroids.csv", "model.json", "model.npz", "profiles.png",
        "projection.png", "report.html", "report.json", "report.md"]


def test_seed_table_report_says_what_was_cleaned_and_why(countries_out):
    report = json.loads((countries_out / "report.json").read_text())
    cols = {c["name"]: c for c in report["columns"]}
    assert cols["Rank"]["role"] == "excluded" and "row counter" in cols["Rank"]["reason"]
    assert cols["Country"]["role"] == cols["Country ID"]["role"] == "identifier"
    assert report["features"] == ["Health Expenditure ($)", "Inflation (%)"]
    clean = report["cleaning"]
    assert clean["filled_cells"] == {"Inflation (%)": 2}
    named = clean["rows_with_gaps_named"]
    assert any("Aruba" in r for r in named) and any("American Samoa" in r for r in named)
    shared = clean["duplicates"]["shared_ids"]["Country ID"]
    assert shared == {"AUS": [3, 14], "AZB": [5, 16], "ARM": [7, 11]}
    md = (countries_out / "report.md").read_text()
    for text in ("row counter", "Aruba", "American Samoa", "ARM (lines 7, 11)",
                 "AUS (lines 3, 14)", "AZB (lines 5, 16)", "2 cell(s) filled"):
        assert text in md


def test_seed_assignments_have_every_row_in_input_order(countries_out):
    a = pd.read_csv(countries_out / "assignments.csv")
    src = pd.read_csv(COUNTRIES)
    assert len(a) == 18
    assert a["Country ID"].tolist() == src["Country ID"].tolist()
    assert a["line"].tolist() == list(range(2, 20))
    assert list(a.columns) == ["line", "Country", "Country ID", "cluster", "distance"]
    assert set(a["cluster"]) == {0, 1, 2}


def test_centroids_in_original_and_scaled_units(countries_out):
    c = pd.read_csv(countries_out / "centroids.csv")
    a = pd.read_csv(countries_out / "assignments.csv")
    assert c["size"].tolist() == a["cluster"].value_counts().sort_index().tolist()
    assert c["size"].is_monotonic_decreasing  # cluster 0 is the largest
    assert "Inflation (%) [scaled]" in c.columns


def test_k_auto_finds_three_blobs_and_reports_every_score(tmp_path, run):
    f = blobs_csv(tmp_path / "b.csv")
    r = run("kmeans", f, "-o", tmp_path / "o", "--label-column", "label")
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["k_selection"]["chosen"] == 3
    assert sorted(map(int, report["k_selection"]["scores"])) == list(range(2, 11))
    assert report["external"]["ari"] == pytest.approx(1.0)
    assert report["external"]["purity"] == pytest.approx(1.0)
    assert "label" not in report["features"]


def test_same_seed_same_assignments(tmp_path, run):
    f = blobs_csv(tmp_path / "b.csv", sd=3.0)
    a = run("kmeans", f, "-k", "4", "--seed", "7").out
    b = run("kmeans", f, "-k", "4", "--seed", "7").out
    assert a == b and a.count("\n") == 91


def test_drop_gives_an_empty_cluster_to_rows_with_gaps(tmp_path, run):
    f = tmp_path / "g.csv"
    f.write_text("id,x,y\na,1,1\nb,,2\nc,9,9\nd,1.2,0.8\ne,9.1,9.3\n")
    out = pd.read_csv(__import__("io").StringIO(run("kmeans", f, "-k", "2", "--missing", "drop").out))
    assert out["cluster"].isna().tolist() == [False, True, False, False, False]


def test_minibatch_above_the_threshold_is_noted(tmp_path, run):
    f = blobs_csv(tmp_path / "b.csv")
    r = run("kmeans", f, "-k", "3", "--minibatch-rows", "50", "-o", tmp_path / "o")
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["parameters"]["algorithm"] == "MiniBatchKMeans"
    assert any("MiniBatchKMeans" in w for w in report["warnings"])
    assert "MiniBatchKMeans" in r.err


def test_scaling_a_feature_does_not_change_the_partition(tmp_path, run):
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(0, 1, (40, 3)), rng.normal(4, 1, (40, 3))])
    pd.DataFrame(X, columns=list("abc")).to_csv(tmp_path / "a.csv", index=False)
    X2 = X * np.array([1000.0, 1.0, 0.001])
    pd.DataFrame(X2, columns=list("abc")).to_csv(tmp_path / "b.csv", index=False)
    la = pd.read_csv(__import__("io").StringIO(run("kmeans", tmp_path / "a.csv", "-k", "2").out))
    lb = pd.read_csv(__import__("io").StringIO(run("kmeans", tmp_path / "b.csv", "-k", "2").out))
    assert (la["cluster"] == lb["cluster"]).all()


def overlapping_groups(path, n=110, seed=0):
    """Three groups, two of which differ in one measurement only: the silhouette prefers 2."""
    rng = np.random.default_rng(seed)
    centres = {"A": (39, 18, 190, 3700), "B": (47, 15, 217, 5000), "C": (49, 18, 196, 3700)}
    rows = [(g, *(np.array(c) + rng.normal(0, (2, 1, 6, 300))))
            for g, c in centres.items() for _ in range(n)]
    pd.DataFrame(rows, columns=["group", "bill", "depth", "flipper", "mass"]).to_csv(
        path, index=False)
    return path


def test_k_auto_finds_three_groups_the_silhouette_merges(tmp_path, run):
    data = overlapping_groups(tmp_path / "g.csv")
    r = run("kmeans", data, "-o", tmp_path / "o", "-q", "--label-column", "group")
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    sel = report["k_selection"]
    assert sel["chosen"] == 3 and report["external"]["ari"] > 0.9
    evidence = sel["evidence"]
    assert max(evidence, key=lambda k: evidence[k]["silhouette"]) == "2"  # the old rule's 2
    assert all(set(e) >= {"calinski_harabasz", "stability", "smallest_cluster"}
               for e in evidence.values())
    text = (tmp_path / "o" / "report.md").read_text()
    assert "Calinski-Harabasz" in text and "stability" in text


def test_k_auto_on_a_tiny_table_avoids_single_rows_and_says_k_is_a_guess(tmp_path, run):
    r = run("kmeans", MOVIES, "-o", tmp_path / "o")
    assert r.code == 0 and "warning: k is a guess" in r.err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert min(c["size"] for c in report["clusters"]) >= 2
    assert report["k_selection"]["note"].startswith("k is a guess")
    r = run("kmeans", COUNTRIES, "-o", tmp_path / "c", "-q")
    sizes = [c["size"] for c in json.loads((tmp_path / "c" / "report.json").read_text()
                                           )["clusters"]]
    assert min(sizes) >= 2  # (earlier: k = 4 with two single-row clusters)


def test_k_auto_compares_candidates_on_a_sample_of_big_inputs(tmp_path, run):
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0, 0], [8, 0, 0], [0, 8, 0], [0, 0, 8]])
    X = centres[rng.integers(0, 4, 20_000)] + rng.normal(0, 1, (20_000, 3))
    pd.DataFrame(X, columns=list("abc")).to_csv(tmp_path / "d.csv", index=False)
    r = run("kmeans", tmp_path / "d.csv", "-o", tmp_path / "o", "-q")
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["k_selection"]["chosen"] == 4
    assert "5,000 fit rows drawn from 20,000" in report["k_selection"]["method"]
    assert sum(c["size"] for c in report["clusters"]) == 20_000


def test_cluster_profiles_say_what_sets_each_cluster_apart(tmp_path, run):
    """Blobs at (0,0), (10,10), (0,10): each cluster's distinguishing features with their
    sign, its typical rows by identifier, category shares and the label split."""
    data = blobs_csv(tmp_path / "b.csv")
    frame = pd.read_csv(data)
    frame["shift"] = np.where(frame["label"] == "c0", "night", "day")  # a category
    frame.to_csv(data, index=False)
    r = run("kmeans", data, "-k", "3", "-o", tmp_path / "o", "-q", "--label-column", "label")
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    by_label = {next(iter(c["labels"])): c for c in report["clusters"]}
    low = by_label["c0"]  # the blob at (0, 0): x and y both below the rest
    effects = {a["feature"]: a["effect"] for a in low["distinguishing"]}
    assert effects["y"] < -1 and low["labels"] == {"c0": 30}
    high = by_label["c1"]  # (10, 10): x far above the rest
    assert max(high["distinguishing"], key=lambda a: abs(a["effect"]))["feature"] == "x"
    assert high["distinguishing"][0]["effect"] > 1
    ids = set(frame["id"].astype(str))
    assert all(t.split(" (line")[0] in ids for c in report["clusters"] for t in c["typical"])
    assert low["categories"] == {"shift": {"night": 1.0}}
    text = (tmp_path / "o" / "report.md").read_text()
    assert "What sets each cluster apart" in text and "`y` lower" in text


@pytest.mark.parametrize("late", [False, True])
def test_distinct_rows_are_counted_past_the_first_rows(tmp_path, run, late):
    """The distinct-row check looks at the first rows first; rows that differ only further
    down (or never) are still counted exactly."""
    n = 3000
    x = np.zeros(n)
    x[-3:] = [1.0, 2.0, 3.0] if late else [0.0, 1.0, 2.0]  # 4 or 3 distinct rows, at the end
    src = tmp_path / "t.csv"
    pd.DataFrame({"x": x, "y": np.zeros(n)}).to_csv(src, index=False)
    r = run("kmeans", src, "-k", "4", "-o", tmp_path / "o", "-q", "--no-plots")
    if late:
        assert r.code == 0
    else:
        assert r.code == 65 and "only 3 distinct row(s)" in r.err


def test_typical_rows_are_the_nearest_to_the_mean_ties_in_row_order():
    """A cluster's typical rows: the nearest its mean, equal distances in row order (the
    top few are found without sorting the whole cluster)."""
    from types import SimpleNamespace

    from somcli.algorithms import blocks as B

    rng = np.random.default_rng(2)
    X = rng.integers(-2, 3, size=(3000, 2)).astype(np.float32)  # many equal distances
    X[7, 1] = np.nan  # a gap: the distance over the cells there
    labels = rng.integers(-1, 4, 3000)
    means = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 0.5], [2.0, -2.0]])
    ids = pd.DataFrame({"line": np.arange(3000) + 2})
    got = B.typical_rows(SimpleNamespace(X=X), ids, labels, means, [], how_many=3)
    for j in range(4):
        rows = np.flatnonzero(labels == j)
        dist = np.sqrt(np.nanmean((X[rows] - means[j]) ** 2, axis=1))
        want = rows[np.argsort(dist, kind="stable")[:3]]
        assert [name for _, name in got[j]] == [f"line {r + 2}" for r in want]


def test_k_auto_on_a_wide_table_scores_the_candidates_in_the_rows_own_space():
    """A table with far more columns than rows (gene expression: samples x genes) has its
    candidates fitted in the span of its rows, min(n, d) columns: the same distances, so the
    same partitions and scores (to rounding), at a fraction of the work."""
    from somcli.algorithms import choose
    from somcli.algorithms import kmeans as km

    rng = np.random.default_rng(0)
    groups = rng.integers(0, 3, 90)
    X = rng.normal(size=(3, 2_000))[groups] * 0.8 + rng.normal(size=(90, 2_000))
    Y = choose.row_space(X)
    tall = X[:, :50].copy()
    assert Y.shape == (90, 90) and choose.row_space(tall) is tall  # a long table as it is
    d = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    assert np.allclose(((Y[:, None, :] - Y[None, :, :]) ** 2).sum(-1), d, rtol=1e-9)

    def select(rows):
        def labels(k):
            return km.assign(rows, km.fit(rows, k, seed=0, n_init=10).centers)[0]

        def refit(k, picked):
            return km.assign(rows[picked], km.fit(rows[picked], k, seed=0, n_init=3).centers)[0]

        return choose.select_k(rows, [2, 3, 4, 5], labels, refit, seed=0)

    (k_full, full), (k_span, span) = select(X), select(Y)
    assert k_full == k_span == 3
    for k in full:
        assert full[k]["calinski_harabasz"] == pytest.approx(span[k]["calinski_harabasz"],
                                                             rel=1e-9)
        assert full[k]["stability"] == span[k]["stability"]
